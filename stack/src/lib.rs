//! Sluice: a userspace TCP/IP stack for AF_XDP kernel bypass.
//!
//! The protocol core is pure (DESIGN.md): it never reads a clock, never makes a system
//! call. Callers pass the current [`time::Instant`] and a [`phy::Device`]; the core returns
//! frames to send and the next deadline at which it wants to be polled.
//!
//! - [`wire`]: zero-copy views and parsed representations of every header.
//! - [`phy`]: the device trait that links the core to a wire.
//! - [`iface`]: the interface layer: addresses, ARP, IPv4 in and out, fragments, ICMP.
//! - [`socket`]: UDP and ICMP sockets.
//! - [`dns`]: the stub resolver (`gethostbyname`).
//! - [`apps`]: small services (UDP echo, a DNS server) and the [`apps::App`] trait.
//! - [`control`]: the control socket through which `sluice stat` and `netstat` read a
//!   running process.
//! - [`trace`]: tcpdump-style one-line descriptions of frames.
//! - [`xdp`]: the kernel-bypass datapath: the XDP steering program and AF_XDP sockets.
//! - [`sim`]: the deterministic network simulator used by tests, benchmarks and the demo.

pub mod apps;
pub mod control;
pub mod dns;
pub mod iface;
pub mod phy;
pub mod sim;
pub mod socket;
pub mod tcp;
pub mod time;
pub mod trace;
pub mod wire;
pub mod worker;
pub mod xdp;
