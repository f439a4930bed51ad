//! The interface layer end to end, in the deterministic simulator: ARP, ping, UDP with
//! fragmentation, ICMP errors, DNS, gateways, bad input. Every host runs the real stack.

use core::net::SocketAddrV4;

use proptest::prelude::*;
use sluice_core::apps::{Ctx, DnsServer, Handler, UdpEcho, ECHO_PORT};
use sluice_core::dns::{DnsError, Resolver, ResolverConfig};
use sluice_core::iface::{DropReason, Interface, InterfaceConfig};
use sluice_core::sim::{Host, LinkConfig, Network, PortId, SimDevice, StackHost};
use sluice_core::socket::{IcmpConfig, SocketError, SocketSet, SocketSetConfig, UdpConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn host<A: Handler>(
    net: &mut Network,
    segment: sluice_core::sim::SegmentId,
    n: u8,
    app: impl FnOnce(&mut SocketSet) -> A,
) -> StackHost<A> {
    host_with(net, segment, n, |c| c, app)
}

fn host_with<A: Handler>(
    net: &mut Network,
    segment: sluice_core::sim::SegmentId,
    n: u8,
    configure: impl FnOnce(InterfaceConfig) -> InterfaceConfig,
    app: impl FnOnce(&mut SocketSet) -> A,
) -> StackHost<A> {
    let port = net.add_port(segment, mac(n));
    let config = configure(InterfaceConfig::new(mac(n), Ipv4Cidr::new(ip(n), 24).unwrap()));
    let iface = Interface::new(config).unwrap();
    let mut sockets =
        SocketSet::new(SocketSetConfig { ephemeral_seed: u64::from(n), ..SocketSetConfig::default() });
    let app = app(&mut sockets);
    StackHost::new(port, iface, sockets, app)
}

/// Steps the network until `done` or `limit` of virtual time; returns whether `done` held.
fn run_until(
    net: &mut Network,
    hosts: &mut [&mut dyn Host],
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> bool {
    let deadline = net.now() + limit;
    while net.now() < deadline {
        if done() {
            return true;
        }
        if !net.step(hosts) {
            return done();
        }
    }
    done()
}

/// Steps until nothing is pending (or `limit` passes).
fn settle(net: &mut Network, hosts: &mut [&mut dyn Host], limit: Duration) {
    let deadline = net.now() + limit;
    net.run_until_idle(hosts, deadline);
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn ping_resolves_the_neighbour_and_gets_replies() {
    let mut net = Network::new(1);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(100)));
    let mut a = host(&mut net, seg, 1, |_| ());
    let mut b = host(&mut net, seg, 2, |_| ());
    let ping = a.sockets.icmp_socket(IcmpConfig::default()).unwrap();
    for seq in 0..3 {
        a.sockets.send_echo(ping, ip(2), seq, &pattern(56, seq as u8)).unwrap();
    }
    let mut replies = Vec::new();
    let done = run_until(&mut net, &mut [&mut a, &mut b], Duration::from_secs(2), || false);
    assert!(!done);
    let mut buf = [0u8; 100];
    while let Ok(reply) = a.sockets.recv_echo(ping, &mut buf) {
        assert_eq!(&buf[..reply.len], &pattern(56, reply.seq_no as u8)[..]);
        replies.push((reply.from, reply.seq_no));
    }
    assert_eq!(replies, vec![(ip(2), 0), (ip(2), 1), (ip(2), 2)]);
    // One request resolved B; the three echoes waited in the ARP queue meanwhile.
    assert_eq!(a.iface.stats().arp_requests_sent, 1);
    assert_eq!(b.iface.stats().arp_replies_sent, 1);
    assert_eq!(b.iface.stats().icmp_echo_replies_sent, 3);
    assert_eq!(
        a.iface.neighbors().resolved().map(|(addr, m, _)| (addr, m)).collect::<Vec<_>>(),
        vec![(ip(2), mac(2))]
    );
    // B learned A from the request addressed to it, so it needed no request of its own.
    assert_eq!(b.iface.stats().arp_requests_sent, 0);
    assert_no_drops_but_announcements(&a.iface);
    assert_no_drops_but_announcements(&b.iface);
}

/// A gratuitous ARP from a host not yet in the table is ignored (RFC 826 merges only
/// known senders) and counted as `arp_not_ours`; nothing else may be dropped.
fn assert_no_drops_but_announcements(iface: &Interface) {
    let stats = iface.stats();
    assert_eq!(stats.total_drops(), stats.drops(DropReason::ArpNotOurs), "{stats}");
}

#[test]
fn udp_echo_small_and_fragmented_datagrams() {
    let mut net = Network::new(2);
    let seg = net.add_segment(LinkConfig::default());
    let mut a = host(&mut net, seg, 1, |_| ());
    let mut b = host(&mut net, seg, 2, |s| UdpEcho::bind(s, ECHO_PORT).unwrap());
    let sock = a
        .sockets
        .udp_socket(UdpConfig { rx_bytes: 256 * 1024, tx_bytes: 256 * 1024, ..UdpConfig::default() })
        .unwrap();
    let sizes = [0usize, 1, 1472, 1473, 4000, 20_000, 65_507];
    let dst = SocketAddrV4::new(ip(2), ECHO_PORT);
    for (i, &len) in sizes.iter().enumerate() {
        a.sockets.send_to(sock, &pattern(len, i as u8), dst).unwrap();
    }
    settle(&mut net, &mut [&mut a, &mut b], Duration::from_secs(5));
    let mut buf = vec![0u8; 70_000];
    for (i, &len) in sizes.iter().enumerate() {
        let (n, from) = a.sockets.recv_from(sock, &mut buf).unwrap();
        assert_eq!(from, dst);
        assert_eq!(n, len, "datagram {i}");
        assert_eq!(&buf[..n], &pattern(len, i as u8)[..]);
    }
    assert_eq!(a.sockets.recv_from(sock, &mut buf), Err(SocketError::WouldBlock));
    assert!(b.iface.stats().datagrams_reassembled >= 4);
    assert!(a.iface.stats().fragments_sent > 0 && b.iface.stats().fragments_sent > 0);
    assert_no_drops_but_announcements(&a.iface);
    assert_no_drops_but_announcements(&b.iface);
}

#[test]
fn fragments_survive_reordering_and_duplication() {
    let mut net = Network::new(3);
    let link = LinkConfig::default().with_duplicate(0.2).with_reorder(0.3, Duration::from_micros(300));
    let seg = net.add_segment(link);
    let mut a = host(&mut net, seg, 1, |_| ());
    let mut b = host(&mut net, seg, 2, |s| UdpEcho::bind(s, ECHO_PORT).unwrap());
    let sock = a.sockets.udp_socket(UdpConfig::default()).unwrap();
    let dst = SocketAddrV4::new(ip(2), ECHO_PORT);
    for i in 0..20u8 {
        a.sockets.send_to(sock, &pattern(3000 + usize::from(i) * 100, i), dst).unwrap();
    }
    settle(&mut net, &mut [&mut a, &mut b], Duration::from_secs(5));
    let mut buf = vec![0u8; 8000];
    let mut seen = std::collections::BTreeSet::new();
    while let Ok((n, _)) = a.sockets.recv_from(sock, &mut buf) {
        let i = ((n - 3000) / 100) as u8;
        assert_eq!(&buf[..n], &pattern(n, i)[..], "echo {i} corrupted");
        seen.insert(i);
    }
    assert_eq!(seen.len(), 20, "every datagram echoed at least once");
    assert!(net.stats(seg).duplicated > 0 && net.stats(seg).reordered > 0);
}

#[test]
fn corruption_is_detected_never_delivered() {
    let mut net = Network::new(4);
    let seg = net.add_segment(LinkConfig::default().with_corrupt(0.3));
    let mut a = host(&mut net, seg, 1, |_| ());
    let mut b = host(&mut net, seg, 2, |s| UdpEcho::bind(s, ECHO_PORT).unwrap());
    let sock = a.sockets.udp_socket(UdpConfig::default()).unwrap();
    let dst = SocketAddrV4::new(ip(2), ECHO_PORT);
    for round in 0..10u8 {
        for i in 0..10u8 {
            a.sockets.send_to(sock, &pattern(200, round * 10 + i), dst).unwrap();
        }
        settle(&mut net, &mut [&mut a, &mut b], Duration::from_secs(5));
    }
    let mut buf = [0u8; 512];
    let mut received = 0;
    while let Ok((n, _)) = a.sockets.recv_from(sock, &mut buf) {
        let seed = buf[0];
        assert_eq!(&buf[..n], &pattern(200, seed)[..], "a corrupted datagram was delivered");
        received += 1;
    }
    let corrupted = net.stats(seg).corrupted;
    let detected = a.iface.stats().total_drops() + b.iface.stats().total_drops();
    assert!(corrupted > 10, "the link corrupted {corrupted} frames");
    assert!(detected > 0, "corruption must be caught and counted");
    assert!(received > 0 && received < 100);
}

#[test]
fn closed_port_answers_port_unreachable_rate_limited() {
    let mut net = Network::new(5);
    let seg = net.add_segment(LinkConfig::default());
    let mut a = host(&mut net, seg, 1, |_| ());
    let mut b = host(&mut net, seg, 2, |_| ());
    let sock = a.sockets.udp_socket(UdpConfig { tx_datagrams: 200, ..UdpConfig::default() }).unwrap();
    for _ in 0..120 {
        a.sockets.send_to(sock, b"knock", SocketAddrV4::new(ip(2), 9)).unwrap();
    }
    settle(&mut net, &mut [&mut a, &mut b], Duration::from_secs(2));
    assert_eq!(a.sockets.take_error(sock).unwrap(), Some(SocketError::ConnectionRefused(ip(2))));
    assert_eq!(a.sockets.take_error(sock).unwrap(), None, "the error is reported once");
    let stats = b.iface.stats();
    assert_eq!(stats.drops(DropReason::UdpNoSocket), 120);
    // A burst of 50, then about one per millisecond while the burst drains.
    assert!(
        stats.icmp_errors_sent >= 50 && stats.icmp_errors_sent < 120,
        "{} errors sent",
        stats.icmp_errors_sent
    );
    assert_eq!(stats.icmp_errors_sent + stats.drops(DropReason::IcmpRateLimited), 120);
}

#[test]
fn unresolvable_neighbour_drops_queued_packets_after_retries() {
    let mut net = Network::new(6);
    let seg = net.add_segment(LinkConfig::default());
    let mut a = host(&mut net, seg, 1, |_| ());
    let sock = a.sockets.udp_socket(UdpConfig::default()).unwrap();
    for _ in 0..5 {
        a.sockets.send_to(sock, b"anyone?", SocketAddrV4::new(ip(99), 7)).unwrap();
    }
    settle(&mut net, &mut [&mut a], Duration::from_secs(10));
    let stats = a.iface.stats();
    assert_eq!(stats.arp_requests_sent, 3, "the first request and two retries");
    assert_eq!(stats.drops(DropReason::ArpUnresolved), 5);
    assert_eq!(a.iface.neighbors().resolved().count(), 0, "only the failure is remembered");
    assert_eq!(a.iface.poll_at(net.now(), &a.sockets), None, "nothing left to do");
}

/// A burst to a neighbour not yet resolved waits in the socket, not in the small ARP
/// queue: the first datagram goes behind the ARP request, the socket is parked with the
/// rest in place, and all of them leave once the reply arrives.
#[test]
fn a_burst_to_a_new_neighbour_waits_in_its_socket_until_arp_resolves() {
    let mut net = Network::new(8);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_millis(1)));
    let mut a = host(&mut net, seg, 1, |_| ());
    let mut b = host(&mut net, seg, 2, |_| ());
    let receiver = b.sockets.udp_socket(UdpConfig::default()).unwrap();
    b.sockets.bind(receiver, SocketAddrV4::new(ip(2), 9000)).unwrap();
    let sender = a.sockets.udp_socket(UdpConfig::default()).unwrap();
    const BURST: u8 = 30;
    for i in 0..BURST {
        a.sockets.send_to(sender, &pattern(100, i), SocketAddrV4::new(ip(2), 9000)).unwrap();
    }
    settle(&mut net, &mut [&mut a, &mut b], Duration::from_secs(1));
    let mut received = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok((n, _)) = b.sockets.recv_from(receiver, &mut buf) {
        received.push(buf[..n].to_vec());
    }
    // Each datagram's first byte is its index (`pattern`).
    let order: Vec<u8> = received.iter().map(|datagram| datagram[0]).collect();
    assert_eq!(order, (0..BURST).collect::<Vec<_>>(), "every datagram, in order");
    assert!(received.iter().enumerate().all(|(i, d)| *d == pattern(100, i as u8)), "intact");
    assert_eq!(a.iface.stats().drops(DropReason::ArpQueueFull), 0);
    assert_eq!(a.iface.stats().arp_requests_sent, 1);
}

