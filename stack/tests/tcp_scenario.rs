//! TCP transfers between two simulated hosts through `TransferScenario`, the library
//! behind `sluice sim`: the throughput matrix snapshot, tshark's view of a lossy
//! transfer, and the scenario's own promises (verification, request/response, the
//! segment log agreeing with the simulator's event log).

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice::sim::segment_log::{Content, Numbering, Side};
use sluice::sim::{LinkConfig, SimEventKind, TransferReport, TransferScenario, Workload};
use sluice::tcp::congestion::Algorithm;
use sluice::tcp::TcpConfig;
use sluice::time::Duration;
use sluice::wire::TcpFlags;

/// Removes a file when dropped, so a failing test leaves no litter.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(format!("sluice-{name}-{}.pcap", std::process::id())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn link(rtt_ms: u64, loss: f64) -> LinkConfig {
    LinkConfig::default()
        .with_latency(Duration::from_micros(rtt_ms * 500))
        .with_bandwidth_bps(100_000_000)
        .with_loss(loss)
}

fn run(scenario: &TransferScenario) -> TransferReport {
    let report = scenario.run().expect("the scenario runs");
    assert!(
        report.intact(),
        "transfer not intact: {:?}\n{:?}\n{:?}",
        report.failure,
        report.client_to_server,
        report.server_to_client
    );
    report
}

// ------------------------------------------------------------------ throughput matrix

const SNAPSHOT: &str = "tests/snapshots/throughput_matrix.md";
/// Bytes per transfer: enough for loss recovery to dominate the lossy rows, little enough
/// that the 36 transfers take a few seconds in a debug build (about 80 ms each).
const MATRIX_BYTES: u64 = 1_000_000;
const MATRIX_SEED: u64 = 1;

/// `value` rounded to two significant digits, without exponent: 94, 9.4, 0.94, 0.094.
fn two_digits(value: f64) -> String {
    if value <= 0.0 || !value.is_finite() {
        return "0".into();
    }
    let magnitude = value.log10().floor() as i32;
    let decimals = (1 - magnitude).max(0) as usize;
    let scale = 10f64.powi(1 - magnitude);
    let rounded = (value * scale).round() / scale;
    format!("{rounded:.decimals$}")
}

/// One row of the matrix: (loss, RTT in ms, buffer bytes, buffer name, algorithm).
type Case = (f64, u64, usize, &'static str, Algorithm);

fn matrix_row(&(loss, rtt_ms, buffer, buffer_name, cc): &Case) -> String {
    let mut scenario = TransferScenario::new(link(rtt_ms, loss), Workload::Bulk { bytes: MATRIX_BYTES });
    scenario.seed = MATRIX_SEED;
    scenario.tcp =
        TcpConfig { send_buffer: buffer, recv_buffer: buffer, congestion: cc, ..TcpConfig::default() };
    let report = run(&scenario);
    let goodput = report.goodput_bps().unwrap_or(0.0) / 1e6;
    format!(
        "| {}% | {rtt_ms} ms | {buffer_name} | {} | {} | {} | {} |\n",
        loss * 100.0,
        if cc == Algorithm::Cubic { "CUBIC" } else { "NewReno" },
        two_digits(goodput),
        report.client_tcp.retransmitted_segments,
        report.client_tcp.timeouts
    )
}

/// The matrix as markdown. The runs are independent and deterministic, so they are spread
/// over the available cores; rows are written in a fixed order.
fn matrix() -> String {
    let mut cases: Vec<Case> = Vec::new();
    for loss in [0.0, 0.01, 0.05] {
        for rtt_ms in [1, 20, 100] {
            for (buffer, buffer_name) in [(64 * 1024, "64 KiB"), (1 << 20, "1 MiB")] {
                for cc in [Algorithm::Cubic, Algorithm::NewReno] {
                    cases.push((loss, rtt_ms, buffer, buffer_name, cc));
                }
            }
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let rows = std::sync::Mutex::new(vec![String::new(); cases.len()]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = cases.get(index) else { break };
                let row = matrix_row(case);
                rows.lock().unwrap()[index] = row;
            });
        }
    });
    let mut out = String::new();
    out.push_str("# Throughput matrix\n\n");
    out.push_str(&format!(
        "Written by `stack/tests/tcp_scenario.rs` (`throughput_matrix_matches_snapshot`): a bulk\n\
         transfer of {MATRIX_BYTES} bytes from client to server between two simulated hosts running\n\
         the whole stack, over a 100 Mbit/s link with a 1500-byte MTU, seed {MATRIX_SEED}. Both hosts use\n\
         the default TCP options (SACK, timestamps, window scaling) except the socket buffers\n\
         (send and receive) and the congestion control shown. Goodput is the bytes delivered\n\
         to the server application over the time from `connect` to the last byte read, in\n\
         Mbit/s to two significant digits; retransmissions and timeouts are the sender's.\n\
         Every run is deterministic: a change here is a change in the stack's behaviour.\n\n"
    ));
    out.push_str(
        "| loss | RTT | buffer | congestion control | goodput (Mbit/s) | retransmissions | timeouts |\n",
    );
    out.push_str("|---:|---:|---:|:---|---:|---:|---:|\n");
    for row in rows.into_inner().unwrap() {
        out.push_str(&row);
    }
    out
}

