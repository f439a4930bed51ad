//! The HTTP/1.1 echo server on the in-worker event API: one instance per worker, one
//! [`HttpEchoConnection`] per connection (reused from a pool), responses written straight
//! into the send path.
//!
//! Received bytes are handed to the HTTP state machine in place (the receive buffer's
//! front, no copy); it takes no more than it can answer within its output limit, so a
//! client that pipelines faster than it reads is slowed by TCP's window, not by memory.
//!
//! Each connection runs the request-head or the keep-alive timeout of [`HttpTimeouts`];
//! the deadlines wait in a [`DeadlineQueue`] that `poll` drains, so expiry never scans
//! the connections.
//!
//! When the server closes first (after an error response or `Connection: close`) it
//! closes lingering, as nginx does (RFC 9112 §9.6): the FIN follows the last response,
//! and what the client still sends is read and dropped until the client closes too or
//! the lingering timeouts end it. Closing with unread bytes would make TCP answer with a
//! RST (RFC 9293 §3.6.1, RFC 2525 §2.17), and a RST makes the client's TCP throw away
//! the response it has not read yet.

use core::net::SocketAddrV4;
use std::collections::HashMap;

use super::http::{
    DeadlineQueue, HttpCounters, HttpEchoConfig, HttpEchoConnection, HttpTimeoutCounters, HttpTimeouts,
    HttpWait,
};
use crate::apps::{Ctx, Handler};
use crate::socket::{SocketError, SocketHandle};
use crate::time::Instant;

/// The default HTTP echo port.
pub const HTTP_ECHO_PORT: u16 = 8080;

/// Connections kept for reuse after they close.
const POOL: usize = 1024;

/// Superseded queue entries tolerated, beyond one per connection, before compaction.
const QUEUE_SLACK: usize = 1024;

/// One connection: its HTTP state and its timer.
#[derive(Debug)]
struct Session {
    http: HttpEchoConnection,
    /// Distinguishes this connection from an earlier one with the same handle.
    generation: u64,
    /// The timeout running, and when it expires (`None` while busy).
    wait: HttpWait,
    deadline: Option<Instant>,
    /// The deadline of this session's live entry in the queue, if any.
    queued_at: Option<Instant>,
    /// While lingering: when the lingering close ends at the latest.
    linger_until: Option<Instant>,
}

#[derive(Debug)]
pub struct HttpEchoService {
    port: u16,
    config: HttpEchoConfig,
    timeouts: HttpTimeouts,
    sessions: HashMap<SocketHandle, Session>,
    pool: Vec<HttpEchoConnection>,
    deadlines: DeadlineQueue,
    next_generation: u64,
    /// Requests answered on this worker, by status, from connections already closed.
    pub counters: HttpCounters,
    /// Connections this worker closed because a timeout expired.
    pub timeout_counters: HttpTimeoutCounters,
}

impl HttpEchoService {
    pub fn new(port: u16, config: HttpEchoConfig) -> HttpEchoService {
        HttpEchoService::with_timeouts(port, config, HttpTimeouts::DEFAULT)
    }

    pub fn with_timeouts(port: u16, config: HttpEchoConfig, timeouts: HttpTimeouts) -> HttpEchoService {
        HttpEchoService {
            port,
            config,
            timeouts,
            sessions: HashMap::new(),
            pool: Vec::new(),
            deadlines: DeadlineQueue::default(),
            next_generation: 0,
            counters: HttpCounters::default(),
            timeout_counters: HttpTimeoutCounters::default(),
        }
    }

    /// Connections open on this worker.
    pub fn connections(&self) -> usize {
        self.sessions.len()
    }

    /// Sends pending responses, then feeds received bytes, until either side blocks.
    fn serve(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let Some(session) = self.sessions.get_mut(&conn) else { return };
        if session.linger_until.is_some() {
            self.linger(ctx, conn);
            return;
        }
        match drive(ctx, conn, &mut session.http) {
            Drive::Wait => self.update_timer(ctx.now(), conn),
            Drive::Close => self.finish(ctx, conn),
            Drive::Linger => self.start_lingering(ctx, conn),
        }
    }

