//! A TCP transfer between two simulated hosts that run the whole stack: the scenario
//! behind `sluice sim`, the throughput matrix and the capture checks.
//!
//! The client (10.0.0.1) connects to the server (10.0.0.2, port 5001) over one switched
//! segment and then runs a [`Workload`]: a bulk transfer of N bytes to the server, or M
//! request/response exchanges. Every byte comes from a seeded generator; each receiver
//! compares what it reads with the same generator and hashes it (FNV-1a, 64 bits), so a
//! transfer is verified byte for byte. Each side shuts down writing once its part is done
//! (the client after its last write in a bulk transfer, the server after its last response
//! in request/response) and reads to the end of the stream; the run ends when both
//! connections are closed, the one that closed first in TIME_WAIT.
//!
//! On the way, the run notes every frame each host sends ([`SegmentLog`]), applies the
//! simulator's event log to it (which frame was lost, duplicated, held back), and samples
//! the client's RTT estimator and congestion window at a fixed interval of virtual time.
//! Sampling reads state between simulation steps and never polls a host, so it cannot
//! change the run: the same scenario gives the same result with or without it.

use core::hash::Hasher;
use std::io;
use std::net::SocketAddrV4;
use std::path::PathBuf;

use fnv::FnvHasher;
use thiserror::Error;

use super::device::SimDevice;
use super::host::Host;
use super::link::{InvalidLinkConfig, LinkConfig, LinkStats};
use super::network::{Network, PortId};
use super::segment_log::{Content, SegmentLog, Side};
use super::stack_host::StackHost;
use crate::apps::{Ctx, Handler};
use crate::iface::{ConfigError, Interface, InterfaceConfig};
use crate::socket::{SocketError, SocketHandle, SocketSet, SocketSetConfig};
use crate::tcp::{State, TcpConfig, TcpStats};
use crate::time::{Duration, Instant};
use crate::wire::{self, EthernetAddress, Ipv4Addr, Ipv4Cidr};

pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const SERVER_PORT: u16 = 5001;
const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

/// Bytes generated, written or read per socket call.
const CHUNK: usize = 64 * 1024;
/// Virtual time the close may take after the workload is done.
pub const TEARDOWN_LIMIT: Duration = Duration::from_secs(120);
/// RTT samples kept at most: beyond, every other one is dropped and the interval doubles.
pub const MAX_SAMPLES: usize = 2048;

/// What the client and server do once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The client sends `bytes` bytes; the server reads them.
    Bulk { bytes: u64 },
    /// `requests` times: the client sends `request_size` bytes, the server reads them all
    /// and answers with `response_size` bytes, which the client reads before the next.
    RequestResponse { requests: u64, request_size: u64, response_size: u64 },
}

impl Workload {
    /// Bytes from client to server and from server to client in all.
    pub fn bytes(&self) -> (u64, u64) {
        match *self {
            Workload::Bulk { bytes } => (bytes, 0),
            Workload::RequestResponse { requests, request_size, response_size } => {
                (requests.saturating_mul(request_size), requests.saturating_mul(response_size))
            }
        }
    }

    fn script(&self, side: Side) -> Script {
        let (rounds, up, down) = match *self {
            Workload::Bulk { bytes } => (1, bytes, 0),
            Workload::RequestResponse { requests, request_size, response_size } => {
                (requests, request_size, response_size)
            }
        };
        match side {
            Side::Client => Script { rounds, write_len: up, read_len: down, writes_first: true },
            Side::Server => Script { rounds, write_len: down, read_len: up, writes_first: false },
        }
    }
}

/// A transfer to run; [`TransferScenario::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct TransferScenario {
    pub link: LinkConfig,
    /// Options of both hosts' sockets (buffers, congestion control, SACK...).
    pub tcp: TcpConfig,
    pub workload: Workload,
    /// Seeds the link's impairments, the ISN keys, the ephemeral ports and the data.
    pub seed: u64,
    /// Virtual time after which an unfinished transfer fails.
    pub time_limit: Duration,
    /// How often to sample the client's RTT estimator and window; `None`: never.
    pub sample_every: Option<Duration>,
    /// Keep every frame for [`SegmentLog::records`] (memory grows with the transfer).
    pub keep_segments: bool,
    /// Write a pcap of the wire here.
    pub pcap: Option<PathBuf>,
}