#[test]
fn arp_retries_recover_from_loss() {
    // Half the frames are lost: resolution needs retries but succeeds.
    let mut net = Network::new(7);
    let seg = net.add_segment(LinkConfig::default().with_loss(0.5));
    let mut a = host_with(
        &mut net,
        seg,
        1,
        |mut c| {
            c.neighbor.max_requests = 10;
            c
        },
        |_| (),
    );
    let mut b = host(&mut net, seg, 2, |s| UdpEcho::bind(s, ECHO_PORT).unwrap());
    let sock = a.sockets.udp_socket(UdpConfig::default()).unwrap();
    let dst = SocketAddrV4::new(ip(2), ECHO_PORT);
    let mut buf = [0u8; 64];
    let mut got = false;
    for _ in 0..20 {
        a.sockets.send_to(sock, b"ping", dst).unwrap();
        settle(&mut net, &mut [&mut a, &mut b], Duration::from_secs(3));
        if a.sockets.recv_from(sock, &mut buf).is_ok() {
            got = true;
            break;
        }
    }
    assert!(got, "an echo came back despite 50% loss");
    assert!(a.iface.stats().arp_requests_sent >= 1);
}

#[test]
fn off_link_traffic_goes_through_the_gateway() {
    let mut net = Network::new(8);
    let seg = net.add_segment(LinkConfig::default());
    let mut a = host_with(&mut net, seg, 1, |c| c.with_gateway(ip(254)), |_| ());
    let mut gw = host(&mut net, seg, 254, |_| ());
    let sock = a.sockets.udp_socket(UdpConfig::default()).unwrap();
    a.sockets.send_to(sock, b"to the world", SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 7)).unwrap();
    settle(&mut net, &mut [&mut a, &mut gw], Duration::from_secs(2));
    // The gateway received a packet that is not addressed to it (it does not forward).
    assert_eq!(gw.iface.stats().drops(DropReason::Ipv4NotOurs), 1);
    assert_eq!(a.iface.neighbors().resolved().next().map(|(addr, _, _)| addr), Some(ip(254)));

    // Without a gateway the same send is dropped as unroutable.
    let mut net = Network::new(8);
    let seg = net.add_segment(LinkConfig::default());
    let mut lone = host(&mut net, seg, 1, |_| ());
    let sock = lone.sockets.udp_socket(UdpConfig::default()).unwrap();
    lone.sockets.send_to(sock, b"nowhere", SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 7)).unwrap();
    settle(&mut net, &mut [&mut lone], Duration::from_secs(1));
    assert_eq!(lone.iface.stats().drops(DropReason::NoRoute), 1);
}

