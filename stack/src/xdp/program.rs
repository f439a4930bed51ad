//! Loading and attaching the XDP steering program (`ebpf/sluice_xdp.bpf.c`).
//!
//! The object is compiled by `build.rs` and embedded here. It is attached through a
//! bpf_link (`BPF_LINK_CREATE`, Linux 5.9): the attachment lives as long as the link's file
//! descriptor, so when the process exits, however it exits, the kernel detaches it.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

use aya::maps::{Array, HashMap, MapData, PerCpuArray, XskMap};
use aya::programs::links::LinkType;
use aya::programs::loaded_links;
use aya::programs::xdp::{XdpLink, XdpLinkId};
use aya::programs::{ProgramError, Xdp, XdpMode};
use aya::Ebpf;

use super::port_map::{PortKey, PortMap};
use super::{PortProto, PortRegistry, XdpError};
use crate::wire::Ipv4Addr;

/// The compiled steering program.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sluice_xdp.bpf.o"));

/// Addresses the program's config map holds (`SLUICE_MAX_ADDRS`).
pub const MAX_ADDRS: usize = 8;
/// Slots of the XSKMAP, so the highest queue index plus one (`SLUICE_MAX_QUEUES`).
pub const MAX_QUEUES: u32 = 64;

/// `struct sluice_config` in the C program.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct RawConfig {
    /// Network byte order.
    addrs: [u32; MAX_ADDRS],
    addr_count: u32,
    vlan_id: u32,
    /// [`SHARE_ADDRESS`].
    flags: u32,
}

/// `SLUICE_SHARE_ADDRESS`: the kernel holds our addresses too.
const SHARE_ADDRESS: u32 = 1;

// SAFETY: plain old data of u32s only (no padding), valid for every bit pattern.
unsafe impl aya::Pod for RawConfig {}

/// How to attach the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpAttachMode {
    /// Driver (native) mode, falling back to generic (SKB) mode if the driver refuses.
    #[default]
    Auto,
    /// Driver mode only.
    Driver,
    /// Generic (SKB) mode only: works on any interface, slower.
    Skb,
}

/// What the program steers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XdpProgramConfig {
    /// Our IPv4 addresses (at most [`MAX_ADDRS`]): ARP for them, and ICMP, TCP and UDP to
    /// them go to the stack (TCP and UDP on every port, so the stack answers closed ones).
    pub addrs: Vec<Ipv4Addr>,
    /// The 802.1Q VLAN the stack is on, `None` for untagged frames.
    pub vlan_id: Option<u16>,
    pub mode: XdpAttachMode,
    /// The kernel holds the addresses too: TCP and UDP go to the stack only on the ports
    /// registered through [`XdpProgram::ports`], the rest to the kernel; ARP requests for
    /// the addresses go to the kernel, ARP replies to the stack.
    pub share_address: bool,
}

/// The program's per-CPU counters, summed over CPUs (`enum sluice_counter` in the C program).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XdpCounters {
    /// Handed to an AF_XDP socket.
    pub redirected: u64,
    /// Of `redirected`, IPv4 fragments (all fragments to our addresses go to the stack,
    /// which reassembles).
    pub redirected_fragments: u64,
    /// Passed: neither IPv4 nor ARP.
    pub passed_not_ip: u64,
    /// Passed: to an address that is not ours (ARP for others, broadcasts, other hosts).
    pub passed_not_ours: u64,
    /// Passed: IPv4 to us, but neither ICMP, TCP nor UDP.
    pub passed_protocol: u64,
    /// Passed (share-address mode): TCP or UDP to a port not registered.
    pub passed_port: u64,
    /// Passed: tagged for another VLAN, double tagged, or tagged/untagged against the config.
    pub passed_vlan: u64,
    /// Passed: truncated or invalid headers.
    pub passed_malformed: u64,
    /// Passed: ours, but no AF_XDP socket in the receiving queue's XSKMAP slot.
    pub passed_no_socket: u64,
    /// Passed (share-address mode): an ARP request for our address, which the kernel answers.
    pub passed_shared_arp: u64,
}

impl XdpCounters {
    const LEN: u32 = 10;

