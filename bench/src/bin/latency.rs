//! Request/response latency against an echo server (RFC 862) over TCP or UDP, recorded in
//! an HDR histogram, for `cargo xtask bench latency`.
//!
//! Two ways to load the server:
//! - `closed`: each of `--connections` connections (UDP: sockets) keeps one request in
//!   flight and sends the next when the echo is back (ping-pong). Latency is from send to
//!   echo. The server's speed sets the request rate.
//! - `open`: requests go out at a fixed total `--rate`, on a timeline (round robin over
//!   the connections, pipelined on TCP), whether or not earlier echoes are back. Latency
//!   is measured from the time each request was *due*, not from when it was written, so a
//!   stall of the server (or of this client) counts fully for every request it delayed:
//!   no coordinated omission. This is the intended-start-time method of wrk2, not
//!   hdrhistogram's `record_correct`, which back-fills samples from an assumed interval
//!   after the fact; here every request's due time is known exactly.
//!
//! UDP requests carry a sequence number; one without an echo within `--loss-timeout`
//! counts as lost, an echo after that as late. Timing runs from `--warmup` on for `--secs`;
//! after that no request is started and the client waits (up to the loss timeout, or one
//! second on TCP) for the echoes of requests started in time.
//!
//! One thread and one epoll loop (mio) that sleeps between events; a timerfd wakes it when
//! the next request is due, to the microsecond (epoll's own timeout has millisecond
//! steps). Prints one JSON line; with `--hgrm PATH` also writes the distribution in
//! HdrHistogram's percentile text format (µs).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use sluice_bench::echo_datagram::EchoDatagram;
use sluice_bench::echo_stream::EchoStream;
use sluice_bench::hgrm;
use sluice_bench::schedule::Schedule;
use sluice_bench::timer::Timer;

