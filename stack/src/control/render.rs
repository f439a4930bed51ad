//! Text views of a [`Snapshot`]: `sluice stat` (counters and rates) and `sluice netstat`
//! (sockets, in the columns of `netstat -ano` plus queues and the owning worker).

use core::fmt::Write as _;

use super::table::{Align, Table};
use super::{Snapshot, SocketProto, SocketRow, WorkerSnapshot};

/// Which named counters of a worker a table shows.
type Counters = fn(&WorkerSnapshot) -> &[(String, u64)];

/// The TCP counter `sluice stat` always shows, even at zero.
const RETRANSMISSIONS: &str = "retransmitted_segments";

/// The interval over which rates are computed, and the earlier reading they start from.
struct Baseline<'a> {
    seconds: f64,
    prev: Option<&'a Snapshot>,
}

impl Baseline<'_> {
    /// Per-second rate of a counter now at `cur` that was `prev` at the baseline (zero
    /// at the start of the process when there is no earlier reading).
    fn rate(&self, prev: Option<u64>, cur: u64) -> String {
        let prev = if self.prev.is_some() { prev } else { Some(0) };
        match prev {
            Some(prev) if cur >= prev && self.seconds > 0.0 => {
                format!("{:.1}", (cur - prev) as f64 / self.seconds)
            }
            _ => "-".to_owned(),
        }
    }

    fn mbit(&self, prev: Option<u64>, cur: u64) -> String {
        let prev = if self.prev.is_some() { prev } else { Some(0) };
        match prev {
            Some(prev) if cur >= prev && self.seconds > 0.0 => {
                format!("{:.3}", (cur - prev) as f64 * 8.0 / self.seconds / 1e6)
            }
            _ => "-".to_owned(),
        }
    }

    fn worker(&self, worker: usize) -> Option<&WorkerSnapshot> {
        self.prev?.workers.iter().find(|w| w.worker == worker)
    }
}

/// The `sluice stat` screen: per worker packets, bytes and rates, then drops by reason,
/// the interface's other counters (ARP, ICMP, fragments, table evictions), TCP counters,
/// AF_XDP socket counters and the XDP program's counters, each with a column per worker,
/// the total and its rate.
///
/// Rates are over the time between `prev` and `cur`; without `prev` (or when `prev` is
/// from another process) they are averages since the process started, as vmstat's first
/// line is.
pub fn render_stat(prev: Option<&Snapshot>, cur: &Snapshot) -> String {
    let prev = prev.filter(|p| p.pid == cur.pid && p.started_unix_ms == cur.started_unix_ms);
    let baseline = match prev {
        Some(p) if cur.uptime_us > p.uptime_us => {
            Baseline { seconds: (cur.uptime_us - p.uptime_us) as f64 / 1e6, prev }
        }
        Some(_) => Baseline { seconds: 0.0, prev },
        None => Baseline { seconds: cur.uptime_us as f64 / 1e6, prev: None },
    };
    let mut out = String::new();
    let over = match baseline.prev {
        Some(_) => format!("rates over the last {:.1}s", baseline.seconds),
        None => "rates averaged since start".to_owned(),
    };
    let _ = writeln!(
        out,
        "sluice pid {} on {}: up {}, {} worker{}; {over}",
        cur.pid,
        cur.iface,
        format_uptime(cur.uptime_us),
        cur.workers.len(),
        if cur.workers.len() == 1 { "" } else { "s" },
    );
    traffic_table(&baseline, cur).render(&mut out);

    let sections: [(&str, Counters, Option<&str>); 6] = [
        ("DROPS", |w| &w.drops, None),
        ("IFACE", |w| &w.iface, None),
        ("TCP", |w| &w.tcp, Some(RETRANSMISSIONS)),
        ("XSK", |w| &w.xsk, None),
        ("LOOP", |w| &w.worker_loop, None),
        ("APP", |w| &w.app, None),
    ];
    for (title, counters, always) in sections {
        out.push('\n');
        let table = counter_table(title, &baseline, cur, counters, always);
        if table.is_empty() {
            let _ = writeln!(out, "{title}: none");
        } else {
            table.render(&mut out);
        }
    }
    out.push('\n');
    match &cur.xdp {
        None => out.push_str("XDP: no program counters\n"),
        Some(xdp) => {
            let prev_xdp = baseline.prev.and_then(|p| p.xdp.as_ref());
            let mut table =
                Table::new(&[("XDP", Align::Left), ("TOTAL", Align::Right), ("PER S", Align::Right)]);
            for (name, value) in &xdp.counters {
                let before = prev_xdp.and_then(|p| lookup(&p.counters, name));
                table.row(vec![name.clone(), value.to_string(), baseline.rate(before, *value)]);
            }
            if table.is_empty() {
                out.push_str("XDP: none\n");
            } else {
                table.render(&mut out);
            }
        }
    }
    out
}