impl TransferScenario {
    /// Default TCP options, seed 1, an hour of virtual time, no samples, no records.
    pub fn new(link: LinkConfig, workload: Workload) -> TransferScenario {
        TransferScenario {
            link,
            tcp: TcpConfig::default(),
            workload,
            seed: 1,
            time_limit: Duration::from_secs(3600),
            sample_every: None,
            keep_segments: false,
            pcap: None,
        }
    }

    /// Runs the transfer to its end (or failure) in virtual time.
    pub fn run(&self) -> Result<TransferReport, ScenarioError> {
        self.link.validate()?;
        let mut net = Network::new(self.seed);
        let segment = net.add_segment(self.link.clone());
        let client_port = net.add_port(segment, CLIENT_MAC);
        let server_port = net.add_port(segment, SERVER_MAC);
        if let Some(path) = &self.pcap {
            net.capture_to_file(path)?;
        }

        let mut server = TracedHost::new(
            Side::Server,
            server_port,
            self.host_parts(Side::Server)?,
            Endpoint::new(Side::Server, self.workload.script(Side::Server), self.seed),
        );
        let listener = server.host.sockets.tcp_socket()?;
        server.host.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SERVER_PORT))?;
        server.host.sockets.listen(listener, 16)?;
        server.host.handler.listener = Some(listener);

        let mut client = TracedHost::new(
            Side::Client,
            client_port,
            self.host_parts(Side::Client)?,
            Endpoint::new(Side::Client, self.workload.script(Side::Client), self.seed),
        );
        let handle = client.host.sockets.tcp_socket()?;
        client.host.sockets.connect(handle, SocketAddrV4::new(SERVER_ADDR, SERVER_PORT), net.now())?;
        client.host.handler.socket = Some(handle);

        let mut log = SegmentLog::new(self.keep_segments);
        let mut sampler = self.sample_every.map(Sampler::new);
        let mut events_seen = 0u64;
        let mut events_missed = 0u64;
        let deadline = Instant::ZERO + self.time_limit;
        let mut failure = None;
        let mut completed_at = None;
        let mut final_window = None;
        let mut closed = None;
        loop {
            if let Some(f) = client.host.handler.failure.take().or_else(|| server.host.handler.failure.take())
            {
                failure = Some(f);
                break;
            }
            if let Some(done) = completed_at {
                if let (Some(a), Some(b)) = (client.closed_at, server.closed_at) {
                    closed = Some(a.max(b));
                    break;
                }
                if net.now() > done + TEARDOWN_LIMIT {
                    break;
                }
            } else if net.now() >= deadline {
                failure = Some(Failure::TimeLimit(self.time_limit));
                break;
            }
            let moved = net.step(&mut [&mut client, &mut server]);
            for host in [&mut client, &mut server] {
                for (time, len, content) in host.sent.drain(..) {
                    log.push(host.side, time, len, content);
                }
            }
            let discarded = net.events_discarded();
            let events = net.events();
            if events_seen < discarded {
                events_missed += discarded - events_seen;
                events_seen = discarded;
            }
            let start = usize::try_from(events_seen - discarded).unwrap_or(usize::MAX).min(events.len());
            for event in &events[start..] {
                let side = if event.sender == client_port { Side::Client } else { Side::Server };
                log.apply_event(side, event);
            }
            events_seen = discarded + events.len() as u64;
            if completed_at.is_none() {
                let done =
                    client.host.handler.done_at.zip(server.host.handler.done_at).map(|(a, b)| a.max(b));
                let current = client.sample(net.now());
                if let Some(sampler) = &mut sampler {
                    sampler.observe(done.unwrap_or(net.now()), current);
                }
                if let Some(at) = done {
                    completed_at = Some(at);
                    final_window = current.map(|s| RttSample { time: at, ..s });
                }
            }
            if !moved {
                if completed_at.is_none() {
                    failure = Some(Failure::Stalled);
                } else if let (Some(a), Some(b)) = (client.closed_at, server.closed_at) {
                    closed = Some(a.max(b));
                }
                break;
            }
        }
        net.finish_capture()?;

        let (up, down) = self.workload.bytes();
        Ok(TransferReport {
            failure,
            client_to_server: server.host.handler.incoming.check(&client.host.handler.outgoing, up),
            server_to_client: client.host.handler.incoming.check(&server.host.handler.outgoing, down),
            completed_at,
            closed: closed.is_some(),
            ended_at: closed.unwrap_or(net.now()),
            client_state: client.state(),
            server_state: server.state(),
            client_tcp: client.host.sockets.tcp_stats().clone(),
            server_tcp: server.host.sockets.tcp_stats().clone(),
            link: net.stats(segment),
            mss: client
                .host
                .handler
                .socket
                .and_then(|h| client.host.sockets.connection(h).ok())
                .map(|c| c.mss()),
            segments: log,
            sample_every: sampler.as_ref().map(|s| s.every),
            samples: sampler.map(|s| s.samples).unwrap_or_default(),
            final_window,
            round_times: core::mem::take(&mut client.host.handler.round_times),
            events_missed,
        })
    }

    fn host_parts(&self, side: Side) -> Result<(Interface, SocketSet), ScenarioError> {
        let (mac, addr, ident) = match side {
            Side::Client => (CLIENT_MAC, CLIENT_ADDR, 0x1000),
            Side::Server => (SERVER_MAC, SERVER_ADDR, 0x2000),
        };
        let mut config = InterfaceConfig::new(mac, Ipv4Cidr::new(addr, 24)?);
        config.ident_seed = ident;
        let iface = Interface::new(config)?;
        let key = splitmix(self.seed ^ (side.index() as u64 + 1).wrapping_mul(0x5851_f42d_4c95_7f2d));
        let mut secret = [0u8; 16];
        secret[..8].copy_from_slice(&key.to_le_bytes());
        secret[8..].copy_from_slice(&splitmix(key).to_le_bytes());
        let sockets = SocketSet::new(SocketSetConfig {
            ephemeral_seed: key,
            secret,
            tcp: self.tcp,
            ..SocketSetConfig::default()
        });
        Ok((iface, sockets))
    }
}