struct Lookup {
    resolver: Resolver,
}

impl Handler for Lookup {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: sluice_core::socket::SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        self.resolver.poll(now, ctx.sockets());
    }
    fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.resolver.poll_at(now)
    }
}

fn dns_server(sockets: &mut SocketSet) -> DnsServer {
    let mut server = DnsServer::bind(sockets, 53).unwrap();
    server.insert("www.example.test", ip(80));
    server.insert("www.example.test", ip(81));
    server
}

#[test]
fn dns_lookup_answers_and_nxdomain() {
    let mut net = Network::new(9);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_millis(1)));
    let mut a = host(&mut net, seg, 1, |s| Lookup {
        resolver: Resolver::new(s, ResolverConfig::new(vec![ip(53)]), 7).unwrap(),
    });
    let mut server = host(&mut net, seg, 53, dns_server);
    let found = a.handler.resolver.start("WWW.Example.Test").unwrap();
    let missing = a.handler.resolver.start("nope.example.test").unwrap();
    let literal = a.handler.resolver.start("192.0.2.7").unwrap();
    assert!(matches!(a.handler.resolver.start("bad..name"), Err(DnsError::InvalidName(_))));
    settle(&mut net, &mut [&mut a, &mut server], Duration::from_secs(5));
    assert_eq!(a.handler.resolver.take_result(found), Some(Ok(vec![ip(80), ip(81)])));
    assert_eq!(a.handler.resolver.take_result(missing), Some(Err(DnsError::NoSuchName)));
    assert_eq!(a.handler.resolver.take_result(literal), Some(Ok(vec![Ipv4Addr::new(192, 0, 2, 7)])));
    assert_eq!(server.handler.answered, 2);
}

