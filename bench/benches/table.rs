//! Per-packet cost of TCP demultiplexing with 10 and with 100,000 connections in one table
//! (issue 3: a full table must cost no more per packet than a small one).
//!
//! One host runs the real interface and socket set on a `SimDevice`; the bench injects
//! frames straight into the device. Setup opens N connections with real handshakes; the
//! measured operation is one frame (a pure ACK for an established connection) through
//! `Interface::poll`: Ethernet, IPv4 and TCP parsing with checksums, the 4-tuple lookup
//! and the segment checks.
//!
//! `active` is how many connections the frames go to, round robin. With the same active
//! set, the two table sizes compare the table alone; 1,024 active connections in the big
//! table add what a larger working set costs in cache misses.

use core::net::SocketAddrV4;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::sim::SimDevice;
use sluice_core::socket::{SocketSet, SocketSetConfig};
use sluice_core::tcp::TcpConfig;
use sluice_core::time::Instant;
use sluice_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, IpProtocol,
    Ipv4Addr, Ipv4Cidr, Ipv4Packet, Ipv4Repr, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};

const SERVER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PORT: u16 = 80;

fn peer_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 1 + (i / 50_000) as u8, 2)
}

fn peer_port(i: usize) -> u16 {
    10_000 + (i % 50_000) as u16
}

fn eth(ethertype: EtherType) -> EthernetRepr {
    EthernetRepr { src_addr: PEER_MAC, dst_addr: SERVER_MAC, ethertype, vlan_id: None }
}

fn tcp_frame(i: usize, seq: SeqNumber, ack: SeqNumber, flags: TcpFlags) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: peer_port(i),
        dst_port: PORT,
        seq_number: seq,
        ack_number: ack,
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions { mss: flags.contains(TcpFlags::SYN).then_some(1460), ..TcpOptions::default() },
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: peer_ip(i),
        dst_addr: SERVER_IP,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        dscp_ecn: 0,
    };
    let eth = eth(EtherType::Ipv4);
    let mut frame = vec![0; eth.buffer_len() + 20 + tcp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p);
    tcp.emit(&mut TcpPacket::new_unchecked(p.payload_mut()), ip.src_addr, ip.dst_addr);
    frame
}

fn arp_frame(i: usize) -> Vec<u8> {
    let arp = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: peer_ip(i),
        target_hardware_addr: EthernetAddress::UNSPECIFIED,
        target_protocol_addr: SERVER_IP,
    };
    let eth = eth(EtherType::Arp);
    let mut frame = vec![0; eth.buffer_len() + arp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.emit(&mut f);
    arp.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
    frame
}

struct Server {
    iface: Interface,
    sockets: SocketSet,
    device: SimDevice,
}

impl Server {
    fn poll(&mut self) {
        let now = Instant::from_secs(1);
        while self.iface.poll(now, &mut self.device, &mut self.sockets) {}
    }
}

/// A server with `n` established connections and ACK frames for `active` of them.
fn server_with(n: usize, active: usize) -> (Server, Vec<Vec<u8>>) {
    let mut config = InterfaceConfig::new(SERVER_MAC, Ipv4Cidr::new(SERVER_IP, 16).unwrap());
    config.announce = false;
    config.neighbor.max_entries = 16;
    let iface = Interface::new(config).unwrap();
    let tcp = TcpConfig { send_buffer: 512, recv_buffer: 512, ..TcpConfig::default() };
    let mut sockets =
        SocketSet::new(SocketSetConfig { max_sockets: n + 16, tcp, ..SocketSetConfig::default() });
    let mut device = SimDevice::new(SERVER_MAC, 1500);
    device.set_rx_limit(n + 64);
    device.set_tx_limit(n + 64);
    let listener = sockets.tcp_socket().unwrap();
    sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).unwrap();
    sockets.listen(listener, n).unwrap();
    let mut server = Server { iface, sockets, device };
    for i in (0..n).step_by(50_000) {
        server.device.inject(arp_frame(i));
    }
    server.poll();
    while server.device.take_transmitted().is_some() {}

    let client_isn = SeqNumber(1000);
    let mut acks = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1024) {
        for &i in chunk {
            server.device.inject(tcp_frame(i, client_isn, SeqNumber(0), TcpFlags::SYN));
        }
        server.poll();
        let mut syn_acks = Vec::new();
        while let Some(frame) = server.device.take_transmitted() {
            let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
            if eth.ethertype() != EtherType::Ipv4 {
                continue;
            }
            let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            syn_acks.push((tcp.dst_port(), ip.dst_addr(), tcp.seq_number()));
        }
        for (port, addr, server_isn) in syn_acks {
            let i = usize::from(port - 10_000) + 50_000 * usize::from(addr.octets()[2] - 1);
            let ack = tcp_frame(i, client_isn + 1, server_isn + 1, TcpFlags::ACK);
            server.device.inject(ack.clone());
            if acks.len() < active && i % (n / active).max(1) == 0 {
                acks.push(ack);
            }
        }
        server.poll();
        while server.device.take_transmitted().is_some() {}
    }
    assert_eq!(server.sockets.tcp_stats().established, n as u64, "every handshake completed");
    (server, acks)
}

fn demux(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_demux");
    group.throughput(Throughput::Elements(1));
    for (n, active) in [(10usize, 10usize), (100_000, 10), (100_000, 1024)] {
        let (mut server, acks) = server_with(n, active);
        let mut next = 0;
        let id = format!("{n}_connections_{active}_active");
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                server.device.inject(acks[next].clone());
                next = (next + 1) % acks.len();
                server.iface.poll(Instant::from_secs(1), &mut server.device, &mut server.sockets);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, demux);
criterion_main!(benches);
