//! The limits on ACKs to invalid segments, between two whole Sluice stacks in the
//! simulator: the stack-wide challenge ACK budget keyed by the socket set's secret
//! (RFC 5961 §7, CVE-2016-5696), and the ACK loop two stacks whose views of one connection
//! disagree fall into unless ACKs to invalid segments are rate limited per connection
//! (`TcpConfig::invalid_ack_interval`, Linux `tcp_invalid_ratelimit`).
//!
//! The disagreement is the classic one of a hijack: a blind attacker injects data into the
//! server with the client's address and the right sequence numbers. The server takes it and
//! acknowledges bytes the client never sent; the client answers that ACK (RFC 5961 §5.2:
//! SEG.ACK > SND.MAX), its ACK carries a sequence number the server has already passed, so
//! the server answers it as out of the window (RFC 9293 §3.10.7.4), and so on, one round
//! trip after another, for as long as neither side limits its answers.

use core::net::SocketAddrV4;

use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::sim::{Host, LinkConfig, Network, PortId, SimDevice, StackHost};
use sluice_core::socket::{SocketSet, SocketSetConfig};
use sluice_core::tcp::{State, TcpConfig, TcpStats};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{
    ChecksumMode, EtherType, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Addr, Ipv4Cidr, Ipv4Packet,
    Ipv4Repr, TcpFlags, TcpPacket, TcpRepr,
};

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn mac(n: u8) -> sluice_core::wire::EthernetAddress {
    sluice_core::wire::EthernetAddress([0x02, 0, 0, 0, 0, n])
}

/// A stack host whose sent TCP frames the test sees (copies, as they leave).
struct Tapped {
    host: StackHost<()>,
    /// Every TCP frame sent: when, and its bytes.
    sent: Vec<(Instant, Vec<u8>)>,
}

impl Tapped {
    /// Host `n` (10.0.0.n), its stack keyed by a secret starting with `secret`.
    fn new(
        net: &mut Network,
        segment: sluice_core::sim::SegmentId,
        n: u8,
        secret: u8,
        tcp: TcpConfig,
    ) -> Tapped {
        let port = net.add_port(segment, mac(n));
        let iface = Interface::new(InterfaceConfig::new(mac(n), Ipv4Cidr::new(ip(n), 24).unwrap())).unwrap();
        let mut secret = [secret; 16];
        secret[0] = n;
        let sockets = SocketSet::new(SocketSetConfig {
            ephemeral_seed: u64::from(n) * 7919,
            secret,
            tcp,
            ..SocketSetConfig::default()
        });
        Tapped { host: StackHost::new(port, iface, sockets, ()), sent: Vec::new() }
    }

    fn sent_since(&self, t: Instant) -> usize {
        self.sent.iter().filter(|(at, _)| *at >= t).count()
    }

    fn stats(&self) -> &TcpStats {
        self.host.sockets.tcp_stats()
    }
}

impl Host for Tapped {
    fn port(&self) -> PortId {
        self.host.port()
    }

    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        let before = device.tx_pending();
        self.host.poll(now, device);
        for frame in device.queued().skip(before) {
            if with_tcp(frame, |_, _| ()).is_some() {
                self.sent.push((now, frame.to_vec()));
            }
        }
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.host.poll_at(now)
    }
}

/// `f` of the IPv4 and TCP headers of a TCP frame; `None` for any other frame.
fn with_tcp<R>(frame: &[u8], f: impl FnOnce(Ipv4Repr, TcpRepr<'_>) -> R) -> Option<R> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::Ipv4 {
        return None;
    }
    let packet = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let ip = Ipv4Repr::parse(&packet, ChecksumMode::Verify).ok()?;
    if ip.next_header != IpProtocol::Tcp {
        return None;
    }
    let tcp = TcpPacket::new_checked(packet.payload()).ok()?;
    let repr = TcpRepr::parse(&tcp, ip.src_addr, ip.dst_addr, ChecksumMode::Verify).ok()?;
    Some(f(ip, repr))
}

