//! Sluice's protocol core, pure (DESIGN.md): it never reads a clock and never makes a
//! system call. Callers pass the current [`time::Instant`] and a [`phy::Device`]; the core
//! returns frames to send and the next deadline at which it wants to be polled. It builds
//! and tests with Rust alone; the AF_XDP datapath (crate `sluice`) drives it.
//!
//! - [`wire`]: zero-copy views and parsed representations of every header.
//! - [`phy`]: the device trait that links the core to a wire.
//! - [`iface`]: the interface layer: Ethernet, ARP, IPv4 in and out, fragments, ICMP,
//!   delivery to UDP and TCP, the send scheduler, cross-worker handoff.
//! - [`tcp`]: the connection (control block, state machine, buffers, timers, congestion
//!   control, SACK, RACK-TLP, SYN cookies).
//! - [`socket`]: the socket table: TCP connections and listeners, UDP and ICMP sockets.
//! - [`stack`]: one interface, its sockets and the application handler, driven sans-I/O:
//!   the loop the workers, the simulator and the benchmarks all run.
//! - [`dns`]: the stub resolver (`gethostbyname`).
//! - [`apps`]: the in-worker event API ([`apps::Handler`]) and the services on it (TCP
//!   echo and discard, UDP echo, HTTP/1.1 echo, a DNS server).
//! - [`trace`]: tcpdump-style one-line descriptions of frames.
//! - [`sim`] (feature `sim`, on by default): the deterministic network simulator used by
//!   tests, benchmarks and the demo.

pub mod apps;
pub mod dns;
pub mod iface;
pub mod phy;
#[cfg(feature = "sim")]
pub mod sim;
pub mod socket;
pub mod stack;
pub mod tcp;
pub mod time;
pub mod trace;
pub mod wire;
