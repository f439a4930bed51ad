//! An in-memory link between two sets of queues, for tests and benchmarks of the
//! workers without a NIC or root.
//!
//! Like a NIC's receive-side scaling, the wire spreads frames over the receiving side's
//! queues by a hash of the IPv4 addresses and ports ([`phy::rss_queue`]), so the reply
//! to an active open may land on another queue than the one that sent the SYN.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};

use super::device::QueueDevice;
use crate::phy::{self, Device, DeviceCaps};
use crate::time::Instant;

/// Frames a queue holds before the wire drops further ones.
const QUEUE_FRAMES: usize = 8192;

/// Builds the two ends of a link.
pub struct MemoryWire;

impl MemoryWire {
    /// A link between `a` queues on one side and `b` on the other.
    pub fn pair(a: usize, b: usize) -> (Vec<MemoryDevice>, Vec<MemoryDevice>) {
        MemoryWire::pair_scattered(a, b, 0)
    }

    /// Like `pair`, but every `every`-th frame (0: none) goes to the queue after its
    /// flow's, as when a kernel peer moves a flow to another transmit queue.
    pub fn pair_scattered(a: usize, b: usize, every: u64) -> (Vec<MemoryDevice>, Vec<MemoryDevice>) {
        let (a_tx, a_rx): (Vec<_>, Vec<_>) = (0..a.max(1)).map(|_| bounded(QUEUE_FRAMES)).unzip();
        let (b_tx, b_rx): (Vec<_>, Vec<_>) = (0..b.max(1)).map(|_| bounded(QUEUE_FRAMES)).unzip();
        let a_tx: Arc<[Sender<Vec<u8>>]> = a_tx.into();
        let b_tx: Arc<[Sender<Vec<u8>>]> = b_tx.into();
        let dropped = Arc::new(AtomicU64::new(0));
        let side = |rxs: Vec<Receiver<Vec<u8>>>, peer: &Arc<[Sender<Vec<u8>>]>| -> Vec<MemoryDevice> {
            rxs.into_iter()
                .map(|rx| MemoryDevice {
                    rx,
                    peer: peer.clone(),
                    dropped: dropped.clone(),
                    scatter_every: every,
                    pending: Vec::new(),
                    rx_frames: 0,
                    tx_frames: 0,
                })
                .collect()
        };
        (side(a_rx, &b_tx), side(b_rx, &a_tx))
    }
}

/// One queue of an in-memory link.
pub struct MemoryDevice {
    rx: Receiver<Vec<u8>>,
    peer: Arc<[Sender<Vec<u8>>]>,
    dropped: Arc<AtomicU64>,
    scatter_every: u64,
    /// Frames built this iteration; like a NIC's TX ring they leave at `flush`.
    pending: Vec<Vec<u8>>,
    rx_frames: u64,
    tx_frames: u64,
}

pub struct MemoryRx(Vec<u8>);

impl phy::RxToken for MemoryRx {
    fn consume<R>(mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut self.0)
    }
}

pub struct MemoryTx<'a> {
    device: &'a mut MemoryDevice,
}

impl phy::TxToken for MemoryTx<'_> {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        self.device.pending.push(frame);
        result
    }
}

impl Device for MemoryDevice {
    type RxToken<'a> = MemoryRx;
    type TxToken<'a> = MemoryTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(MemoryRx, MemoryTx<'_>)> {
        let frame = self.rx.try_recv().ok()?;
        self.rx_frames += 1;
        Some((MemoryRx(frame), MemoryTx { device: self }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<MemoryTx<'_>> {
        Some(MemoryTx { device: self })
    }

    fn caps(&self) -> DeviceCaps {
        DeviceCaps::default()
    }
}

impl QueueDevice for MemoryDevice {
    fn flush(&mut self) {
        let queues = self.peer.len();
        for frame in self.pending.drain(..) {
            let mut queue = phy::rss_queue(&frame, queues);
            self.tx_frames += 1;
            if self.scatter_every > 0 && self.tx_frames.is_multiple_of(self.scatter_every) {
                queue = (queue + 1) % queues;
            }
            if self.peer[queue].try_send(frame).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn wake_fd(&self) -> Option<RawFd> {
        None
    }

    fn mode(&self) -> &'static str {
        "memory"
    }

    fn counters(&self, out: &mut Vec<(&'static str, u64)>) {
        out.push(("rx_frames", self.rx_frames));
        out.push(("tx_frames", self.tx_frames));
        out.push(("wire_drops", self.dropped.load(Ordering::Relaxed)));
    }
}