fn traffic_table(baseline: &Baseline<'_>, cur: &Snapshot) -> Table {
    let mut table = Table::new(&[
        ("WORKER", Align::Right),
        ("QUEUE", Align::Right),
        ("CORE", Align::Right),
        ("MODE", Align::Left),
        ("RX PACKETS", Align::Right),
        ("RX BYTES", Align::Right),
        ("RX PKT/S", Align::Right),
        ("RX MBIT/S", Align::Right),
        ("TX PACKETS", Align::Right),
        ("TX BYTES", Align::Right),
        ("TX PKT/S", Align::Right),
        ("TX MBIT/S", Align::Right),
    ]);
    let mut workers: Vec<&WorkerSnapshot> = cur.workers.iter().collect();
    workers.sort_by_key(|w| w.worker);
    type Field = fn(&WorkerSnapshot) -> u64;
    let fields: [Field; 4] = [|w| w.rx_packets, |w| w.rx_bytes, |w| w.tx_packets, |w| w.tx_bytes];
    let cells = |prev: &dyn Fn(Field) -> Option<u64>, cur: &dyn Fn(Field) -> u64| -> Vec<String> {
        let [rx_packets, rx_bytes, tx_packets, tx_bytes] = fields;
        vec![
            cur(rx_packets).to_string(),
            cur(rx_bytes).to_string(),
            baseline.rate(prev(rx_packets), cur(rx_packets)),
            baseline.mbit(prev(rx_bytes), cur(rx_bytes)),
            cur(tx_packets).to_string(),
            cur(tx_bytes).to_string(),
            baseline.rate(prev(tx_packets), cur(tx_packets)),
            baseline.mbit(prev(tx_bytes), cur(tx_bytes)),
        ]
    };
    for w in &workers {
        let before = baseline.worker(w.worker);
        let mut row = vec![
            w.worker.to_string(),
            w.queue.to_string(),
            w.core.map_or_else(|| "-".to_owned(), |c| c.to_string()),
            w.mode.clone(),
        ];
        row.extend(cells(&|f| before.map(f), &|f| f(w)));
        table.row(row);
    }
    if workers.len() > 1 {
        let before = baseline.prev.map(|p| p.workers.iter().collect::<Vec<_>>());
        // The total's rate needs every worker in the earlier reading too.
        let complete =
            before.as_ref().is_some_and(|b| workers.iter().all(|w| b.iter().any(|p| p.worker == w.worker)));
        let mut row = vec!["total".to_owned(), String::new(), String::new(), String::new()];
        row.extend(cells(
            &|f| {
                if complete {
                    before.as_ref().map(|b| b.iter().map(|w| f(w)).sum())
                } else {
                    None
                }
            },
            &|f| workers.iter().map(|w| f(w)).sum(),
        ));
        table.row(row);
    }
    table
}

