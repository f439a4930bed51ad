//! What a running stack reports about itself: counters per worker, the XDP program's
//! counters and every socket (DESIGN.md, principle 6).
//!
//! The types are plain data, serialised as JSON on the control socket. The `*_from`
//! helpers build them from the stack's own structures, so a worker fills its
//! [`WorkerSnapshot`] with [`WorkerSnapshot::from_stack`] and a few ring counters.

use core::net::SocketAddrV4;

use serde::{Deserialize, Serialize};

use crate::iface::Stats;
use crate::socket::{Socket, SocketSet, TcpSocket};
use crate::tcp::TcpStats;
use crate::wire::Ipv4Addr;

/// The AF_XDP bind mode of a worker's socket, as [`WorkerSnapshot::mode`] spells it.
pub const MODE_ZERO_COPY: &str = "zero-copy";
/// See [`MODE_ZERO_COPY`].
pub const MODE_COPY: &str = "copy";

/// One reading of a whole `sluice serve` process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub pid: u32,
    /// The interface the process serves.
    pub iface: String,
    /// Wall-clock start of the process, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Wall-clock time of this reading, milliseconds since the Unix epoch.
    pub taken_unix_ms: u64,
    /// Monotonic microseconds from the start of the process to this reading: rates are
    /// computed from it, so a wall-clock step never distorts them.
    pub uptime_us: u64,
    pub workers: Vec<WorkerSnapshot>,
    /// The XDP program's counters summed over CPUs, when the program is loaded.
    pub xdp: Option<XdpCountersSnapshot>,
}

/// The XDP program's counters (redirected, passed by reason...), as (name, value) pairs in
/// the order the program declares them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XdpCountersSnapshot {
    pub counters: Vec<(String, u64)>,
}

/// One worker: its queue, core and AF_XDP mode, its interface's counters and sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSnapshot {
    pub worker: usize,
    /// The NIC queue the worker's AF_XDP socket is bound to.
    pub queue: u32,
    /// The core it is pinned to, if pinned.
    pub core: Option<usize>,
    /// [`MODE_ZERO_COPY`] or [`MODE_COPY`].
    pub mode: String,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Frames dropped, by reason ([`crate::iface::DropReason`] names), non-zero only.
    pub drops: Vec<(String, u64)>,
    /// The interface's other counters ([`Stats::counters`] names: ARP, ICMP, fragments,
    /// handoffs, table evictions).
    #[serde(default)]
    pub iface: Vec<(String, u64)>,
    /// Every TCP counter ([`TcpStats`] names), retransmissions included.
    pub tcp: Vec<(String, u64)>,
    /// Counters of the AF_XDP socket and its rings (the kernel's `XDP_STATISTICS`, fill
    /// ring starvation, TX kicks...), as the worker runtime names them.
    #[serde(default)]
    pub xsk: Vec<(String, u64)>,
    /// The worker loop's own counters: iterations, those that found nothing to do, and
    /// `busy_us`, the time spent in iterations that did work (a busy-polling worker's
    /// real load: its rate over a second is the busy fraction in millionths).
    #[serde(default)]
    pub worker_loop: Vec<(String, u64)>,
    /// The in-worker application's counters ([`crate::worker::Handler::counters`]; the
    /// HTTP echo server's requests, responses by status and timeouts).
    #[serde(default)]
    pub app: Vec<(String, u64)>,
    pub sockets: Vec<SocketRow>,
}

/// The protocol of a [`SocketRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SocketProto {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "ICMP")]
    Icmp,
}

impl SocketProto {
    pub const fn name(self) -> &'static str {
        match self {
            SocketProto::Tcp => "TCP",
            SocketProto::Udp => "UDP",
            SocketProto::Icmp => "ICMP",
        }
    }
}

/// One line of `sluice netstat`.
///
/// For TCP connections the queues are bytes: Send-Q holds what is unsent or unacknowledged,
/// Recv-Q what the application has not read. For listeners they count connections, as
/// Linux's `ss -l` does: Recv-Q the established connections awaiting `accept`, Send-Q the
/// backlog. For UDP and ICMP they are the bytes of queued datagrams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketRow {
    pub proto: SocketProto,
    /// For ICMP ping sockets, the echo identifier is the port.
    pub local: SocketAddrV4,
    /// None for listeners and unconnected datagram sockets.
    pub remote: Option<SocketAddrV4>,
    /// The TCP state as netstat names it (`LISTEN`, `ESTABLISHED`...); empty for UDP and ICMP.
    pub state: String,
    pub send_queue: usize,
    pub recv_queue: usize,
    pub worker: usize,
}

