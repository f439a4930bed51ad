//! Benchmark support for Sluice: an in-memory device pair and the TCP fixtures built on it.

pub mod pair;
pub mod tcp;