/// Why a scenario could not be set up or its capture not written.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("invalid link: {0}")]
    Link(#[from] InvalidLinkConfig),
    #[error("invalid interface: {0}")]
    Interface(#[from] ConfigError),
    #[error("invalid address: {0}")]
    Address(#[from] wire::Error),
    #[error("socket setup failed: {0}")]
    Socket(#[from] SocketError),
    #[error("cannot write the capture: {0}")]
    Capture(#[from] io::Error),
}

/// Why a transfer did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A socket call failed (the connection was refused, reset or timed out).
    Socket { side: Side, error: SocketError },
    /// The stream ended `at` bytes into a read the workload expected to complete.
    EarlyEnd { side: Side, at: u64 },
    /// Data arrived after the workload was done.
    ExtraData { side: Side },
    /// The virtual time limit passed.
    TimeLimit(Duration),
    /// Nothing was left to happen (no frame in flight, no timer) before completion.
    Stalled,
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::Socket { side, error } => write!(f, "{side}: {error}"),
            Failure::EarlyEnd { side, at } => {
                write!(f, "{side}: the stream ended early, {at} bytes into an exchange")
            }
            Failure::ExtraData { side } => write!(f, "{side}: more data arrived than was sent"),
            Failure::TimeLimit(limit) => write!(f, "not complete after {limit:?} of virtual time"),
            Failure::Stalled => write!(f, "the simulation went idle before the transfer completed"),
        }
    }
}

/// One direction's bytes, as written and as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCheck {
    /// Bytes the workload moves this way.
    pub expected: u64,
    /// Bytes the sender's socket accepted.
    pub sent: u64,
    pub received: u64,
    /// FNV-1a 64 of the bytes the sender generated.
    pub sent_hash: u64,
    /// FNV-1a 64 of the bytes the receiver read.
    pub received_hash: u64,
    /// Offset of the first byte read that differs from what was sent.
    pub first_mismatch: Option<u64>,
}

