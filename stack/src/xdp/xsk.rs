//! One AF_XDP socket bound to one queue of an interface, as a [`Device`].
//!
//! Frames never leave the UMEM: `receive` lends the received frame itself to the stack,
//! which parses (and may rewrite) it in place, and transmit tokens hand out a free UMEM
//! frame that the stack builds its frame into. Rings are worked in batches:
//!
//! - RX: up to `batch` descriptors are taken at once and handed out one token at a time; a
//!   frame handed out goes back to the free list at the next call (the token borrowed the
//!   device, so the stack is done with it by then).
//! - Fill: kept full (up to the fill ring's size) from the free list; when the kernel sets
//!   `XDP_RING_NEED_WAKEUP` on it, a `recvfrom` wakes the driver.
//! - TX: built frames wait in a pending list and go onto the TX ring in batches;
//!   [`XskDevice::flush`], called once per worker iteration, submits them and kicks the
//!   kernel with `sendto` when the ring asks (`XDP_USE_NEED_WAKEUP`). In copy mode (veth)
//!   the kernel transmits only inside `sendto`, at most 32 frames per call, so a flush
//!   kicks until the ring is drained.
//! - Completion: reaped into the free list whenever frames are needed and at every flush.
//!
//! Every frame's whereabouts are tracked by a [`FramePool`]. Kernel docs:
//! <https://docs.kernel.org/networking/af_xdp.html>.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::str::FromStr;
use std::time::Duration;

use xsk_rs::config::{BindFlags, Interface, LibxdpFlags, SocketConfig};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue};

use super::frame_pool::{FrameId, FramePool, FrameState};
use super::umem::{Umem, UmemLayout};
use super::XdpError;
use crate::phy::{Device, DeviceCaps, RxToken, TxToken};
use crate::time::Instant;

/// How the socket is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XskBindMode {
    /// Zero-copy if the driver supports it, copy mode otherwise.
    #[default]
    Auto,
    /// Zero-copy: the NIC DMAs into the UMEM.
    ZeroCopy,
    /// Copy mode: the kernel copies frames between its buffers and the UMEM.
    Copy,
}

/// Sizes and modes of an AF_XDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XskConfig {
    /// UMEM frames; at least `fill_ring + tx_ring + batch`.
    pub frame_count: u32,
    /// Bytes per frame: 2048 or 4096.
    pub frame_size: u32,
    /// Ring sizes, powers of two. The completion ring must hold every frame the TX ring can.
    pub fill_ring: u32,
    pub rx_ring: u32,
    pub tx_ring: u32,
    pub comp_ring: u32,
    /// Descriptors taken from or put on a ring at once.
    pub batch: usize,
    pub bind: XskBindMode,
    /// The link's IP MTU (1500 on Ethernet).
    pub mtu: usize,
    /// Whether received frames may carry partial checksums (a kernel peer with TX
    /// checksum offload on). `false` when the peer has offload off, which `cargo xtask
    /// veth up` does with `ethtool -K <peer> tx off`.
    pub rx_checksums_unverified: bool,
}

impl Default for XskConfig {
    fn default() -> XskConfig {
        XskConfig {
            frame_count: 4096,
            frame_size: 2048,
            fill_ring: 2048,
            rx_ring: 2048,
            tx_ring: 1024,
            comp_ring: 1024,
            batch: 64,
            bind: XskBindMode::Auto,
            mtu: 1500,
            rx_checksums_unverified: false,
        }
    }
}