/// A line diff (longest common subsequence): `-` lines only in `old`, `+` only in `new`.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[test]
fn throughput_matrix_matches_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    let actual = matrix();
    if std::env::var_os("SLUICE_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        eprintln!("updated {}", path.display());
        return;
    }
    let update = "SLUICE_UPDATE_SNAPSHOTS=1 cargo test -p sluice --test tcp_scenario throughput_matrix";
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the snapshot {}: {e}\nto write it: {update}\nthe matrix:\n{actual}",
            path.display()
        )
    });
    if actual != expected {
        panic!(
            "the throughput matrix differs from {} (- snapshot, + now):\n{}\n\
             If the change is intended, update the snapshot and commit it:\n  {update}",
            path.display(),
            diff(&expected, &actual)
        );
    }
}

#[test]
fn two_digit_rounding() {
    let cases = [
        (94.31, "94"),
        (99.6, "100"),
        (9.449, "9.4"),
        (0.94, "0.94"),
        (0.0456, "0.046"),
        (123.0, "120"),
        (0.0, "0"),
    ];
    for (value, text) in cases {
        assert_eq!(two_digits(value), text, "{value}");
    }
    assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
}

// ------------------------------------------------------------------ tshark

/// The client's data segments the simulator dropped, from the segment log (which takes
/// drops from the simulator's event log), cross-checked with the link's own counters.
fn dropped_data_segments(report: &TransferReport, from: Side) -> u64 {
    let log = &report.segments;
    let records = log
        .records()
        .iter()
        .filter(|r| r.from == from && !r.fate.delivered())
        .filter(|r| matches!(&r.content, Content::Tcp(h) if h.payload_len > 0))
        .count() as u64;
    assert_eq!(records, log.counts(from).dropped_data);
    let link = &report.link;
    let dropped = link.lost + link.dropped_queue + link.dropped_rx + link.dropped_mtu + link.dropped_runt;
    assert_eq!(log.counts(Side::Client).dropped + log.counts(Side::Server).dropped, dropped);
    assert_eq!(report.events_missed + log.unmatched_events(), 0);
    let lost = log.records().iter().filter(|r| r.fate.dropped == Some(SimEventKind::Lost)).count();
    assert_eq!(lost as u64, link.lost);
    records
}