impl StreamCheck {
    /// Everything arrived, byte for byte.
    pub fn intact(&self) -> bool {
        self.sent == self.expected
            && self.received == self.expected
            && self.first_mismatch.is_none()
            && self.sent_hash == self.received_hash
    }
}

/// The client's RTT estimator and congestion window at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttSample {
    pub time: Instant,
    pub state: State,
    /// RFC 6298 SRTT and RTTVAR, once measured.
    pub srtt: Option<Duration>,
    pub rttvar: Option<Duration>,
    /// The retransmission timeout, backoff included.
    pub rto: Duration,
    pub cwnd: usize,
    /// `usize::MAX` until the first loss (RFC 5681 §3.1: "arbitrarily high").
    pub ssthresh: usize,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct TransferReport {
    pub failure: Option<Failure>,
    pub client_to_server: StreamCheck,
    pub server_to_client: StreamCheck,
    /// When the last byte of the workload was read (the run started at 0 with `connect`).
    pub completed_at: Option<Instant>,
    /// Both connections closed after the workload (the client's in TIME_WAIT).
    pub closed: bool,
    /// When both connections were closed, or the run stopped.
    pub ended_at: Instant,
    pub client_state: Option<State>,
    pub server_state: Option<State>,
    pub client_tcp: TcpStats,
    pub server_tcp: TcpStats,
    pub link: LinkStats,
    /// The client connection's effective MSS.
    pub mss: Option<usize>,
    pub segments: SegmentLog,
    /// The sampling interval at the end (it doubles when samples are thinned).
    pub sample_every: Option<Duration>,
    pub samples: Vec<RttSample>,
    /// The client's estimator and window when the workload completed.
    pub final_window: Option<RttSample>,
    /// How long each exchange took the client: from its first write to its last read.
    pub round_times: Vec<Duration>,
    /// Simulator events that left the bounded log before they were read (should be 0).
    pub events_missed: u64,
}

impl TransferReport {
    /// The workload completed and every byte arrived as sent, both ways.
    pub fn intact(&self) -> bool {
        self.failure.is_none()
            && self.completed_at.is_some()
            && self.client_to_server.intact()
            && self.server_to_client.intact()
    }

    /// From `connect` to the last byte read.
    pub fn transfer_time(&self) -> Option<Duration> {
        self.completed_at.map(|t| t - Instant::ZERO)
    }

    /// Application bytes moved (both ways) per second of transfer time, in bit/s.
    pub fn goodput_bps(&self) -> Option<f64> {
        let secs = self.transfer_time()?.as_secs_f64();
        let bytes = self.client_to_server.received + self.server_to_client.received;
        (secs > 0.0).then(|| bytes as f64 * 8.0 / secs)
    }
}

/// A host running the stack, noting every frame it queues.
struct TracedHost {
    side: Side,
    port: PortId,
    host: StackHost<Endpoint>,
    sent: Vec<(Instant, usize, Content)>,
    /// When the connection was first seen closed after the workload.
    closed_at: Option<Instant>,
}

impl TracedHost {
    fn new(side: Side, port: PortId, (iface, sockets): (Interface, SocketSet), app: Endpoint) -> TracedHost {
        TracedHost {
            side,
            port,
            host: StackHost::new(port, iface, sockets, app),
            sent: Vec::new(),
            closed_at: None,
        }
    }

    fn connection(&self) -> Option<&crate::tcp::Connection> {
        self.host.handler.socket.and_then(|h| self.host.sockets.connection(h).ok())
    }

    fn state(&self) -> Option<State> {
        self.connection().map(|c| c.state())
    }

    /// The connection is closed after the workload (TIME_WAIT counts for the side that
    /// closed first).
    fn is_closed(&self) -> bool {
        let app = &self.host.handler;
        app.shut && app.eof && matches!(self.state(), Some(State::Closed | State::TimeWait))
    }

