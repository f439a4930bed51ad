//! Parsing and validating a received Ethernet/IPv4/TCP frame, as the receive path does:
//! every length checked, the IPv4 header checksum and the TCP checksum (over the
//! pseudo-header and the whole segment) verified, the options decoded.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_core::wire::{
    ChecksumMode, EtherType, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpOptions,
    TcpPacket, TcpRepr,
};

// Both frames: 02:00:00:00:00:01 > 02:00:00:00:00:02, 10.0.0.1:49152 > 10.0.0.2:8080, PSH+ACK,
// NOP NOP Timestamps; payload byte i is (7i + 3) mod 256. Made with scapy 2.5, which
// computes both checksums itself (tshark confirms them):
//   Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
//   / IP(src='10.0.0.1', dst='10.0.0.2', id=0x1c46, flags='DF', ttl=64)
//   / TCP(sport=49152, dport=8080, seq=0x3ade68b1, ack=0x9a2b7c11, flags='PA', window=502,
//         options=[('NOP', None), ('NOP', None), ('Timestamp', (2216538, 1089290))])
//   / Raw(bytes((i * 7 + 3) & 0xff for i in range(n)))

/// n = 1448: a full-MTU segment (IPv4 Total Length 1500, 1514-byte frame).
const MTU_FRAME: &str = "\
    0200000000020200000000010800450005dc1c464000400604d40a0000010a000002c0001f903ade68b19a2b7c118018\
    01f6494c00000101080a0021d25a00109f0a030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ce\
    d5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bcc3cad1d8dfe6edf4fb020910171e\
    252c333a41484f565d646b727980878e959ca3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b525960676e\
    757c838a91989fa6adb4bbc2c9d0d7dee5ecf3fa01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7be\
    c5ccd3dae1e8eff6fd040b121920272e353c434a51585f666d747b828990979ea5acb3bac1c8cfd6dde4ebf2f900070e\
    151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e\
    656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7ae\
    b5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b727980878e959ca3aab1b8bfc6cdd4dbe2e9f0f7fe\
    050c131a21282f363d444b525960676e757c838a91989fa6adb4bbc2c9d0d7dee5ecf3fa01080f161d242b323940474e\
    555c636a71787f868d949ba2a9b0b7bec5ccd3dae1e8eff6fd040b121920272e353c434a51585f666d747b828990979e\
    a5acb3bac1c8cfd6dde4ebf2f900070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7ee\
    f5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e\
    454c535a61686f767d848b9299a0a7aeb5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b727980878e\
    959ca3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b525960676e757c838a91989fa6adb4bbc2c9d0d7de\
    e5ecf3fa01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3dae1e8eff6fd040b121920272e\
    353c434a51585f666d747b828990979ea5acb3bac1c8cfd6dde4ebf2f900070e151c232a31383f464d545b626970777e\
    858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ce\
    d5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bcc3cad1d8dfe6edf4fb020910171e\
    252c333a41484f565d646b727980878e959ca3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b525960676e\
    757c838a91989fa6adb4bbc2c9d0d7dee5ecf3fa01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7be\
    c5ccd3dae1e8eff6fd040b121920272e353c434a51585f666d747b828990979ea5acb3bac1c8cfd6dde4ebf2f900070e\
    151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e\
    656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7ae\
    b5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b727980878e959ca3aab1b8bfc6cdd4dbe2e9f0f7fe\
    050c131a21282f363d444b525960676e757c838a91989fa6adb4bbc2c9d0d7dee5ecf3fa01080f161d242b323940474e\
    555c636a71787f868d949ba2a9b0b7bec5ccd3dae1e8eff6fd040b121920272e353c434a51585f666d747b828990979e\
    a5acb3bac1c8cfd6dde4ebf2f900070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7ee\
    f5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e\
    454c535a61686f767d848b9299a0a7aeb5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b727980878e\
    959ca3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b525960676e757c838a91989fa6adb4bbc2c9d0d7de\
    e5ecf3fa01080f161d242b323940474e555c636a71787f868d94";

/// n = 64: a small request (IPv4 Total Length 116, 130-byte frame).
const SMALL_FRAME: &str = "\
    0200000000020200000000010800450000741c46400040060a3c0a0000010a000002c0001f903ade68b19a2b7c118018\
    01f6c71a00000101080a0021d25a00109f0a030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ce\
    d5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bc";

/// Parses the three headers; returns the outer two and, from the TCP segment (which borrows
/// the views), its options and payload length. The whole `TcpRepr` goes through
/// `black_box` so no field's decoding can be optimised away.
fn parse(frame: &[u8]) -> Option<(EthernetRepr, Ipv4Repr, TcpOptions, usize)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let eth_repr = EthernetRepr::parse(&eth).ok()?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let ip_repr = Ipv4Repr::parse(&ip, ChecksumMode::Verify).ok()?;
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let tcp_repr = TcpRepr::parse(&tcp, ip_repr.src_addr, ip_repr.dst_addr, ChecksumMode::Verify).ok()?;
    let tcp_repr = black_box(tcp_repr);
    Some((eth_repr, ip_repr, tcp_repr.options, tcp_repr.payload.len()))
}

fn ethernet_ipv4_tcp(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, hex_frame, payload_len) in [("small", SMALL_FRAME, 64), ("mtu", MTU_FRAME, 1448)] {
        let frame = hex::decode(hex_frame).expect("the frame constants are hex");
        // Measure the full path only: the frame must parse, checksums and options included.
        let (eth, ip, options, len) = parse(&frame).expect("the scapy frame parses");
        assert_eq!(eth.ethertype, EtherType::Ipv4);
        assert_eq!(ip.next_header, IpProtocol::Tcp);
        assert_eq!(options.timestamps, Some((2216538, 1089290)));
        assert_eq!(len, payload_len);

        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_with_input(BenchmarkId::new("ethernet_ipv4_tcp", name), &frame, |b, frame| {
            b.iter(|| parse(black_box(frame)))
        });
    }
    group.finish();
}

criterion_group!(benches, ethernet_ipv4_tcp);
criterion_main!(benches);