impl XskConfig {
    fn validate(&self) -> Result<UmemLayout, XdpError> {
        let layout = UmemLayout::new(self.frame_size, self.frame_count)?;
        for (name, size) in [
            ("fill", self.fill_ring),
            ("rx", self.rx_ring),
            ("tx", self.tx_ring),
            ("completion", self.comp_ring),
        ] {
            if !size.is_power_of_two() {
                return Err(XdpError::Config(format!("{name} ring size {size} must be a power of two")));
            }
        }
        if self.comp_ring < self.tx_ring {
            return Err(XdpError::Config(format!(
                "completion ring ({}) smaller than the TX ring ({})",
                self.comp_ring, self.tx_ring
            )));
        }
        if self.batch == 0 || self.batch > self.rx_ring as usize {
            return Err(XdpError::Config(format!(
                "batch {} must be between 1 and the RX ring size",
                self.batch
            )));
        }
        let needed = u64::from(self.fill_ring) + u64::from(self.tx_ring) + self.batch as u64;
        if u64::from(self.frame_count) < needed {
            return Err(XdpError::Config(format!(
                "{} frames cannot keep the fill ring ({}) and TX ring ({}) full plus a batch ({}); use at least {needed}",
                self.frame_count, self.fill_ring, self.tx_ring, self.batch
            )));
        }
        let largest = self.mtu + crate::wire::ethernet::VLAN_HEADER_LEN;
        if largest > layout.data_capacity() {
            return Err(XdpError::Config(format!(
                "MTU {} needs {largest}-byte frames but a {}-byte UMEM frame holds {}",
                self.mtu,
                self.frame_size,
                layout.data_capacity()
            )));
        }
        Ok(layout)
    }
}

/// What a socket counted since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XskCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Batches asked of the RX ring that found it empty.
    pub rx_empty_polls: u64,
    /// Refills that found no free frame while the fill ring had room.
    pub fill_starved: u64,
    /// Transmit requests refused because the TX ring and pending list were full.
    pub tx_ring_full: u64,
    /// Frames dropped because no UMEM frame was free to build them in, or they were too long.
    pub tx_dropped: u64,
    /// `sendto` calls that kicked the kernel to transmit.
    pub kicks: u64,
    /// `recvfrom` calls that woke the driver to fill.
    pub rx_wakeups: u64,
    /// Descriptors from the kernel whose frame the accounting refused (never expected).
    pub bad_descs: u64,
}

/// An AF_XDP socket on one queue, with its own UMEM.
pub struct XskDevice {
    ifname: String,
    queue: u32,
    mode: XskBindMode,
    config: XskConfig,
    fd: RawFd,
    umem: Umem,
    pool: FramePool,
    fill: FillQueue,
    comp: CompQueue,
    rx: RxQueue,
    tx: TxQueue,
    /// Descriptors of the current RX batch: `[..rx_released]` are back on the free list,
    /// `[rx_released..rx_next]` are lent out, `[rx_next..rx_len]` wait.
    rx_batch: Vec<FrameDesc>,
    rx_len: usize,
    rx_next: usize,
    rx_released: usize,
    /// Ring-sized scratch for fill and completion descriptors.
    scratch: Vec<FrameDesc>,
    /// Built frames not yet on the TX ring.
    tx_pending: Vec<FrameDesc>,
    /// Where a frame goes that cannot be sent (no free frame, or too long): built, dropped.
    spill: Vec<u8>,
    counters: XskCounters,
}

