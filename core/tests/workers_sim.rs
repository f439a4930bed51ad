//! Several workers on one multi-queue port, on virtual time (`WorkersHost`): receive-side
//! scaling spreads the frames, the workers' steering hands frames to the worker that owns
//! them, and the services run as on the AF_XDP runtime.

use core::net::SocketAddrV4;
use std::collections::HashMap;

use sluice_core::apps::http::HttpEchoConfig;
use sluice_core::apps::{Ctx, Handler, HttpEchoService, TcpService, TcpServiceKind};
use sluice_core::iface::Interface;
use sluice_core::iface::InterfaceConfig;
use sluice_core::sim::{Host, LinkConfig, Network, StackHost, WorkersHost};
use sluice_core::socket::{SocketError, SocketHandle, SocketSet, SocketSetConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

const ECHO: u16 = 7;
const HTTP: u16 = 80;

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

fn iface_config(n: u8) -> InterfaceConfig {
    InterfaceConfig::new(mac(n), Ipv4Cidr::new(ip(n), 24).unwrap())
}

fn socket_config(n: u8) -> SocketSetConfig {
    let mut secret = [3u8; 16];
    secret[0] = n;
    SocketSetConfig { ephemeral_seed: u64::from(n) * 104_729, secret, ..SocketSetConfig::default() }
}

/// Opens `count` connections to the echo server from its worker, sends each a pattern
/// naming the worker and the connection, and checks every byte that comes back.
#[derive(Debug, Default)]
struct EchoClient {
    count: usize,
    len: usize,
    sent: HashMap<SocketHandle, Vec<u8>>,
    received: HashMap<SocketHandle, Vec<u8>>,
    verified: usize,
    errors: Vec<String>,
}

impl EchoClient {
    fn pattern(&self, worker: usize, conn: SocketHandle) -> Vec<u8> {
        let seed = format!("worker {worker} {conn} ");
        seed.bytes().cycle().take(self.len).collect()
    }
}

impl Handler for EchoClient {
    fn start(&mut self, ctx: &mut Ctx<'_>) -> Result<(), SocketError> {
        for _ in 0..self.count {
            let conn = ctx.connect(SocketAddrV4::new(ip(2), ECHO))?;
            self.received.insert(conn, Vec::new());
        }
        Ok(())
    }

    fn on_connected(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let data = self.pattern(ctx.worker(), conn);
        match ctx.send(conn, &data) {
            Ok(n) if n == data.len() => {}
            other => self.errors.push(format!("{conn}: send took {other:?} of {}", data.len())),
        }
        self.sent.insert(conn, data);
    }

    fn on_readable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let mut buf = [0u8; 2048];
        loop {
            match ctx.recv(conn, &mut buf) {
                Ok(0) | Err(SocketError::WouldBlock) => break,
                Ok(n) => self.received.entry(conn).or_default().extend_from_slice(&buf[..n]),
                Err(err) => {
                    self.errors.push(format!("{conn}: {err}"));
                    break;
                }
            }
        }
        let Some(sent) = self.sent.get(&conn) else { return };
        if self.received[&conn].len() == sent.len() {
            let sent = self.sent.remove(&conn).expect("looked up above");
            if self.received[&conn] == sent {
                self.verified += 1;
            } else {
                self.errors.push(format!("{conn}: the echo differs from what was sent"));
            }
            let _ = ctx.close(conn);
        }
    }
}

fn run_until(
    net: &mut Network,
    hosts: &mut [&mut dyn Host],
    limit: Duration,
    mut done: impl FnMut() -> bool,
) {
    let deadline = net.now() + limit;
    while net.now() < deadline && !done() {
        let step = (net.now() + Duration::from_millis(1)).min(deadline);
        net.run_until(hosts, step, |_| false);
    }
}

