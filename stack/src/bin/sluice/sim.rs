//! `sluice sim`: a TCP transfer between two simulated hosts running the whole stack, over
//! a link with the given delay, bandwidth, MTU and impairments. Prints the segments
//! exchanged (with `--trace`) and a summary, writes the pcap, and fails unless every byte
//! arrived intact. The work is done by [`sluice::sim::TransferScenario`].

use std::fmt::{self, Write as _};
use std::io::{self, BufWriter, Write as _};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use sluice::sim::segment_log::{Numbering, Side};
use sluice::sim::tcp_scenario::{RttSample, TransferReport, SERVER_ADDR, SERVER_PORT};
use sluice::sim::{LinkConfig, TransferScenario, Workload};
use sluice::tcp::congestion::Algorithm;
use sluice::tcp::TcpConfig;
use sluice::time::Duration;

#[derive(Args, Debug)]
pub struct Options {
    /// Round-trip propagation delay of the link, half each way: 20ms, 500us, 1s.
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    rtt: Duration,
    /// Link bandwidth in bit/s, with an optional k, M or G (powers of 1000): 100M, 1G;
    /// or "unlimited".
    #[arg(long, default_value = "100M", value_parser = parse_bandwidth)]
    bandwidth: Bandwidth,
    /// IP MTU of the link in bytes.
    #[arg(long, default_value_t = 1500)]
    mtu: usize,
    /// Bytes each host's link port may queue for transmission (as --sndbuf); frames beyond
    /// are dropped, as a router's tail drop.
    #[arg(long, default_value = "1Mi", value_parser = parse_size)]
    queue: u64,
    /// Probability that the link loses a frame: 0.01 or 1%.
    #[arg(long, default_value = "0", value_parser = parse_probability)]
    loss: f64,
    /// Probability that the link holds a frame back by --reorder-delay, so later ones overtake it.
    #[arg(long, default_value = "0", value_parser = parse_probability)]
    reorder: f64,
    /// How long a reordered frame is held back.
    #[arg(long, default_value = "1ms", value_parser = parse_duration)]
    reorder_delay: Duration,
    /// Probability that the link delivers a frame twice.
    #[arg(long, default_value = "0", value_parser = parse_probability)]
    duplicate: f64,
    /// Socket send buffer of both hosts: bytes, or with k/M (powers of 1000) or Ki/Mi
    /// (powers of 1024): 64Ki, 1Mi.
    #[arg(long, value_parser = parse_size)]
    sndbuf: Option<u64>,
    /// Socket receive buffer of both hosts (as --sndbuf).
    #[arg(long, value_parser = parse_size)]
    rcvbuf: Option<u64>,
    /// Congestion control: cubic or newreno.
    #[arg(long, default_value = "cubic")]
    cc: Algorithm,
    /// Do not offer selective acknowledgments (RFC 2018).
    #[arg(long)]
    no_sack: bool,
    /// Do not offer timestamps (RFC 7323).
    #[arg(long)]
    no_timestamps: bool,
    /// Do not offer window scaling (RFC 7323).
    #[arg(long)]
    no_wscale: bool,
    /// Send at once instead of coalescing small writes (TCP_NODELAY, Nagle off).
    #[arg(long)]
    nodelay: bool,
    /// Seed of the link's random choices, the initial sequence numbers and the data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bulk transfer: the client sends this many bytes (k/M/G or Ki/Mi/Gi suffixes).
    #[arg(long, value_parser = parse_size, conflicts_with = "requests")]
    bytes: Option<u64>,
    /// Request/response: the client sends this many requests, one at a time.
    #[arg(long)]
    requests: Option<u64>,
    /// Bytes per request.
    #[arg(long, default_value = "64", value_parser = parse_size, requires = "requests")]
    request_size: u64,
    /// Bytes per response.
    #[arg(long, default_value = "64", value_parser = parse_size, requires = "requests")]
    response_size: u64,
    /// Where to write the pcap of everything on the simulated wire.
    #[arg(long, default_value = "sluice-sim.pcap")]
    pcap: PathBuf,
    /// Write no pcap.
    #[arg(long, conflicts_with = "pcap")]
    no_pcap: bool,
    /// Print every frame both hosts send.
    #[arg(long)]
    trace: bool,
    /// In the trace, show sequence numbers as on the wire instead of relative to each
    /// side's initial sequence number.
    #[arg(long, requires = "trace")]
    absolute: bool,
    /// Print one line: the outcome.
    #[arg(long, conflicts_with = "trace")]
    quiet: bool,
    /// Sample the client's RTT, RTO and window this often (default: half the RTT, at
    /// least 1 ms).
    #[arg(long, value_parser = parse_duration)]
    sample_every: Option<Duration>,
    /// Give up after this much virtual time.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    time_limit: Duration,
}