/// Runs `scenario` with a capture and decodes it; `None` when tshark is not installed
/// (a failure when SLUICE_REQUIRE_TOOLS is set).
fn run_and_decode(
    mut scenario: TransferScenario,
    name: &str,
) -> Option<(TransferReport, sluice::sim::TsharkReport)> {
    let pcap = TempFile::new(name);
    scenario.pcap = Some(pcap.0.clone());
    scenario.keep_segments = true;
    let report = run(&scenario);
    let Some(tshark) = sluice::sim::tshark::analyze(&pcap.0).expect("tshark runs") else {
        if std::env::var_os("SLUICE_REQUIRE_TOOLS").is_some() {
            panic!("tshark is required (SLUICE_REQUIRE_TOOLS is set) but not installed");
        }
        eprintln!("SKIPPED: tshark is not installed; the capture was not decoded");
        return None;
    };
    let link = &report.link;
    let captured = link.frames_sent - link.dropped_queue - link.dropped_mtu - link.dropped_runt;
    assert_eq!(tshark.frames, captured, "{tshark}");
    assert_eq!(tshark.malformed, 0, "{tshark}");
    assert_eq!(tshark.bad_checksums, 0, "{tshark}");
    assert!(tshark.is_clean(), "{tshark}");
    Some((report, tshark))
}

/// Request/response with loss both ways: a sender that has no new data to interleave, so
/// tshark's analysis calls every repeated segment a retransmission. It finds at least one
/// for each data segment the simulator dropped, and exactly the retransmissions the
/// senders made.
#[test]
fn tshark_finds_a_retransmission_for_every_dropped_segment() {
    let workload = Workload::RequestResponse { requests: 100, request_size: 100, response_size: 4000 };
    let mut scenario = TransferScenario::new(link(10, 0.05), workload);
    scenario.seed = 1;
    let Some((report, tshark)) = run_and_decode(scenario, "lossy-exchanges") else { return };
    let dropped = dropped_data_segments(&report, Side::Client) + dropped_data_segments(&report, Side::Server);
    assert!(dropped >= 10, "the seed should make the link drop data segments: {dropped}");
    assert!(
        tshark.tcp_retransmissions >= dropped,
        "tshark found {} retransmissions, the simulator dropped {dropped} data segments: {tshark}",
        tshark.tcp_retransmissions
    );
    let ours = report.segments.counts(Side::Client).retransmissions
        + report.segments.counts(Side::Server).retransmissions;
    assert_eq!(tshark.tcp_retransmissions, ours, "{tshark}");
    assert_eq!(tshark.tcp_out_of_order, 0, "{tshark}");
    assert_eq!(ours, report.client_tcp.retransmitted_segments + report.server_tcp.retransmitted_segments);
}

/// A bulk transfer with loss: SACK recovery sends retransmissions between new segments,
/// which tshark calls out-of-order when they follow new data within one handshake RTT
/// (the link does not reorder, so nothing else is out of order at the sender's capture).
#[test]
fn tshark_sees_the_retransmissions_of_a_lossy_bulk_transfer() {
    let mut scenario = TransferScenario::new(link(10, 0.03), Workload::Bulk { bytes: 300_000 });
    scenario.seed = 3;
    let Some((report, tshark)) = run_and_decode(scenario, "lossy-transfer") else { return };
    let dropped = dropped_data_segments(&report, Side::Client);
    assert!(dropped >= 3, "the seed should make the link drop data segments: {dropped}");
    let seen = tshark.tcp_retransmissions + tshark.tcp_out_of_order;
    assert!(
        seen >= dropped,
        "tshark saw {seen} repeated segments, the simulator dropped {dropped}: {tshark}"
    );
    let ours = report.segments.counts(Side::Client).retransmissions
        + report.segments.counts(Side::Server).retransmissions;
    assert_eq!(seen, ours, "{tshark}");
    assert!(tshark.sequence_warnings > 0, "tshark should notice the holes: {tshark}");
}

// ------------------------------------------------------------------ the scenario itself