impl WorkerSnapshot {
    /// A worker with no traffic and no sockets yet.
    pub fn new(worker: usize, queue: u32, core: Option<usize>, mode: &str) -> WorkerSnapshot {
        WorkerSnapshot {
            worker,
            queue,
            core,
            mode: mode.to_owned(),
            rx_packets: 0,
            tx_packets: 0,
            rx_bytes: 0,
            tx_bytes: 0,
            drops: Vec::new(),
            iface: Vec::new(),
            tcp: Vec::new(),
            xsk: Vec::new(),
            worker_loop: Vec::new(),
            app: Vec::new(),
            sockets: Vec::new(),
        }
    }

    /// A worker's reading from its interface counters and socket table; the runtime adds
    /// its own `xsk` counters.
    pub fn from_stack(
        worker: usize,
        queue: u32,
        core: Option<usize>,
        mode: &str,
        stats: &Stats,
        sockets: &SocketSet,
    ) -> WorkerSnapshot {
        WorkerSnapshot {
            rx_packets: stats.rx_frames,
            tx_packets: stats.tx_frames,
            rx_bytes: stats.rx_bytes,
            tx_bytes: stats.tx_bytes,
            drops: WorkerSnapshot::drops_from(stats),
            iface: WorkerSnapshot::iface_from(stats, &[]),
            tcp: WorkerSnapshot::tcp_from(sockets.tcp_stats(), &sockets.tcp_gauges()),
            sockets: WorkerSnapshot::sockets_from(sockets, worker),
            ..WorkerSnapshot::new(worker, queue, core, mode)
        }
    }

    /// Every drop reason with a non-zero count, in declaration order.
    pub fn drops_from(stats: &Stats) -> Vec<(String, u64)> {
        stats.nonzero_drops().map(|(reason, n)| (reason.name().to_owned(), n)).collect()
    }

