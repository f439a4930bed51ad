//! The TCP limits of a socket set (socket/tcp_limits.rs) between two whole stacks in the
//! simulator: TIME_WAIT capped with the oldest recycled, orphans bounded in number and in
//! time against a peer that stalls them with a zero window, and the buffer memory budget
//! (smaller buffers under pressure, then refusal).

use core::net::SocketAddrV4;

use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::sim::{Host, LinkConfig, Network, StackHost};
use sluice_core::socket::{SocketHandle, SocketSet, SocketSetConfig, TcpLimits};
use sluice_core::tcp::{State, TcpConfig};
use sluice_core::time::Duration;
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

const PORT: u16 = 80;

fn host(net: &mut Network, segment: sluice_core::sim::SegmentId, n: u8, limits: TcpLimits) -> StackHost<()> {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
    let port = net.add_port(segment, mac);
    let ip = Ipv4Addr::new(10, 0, 0, n);
    let iface = Interface::new(InterfaceConfig::new(mac, Ipv4Cidr::new(ip, 24).unwrap())).unwrap();
    let sockets = SocketSet::new(SocketSetConfig {
        ephemeral_seed: u64::from(n) * 31,
        secret: [n; 16],
        tcp_limits: limits,
        ..SocketSetConfig::default()
    });
    StackHost::new(port, iface, sockets, ())
}

struct Lab {
    net: Network,
    client: StackHost<()>,
    server: StackHost<()>,
    listener: SocketHandle,
}

impl Lab {
    fn new(server_limits: TcpLimits) -> Lab {
        let mut net = Network::new(11);
        let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
        let client = host(&mut net, seg, 1, TcpLimits::default());
        let mut server = host(&mut net, seg, 2, server_limits);
        let listener = server.sockets.tcp_socket().unwrap();
        server.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).unwrap();
        server.sockets.listen(listener, 1024).unwrap();
        Lab { net, client, server, listener }
    }

    fn run(&mut self, time: Duration) {
        let deadline = self.net.now() + time;
        let hosts: &mut [&mut dyn Host] = &mut [&mut self.client, &mut self.server];
        self.net.run_until(hosts, deadline, |_| false);
    }

    /// A client connection with `config`, and the server's side of it once accepted.
    fn connect(&mut self, config: TcpConfig) -> (SocketHandle, SocketHandle) {
        let c = self.client.sockets.tcp_socket_with(config).unwrap();
        let target = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), PORT);
        self.client.sockets.connect(c, target, self.net.now()).unwrap();
        self.run(Duration::from_millis(5));
        let (s, _) = self.server.sockets.accept(self.listener).expect("accepted");
        (c, s)
    }

    fn gauge(&self, name: &str) -> u64 {
        self.server.sockets.tcp_gauges().into_iter().find(|(n, _)| *n == name).unwrap().1
    }

    fn stat(&self, name: &str) -> u64 {
        self.server.sockets.tcp_stats().iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// A connection whose client never reads with a 4 KiB receive buffer; the server
    /// writes 64 KiB and closes: the close stalls in FIN-WAIT-1 behind the zero window.
    fn stalled_close(&mut self) -> (SocketHandle, SocketHandle) {
        let (c, s) = self.connect(TcpConfig { recv_buffer: 4096, ..TcpConfig::default() });
        let sent = self.server.sockets.send(s, &vec![7u8; 64 * 1024]).unwrap();
        assert_eq!(sent, 64 * 1024);
        self.run(Duration::from_millis(50));
        self.server.sockets.close(s).unwrap();
        self.run(Duration::from_millis(50));
        (c, s)
    }
}

#[test]
fn time_wait_is_capped_and_the_oldest_recycled() {
    let mut lab = Lab::new(TcpLimits { max_time_wait: 3, ..TcpLimits::default() });
    for _ in 0..8 {
        let (c, s) = lab.connect(TcpConfig::default());
        // The server closes first, so its side goes through TIME_WAIT.
        lab.server.sockets.close(s).unwrap();
        lab.run(Duration::from_millis(5));
        lab.client.sockets.close(c).unwrap();
        lab.run(Duration::from_millis(5));
        assert!(lab.gauge("time_wait_now") <= 3);
    }
    assert_eq!(lab.gauge("time_wait_now"), 3);
    assert_eq!(lab.stat("time_wait_recycled"), 5);
    // TIME_WAIT holds no buffers.
    assert_eq!(lab.gauge("buffer_bytes_now"), 0);
    // After 2 MSL the rest go too, and new connections work as ever.
    lab.run(Duration::from_secs(61));
    assert_eq!(lab.gauge("time_wait_now"), 0);
    let (c, s) = lab.connect(TcpConfig::default());
    lab.client.sockets.send(c, b"still serving").unwrap();
    lab.run(Duration::from_millis(5));
    let mut buf = [0u8; 32];
    assert_eq!(lab.server.sockets.recv(s, &mut buf), Ok(13));
}