/// Whether the union of `ranges` (start, end) covers [start, end).
fn covered(mut ranges: Vec<(u32, u32)>, (start, end): (u32, u32)) -> bool {
    ranges.sort_unstable();
    let mut reach = start;
    for (s, e) in ranges {
        if s > reach {
            break;
        }
        reach = reach.max(e);
    }
    reach >= end
}

/// Offsets of a client data segment relative to the client's ISN.
fn span(record: &sluice::sim::segment_log::SegmentRecord, isn: u32) -> Option<(u32, u32)> {
    match &record.content {
        Content::Tcp(h) if record.from == Side::Client && h.payload_len > 0 => {
            let start = h.seq.0.wrapping_sub(isn);
            Some((start, start + h.payload_len as u32))
        }
        _ => None,
    }
}

#[test]
fn the_segment_log_agrees_with_the_event_log_and_the_stack() {
    let mut scenario = TransferScenario::new(
        link(20, 0.02).with_reorder(0.02, Duration::from_millis(2)).with_duplicate(0.01),
        Workload::Bulk { bytes: 500_000 },
    );
    scenario.seed = 9;
    scenario.keep_segments = true;
    let report = run(&scenario);
    let records = report.segments.records();
    let isn = report.segments.isn(Side::Client).unwrap().0;
    let delivered: Vec<(u32, u32)> =
        records.iter().filter(|r| r.fate.delivered()).filter_map(|r| span(r, isn)).collect();
    let mut drops = 0;
    for (i, record) in records.iter().enumerate() {
        let Some(range) = span(record, isn) else { continue };
        if record.fate.delivered() {
            continue;
        }
        drops += 1;
        let describe = report.segments.describe(record, Numbering::Relative);
        // What was dropped arrived in some other copy...
        assert!(covered(delivered.clone(), range), "never delivered: {describe}");
        // ...and data dropped the first time it was sent was sent again later.
        if !record.retransmission {
            let later: Vec<(u32, u32)> =
                records[i + 1..].iter().filter(|r| r.retransmission).filter_map(|r| span(r, isn)).collect();
            assert!(covered(later, range), "never sent again: {describe}");
        }
    }
    assert!(drops > 0);
    let (client, server) = (report.segments.counts(Side::Client), report.segments.counts(Side::Server));
    assert_eq!(client.duplicated + server.duplicated, report.link.duplicated);
    assert_eq!(client.reordered + server.reordered, report.link.reordered);
    // The segment log and the stack count the same segments and retransmissions.
    assert_eq!(client.tcp_segments, report.client_tcp.segments_out);
    assert_eq!(server.tcp_segments, report.server_tcp.segments_out);
    assert_eq!(client.retransmissions, report.client_tcp.retransmitted_segments);
}

#[test]
fn the_trace_tells_the_story_of_a_connection() {
    let mut scenario = TransferScenario::new(link(20, 0.0), Workload::Bulk { bytes: 5_000 });
    scenario.keep_segments = true;
    let report = run(&scenario);
    assert!(report.closed);
    let log = &report.segments;
    let lines: Vec<String> = log.records().iter().map(|r| log.describe(r, Numbering::Relative)).collect();
    let tcp: Vec<&String> = lines.iter().filter(|l| l.contains(" seq ")).collect();
    let find = |needle: &str| {
        tcp.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{}", lines.join("\n")))
    };
    let syn = find("client → server  SYN         seq 0 ");
    let syn_ack = find("server → client  SYN-ACK     seq 0                 ack 1 ");
    let established = find("handshake complete");
    let client_fin = find("client has no more data to send");
    let server_fin = find("server has no more data to send");
    assert!(syn < syn_ack && syn_ack < established && established < client_fin && client_fin < server_fin);
    assert!(tcp[syn].contains("initial sequence number"), "{}", tcp[syn]);
    assert!(tcp[syn].contains("<mss 1460, wscale"), "{}", tcp[syn]);
    assert!(
        tcp[client_fin].contains("seq 4345:5001") && tcp[client_fin].contains("len 656"),
        "{}",
        tcp[client_fin]
    );
    assert!(
        tcp.last().unwrap().contains("client → server  ACK         seq 5002              ack 2 "),
        "{}",
        tcp.last().unwrap()
    );
    assert!(lines.iter().any(|l| l.contains("ARP who-has 10.0.0.2 tell 10.0.0.1")));
    // Absolute numbering shows the ISN itself.
    let isn = log.isn(Side::Client).unwrap();
    let absolute = log.describe(
        &log.records()[lines.iter().position(|l| l.contains("SYN ")).unwrap()],
        Numbering::Absolute,
    );
    assert!(absolute.contains(&format!("seq {} ", isn.0)), "{absolute}");
}

