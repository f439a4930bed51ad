//! The Internet checksum over the sizes that matter: a minimum frame (64), the IPv4
//! minimum reassembly size (576, RFC 791) and a full Ethernet MTU (1500).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_core::wire::checksum;

fn data(c: &mut Criterion) {
    let mut group = c.benchmark_group("checksum");
    for len in [64usize, 576, 1500] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("data", len), &bytes, |b, bytes| {
            b.iter(|| checksum::data(black_box(bytes)))
        });
    }
    group.finish();
}

criterion_group!(benches, data);
criterion_main!(benches);
