//! The control channel end to end: a server over a real socket table from the simulator,
//! the client, the renderers, and the rules for stale and contested socket paths.

use core::net::SocketAddrV4;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use sluice::control::{
    discover, fetch, render_netstat, render_stat, server::MAX_CLIENTS, ControlError, ControlServer, Snapshot,
    SnapshotSource, SocketProto, SocketRow, WorkerSnapshot, MODE_COPY,
};
use sluice::iface::{Interface, InterfaceConfig, Stats};
use sluice::sim::{Host, LinkConfig, Network, SegmentId, StackHost};
use sluice::socket::{SocketSet, SocketSetConfig, UdpConfig};
use sluice::tcp::TcpConfig;
use sluice::time::Duration;
use sluice::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

/// A directory under the system temp dir, removed with everything in it on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("hz-control-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One worker's stack, read under a lock whenever a client asks.
struct StackSource {
    started: StdInstant,
    stack: Mutex<(Stats, SocketSet)>,
}

impl SnapshotSource for StackSource {
    fn snapshot(&self) -> Snapshot {
        let stack = self.stack.lock().unwrap();
        Snapshot {
            pid: std::process::id(),
            iface: "hz0".to_owned(),
            started_unix_ms: 1_700_000_000_000,
            taken_unix_ms: 1_700_000_000_000 + self.started.elapsed().as_millis() as u64,
            uptime_us: self.started.elapsed().as_micros() as u64 + 1,
            workers: vec![WorkerSnapshot::from_stack(0, 0, Some(1), MODE_COPY, &stack.0, &stack.1)],
            xdp: None,
        }
    }
}

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn host(net: &mut Network, segment: SegmentId, n: u8) -> StackHost<()> {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
    let port = net.add_port(segment, mac);
    let iface = Interface::new(InterfaceConfig::new(mac, Ipv4Cidr::new(ip(n), 24).unwrap())).unwrap();
    let mut secret = [9u8; 16];
    secret[0] = n;
    let sockets = SocketSet::new(SocketSetConfig {
        ephemeral_seed: u64::from(n) * 7919,
        secret,
        tcp: TcpConfig::default(),
        ..SocketSetConfig::default()
    });
    StackHost::new(port, iface, sockets, ())
}

/// Host 10.0.0.2 listens on 0.0.0.0:7 and holds one established connection from
/// 10.0.0.1 with 5 unread bytes received and 11 bytes not yet sent; it also has a UDP
/// socket on port 53.
fn server_stack() -> (Stats, SocketSet, SocketAddrV4) {
    let mut net = Network::new(11);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
    let mut a = host(&mut net, seg, 1);
    let mut b = host(&mut net, seg, 2);
    let listener = b.sockets.tcp_socket().unwrap();
    b.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7)).unwrap();
    b.sockets.listen(listener, 16).unwrap();
    let udp = b.sockets.udp_socket(UdpConfig::default()).unwrap();
    b.sockets.bind(udp, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53)).unwrap();
    let client = a.sockets.tcp_socket().unwrap();
    a.sockets.connect(client, SocketAddrV4::new(ip(2), 7), net.now()).unwrap();
    let run = |net: &mut Network, a: &mut StackHost<()>, b: &mut StackHost<()>| {
        let deadline = net.now() + Duration::from_millis(50);
        net.run_until(&mut [a as &mut dyn Host, b as &mut dyn Host], deadline, |_| false);
    };
    run(&mut net, &mut a, &mut b);
    let (conn, peer) = b.sockets.accept(listener).unwrap();
    a.sockets.send(client, b"hello").unwrap();
    run(&mut net, &mut a, &mut b);
    // Written after the last poll: still unsent when the snapshot is taken.
    assert_eq!(b.sockets.send(conn, b"not yet out").unwrap(), 11);
    (b.iface.stats().clone(), std::mem::take(&mut b.sockets), peer)
}