/// The reply to an active open lands on whichever queue the hash picks; steering hands it
/// to the worker whose ephemeral port it names, and every connection completes.
#[test]
fn replies_to_active_opens_are_handed_to_their_worker() {
    let mut net = Network::new(21);
    let lan = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(100)));
    let client_port = net.add_port(lan, mac(1));
    let server_port = net.add_port(lan, mac(2));
    let mut client = WorkersHost::new(client_port, 2, iface_config(1), socket_config(1), |_| EchoClient {
        count: 8,
        len: 6_000,
        ..EchoClient::default()
    })
    .unwrap();
    let server_iface = Interface::new(iface_config(2)).unwrap();
    let mut server = StackHost::new(
        server_port,
        server_iface,
        SocketSet::new(socket_config(2)),
        TcpService::new(TcpServiceKind::Echo, ECHO),
    );
    run_until(&mut net, &mut [&mut client, &mut server], Duration::from_secs(5), || false);
    for worker in &client.workers {
        let app = &worker.handler;
        assert!(app.errors.is_empty(), "worker {}: {:?}", worker.worker(), app.errors);
        assert_eq!(app.verified, 8, "worker {} verified every echo", worker.worker());
    }
    let counters = client.counters();
    assert!(counters.handed_off > 0, "some replies landed on the other worker's queue: {counters:?}");
    assert!(counters.received[0] > 0 && counters.received[1] > 0, "both queues received: {counters:?}");
    assert_eq!(server.handler.accepted, 16);
}

/// Passive opens stay where their SYN lands: the HTTP echo service serves on both
/// workers, each answering the connections the hash gave it.
#[test]
fn http_echo_serves_from_every_worker() {
    let mut net = Network::new(22);
    let lan = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(100)));
    let client_port = net.add_port(lan, mac(1));
    let server_port = net.add_port(lan, mac(2));
    let client_iface = Interface::new(iface_config(1)).unwrap();
    let mut client = StackHost::new(client_port, client_iface, SocketSet::new(socket_config(1)), ());
    let mut server = WorkersHost::new(server_port, 2, iface_config(2), socket_config(2), |_| {
        HttpEchoService::new(HTTP, HttpEchoConfig::default())
    })
    .unwrap();
    let conns: Vec<SocketHandle> = (0..16)
        .map(|_| {
            let conn = client.sockets.tcp_socket().unwrap();
            client.sockets.connect(conn, SocketAddrV4::new(ip(2), HTTP), Instant::ZERO).unwrap();
            conn
        })
        .collect();
    let established = |client: &StackHost<()>| {
        conns.iter().all(|&conn| client.sockets.connection(conn).is_ok_and(|c| c.is_established()))
    };
    run_until(&mut net, &mut [&mut client, &mut server], Duration::from_secs(2), || false);
    assert!(established(&client), "every connection is established");
    for &conn in &conns {
        let request = b"GET /hello HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n";
        assert_eq!(client.sockets.send(conn, request), Ok(request.len()));
    }
    let mut responses: HashMap<SocketHandle, Vec<u8>> = HashMap::new();
    let mut finished = 0;
    let deadline = net.now() + Duration::from_secs(5);
    while finished < conns.len() && net.now() < deadline {
        let step = net.now() + Duration::from_millis(1);
        net.run_until(&mut [&mut client, &mut server], step, |_| false);
        finished = 0;
        for &conn in &conns {
            let mut buf = [0u8; 4096];
            loop {
                match client.sockets.recv(conn, &mut buf) {
                    Ok(0) => {
                        finished += 1;
                        break;
                    }
                    Ok(n) => responses.entry(conn).or_default().extend_from_slice(&buf[..n]),
                    Err(_) => break,
                }
            }
        }
    }
    assert_eq!(finished, conns.len(), "every response ended with the server's close");
    for conn in &conns {
        let response = String::from_utf8_lossy(&responses[conn]).into_owned();
        assert!(response.starts_with("HTTP/1.1 200"), "{conn}: {response}");
    }
    let mut requests_by_worker = Vec::new();
    for worker in &server.workers {
        let mut counters = Vec::new();
        worker.handler.counters(&mut counters);
        let requests = counters.iter().find(|(name, _)| *name == "http_requests").map_or(0, |&(_, n)| n);
        requests_by_worker.push(requests);
    }
    assert_eq!(requests_by_worker.iter().sum::<u64>(), 16, "{requests_by_worker:?}");
    assert!(requests_by_worker.iter().all(|&n| n > 0), "both workers served: {requests_by_worker:?}");
}