#[test]
fn dns_fails_over_to_the_next_server() {
    // Server 1 (10.0.0.52) is a host without a DNS server: port unreachable moves the
    // query on at once. Server 2 does not exist: the query times out there. Server 3 answers.
    let mut net = Network::new(10);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_millis(1)));
    let servers = vec![ip(52), ip(77), ip(53)];
    let mut a = host(&mut net, seg, 1, |s| Lookup {
        resolver: Resolver::new(s, ResolverConfig::new(servers), 7).unwrap(),
    });
    let mut silent = host(&mut net, seg, 52, |_| ());
    let mut server = host(&mut net, seg, 53, dns_server);
    let query = a.handler.resolver.start("www.example.test").unwrap();
    let done =
        run_until(&mut net, &mut [&mut a, &mut silent, &mut server], Duration::from_secs(10), || false);
    assert!(!done);
    assert_eq!(a.handler.resolver.result(query), Some(&Ok(vec![ip(80), ip(81)])));
    assert!(silent.iface.stats().icmp_errors_sent >= 1, "server 1 refused with port unreachable");
}

#[test]
fn dns_times_out_when_nobody_answers() {
    let mut net = Network::new(11);
    let seg = net.add_segment(LinkConfig::default());
    let mut config = ResolverConfig::new(vec![ip(77)]);
    config.attempts = 2;
    config.timeout = Duration::from_millis(500);
    let mut a = host(&mut net, seg, 1, |s| Lookup { resolver: Resolver::new(s, config, 1).unwrap() });
    let query = a.handler.resolver.start("www.example.test").unwrap();
    settle(&mut net, &mut [&mut a], Duration::from_secs(10));
    assert_eq!(a.handler.resolver.take_result(query), Some(Err(DnsError::TimedOut)));
    // 500 ms, then 1 s: done by 1.5 s.
    assert!(net.now() < Instant::from_secs(5));
}