    fn sample(&self, time: Instant) -> Option<RttSample> {
        let conn = self.connection()?;
        let rtt = conn.rtt();
        Some(RttSample {
            time,
            state: conn.state(),
            srtt: rtt.srtt(),
            rttvar: rtt.rttvar(),
            rto: rtt.rto(),
            cwnd: conn.cwnd(),
            ssthresh: conn.ssthresh(),
        })
    }
}

impl Host for TracedHost {
    fn port(&self) -> PortId {
        self.port
    }

    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        let before = device.tx_pending();
        self.host.poll(now, device);
        for frame in device.queued().skip(before) {
            self.sent.push((now, frame.len(), Content::parse(frame)));
        }
        if self.closed_at.is_none() && self.is_closed() {
            self.closed_at = Some(now);
        }
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.host.poll_at(now)
    }
}

/// Samples at `every`, 2 × `every`, ... of virtual time.
struct Sampler {
    every: Duration,
    next: Instant,
    samples: Vec<RttSample>,
}

impl Sampler {
    fn new(every: Duration) -> Sampler {
        let every = every.max(Duration::from_micros(1));
        Sampler { every, next: Instant::ZERO, samples: Vec::new() }
    }

    /// `current` holds from the last observation until `until` (exclusive): takes the
    /// samples due in between.
    fn observe(&mut self, until: Instant, current: Option<RttSample>) {
        let Some(sample) = current else {
            // Nothing to sample: skip to the first sample time not before `until`.
            if self.next < until {
                self.next = align_up(until, self.every);
            }
            return;
        };
        while self.next < until {
            self.samples.push(RttSample { time: self.next, ..sample });
            self.next += self.every;
            if self.samples.len() >= MAX_SAMPLES {
                self.thin();
            }
        }
    }

    /// Keeps the samples at multiples of twice the interval; the next one is due at the
    /// first such multiple not yet passed.
    fn thin(&mut self) {
        let every = self.every * 2;
        let step = every.as_micros().max(1);
        self.samples.retain(|s| u128::from(s.time.total_micros()) % step == 0);
        self.every = every;
        self.next = align_up(self.next, every);
    }
}

/// The first multiple of `every` at or after `t`.
fn align_up(t: Instant, every: Duration) -> Instant {
    let step = every.as_micros().max(1);
    let aligned = u128::from(t.total_micros()).div_ceil(step) * step;
    Instant::from_micros(u64::try_from(aligned).unwrap_or(u64::MAX))
}

/// One side's part of the workload: `rounds` times, write `write_len` bytes and read
/// `read_len` bytes (or read, then write); then shut down writing and read to the end.
#[derive(Debug, Clone, Copy)]
struct Script {
    rounds: u64,
    write_len: u64,
    read_len: u64,
    writes_first: bool,
}

/// The application on each host.
struct Endpoint {
    side: Side,
    script: Script,
    listener: Option<SocketHandle>,
    socket: Option<SocketHandle>,
    round: u64,
    written: u64,
    read: u64,
    round_started: Option<Instant>,
    round_times: Vec<Duration>,
    outgoing: Outgoing,
    incoming: Incoming,
    shut: bool,
    eof: bool,
    done_at: Option<Instant>,
    failure: Option<Failure>,
    buf: Vec<u8>,
}

impl Endpoint {
    fn new(side: Side, script: Script, seed: u64) -> Endpoint {
        // Each direction has its own stream, named after its sender.
        let stream = |from: Side| splitmix(seed.wrapping_add(0x1000 * (from.index() as u64 + 1)));
        Endpoint {
            side,
            script,
            listener: None,
            socket: None,
            round: 0,
            written: 0,
            read: 0,
            round_started: None,
            round_times: Vec::new(),
            outgoing: Outgoing::new(stream(side)),
            incoming: Incoming::new(stream(side.peer())),
            shut: false,
            eof: false,
            done_at: None,
            failure: None,
            buf: vec![0; CHUNK],
        }
    }