    /// Every frame passed to the kernel, whatever the reason.
    pub fn passed(&self) -> u64 {
        self.passed_not_ip
            + self.passed_not_ours
            + self.passed_protocol
            + self.passed_port
            + self.passed_vlan
            + self.passed_malformed
            + self.passed_no_socket
            + self.passed_shared_arp
    }

    /// Each counter with its name, in the program's order.
    pub fn named(&self) -> [(&'static str, u64); Self::LEN as usize] {
        [
            ("redirected", self.redirected),
            ("redirected_fragments", self.redirected_fragments),
            ("passed_not_ip", self.passed_not_ip),
            ("passed_not_ours", self.passed_not_ours),
            ("passed_protocol", self.passed_protocol),
            ("passed_port", self.passed_port),
            ("passed_vlan", self.passed_vlan),
            ("passed_malformed", self.passed_malformed),
            ("passed_no_socket", self.passed_no_socket),
            ("passed_shared_arp", self.passed_shared_arp),
        ]
    }

    fn from_slots(slots: &[u64; Self::LEN as usize]) -> XdpCounters {
        XdpCounters {
            redirected: slots[0],
            redirected_fragments: slots[1],
            passed_not_ip: slots[2],
            passed_not_ours: slots[3],
            passed_protocol: slots[4],
            passed_port: slots[5],
            passed_vlan: slots[6],
            passed_malformed: slots[7],
            passed_no_socket: slots[8],
            passed_shared_arp: slots[9],
        }
    }
}

impl core::fmt::Display for XdpCounters {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, (name, value)) in self.named().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

/// The steering program, loaded and attached to one interface; detached on drop.
pub struct XdpProgram {
    ifname: String,
    mode: XdpMode,
    link: Option<XdpLink>,
    program_id: u32,
    xsks: Mutex<XskMap<MapData>>,
    ports: Arc<PortMap>,
    counters: PerCpuArray<MapData, u64>,
    /// Owns the program; dropped after the link.
    _ebpf: Ebpf,
}

impl XdpProgram {
    /// Loads the program, fills its config map with `config` and attaches it to `ifname`.
    pub fn attach(ifname: &str, config: &XdpProgramConfig) -> Result<XdpProgram, XdpError> {
        if config.addrs.len() > MAX_ADDRS {
            return Err(XdpError::TooManyAddresses { count: config.addrs.len(), max: MAX_ADDRS });
        }
        let if_index = interface_index(ifname)?;
        let mut ebpf = Ebpf::load(OBJECT).map_err(|e| load_error("load the XDP program's maps", &e))?;

        let mut raw = RawConfig {
            addrs: [0; MAX_ADDRS],
            addr_count: config.addrs.len() as u32,
            vlan_id: 0,
            flags: if config.share_address { SHARE_ADDRESS } else { 0 },
        };
        for (slot, addr) in raw.addrs.iter_mut().zip(&config.addrs) {
            *slot = u32::from_ne_bytes(addr.octets());
        }
        raw.vlan_id = u32::from(config.vlan_id.unwrap_or(0));
        let mut config_map: Array<MapData, RawConfig> = take_map(&mut ebpf, "config")?;
        config_map.set(0, raw, 0).map_err(|e| map_error("config", "setting the addresses", e))?;
        let xsks: XskMap<MapData> = take_map(&mut ebpf, "xsks")?;
        let ports: HashMap<MapData, PortKey, u32> = take_map(&mut ebpf, "ports")?;
        let counters: PerCpuArray<MapData, u64> = take_map(&mut ebpf, "counters")?;

        let program: &mut Xdp = ebpf
            .program_mut("sluice_xdp")
            .ok_or_else(|| XdpError::Load { reason: "the object has no program `sluice_xdp`".into() })?
            .try_into()
            .map_err(|e: ProgramError| XdpError::Load { reason: e.to_string() })?;
        program.load().map_err(|e| load_error("load the XDP program", &e))?;

        let (mode, link_id) = match config.mode {
            XdpAttachMode::Driver => {
                (XdpMode::Driver, attach_in(program, ifname, if_index, XdpMode::Driver)?)
            }
            XdpAttachMode::Skb => (XdpMode::Skb, attach_in(program, ifname, if_index, XdpMode::Skb)?),
            XdpAttachMode::Auto => match attach_in(program, ifname, if_index, XdpMode::Driver) {
                Ok(id) => (XdpMode::Driver, id),
                Err(XdpError::Attach { source, .. }) if source.raw_os_error() != Some(libc::EBUSY) => {
                    tracing::warn!(%ifname, error = %source, "driver-mode XDP refused; falling back to generic (SKB) mode");
                    (XdpMode::Skb, attach_in(program, ifname, if_index, XdpMode::Skb)?)
                }
                Err(other) => return Err(other),
            },
        };
        let program_id = program.info().map_err(|e| XdpError::Load { reason: e.to_string() })?.id();
        let link = program.take_link(link_id).map_err(|e| XdpError::Load { reason: e.to_string() })?;
        if !has_bpf_link(program_id) {
            // Dropping the link detaches the netlink attachment too.
            drop(link);
            return Err(XdpError::NoBpfLink { ifname: ifname.to_owned() });
        }
        tracing::info!(
            %ifname,
            mode = mode_name(mode),
            addrs = ?config.addrs,
            share_address = config.share_address,
            "XDP program attached through a bpf_link"
        );
        Ok(XdpProgram {
            ifname: ifname.to_owned(),
            mode,
            link: Some(link),
            program_id,
            xsks: Mutex::new(xsks),
            ports: Arc::new(PortMap::new(ports)),
            counters,
            _ebpf: ebpf,
        })
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Whether the program runs in the driver (`true`) or in generic SKB mode.
    pub fn is_driver_mode(&self) -> bool {
        self.mode == XdpMode::Driver
    }

    /// Puts the AF_XDP socket `fd` (see [`super::XskDevice::fd`]) in the XSKMAP slot of
    /// `queue`, so the program redirects that queue's frames to it.
    pub fn register_socket(&self, queue: u32, fd: RawFd) -> Result<(), XdpError> {
        if queue >= MAX_QUEUES {
            return Err(XdpError::QueueOutOfRange { queue, max: MAX_QUEUES });
        }
        let mut xsks = self.xsks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        xsks.set(queue, fd, 0).map_err(|e| map_error("xsks", "registering a socket", e))
    }

    /// Empties the XSKMAP slot of `queue`: its frames pass to the kernel again.
    pub fn unregister_socket(&self, queue: u32) -> Result<(), XdpError> {
        if queue >= MAX_QUEUES {
            return Err(XdpError::QueueOutOfRange { queue, max: MAX_QUEUES });
        }
        let mut xsks = self.xsks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        xsks.unset(queue).map_err(|e| map_error("xsks", "unregistering a socket", e))
    }

    /// The port registry, to share with the workers.
    pub fn ports(&self) -> Arc<PortMap> {
        Arc::clone(&self.ports)
    }

    /// The program's counters, summed over CPUs.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        let mut slots = [0u64; XdpCounters::LEN as usize];
        for (index, slot) in (0u32..).zip(slots.iter_mut()) {
            let per_cpu = self.counters.get(&index, 0).map_err(|e| map_error("counters", "reading", e))?;
            *slot = per_cpu.iter().sum();
        }
        Ok(XdpCounters::from_slots(&slots))
    }
}

impl PortRegistry for XdpProgram {
    fn open(&self, proto: PortProto, port: u16) -> Result<(), XdpError> {
        self.ports.open(proto, port)
    }

