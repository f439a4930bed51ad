//! Two simulated hosts running the whole stack transfer data over TCP, verified byte for
//! byte, under loss, reordering, duplication and varied buffers.

use core::net::SocketAddrV4;

use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::sim::{LinkConfig, Network, SegmentId, StackHost};
use sluice_core::socket::{SocketError, SocketHandle, SocketSet, SocketSetConfig};
use sluice_core::tcp::TcpConfig;
use sluice_core::time::Duration;
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn host(net: &mut Network, segment: SegmentId, n: u8, tcp: TcpConfig) -> StackHost<()> {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
    let port = net.add_port(segment, mac);
    let iface = Interface::new(InterfaceConfig::new(mac, Ipv4Cidr::new(ip(n), 24).unwrap())).unwrap();
    let mut secret = [0u8; 16];
    secret[0] = n;
    let sockets = SocketSet::new(SocketSetConfig {
        ephemeral_seed: u64::from(n),
        secret,
        tcp,
        ..SocketSetConfig::default()
    });
    StackHost::new(port, iface, sockets, ())
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Sends `payload` from a client on host 1 to a server on host 2 and returns what the
/// server read, with the virtual time it took.
fn transfer(
    link: LinkConfig,
    seed: u64,
    tcp: TcpConfig,
    payload: &[u8],
    limit: Duration,
) -> (Vec<u8>, Duration, StackHost<()>, StackHost<()>) {
    let mut net = Network::new(seed);
    let seg = net.add_segment(link);
    if let Some(path) = std::env::var_os("SLUICE_TEST_PCAP") {
        net.capture_to_file(path).unwrap();
    }
    let mut a = host(&mut net, seg, 1, tcp);
    let mut b = host(&mut net, seg, 2, tcp);
    let listener = b.sockets.tcp_socket().unwrap();
    b.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5001)).unwrap();
    b.sockets.listen(listener, 16).unwrap();
    let client = a.sockets.tcp_socket().unwrap();
    a.sockets.connect(client, SocketAddrV4::new(ip(2), 5001), net.now()).unwrap();

    let mut sent = 0;
    let mut received = Vec::with_capacity(payload.len());
    let mut server: Option<SocketHandle> = None;
    let mut closed = false;
    let start = net.now();
    let deadline = start + limit;
    let mut buf = vec![0u8; 65536];
    while net.now() < deadline {
        if sent < payload.len() {
            match a.sockets.send(client, &payload[sent..]) {
                Ok(n) => sent += n,
                Err(SocketError::WouldBlock) | Err(SocketError::NotConnected) => {}
                Err(e) => panic!("send failed: {e}"),
            }
        } else if !closed && a.sockets.shutdown_write(client).is_ok() {
            closed = true;
        }
        if server.is_none() {
            if let Ok((h, _)) = b.sockets.accept(listener) {
                server = Some(h);
            }
        }
        if let Some(h) = server {
            loop {
                match b.sockets.recv(h, &mut buf) {
                    Ok(0) => {
                        let elapsed = net.now() - start;
                        return (received, elapsed, a, b);
                    }
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("recv failed: {e}"),
                }
            }
        }
        if !net.step(&mut [&mut a, &mut b]) {
            break;
        }
    }
    panic!(
        "transfer incomplete after {:?}: sent {sent}, received {} of {}; client {:?}, server {:?}",
        limit,
        received.len(),
        payload.len(),
        a.sockets.connection(client).map(|c| (c.state(), c.cwnd(), c.queued())),
        server.map(|h| b.sockets.connection(h).map(|c| (c.state(), c.queued())))
    );
}

fn assert_transfer(link: LinkConfig, seed: u64, tcp: TcpConfig, len: usize) -> Duration {
    let payload = data(len, seed);
    let (received, elapsed, _a, _b) = transfer(link, seed, tcp, &payload, Duration::from_secs(600));
    assert_eq!(received.len(), payload.len());
    assert!(received == payload, "data corrupted");
    elapsed
}

#[test]
fn clean_link_transfers_exactly() {
    let link = LinkConfig::default().with_latency(Duration::from_millis(1));
    assert_transfer(link, 1, TcpConfig::default(), 1 << 20);
}

#[test]
fn small_transfer_and_handshake() {
    let link = LinkConfig::default();
    assert_transfer(link, 2, TcpConfig::default(), 100);
}

fn lossy(loss: f64) -> LinkConfig {
    LinkConfig::default()
        .with_latency(Duration::from_millis(5))
        .with_bandwidth_bps(100_000_000)
        .with_loss(loss)
}

#[test]
fn transfers_under_loss() {
    for (i, loss) in [0.01, 0.05, 0.2].into_iter().enumerate() {
        let len = if loss > 0.1 { 64 * 1024 } else { 512 * 1024 };
        assert_transfer(lossy(loss), 10 + i as u64, TcpConfig::default(), len);
    }
}

#[test]
fn transfers_with_reordering_and_duplication() {
    let link = LinkConfig::default()
        .with_latency(Duration::from_millis(2))
        .with_reorder(0.1, Duration::from_millis(3))
        .with_duplicate(0.05);
    assert_transfer(link, 20, TcpConfig::default(), 512 * 1024);
}

#[test]
fn newreno_without_sack_or_timestamps_recovers() {
    let tcp = TcpConfig {
        sack: false,
        timestamps: false,
        congestion: sluice_core::tcp::congestion::Algorithm::NewReno,
        ..TcpConfig::default()
    };
    assert_transfer(lossy(0.02), 30, tcp, 256 * 1024);
}

#[test]
fn small_buffers_and_zero_windows() {
    let tcp = TcpConfig { send_buffer: 4096, recv_buffer: 2048, ..TcpConfig::default() };
    assert_transfer(lossy(0.01), 40, tcp, 128 * 1024);
}

#[test]
fn large_buffers_use_window_scaling() {
    let tcp = TcpConfig { send_buffer: 4 << 20, recv_buffer: 4 << 20, ..TcpConfig::default() };
    let link =
        LinkConfig::default().with_latency(Duration::from_millis(20)).with_bandwidth_bps(1_000_000_000);
    let elapsed = assert_transfer(link, 50, tcp, 8 << 20);
    // 8 MB over a 40 ms RTT: with a 64 KB window it would take over 5 s.
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}