    fn step(&mut self, now: Instant, sockets: &mut SocketSet) -> Result<(), Failure> {
        let side = self.side;
        let fail = |error| Failure::Socket { side, error };
        let handle = match (self.socket, self.listener) {
            (Some(handle), _) => handle,
            (None, Some(listener)) => match sockets.accept(listener) {
                Ok((handle, _)) => {
                    self.socket = Some(handle);
                    handle
                }
                Err(SocketError::WouldBlock) => return Ok(()),
                Err(error) => return Err(fail(error)),
            },
            (None, None) => return Ok(()),
        };
        if let Some(error) = sockets.tcp_error(handle).map_err(fail)? {
            return Err(fail(error));
        }
        let script = self.script;
        while self.round < script.rounds {
            let started = *self.round_started.get_or_insert(now);
            let writing = self.written < script.write_len;
            let reading = self.read < script.read_len;
            let progress = if writing && (script.writes_first || !reading) {
                self.outgoing.write(sockets, handle, script.write_len - self.written).map_err(fail)?
            } else if reading {
                let want = usize::try_from(script.read_len - self.read).unwrap_or(usize::MAX).min(CHUNK);
                match sockets.recv(handle, &mut self.buf[..want]) {
                    Ok(0) => return Err(Failure::EarlyEnd { side, at: self.read }),
                    Ok(n) => {
                        self.incoming.feed(&self.buf[..n]);
                        n
                    }
                    Err(SocketError::WouldBlock) => 0,
                    Err(error) => return Err(fail(error)),
                }
            } else {
                self.round_times.push(now - started);
                self.round += 1;
                self.written = 0;
                self.read = 0;
                self.round_started = None;
                continue;
            };
            if progress == 0 {
                return Ok(());
            }
            if writing && (script.writes_first || !reading) {
                self.written += progress as u64;
            } else {
                self.read += progress as u64;
            }
        }
        self.done_at.get_or_insert(now);
        if !self.shut {
            sockets.shutdown_write(handle).map_err(fail)?;
            self.shut = true;
        }
        while !self.eof {
            match sockets.recv(handle, &mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(_) => return Err(Failure::ExtraData { side }),
                Err(SocketError::WouldBlock) => break,
                Err(error) => return Err(fail(error)),
            }
        }
        Ok(())
    }
}

/// A polled application: each poll moves the transfer as far as the buffers allow.
impl Handler for Endpoint {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        if self.failure.is_some() {
            return;
        }
        let now = ctx.now();
        if let Err(failure) = self.step(now, ctx.sockets()) {
            self.failure = Some(failure);
        }
    }
}

/// The bytes one side writes, generated as needed.
struct Outgoing {
    pattern: Pattern,
    hash: FnvHasher,
    chunk: Vec<u8>,
    offset: usize,
    sent: u64,
}

impl Outgoing {
    fn new(seed: u64) -> Outgoing {
        Outgoing {
            pattern: Pattern::new(seed),
            hash: FnvHasher::default(),
            chunk: Vec::new(),
            offset: 0,
            sent: 0,
        }
    }

    /// Writes at most `remaining` more bytes; returns how many the socket took.
    fn write(
        &mut self,
        sockets: &mut SocketSet,
        handle: SocketHandle,
        remaining: u64,
    ) -> Result<usize, SocketError> {
        if self.offset == self.chunk.len() {
            let len = usize::try_from(remaining).unwrap_or(usize::MAX).min(CHUNK);
            self.chunk.resize(len, 0);
            self.pattern.fill(&mut self.chunk);
            self.hash.write(&self.chunk);
            self.offset = 0;
        }
        match sockets.send(handle, &self.chunk[self.offset..]) {
            Ok(n) => {
                self.offset += n;
                self.sent += n as u64;
                Ok(n)
            }
            Err(SocketError::WouldBlock) => Ok(0),
            Err(error) => Err(error),
        }
    }
}

/// The bytes one side reads, compared with the sender's generator as they come.
struct Incoming {
    pattern: Pattern,
    hash: FnvHasher,
    expected: Vec<u8>,
    received: u64,
    first_mismatch: Option<u64>,
}

