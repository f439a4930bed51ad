//! The BSD-style TCP API end to end in the simulator: accept queues, ephemeral ports,
//! readiness events, resets, TIME_WAIT reuse, many connections both ways.

use core::net::SocketAddrV4;

use sluice_core::iface::{DropReason, Interface, InterfaceConfig};
use sluice_core::sim::{Host, LinkConfig, Network, SegmentId, StackHost};
use sluice_core::socket::{Readiness, SocketError, SocketHandle, SocketSet, SocketSetConfig};
use sluice_core::tcp::{State, SynCookieMode, TcpConfig};
use sluice_core::time::Duration;
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn host(net: &mut Network, segment: SegmentId, n: u8, tcp: TcpConfig) -> StackHost<()> {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
    let port = net.add_port(segment, mac);
    let iface = Interface::new(InterfaceConfig::new(mac, Ipv4Cidr::new(ip(n), 24).unwrap())).unwrap();
    let mut secret = [7u8; 16];
    secret[0] = n;
    let sockets = SocketSet::new(SocketSetConfig {
        ephemeral_seed: u64::from(n) * 7919,
        secret,
        tcp,
        ..SocketSetConfig::default()
    });
    StackHost::new(port, iface, sockets, ())
}

fn pair(seed: u64) -> (Network, StackHost<()>, StackHost<()>) {
    let mut net = Network::new(seed);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
    let a = host(&mut net, seg, 1, TcpConfig::default());
    let b = host(&mut net, seg, 2, TcpConfig::default());
    (net, a, b)
}

fn run(net: &mut Network, a: &mut StackHost<()>, b: &mut StackHost<()>, time: Duration) {
    let deadline = net.now() + time;
    net.run_until(&mut [a as &mut dyn Host, b as &mut dyn Host], deadline, |_| false);
}

fn listen(host: &mut StackHost<()>, port: u16, backlog: usize) -> SocketHandle {
    let l = host.sockets.tcp_socket().unwrap();
    host.sockets.bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)).unwrap();
    host.sockets.listen(l, backlog).unwrap();
    l
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let (mut net, mut a, mut b) = pair(1);
    let c = a.sockets.tcp_socket().unwrap();
    a.sockets.connect(c, SocketAddrV4::new(ip(2), 4242), net.now()).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(50));
    assert_eq!(a.sockets.tcp_error(c).unwrap(), Some(SocketError::ConnectionRefused(ip(2))));
    assert_eq!(a.sockets.connection(c).unwrap().state(), State::Closed);
    assert_eq!(b.iface.stats().drops(DropReason::TcpNoSocket), 1);
    assert_eq!(b.sockets.tcp_stats().resets_sent, 1);
    let mut buf = [0u8; 4];
    assert_eq!(a.sockets.recv(c, &mut buf), Err(SocketError::ConnectionRefused(ip(2))));
}

#[test]
fn accept_queue_is_bounded_and_overflow_counted() {
    // With SYN cookies off, a full SYN queue drops SYNs (the peers retry); with cookies,
    // see tests/syn_cookies.rs.
    let mut net = Network::new(2);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
    let mut a = host(&mut net, seg, 1, TcpConfig::default());
    let mut b =
        host(&mut net, seg, 2, TcpConfig { syn_cookies: SynCookieMode::Never, ..TcpConfig::default() });
    let l = listen(&mut b, 80, 2);
    let clients: Vec<_> = (0..5)
        .map(|_| {
            let c = a.sockets.tcp_socket().unwrap();
            a.sockets.connect(c, SocketAddrV4::new(ip(2), 80), net.now()).unwrap();
            c
        })
        .collect();
    run(&mut net, &mut a, &mut b, Duration::from_millis(100));
    // Two fill the queue; the other SYNs are dropped (and retried by the clients).
    assert!(b.sockets.tcp_stats().syn_queue_overflows >= 3);
    let mut accepted = Vec::new();
    while let Ok((h, peer)) = b.sockets.accept(l) {
        assert_eq!(*peer.ip(), ip(1));
        accepted.push(h);
    }
    assert_eq!(accepted.len(), 2);
    // Accepting made room: the retried SYNs (after 1 s) get in.
    run(&mut net, &mut a, &mut b, Duration::from_secs(4));
    while let Ok((h, _)) = b.sockets.accept(l) {
        accepted.push(h);
    }
    assert_eq!(accepted.len(), 4, "two more after the first retry round");
    run(&mut net, &mut a, &mut b, Duration::from_secs(4));
    while let Ok((h, _)) = b.sockets.accept(l) {
        accepted.push(h);
    }
    assert_eq!(accepted.len(), 5);
    for c in clients {
        assert_eq!(a.sockets.connection(c).unwrap().state(), State::Established);
    }
    // The listener keeps listening: accept without pending connections would block.
    assert_eq!(b.sockets.accept(l).unwrap_err(), SocketError::WouldBlock);
}