    fn close(&self, proto: PortProto, port: u16) -> Result<(), XdpError> {
        self.ports.close(proto, port)
    }
}

impl Drop for XdpProgram {
    fn drop(&mut self) {
        // Closing the link's descriptor detaches the program, but the kernel releases
        // the link from a work queue: wait until it is gone, so that the interface is
        // back to the kernel when this returns (and when the process exits).
        drop(self.link.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while has_bpf_link(self.program_id) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        tracing::info!(ifname = %self.ifname, "XDP program detached");
    }
}

impl core::fmt::Debug for XdpProgram {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XdpProgram")
            .field("ifname", &self.ifname)
            .field("mode", &mode_name(self.mode))
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

fn interface_index(ifname: &str) -> Result<u32, XdpError> {
    let no_such = || XdpError::NoSuchInterface { ifname: ifname.to_owned() };
    let name = CString::new(ifname).map_err(|_| no_such())?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(no_such());
    }
    Ok(index)
}

fn attach_in(program: &mut Xdp, ifname: &str, if_index: u32, mode: XdpMode) -> Result<XdpLinkId, XdpError> {
    program.attach_to_if_index(if_index, mode).map_err(|e| match errno_in(&e) {
        Some(libc::EPERM) | Some(libc::EACCES) => XdpError::PermissionDenied {
            action: "attach an XDP program",
            source: io::Error::from_raw_os_error(libc::EPERM),
        },
        Some(errno) => XdpError::Attach {
            ifname: ifname.to_owned(),
            mode: mode_name(mode),
            source: io::Error::from_raw_os_error(errno),
        },
        None => {
            XdpError::Attach { ifname: ifname.to_owned(), mode: mode_name(mode), source: io::Error::other(e) }
        }
    })
}

/// Whether the kernel lists a bpf_link of type XDP for program `program_id`.
fn has_bpf_link(program_id: u32) -> bool {
    loaded_links()
        .filter_map(Result::ok)
        .any(|info| info.program_id() == program_id && info.link_type().ok() == Some(LinkType::Xdp))
}

fn mode_name(mode: XdpMode) -> &'static str {
    match mode {
        XdpMode::Driver => "driver",
        XdpMode::Skb => "generic (SKB)",
        XdpMode::Hardware => "hardware",
        XdpMode::Default => "default",
    }
}

fn take_map<M>(ebpf: &mut Ebpf, name: &'static str) -> Result<M, XdpError>
where
    M: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf
        .take_map(name)
        .ok_or_else(|| XdpError::Load { reason: format!("the object has no map `{name}`") })?;
    M::try_from(map).map_err(|e| map_error(name, "opening", e))
}

fn map_error(map: &'static str, what: &str, error: aya::maps::MapError) -> XdpError {
    XdpError::Map { map, reason: format!("{what}: {}", chain(&error)) }
}

fn load_error(action: &'static str, error: &(dyn std::error::Error + 'static)) -> XdpError {
    match errno_in(error) {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            XdpError::PermissionDenied { action, source: io::Error::from_raw_os_error(libc::EPERM) }
        }
        _ => XdpError::Load { reason: chain(error) },
    }
}

