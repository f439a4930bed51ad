//! Sluice: a userspace TCP/IP stack for AF_XDP kernel bypass.
//!
//! The protocol core is the crate `sluice-core` (pure: no clock, no system call, no C
//! toolchain), re-exported here under the same paths. This crate adds the datapath:
//!
//! - [`xdp`]: the XDP steering program (compiled from `ebpf/` by build.rs) and AF_XDP
//!   sockets.
//! - [`worker`]: the pinned per-queue threads that drive a [`stack::Stack`] each, the
//!   cross-worker handoff, the blocking socket API, and in-memory devices.
//! - [`control`]: the control socket through which `sluice stat` and `netstat` read a
//!   running process.
//!
//! From the core: [`wire`], [`phy`], [`iface`], [`tcp`], [`socket`], [`stack`] (the loop
//! every worker runs), [`dns`], [`apps`], [`trace`], [`time`] and [`sim`].

pub use sluice_core::{apps, dns, iface, phy, sim, socket, stack, tcp, time, trace, wire};

pub mod control;
pub mod worker;
pub mod xdp;