#[test]
fn an_orphan_stalled_by_a_zero_window_is_reset_after_the_orphan_timeout() {
    let mut lab = Lab::new(TcpLimits { orphan_timeout: Duration::from_secs(10), ..TcpLimits::default() });
    let (c, _) = lab.stalled_close();
    assert_eq!(lab.gauge("orphans_now"), 1);
    lab.run(Duration::from_secs(5));
    assert_eq!(lab.gauge("orphans_now"), 1, "persist probes keep it alive for now");
    lab.run(Duration::from_secs(6));
    assert_eq!(lab.gauge("orphans_now"), 0);
    assert_eq!(lab.stat("orphans_timed_out"), 1);
    assert_eq!(lab.gauge("buffer_bytes_now"), 0, "its buffers are freed");
    assert_eq!(lab.client.sockets.connection(c).unwrap().state(), State::Closed, "the peer was reset");
}

#[test]
fn past_the_orphan_limit_a_close_resets() {
    let mut lab = Lab::new(TcpLimits { max_orphans: 2, ..TcpLimits::default() });
    let (_, _) = lab.stalled_close();
    let (_, _) = lab.stalled_close();
    assert_eq!(lab.gauge("orphans_now"), 2);
    let (c, _) = lab.stalled_close();
    assert_eq!(lab.gauge("orphans_now"), 2);
    assert_eq!(lab.stat("orphans_reset"), 1);
    assert_eq!(lab.client.sockets.connection(c).unwrap().state(), State::Closed);
}

#[test]
fn the_memory_budget_shrinks_buffers_then_refuses() {
    // 256 KiB each way per connection (the default); pressure after two connections,
    // and room for two more of 64 KiB each way after that.
    let limits = TcpLimits {
        memory_pressure: 1024 << 10,
        memory_limit: (1024 + 256) << 10,
        pressure_buffer: 64 << 10,
        ..TcpLimits::default()
    };
    let mut lab = Lab::new(limits);
    let pairs: Vec<(SocketHandle, SocketHandle)> =
        (0..4).map(|_| lab.connect(TcpConfig::default())).collect();
    let bytes: Vec<usize> =
        pairs.iter().map(|&(_, s)| lab.server.sockets.connection(s).unwrap().buffer_bytes()).collect();
    assert_eq!(bytes, [512 << 10, 512 << 10, 128 << 10, 128 << 10]);
    assert_eq!(lab.stat("memory_pressure_reduced"), 2);
    assert_eq!(lab.gauge("buffer_bytes_now"), (1024 + 256) << 10);
    // A reduced connection still moves data, more than its buffer.
    let (c, s) = pairs[3];
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    let mut sent = 0;
    let mut received = Vec::new();
    while received.len() < data.len() {
        sent += lab.server.sockets.send(s, &data[sent..]).unwrap_or(0);
        lab.run(Duration::from_millis(2));
        let mut buf = [0u8; 65536];
        while let Ok(n) = lab.client.sockets.recv(c, &mut buf) {
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(received, data);

    // The fifth is refused: its SYNs are dropped, and it never gets a connection.
    let c = lab.client.sockets.tcp_socket().unwrap();
    lab.client
        .sockets
        .connect(c, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), PORT), lab.net.now())
        .unwrap();
    lab.run(Duration::from_secs(2));
    assert!(lab.server.sockets.accept(lab.listener).is_err());
    assert!(lab.stat("memory_refused") >= 2, "the SYN and its retransmission");
    assert_eq!(lab.client.sockets.connection(c).unwrap().state(), State::SynSent);
    // Room again once a connection is gone: the retried SYN gets in.
    let (c0, s0) = pairs[0];
    lab.server.sockets.close(s0).unwrap();
    lab.run(Duration::from_millis(5));
    lab.client.sockets.close(c0).unwrap();
    lab.run(Duration::from_secs(5));
    assert!(lab.server.sockets.accept(lab.listener).is_ok());
}