/// Bytes moved when neither --bytes nor --requests is given.
const DEFAULT_BYTES: u64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
struct Bandwidth(Option<u64>);

pub fn run(options: &Options) -> Result<()> {
    let scenario = scenario(options)?;
    let report = scenario.run().context("the simulation could not run")?;
    match print(options, &scenario, &report) {
        // `sluice sim --trace | head`: the reader has seen enough; the verdict still counts.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        result => result.context("cannot write the output")?,
    }
    if let Some(failure) = &report.failure {
        bail!("the transfer failed: {failure}");
    }
    if !report.intact() {
        bail!("the data did not arrive intact");
    }
    Ok(())
}

fn print(options: &Options, scenario: &TransferScenario, report: &TransferReport) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if options.quiet {
        writeln!(out, "{}", one_line(report))?;
    } else {
        out.write_all(header(options, scenario, report).as_bytes())?;
        if options.trace {
            let numbering = if options.absolute { Numbering::Absolute } else { Numbering::Relative };
            print_trace(&mut out, report, numbering)?;
        }
        out.write_all(summary(options, scenario, report).map_err(io::Error::other)?.as_bytes())?;
    }
    out.flush()
}

fn scenario(options: &Options) -> Result<TransferScenario> {
    let mut link = LinkConfig::default()
        .with_latency(options.rtt / 2)
        .with_mtu(options.mtu)
        .with_loss(options.loss)
        .with_duplicate(options.duplicate)
        .with_reorder(options.reorder, options.reorder_delay)
        .with_queue_limit_bytes(usize::try_from(options.queue).unwrap_or(usize::MAX));
    link.bandwidth_bps = options.bandwidth.0;
    link.validate().context("invalid link")?;
    let workload = match options.requests {
        Some(requests) => Workload::RequestResponse {
            requests,
            request_size: options.request_size,
            response_size: options.response_size,
        },
        None => Workload::Bulk { bytes: options.bytes.unwrap_or(DEFAULT_BYTES) },
    };
    let defaults = TcpConfig::default();
    let buffer = |size: Option<u64>, default: usize| -> Result<usize> {
        let Some(size) = size else { return Ok(default) };
        match usize::try_from(size) {
            Ok(size) if size > 0 => Ok(size),
            _ => bail!("a buffer of {size} bytes is not possible"),
        }
    };
    let tcp = TcpConfig {
        send_buffer: buffer(options.sndbuf, defaults.send_buffer)?,
        recv_buffer: buffer(options.rcvbuf, defaults.recv_buffer)?,
        congestion: options.cc,
        sack: !options.no_sack,
        timestamps: !options.no_timestamps,
        window_scaling: !options.no_wscale,
        nodelay: options.nodelay,
        ..defaults
    };
    let mut scenario = TransferScenario::new(link, workload);
    scenario.tcp = tcp;
    scenario.seed = options.seed;
    scenario.time_limit = options.time_limit;
    scenario.sample_every =
        Some(options.sample_every.unwrap_or((options.rtt / 2).max(Duration::from_millis(1))));
    scenario.keep_segments = options.trace;
    if !options.no_pcap {
        if let Some(dir) = options.pcap.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        scenario.pcap = Some(options.pcap.clone());
    }
    Ok(scenario)
}