    /// Sends the FIN after the last response and starts draining the client.
    fn start_lingering(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        if ctx.shutdown_write(conn).is_err() {
            self.finish(ctx, conn);
            return;
        }
        let Some(session) = self.sessions.get_mut(&conn) else { return };
        session.linger_until = Some(ctx.now() + self.timeouts.lingering_time);
        self.timeout_counters.lingering_closes += 1;
        self.linger(ctx, conn);
    }

    /// Reads and drops what the client sends; closes at its end of stream. Each byte
    /// read restarts `lingering_timeout`, within `lingering_time` of the start.
    fn linger(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let mut drained = false;
        let peer_done = loop {
            match ctx.recv_in_place(conn, |data| (data.len(), data.len())) {
                Ok(Some(0)) | Err(SocketError::WouldBlock) => break false,
                Ok(Some(_)) => drained = true,
                Ok(None) | Err(_) => break true,
            }
        };
        if peer_done {
            self.finish(ctx, conn);
            return;
        }
        let Some(session) = self.sessions.get_mut(&conn) else { return };
        let Some(until) = session.linger_until else { return };
        if drained || session.wait != HttpWait::Lingering {
            session.wait = HttpWait::Lingering;
            let deadline = (ctx.now() + self.timeouts.lingering_timeout).min(until);
            self.set_deadline(conn, Some(deadline));
        }
    }

    /// Starts the timeout that fits the connection's state, unless it is already running.
    fn update_timer(&mut self, now: Instant, conn: SocketHandle) {
        let Some(session) = self.sessions.get_mut(&conn) else { return };
        let mut wait = session.http.wait();
        if wait == HttpWait::Keepalive && session.http.counters().requests == 0 {
            // Before the first request the head timeout runs (nginx: post-accept).
            wait = HttpWait::RequestHead;
        }
        if wait == session.wait {
            return;
        }
        session.wait = wait;
        let deadline = match wait {
            HttpWait::RequestHead => Some(now + self.timeouts.request_head),
            HttpWait::Keepalive => Some(now + self.timeouts.keepalive),
            HttpWait::Busy | HttpWait::Lingering => None,
        };
        self.set_deadline(conn, deadline);
    }

    /// Makes `deadline` the connection's timeout (`None`: no timeout runs).
    fn set_deadline(&mut self, conn: SocketHandle, deadline: Option<Instant>) {
        let Some(session) = self.sessions.get_mut(&conn) else { return };
        session.deadline = deadline;
        if let Some(deadline) = deadline {
            // A later deadline is found by re-queueing when the earlier entry surfaces.
            if session.queued_at.is_none_or(|queued| deadline < queued) {
                session.queued_at = Some(deadline);
                self.deadlines.push(deadline, conn, session.generation);
                self.compact_deadlines();
            }
        }
    }

    /// Drops superseded entries once they outnumber the connections.
    fn compact_deadlines(&mut self) {
        if self.deadlines.len() <= self.sessions.len() + QUEUE_SLACK {
            return;
        }
        let sessions = &self.sessions;
        self.deadlines.retain(|at, conn, generation| {
            sessions.get(&conn).is_some_and(|s| s.generation == generation && s.queued_at == Some(at))
        });
    }

    /// Closes every connection whose timeout has expired at `now`.
    fn expire(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        while let Some((at, conn, generation)) = self.deadlines.pop_due(now) {
            let Some(session) = self.sessions.get_mut(&conn) else { continue };
            if session.generation != generation || session.queued_at != Some(at) {
                continue;
            }
            session.queued_at = None;
            match session.deadline {
                None => {}
                Some(deadline) if deadline > now => {
                    session.queued_at = Some(deadline);
                    self.deadlines.push(deadline, conn, generation);
                }
                Some(_) => {
                    match session.wait {
                        HttpWait::RequestHead => self.timeout_counters.request_head += 1,
                        HttpWait::Keepalive => self.timeout_counters.keepalive += 1,
                        HttpWait::Lingering => self.timeout_counters.lingering_expired += 1,
                        HttpWait::Busy => {}
                    }
                    self.finish(ctx, conn);
                }
            }
        }
    }

