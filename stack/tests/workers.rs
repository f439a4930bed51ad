//! The workers over an in-memory multi-queue link: the event API, the blocking API,
//! handoff of frames that land on the wrong queue, and port registration.

use core::net::SocketAddrV4;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice::apps::{TcpService, TcpServiceKind, UdpEchoService};
use sluice::iface::InterfaceConfig;
use sluice::socket::Transport;
use sluice::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};
use sluice::worker::{
    Handler, MemoryDevice, MemoryWire, NoHandler, PollMode, PortFilter, Runtime, RuntimeConfig, TcpListener,
    TcpStream, UdpSocket,
};

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn config(n: u8) -> RuntimeConfig {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
    let mut config = RuntimeConfig::new(InterfaceConfig::new(mac, Ipv4Cidr::new(ip(n), 24).unwrap()));
    config.sockets.secret[0] = n;
    config.sockets.ephemeral_seed = u64::from(n) * 7919;
    // Tests share two cores: sleep when idle instead of spinning.
    config.poll = PollMode::Adaptive { spin: sluice::time::Duration::from_micros(50) };
    config
}

fn start<H: Handler + 'static>(
    n: u8,
    devices: Vec<MemoryDevice>,
    handler: impl FnMut(usize) -> H,
) -> Runtime {
    Runtime::start(config(n), devices, handler).expect("runtime starts")
}

