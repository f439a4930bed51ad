//! A closed-loop TCP echo load client on the kernel stack, for `cargo xtask bench echo`.
//!
//! Opens `--connections` connections to an echo server (RFC 862). Each keeps exactly one
//! `--size`-byte message in flight: it sends the message, waits for all of it to come back,
//! checks it byte for byte, then sends the next. Every round trip completed inside the
//! measured window (after `--warmup`) goes into an HDR histogram. One thread, one epoll
//! loop (mio), so the client occupies a single core however many connections it drives.
//!
//! Prints one JSON line: connections, size, seconds, round_trips, round_trips_per_sec,
//! p50_us, p90_us, p99_us, p999_us, max_us, errors.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use sluice_bench::echo_stream::EchoStream;

#[derive(Parser)]
#[command(about = "Closed-loop TCP echo load: N connections, one message in flight each")]
struct Options {
    /// The echo server.
    #[arg(long, value_name = "IP:PORT")]
    server: SocketAddr,
    /// Concurrent connections.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    connections: u32,
    /// Bytes per message.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    size: u32,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// How long each connect may take.
    #[arg(long, default_value_t = 5.0)]
    connect_timeout: f64,
}

/// Round trips are recorded in nanoseconds, from 1 ns to 60 s, to 3 significant digits.
const HISTOGRAM_MAX_NS: u64 = 60_000_000_000;

/// A connection and whether it is still usable.
struct Conn {
    stream: EchoStream,
    open: bool,
}

fn connect(options: &Options, size: usize) -> Result<Vec<Conn>> {
    let timeout = Duration::try_from_secs_f64(options.connect_timeout)
        .context("--connect-timeout must be a positive number of seconds")?;
    (0..options.connections)
        .map(|i| {
            let stream = EchoStream::connect(options.server, timeout, size)
                .with_context(|| format!("connection {i}"))?;
            Ok(Conn { stream, open: true })
        })
        .collect()
}

/// What one run measured.
struct Outcome {
    histogram: Histogram<u64>,
    measured: Duration,
    errors: u64,
}

fn run(options: &Options) -> Result<Outcome> {
    let size = options.size as usize;
    let warmup = Duration::try_from_secs_f64(options.warmup).context("--warmup must be >= 0 seconds")?;
    let secs = Duration::try_from_secs_f64(options.secs).context("--secs must be > 0 seconds")?;
    if secs.is_zero() {
        bail!("--secs must be > 0 seconds");
    }
    let mut conns = connect(options, size)?;
    let mut poll = Poll::new().context("could not create an epoll instance")?;
    for (i, conn) in conns.iter_mut().enumerate() {
        poll.registry()
            .register(conn.stream.source(), Token(i), Interest::READABLE | Interest::WRITABLE)
            .context("could not register a connection with epoll")?;
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_NS, 3)
        .context("could not create the latency histogram")?;
    let mut errors = 0u64;
    let mut buf = vec![0u8; size.max(64 * 1024)];
    let mut done = Vec::new();

    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + secs;
    for (index, conn) in conns.iter_mut().enumerate() {
        if let Err(err) = conn.stream.send(start) {
            eprintln!("echo_load: connection {index}: {err}");
            conn.open = false;
            errors += 1;
        }
    }

    let mut events = Events::with_capacity(conns.len().min(1024));
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if conns.iter().all(|c| !c.open) {
            bail!("every connection failed ({errors} errors); see the messages above");
        }
        match poll.poll(&mut events, Some(end - now)) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("epoll_wait failed"),
        }
        for event in &events {
            let index = event.token().0;
            let conn = &mut conns[index];
            if !conn.open {
                continue;
            }
            let mut result = conn.stream.flush().and_then(|()| conn.stream.receive(&mut buf, &mut done));
            let finished = Instant::now();
            for &sent_at in &done {
                if sent_at >= measure_from && finished <= end {
                    let ns = u64::try_from(finished.duration_since(sent_at).as_nanos())
                        .unwrap_or(u64::MAX)
                        .clamp(1, HISTOGRAM_MAX_NS);
                    histogram.record(ns).expect("the value is clamped into the histogram's range");
                }
                // One message in flight: the next goes out as soon as its echo is in.
                result = result.and_then(|()| conn.stream.send(finished));
            }
            done.clear();
            if let Err(err) = result {
                eprintln!("echo_load: connection {index}: {err}");
                conn.open = false;
                errors += 1;
                // Dropped from epoll; the socket closes when `conns` goes.
                let _ = poll.registry().deregister(conn.stream.source());
            }
        }
    }
    Ok(Outcome { histogram, measured: secs, errors })
}

fn main() -> Result<()> {
    let options = Options::parse();
    let outcome = run(&options)?;
    let h = &outcome.histogram;
    let us = |ns: u64| ns as f64 / 1000.0;
    let seconds = outcome.measured.as_secs_f64();
    let line = serde_json::json!({
        "connections": options.connections,
        "size": options.size,
        "seconds": seconds,
        "round_trips": h.len(),
        "round_trips_per_sec": h.len() as f64 / seconds,
        "p50_us": us(h.value_at_quantile(0.50)),
        "p90_us": us(h.value_at_quantile(0.90)),
        "p99_us": us(h.value_at_quantile(0.99)),
        "p999_us": us(h.value_at_quantile(0.999)),
        "max_us": us(h.max()),
        "errors": outcome.errors,
    });
    println!("{line}");
    Ok(())
}