fn header(options: &Options, scenario: &TransferScenario, report: &TransferReport) -> String {
    let mut out = String::new();
    let target = format!("server {SERVER_ADDR}:{SERVER_PORT}");
    let _ = match scenario.workload {
        Workload::Bulk { bytes } => {
            writeln!(out, "sluice sim: the client sends {bytes} bytes to the {target}")
        }
        Workload::RequestResponse { requests, request_size, response_size } => writeln!(
            out,
            "sluice sim: {requests} exchanges with the {target}: {request_size}-byte requests, \
             {response_size}-byte responses"
        ),
    };
    let link = &scenario.link;
    let mut impairments = vec![format!("loss {}", percent(link.loss))];
    if link.reorder > 0.0 {
        impairments.push(format!("reorder {} by {}", percent(link.reorder), duration(link.reorder_delay)));
    }
    if link.duplicate > 0.0 {
        impairments.push(format!("duplicate {}", percent(link.duplicate)));
    }
    let _ = writeln!(
        out,
        "link: RTT {}, {}, MTU {}, queue {}, {}; seed {}",
        duration(options.rtt),
        match link.bandwidth_bps {
            Some(bps) => rate(bps as f64),
            None => "unlimited bandwidth".into(),
        },
        link.mtu,
        size(link.queue_limit_bytes as u64),
        impairments.join(", "),
        scenario.seed
    );
    let tcp = &scenario.tcp;
    let mut features = vec![tcp.congestion.name().to_uppercase()];
    for (on, name) in
        [(tcp.sack, "SACK"), (tcp.timestamps, "timestamps"), (tcp.window_scaling, "window scaling")]
    {
        features.push(if on { name.to_string() } else { format!("no {name}") });
    }
    if tcp.nodelay {
        features.push("TCP_NODELAY".into());
    }
    let mss = report.mss.map(|m| format!(", MSS {m}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "tcp: {}; buffers {} send, {} receive{mss}\n",
        features.join(", "),
        size(tcp.send_buffer as u64),
        size(tcp.recv_buffer as u64)
    );
    out
}

fn print_trace(out: &mut impl io::Write, report: &TransferReport, numbering: Numbering) -> io::Result<()> {
    let log = &report.segments;
    let relative = match numbering {
        Numbering::Relative => "relative to each side's initial sequence number",
        Numbering::Absolute => "as on the wire",
    };
    writeln!(out, "every frame each host sent, when it sent it; seq and ack {relative}, windows scaled:")?;
    writeln!(out, "{}", sluice::sim::SegmentLog::heading())?;
    for record in log.records() {
        writeln!(out, "{}", log.describe(record, numbering))?;
    }
    writeln!(out)
}

fn summary(
    options: &Options,
    scenario: &TransferScenario,
    report: &TransferReport,
) -> Result<String, fmt::Error> {
    let mut out = String::new();
    for (name, check) in
        [("client → server", &report.client_to_server), ("server → client", &report.server_to_client)]
    {
        if check.expected == 0 {
            continue;
        }
        if check.intact() {
            writeln!(
                out,
                "{name}: {} bytes arrived intact (FNV-1a {:016x}, and compared byte for byte)",
                check.received, check.received_hash
            )?;
        } else {
            let mismatch =
                check.first_mismatch.map(|at| format!(", first wrong byte at {at}")).unwrap_or_default();
            writeln!(
                out,
                "{name}: NOT INTACT: {} of {} bytes sent, {} read{mismatch}; FNV-1a sent {:016x}, read {:016x}",
                check.sent, check.expected, check.received, check.sent_hash, check.received_hash
            )?;
        }
    }
    if let Some(failure) = &report.failure {
        writeln!(out, "FAILED: {failure}")?;
    }
    match (report.transfer_time(), report.goodput_bps()) {
        (Some(time), goodput) => {
            let goodput = goodput.map(rate).unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "virtual time: {:.6} s from connect to the last byte read; goodput {goodput}",
                time.as_secs_f64()
            )?;
        }
        _ => writeln!(out, "virtual time: stopped at {} s", report.ended_at)?,
    }
    if let Workload::RequestResponse { .. } = scenario.workload {
        if let (Some(min), Some(max)) = (report.round_times.iter().min(), report.round_times.iter().max()) {
            let total: Duration = report.round_times.iter().sum();
            let mean = total / report.round_times.len() as u32;
            let per_sec = report.round_times.len() as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE);
            writeln!(
                out,
                "exchanges: {} done, {per_sec:.0}/s; each took {} min, {} mean, {} max",
                report.round_times.len(),
                duration(*min),
                duration(mean),
                duration(*max)
            )?;
        }
    }
    let log = &report.segments;
    let describe_side = |side: Side| {
        let c = log.counts(side);
        format!(
            "{side} → {} {} ({} with data, {} retransmitted)",
            side.peer(),
            c.tcp_segments,
            c.data_segments,
            c.retransmissions
        )
    };
    writeln!(out, "segments: {}; {}", describe_side(Side::Client), describe_side(Side::Server))?;
    let link = &report.link;
    let dropped = (link.dropped_queue, link.dropped_mtu, link.dropped_rx);
    writeln!(
        out,
        "link: {} frames, {} lost ({} carrying data), {} duplicated, {} held back; dropped: {} queue full, \
         {} over MTU, {} receiver full",
        link.frames_sent,
        link.lost,
        log.counts(Side::Client).dropped_data + log.counts(Side::Server).dropped_data,
        link.duplicated,
        link.reordered,
        dropped.0,
        dropped.1,
        dropped.2
    )?;
    for (side, stats) in [(Side::Client, &report.client_tcp), (Side::Server, &report.server_tcp)] {
        writeln!(
            out,
            "{side} TCP: {} segments out, {} retransmitted, {} fast retransmits, {} timeouts{}",
            stats.segments_out,
            stats.retransmitted_segments,
            stats.fast_retransmits,
            stats.timeouts,
            if stats.window_probes > 0 {
                format!(", {} window probes", stats.window_probes)
            } else {
                String::new()
            }
        )?;
    }
    if let Some(last) = &report.final_window {
        let mss = report.mss.unwrap_or(1).max(1);
        writeln!(
            out,
            "client at the end: cwnd {} ({} segments), ssthresh {}, srtt {}, rto {}",
            size(last.cwnd as u64),
            last.cwnd / mss,
            ssthresh(last.ssthresh),
            last.srtt.map(duration).unwrap_or_else(|| "-".into()),
            duration(last.rto)
        )?;
    }
    let state = |s: Option<sluice::tcp::State>| s.map(|s| s.name()).unwrap_or("gone");
    if report.closed {
        writeln!(
            out,
            "closed at {} s: client {}, server {}",
            report.ended_at,
            state(report.client_state),
            state(report.server_state)
        )?;
    } else if report.completed_at.is_some() {
        writeln!(
            out,
            "NOT closed {} after the transfer: client {}, server {}",
            duration(sluice::sim::tcp_scenario::TEARDOWN_LIMIT),
            state(report.client_state),
            state(report.server_state)
        )?;
    }
    if report.events_missed > 0 || log.unmatched_events() > 0 {
        writeln!(
            out,
            "note: {} simulator events were not matched to frames",
            report.events_missed + log.unmatched_events()
        )?;
    }
    if let Some(every) = report.sample_every {
        out.push_str(&samples(&report.samples, every, report.mss.unwrap_or(1).max(1)));
    }
    if scenario.pcap.is_some() {
        let path = options.pcap.display();
        writeln!(out, "pcap: {path} (open it in Wireshark, or `tshark -r {path}`)")?;
    }
    Ok(out)
}