impl XskDevice {
    /// Creates a UMEM and a socket bound to `queue` of `ifname`, zero-copy if possible
    /// (per `config.bind`), and fills the fill ring. The XDP program is not touched (libxdp's
    /// program load is inhibited): attach an [`super::XdpProgram`] and register
    /// [`XskDevice::fd`] in its XSKMAP.
    pub fn new(ifname: &str, queue: u32, config: &XskConfig) -> Result<XskDevice, XdpError> {
        let layout = config.validate()?;
        let (mode, (umem, socket)) = match config.bind {
            XskBindMode::ZeroCopy => {
                (XskBindMode::ZeroCopy, bind(ifname, queue, config, layout, XskBindMode::ZeroCopy)?)
            }
            XskBindMode::Copy => (XskBindMode::Copy, bind(ifname, queue, config, layout, XskBindMode::Copy)?),
            XskBindMode::Auto => match bind(ifname, queue, config, layout, XskBindMode::ZeroCopy) {
                Ok(bound) => (XskBindMode::ZeroCopy, bound),
                Err(XdpError::Socket { source, .. }) => {
                    tracing::info!(%ifname, queue, reason = %source, "zero-copy AF_XDP unavailable; using copy mode");
                    (XskBindMode::Copy, bind(ifname, queue, config, layout, XskBindMode::Copy)?)
                }
                Err(other) => return Err(other),
            },
        };
        let (tx, rx, fill, comp) = socket;
        let fd = rx.fd().as_raw_fd();
        tracing::info!(%ifname, queue, mode = ?mode, frames = layout.frame_count, "AF_XDP socket bound");
        let placeholder = umem.desc(FrameId(0));
        let mut device = XskDevice {
            ifname: ifname.to_owned(),
            queue,
            mode,
            config: *config,
            fd,
            pool: FramePool::new(layout.frame_count),
            fill,
            comp,
            rx,
            tx,
            rx_batch: vec![placeholder; config.batch],
            rx_len: 0,
            rx_next: 0,
            rx_released: 0,
            scratch: vec![placeholder; config.fill_ring.max(config.comp_ring) as usize],
            tx_pending: Vec::with_capacity(config.tx_ring as usize),
            spill: vec![0; layout.data_capacity()],
            umem,
            counters: XskCounters::default(),
        };
        device.refill();
        Ok(device)
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// [`XskBindMode::ZeroCopy`] or [`XskBindMode::Copy`]: how the socket was bound.
    pub fn mode(&self) -> XskBindMode {
        self.mode
    }

    /// The socket's descriptor, for [`super::XdpProgram::register_socket`].
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    pub fn counters(&self) -> XskCounters {
        self.counters
    }

    /// The kernel's drop counters for this socket (`XDP_STATISTICS`): frames redirected
    /// to it that it could not deliver, by reason.
    pub fn kernel_drops(&self) -> Option<[(&'static str, u64); 5]> {
        let stats = self.rx.fd().xdp_statistics().ok()?;
        Some([
            ("kernel_rx_dropped", stats.rx_dropped()),
            ("kernel_rx_ring_full", stats.rx_ring_full()),
            ("kernel_rx_fill_ring_empty", stats.rx_fill_ring_empty_descs()),
            ("kernel_rx_invalid_descs", stats.rx_invalid_descs()),
            ("kernel_tx_invalid_descs", stats.tx_invalid_descs()),
        ])
    }

    /// The frame accounting, for inspection.
    pub fn frames(&self) -> &FramePool {
        &self.pool
    }

    /// Once per worker iteration: returns lent RX frames, puts built frames on the TX ring
    /// and kicks the kernel if it asks, reaps completions and refills the fill ring.
    pub fn flush(&mut self) -> Result<(), XdpError> {
        self.release_lent_rx();
        self.submit_tx();
        self.kick()?;
        self.reap_completions();
        self.refill();
        Ok(())
    }

    /// Waits up to `timeout` for received frames (`poll` on the socket); `true` if some
    /// are ready. For a worker that sleeps after an idle spell.
    pub fn poll_wait(&mut self, timeout: Duration) -> Result<bool, XdpError> {
        let mut pollfd = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut pollfd, 1, millis) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(XdpError::Io { op: "poll", source: error });
        }
        Ok(ready > 0 && pollfd.revents & libc::POLLIN != 0)
    }

    /// Frames handed out in the previous `receive` are done: back to the free list.
    fn release_lent_rx(&mut self) {
        for desc in &self.rx_batch[self.rx_released..self.rx_next] {
            release(&mut self.pool, &mut self.counters, self.umem.layout(), desc, FrameState::Rx);
        }
        self.rx_released = self.rx_next;
    }

    /// Takes the next RX batch; `false` if the ring was empty.
    fn fetch_rx(&mut self) -> bool {
        // SAFETY: the descriptors are written by the kernel and describe frames of this
        // socket's UMEM, which the accounting moves from Fill to Rx below.
        let n = unsafe { self.rx.consume(&mut self.rx_batch) };
        let layout = self.umem.layout();
        let mut kept = 0;
        for i in 0..n {
            let desc = self.rx_batch[i];
            let accepted = layout
                .frame_of(desc.addr() as u64)
                .is_some_and(|frame| self.pool.move_frame(frame, FrameState::Fill, FrameState::Rx).is_ok());
            if accepted && desc.lengths().data() <= layout.data_capacity() {
                self.rx_batch[kept] = desc;
                kept += 1;
            } else {
                if accepted {
                    release(&mut self.pool, &mut self.counters, layout, &desc, FrameState::Rx);
                }
                self.counters.bad_descs += 1;
            }
        }
        self.rx_len = kept;
        self.rx_next = 0;
        self.rx_released = 0;
        if kept == 0 {
            self.counters.rx_empty_polls += 1;
        }
        kept > 0
    }

