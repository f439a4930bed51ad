//! Benchmark support for Sluice: an in-memory device pair and the TCP fixtures built on it,
//! and the pieces of the echo load clients (`echo_load`, `latency`).

pub mod echo_datagram;
pub mod echo_message;
pub mod echo_stream;
pub mod hgrm;
pub mod pair;
pub mod schedule;
pub mod tcp;
pub mod timer;
