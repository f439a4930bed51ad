//! The HTTP echo service's lingering close on the simulator (virtual time): after a
//! response it closes on (an error, `Connection: close`), the server sends a FIN and
//! keeps reading and dropping what the client still sends, so pipelined bytes cannot make
//! its TCP reset the connection and destroy the response.

use core::net::SocketAddrV4;

use sluice_core::apps::http::{HttpEchoConfig, HttpEchoConnection, HttpTimeouts};
use sluice_core::apps::Handler;
use sluice_core::apps::HttpEchoService;
use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::sim::{Host, LinkConfig, Network, SegmentId, StackHost};
use sluice_core::socket::{SocketError, SocketHandle, SocketSet, SocketSetConfig};
use sluice_core::tcp::TcpConfig;
use sluice_core::time::Duration;
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

const PORT: u16 = 80;

type Server = StackHost<HttpEchoService>;
type Client = StackHost<()>;

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn sockets(n: u8, tcp: TcpConfig) -> SocketSet {
    let mut secret = [7u8; 16];
    secret[0] = n;
    SocketSet::new(SocketSetConfig {
        ephemeral_seed: u64::from(n) * 7919,
        secret,
        tcp,
        ..SocketSetConfig::default()
    })
}

fn iface(net: &mut Network, segment: SegmentId, n: u8) -> (sluice_core::sim::PortId, Interface) {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
    let port = net.add_port(segment, mac);
    let iface = Interface::new(InterfaceConfig::new(mac, Ipv4Cidr::new(ip(n), 24).unwrap())).unwrap();
    (port, iface)
}

/// A server with small TCP buffers (so responses back up quickly) and a client.
fn lab(timeouts: HttpTimeouts, client_recv_buffer: usize) -> (Network, Client, Server) {
    let mut net = Network::new(9);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
    let (port, client_iface) = iface(&mut net, seg, 1);
    let client_tcp = TcpConfig { recv_buffer: client_recv_buffer, ..TcpConfig::default() };
    let client = StackHost::new(port, client_iface, sockets(1, client_tcp), ());
    let (port, server_iface) = iface(&mut net, seg, 2);
    let server_tcp = TcpConfig { send_buffer: SERVER_SEND_BUFFER, recv_buffer: 4096, ..TcpConfig::default() };
    let app = HttpEchoService::with_timeouts(PORT, HttpEchoConfig::default(), timeouts);
    let server = StackHost::new(port, server_iface, sockets(2, server_tcp), app);
    (net, client, server)
}

fn run(net: &mut Network, client: &mut Client, server: &mut Server, time: Duration) {
    let deadline = net.now() + time;
    net.run_until(&mut [client as &mut dyn Host, server as &mut dyn Host], deadline, |_| false);
}

fn connect(net: &mut Network, client: &mut Client, server: &mut Server) -> SocketHandle {
    let conn = client.sockets.tcp_socket().unwrap();
    client.sockets.connect(conn, SocketAddrV4::new(ip(2), PORT), net.now()).unwrap();
    run(net, client, server, Duration::from_millis(10));
    conn
}

/// Sends all of `data`, running the network while the send buffer is full.
fn send_all(net: &mut Network, client: &mut Client, server: &mut Server, conn: SocketHandle, data: &[u8]) {
    let mut sent = 0;
    while sent < data.len() {
        match client.sockets.send(conn, &data[sent..]) {
            Ok(n) => sent += n,
            Err(SocketError::WouldBlock) => {}
            Err(err) => panic!("send failed after {sent} bytes: {err}"),
        }
        run(net, client, server, Duration::from_millis(1));
    }
}

/// Reads until end of stream (`Ok`) or an error (`Err` with what came before it).
fn read_to_end(
    net: &mut Network,
    client: &mut Client,
    server: &mut Server,
    conn: SocketHandle,
    limit: Duration,
) -> Result<Vec<u8>, (SocketError, Vec<u8>)> {
    let deadline = net.now() + limit;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while net.now() < deadline {
        match client.sockets.recv(conn, &mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(SocketError::WouldBlock) => run(net, client, server, Duration::from_millis(1)),
            Err(err) => return Err((err, received)),
        }
    }
    panic!("no end of stream within {limit:?}; got {} bytes", received.len());
}

fn post(body_len: usize) -> Vec<u8> {
    let mut request =
        format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {body_len}\r\n\r\n").into_bytes();
    request.extend(std::iter::repeat_n(b'e', body_len));
    request
}

/// RFC 9112 §3.2: an HTTP/1.1 request without Host gets 400.
const BAD_REQUEST: &[u8] = b"GET /bad HTTP/1.1\r\n\r\n";
const PIPELINED: &[u8] = b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n";

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

/// The length of the server's answer to `request` alone.
fn answer_len(request: &[u8]) -> usize {
    let mut http = HttpEchoConnection::new(HttpEchoConfig::default());
    assert_eq!(http.on_bytes(request), request.len());
    http.output().len()
}

/// Server send buffer plus client receive buffer: what the server's TCP takes of its
/// answers before the client reads.
const SERVER_SEND_BUFFER: usize = 4096;
const CLIENT_RECV_BUFFER: usize = 2048;