    /// Puts free frames on the fill ring until it is full or holds `fill_ring` frames;
    /// wakes the driver if it asks.
    fn refill(&mut self) {
        let in_fill = self.pool.count(FrameState::Fill);
        let wanted =
            (self.config.fill_ring.saturating_sub(in_fill)).min(self.fill.nb_free(self.config.fill_ring));
        if wanted == 0 {
            return;
        }
        let mut n = 0;
        while n < wanted as usize {
            let Some(frame) = self.pool.alloc(FrameState::Fill) else {
                self.counters.fill_starved += 1;
                break;
            };
            self.scratch[n] = self.umem.desc(frame);
            n += 1;
        }
        // SAFETY: the frames were free and are now accounted Fill: nobody else uses them.
        let produced = unsafe { self.fill.produce(&self.scratch[..n]) };
        if produced < n {
            // The ring had fewer free slots than it reported: give the rest back.
            for desc in &self.scratch[produced..n] {
                release(&mut self.pool, &mut self.counters, self.umem.layout(), desc, FrameState::Fill);
            }
        }
        if produced > 0 && self.fill.needs_wakeup() {
            self.counters.rx_wakeups += 1;
            // SAFETY: a zero-length non-blocking recvfrom on our socket; no buffer is written.
            unsafe {
                libc::recvfrom(
                    self.fd,
                    std::ptr::null_mut(),
                    0,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
        }
    }

    /// Moves pending built frames onto the TX ring, as many as it has room for.
    fn submit_tx(&mut self) {
        if self.tx_pending.is_empty() {
            return;
        }
        let room = self.tx.nb_free(self.tx_pending.len() as u32) as usize;
        let n = room.min(self.tx_pending.len());
        // SAFETY: the frames are accounted Tx and only on the pending list until now.
        let produced = unsafe { self.tx.produce(&self.tx_pending[..n]) };
        self.tx_pending.drain(..produced);
    }

    /// Kicks the kernel to transmit what the TX ring holds, if it asks. Copy mode sends at
    /// most 32 frames per `sendto` and answers `EAGAIN` while more wait, so kick until the
    /// ring is drained (bounded by the ring size).
    fn kick(&mut self) -> Result<(), XdpError> {
        let max_kicks = self.config.tx_ring / 32 + 2;
        for _ in 0..max_kicks {
            let queued = self.config.tx_ring - self.tx.nb_free_exact();
            if queued == 0 || !self.tx.needs_wakeup() {
                return Ok(());
            }
            self.counters.kicks += 1;
            // SAFETY: a zero-length non-blocking sendto on our socket; no buffer is read.
            let sent = unsafe {
                libc::sendto(self.fd, std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0)
            };
            if sent >= 0 {
                // Copy mode sent everything; a zero-copy driver is awake and sends by itself.
                return Ok(());
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                // More to send (EAGAIN), or the completion ring is full (EBUSY, ENOBUFS).
                Some(libc::EAGAIN) | Some(libc::EBUSY) | Some(libc::ENOBUFS) => self.reap_completions(),
                Some(libc::ENETDOWN) => return Ok(()),
                _ => return Err(XdpError::Io { op: "sendto (TX kick)", source: error }),
            }
        }
        Ok(())
    }

    /// Frames the kernel has sent: back to the free list.
    fn reap_completions(&mut self) {
        let outstanding = self.pool.count(FrameState::Tx) as usize - self.tx_pending.len();
        if outstanding == 0 {
            return;
        }
        let n = outstanding.min(self.scratch.len());
        // SAFETY: completed descriptors name frames of this UMEM that were on the TX ring.
        let done = unsafe { self.comp.consume(&mut self.scratch[..n]) };
        let layout = self.umem.layout();
        for desc in &self.scratch[..done] {
            release(&mut self.pool, &mut self.counters, layout, desc, FrameState::Tx);
        }
    }

    /// Whether a frame can be built now: a free frame exists and the TX side is not full.
    /// Reaps completions and, if the ring is full, submits and kicks first.
    fn tx_room(&mut self) -> bool {
        let limit = self.config.tx_ring;
        if self.pool.count(FrameState::Tx) >= limit || self.pool.count(FrameState::Free) == 0 {
            self.reap_completions();
        }
        if self.tx_pending.len() >= self.config.batch {
            self.submit_tx();
        }
        if self.pool.count(FrameState::Tx) >= limit {
            self.submit_tx();
            // An error here resurfaces at the next flush; what counts now is room.
            let _ = self.kick();
            self.reap_completions();
        }
        if self.pool.count(FrameState::Tx) >= limit || self.pool.count(FrameState::Free) == 0 {
            self.counters.tx_ring_full += 1;
            return false;
        }
        true
    }
}

/// Returns a frame named by a kernel descriptor to the free list, counting refusals.
fn release(
    pool: &mut FramePool,
    counters: &mut XskCounters,
    layout: UmemLayout,
    desc: &FrameDesc,
    from: FrameState,
) {
    let ok = layout.frame_of(desc.addr() as u64).is_some_and(|frame| pool.release(frame, from).is_ok());
    if !ok {
        counters.bad_descs += 1;
    }
}

type BoundSocket = (TxQueue, RxQueue, FillQueue, CompQueue);

/// A fresh UMEM and a socket on it, bound in `mode`. A failed bind leaves the UMEM's
/// socket half set up, so each attempt starts from a new UMEM.
fn bind(
    ifname: &str,
    queue: u32,
    config: &XskConfig,
    layout: UmemLayout,
    mode: XskBindMode,
) -> Result<(Umem, BoundSocket), XdpError> {
    let umem = Umem::new(layout, config.fill_ring, config.comp_ring)?;
    let mode_flag = if mode == XskBindMode::ZeroCopy { BindFlags::XDP_ZEROCOPY } else { BindFlags::XDP_COPY };
    let socket_config = SocketConfig::builder()
        .rx_queue_size(ring_size(config.rx_ring)?)
        .tx_queue_size(ring_size(config.tx_ring)?)
        .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
        .bind_flags(mode_flag | BindFlags::XDP_USE_NEED_WAKEUP)
        .build();
    let interface =
        Interface::from_str(ifname).map_err(|_| XdpError::NoSuchInterface { ifname: ifname.to_owned() })?;
    // SAFETY: the UMEM is new and used by this one socket only.
    let (tx, rx, rings) = unsafe { Socket::new(socket_config, umem.inner(), &interface, queue) }
        .map_err(|e| socket_error(ifname, queue, &e))?;
    let (fill, comp) = rings.ok_or_else(|| XdpError::Socket {
        ifname: ifname.to_owned(),
        queue,
        source: io::Error::other("the UMEM's fill and completion rings were already taken"),
    })?;
    Ok((umem, (tx, rx, fill, comp)))
}

fn ring_size(size: u32) -> Result<xsk_rs::config::QueueSize, XdpError> {
    xsk_rs::config::QueueSize::new(size)
        .map_err(|_| XdpError::Config(format!("ring size {size} must be a power of two")))
}

fn socket_error(ifname: &str, queue: u32, error: &xsk_rs::socket::SocketCreateError) -> XdpError {
    let errno = std::error::Error::source(error)
        .and_then(|s| s.downcast_ref::<io::Error>())
        .and_then(io::Error::raw_os_error);
    match errno {
        Some(libc::EPERM) => XdpError::PermissionDenied {
            action: "create an AF_XDP socket",
            source: io::Error::from_raw_os_error(libc::EPERM),
        },
        Some(libc::ENODEV) => XdpError::NoSuchInterface { ifname: ifname.to_owned() },
        Some(errno) => {
            XdpError::Socket { ifname: ifname.to_owned(), queue, source: io::Error::from_raw_os_error(errno) }
        }
        None => {
            XdpError::Socket { ifname: ifname.to_owned(), queue, source: io::Error::other(error.to_string()) }
        }
    }
}

/// A received frame, lent in place from the UMEM.
pub struct XskRxToken<'a> {
    umem: &'a Umem,
    desc: FrameDesc,
}

impl RxToken for XskRxToken<'_> {
    fn consume<R>(mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        // SAFETY: the frame is accounted Rx and lent to this token alone until the device
        // is used again, which the token's borrow of the device prevents.
        let frame = unsafe { self.umem.received(&mut self.desc) };
        f(frame)
    }
}

