//! Benchmark support for Sluice.