fn start(path: &Path) -> Result<ControlServer, ControlError> {
    let (stats, sockets, _) = server_stack();
    let source = StackSource { started: StdInstant::now(), stack: Mutex::new((stats, sockets)) };
    ControlServer::start(path, Arc::new(source))
}

#[test]
fn netstat_and_stat_read_a_live_socket_table() {
    let dir = TempDir::new();
    let path = dir.join("hz0.sock");
    let (stats, sockets, peer) = server_stack();
    let source = StackSource { started: StdInstant::now(), stack: Mutex::new((stats, sockets)) };
    let server = ControlServer::start(&path, Arc::new(source)).unwrap();
    assert_eq!(server.path(), path);

    let snapshot = fetch(&path).unwrap();
    assert_eq!(snapshot.pid, std::process::id());
    let rows = &snapshot.workers[0].sockets;
    let established = SocketRow {
        proto: SocketProto::Tcp,
        local: SocketAddrV4::new(ip(2), 7),
        remote: Some(peer),
        state: "ESTABLISHED".to_owned(),
        send_queue: 11,
        recv_queue: 5,
        worker: 0,
    };
    assert!(rows.contains(&established), "{rows:?}");
    assert_eq!(rows.len(), 3);
    assert_eq!(*peer.ip(), ip(1));

    let netstat = render_netstat(&snapshot);
    let expected = format!(
        "\
Active sockets of sluice pid {pid} on hz0
Proto  Local Address  Foreign Address  State        Send-Q  Recv-Q  Worker
TCP    0.0.0.0:7      0.0.0.0:*        LISTEN           16       0       0
TCP    10.0.0.2:7     {peer:<15}  ESTABLISHED      11       5       0
UDP    0.0.0.0:53     *:*                                0       0       0
",
        pid = std::process::id(),
        peer = peer.to_string(),
    );
    assert_eq!(netstat, expected);

    let later = fetch(&path).unwrap();
    let stat = render_stat(Some(&snapshot), &later);
    let lines: Vec<&str> = stat.lines().collect();
    assert!(lines[0].starts_with(&format!("sluice pid {} on hz0: up ", std::process::id())), "{stat}");
    let worker_line: Vec<&str> = lines[2].split_whitespace().collect();
    let rx_packets = later.workers[0].rx_packets;
    assert!(rx_packets >= 3, "SYN, ACK and data reached the server");
    assert_eq!(&worker_line[..5], ["0", "0", "1", "copy", &rx_packets.to_string()]);
    // Nothing moved between the two readings.
    assert_eq!(worker_line[6], "0.0");
    assert!(stat.contains("passive_opens"), "{stat}");
    assert!(stat.contains("retransmitted_segments"), "{stat}");
    assert!(stat.ends_with("XDP: no program counters\n"), "{stat}");

    drop(server);
    assert!(!path.exists(), "the socket file goes with the server");
    assert!(matches!(fetch(&path), Err(ControlError::NotServing { .. })));
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = TempDir::new();
    let path = dir.join("nested/dir/hz0.sock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // A process that died left its socket file behind.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let error = fetch(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "no sluice process is serving {}: start `sluice serve --iface IF ...` or pass --control PATH",
            path.display()
        )
    );
    let server = start(&path).unwrap();
    assert_eq!(fetch(&path).unwrap().workers.len(), 1);
    drop(server);
    assert!(!path.exists());
}

#[test]
fn a_second_server_on_a_live_path_is_refused() {
    let dir = TempDir::new();
    let path = dir.join("hz0.sock");
    let first = start(&path).unwrap();
    let error = start(&path).expect_err("a second server must be refused");
    assert!(matches!(error, ControlError::AlreadyServed { .. }), "{error}");
    assert!(error.to_string().contains("another process is already serving"), "{error}");
    // The first one still answers, through the same file.
    assert_eq!(fetch(&path).unwrap().iface, "hz0");
    drop(first);
    let second = start(&path).unwrap();
    fetch(&path).unwrap();
    drop(second);

    // A live socket of some other program (no lock file) is not taken over either.
    let foreign_path = dir.join("foreign.sock");
    let _foreign = UnixListener::bind(&foreign_path).unwrap();
    assert!(matches!(start(&foreign_path), Err(ControlError::AlreadyServed { .. })));
    assert!(foreign_path.exists());

    // Nor is a file that is not a socket.
    let file = dir.join("file.sock");
    std::fs::write(&file, b"data").unwrap();
    assert!(matches!(start(&file), Err(ControlError::NotASocket { .. })));
    assert_eq!(std::fs::read(&file).unwrap(), b"data");
}

