//! TCP sockets in the descriptor table: the socket kinds (idle, listener, connection),
//! readiness, and a connection's dispatch through the output context. The rest, one
//! concept each: `calls` (the BSD calls: `listen`, `accept`, `connect`, `send`, `recv`,
//! `shutdown`, `close`, options), `demux` (an arriving segment's way to its connection,
//! handshake or listener), `lifecycle` (timers, transmit list, events, freeing) and
//! `tables` (the 4-tuple and listener tables, timer heap, SYN queue, budgets).
//!
//! Lookups are hashes: an arriving segment finds its connection by 4-tuple, or a listener
//! by (address, port) then (wildcard, port). Timers sit in a heap keyed by deadline, with
//! at most one live entry per connection, so polling never scans the table.

use core::net::SocketAddrV4;
use std::collections::VecDeque;

use super::output::{Blocked, IpOutput, IpPayload, OutboundPacket, Sent, DISPATCH_BATCH};
use super::{SocketError, SocketHandle};
use crate::tcp::{Connection, State, TcpConfig, TcpError, TcpStats};
use crate::time::Instant;
use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};

mod calls;
mod demux;
mod lifecycle;
mod tables;

pub(crate) use tables::TcpTables;

/// Local and remote endpoints of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourTuple {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
}

/// A TCP socket, through its life.
#[derive(Debug)]
pub enum TcpSocket {
    /// After `socket()` (and maybe `bind()`): neither listening nor connected.
    Idle {
        local: Option<SocketAddrV4>,
        config: TcpConfig,
        linger_zero: bool,
    },
    Listener(Listener),
    Connection(Box<TcpConnection>),
}

/// A listening socket and its queues (the seeds' server side: bind, listen, accept).
#[derive(Debug)]
pub struct Listener {
    pub local: SocketAddrV4,
    pub backlog: usize,
    /// Established connections `accept` has not taken yet.
    pub accept_queue: VecDeque<SocketHandle>,
    /// Handshakes in progress: this listener's records in the SYN queue.
    pub half_open: usize,
    /// When this listener last answered a SYN with a cookie: ACKs are checked for
    /// cookies only while one may still be valid (Linux `tcp_synq_no_recent_overflow`).
    pub last_cookie_at: Option<Instant>,
    pub config: TcpConfig,
}

/// A connection and what the table keeps about it.
#[derive(Debug)]
pub struct TcpConnection {
    pub conn: Connection,
    /// The application has closed its descriptor; the slot is freed when the
    /// connection finishes.
    pub closed_by_app: bool,
    pub linger_zero: bool,
    /// The deadline registered in the timer heap.
    timer_at: Option<Instant>,
    /// Buffer bytes counted against the set's memory budget.
    charged: usize,
    /// Since when the connection is an orphan (closed by the application, still closing).
    orphan_since: Option<Instant>,
    /// Since when the connection, closed by the application, is in TIME_WAIT.
    time_wait_since: Option<Instant>,
    /// The state when events were last reported.
    reported: Readiness,
}

impl TcpConnection {
    fn new(conn: Connection, linger_zero: bool) -> TcpConnection {
        TcpConnection {
            conn,
            closed_by_app: false,
            linger_zero,
            timer_at: None,
            charged: 0,
            orphan_since: None,
            time_wait_since: None,
            reported: Readiness::default(),
        }
    }
}

/// What `poll`-style readiness reports for a socket (epoll's EPOLLIN, EPOLLOUT, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// Data, end of stream or an error to read; for a listener, a connection to accept.
    pub readable: bool,
    /// Room in the send buffer.
    pub writable: bool,
    /// The handshake completed.
    pub connected: bool,
    /// The connection is over (both directions closed, reset or failed).
    pub closed: bool,
    /// An error is pending (`take_error`).
    pub error: bool,
}

/// What the interface must do with a TCP segment after the table has seen it.
#[derive(Debug)]
pub enum TcpInput {
    /// A connection or listener took it.
    Handled,
    /// Nobody wants it: answer with this RST (RFC 9293 §3.10.7.1).
    Reset(TcpRepr<'static>),
    /// A listener answers a SYN with this SYN-ACK (RFC 9293 §3.10.7.2), at once.
    SynAck(TcpRepr<'static>),
    /// Dropped without an answer (counted in `TcpStats`).
    Dropped,
}

fn tcp_error(error: TcpError, remote: SocketAddrV4) -> SocketError {
    match error {
        TcpError::ConnectionRefused => SocketError::ConnectionRefused(*remote.ip()),
        TcpError::ConnectionReset => SocketError::ConnectionReset,
        TcpError::TimedOut => SocketError::TimedOut,
        TcpError::WouldBlock => SocketError::WouldBlock,
        TcpError::NotConnected | TcpError::Closed => SocketError::NotConnected,
    }
}

/// RFC 9293 §3.10.7.1: the RST answering a segment no socket wants.
pub fn reset_for(seg: &TcpRepr<'_>) -> Option<TcpRepr<'static>> {
    if seg.flags.contains(TcpFlags::RST) {
        return None;
    }
    let (seq, ack, flags) = if seg.flags.contains(TcpFlags::ACK) {
        (seg.ack_number, SeqNumber(0), TcpFlags::RST)
    } else {
        (SeqNumber(0), seg.seq_number + seg.segment_len(), TcpFlags::RST | TcpFlags::ACK)
    };
    Some(TcpRepr {
        src_port: seg.dst_port,
        dst_port: seg.src_port,
        seq_number: seq,
        ack_number: ack,
        flags,
        window_len: 0,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    })
}

impl TcpConnection {
    /// Sends up to [`DISPATCH_BATCH`] ready segments, each written straight from the send
    /// buffer into a device buffer. Segments carry DF: TCP sizes them to the MTU itself.
    pub(super) fn dispatch(
        &mut self,
        now: Instant,
        stats: &mut TcpStats,
        out: &mut impl IpOutput,
    ) -> Result<(), Blocked> {
        let src = *self.conn.local().ip();
        let dst = *self.conn.remote().ip();
        for sent in 0..DISPATCH_BATCH {
            let conn = &mut self.conn;
            let stats = &mut *stats;
            let outcome = out.send(dst, move || {
                let segment = conn.next_segment(now, stats)?;
                let conn: &Connection = conn;
                let payload = IpPayload::Tcp { repr: segment.repr, data: conn.payload(&segment) };
                Some(OutboundPacket { src, ttl: None, dont_frag: true, payload })
            })?;
            if outcome == Sent::Nothing {
                // `wants_to_send` must imply a segment, or the connection would be put back
                // on the transmit list forever without sending anything.
                debug_assert!(
                    sent > 0 || !self.conn.wants_to_send(),
                    "connection wants to send but has no segment"
                );
                break;
            }
        }
        Ok(())
    }
}

fn readiness_of(conn: &Connection) -> Readiness {
    let closed = conn.state() == State::Closed || (conn.state() == State::TimeWait);
    Readiness {
        readable: conn.is_readable(),
        writable: conn.is_writable(),
        connected: conn.is_established() || (closed && conn.error().is_none() && conn.was_established()),
        closed,
        error: conn.error().is_some(),
    }
}