/// A host that sends scripted raw frames and keeps what it receives.
struct RawHost {
    port: PortId,
    outbox: Vec<Vec<u8>>,
    inbox: Vec<Vec<u8>>,
}

impl Host for RawHost {
    fn port(&self) -> PortId {
        self.port
    }
    fn poll(&mut self, _now: Instant, device: &mut SimDevice) {
        while let Some(frame) = device.recv() {
            self.inbox.push(frame);
        }
        for frame in self.outbox.drain(..) {
            assert!(device.send(&frame));
        }
    }
    fn poll_at(&self, now: Instant) -> Option<Instant> {
        (!self.outbox.is_empty()).then_some(now)
    }
}

/// An Ethernet/IPv4 frame from 10.0.0.9 (02:..:09) to 10.0.0.1, payload given.
fn raw_ipv4(protocol: u8, ident: u16, more_frags: bool, offset: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&mac(1).0);
    frame.extend_from_slice(&mac(9).0);
    frame.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + payload.len()) as u16;
    let flags_offset = (u16::from(more_frags) << 13) | (offset / 8);
    let mut header = vec![0x45, 0];
    header.extend_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&ident.to_be_bytes());
    header.extend_from_slice(&flags_offset.to_be_bytes());
    header.extend_from_slice(&[64, protocol, 0, 0]);
    header.extend_from_slice(&ip(9).octets());
    header.extend_from_slice(&ip(1).octets());
    let checksum = !sluice_core::wire::checksum::data(&header);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn reassembly_timeout_sends_time_exceeded() {
    let mut net = Network::new(12);
    let seg = net.add_segment(LinkConfig::default());
    let mut a = host(&mut net, seg, 1, |_| ());
    let peer_port = net.add_port(seg, mac(9));
    // The first fragment of a UDP datagram whose rest never comes; and an ARP entry so
    // the ICMP error can be addressed without resolution.
    let first = raw_ipv4(17, 0x4242, true, 0, &[0xaa; 16]);
    let mut peer = RawHost { port: peer_port, outbox: vec![first], inbox: Vec::new() };
    settle(&mut net, &mut [&mut a, &mut peer], Duration::from_secs(29));
    assert_eq!(a.iface.stats().drops(DropReason::FragmentTimeout), 0);
    settle(&mut net, &mut [&mut a, &mut peer], Duration::from_secs(5));
    assert_eq!(a.iface.stats().drops(DropReason::FragmentTimeout), 1);
    assert_eq!(a.iface.stats().icmp_errors_sent, 1);
    // The peer answered no ARP, so the error waited for resolution and was dropped: what
    // matters here is that it was produced; its bytes are checked in unit tests.
    assert!(peer.inbox.iter().any(|f| f[12..14] == [0x08, 0x06]), "A asked for the peer's address");
}

#[test]
fn junk_from_the_wire_is_counted_never_fatal() {
    let mut net = Network::new(13);
    let seg = net.add_segment(LinkConfig::default());
    let mut a = host(&mut net, seg, 1, |s| UdpEcho::bind(s, ECHO_PORT).unwrap());
    let peer_port = net.add_port(seg, mac(9));
    let mut junk = vec![
        raw_ipv4(17, 1, false, 0, &[0, 7, 0, 7, 0, 3]), // UDP length below 8
        raw_ipv4(99, 2, false, 0, b"unknown protocol"), // protocol unreachable
        raw_ipv4(1, 3, false, 0, &[8, 0, 0, 0]),        // ICMP truncated
        raw_ipv4(17, 4, true, 0, &[0; 13]),             // fragment not a multiple of 8
    ];
    let mut bad_checksum = raw_ipv4(17, 5, false, 0, &[0; 8]);
    bad_checksum[24] ^= 0xff;
    junk.push(bad_checksum);
    let count = junk.len() as u64;
    let mut peer = RawHost { port: peer_port, outbox: junk, inbox: Vec::new() };
    settle(&mut net, &mut [&mut a, &mut peer], Duration::from_secs(1));
    let stats = a.iface.stats();
    assert_eq!(stats.rx_frames, count);
    assert_eq!(stats.drops(DropReason::UdpMalformed) + stats.drops(DropReason::UdpTruncated), 1);
    assert_eq!(stats.drops(DropReason::Ipv4UnknownProtocol), 1);
    assert_eq!(stats.drops(DropReason::IcmpTruncated), 1);
    assert_eq!(stats.drops(DropReason::FragmentMalformed), 1);
    assert_eq!(stats.drops(DropReason::Ipv4BadChecksum), 1);
    assert_eq!(stats.total_drops(), count, "each junk frame counted exactly once");
}

