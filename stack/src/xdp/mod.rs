//! The kernel-bypass datapath: the XDP steering program and AF_XDP sockets.
//!
//! - [`XdpProgram`] loads `ebpf/sluice_xdp.bpf.c` (compiled by `build.rs`) with aya, attaches
//!   it through a bpf_link (a crashed process leaves the interface clean) and owns its maps:
//!   our addresses, the registered ports ([`PortMap`], a [`PortRegistry`]), the XSKMAP and
//!   the per-CPU counters ([`XdpCounters`]).
//! - [`XskDevice`] is one AF_XDP socket bound to one queue, implementing [`crate::phy::Device`]
//!   over its UMEM: frames are parsed and built in place.
//! - [`FramePool`] accounts for every UMEM frame, so none can leak or be handed out twice.
//!
//! Kernel documentation: <https://docs.kernel.org/networking/af_xdp.html>.

mod frame_pool;
mod port_map;
mod program;
mod queue_device;
mod umem;
mod xsk;

use std::io;

pub use frame_pool::{FrameError, FrameId, FramePool, FrameState};
pub use port_map::PortMap;
pub use program::{XdpAttachMode, XdpCounters, XdpProgram, XdpProgramConfig, MAX_ADDRS, MAX_QUEUES};
pub use umem::UmemLayout;
pub use xsk::{XskBindMode, XskConfig, XskCounters, XskDevice, XskRxToken, XskTxToken};

/// The transport protocols whose ports the XDP program steers to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortProto {
    Tcp,
    Udp,
}

impl PortProto {
    /// The IPv4 protocol number (RFC 790: TCP 6, UDP 17).
    pub fn ip_protocol(self) -> u8 {
        match self {
            PortProto::Tcp => 6,
            PortProto::Udp => 17,
        }
    }
}

impl core::fmt::Display for PortProto {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PortProto::Tcp => "tcp",
            PortProto::Udp => "udp",
        })
    }
}

/// Registers the ports the stack owns, so the XDP program in share-address mode steers
/// their traffic to it (otherwise every port of our addresses is steered to the stack).
///
/// Called from any worker thread when an application binds or listens, and for the
/// ephemeral port of an active open. Opens and closes are counted per port: a port stays
/// registered until it has been closed as often as it was opened.
pub trait PortRegistry: Send + Sync {
    fn open(&self, proto: PortProto, port: u16) -> Result<(), XdpError>;
    fn close(&self, proto: PortProto, port: u16) -> Result<(), XdpError>;
}

/// What went wrong in the datapath, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    #[error(
        "permission denied to {action}: run as root (or with CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW), \
         e.g. through `cargo xtask run`"
    )]
    PermissionDenied { action: &'static str, source: io::Error },
    #[error("no network interface named `{ifname}`; list them with `ip link show` (for a test pair, `cargo xtask veth up`)")]
    NoSuchInterface { ifname: String },
    #[error("the kernel refused to load the XDP program: {reason}")]
    Load { reason: String },
    #[error(
        "attaching the XDP program to {ifname} was refused by the kernel ({mode} mode): {source}; if another XDP \
         program is attached (`ip -d link show dev {ifname}`), detach it with `ip link set dev {ifname} xdp off`"
    )]
    Attach { ifname: String, mode: &'static str, source: io::Error },
    #[error(
        "the kernel attached the XDP program to {ifname} without a bpf_link (Linux before 5.9), so a crash would \
         leave it attached; use Linux 5.9 or newer"
    )]
    NoBpfLink { ifname: String },
    #[error("XDP map `{map}`: {reason}")]
    Map { map: &'static str, reason: String },
    #[error("{count} addresses given, but the XDP program holds at most {max}")]
    TooManyAddresses { count: usize, max: usize },
    #[error("queue {queue} is beyond the XSKMAP's {max} slots; use fewer queues")]
    QueueOutOfRange { queue: u32, max: u32 },
    #[error("port {proto}/{port} was closed more often than opened")]
    PortNotOpen { proto: PortProto, port: u16 },
    #[error("invalid AF_XDP configuration: {0}")]
    Config(String),
    #[error("cannot create the UMEM ({reason}): {source}; raise `ulimit -l` or use fewer frames")]
    Umem { reason: String, source: io::Error },
    #[error(
        "cannot bind an AF_XDP socket to {ifname} queue {queue}: {source}; check the queue exists \
         (`ethtool -l {ifname}`) and no other AF_XDP socket is bound to it"
    )]
    Socket { ifname: String, queue: u32, source: io::Error },
    #[error("AF_XDP socket {op} failed: {source}")]
    Io { op: &'static str, source: io::Error },
}