/// A sparkline's name, its values (none where unmeasured) and how to show one of them.
type Series = (&'static str, Vec<Option<f64>>, fn(f64) -> String);

/// Rows of the RTT table at most.
const TABLE_ROWS: usize = 12;
/// Columns of a sparkline at most.
const SPARK_WIDTH: usize = 64;

/// The RTT/RTO/window table and sparklines.
fn samples(samples: &[RttSample], every: Duration, mss: usize) -> String {
    let mut out = String::new();
    if samples.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nthe client's RTT estimate (RFC 6298) and congestion window, sampled every {}:",
        duration(every)
    );
    let _ = writeln!(
        out,
        "{:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>6}  {:>10}  state",
        "time (s)", "srtt", "rttvar", "rto", "cwnd", "(segs)", "ssthresh"
    );
    let rows = samples.len().min(TABLE_ROWS);
    for row in 0..rows {
        let index = if rows == 1 { 0 } else { row * (samples.len() - 1) / (rows - 1) };
        let s = &samples[index];
        let _ = writeln!(
            out,
            "{:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>6}  {:>10}  {}",
            s.time.to_string(),
            s.srtt.map(duration).unwrap_or_else(|| "-".into()),
            s.rttvar.map(duration).unwrap_or_else(|| "-".into()),
            duration(s.rto),
            size(s.cwnd as u64),
            s.cwnd / mss,
            ssthresh(s.ssthresh),
            s.state
        );
    }
    let micros = |d: Option<Duration>| d.map(|d| d.as_micros() as f64);
    let series: [Series; 3] = [
        ("srtt", samples.iter().map(|s| micros(s.srtt)).collect(), |v| {
            duration(Duration::from_micros(v as u64))
        }),
        ("rto", samples.iter().map(|s| micros(Some(s.rto))).collect(), |v| {
            duration(Duration::from_micros(v as u64))
        }),
        ("cwnd", samples.iter().map(|s| Some(s.cwnd as f64)).collect(), |v| size(v as u64)),
    ];
    let _ = writeln!(out, "over {} s:", samples.last().map(|s| s.time.to_string()).unwrap_or_default());
    for (name, values, show) in series {
        if let Some((line, low, high)) = sparkline(&values) {
            let _ = writeln!(out, "  {name:<5} {line}  {} .. {}", show(low), show(high));
        }
    }
    out
}