#[derive(Parser)]
#[command(about = "Echo request/response latency, closed or open loop, TCP or UDP, HDR histogram")]
struct Options {
    /// The echo server.
    #[arg(long, value_name = "IP:PORT")]
    server: SocketAddr,
    #[arg(long, value_enum, default_value_t = Protocol::Tcp)]
    protocol: Protocol,
    #[arg(long, value_enum, default_value_t = Mode::Closed)]
    mode: Mode,
    /// Connections (UDP: sockets).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    connections: u32,
    /// Open mode: requests per second, all connections together.
    #[arg(long, value_name = "PER_SEC", required_if_eq("mode", "open"))]
    rate: Option<f64>,
    /// Bytes per request (and echo); UDP needs at least 8.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65_000))]
    size: u32,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// UDP: seconds after which a request without echo counts as lost.
    #[arg(long, default_value_t = 0.5)]
    loss_timeout: f64,
    /// How long each TCP connect may take.
    #[arg(long, default_value_t = 5.0)]
    connect_timeout: f64,
    /// Also write the distribution (µs) in HdrHistogram's percentile text format here.
    #[arg(long, value_name = "PATH")]
    hgrm: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Protocol {
    Tcp,
    Udp,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Mode {
    Closed,
    Open,
}

/// Latencies are recorded in nanoseconds, from 1 ns to 60 s, to 3 significant digits.
const HISTOGRAM_MAX_NS: u64 = 60_000_000_000;
/// How long the TCP client waits after the measured window for the last echoes.
const TCP_DRAIN: Duration = Duration::from_secs(1);
/// The epoll token of the wake-up timer (connections are numbered from 0).
const TIMER: Token = Token(usize::MAX);

/// One connection or socket to the server.
enum Endpoint {
    Tcp(EchoStream),
    Udp(EchoDatagram),
}

impl Endpoint {
    fn send(&mut self, start: Instant, now: Instant) -> std::io::Result<()> {
        match self {
            Endpoint::Tcp(stream) => stream.send(start),
            Endpoint::Udp(socket) => socket.send(start, now),
        }
    }

    fn in_flight(&self) -> usize {
        match self {
            Endpoint::Tcp(stream) => stream.in_flight(),
            Endpoint::Udp(socket) => socket.in_flight(),
        }
    }
}

/// A connection and whether it is still usable.
struct Slot {
    endpoint: Endpoint,
    open: bool,
}

/// Which requests count: those started inside the measured window.
#[derive(Clone, Copy)]
struct Window {
    from: Instant,
    to: Instant,
}

impl Window {
    fn holds(&self, start: Instant) -> bool {
        start >= self.from && start < self.to
    }
}

/// What one run measured.
struct Outcome {
    histogram: Histogram<u64>,
    /// Requests started inside the window.
    requests: u64,
    errors: u64,
    lost: u64,
    late: u64,
    /// Requests of the window still unanswered when the client gave up waiting.
    unanswered: u64,
    /// Open loop: how long after its due time each request of the window was written
    /// (this client's own delay, included in `histogram`).
    send_lag: Histogram<u64>,
}

fn seconds(value: f64, name: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("{name} must be a number of seconds >= 0"))
}

fn connect(options: &Options, poll: &Poll) -> Result<Vec<Slot>> {
    let size = options.size as usize;
    let connect_timeout = seconds(options.connect_timeout, "--connect-timeout")?;
    let loss_timeout = seconds(options.loss_timeout, "--loss-timeout")?;
    (0..options.connections as usize)
        .map(|i| {
            let mut endpoint = match options.protocol {
                Protocol::Tcp => Endpoint::Tcp(
                    EchoStream::connect(options.server, connect_timeout, size)
                        .with_context(|| format!("connection {i}"))?,
                ),
                Protocol::Udp => Endpoint::Udp(EchoDatagram::connect(options.server, size, loss_timeout)?),
            };
            let registered = match &mut endpoint {
                Endpoint::Tcp(stream) => poll.registry().register(
                    stream.source(),
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                ),
                Endpoint::Udp(socket) => {
                    poll.registry().register(socket.source(), Token(i), Interest::READABLE)
                }
            };
            registered.context("could not register a socket with epoll")?;
            Ok(Slot { endpoint, open: true })
        })
        .collect()
}

fn run(options: &Options) -> Result<Outcome> {
    let warmup = seconds(options.warmup, "--warmup")?;
    let secs = seconds(options.secs, "--secs")?;
    if secs.is_zero() {
        bail!("--secs must be > 0 seconds");
    }
    let drain = match options.protocol {
        Protocol::Tcp => TCP_DRAIN,
        Protocol::Udp => seconds(options.loss_timeout, "--loss-timeout")?,
    };
    let mut poll = Poll::new().context("could not create an epoll instance")?;
    let mut slots = connect(options, &poll)?;
    let timer = Timer::new().context("could not create a timerfd")?;
    poll.registry()
        .register(&mut timer.source(), TIMER, Interest::READABLE)
        .context("could not register the timerfd with epoll")?;
    let histogram = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_NS, 3)
        .context("could not create the latency histogram")?;
    let mut outcome = Outcome {
        send_lag: histogram.clone(),
        histogram,
        requests: 0,
        errors: 0,
        lost: 0,
        late: 0,
        unanswered: 0,
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = Vec::new();
    let mut lost = Vec::new();

    let start = Instant::now();
    let window = Window { from: start + warmup, to: start + warmup + secs };
    let give_up = window.to + drain;
    let mut schedule = match options.mode {
        Mode::Open => {
            let rate = options.rate.expect("clap requires --rate in open mode");
            if !(rate.is_finite() && rate > 0.0) {
                bail!("--rate must be a positive number of requests per second, not {rate}");
            }
            Some(Schedule::new(start, rate))
        }
        Mode::Closed => None,
    };
    let mut next_slot = 0usize;

    /// Marks a slot failed after an I/O error: reported, counted, dropped from epoll.
    fn fail(slot: &mut Slot, index: usize, err: &std::io::Error, poll: &Poll, errors: &mut u64) {
        eprintln!("latency: connection {index}: {err}");
        slot.open = false;
        *errors += 1;
        let _ = match &mut slot.endpoint {
            Endpoint::Tcp(stream) => poll.registry().deregister(stream.source()),
            Endpoint::Udp(socket) => poll.registry().deregister(socket.source()),
        };
    }

    if schedule.is_none() {
        for (index, slot) in slots.iter_mut().enumerate() {
            if window.holds(start) {
                outcome.requests += 1;
            }
            if let Err(err) = slot.endpoint.send(start, start) {
                fail(slot, index, &err, &poll, &mut outcome.errors);
            }
        }
    }

    let mut events = Events::with_capacity(slots.len().min(1024));
    loop {
        let now = Instant::now();
        if slots.iter().all(|s| !s.open) {
            bail!("every connection failed ({} errors); see the messages above", outcome.errors);
        }
        let sending = now < window.to;
        let waiting = slots.iter().any(|s| s.open && s.endpoint.in_flight() > 0);
        if now >= give_up || (!sending && !waiting) {
            break;
        }

        // Open loop: send every request that has fallen due, each with its due time.
        if let Some(schedule) = schedule.as_mut().filter(|_| sending) {
            while let Some(due) = schedule.take_due(now) {
                if due >= window.to {
                    break;
                }
                let index = (next_slot..slots.len())
                    .chain(0..next_slot)
                    .find(|&i| slots[i].open)
                    .expect("an open connection exists");
                next_slot = (index + 1) % slots.len();
                if window.holds(due) {
                    outcome.requests += 1;
                    let lag = now.duration_since(due).as_nanos();
                    let lag = u64::try_from(lag).unwrap_or(u64::MAX).clamp(1, HISTOGRAM_MAX_NS);
                    outcome.send_lag.record(lag).expect("the value is clamped into the histogram's range");
                }
                let slot = &mut slots[index];
                if let Err(err) = slot.endpoint.send(due, now) {
                    fail(slot, index, &err, &poll, &mut outcome.errors);
                }
            }
        }

        // UDP: requests without echo for too long are lost; closed loop sends the next.
        for (index, slot) in slots.iter_mut().enumerate().filter(|(_, s)| s.open) {
            let Endpoint::Udp(socket) = &mut slot.endpoint else { continue };
            socket.expire(now, &mut lost);
            outcome.lost += lost.iter().filter(|&&s| window.holds(s)).count() as u64;
            let mut result = Ok(());
            if schedule.is_none() && sending {
                for _ in lost.drain(..) {
                    if window.holds(now) {
                        outcome.requests += 1;
                    }
                    result = result.and_then(|()| slot.endpoint.send(now, now));
                }
            }
            lost.clear();
            if let Err(err) = result {
                fail(slot, index, &err, &poll, &mut outcome.errors);
            }
        }

        let mut wake = if sending { window.to } else { give_up };
        if let Some(due) = schedule.as_ref().filter(|_| sending).map(Schedule::next_due) {
            wake = wake.min(due);
        }
        for slot in slots.iter().filter(|s| s.open) {
            if let Endpoint::Udp(socket) = &slot.endpoint {
                wake = socket.next_expiry().map_or(wake, |e| wake.min(e));
            }
        }
        timer.arm(wake.saturating_duration_since(now)).context("could not arm the timerfd")?;
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("epoll_wait failed"),
        }
        for event in &events {
            if event.token() == TIMER {
                timer.clear().context("could not read the timerfd")?;
                continue;
            }
            let index = event.token().0;
            let slot = &mut slots[index];
            if !slot.open {
                continue;
            }
            let result = match &mut slot.endpoint {
                Endpoint::Tcp(stream) => stream.flush().and_then(|()| stream.receive(&mut buf, &mut done)),
                Endpoint::Udp(socket) => socket.receive(&mut done),
            };
            let finished = Instant::now();
            for &started in &done {
                if window.holds(started) {
                    let ns = u64::try_from(finished.duration_since(started).as_nanos())
                        .unwrap_or(u64::MAX)
                        .clamp(1, HISTOGRAM_MAX_NS);
                    outcome.histogram.record(ns).expect("the value is clamped into the histogram's range");
                }
            }
            // Closed loop: the next request goes out as soon as the echo is in.
            let mut result = result;
            if schedule.is_none() && finished < window.to {
                for _ in 0..done.len() {
                    if window.holds(finished) {
                        outcome.requests += 1;
                    }
                    result = result.and_then(|()| slot.endpoint.send(finished, finished));
                }
            }
            done.clear();
            if let Err(err) = result {
                fail(slot, index, &err, &poll, &mut outcome.errors);
            }
        }
    }
    for slot in &slots {
        if let Endpoint::Udp(socket) = &slot.endpoint {
            outcome.late += socket.late();
        }
    }
    outcome.unanswered = outcome.requests.saturating_sub(outcome.histogram.len() + outcome.lost);
    Ok(outcome)
}