#[test]
fn ephemeral_ports_never_collide() {
    let (mut net, mut a, mut b) = pair(3);
    let _l = listen(&mut b, 80, 512);
    let mut tuples = std::collections::HashSet::new();
    for _ in 0..300 {
        let c = a.sockets.tcp_socket().unwrap();
        a.sockets.connect(c, SocketAddrV4::new(ip(2), 80), net.now()).unwrap();
        let conn = a.sockets.connection(c).unwrap();
        assert!(tuples.insert((conn.local(), conn.remote())), "4-tuple reused while live");
    }
    run(&mut net, &mut a, &mut b, Duration::from_millis(200));
}

#[test]
fn readiness_events_follow_the_connection() {
    let (mut net, mut a, mut b) = pair(4);
    let l = listen(&mut b, 7, 8);
    let c = a.sockets.tcp_socket().unwrap();
    a.sockets.connect(c, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    let mut events = Vec::new();
    a.sockets.take_events(&mut events);
    assert!(events.iter().all(|(_, r)| !r.connected), "not connected before the handshake");
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    events.clear();
    a.sockets.take_events(&mut events);
    assert_eq!(
        events.last(),
        Some(&(c, Readiness { writable: true, connected: true, ..Readiness::default() }))
    );
    events.clear();
    b.sockets.take_events(&mut events);
    assert!(events.iter().any(|&(h, r)| h == l && r.readable), "listener readable: a connection to accept");
    let (s, _) = b.sockets.accept(l).unwrap();
    a.sockets.send(c, b"hello").unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    events.clear();
    b.sockets.take_events(&mut events);
    assert!(events.iter().any(|&(h, r)| h == s && r.readable));
    let mut buf = [0u8; 16];
    assert_eq!(b.sockets.recv(s, &mut buf).unwrap(), 5);
    a.sockets.shutdown_write(c).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    // Half-close: the server reads end of stream but can still write.
    assert_eq!(b.sockets.recv(s, &mut buf).unwrap(), 0);
    assert_eq!(b.sockets.connection(s).unwrap().state(), State::CloseWait);
    b.sockets.send(s, b"bye").unwrap();
    b.sockets.close(s).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    assert_eq!(a.sockets.recv(c, &mut buf).unwrap(), 3);
    assert_eq!(a.sockets.recv(c, &mut buf).unwrap(), 0);
    assert_eq!(a.sockets.connection(c).unwrap().state(), State::TimeWait);
    events.clear();
    a.sockets.take_events(&mut events);
    assert!(events.iter().any(|&(h, r)| h == c && r.closed && r.readable));
    // TIME_WAIT ends after 2 MSL and the client's block is freed once closed.
    a.sockets.close(c).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_secs(61));
    assert!(a.sockets.connection(c).is_err(), "the closed connection was freed");
    assert!(b.sockets.connection(s).is_err());
}