    /// Closes a connection and returns its state machine to the pool.
    fn finish(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let _ = ctx.close(conn);
        if let Some(mut session) = self.sessions.remove(&conn) {
            self.counters += session.http.take_counters();
            if self.pool.len() < POOL {
                session.http.reset();
                self.pool.push(session.http);
            }
        }
    }
}

impl Handler for HttpEchoService {
    fn start(&mut self, ctx: &mut Ctx<'_>) -> Result<(), SocketError> {
        ctx.listen(self.port, 4096).map(|_| ())
    }

    fn on_accept(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle, _peer: SocketAddrV4) {
        let http = self.pool.pop().unwrap_or_else(|| HttpEchoConnection::new(self.config));
        let generation = self.next_generation;
        self.next_generation += 1;
        let session = Session {
            http,
            generation,
            wait: HttpWait::Busy,
            deadline: None,
            queued_at: None,
            linger_until: None,
        };
        self.sessions.insert(conn, session);
        let _ = ctx.set_nodelay(conn, true);
        self.serve(ctx, conn);
    }

    fn on_readable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        self.serve(ctx, conn);
    }

    fn on_writable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        self.serve(ctx, conn);
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        self.finish(ctx, conn);
    }

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        self.expire(ctx);
    }

    fn poll_at(&self, _now: Instant) -> Option<Instant> {
        self.deadlines.next()
    }

    fn counters(&self, out: &mut Vec<(&'static str, u64)>) {
        let mut served = self.counters;
        for session in self.sessions.values() {
            served += *session.http.counters();
        }
        let timeouts = self.timeout_counters;
        out.extend([
            ("http_connections_now", self.sessions.len() as u64),
            ("http_requests", served.requests),
            ("http_continues", served.continues),
            ("http_ok", served.ok),
            ("http_bad_request", served.bad_request),
            ("http_content_too_large", served.content_too_large),
            ("http_header_fields_too_large", served.header_fields_too_large),
            ("http_not_implemented", served.not_implemented),
            ("http_version_not_supported", served.version_not_supported),
            ("http_request_head_timeouts", timeouts.request_head),
            ("http_keepalive_timeouts", timeouts.keepalive),
            ("http_lingering_closes", timeouts.lingering_closes),
            ("http_lingering_expired", timeouts.lingering_expired),
        ]);
    }
}
#[derive(Debug, PartialEq, Eq)]
enum Drive {
    /// Waiting for the peer's bytes or for room in the send buffer.
    Wait,
    /// The peer has closed (or the connection failed): close it.
    Close,
    /// Every response is in the send buffer and the server closes first: linger.
    Linger,
}

fn drive(ctx: &mut Ctx<'_>, conn: SocketHandle, session: &mut HttpEchoConnection) -> Drive {
    let mut peer_done = false;
    loop {
        // Output first: the state machine takes input only while it has room.
        while !session.output().is_empty() {
            match ctx.send(conn, session.output()) {
                Ok(n) => session.consume_output(n),
                Err(SocketError::WouldBlock) => return Drive::Wait,
                Err(_) => return Drive::Close,
            }
        }
        if session.should_close() {
            // Every response is in the send buffer: the FIN follows it.
            return if peer_done { Drive::Close } else { Drive::Linger };
        }
        if !session.wants_input() {
            return Drive::Wait;
        }
        let read = ctx.recv_in_place(conn, |data| {
            let taken = session.on_bytes(data);
            (taken, taken)
        });
        match read {
            // Took nothing while wanting input, with no output to send: nothing can move.
            Ok(Some(0)) if session.output().is_empty() => return Drive::Wait,
            Ok(Some(_)) => {}
            Ok(None) => {
                peer_done = true;
                session.on_eof();
            }
            Err(SocketError::WouldBlock) => return Drive::Wait,
            Err(_) => return Drive::Close,
        }
    }
}