/// Room for one frame, built directly in a free UMEM frame.
pub struct XskTxToken<'a> {
    umem: &'a Umem,
    pool: &'a mut FramePool,
    pending: &'a mut Vec<FrameDesc>,
    spill: &'a mut Vec<u8>,
    counters: &'a mut XskCounters,
}

impl TxToken for XskTxToken<'_> {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let capacity = self.umem.layout().data_capacity();
        let frame = if len <= capacity { self.pool.alloc(FrameState::Tx) } else { None };
        let Some(frame) = frame else {
            // Only reachable for a frame longer than the UMEM's (the MTU check at creation
            // rules that out for the stack's frames) or if the reserved frame vanished.
            self.counters.tx_dropped += 1;
            self.spill.resize(len, 0);
            return f(&mut self.spill[..len]);
        };
        let mut desc = self.umem.desc(frame);
        // SAFETY: the frame was free and is now accounted Tx, owned by this token until it
        // is pushed on the pending list below.
        let result = f(unsafe { self.umem.to_send(&mut desc, len) });
        self.pending.push(desc);
        self.counters.tx_packets += 1;
        self.counters.tx_bytes += len as u64;
        result
    }
}

impl Device for XskDevice {
    type RxToken<'a> = XskRxToken<'a>;
    type TxToken<'a> = XskTxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(XskRxToken<'_>, XskTxToken<'_>)> {
        self.release_lent_rx();
        if self.rx_next == self.rx_len {
            self.refill();
            if !self.fetch_rx() {
                return None;
            }
        }
        if !self.tx_room() {
            return None;
        }
        let desc = self.rx_batch[self.rx_next];
        self.rx_next += 1;
        self.counters.rx_packets += 1;
        self.counters.rx_bytes += desc.lengths().data() as u64;
        let XskDevice { umem, pool, tx_pending, spill, counters, .. } = self;
        Some((XskRxToken { umem, desc }, XskTxToken { umem, pool, pending: tx_pending, spill, counters }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<XskTxToken<'_>> {
        if !self.tx_room() {
            return None;
        }
        let XskDevice { umem, pool, tx_pending, spill, counters, .. } = self;
        Some(XskTxToken { umem, pool, pending: tx_pending, spill, counters })
    }

    fn caps(&self) -> DeviceCaps {
        DeviceCaps { mtu: self.config.mtu, rx_checksums_unverified: self.config.rx_checksums_unverified }
    }
}

impl core::fmt::Debug for XskDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XskDevice")
            .field("ifname", &self.ifname)
            .field("queue", &self.queue)
            .field("mode", &self.mode)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker runtime moves a device into its pinned thread.
    #[test]
    fn a_device_can_move_to_a_worker_thread() {
        fn send<T: Send>() {}
        send::<XskDevice>();
    }

    #[test]
    fn the_default_config_is_valid() {
        let layout = XskConfig::default().validate().unwrap();
        assert_eq!(layout.data_capacity(), 1792);
    }

    #[test]
    fn configs_that_could_starve_are_refused() {
        let too_few = XskConfig { frame_count: 2048, ..XskConfig::default() };
        assert!(too_few.validate().unwrap_err().to_string().contains("use at least 3136"));
        let small_comp = XskConfig { comp_ring: 512, ..XskConfig::default() };
        assert!(small_comp.validate().is_err());
        let jumbo = XskConfig { mtu: 9000, ..XskConfig::default() };
        assert!(jumbo.validate().unwrap_err().to_string().contains("MTU 9000"));
        let odd_ring = XskConfig { rx_ring: 1000, ..XskConfig::default() };
        assert!(odd_ring.validate().is_err());
    }
}