#[test]
fn runt_frames_are_counted() {
    // The simulated switch drops runts itself, so feed them to a device directly.
    let mut device = SimDevice::new(mac(1), 1500);
    let config = InterfaceConfig::new(mac(1), Ipv4Cidr::new(ip(1), 24).unwrap());
    let mut iface = Interface::new(config).unwrap();
    let mut sockets = SocketSet::default();
    for frame in [vec![], vec![0xff; 6], vec![0xff; 13]] {
        device.inject(frame);
    }
    // A tagged frame whose tag is cut short.
    let mut tagged = vec![0xff; 12];
    tagged.extend_from_slice(&[0x81, 0x00, 0x00]);
    device.inject(tagged);
    iface.poll(Instant::ZERO, &mut device, &mut sockets);
    assert_eq!(iface.stats().rx_frames, 4);
    assert_eq!(iface.stats().drops(DropReason::EthernetTruncated), 4);
}

#[test]
fn failed_resolution_reports_host_unreachable() {
    let mut net = Network::new(15);
    let seg = net.add_segment(LinkConfig::default());
    let mut a = host(&mut net, seg, 1, |_| ());
    let sock = a.sockets.udp_socket(UdpConfig::default()).unwrap();
    a.sockets.send_to(sock, b"hello?", SocketAddrV4::new(ip(99), 7)).unwrap();
    settle(&mut net, &mut [&mut a], Duration::from_secs(10));
    // While the failure is remembered, sends fail at once without new requests.
    a.sockets.send_to(sock, b"still there?", SocketAddrV4::new(ip(99), 7)).unwrap();
    let requests = a.iface.stats().arp_requests_sent;
    let t = net.now();
    net.run_until(&mut [&mut a], t + Duration::from_millis(10), |_| false);
    assert_eq!(a.iface.stats().arp_requests_sent, requests);
    assert_eq!(a.sockets.take_error(sock).unwrap(), Some(SocketError::HostUnreachable(ip(99))));
    assert_eq!(a.iface.stats().drops(DropReason::ArpUnresolved), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random frames (valid Ethernet/IPv4 headers over random transports, and pure noise)
    /// never panic the interface, and each is either handled or counted.
    #[test]
    fn random_frames_never_panic(frames in proptest::collection::vec(
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..100),
            (any::<u8>(), any::<u16>(), any::<bool>(), 0u16..200, proptest::collection::vec(any::<u8>(), 0..100))
                .prop_map(|(p, id, mf, off, body)| raw_ipv4(p % 20, id, mf, off * 8, &body)),
        ], 1..30)) {
        let mut net = Network::new(14);
        let seg = net.add_segment(LinkConfig::default());
        let mut a = host(&mut net, seg, 1, |s| UdpEcho::bind(s, ECHO_PORT).unwrap());
        let peer_port = net.add_port(seg, mac(9));
        let mut peer = RawHost { port: peer_port, outbox: frames, inbox: Vec::new() };
        let delivered = peer.outbox.iter().filter(|f| f.len() >= 14 && f[..6] != mac(9).0).count() as u64;
        settle(&mut net, &mut [&mut a, &mut peer], Duration::from_secs(40));
        prop_assert_eq!(a.iface.stats().rx_frames, delivered);
    }
}

// ------------------------------------------------------------------ closed ports, raw frames

/// Host 10.0.0.1 on a device of its own (no announcements), knowing the peer 10.0.0.9
/// from an ARP request the peer sent, with `configure` applied to its interface.
struct Closed {
    device: SimDevice,
    iface: Interface,
    sockets: SocketSet,
}

impl Closed {
    fn new(configure: impl FnOnce(&mut InterfaceConfig)) -> Closed {
        let mut config = InterfaceConfig::new(mac(1), Ipv4Cidr::new(ip(1), 24).unwrap());
        config.announce = false;
        configure(&mut config);
        let mut host = Closed {
            device: SimDevice::new(mac(1), 1500),
            iface: Interface::new(config).unwrap(),
            sockets: SocketSet::default(),
        };
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&mac(9).0);
        arp.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        arp.extend_from_slice(&mac(9).0);
        arp.extend_from_slice(&ip(9).octets());
        arp.extend_from_slice(&[0; 6]);
        arp.extend_from_slice(&ip(1).octets());
        let replies = host.exchange(Instant::ZERO, vec![arp]);
        assert_eq!(replies.len(), 1, "the ARP request is answered");
        host
    }

    /// Delivers `frames` at `now` and returns every frame the host sent in answer.
    fn exchange(&mut self, now: Instant, frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        for frame in frames {
            assert!(self.device.inject(frame));
        }
        while self.device.rx_pending() > 0 {
            self.iface.poll(now, &mut self.device, &mut self.sockets);
        }
        std::iter::from_fn(|| self.device.take_transmitted()).collect()
    }
}

const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_PSH: u8 = 0x08;
const TCP_ACK: u8 = 0x10;

/// How a raw segment's checksum field is filled.
#[derive(Clone, Copy, PartialEq)]
enum Checksum {
    Valid,
    /// Only the pseudo-header sum, as a sender with TX checksum offload leaves it.
    PseudoHeaderOnly,
}

