//! TCP between two complete in-memory stacks (see `sluice_bench::tcp`), both stacks' work
//! counted, checksums computed and verified, 1500-byte MTU.
//!
//! - `request_response`: the client writes 64 bytes and polls, the server polls, reads
//!   the 64 bytes, writes 64 back and polls, the client polls and reads them. One
//!   iteration is one transaction (time per iteration = time per transaction).
//! - `bulk`: 16 MB streamed one way per iteration with 4 MB socket buffers; criterion
//!   prints the throughput in bytes per second (multiply GiB/s by 8.59 for Gbit/s).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_bench::tcp::TcpPair;

/// Bytes streamed per `bulk` iteration.
const BULK_BYTES: usize = 16 << 20;

fn request_response(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp");
    let mut pair = TcpPair::request_response();
    group.throughput(Throughput::Elements(1));
    group.bench_function("request_response", |b| b.iter(|| pair.transaction()));
    group.finish();
}

fn bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp");
    let mut pair = TcpPair::bulk();
    group.throughput(Throughput::Bytes(BULK_BYTES as u64));
    group.sample_size(20);
    group.bench_function("bulk", |b| b.iter(|| pair.stream(BULK_BYTES)));
    group.finish();
}

criterion_group!(benches, request_response, bulk);
criterion_main!(benches);