#[test]
fn linger_zero_close_resets_the_peer() {
    let (mut net, mut a, mut b) = pair(5);
    let l = listen(&mut b, 7, 8);
    let c = a.sockets.tcp_socket().unwrap();
    a.sockets.connect(c, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let (s, _) = b.sockets.accept(l).unwrap();
    a.sockets.set_linger_zero(c, true).unwrap();
    a.sockets.close(c).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let mut buf = [0u8; 4];
    assert_eq!(b.sockets.recv(s, &mut buf), Err(SocketError::ConnectionReset));
    assert_eq!(b.sockets.tcp_stats().resets_received, 1);
}

#[test]
fn time_wait_tuple_is_reused_by_a_newer_syn() {
    let (mut net, mut a, mut b) = pair(6);
    let l = listen(&mut b, 7, 8);
    // The server closes first, so the TIME_WAIT is on the server's side.
    let c = a.sockets.tcp_socket().unwrap();
    a.sockets.bind(c, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 40000)).unwrap();
    a.sockets.connect(c, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let (s, _) = b.sockets.accept(l).unwrap();
    b.sockets.close(s).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    a.sockets.close(c).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    assert_eq!(b.sockets.tcp_stats().time_wait_reused, 0);
    // The client's side is freed at once (it closed second), so the same port can
    // connect again while the server still holds the 4-tuple in TIME_WAIT.
    let again = a.sockets.tcp_socket().unwrap();
    a.sockets.bind(again, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 40000)).unwrap();
    a.sockets.connect(again, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    assert_eq!(b.sockets.tcp_stats().time_wait_reused, 1);
    assert_eq!(a.sockets.connection(again).unwrap().state(), State::Established);
    assert!(b.sockets.accept(l).is_ok());
}

#[test]
fn time_wait_reuse_leaves_the_old_descriptor_alone() {
    // Found by the tcp_stateful fuzz target. The server's application shut down writing
    // but still holds its descriptor when the 4-tuple in TIME_WAIT is taken by a new SYN:
    // the old descriptor must stay a closed connection, not become the new one (its slot
    // was freed and handed to the new connection, so reads and writes on the old
    // descriptor went to another peer's connection), closing it later must not unlink the
    // new connection, and the new ISS must lie beyond everything the old incarnation sent
    // (RFC 1122 §4.2.2.13), which at the same instant the RFC 6528 clock does not ensure.
    let (mut net, mut a, mut b) = pair(8);
    let l = listen(&mut b, 7, 8);
    let c = a.sockets.tcp_socket().unwrap();
    a.sockets.bind(c, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 40000)).unwrap();
    a.sockets.connect(c, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let (s, _) = b.sockets.accept(l).unwrap();
    assert_eq!(b.sockets.send(s, &[7u8; 50_000]), Ok(50_000));
    run(&mut net, &mut a, &mut b, Duration::from_millis(100));
    b.sockets.shutdown_write(s).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let mut sink = vec![0u8; 65_536];
    assert_eq!(a.sockets.recv(c, &mut sink), Ok(50_000));
    a.sockets.close(c).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let old = b.sockets.connection(s).unwrap().seq_snapshot();
    assert_eq!(old.state, State::TimeWait);

    let again = a.sockets.tcp_socket().unwrap();
    a.sockets.bind(again, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 40000)).unwrap();
    a.sockets.connect(again, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    assert_eq!(b.sockets.tcp_stats().time_wait_reused, 1);
    let (new, _) = b.sockets.accept(l).unwrap();
    assert_ne!(new, s, "the new connection took the descriptor the application still holds");
    assert_eq!(b.sockets.connection(s).unwrap().state(), State::Closed);
    let iss = b.sockets.connection(new).unwrap().seq_snapshot().iss;
    assert!(
        iss.gt(old.snd_max),
        "new ISS {} within the old incarnation's sequence space (to {})",
        iss.0,
        old.snd_max.0
    );

    b.sockets.close(s).unwrap();
    assert_eq!(a.sockets.send(again, b"hi"), Ok(2));
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let mut buf = [0u8; 4];
    assert_eq!(b.sockets.recv(new, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"hi");
}

#[test]
fn many_connections_both_directions() {
    let mut net = Network::new(7);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_millis(1)).with_loss(0.01));
    let small = TcpConfig { send_buffer: 16 * 1024, recv_buffer: 16 * 1024, ..TcpConfig::default() };
    let mut a = host(&mut net, seg, 1, small);
    let mut b = host(&mut net, seg, 2, small);
    let la = listen(&mut a, 9000, 128);
    let lb = listen(&mut b, 9000, 128);
    let n = 40;
    let mut streams = Vec::new();
    for i in 0..n {
        let (from_a, client) = if i % 2 == 0 {
            (true, a.sockets.tcp_socket().unwrap())
        } else {
            (false, b.sockets.tcp_socket().unwrap())
        };
        let (host, dst) = if from_a { (&mut a, ip(2)) } else { (&mut b, ip(1)) };
        host.sockets.connect(client, SocketAddrV4::new(dst, 9000), net.now()).unwrap();
        let payload: Vec<u8> = (0..20_000u32).map(|j| (j as u8) ^ (i as u8)).collect();
        streams.push((from_a, client, payload, 0usize));
    }
    let mut received: Vec<(bool, SocketHandle, Vec<u8>, bool)> = Vec::new();
    let deadline = net.now() + Duration::from_secs(120);
    let mut buf = vec![0u8; 8192];
    while net.now() < deadline {
        for (from_a, client, payload, sent) in streams.iter_mut() {
            let host = if *from_a { &mut a } else { &mut b };
            if *sent < payload.len() {
                if let Ok(k) = host.sockets.send(*client, &payload[*sent..]) {
                    *sent += k;
                    if *sent == payload.len() {
                        host.sockets.shutdown_write(*client).unwrap();
                    }
                }
            }
        }
        while let Ok((h, _)) = b.sockets.accept(lb) {
            received.push((true, h, Vec::new(), false));
        }
        while let Ok((h, _)) = a.sockets.accept(la) {
            received.push((false, h, Vec::new(), false));
        }
        for (to_b, h, data, done) in received.iter_mut() {
            let host = if *to_b { &mut b } else { &mut a };
            while !*done {
                match host.sockets.recv(*h, &mut buf) {
                    Ok(0) => *done = true,
                    Ok(k) => data.extend_from_slice(&buf[..k]),
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("recv: {e}"),
                }
            }
        }
        if received.len() == n && received.iter().all(|r| r.3) {
            break;
        }
        net.step(&mut [&mut a, &mut b]);
    }
    assert_eq!(received.len(), n);
    let mut got: Vec<Vec<u8>> = received
        .into_iter()
        .map(|r| {
            assert!(r.3, "stream finished");
            r.2
        })
        .collect();
    let mut want: Vec<Vec<u8>> = streams.into_iter().map(|s| s.2).collect();
    got.sort();
    want.sort();
    assert!(got == want, "every stream arrived intact");
}

#[test]
fn buffer_sizes_set_before_connect_shape_the_window() {
    let (mut net, mut a, mut b) = pair(8);
    let l = listen(&mut b, 7, 8);
    let c = a.sockets.tcp_socket().unwrap();
    a.sockets.set_buffer_sizes(c, 8192, 4096).unwrap();
    a.sockets.connect(c, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    assert_eq!(a.sockets.set_buffer_sizes(c, 1, 1), Err(SocketError::AlreadyConnected(c)));
    run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    let (s, _) = b.sockets.accept(l).unwrap();
    // The server may send no more than the client's 4 KiB receive buffer before it reads.
    let big = vec![7u8; 100_000];
    let mut sent = 0;
    for _ in 0..10 {
        if let Ok(n) = b.sockets.send(s, &big[sent..]) {
            sent += n;
        }
        run(&mut net, &mut a, &mut b, Duration::from_millis(10));
    }
    // Sender SWS avoidance holds the last partial segment until its override timer.
    run(&mut net, &mut a, &mut b, Duration::from_secs(2));
    assert_eq!(a.sockets.connection(c).unwrap().queued().1, 4096, "exactly the receive buffer");
    assert!(b.sockets.connection(s).unwrap().queued().0 > 0, "the rest waits at the sender");
}