fn main() -> Result<()> {
    let options = Options::parse();
    let outcome = run(&options)?;
    let h = &outcome.histogram;
    if let Some(path) = &options.hgrm {
        std::fs::write(path, hgrm::percentile_distribution(h, 1000.0))
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    let line = serde_json::json!({
        "protocol": format!("{:?}", options.protocol).to_lowercase(),
        "mode": format!("{:?}", options.mode).to_lowercase(),
        "connections": options.connections,
        "rate": options.rate,
        "size": options.size,
        "seconds": options.secs,
        "requests": outcome.requests,
        "responses": h.len(),
        "responses_per_sec": h.len() as f64 / options.secs,
        "p50_us": us(h.value_at_quantile(0.50)),
        "p90_us": us(h.value_at_quantile(0.90)),
        "p99_us": us(h.value_at_quantile(0.99)),
        "p999_us": us(h.value_at_quantile(0.999)),
        "p9999_us": us(h.value_at_quantile(0.9999)),
        "max_us": us(h.max()),
        "mean_us": h.mean() / 1000.0,
        "send_lag_p50_us": us(outcome.send_lag.value_at_quantile(0.50)),
        "send_lag_p99_us": us(outcome.send_lag.value_at_quantile(0.99)),
        "errors": outcome.errors,
        "lost": outcome.lost,
        "late": outcome.late,
        "unanswered": outcome.unanswered,
    });
    println!("{line}");
    Ok(())
}