#[test]
fn bad_and_oversized_requests_get_an_error_line() {
    let dir = TempDir::new();
    let path = dir.join("hz0.sock");
    let _server = start(&path).unwrap();

    let stream = UnixStream::connect(&path).unwrap();
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    (&stream).write_all(b"{\"get\":\"everything\"}\n").unwrap();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("{\"error\":\"not a valid request"), "{line}");
    // The connection stays usable for a good request.
    line.clear();
    (&stream).write_all(b"{\"get\":\"snapshot\"}\n").unwrap();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("{\"snapshot\":{"), "{line}");

    let stream = UnixStream::connect(&path).unwrap();
    let mut reader = BufReader::new(&stream);
    (&stream).write_all(&vec![b' '; 10_000]).unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"error\":\"request longer than 4096 bytes\"}\n");
    line.clear();
    assert_eq!(reader.read_line(&mut line).unwrap(), 0, "then the server hangs up");
}

#[test]
fn dropping_the_server_does_not_wait_for_idle_clients() {
    let dir = TempDir::new();
    let path = dir.join("hz0.sock");
    let server = start(&path).unwrap();
    let idle = UnixStream::connect(&path).unwrap();
    fetch(&path).unwrap();
    let begun = StdInstant::now();
    drop(server);
    assert!(begun.elapsed() < StdDuration::from_secs(2), "took {:?}", begun.elapsed());
    let mut buf = String::new();
    assert_eq!(BufReader::new(&idle).read_line(&mut buf).unwrap(), 0);
}

#[test]
fn discover_picks_the_only_live_socket() {
    let dir = TempDir::new();
    assert!(matches!(discover(&dir.0, None, None), Err(ControlError::NoneRunning { .. })));
    assert!(matches!(discover(&dir.join("missing"), None, None), Err(ControlError::NoneRunning { .. })));
    let explicit = dir.join("elsewhere.sock");
    assert_eq!(discover(&dir.0, Some(&explicit), Some("hz0")).unwrap(), explicit);
    assert_eq!(discover(&dir.0, None, Some("hz9")).unwrap(), dir.join("hz9.sock"));

    let one = start(&dir.join("hz0.sock")).unwrap();
    // Stale sockets and other files do not count.
    drop(UnixListener::bind(dir.join("hz1.sock")).unwrap());
    std::fs::write(dir.join("notes.txt"), b"").unwrap();
    assert_eq!(discover(&dir.0, None, None).unwrap(), dir.join("hz0.sock"));

    let two = start(&dir.join("hz2.sock")).unwrap();
    let error = discover(&dir.0, None, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "several sluice processes are running (hz0, hz2): pick one with --iface IF or --control PATH"
    );
    drop((one, two));
}

#[test]
fn clients_beyond_the_limit_wait_for_a_free_slot() {
    let dir = TempDir::new();
    let path = dir.join("hz0.sock");
    let _server = start(&path).unwrap();
    let mut idle: Vec<UnixStream> = (0..MAX_CLIENTS).map(|_| UnixStream::connect(&path).unwrap()).collect();
    let waiting = {
        let path = path.clone();
        std::thread::spawn(move || fetch(&path))
    };
    std::thread::sleep(StdDuration::from_millis(300));
    assert!(!waiting.is_finished(), "served while {MAX_CLIENTS} clients held every slot");
    idle.pop();
    let snapshot = waiting.join().unwrap().unwrap();
    assert_eq!(snapshot.iface, "hz0");
}