/// After `shutdown(SHUT_WR)` the partial last segment goes at once with the FIN: Nagle's
/// hold would only wait for the receiver's delayed ACK of the segments in flight (40 ms
/// here, forty RTTs), since no later write can fill it.
#[test]
fn the_tail_of_a_transfer_goes_with_the_fin_at_once() {
    for bytes in [1_000_000, 1_000_724, 1_001_448, 1_002_172] {
        let mut scenario = TransferScenario::new(link(1, 0.0), Workload::Bulk { bytes });
        scenario.tcp.send_buffer = 64 * 1024;
        scenario.tcp.recv_buffer = 64 * 1024;
        scenario.keep_segments = true;
        let report = run(&scenario);
        let data: Vec<_> = report
            .segments
            .records()
            .iter()
            .filter(|r| r.from == Side::Client && matches!(&r.content, Content::Tcp(h) if h.payload_len > 0 || h.flags.contains(TcpFlags::FIN)))
            .collect();
        let [.., before, last] = data[..] else { panic!("too few segments") };
        let gap = last.time - before.time;
        assert!(
            gap < Duration::from_millis(3),
            "{bytes} bytes: the FIN left {gap:?} after the previous segment:\n{}\n{}",
            report.segments.describe(before, Numbering::Relative),
            report.segments.describe(last, Numbering::Relative)
        );
    }
}

#[test]
fn request_response_exchanges_are_verified_both_ways() {
    let workload = Workload::RequestResponse { requests: 50, request_size: 300, response_size: 5000 };
    let mut scenario = TransferScenario::new(link(2, 0.02), workload);
    scenario.seed = 3;
    scenario.tcp.nodelay = true;
    let report = run(&scenario);
    assert_eq!(report.client_to_server.received, 15_000);
    assert_eq!(report.server_to_client.received, 250_000);
    assert_eq!(report.round_times.len(), 50);
    assert!(report.round_times.iter().all(|&t| t >= Duration::from_millis(2)));
    assert!(report.closed, "{:?} {:?}", report.client_state, report.server_state);
    assert!(report.segments.records().is_empty(), "records are kept only on request");

    // No exchanges at all: connect, close, done.
    let none = Workload::RequestResponse { requests: 0, request_size: 100, response_size: 100 };
    let report = run(&TransferScenario::new(link(2, 0.0), none));
    assert!(report.closed && report.round_times.is_empty());
}

#[test]
fn options_and_congestion_control_reach_both_hosts() {
    let mut scenario = TransferScenario::new(link(5, 0.01), Workload::Bulk { bytes: 200_000 });
    scenario.keep_segments = true;
    scenario.tcp = TcpConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        congestion: Algorithm::NewReno,
        ..TcpConfig::default()
    };
    let report = run(&scenario);
    for record in report.segments.records() {
        if let Content::Tcp(h) = &record.content {
            let o = &h.options;
            assert!(o.timestamps.is_none() && o.window_scale.is_none() && !o.sack_permitted, "{o:?}");
            assert!(o.sack_blocks.as_slice().is_empty());
            if !h.flags.contains(TcpFlags::SYN) {
                assert!(o.mss.is_none());
            }
        }
    }
}