    /// Every interface counter besides traffic and drops, zero or not, then the gauges of
    /// its tables (`Interface::table_gauges`: `neighbor_entries_now`...).
    pub fn iface_from(stats: &Stats, gauges: &[(&'static str, u64)]) -> Vec<(String, u64)> {
        let counters = stats.counters();
        counters.chain(gauges.iter().copied()).map(|(name, n)| (name.to_owned(), n)).collect()
    }

    /// Every TCP counter, zero or not, in declaration order, then the gauges of the
    /// limited state (`half_open_now`, `orphans_now`, `time_wait_now`, `buffer_bytes_now`).
    pub fn tcp_from(stats: &TcpStats, gauges: &[(&'static str, u64)]) -> Vec<(String, u64)> {
        let counters = stats.iter().map(|(name, n)| (name.to_owned(), n));
        counters.chain(gauges.iter().map(|&(name, n)| (name.to_owned(), n))).collect()
    }

    /// A row for each listener, TCP connection (in any state, including those awaiting
    /// `accept` and those the application closed that linger in FIN_WAIT or TIME_WAIT),
    /// bound UDP socket and bound ping socket. Sockets that are merely created, or bound
    /// but neither listening nor connected, have no row, as in `netstat`.
    pub fn sockets_from(sockets: &SocketSet, worker: usize) -> Vec<SocketRow> {
        sockets.iter().filter_map(|(_, socket)| socket_row(socket, worker)).collect()
    }
}

fn socket_row(socket: &Socket, worker: usize) -> Option<SocketRow> {
    let row = match socket {
        Socket::Tcp(TcpSocket::Idle { .. }) => return None,
        Socket::Tcp(TcpSocket::Listener(listener)) => SocketRow {
            proto: SocketProto::Tcp,
            local: listener.local,
            remote: None,
            state: crate::tcp::State::Listen.name().to_owned(),
            send_queue: listener.backlog,
            recv_queue: listener.accept_queue.len(),
            worker,
        },
        Socket::Tcp(TcpSocket::Connection(entry)) => {
            let conn = &entry.conn;
            let (send_queue, recv_queue) = conn.queued();
            SocketRow {
                proto: SocketProto::Tcp,
                local: conn.local(),
                remote: Some(conn.remote()),
                state: conn.state().name().to_owned(),
                send_queue,
                recv_queue,
                worker,
            }
        }
        Socket::Udp(udp) => {
            let (recv_queue, send_queue) = udp.queued_bytes();
            SocketRow {
                proto: SocketProto::Udp,
                local: udp.local_addr()?,
                remote: None,
                state: String::new(),
                send_queue,
                recv_queue,
                worker,
            }
        }
        Socket::Icmp(icmp) => {
            let (recv_queue, send_queue) = icmp.queued_bytes();
            SocketRow {
                proto: SocketProto::Icmp,
                local: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, icmp.ident()?),
                remote: None,
                state: String::new(),
                send_queue,
                recv_queue,
                worker,
            }
        }
    };
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::DropReason;
    use crate::socket::{IcmpConfig, UdpConfig};

    fn addr(ip: [u8; 4], port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(ip), port)
    }

    #[test]
    fn sockets_from_lists_bound_datagram_sockets_and_listeners_only() {
        let mut set = SocketSet::default();
        let _unbound_udp = set.udp_socket(UdpConfig::default()).unwrap();
        let udp = set.udp_socket(UdpConfig::default()).unwrap();
        set.bind(udp, addr([0, 0, 0, 0], 53)).unwrap();
        set.send_to(udp, b"hello", addr([10, 0, 0, 2], 53)).unwrap();
        let ping = set.icmp_socket(IcmpConfig::default()).unwrap();
        set.bind_icmp(ping, Some(77)).unwrap();
        let idle = set.tcp_socket().unwrap();
        set.bind(idle, addr([0, 0, 0, 0], 80)).unwrap();
        let listener = set.tcp_socket().unwrap();
        set.bind(listener, addr([10, 0, 0, 1], 7)).unwrap();
        set.listen(listener, 128).unwrap();

        let rows = WorkerSnapshot::sockets_from(&set, 3);
        assert_eq!(
            rows,
            vec![
                SocketRow {
                    proto: SocketProto::Udp,
                    local: addr([0, 0, 0, 0], 53),
                    remote: None,
                    state: String::new(),
                    send_queue: 5,
                    recv_queue: 0,
                    worker: 3,
                },
                SocketRow {
                    proto: SocketProto::Icmp,
                    local: addr([0, 0, 0, 0], 77),
                    remote: None,
                    state: String::new(),
                    send_queue: 0,
                    recv_queue: 0,
                    worker: 3,
                },
                SocketRow {
                    proto: SocketProto::Tcp,
                    local: addr([10, 0, 0, 1], 7),
                    remote: None,
                    state: "LISTEN".to_owned(),
                    send_queue: 128,
                    recv_queue: 0,
                    worker: 3,
                },
            ]
        );
    }

    #[test]
    fn counters_keep_their_names_and_order() {
        let mut stats = Stats::default();
        stats.count_drop(DropReason::TcpNoSocket);
        stats.count_drop(DropReason::Ipv4NotOurs);
        stats.count_drop(DropReason::Ipv4NotOurs);
        assert_eq!(
            WorkerSnapshot::drops_from(&stats),
            vec![("ipv4_not_ours".to_owned(), 2), ("tcp_no_socket".to_owned(), 1)]
        );
        stats.neighbor_evicted_idle = 3;
        let iface = WorkerSnapshot::iface_from(&stats, &[("neighbor_entries_now", 7)]);
        assert!(iface.contains(&("neighbor_evicted_idle".to_owned(), 3)));
        assert!(iface.contains(&("fragment_evicted_source_limit".to_owned(), 0)));
        assert_eq!(iface.last(), Some(&("neighbor_entries_now".to_owned(), 7)));
        let tcp = TcpStats { retransmitted_segments: 4, ..TcpStats::default() };
        let rows = WorkerSnapshot::tcp_from(&tcp, &[("half_open_now", 3)]);
        assert_eq!(rows.len(), tcp.iter().count() + 1);
        assert!(rows.contains(&("half_open_now".to_owned(), 3)));
        assert!(rows.contains(&("retransmitted_segments".to_owned(), 4)));
        assert!(rows.contains(&("timeouts".to_owned(), 0)));
    }

    #[test]
    fn json_spells_protocols_and_addresses_plainly() {
        let row = SocketRow {
            proto: SocketProto::Tcp,
            local: addr([10, 0, 0, 1], 7),
            remote: Some(addr([10, 0, 0, 2], 40000)),
            state: "ESTABLISHED".to_owned(),
            send_queue: 1,
            recv_queue: 2,
            worker: 0,
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(
            json,
            r#"{"proto":"TCP","local":"10.0.0.1:7","remote":"10.0.0.2:40000","state":"ESTABLISHED","send_queue":1,"recv_queue":2,"worker":0}"#
        );
        assert_eq!(serde_json::from_str::<SocketRow>(&json).unwrap(), row);
    }
}
