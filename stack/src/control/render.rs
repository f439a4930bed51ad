//! Text views of a [`Snapshot`]: `sluice stat` (counters and rates) and `sluice netstat`
//! (sockets, in the columns of `netstat -ano` plus queues and the owning worker).

use core::fmt::Write as _;

use super::table::{Align, Table};
use super::{Snapshot, SocketProto, SocketRow, WorkerSnapshot};

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
            Some(prev) if cur >= prev && self.seconds > 0.0 => format!("{:.1}", (cur - prev) as f64 / self.seconds),
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
/// TCP counters, AF_XDP socket counters and the XDP program's counters, each with a
/// column per worker, the total and its rate.
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

    let sections: [(&str, fn(&WorkerSnapshot) -> &[(String, u64)], Option<&str>); 3] = [
        ("DROPS", |w| &w.drops, None),
        ("TCP", |w| &w.tcp, Some(RETRANSMISSIONS)),
        ("XSK", |w| &w.xsk, None),
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
            let mut table = Table::new(&[("XDP", Align::Left), ("TOTAL", Align::Right), ("PER S", Align::Right)]);
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
        let complete = before.as_ref().is_some_and(|b| workers.iter().all(|w| b.iter().any(|p| p.worker == w.worker)));
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
    counters: fn(&WorkerSnapshot) -> &[(String, u64)],
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
        (a.proto, a.local, a.remote, a.worker, &a.state).cmp(&(b.proto, b.local, b.remote, b.worker, &b.state))
    });
    rows
}