/// Deterministic bytes for connection `id`.
fn pattern(id: usize, len: usize) -> Vec<u8> {
    let mut state = (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Writes `data` from one thread while reading the echo in this one.
fn echo_round_trip(mut stream: TcpStream, data: Vec<u8>) -> Vec<u8> {
    let mut writer = stream.try_clone().unwrap();
    let len = data.len();
    let sender = std::thread::spawn(move || {
        for chunk in data.chunks(16 * 1024) {
            writer.write_all(chunk).unwrap();
        }
        writer.shutdown_write().unwrap();
    });
    let mut echoed = Vec::with_capacity(len);
    stream.read_to_end(&mut echoed).unwrap();
    sender.join().unwrap();
    echoed
}

fn echo_many(server_queues: usize, client_queues: usize, connections: usize, size: usize) {
    let started = std::time::Instant::now();
    let (server_devices, client_devices) = MemoryWire::pair(server_queues, client_queues);
    let server = start(1, server_devices, |_| TcpService::new(TcpServiceKind::Echo, 7));
    let client = start(2, client_devices, |_| NoHandler);
    let rt = client.handle();
    let threads: Vec<_> = (0..connections)
        .map(|id| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                let stream = TcpStream::connect(&rt, SocketAddrV4::new(ip(1), 7)).unwrap();
                let data = pattern(id, size + id * 997);
                let echoed = echo_round_trip(stream, data.clone());
                assert!(echoed == data, "connection {id}: echo differs");
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let handed: u64 = client.handle().inspect(|view| view.iface.stats().handed_in).iter().sum();
    assert!(client_queues == 1 || handed > 0, "some replies landed on the other queue and were handed over");
    // The loop's busy time: positive once it has worked, and never more than it has run.
    for (busy, iterations, idle) in
        server.handle().inspect(|view| (view.busy, view.iterations, view.idle_iterations))
    {
        assert!(iterations > idle, "the server loop did some work ({iterations} iterations, {idle} idle)");
        assert!(busy > Duration::ZERO && busy < started.elapsed(), "busy {busy:?}");
    }
    drop(client);
    drop(server);
}

#[test]
fn one_connection_on_one_queue_echoes_its_data_intact() {
    echo_many(1, 1, 1, 200_000);
}

/// Found by this test: the echo service filled a send buffer and waited for "writable",
/// but the acknowledgement that freed it arrived before the full buffer was reported,
/// so the readiness looked unchanged and no event came.
#[test]
fn several_connections_on_one_queue_get_writable_events_after_filling_the_send_buffer() {
    echo_many(1, 1, 8, 64 * 1024);
}

#[test]
fn many_connections_across_two_queues_echo_their_data_intact() {
    echo_many(2, 2, 24, 64 * 1024);
}

/// A kernel peer may move a flow to another transmit queue mid-connection, so some of a
/// passive connection's segments reach the worker without it. Before the shared flow
/// directory, that worker answered them with resets.
#[test]
fn segments_that_reach_the_wrong_worker_find_their_connection() {
    // Every 7th frame the client sends goes to the server's other queue.
    let (client_devices, server_devices) = MemoryWire::pair_scattered(1, 2, 7);
    let server = start(1, server_devices, |_| TcpService::new(TcpServiceKind::Echo, 7));
    let client = start(2, client_devices, |_| NoHandler);
    let rt = client.handle();
    let threads: Vec<_> = (0..8)
        .map(|id| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                let stream = TcpStream::connect(&rt, SocketAddrV4::new(ip(1), 7)).unwrap();
                let data = pattern(id, 100_000);
                assert!(echo_round_trip(stream, data.clone()) == data, "connection {id}: echo differs");
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // Every connection finished its echo intact (without the directory they were reset
    // mid-transfer). A stray segment overtaken by the close may still meet a reset once the
    // connection is gone, as in any TCP.
    let handed: u64 = server.handle().inspect(|view| view.iface.stats().handed_off).iter().sum();
    assert!(handed > 0, "stray segments were handed to their owner");
}

#[test]
fn blocking_listener_accepts_and_both_sides_see_end_of_stream() {
    let (server_devices, client_devices) = MemoryWire::pair(2, 1);
    let server = start(1, server_devices, |_| NoHandler);
    let client = start(2, client_devices, |_| NoHandler);
    let listener =
        TcpListener::bind(&server.handle(), SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000), 64).unwrap();
    let rt = client.handle();
    let connector = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&rt, SocketAddrV4::new(ip(1), 5000)).unwrap();
        stream.write_all(b"hello over sluice").unwrap();
        stream.shutdown_write().unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    });
    let (mut stream, peer) = listener.accept().unwrap();
    assert_eq!(*peer.ip(), ip(2));
    let mut request = String::new();
    stream.read_to_string(&mut request).unwrap();
    assert_eq!(request, "hello over sluice");
    stream.write_all(b"and back").unwrap();
    drop(stream);
    assert_eq!(connector.join().unwrap(), "and back");
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let (server_devices, client_devices) = MemoryWire::pair(1, 1);
    let _server = start(1, server_devices, |_| NoHandler);
    let client = start(2, client_devices, |_| NoHandler);
    let err = TcpStream::connect(&client.handle(), SocketAddrV4::new(ip(1), 4444)).err().expect("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn udp_echo_service_answers_a_blocking_udp_socket() {
    let (server_devices, client_devices) = MemoryWire::pair(2, 2);
    let _server = start(1, server_devices, |_| UdpEchoService::new(7));
    let client = start(2, client_devices, |_| NoHandler);
    let socket = UdpSocket::bind(&client.handle(), SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let mut buf = [0u8; 2048];
    for round in 0..20u8 {
        let datagram = vec![round; 100 + usize::from(round)];
        socket.send_to(&datagram, SocketAddrV4::new(ip(1), 7)).unwrap();
        let (n, from) = socket.recv_from_timeout(&mut buf, std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(from, SocketAddrV4::new(ip(1), 7));
        assert_eq!(&buf[..n], &datagram[..]);
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(Transport, u16, bool)>>);

impl PortFilter for Recorder {
    fn set_port(&self, transport: Transport, port: u16, open: bool) -> Result<(), String> {
        self.0.lock().unwrap().push((transport, port, open));
        Ok(())
    }
}

#[test]
fn ports_in_use_are_registered_and_withdrawn() {
    let (server_devices, client_devices) = MemoryWire::pair(2, 1);
    let recorder = Arc::new(Recorder::default());
    let mut server_config = config(1);
    server_config.ports = Some(recorder.clone());
    let server =
        Runtime::start(server_config, server_devices, |_| TcpService::new(TcpServiceKind::Echo, 7)).unwrap();
    assert_eq!(server.handle().registered_ports(), [(Transport::Tcp, 7)]);
    assert_eq!(*recorder.0.lock().unwrap(), [(Transport::Tcp, 7, true)], "once, though two workers listen");

    let recorder = Arc::new(Recorder::default());
    let mut client_config = config(2);
    client_config.ports = Some(recorder.clone());
    let client = Runtime::start(client_config, client_devices, |_| NoHandler).unwrap();
    let udp = UdpSocket::bind(&client.handle(), SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5353)).unwrap();
    let stream = TcpStream::connect(&client.handle(), SocketAddrV4::new(ip(1), 7)).unwrap();
    let ports = client.handle().registered_ports();
    assert!(ports.contains(&(Transport::Udp, 5353)));
    let tcp: Vec<u16> = ports.iter().filter(|p| p.0 == Transport::Tcp).map(|p| p.1).collect();
    assert_eq!(tcp.len(), 1, "the active open's ephemeral port: {ports:?}");
    assert!(tcp[0] >= sluice::socket::EPHEMERAL_FIRST);
    drop(udp);
    drop(stream);
    // The UDP port goes at once; the TCP port when the connection is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while client.handle().registered_ports().contains(&(Transport::Udp, 5353)) {
        assert!(std::time::Instant::now() < deadline, "UDP port withdrawn");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(recorder.0.lock().unwrap().contains(&(Transport::Udp, 5353, false)));
    drop(server);
}

#[test]
fn a_handler_that_cannot_listen_fails_the_start() {
    let (devices, _other) = MemoryWire::pair(2, 1);
    struct Twice;
    impl Handler for Twice {
        fn start(&mut self, ctx: &mut sluice::worker::Ctx<'_>) -> Result<(), sluice::socket::SocketError> {
            ctx.listen(80, 8)?;
            ctx.listen(80, 8).map(|_| ())
        }
        fn on_readable(&mut self, _ctx: &mut sluice::worker::Ctx<'_>, _conn: sluice::socket::SocketHandle) {}
    }
    let err = Runtime::start(config(1), devices, |_| Twice).err().expect("start fails");
    assert!(err.to_string().contains("already in use"), "{err}");
}

/// Found by the open-loop latency benchmark: without TCP_NODELAY the echo's response
/// waited for the ACK of the previous one, which rode on the client's next request, a
/// whole request interval later.
#[test]
fn the_echo_service_answers_without_nagle() {
    let (server_devices, client_devices) = MemoryWire::pair(1, 1);
    let server = start(1, server_devices, |_| TcpService::new(TcpServiceKind::Echo, 7));
    let client = start(2, client_devices, |_| NoHandler);
    let mut stream = TcpStream::connect(&client.handle(), SocketAddrV4::new(ip(1), 7)).unwrap();
    stream.write_all(b"ping").unwrap();
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).unwrap();
    let nodelay: Vec<bool> = server
        .handle()
        .inspect(|view| {
            view.sockets
                .iter()
                .filter_map(|(handle, _)| view.sockets.connection(handle).ok().map(|c| c.config().nodelay))
                .collect::<Vec<_>>()
        })
        .concat();
    assert_eq!(nodelay, [true], "the accepted connection has TCP_NODELAY");
}

/// Slowloris: a head that is still incomplete after the request-head timeout is closed,
/// although bytes keep arriving; a connection idle after its response is closed after
/// the keep-alive timeout; a polite request in between is answered.
#[test]
fn http_echo_closes_slow_heads_and_idle_keepalive_connections() {
    use sluice::apps::http::{HttpEchoConfig, HttpTimeouts};
    use sluice::apps::HttpEchoService;
    use std::time::{Duration, Instant};
    let timeouts = HttpTimeouts {
        request_head: Duration::from_millis(400),
        keepalive: Duration::from_millis(700),
        ..HttpTimeouts::DEFAULT
    };
    let (server_devices, client_devices) = MemoryWire::pair(1, 1);
    let _server =
        start(1, server_devices, |_| HttpEchoService::with_timeouts(80, HttpEchoConfig::default(), timeouts));
    let client = start(2, client_devices, |_| NoHandler);

    let mut slow = TcpStream::connect(&client.handle(), SocketAddrV4::new(ip(1), 80)).unwrap();
    let started = Instant::now();
    let mut reader = slow.try_clone().unwrap();
    let watcher = std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        (rest, started.elapsed())
    });
    for byte in b"GET / HTTP/1.1\r\nHost: x\r\n".iter().cycle().take(40) {
        if slow.write_all(&[*byte]).is_err() || watcher.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (rest, closed_after) = watcher.join().unwrap();
    assert!(rest.is_empty(), "no response to an unfinished head");
    assert!(
        // The server's deadline starts at its accept, a little before this side's clock.
        closed_after >= Duration::from_millis(300),
        "closed only after the head timeout: {closed_after:?}"
    );
    assert!(closed_after < Duration::from_millis(1900), "closed by the head timeout: {closed_after:?}");

    let mut idle = TcpStream::connect(&client.handle(), SocketAddrV4::new(ip(1), 80)).unwrap();
    idle.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let answered = Instant::now();
    let mut response = Vec::new();
    let _ = idle.read_to_end(&mut response);
    let idle_for = answered.elapsed();
    assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&response));
    assert!(response.ends_with(b"GET /a\n"));
    assert!(idle_for >= Duration::from_millis(500), "kept alive until the keep-alive timeout: {idle_for:?}");
    assert!(idle_for < Duration::from_millis(2500), "closed by the keep-alive timeout: {idle_for:?}");
}