/// A table of named counters: one column per worker, the total and its rate. Rows are
/// the names in the order workers report them; a row whose total is zero is left out
/// unless it is `always`.
fn counter_table(
    title: &str,
    baseline: &Baseline<'_>,
    cur: &Snapshot,
    counters: Counters,
    always: Option<&str>,
) -> Table {
    let mut workers: Vec<&WorkerSnapshot> = cur.workers.iter().collect();
    workers.sort_by_key(|w| w.worker);
    let mut names: Vec<&str> = Vec::new();
    for w in &workers {
        for (name, _) in counters(w) {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    let mut columns = vec![(title.to_owned(), Align::Left)];
    columns.extend(workers.iter().map(|w| (format!("W{}", w.worker), Align::Right)));
    columns.extend([("TOTAL".to_owned(), Align::Right), ("PER S".to_owned(), Align::Right)]);
    let mut table = Table::new(&columns);
    for name in names {
        let values: Vec<u64> = workers.iter().map(|w| lookup(counters(w), name).unwrap_or(0)).collect();
        let total: u64 = values.iter().sum();
        if total == 0 && always != Some(name) {
            continue;
        }
        let before = baseline.prev.and_then(|p| {
            workers
                .iter()
                .map(|w| {
                    let prev_worker = p.workers.iter().find(|pw| pw.worker == w.worker)?;
                    Some(lookup(counters(prev_worker), name).unwrap_or(0))
                })
                .sum::<Option<u64>>()
        });
        let mut row = vec![name.to_owned()];
        row.extend(values.iter().map(u64::to_string));
        row.push(total.to_string());
        row.push(baseline.rate(before, total));
        table.row(row);
    }
    table
}

fn lookup(counters: &[(String, u64)], name: &str) -> Option<u64> {
    counters.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

fn format_uptime(us: u64) -> String {
    let seconds = us / 1_000_000;
    match seconds {
        0..60 => format!("{:.1}s", us as f64 / 1e6),
        60..3600 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m {:02}s", seconds / 3600, seconds / 60 % 60, seconds % 60),
    }
}

/// The `sluice netstat` listing: every socket of every worker, sorted by protocol
/// (TCP, UDP, ICMP), local address, remote address and worker.
pub fn render_netstat(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Active sockets of sluice pid {} on {}", snapshot.pid, snapshot.iface);
    let mut table = Table::new(&[
        ("Proto", Align::Left),
        ("Local Address", Align::Left),
        ("Foreign Address", Align::Left),
        ("State", Align::Left),
        ("Send-Q", Align::Right),
        ("Recv-Q", Align::Right),
        ("Worker", Align::Right),
    ]);
    for row in sorted_sockets(snapshot) {
        let remote = match (row.remote, row.proto) {
            (Some(remote), _) => remote.to_string(),
            (None, SocketProto::Tcp) => "0.0.0.0:*".to_owned(),
            (None, _) => "*:*".to_owned(),
        };
        table.row(vec![
            row.proto.name().to_owned(),
            row.local.to_string(),
            remote,
            row.state.clone(),
            row.send_queue.to_string(),
            row.recv_queue.to_string(),
            row.worker.to_string(),
        ]);
    }
    table.render(&mut out);
    out
}

/// Every socket of the snapshot in `sluice netstat`'s order.
pub fn sorted_sockets(snapshot: &Snapshot) -> Vec<&SocketRow> {
    let mut rows: Vec<&SocketRow> = snapshot.workers.iter().flat_map(|w| &w.sockets).collect();
    rows.sort_by(|a, b| {
        (a.proto, a.local, a.remote, a.worker, &a.state)
            .cmp(&(b.proto, b.local, b.remote, b.worker, &b.state))
    });
    rows
}

#[cfg(test)]
mod tests {
    use core::net::SocketAddrV4;

    use super::*;
    use crate::control::{XdpCountersSnapshot, MODE_COPY};
    use crate::wire::Ipv4Addr;

    fn addr(ip: [u8; 4], port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(ip), port)
    }

    fn counters(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|&(n, v)| (n.to_owned(), v)).collect()
    }

    fn tcp_row(
        local: SocketAddrV4,
        remote: Option<SocketAddrV4>,
        state: &str,
        q: (usize, usize),
        worker: usize,
    ) -> SocketRow {
        SocketRow {
            proto: SocketProto::Tcp,
            local,
            remote,
            state: state.to_owned(),
            send_queue: q.0,
            recv_queue: q.1,
            worker,
        }
    }

    fn worker(n: usize, packets: u64, retransmitted: u64) -> WorkerSnapshot {
        WorkerSnapshot {
            rx_packets: packets,
            tx_packets: packets / 2,
            rx_bytes: packets * 1000,
            tx_bytes: packets * 100,
            drops: counters(&[("ipv4_not_ours", packets / 100)]),
            iface: counters(&[("arp_replies_sent", 0), ("neighbor_evicted_idle", packets / 1000)]),
            tcp: counters(&[
                ("segments_in", packets),
                ("retransmitted_segments", retransmitted),
                ("timeouts", 0),
            ]),
            xsk: counters(&[("fill_ring_empty", n as u64)]),
            worker_loop: counters(&[("iterations", packets * 10), ("busy_us", packets / 10)]),
            app: counters(&[("http_requests", packets / 4)]),
            ..WorkerSnapshot::new(n, n as u32, Some(n + 1), MODE_COPY)
        }
    }

    fn snapshot(uptime_s: u64, packets: [u64; 2], retransmitted: u64) -> Snapshot {
        Snapshot {
            pid: 4242,
            iface: "veth0".to_owned(),
            started_unix_ms: 1_700_000_000_000,
            taken_unix_ms: 1_700_000_000_000 + uptime_s * 1000,
            uptime_us: uptime_s * 1_000_000,
            workers: vec![worker(1, packets[1], 0), worker(0, packets[0], retransmitted)],
            xdp: Some(XdpCountersSnapshot {
                counters: counters(&[("redirected", packets[0] + packets[1]), ("passed", 7)]),
            }),
        }
    }

    #[test]
    fn stat_shows_rates_since_the_previous_reading() {
        let prev = snapshot(3600, [10_000, 2_000], 3);
        let cur = snapshot(3602, [30_000, 2_000], 5);
        assert_eq!(
            render_stat(Some(&prev), &cur),
            "\
sluice pid 4242 on veth0: up 1h 00m 02s, 2 workers; rates over the last 2.0s
WORKER  QUEUE  CORE  MODE  RX PACKETS  RX BYTES  RX PKT/S  RX MBIT/S  TX PACKETS  TX BYTES  TX PKT/S  TX MBIT/S
     0      0     1  copy       30000  30000000   10000.0     80.000       15000   3000000    5000.0      8.000
     1      1     2  copy        2000   2000000       0.0      0.000        1000    200000       0.0      0.000
 total                          32000  32000000   10000.0     80.000       16000   3200000    5000.0      8.000

DROPS           W0  W1  TOTAL  PER S
ipv4_not_ours  300  20    320  100.0

IFACE                  W0  W1  TOTAL  PER S
neighbor_evicted_idle  30   2     32   10.0

TCP                        W0    W1  TOTAL    PER S
segments_in             30000  2000  32000  10000.0
retransmitted_segments      5     0      5      1.0

XSK              W0  W1  TOTAL  PER S
fill_ring_empty   0   1      1    0.0

LOOP            W0     W1   TOTAL     PER S
iterations  300000  20000  320000  100000.0
busy_us       3000    200    3200    1000.0

APP              W0   W1  TOTAL   PER S
http_requests  7500  500   8000  2500.0

XDP         TOTAL    PER S
redirected  32000  10000.0
passed          7      0.0
"
        );
    }

    #[test]
    fn stat_without_a_previous_reading_averages_since_start() {
        let mut cur = snapshot(40, [4_000, 0], 0);
        cur.workers.retain(|w| w.worker == 0);
        cur.workers[0].drops.clear();
        cur.workers[0].iface.clear();
        cur.workers[0].xsk.clear();
        cur.workers[0].worker_loop.clear();
        cur.workers[0].app.clear();
        cur.xdp = None;
        let expected = "\
sluice pid 4242 on veth0: up 40.0s, 1 worker; rates averaged since start
WORKER  QUEUE  CORE  MODE  RX PACKETS  RX BYTES  RX PKT/S  RX MBIT/S  TX PACKETS  TX BYTES  TX PKT/S  TX MBIT/S
     0      0     1  copy        4000   4000000     100.0      0.800        2000    400000      50.0      0.080

DROPS: none

IFACE: none

TCP                       W0  TOTAL  PER S
segments_in             4000   4000  100.0
retransmitted_segments     0      0    0.0

XSK: none

LOOP: none

APP: none

XDP: no program counters
";
        assert_eq!(render_stat(None, &cur), expected);
        // A reading from an earlier process is no baseline.
        let mut other = cur.clone();
        other.pid = 1;
        assert_eq!(render_stat(Some(&other), &cur), expected);
    }

    #[test]
    fn stat_rates_need_the_worker_in_both_readings() {
        let mut prev = snapshot(10, [1_000, 1_000], 0);
        prev.workers.retain(|w| w.worker == 0);
        let cur = snapshot(11, [2_000, 1_000], 0);
        let text = render_stat(Some(&prev), &cur);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[2..5],
            [
                "     0      0     1  copy        2000   2000000    1000.0      8.000        1000    200000     500.0      0.800",
                "     1      1     2  copy        1000   1000000         -          -         500    100000         -          -",
                " total                           3000   3000000         -          -        1500    300000         -          -",
            ]
        );
    }

    #[test]
    fn netstat_lists_sockets_like_netstat_ano() {
        let mut snap = snapshot(10, [0, 0], 0);
        snap.workers[0].sockets = vec![
            tcp_row(addr([10, 0, 0, 1], 7), Some(addr([10, 0, 0, 2], 40_001)), "TIME_WAIT", (0, 0), 1),
            SocketRow {
                proto: SocketProto::Udp,
                local: addr([0, 0, 0, 0], 7),
                remote: None,
                state: String::new(),
                send_queue: 0,
                recv_queue: 512,
                worker: 1,
            },
        ];
        snap.workers[1].sockets = vec![
            tcp_row(addr([10, 0, 0, 1], 7), Some(addr([10, 0, 0, 2], 40_000)), "ESTABLISHED", (1448, 12), 0),
            SocketRow {
                proto: SocketProto::Icmp,
                local: addr([0, 0, 0, 0], 77),
                remote: None,
                state: String::new(),
                send_queue: 64,
                recv_queue: 0,
                worker: 0,
            },
            tcp_row(addr([0, 0, 0, 0], 7), None, "LISTEN", (128, 0), 0),
        ];
        assert_eq!(
            render_netstat(&snap),
            "\
Active sockets of sluice pid 4242 on veth0
Proto  Local Address  Foreign Address  State        Send-Q  Recv-Q  Worker
TCP    0.0.0.0:7      0.0.0.0:*        LISTEN          128       0       0
TCP    10.0.0.1:7     10.0.0.2:40000   ESTABLISHED    1448      12       0
TCP    10.0.0.1:7     10.0.0.2:40001   TIME_WAIT         0       0       1
UDP    0.0.0.0:7      *:*                                0     512       1
ICMP   0.0.0.0:77     *:*                               64       0       0
"
        );
    }

    #[test]
    fn netstat_of_an_idle_process_has_only_headers() {
        let mut snap = snapshot(1, [0, 0], 0);
        snap.workers.clear();
        assert_eq!(
            render_netstat(&snap),
            "Active sockets of sluice pid 4242 on veth0\n\
             Proto  Local Address  Foreign Address  State  Send-Q  Recv-Q  Worker\n"
        );
    }
}