impl Incoming {
    fn new(seed: u64) -> Incoming {
        Incoming {
            pattern: Pattern::new(seed),
            hash: FnvHasher::default(),
            expected: Vec::new(),
            received: 0,
            first_mismatch: None,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        self.hash.write(data);
        self.expected.resize(data.len(), 0);
        self.pattern.fill(&mut self.expected);
        if self.first_mismatch.is_none() && data != &self.expected[..] {
            let at = data.iter().zip(&self.expected).position(|(a, b)| a != b).unwrap_or(0);
            self.first_mismatch = Some(self.received + at as u64);
        }
        self.received += data.len() as u64;
    }

    fn check(&self, sender: &Outgoing, expected: u64) -> StreamCheck {
        StreamCheck {
            expected,
            sent: sender.sent,
            received: self.received,
            sent_hash: sender.hash.finish(),
            received_hash: self.hash.finish(),
            first_mismatch: self.first_mismatch,
        }
    }
}

/// A deterministic byte stream (xorshift64*, eight bytes per step).
struct Pattern {
    state: u64,
    word: [u8; 8],
    used: usize,
}

impl Pattern {
    fn new(seed: u64) -> Pattern {
        Pattern { state: seed | 1, word: [0; 8], used: 8 }
    }

    fn next_word(&mut self) -> [u8; 8] {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes()
    }

    /// The next `buf.len()` bytes of the stream.
    fn fill(&mut self, buf: &mut [u8]) {
        let buffered = (8 - self.used).min(buf.len());
        buf[..buffered].copy_from_slice(&self.word[self.used..self.used + buffered]);
        self.used += buffered;
        let mut words = buf[buffered..].chunks_exact_mut(8);
        for word in &mut words {
            word.copy_from_slice(&self.next_word());
        }
        let tail = words.into_remainder();
        if !tail.is_empty() {
            self.word = self.next_word();
            tail.copy_from_slice(&self.word[..tail.len()]);
            self.used = tail.len();
        }
    }
}

/// SplitMix64's finaliser: spreads a seed over all 64 bits.
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_does_not_depend_on_chunking() {
        let mut whole = vec![0u8; 1000];
        Pattern::new(7).fill(&mut whole);
        let mut pieces = Pattern::new(7);
        let mut joined = Vec::new();
        for len in [0, 1, 3, 8, 5, 13, 64, 7, 899] {
            let mut piece = vec![0u8; len];
            pieces.fill(&mut piece);
            joined.extend_from_slice(&piece);
        }
        assert_eq!(joined, whole);
        let mut other = vec![0u8; 1000];
        Pattern::new(8).fill(&mut other);
        assert_ne!(other, whole);
    }

    #[test]
    fn incoming_finds_the_first_wrong_byte() {
        let mut data = vec![0u8; 300];
        Pattern::new(3).fill(&mut data);
        let mut incoming = Incoming::new(3);
        incoming.feed(&data[..100]);
        data[150] ^= 1;
        incoming.feed(&data[100..]);
        assert_eq!((incoming.received, incoming.first_mismatch), (300, Some(150)));
    }

    #[test]
    fn sampler_skips_time_with_nothing_to_sample() {
        let mut sampler = Sampler::new(Duration::from_micros(1));
        sampler.observe(Instant::from_secs(3600), None);
        assert!(sampler.samples.is_empty());
        assert_eq!(sampler.next, Instant::from_secs(3600));
        let mut sampler = Sampler::new(Duration::from_millis(3));
        sampler.observe(Instant::from_millis(10), None);
        assert_eq!(sampler.next, Instant::from_millis(12));
    }

    #[test]
    fn sampler_thins_to_a_bounded_series() {
        let mut sampler = Sampler::new(Duration::from_millis(1));
        let sample = RttSample {
            time: Instant::ZERO,
            state: State::Established,
            srtt: None,
            rttvar: None,
            rto: Duration::from_secs(1),
            cwnd: 14480,
            ssthresh: usize::MAX,
        };
        sampler.observe(Instant::from_secs(100), Some(sample));
        assert!(sampler.samples.len() < MAX_SAMPLES);
        assert!(sampler.samples.len() >= MAX_SAMPLES / 2 - 1, "{}", sampler.samples.len());
        let every = sampler.every.as_micros() as u64;
        assert!(sampler.samples.iter().enumerate().all(|(i, s)| s.time.total_micros() == i as u64 * every));
        assert!(sampler.next >= Instant::from_secs(100));
    }
}