/// One character per column (`▁` to `█`, blank where there is no value), each column the
/// largest value of its share of the series; with the series' minimum and maximum.
fn sparkline(values: &[Option<f64>]) -> Option<(String, f64, f64)> {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let present = values.iter().flatten();
    let low = present.clone().copied().fold(f64::INFINITY, f64::min);
    let high = present.copied().fold(f64::NEG_INFINITY, f64::max);
    if !low.is_finite() || !high.is_finite() {
        return None;
    }
    let width = values.len().min(SPARK_WIDTH);
    let mut line = String::with_capacity(width * 3);
    for column in 0..width {
        let bucket =
            &values[column * values.len() / width..((column + 1) * values.len() / width).max(column + 1)];
        let peak = bucket.iter().flatten().copied().fold(f64::NAN, f64::max);
        line.push(if peak.is_nan() {
            ' '
        } else if high > low {
            LEVELS[(((peak - low) / (high - low)) * 7.0).round() as usize]
        } else {
            LEVELS[0]
        });
    }
    Some((line, low, high))
}

fn one_line(report: &TransferReport) -> String {
    let bytes = report.client_to_server.received + report.server_to_client.received;
    let outcome = match (&report.failure, report.intact()) {
        (Some(failure), _) => format!("FAILED: {failure}"),
        (None, true) => "intact".to_string(),
        (None, false) => "NOT INTACT".to_string(),
    };
    let time =
        report.transfer_time().map(|t| format!("{:.6} s", t.as_secs_f64())).unwrap_or_else(|| "-".into());
    let goodput = report.goodput_bps().map(rate).unwrap_or_else(|| "-".into());
    format!(
        "{outcome}: {bytes} bytes in {time} of virtual time, goodput {goodput}, {} retransmitted segments, {} timeouts",
        report.client_tcp.retransmitted_segments + report.server_tcp.retransmitted_segments,
        report.client_tcp.timeouts + report.server_tcp.timeouts
    )
}

fn ssthresh(value: usize) -> String {
    if value == usize::MAX {
        "-".into()
    } else {
        size(value as u64)
    }
}

fn percent(p: f64) -> String {
    format!("{}%", (p * 1e4).round() / 1e2)
}

/// A rate with three significant digits: "94.3 Mbit/s".
fn rate(bps: f64) -> String {
    let (value, unit) = match bps {
        b if b >= 1e9 => (b / 1e9, "Gbit/s"),
        b if b >= 1e6 => (b / 1e6, "Mbit/s"),
        b if b >= 1e3 => (b / 1e3, "kbit/s"),
        b => (b, "bit/s"),
    };
    format!("{} {unit}", three_digits(value))
}

fn three_digits(value: f64) -> String {
    match value {
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

/// "20 ms", "1.5 s", "250 µs".
fn duration(d: Duration) -> String {
    let micros = d.as_micros() as f64;
    match micros {
        m if m >= 1e6 => format!("{} s", three_digits(m / 1e6)),
        m if m >= 1e3 => format!("{} ms", three_digits(m / 1e3)),
        m => format!("{m:.0} µs"),
    }
}

/// "64 KiB", "1.5 MiB", "900 B".
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        n if n >= 1 << 30 => format!("{} GiB", three_digits(b / f64::from(1u32 << 30))),
        n if n >= 1 << 20 => format!("{} MiB", three_digits(b / f64::from(1u32 << 20))),
        n if n >= 1 << 10 => format!("{} KiB", three_digits(b / 1024.0)),
        n => format!("{n} B"),
    }
}