/// The client, not reading, sends an echo request whose answer nearly fills the TCP
/// buffers of both sides, and a bad request: the server parses it at once, but its 400
/// fits only partly, so the end waits in the server. Then the client sends one more
/// request, and finally reads. It must get the echo, the whole 400 and a FIN: the later
/// bytes must be read and dropped, not left unread for the close to answer with a RST
/// that throws the unsent end of the 400 away. The echo's size is swept over the width
/// of a 400 so that some run leaves the 400 cut at each point.
#[test]
fn bytes_pipelined_after_a_bad_request_do_not_reset_the_response() {
    let room = SERVER_SEND_BUFFER + CLIENT_RECV_BUFFER;
    let bad_len = answer_len(BAD_REQUEST);
    let head_len = answer_len(&post(1000)) - 1000;
    for short_by in (1..bad_len + 40).step_by(7) {
        let body = room - short_by - head_len;
        let (mut net, mut client, mut server) = lab(HttpTimeouts::DEFAULT, CLIENT_RECV_BUFFER);
        let conn = connect(&mut net, &mut client, &mut server);
        let mut requests = post(body);
        requests.extend_from_slice(BAD_REQUEST);
        send_all(&mut net, &mut client, &mut server, conn, &requests);
        run(&mut net, &mut client, &mut server, Duration::from_millis(50));
        send_all(&mut net, &mut client, &mut server, conn, PIPELINED);
        run(&mut net, &mut client, &mut server, Duration::from_millis(50));

        let received = read_to_end(&mut net, &mut client, &mut server, conn, Duration::from_secs(5))
            .unwrap_or_else(|(err, got)| {
                panic!(
                    "echo {short_by} short of the buffers: {err} after {} of {} bytes",
                    got.len(),
                    head_len + body + bad_len
                )
            });
        assert_eq!(received.len(), head_len + body + bad_len, "echo {short_by} short of the buffers");
        assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(received[head_len + body..].starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        assert_eq!(count(&received, b"/after"), 0, "nothing after the bad request is answered");
        assert_eq!(server.sockets.tcp_stats().resets_sent, 0, "the server closed with a FIN, no RST");

        client.sockets.close(conn).unwrap();
        run(&mut net, &mut client, &mut server, Duration::from_millis(100));
        assert_eq!(server.handler.connections(), 0, "the client's FIN ends the lingering close");
        assert_eq!(server.sockets.tcp_stats().resets_sent, 0);
    }
}

fn short_lingering() -> HttpTimeouts {
    HttpTimeouts {
        lingering_time: Duration::from_secs(3),
        lingering_timeout: Duration::from_secs(1),
        ..HttpTimeouts::DEFAULT
    }
}

/// A client that neither reads to the end nor closes after a 400 holds the connection for
/// `lingering_timeout` only: then the server closes, counted as expired.
#[test]
fn a_silent_client_is_dropped_after_the_lingering_timeout() {
    let (mut net, mut client, mut server) = lab(short_lingering(), CLIENT_RECV_BUFFER);
    let conn = connect(&mut net, &mut client, &mut server);
    send_all(&mut net, &mut client, &mut server, conn, BAD_REQUEST);
    run(&mut net, &mut client, &mut server, Duration::from_millis(900));
    assert_eq!(server.handler.connections(), 1, "lingering, within lingering_timeout");
    assert_eq!(server.handler.timeout_counters.lingering_closes, 1);
    run(&mut net, &mut client, &mut server, Duration::from_millis(200));
    assert_eq!(server.handler.connections(), 0, "closed once lingering_timeout passed");
    assert_eq!(server.handler.timeout_counters.lingering_expired, 1);
    let mut counters = Vec::new();
    server.handler.counters(&mut counters);
    for expected in [("http_bad_request", 1), ("http_lingering_closes", 1), ("http_lingering_expired", 1)] {
        assert!(counters.contains(&expected), "{expected:?} in sluice stat's APP counters {counters:?}");
    }
    let mut buf = [0u8; 512];
    let n = client.sockets.recv(conn, &mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
}

/// A client that keeps sending after a 400 restarts `lingering_timeout` with every byte,
/// but cannot hold the connection past `lingering_time`.
#[test]
fn a_client_that_keeps_sending_is_dropped_after_the_lingering_time() {
    let (mut net, mut client, mut server) = lab(short_lingering(), CLIENT_RECV_BUFFER);
    let conn = connect(&mut net, &mut client, &mut server);
    send_all(&mut net, &mut client, &mut server, conn, BAD_REQUEST);
    let started = net.now();
    let mut closed_after = None;
    while net.now() < started + Duration::from_secs(5) {
        let _ = client.sockets.send(conn, b"x");
        run(&mut net, &mut client, &mut server, Duration::from_millis(500));
        if closed_after.is_none() && server.handler.connections() == 0 {
            closed_after = Some(net.now() - started);
        }
    }
    let closed_after = closed_after.expect("the server never ended the lingering close");
    assert!(
        closed_after > Duration::from_millis(2500) && closed_after <= Duration::from_millis(3500),
        "closed after {closed_after:?}, expected at lingering_time (3 s)"
    );
    assert_eq!(server.handler.timeout_counters.lingering_expired, 1);
}