/// The checksum field for a TCP or UDP `segment` (its field zero) from 10.0.0.9 to 10.0.0.1.
fn transport_checksum(protocol: u8, segment: &[u8], checksum: Checksum) -> u16 {
    let len = segment.len() as u16;
    match checksum {
        Checksum::Valid => {
            !sluice_core::wire::checksum::pseudo_header_and_data(ip(9), ip(1), protocol, len, segment)
        }
        Checksum::PseudoHeaderOnly => sluice_core::wire::checksum::pseudo_header(ip(9), ip(1), protocol, len),
    }
}

/// A TCP segment from 10.0.0.9:40000 to 10.0.0.1:`port` in an Ethernet frame.
fn raw_tcp(port: u16, seq: u32, ack: u32, flags: u8, payload: &[u8], checksum: Checksum) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&40_000u16.to_be_bytes());
    segment.extend_from_slice(&port.to_be_bytes());
    segment.extend_from_slice(&seq.to_be_bytes());
    segment.extend_from_slice(&ack.to_be_bytes());
    segment.extend_from_slice(&[5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
    segment.extend_from_slice(payload);
    let field = transport_checksum(6, &segment, checksum);
    segment[16..18].copy_from_slice(&field.to_be_bytes());
    raw_ipv4(6, 7, false, 0, &segment)
}

/// A UDP datagram from 10.0.0.9:40000 to 10.0.0.1:`port` in an Ethernet frame.
fn raw_udp(port: u16, payload: &[u8], checksum: Checksum) -> Vec<u8> {
    let mut datagram = Vec::new();
    datagram.extend_from_slice(&40_000u16.to_be_bytes());
    datagram.extend_from_slice(&port.to_be_bytes());
    datagram.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    let field = transport_checksum(17, &datagram, checksum);
    datagram[6..8].copy_from_slice(&field.to_be_bytes());
    raw_ipv4(17, 8, false, 0, &datagram)
}

/// The IPv4 payload of an Ethernet frame from 10.0.0.1 to the peer 10.0.0.9, checked.
fn ip_payload_to_peer(frame: &[u8], protocol: u8) -> &[u8] {
    assert_eq!(&frame[0..6], &mac(9).0, "sent to the peer's MAC");
    assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4");
    let ip_header = &frame[14..34];
    assert_eq!(ip_header[9], protocol);
    assert_eq!(&ip_header[12..16], &ip(1).octets());
    assert_eq!(&ip_header[16..20], &ip(9).octets());
    assert_eq!(sluice_core::wire::checksum::data(ip_header), 0xffff, "IPv4 header checksum");
    &frame[34..]
}

/// (seq, ack, flags) of a RST from 10.0.0.1:`port` to 10.0.0.9:40000, its checksum verified.
fn rst_fields(frame: &[u8], port: u16) -> (u32, u32, u8) {
    let segment = ip_payload_to_peer(frame, 6);
    let sum =
        sluice_core::wire::checksum::pseudo_header_and_data(ip(1), ip(9), 6, segment.len() as u16, segment);
    assert_eq!(sum, 0xffff, "TCP checksum");
    assert_eq!(u16::from_be_bytes([segment[0], segment[1]]), port);
    assert_eq!(u16::from_be_bytes([segment[2], segment[3]]), 40_000);
    let word = |at: usize| u32::from_be_bytes(segment[at..at + 4].try_into().unwrap());
    (word(4), word(8), segment[13])
}

/// RFC 9293 §3.10.7.1: a segment to a port nobody listens on is answered with a RST:
/// without ACK, SEQ 0 and ACK = SEG.SEQ + SEG.LEN; with ACK, SEQ = SEG.ACK.
#[test]
fn segments_to_a_closed_port_are_answered_with_rst() {
    let mut host = Closed::new(|_| {});
    let t = Instant::from_secs(1);
    let syn = host.exchange(t, vec![raw_tcp(4444, 1000, 0, TCP_SYN, &[], Checksum::Valid)]);
    assert_eq!(syn.len(), 1, "one RST for the SYN");
    assert_eq!(rst_fields(&syn[0], 4444), (0, 1001, TCP_RST | TCP_ACK), "SYN counts one");

    let data = host.exchange(t, vec![raw_tcp(4444, 5000, 0, TCP_PSH, b"hello", Checksum::Valid)]);
    assert_eq!(rst_fields(&data[0], 4444), (0, 5005, TCP_RST | TCP_ACK));

    let ack = host.exchange(t, vec![raw_tcp(4444, 7000, 123_456, TCP_ACK, &[], Checksum::Valid)]);
    assert_eq!(rst_fields(&ack[0], 4444), (123_456, 0, TCP_RST));

    // RFC 9293 §3.10.7.1: a RST is never answered.
    let rst = host.exchange(t, vec![raw_tcp(4444, 7000, 0, TCP_RST, &[], Checksum::Valid)]);
    assert!(rst.is_empty());

    // The RST is counted by TCP alone (`no_listener`), the answered three by both.
    assert_eq!(host.iface.stats().drops(DropReason::TcpNoSocket), 3);
    assert_eq!(host.sockets.tcp_stats().no_listener, 4);
    assert_eq!(host.sockets.tcp_stats().resets_sent, 3);
    assert_eq!(host.iface.stats().drops(DropReason::TcpResetRateLimited), 0);
}

/// A flood of SYNs to a closed port is answered by a burst of RSTs, then at the configured
/// rate; the rest are counted as `tcp_reset_rate_limited`.
#[test]
fn rsts_for_closed_ports_are_rate_limited() {
    let mut host = Closed::new(|c| {
        c.resets_per_sec = 100;
        c.resets_burst = 10;
    });
    let t0 = Instant::from_secs(1);
    let flood = |n: u32| (0..n).map(|i| raw_tcp(4444, i, 0, TCP_SYN, &[], Checksum::Valid)).collect();
    let answered = host.exchange(t0, flood(200));
    assert_eq!(answered.len(), 10, "the burst");
    assert!(answered.iter().all(|f| rst_fields(f, 4444).2 == TCP_RST | TCP_ACK));
    assert_eq!(host.iface.stats().drops(DropReason::TcpResetRateLimited), 190);
    assert_eq!(host.iface.stats().drops(DropReason::TcpNoSocket), 200);
    // 100 per second: 5 tokens after 50 ms.
    let answered = host.exchange(t0 + Duration::from_millis(50), flood(20));
    assert_eq!(answered.len(), 5);
    assert_eq!(host.iface.stats().drops(DropReason::TcpResetRateLimited), 205);
    // The ICMP errors have a bucket of their own: a closed UDP port is still answered.
    let icmp = host.exchange(t0 + Duration::from_millis(50), vec![raw_udp(9, b"x", Checksum::Valid)]);
    assert_eq!(icmp.len(), 1);
}

/// RFC 1122 §4.1.3.1: a datagram to a closed UDP port is answered by ICMP port
/// unreachable (RFC 792: type 3, code 3) quoting the IP header and the first 8 bytes.
#[test]
fn a_datagram_to_a_closed_udp_port_gets_port_unreachable() {
    let mut host = Closed::new(|_| {});
    let datagram = raw_udp(9999, b"is anybody there?", Checksum::Valid);
    let answer = host.exchange(Instant::from_secs(1), vec![datagram.clone()]);
    assert_eq!(answer.len(), 1);
    let icmp = ip_payload_to_peer(&answer[0], 1);
    assert_eq!((icmp[0], icmp[1]), (3, 3), "destination unreachable, port unreachable");
    assert_eq!(sluice_core::wire::checksum::data(icmp), 0xffff, "ICMP checksum");
    assert_eq!(&icmp[8..], &datagram[14..14 + 20 + 8], "the original IP header and 8 bytes");
    let stats = host.iface.stats();
    assert_eq!((stats.icmp_errors_sent, stats.drops(DropReason::UdpNoSocket)), (1, 1));
}

/// A segment whose checksum field holds just the pseudo-header sum (a veth peer with TX
/// checksum offload on) is dropped under its own reason and never answered; a checksum
/// that is simply wrong stays `*_bad_checksum`.
#[test]
fn partial_checksums_are_told_apart_from_bad_ones() {
    let mut host = Closed::new(|_| {});
    let t = Instant::from_secs(1);
    let partial = vec![
        raw_tcp(4444, 1, 0, TCP_SYN, &[], Checksum::PseudoHeaderOnly),
        raw_tcp(4444, 1, 0, TCP_PSH, b"data", Checksum::PseudoHeaderOnly),
        raw_udp(9, b"datagram", Checksum::PseudoHeaderOnly),
    ];
    assert!(host.exchange(t, partial).is_empty(), "no RST, no ICMP error");
    assert_eq!(host.iface.stats().drops(DropReason::PartialChecksum), 3);

    let mut bad_tcp = raw_tcp(4444, 1, 0, TCP_SYN, &[], Checksum::Valid);
    bad_tcp[14 + 20 + 16] ^= 0x40;
    let mut bad_udp = raw_udp(9, b"datagram", Checksum::Valid);
    bad_udp[14 + 20 + 6] ^= 0x40;
    assert!(host.exchange(t, vec![bad_tcp, bad_udp]).is_empty());
    let stats = host.iface.stats();
    assert_eq!(stats.drops(DropReason::TcpBadChecksum), 1);
    assert_eq!(stats.drops(DropReason::UdpBadChecksum), 1);
    assert_eq!(stats.drops(DropReason::PartialChecksum), 3);
    assert_eq!(stats.total_drops(), 5);
}