/// `frame` (a TCP segment) with its TCP header changed by `change`, checksums made anew:
/// what a blind attacker who knows the addresses (and maybe the sequence numbers) sends.
fn forge<'p>(frame: &[u8], change: impl FnOnce(TcpRepr<'_>) -> TcpRepr<'p>) -> Vec<u8> {
    let eth = EthernetRepr::parse(&EthernetFrame::new_checked(frame).unwrap()).unwrap();
    with_tcp(frame, |ip, tcp| {
        let tcp = change(tcp);
        let ip = Ipv4Repr { payload_len: tcp.buffer_len(), ..ip };
        let mut out = vec![0; eth.buffer_len() + 20 + ip.payload_len];
        let mut view = EthernetFrame::new_unchecked(&mut out[..]);
        eth.emit(&mut view);
        let mut packet = Ipv4Packet::new_unchecked(view.payload_mut());
        ip.emit(&mut packet);
        tcp.emit(&mut TcpPacket::new_unchecked(packet.payload_mut()), ip.src_addr, ip.dst_addr);
        out
    })
    .expect("a TCP frame")
}

struct Loop {
    /// Segments the client and the server sent in the three seconds after the injection.
    client_sent: usize,
    server_sent: usize,
    client: TcpStats,
    server: TcpStats,
}

/// A connection from the client (10.0.0.1) to the server (10.0.0.2), idle, then 100 bytes
/// injected into the server as if from the client; three simulated seconds later, what
/// each side sent.
fn desynchronize(tcp: TcpConfig) -> Loop {
    let mut net = Network::new(11);
    let segment = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
    let mut client = Tapped::new(&mut net, segment, 1, 3, tcp);
    let mut server = Tapped::new(&mut net, segment, 2, 3, tcp);
    let listener = server.host.sockets.tcp_socket().unwrap();
    server.host.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)).unwrap();
    server.host.sockets.listen(listener, 8).unwrap();
    let c = client.host.sockets.tcp_socket().unwrap();
    client.host.sockets.connect(c, SocketAddrV4::new(ip(2), 80), net.now()).unwrap();
    let deadline = net.now() + Duration::from_millis(100);
    net.run_until(&mut [&mut client as &mut dyn Host, &mut server], deadline, |_| false);
    let (s, _) = server.host.sockets.accept(listener).unwrap();
    assert_eq!(client.host.sockets.connection(c).unwrap().state(), State::Established);

    // The client's last segment (the handshake's ACK) carries its SND.NXT and the server's.
    let (_, last) = client.sent.last().unwrap();
    let payload = [b'x'; 100];
    let forged = forge(last, |tcp| TcpRepr { flags: tcp.flags | TcpFlags::PSH, payload: &payload, ..tcp });
    let injected_at = net.now();
    assert!(net.device(server.port()).inject(forged));
    let deadline = injected_at + Duration::from_secs(3);
    net.run_until(&mut [&mut client as &mut dyn Host, &mut server], deadline, |_| false);

    // The forged bytes were taken; both sides still think the connection is up.
    let mut buf = [0u8; 200];
    assert_eq!(server.host.sockets.recv(s, &mut buf), Ok(100));
    assert_eq!(client.host.sockets.connection(c).unwrap().state(), State::Established);
    assert_eq!(server.host.sockets.connection(s).unwrap().state(), State::Established);
    Loop {
        client_sent: client.sent_since(injected_at),
        server_sent: server.sent_since(injected_at),
        client: client.stats().clone(),
        server: server.stats().clone(),
    }
}

#[test]
fn desynchronized_stacks_ack_loop_without_the_limit() {
    // The loop is real: with the limit off, the two stacks ACK each other once per round
    // trip (400 µs) for the whole three seconds.
    let run = desynchronize(TcpConfig { invalid_ack_interval: Duration::ZERO, ..TcpConfig::default() });
    assert!(run.client_sent > 5000 && run.server_sent > 5000, "{} / {}", run.client_sent, run.server_sent);
    assert!(run.client.bad_acks > 5000, "the client answers ACKs of data it never sent");
    assert!(run.server.out_of_window > 5000, "the server answers segments it already passed");
}