/// "20ms", "500us", "1.5s", "2m", "1h"; a bare 0 is zero.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 20ms or 1.5s"))?;
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => return Err(format!("{text:?} needs a unit: ns, us, ms, s, m or h")),
        other => return Err(format!("unknown unit {other:?} in {text:?} (use ns, us, ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text:?}: {e}"))
}

/// "100M", "1G", "2.5G", "64k", "1000000", or "unlimited".
fn parse_bandwidth(text: &str) -> Result<Bandwidth, String> {
    let text = text.trim();
    if matches!(text, "unlimited" | "inf" | "none") {
        return Ok(Bandwidth(None));
    }
    let bare = text.trim_end_matches("bit/s").trim_end_matches("bps");
    let (number, scale) = match bare.char_indices().last() {
        Some((i, 'k' | 'K')) => (&bare[..i], 1e3),
        Some((i, 'M')) => (&bare[..i], 1e6),
        Some((i, 'G')) => (&bare[..i], 1e9),
        Some((i, 'T')) => (&bare[..i], 1e12),
        _ => (bare, 1.0),
    };
    let value: f64 =
        number.trim().parse().map_err(|_| format!("{text:?} is not a bandwidth like 100M or 1G"))?;
    let bps = (value * scale).round();
    if !(bps >= 1.0 && bps < u64::MAX as f64) {
        return Err(format!("bandwidth {text:?} must be at least 1 bit/s"));
    }
    Ok(Bandwidth(Some(bps as u64)))
}

/// "0.01", "1%".
fn parse_probability(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.parse::<f64>(),
    }
    .map_err(|_| format!("{text:?} is not a probability like 0.01 or 1%"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{text:?} is not between 0 and 1 (0% and 100%)"));
    }
    Ok(value)
}

/// "1000000", "1M" (10^6), "64Ki" or "64KiB" (65536), "1Gi".
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let bare = text.strip_suffix('B').unwrap_or(text);
    let split = bare.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(bare.len());
    let (number, unit) = bare.split_at(split);
    let scale: f64 = match unit.trim() {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" | "KI" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!("unknown size suffix {other:?} in {text:?} (use k, M, G, Ki, Mi or Gi)"))
        }
    };
    let value: f64 =
        number.parse().map_err(|_| format!("{text:?} is not a size like 1000000, 1M or 64Ki"))?;
    // A fraction needs a unit to scale it to whole bytes (1.5M, not 1.5).
    let bytes = (value * scale).round();
    if !(0.0..u64::MAX as f64).contains(&bytes) || (scale == 1.0 && value.fract() != 0.0) {
        return Err(format!("{text:?} is not a whole number of bytes"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("20").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn parses_bandwidths() {
        assert_eq!(parse_bandwidth("100M").unwrap().0, Some(100_000_000));
        assert_eq!(parse_bandwidth("1G").unwrap().0, Some(1_000_000_000));
        assert_eq!(parse_bandwidth("2.5Gbit/s").unwrap().0, Some(2_500_000_000));
        assert_eq!(parse_bandwidth("64k").unwrap().0, Some(64_000));
        assert_eq!(parse_bandwidth("unlimited").unwrap().0, None);
        assert!(parse_bandwidth("0").is_err());
        assert!(parse_bandwidth("lots").is_err());
    }

    #[test]
    fn parses_probabilities_and_sizes() {
        assert_eq!(parse_probability("0.01"), Ok(0.01));
        assert_eq!(parse_probability("5%"), Ok(0.05));
        assert!(parse_probability("120%").is_err());
        assert!(parse_probability("-0.1").is_err());
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("1M"), Ok(1_000_000));
        assert_eq!(parse_size("64Ki"), Ok(65_536));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("1Mi"), Ok(1 << 20));
        assert_eq!(parse_size("1.5M"), Ok(1_500_000));
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(rate(94_312_000.0), "94.3 Mbit/s");
        assert_eq!(rate(1_200_000_000.0), "1.20 Gbit/s");
        assert_eq!(duration(Duration::from_micros(20_450)), "20.4 ms");
        assert_eq!(size(65_536), "64.0 KiB");
        assert_eq!(percent(0.01), "1%");
        let (line, low, high) = sparkline(&[Some(1.0), None, Some(8.0), Some(4.5)]).unwrap();
        assert_eq!((line.as_str(), low, high), ("▁ █▅", 1.0, 8.0));
        assert!(sparkline(&[None, None]).is_none());
    }
}