#[test]
fn sampling_and_recording_do_not_change_the_run() {
    let base = TransferScenario::new(link(20, 0.02), Workload::Bulk { bytes: 400_000 });
    let mut observed = base.clone();
    observed.sample_every = Some(Duration::from_millis(3));
    observed.keep_segments = true;
    let (a, b) = (run(&base), run(&observed));
    assert_eq!(a.completed_at, b.completed_at);
    assert_eq!(a.client_tcp, b.client_tcp);
    assert_eq!(a.server_tcp, b.server_tcp);
    assert_eq!(a.link, b.link);
    assert_eq!(a.segments.counts(Side::Client), b.segments.counts(Side::Client));
    assert!(a.samples.is_empty());
    // Samples every 3 ms from 0 until the transfer completed; the RTT is measured once
    // the handshake is done and stays near 20 ms.
    let done = b.completed_at.unwrap();
    assert!(b.samples.len() as u64 >= done.total_millis() / 3);
    assert!(b.samples.windows(2).all(|w| w[1].time - w[0].time == Duration::from_millis(3)));
    let srtt = b.samples.last().unwrap().srtt.unwrap();
    assert!(srtt >= Duration::from_millis(20) && srtt < Duration::from_millis(60), "{srtt:?}");
    assert_eq!(b.final_window.unwrap().time, done);
}

#[test]
fn an_unfinished_transfer_is_reported() {
    let mut scenario = TransferScenario::new(link(20, 0.0), Workload::Bulk { bytes: 10_000_000 });
    scenario.time_limit = Duration::from_millis(300);
    let report = scenario.run().unwrap();
    assert!(!report.intact());
    assert!(
        matches!(report.failure, Some(sluice::sim::tcp_scenario::Failure::TimeLimit(_))),
        "{:?}",
        report.failure
    );
    assert!(report.client_to_server.received < 10_000_000);
    // A dead link: the connection times out and the report says so.
    let mut scenario = TransferScenario::new(link(20, 1.0), Workload::Bulk { bytes: 1000 });
    scenario.tcp.syn_retries = 2;
    let report = scenario.run().unwrap();
    assert!(!report.intact());
    assert!(report.failure.is_some());
}

// ------------------------------------------------------------------ the command

fn sluice_sim(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice")).arg("sim").args(args).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn sluice_sim_traces_summarises_and_writes_the_pcap() {
    let pcap = TempFile::new("sluice-sim-command");
    let (ok, out) = sluice_sim(&[
        "--bytes",
        "200000",
        "--rtt",
        "20ms",
        "--loss",
        "2%",
        "--seed",
        "5",
        "--trace",
        "--pcap",
        pcap.0.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    for expected in [
        "SYN-ACK",
        "handshake complete",
        "LOST on the link",
        "RETRANSMISSION",
        "client has no more data to send",
        "client → server: 200000 bytes arrived intact",
        "goodput",
        "srtt",
        "rto",
        "cwnd",
        "closed at",
    ] {
        assert!(out.contains(expected), "no {expected:?} in\n{out}");
    }
    assert!(std::fs::metadata(&pcap.0).unwrap().len() > 200_000);

    let (ok, out) = sluice_sim(&[
        "--requests",
        "20",
        "--request-size",
        "100",
        "--response-size",
        "2Ki",
        "--quiet",
        "--no-pcap",
    ]);
    assert!(ok, "{out}");
    assert!(out.starts_with("intact: 42960 bytes"), "{out}");

    let (ok, out) = sluice_sim(&["--bytes", "1M", "--time-limit", "50ms", "--quiet", "--no-pcap"]);
    assert!(!ok, "an unfinished transfer must fail:\n{out}");
    assert!(out.contains("FAILED"), "{out}");

    let (ok, out) = sluice_sim(&["--loss", "150%", "--no-pcap"]);
    assert!(!ok && out.contains("not between 0 and 1"), "{out}");
}