#[test]
fn desynchronized_stacks_stay_bounded_with_the_limit() {
    // With the default limit (one ACK per 500 ms per connection to invalid segments), the
    // loop dies at the first answer that comes back within the interval.
    let run = desynchronize(TcpConfig::default());
    assert!(run.client_sent <= 3 && run.server_sent <= 3, "{} / {}", run.client_sent, run.server_sent);
    assert!(run.client.invalid_acks_limited + run.server.invalid_acks_limited >= 1);
    assert!(run.client.bad_acks + run.server.out_of_window <= 6);
}

/// A server with a challenge ACK limit of 40 a second, its stack keyed by `secret`, with 60
/// connections from the client; a forged SYN arrives for each of them within one second
/// (none over its own per-connection limit). Returns the server's challenge ACKs sent
/// and those the stack-wide budget held back.
fn challenge_acks_in_one_second(secret: u8) -> (u64, u64) {
    let tcp = TcpConfig { challenge_acks_per_sec: 40, ..TcpConfig::default() };
    let mut net = Network::new(5);
    let segment = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
    let mut client = Tapped::new(&mut net, segment, 1, 3, tcp);
    let mut server = Tapped::new(&mut net, segment, 2, secret, tcp);
    let listener = server.host.sockets.tcp_socket().unwrap();
    server.host.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)).unwrap();
    server.host.sockets.listen(listener, 128).unwrap();
    let ports: Vec<u16> = (0..60)
        .map(|_| {
            let c = client.host.sockets.tcp_socket().unwrap();
            client.host.sockets.connect(c, SocketAddrV4::new(ip(2), 80), net.now()).unwrap();
            c
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|c| client.host.sockets.connection(c).unwrap().local().port())
        .collect();
    let deadline = Instant::from_secs(2);
    net.run_until(&mut [&mut client as &mut dyn Host, &mut server], deadline, |_| false);
    assert_eq!(server.stats().established, 60);
    assert_eq!(server.stats().challenge_acks, 0);

    // Any frame the client sent gives the addresses; each SYN names one connection.
    let template = client.sent.last().unwrap().1.clone();
    for (i, &port) in ports.iter().enumerate() {
        let syn = forge(&template, |tcp| TcpRepr {
            src_port: port,
            flags: TcpFlags::SYN,
            seq_number: sluice_core::wire::SeqNumber(0x1234_5678u32.wrapping_mul(i as u32 + 1)),
            ack_number: sluice_core::wire::SeqNumber(0),
            options: Default::default(),
            payload: &[],
            ..tcp
        });
        assert!(net.device(server.port()).inject(syn));
        let deadline = net.now() + Duration::from_millis(10);
        net.run_until(&mut [&mut client as &mut dyn Host, &mut server], deadline, |_| false);
    }
    let stats = server.stats();
    assert_eq!(stats.challenge_acks_limited_connection, 0);
    assert_eq!(stats.challenge_acks + stats.challenge_acks_limited_global, 60);
    (stats.challenge_acks, stats.challenge_acks_limited_global)
}

#[test]
fn the_challenge_ack_budget_is_stack_wide_and_keyed_by_the_secret() {
    // RFC 5961 §7 and CVE-2016-5696: across connections the stack sends between half and
    // one and a half times its limit in a second, and how many depends on its secret.
    let sent: Vec<u64> = (1..=4).map(|secret| challenge_acks_in_one_second(secret).0).collect();
    assert!(sent.iter().all(|n| (20..60).contains(n)), "{sent:?}");
    assert!(sent.iter().any(|&n| n != sent[0]), "the budget ignores the secret: {sent:?}");
    assert_eq!(challenge_acks_in_one_second(2).0, sent[1], "one secret, one run");
}