/// The first OS error number in `error`'s source chain.
fn errno_in(error: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(errno) = io.raw_os_error() {
                return Some(errno);
            }
        }
        if let Some(sys) = e.downcast_ref::<aya::sys::SyscallError>() {
            if let Some(errno) = sys.io_error.raw_os_error() {
                return Some(errno);
            }
        }
        current = e.source();
    }
    None
}

/// `error` and its sources, joined with ": ".
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Workers on several threads share the program (socket registration, ports).
    #[test]
    fn the_program_and_its_port_map_are_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<XdpProgram>();
        shared::<PortMap>();
    }

    #[test]
    fn the_embedded_object_is_an_ebpf_elf() {
        assert_eq!(&OBJECT[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([OBJECT[18], OBJECT[19]]), 247, "e_machine is EM_BPF");
    }

    #[test]
    fn config_layout_matches_the_c_struct() {
        assert_eq!(std::mem::size_of::<RawConfig>(), 4 * MAX_ADDRS + 12);
        assert_eq!(std::mem::size_of::<PortKey>(), 4);
    }

    #[test]
    fn counters_name_every_slot_and_sum_the_passes() {
        let slots = [10, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        let counters = XdpCounters::from_slots(&slots);
        assert_eq!(counters.passed(), 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9);
        assert_eq!(counters.named().map(|(_, v)| v), slots);
        assert!(counters.to_string().starts_with("redirected=10 redirected_fragments=1 passed_not_ip=2"));
    }

    #[test]
    fn a_missing_interface_is_named() {
        let error = interface_index("hx-none0").unwrap_err();
        assert!(error.to_string().contains("no network interface named `hx-none0`"), "{error}");
    }
}
