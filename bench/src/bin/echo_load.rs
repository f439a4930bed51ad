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

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

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

/// One connection's place in its request/response cycle.
struct Conn {
    stream: TcpStream,
    /// The message in flight (its first 8 bytes number it, so a stale echo is caught).
    message: Vec<u8>,
    /// Bytes of `message` written so far.
    written: usize,
    /// Bytes of the echo received so far.
    received: Vec<u8>,
    /// When the message in flight was first written.
    sent_at: Instant,
    /// The number of the message in flight.
    sequence: u64,
    open: bool,
}

impl Conn {
    fn next_message(&mut self, now: Instant) {
        self.sequence += 1;
        let seq = self.sequence.to_le_bytes();
        for (i, byte) in self.message.iter_mut().enumerate() {
            *byte = seq.get(i).copied().unwrap_or(i as u8);
        }
        self.written = 0;
        self.received.clear();
        self.sent_at = now;
    }

    /// Writes what is left of the message; Ok(()) also when the socket is full.
    fn write_rest(&mut self) -> std::io::Result<()> {
        while self.written < self.message.len() {
            match self.stream.write(&self.message[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// Reads what has arrived; returns whether the whole echo is in.
    fn read_echo(&mut self, buf: &mut [u8]) -> std::io::Result<bool> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.received.extend_from_slice(&buf[..n]);
                    if self.received.len() > self.message.len() {
                        return Err(std::io::Error::new(
                            ErrorKind::InvalidData,
                            "the server sent more bytes than the message in flight",
                        ));
                    }
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        if self.received.len() < self.message.len() {
            return Ok(false);
        }
        if self.received != self.message {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                format!("echo of message {} differs from what was sent", self.sequence),
            ));
        }
        Ok(true)
    }
}

fn connect(options: &Options, size: usize) -> Result<Vec<Conn>> {
    let timeout = Duration::try_from_secs_f64(options.connect_timeout)
        .context("--connect-timeout must be a positive number of seconds")?;
    (0..options.connections)
        .map(|i| {
            let stream = StdTcpStream::connect_timeout(&options.server, timeout).with_context(|| {
                format!("connection {i} to {} failed; is the echo server running?", options.server)
            })?;
            stream.set_nodelay(true).context("could not set TCP_NODELAY")?;
            stream.set_nonblocking(true).context("could not make the socket non-blocking")?;
            Ok(Conn {
                stream: TcpStream::from_std(stream),
                message: vec![0; size],
                written: 0,
                received: Vec::with_capacity(size),
                sent_at: Instant::now(),
                sequence: 0,
                open: true,
            })
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
            .register(&mut conn.stream, Token(i), Interest::READABLE | Interest::WRITABLE)
            .context("could not register a connection with epoll")?;
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_NS, 3)
        .context("could not create the latency histogram")?;
    let mut errors = 0u64;
    let mut buf = vec![0u8; size.max(64 * 1024)];

    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + secs;
    for (index, conn) in conns.iter_mut().enumerate() {
        conn.next_message(start);
        if let Err(err) = conn.write_rest() {
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
            let result = (|| -> std::io::Result<()> {
                if event.is_writable() {
                    conn.write_rest()?;
                }
                // Loop: a whole echo may already be in when the next message is sent.
                while conn.written == conn.message.len() && conn.read_echo(&mut buf)? {
                    let done = Instant::now();
                    if conn.sent_at >= measure_from && done <= end {
                        let ns = u64::try_from(done.duration_since(conn.sent_at).as_nanos())
                            .unwrap_or(u64::MAX)
                            .clamp(1, HISTOGRAM_MAX_NS);
                        histogram.record(ns).expect("the value is clamped into the histogram's range");
                    }
                    conn.next_message(done);
                    conn.write_rest()?;
                }
                Ok(())
            })();
            if let Err(err) = result {
                eprintln!("echo_load: connection {index}: {err}");
                conn.open = false;
                errors += 1;
                // Dropped from epoll; the socket closes when `conns` goes.
                let _ = poll.registry().deregister(&mut conn.stream);
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
