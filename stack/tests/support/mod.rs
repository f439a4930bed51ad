//! Support for the veth integration tests (../veth.rs): network namespaces joined by a veth
//! pair, processes run inside them (the `sluice` binary, kernel tools, Python sockets), and
//! the loud skips when the machine cannot run a test.

pub mod kernel_apps;
pub mod netem;
pub mod netns;
pub mod process;
pub mod skip;
pub mod sluice;
pub mod veth;
