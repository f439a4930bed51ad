//! TCP sockets in the descriptor table: the BSD calls (`listen`, `accept`, `connect`,
//! `send`, `recv`, `shutdown`, `close`), the 4-tuple and listener tables, the timer queue
//! and readiness events.
//!
//! Lookups are hashes: an arriving segment finds its connection by 4-tuple, or a listener
//! by (address, port) then (wildcard, port). Timers sit in a heap keyed by deadline, with
//! at most one live entry per connection, so polling never scans the table.

use core::cmp::Reverse;
use core::net::SocketAddrV4;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use super::output::{Blocked, IpOutput, IpPayload, OutboundPacket, Sent, DISPATCH_BATCH};
use super::syn_queue::{SynQueue, SynTimer};
use super::tcp_limits::{Admission, AgeQueue, TcpLimits};
use super::{Socket, SocketError, SocketHandle, SocketSet, Transport};
use crate::tcp::config::SynCookieMode;
use crate::tcp::isn::IsnGenerator;
use crate::tcp::syn_cookie::{self, CookieOptions};
use crate::tcp::{
    ChallengeAckBudget, Connection, InputContext, KeepaliveConfig, PassiveOpen, State, SynCookies, TcpConfig,
    TcpError, TcpStats, DEFAULT_MSS,
};
use crate::time::Instant;
use crate::wire::{Ipv4Addr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

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

/// TCP state shared by all sockets of a set.
#[derive(Debug)]
pub(crate) struct TcpTables {
    pub connections: HashMap<FourTuple, SocketHandle, ahash::RandomState>,
    /// The last 4-tuple found in `connections`: segments come in runs for one
    /// connection, and this saves hashing the tuple for each. Cleared whenever
    /// `connections` changes.
    last_found: Option<(FourTuple, SocketHandle)>,
    pub listeners: HashMap<SocketAddrV4, SocketHandle, ahash::RandomState>,
    /// Sockets using each local port (listeners and bound idle sockets).
    pub port_users: HashMap<u16, u32, ahash::RandomState>,
    timers: BinaryHeap<Reverse<(Instant, SocketHandle)>>,
    /// Handshakes in progress, as compact records (no connection, no buffers).
    pub syn_queue: SynQueue,
    /// SYN-ACKs retransmitted by the SYN queue's timers, for the interface to send:
    /// (source, destination, segment).
    control_out: VecDeque<(Ipv4Addr, Ipv4Addr, TcpRepr<'static>)>,
    isn: IsnGenerator,
    cookies: SynCookies,
    /// RFC 5961 §7: the stack-wide challenge ACK budget, randomized from the secret.
    challenge_acks: ChallengeAckBudget,
    pub stats: TcpStats,
    events: VecDeque<SocketHandle>,
    pub default_config: TcpConfig,
    /// The interface's address and MTU, set by the interface at every poll.
    pub link: Option<(Ipv4Addr, usize)>,
    pub limits: TcpLimits,
    /// Buffer bytes of every connection (send plus receive capacity).
    memory_used: usize,
    orphans: AgeQueue,
    time_wait: AgeQueue,
    /// The latest `now` the set was given: application calls, which have none, use it.
    clock: Instant,
}

impl TcpTables {
    pub fn new(secret: [u8; 16], default_config: TcpConfig, limits: TcpLimits) -> TcpTables {
        let k = u64::from_le_bytes(secret[..8].try_into().expect("8 bytes"));
        let hasher =
            || ahash::RandomState::with_seeds(k, k.rotate_left(17), k.rotate_left(31), k.rotate_left(47));
        TcpTables {
            connections: HashMap::with_hasher(hasher()),
            last_found: None,
            listeners: HashMap::with_hasher(hasher()),
            port_users: HashMap::with_hasher(hasher()),
            timers: BinaryHeap::new(),
            syn_queue: SynQueue::new(hasher()),
            control_out: VecDeque::new(),
            isn: IsnGenerator::new(secret),
            cookies: SynCookies::new(secret),
            challenge_acks: ChallengeAckBudget::new(default_config.challenge_acks_per_sec, secret),
            stats: TcpStats::default(),
            events: VecDeque::new(),
            default_config,
            link: None,
            limits,
            memory_used: 0,
            orphans: AgeQueue::default(),
            time_wait: AgeQueue::default(),
            clock: Instant::ZERO,
        }
    }
}

impl TcpTables {
    /// The buffers the memory budget gives a new connection with `config` (counted when
    /// smaller than asked); `None` when it is spent.
    fn admit(&mut self, config: TcpConfig) -> Option<TcpConfig> {
        match self.limits.admit(self.memory_used, config) {
            Admission::Full(config) => Some(config),
            Admission::Reduced(config) => {
                self.stats.memory_pressure_reduced += 1;
                Some(config)
            }
            Admission::Refused => {
                self.stats.memory_refused += 1;
                None
            }
        }
    }

    /// Brings the memory budget and the orphan and TIME_WAIT queues up to date with a
    /// connection that may have changed; says whether TIME_WAIT is now over its limit.
    #[inline]
    fn account(&mut self, handle: SocketHandle, entry: &mut TcpConnection) -> bool {
        let bytes = entry.conn.buffer_bytes();
        if bytes != entry.charged {
            self.memory_used = self.memory_used - entry.charged + bytes;
            entry.charged = bytes;
        }
        if !entry.closed_by_app {
            return false;
        }
        let state = entry.conn.state();
        let orphan = !matches!(state, State::Closed | State::TimeWait);
        if orphan != entry.orphan_since.is_some() {
            if orphan {
                entry.orphan_since = Some(self.clock);
                self.orphans.push(self.clock, handle);
            } else {
                entry.orphan_since = None;
                self.orphans.leave();
            }
        }
        let time_wait = state == State::TimeWait;
        if time_wait != entry.time_wait_since.is_some() {
            if time_wait {
                entry.time_wait_since = Some(self.clock);
                self.time_wait.push(self.clock, handle);
                return self.time_wait.live > self.limits.max_time_wait;
            }
            entry.time_wait_since = None;
            self.time_wait.leave();
        }
        false
    }

    /// The connection of `tuple`, if any.
    fn find(&mut self, tuple: &FourTuple) -> Option<SocketHandle> {
        if let Some((last, handle)) = self.last_found {
            if last == *tuple {
                return Some(handle);
            }
        }
        let handle = *self.connections.get(tuple)?;
        self.last_found = Some((*tuple, handle));
        Some(handle)
    }

    fn insert_connection(&mut self, tuple: FourTuple, handle: SocketHandle) {
        self.last_found = None;
        self.connections.insert(tuple, handle);
    }

    fn remove_connection(&mut self, tuple: &FourTuple) {
        self.last_found = None;
        self.connections.remove(tuple);
    }
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

impl SocketSet {
    /// `socket(AF_INET, SOCK_STREAM)` with the set's default TCP options.
    pub fn tcp_socket(&mut self) -> Result<SocketHandle, SocketError> {
        let config = self.tcp.default_config;
        self.tcp_socket_with(config)
    }

    /// `socket()` with explicit options (buffer sizes, Nagle, keepalive, algorithms...).
    pub fn tcp_socket_with(&mut self, config: TcpConfig) -> Result<SocketHandle, SocketError> {
        self.add(Socket::Tcp(TcpSocket::Idle { local: None, config, linger_zero: false }))
    }

    pub fn tcp(&self, handle: SocketHandle) -> Result<&TcpSocket, SocketError> {
        match self.get(handle)? {
            Socket::Tcp(socket) => Ok(socket),
            _ => Err(SocketError::WrongKind(handle)),
        }
    }

    fn tcp_mut(&mut self, handle: SocketHandle) -> Result<&mut TcpSocket, SocketError> {
        match &mut *self.slot_mut(handle)?.socket {
            Socket::Tcp(socket) => Ok(socket),
            _ => Err(SocketError::WrongKind(handle)),
        }
    }

    /// The connection behind a handle.
    pub fn connection(&self, handle: SocketHandle) -> Result<&Connection, SocketError> {
        match self.tcp(handle)? {
            TcpSocket::Connection(c) => Ok(&c.conn),
            _ => Err(SocketError::NotConnected),
        }
    }

    fn connection_mut(&mut self, handle: SocketHandle) -> Result<&mut TcpConnection, SocketError> {
        match self.tcp_mut(handle)? {
            TcpSocket::Connection(c) => Ok(c),
            _ => Err(SocketError::NotConnected),
        }
    }

    fn tcp_port_in_use(&self, port: u16) -> bool {
        self.tcp.port_users.contains_key(&port)
    }

    pub(super) fn bind_tcp(
        &mut self,
        handle: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, SocketError> {
        match self.tcp(handle)? {
            TcpSocket::Idle { local: None, .. } => {}
            _ => return Err(SocketError::AlreadyBound(handle)),
        }
        let port = match addr.port() {
            0 => {
                let users = &self.tcp.port_users;
                self.ephemeral.allocate(|p| users.contains_key(&p)).ok_or(SocketError::NoEphemeralPort)?
            }
            port if self.tcp_port_in_use(port) => return Err(SocketError::AddressInUse(addr)),
            port => port,
        };
        let local = SocketAddrV4::new(*addr.ip(), port);
        *self.tcp.port_users.entry(port).or_insert(0) += 1;
        self.ports.acquire(Transport::Tcp, port);
        if let TcpSocket::Idle { local: slot, .. } = self.tcp_mut(handle)? {
            *slot = Some(local);
        }
        Ok(local)
    }

    /// `listen(backlog)`: the socket accepts connections; `backlog` bounds both the
    /// handshakes in progress and the connections waiting for `accept`.
    pub fn listen(&mut self, handle: SocketHandle, backlog: usize) -> Result<(), SocketError> {
        let (local, config) = match self.tcp(handle)? {
            TcpSocket::Idle { local: Some(local), config, .. } => (*local, *config),
            TcpSocket::Idle { local: None, .. } => return Err(SocketError::NotBound(handle)),
            _ => return Err(SocketError::AlreadyBound(handle)),
        };
        let listener = Listener {
            local,
            backlog: backlog.max(1),
            accept_queue: VecDeque::new(),
            half_open: 0,
            last_cookie_at: None,
            config,
        };
        *self.tcp_mut(handle)? = TcpSocket::Listener(listener);
        self.tcp.listeners.insert(local, handle);
        Ok(())
    }

    /// `accept()`: the next established connection and its peer, or `WouldBlock`.
    pub fn accept(&mut self, handle: SocketHandle) -> Result<(SocketHandle, SocketAddrV4), SocketError> {
        let child = match self.tcp_mut(handle)? {
            TcpSocket::Listener(listener) => {
                listener.accept_queue.pop_front().ok_or(SocketError::WouldBlock)?
            }
            _ => return Err(SocketError::NotListening(handle)),
        };
        Ok((child, self.connection(child)?.remote()))
    }

    /// `connect()`: starts the handshake and returns at once; readiness reports
    /// `connected` (or an error) when it completes. An unbound socket gets an ephemeral
    /// port whose 4-tuple is not in use.
    pub fn connect(
        &mut self,
        handle: SocketHandle,
        remote: SocketAddrV4,
        now: Instant,
    ) -> Result<(), SocketError> {
        let Some((our_ip, mtu)) = self.tcp.link else { return Err(SocketError::NoInterface) };
        if remote.port() == 0
            || remote.ip().is_unspecified()
            || remote.ip().is_broadcast()
            || remote.ip().is_multicast()
        {
            return Err(SocketError::InvalidDestination(remote));
        }
        let (bound, config, linger_zero) = match self.tcp(handle)? {
            TcpSocket::Idle { local, config, linger_zero } => (*local, *config, *linger_zero),
            TcpSocket::Listener(_) => return Err(SocketError::AlreadyBound(handle)),
            TcpSocket::Connection(_) => return Err(SocketError::AlreadyConnected(handle)),
        };
        let local = match bound {
            Some(local) => {
                let ip = if local.ip().is_unspecified() { our_ip } else { *local.ip() };
                // The bound port now belongs to the connection's 4-tuple.
                self.release_port(local.port());
                SocketAddrV4::new(ip, local.port())
            }
            None => {
                let connections = &self.tcp.connections;
                let users = &self.tcp.port_users;
                let port = self
                    .ephemeral
                    .allocate(|p| {
                        users.contains_key(&p)
                            || connections
                                .contains_key(&FourTuple { local: SocketAddrV4::new(our_ip, p), remote })
                    })
                    .ok_or(SocketError::NoEphemeralPort)?;
                SocketAddrV4::new(our_ip, port)
            }
        };
        let tuple = FourTuple { local, remote };
        if self.tcp.connections.contains_key(&tuple) {
            return Err(SocketError::AddressInUse(local));
        }
        self.tcp.clock = now;
        let config = self.tcp.admit(config).ok_or(SocketError::NoBufferSpace)?;
        let iss = self.tcp.isn.isn(now, local, remote);
        let ts_offset = self.tcp.isn.ts_offset(local, remote);
        let conn = Connection::connect(now, local, remote, config, iss, ts_offset, mtu);
        let entry = TcpConnection::new(conn, linger_zero);
        *self.tcp_mut(handle)? = TcpSocket::Connection(Box::new(entry));
        self.tcp.insert_connection(tuple, handle);
        self.ports.acquire(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            self.flow_changes.push((tuple, true));
        }
        self.tcp.stats.active_opens += 1;
        self.tcp_changed(handle);
        Ok(())
    }

    /// `send()`/`write()`: bytes taken into the send buffer.
    pub fn send(&mut self, handle: SocketHandle, data: &[u8]) -> Result<usize, SocketError> {
        let entry = self.connection_mut(handle)?;
        let remote = entry.conn.remote();
        let result = entry.conn.send(data).map_err(|e| tcp_error(e, remote));
        self.after_transfer_call(handle);
        result
    }

    /// `recv()`/`read()`: `Ok(0)` is end of stream.
    pub fn recv(&mut self, handle: SocketHandle, buf: &mut [u8]) -> Result<usize, SocketError> {
        let entry = self.connection_mut(handle)?;
        let remote = entry.conn.remote();
        let result = entry.conn.recv(buf).map_err(|e| tcp_error(e, remote));
        self.after_transfer_call(handle);
        result
    }

    /// Zero-copy `recv()`: lends the contiguous front of the received bytes to `f`, which
    /// returns how many it consumed. `Ok(None)` is end of stream.
    pub fn recv_in_place<R>(
        &mut self,
        handle: SocketHandle,
        f: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<Option<R>, SocketError> {
        let entry = self.connection_mut(handle)?;
        let (first, second) = entry.conn.peek();
        let front = if first.is_empty() { second } else { first };
        if front.is_empty() {
            let remote = entry.conn.remote();
            // Nothing readable: the plain read tells end of stream, error and
            // would-block apart (and, with nothing buffered, reads nothing).
            return entry.conn.recv(&mut [0u8; 1]).map(|_| None).map_err(|e| tcp_error(e, remote));
        }
        let len = front.len();
        let (consumed, result) = f(front);
        entry.conn.consume(consumed.min(len));
        self.after_transfer_call(handle);
        Ok(Some(result))
    }

    /// Whether a connection with these endpoints, or its handshake, lives in this set.
    pub fn has_connection(&mut self, tuple: &FourTuple) -> bool {
        self.tcp.find(tuple).is_some() || self.tcp.syn_queue.contains(tuple)
    }

    /// Handshakes in progress (the SYN queue's records, across listeners).
    pub fn tcp_half_open(&self) -> usize {
        self.tcp.syn_queue.len()
    }

    pub fn is_listener(&self, handle: SocketHandle) -> bool {
        matches!(self.tcp(handle), Ok(TcpSocket::Listener(_)))
    }

    /// Free room in a connection's send buffer.
    pub fn send_capacity(&self, handle: SocketHandle) -> Result<usize, SocketError> {
        Ok(self.connection(handle)?.send_capacity())
    }

    /// `tcp_changed` for `send` and `recv`, which move bytes and may make the connection
    /// want to transmit (data, or a window update) but change no state or timer: only the
    /// transmit list and the events need upkeep.
    ///
    /// The caller sees the readability and room its call leaves (a short write,
    /// `WouldBlock`), so those become the reported readiness: when an acknowledgement later frees the send buffer
    /// it is a change worth an event, even if the events had not yet been taken in
    /// between (edge-triggered, as epoll's EPOLLET).
    fn after_transfer_call(&mut self, handle: SocketHandle) {
        let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else { return };
        let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else { return };
        if !slot.tx_ready && entry.conn.wants_to_send() {
            slot.tx_ready = true;
            self.tx_ready.push_back(handle);
        }
        // The call shows readability and room, not the connection's state: changes of
        // those are still reported.
        let now_ready = readiness_of(&entry.conn);
        entry.reported.readable = now_ready.readable;
        entry.reported.writable = now_ready.writable;
        self.queue_event(handle);
    }

    /// `shutdown(SHUT_WR)`: half-close; the FIN follows the queued data.
    pub fn shutdown_write(&mut self, handle: SocketHandle) -> Result<(), SocketError> {
        self.connection_mut(handle)?.conn.shutdown_write();
        self.tcp_changed(handle);
        Ok(())
    }

    /// SO_SNDBUF and SO_RCVBUF: buffer sizes, set before `connect` or `listen` (the
    /// window scale offered in the SYN depends on the receive buffer).
    pub fn set_buffer_sizes(
        &mut self,
        handle: SocketHandle,
        send: usize,
        recv: usize,
    ) -> Result<(), SocketError> {
        match self.tcp_mut(handle)? {
            TcpSocket::Idle { config, .. } => {
                config.send_buffer = send;
                config.recv_buffer = recv;
                Ok(())
            }
            TcpSocket::Listener(listener) => {
                listener.config.send_buffer = send;
                listener.config.recv_buffer = recv;
                Ok(())
            }
            TcpSocket::Connection(_) => Err(SocketError::AlreadyConnected(handle)),
        }
    }

    /// TCP_NODELAY.
    pub fn set_nodelay(&mut self, handle: SocketHandle, nodelay: bool) -> Result<(), SocketError> {
        self.with_config(handle, |c| c.nodelay = nodelay)
    }

    /// SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
    pub fn set_keepalive(
        &mut self,
        handle: SocketHandle,
        keepalive: Option<KeepaliveConfig>,
        now: Instant,
    ) -> Result<(), SocketError> {
        self.with_config(handle, |c| c.keepalive = keepalive)?;
        if let Ok(entry) = self.connection_mut(handle) {
            entry.conn.restart_keepalive(now);
        }
        self.tcp_changed(handle);
        Ok(())
    }

    /// SO_LINGER with a zero timeout: `close` resets the connection instead of closing it.
    pub fn set_linger_zero(&mut self, handle: SocketHandle, on: bool) -> Result<(), SocketError> {
        match self.tcp_mut(handle)? {
            TcpSocket::Idle { linger_zero, .. } => *linger_zero = on,
            TcpSocket::Connection(entry) => entry.linger_zero = on,
            TcpSocket::Listener(_) => {}
        }
        Ok(())
    }

    fn with_config(
        &mut self,
        handle: SocketHandle,
        f: impl FnOnce(&mut TcpConfig),
    ) -> Result<(), SocketError> {
        match self.tcp_mut(handle)? {
            TcpSocket::Idle { config, .. } => f(config),
            TcpSocket::Listener(listener) => f(&mut listener.config),
            TcpSocket::Connection(entry) => f(entry.conn.config_mut()),
        }
        Ok(())
    }

    /// Readiness of a socket right now.
    pub fn readiness(&self, handle: SocketHandle) -> Result<Readiness, SocketError> {
        Ok(match self.tcp(handle)? {
            TcpSocket::Idle { .. } => Readiness::default(),
            TcpSocket::Listener(listener) => {
                Readiness { readable: !listener.accept_queue.is_empty(), ..Readiness::default() }
            }
            TcpSocket::Connection(entry) => readiness_of(&entry.conn),
        })
    }

    /// epoll-style: every socket whose readiness changed since it was last reported.
    pub fn take_events(&mut self, out: &mut Vec<(SocketHandle, Readiness)>) {
        while let Some(handle) = self.tcp.events.pop_front() {
            if let Ok(slot) = self.slot_mut(handle) {
                slot.event_queued = false;
            }
            let Ok(now_ready) = self.readiness(handle) else { continue };
            if let Ok(entry) = self.connection_mut(handle) {
                if entry.reported == now_ready {
                    continue;
                }
                entry.reported = now_ready;
            }
            out.push((handle, now_ready));
        }
    }

    /// The pending error of a connection (`getsockopt(SO_ERROR)`), if any.
    pub fn tcp_error(&self, handle: SocketHandle) -> Result<Option<SocketError>, SocketError> {
        let conn = self.connection(handle)?;
        Ok(conn.error().map(|e| tcp_error(e, conn.remote())))
    }

    pub fn tcp_stats(&self) -> &TcpStats {
        &self.tcp.stats
    }

    pub(super) fn close_tcp(&mut self, handle: SocketHandle) -> Result<bool, SocketError> {
        let orphans_full = self.tcp.orphans.live >= self.tcp.limits.max_orphans;
        let mut orphan_reset = false;
        let free_now = match self.tcp_mut(handle)? {
            TcpSocket::Idle { local, .. } => {
                let port = local.map(|l| l.port());
                if let Some(port) = port {
                    self.release_port(port);
                }
                true
            }
            TcpSocket::Listener(listener) => {
                let local = listener.local;
                let children: Vec<SocketHandle> = listener.accept_queue.drain(..).collect();
                self.tcp.listeners.remove(&local);
                self.release_port(local.port());
                // Connections never accepted are reset, as Linux does.
                for child in children {
                    if let Ok(entry) = self.connection_mut(child) {
                        entry.closed_by_app = true;
                        entry.conn.abort();
                    }
                    self.tcp_changed(child);
                }
                // Handshakes in progress are forgotten: the peer's ACK meets a RST.
                for tuple in self.tcp.syn_queue.remove_listener(handle) {
                    self.forget_half_open(tuple);
                }
                true
            }
            TcpSocket::Connection(entry) => {
                entry.closed_by_app = true;
                let closing = !matches!(entry.conn.state(), State::Closed | State::TimeWait);
                if entry.linger_zero {
                    entry.conn.abort();
                } else if closing && orphans_full {
                    // Linux: "too many orphaned sockets": reset instead of closing.
                    entry.conn.abort();
                    orphan_reset = true;
                } else {
                    entry.conn.close();
                }
                false
            }
        };
        if orphan_reset {
            self.tcp.stats.orphans_reset += 1;
        }
        if !free_now {
            self.tcp_changed(handle);
        }
        Ok(free_now)
    }

    fn release_port(&mut self, port: u16) {
        if let Some(users) = self.tcp.port_users.get_mut(&port) {
            self.ports.release(Transport::Tcp, port);
            *users -= 1;
            if *users == 0 {
                self.tcp.port_users.remove(&port);
            }
        }
    }

    // ------------------------------------------------------------ for the interface

    /// Keeps the tables current after anything touched a connection: timers, the
    /// transmit list, events, the accept queue, and freeing finished connections.
    fn tcp_changed(&mut self, handle: SocketHandle) {
        // One lookup of the slot serves the timer, the transmit list and the checks below.
        let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else {
            self.queue_event(handle);
            return;
        };
        let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else {
            self.queue_event(handle);
            return;
        };
        let wants_to_send = entry.conn.wants_to_send();
        let recycle = self.tcp.account(handle, entry);
        if let Some(deadline) = entry.conn.poll_at() {
            // An earlier deadline gets a heap entry; a later one waits for the current
            // entry to fire, which re-registers it (at most one live entry per connection).
            if entry.timer_at.is_none_or(|registered| deadline < registered) {
                entry.timer_at = Some(deadline);
                self.tcp.timers.push(Reverse((deadline, handle)));
            }
        }
        let finished = entry.conn.is_finished() && !wants_to_send;
        if wants_to_send && !slot.tx_ready {
            slot.tx_ready = true;
            self.tx_ready.push_back(handle);
        }
        if finished && entry.closed_by_app {
            self.free_connection(handle);
            return;
        }
        self.queue_event(handle);
        if recycle {
            self.recycle_time_wait();
        }
    }

    /// Frees the oldest TIME_WAIT connections while there are more than the limit.
    fn recycle_time_wait(&mut self) {
        while self.tcp.time_wait.live > self.tcp.limits.max_time_wait {
            let Some((since, handle)) = self.tcp.time_wait.pop_front() else { break };
            if self.time_wait_since(handle) == Some(since) {
                self.tcp.stats.time_wait_recycled += 1;
                self.free_connection(handle);
            }
        }
    }

    fn time_wait_since(&self, handle: SocketHandle) -> Option<Instant> {
        match self.tcp(handle) {
            Ok(TcpSocket::Connection(entry)) => entry.time_wait_since,
            _ => None,
        }
    }

    fn orphan_since(&self, handle: SocketHandle) -> Option<Instant> {
        match self.tcp(handle) {
            Ok(TcpSocket::Connection(entry)) => entry.orphan_since,
            _ => None,
        }
    }

    /// Resets orphans that have been closing for longer than the limit.
    fn expire_orphans(&mut self, now: Instant) {
        let timeout = self.tcp.limits.orphan_timeout;
        while let Some((since, handle)) = self.tcp.orphans.front() {
            if since + timeout > now {
                break;
            }
            self.tcp.orphans.pop_front();
            if self.orphan_since(handle) == Some(since) {
                self.tcp.stats.orphans_timed_out += 1;
                if let Ok(entry) = self.connection_mut(handle) {
                    entry.conn.abort();
                }
                self.tcp_changed(handle);
            }
        }
    }

    /// Gauges of the limited state: (name, value) for `sluice stat`.
    pub fn tcp_gauges(&self) -> [(&'static str, u64); 4] {
        [
            ("half_open_now", self.tcp.syn_queue.len() as u64),
            ("orphans_now", self.tcp.orphans.live as u64),
            ("time_wait_now", self.tcp.time_wait.live as u64),
            ("buffer_bytes_now", self.tcp.memory_used as u64),
        ]
    }

    /// Puts a socket on the event queue once; `take_events` reports what changed.
    #[inline]
    fn queue_event(&mut self, handle: SocketHandle) {
        if let Ok(slot) = self.slot_mut(handle) {
            if !slot.event_queued {
                slot.event_queued = true;
                self.tcp.events.push_back(handle);
            }
        }
    }

    fn free_connection(&mut self, handle: SocketHandle) {
        let tables = &mut self.tcp;
        if let Some(Some(slot)) = self.slots.get(handle.0 as usize) {
            if let Socket::Tcp(TcpSocket::Connection(entry)) = &*slot.socket {
                tables.memory_used -= entry.charged;
                if entry.orphan_since.is_some() {
                    tables.orphans.leave();
                }
                if entry.time_wait_since.is_some() {
                    tables.time_wait.leave();
                }
            }
        }
        self.unlink_connection(handle);
        self.free_slot(handle);
    }

    /// Removes a connection from the 4-tuple table and the port ledger, unless a newer
    /// connection holds its 4-tuple there (it was retired from TIME_WAIT).
    fn unlink_connection(&mut self, handle: SocketHandle) {
        let Ok(entry) = self.connection_mut(handle) else { return };
        let tuple = FourTuple { local: entry.conn.local(), remote: entry.conn.remote() };
        if self.tcp.connections.get(&tuple) != Some(&handle) {
            return;
        }
        self.tcp.remove_connection(&tuple);
        self.ports.release(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            self.flow_changes.push((tuple, false));
        }
    }

    /// Takes a TIME_WAIT connection out of the 4-tuple table for a new incarnation. While
    /// the application still holds its descriptor, the descriptor stays, as a closed
    /// connection, until the application closes it (the new connection gets its own).
    fn retire_time_wait(&mut self, handle: SocketHandle) {
        let held = self
            .tcp(handle)
            .is_ok_and(|socket| matches!(socket, TcpSocket::Connection(entry) if !entry.closed_by_app));
        if !held {
            self.free_connection(handle);
            return;
        }
        self.unlink_connection(handle);
        if let Ok(entry) = self.connection_mut(handle) {
            entry.conn.abort(); // in TIME_WAIT: closed, nothing sent
        }
        self.tcp_changed(handle);
    }

    /// Runs the timers of every connection due at `now`.
    pub(crate) fn tcp_poll_timers(&mut self, now: Instant) {
        self.tcp.clock = now;
        if self.tcp.syn_queue.next_deadline().is_some_and(|at| at <= now) {
            self.syn_queue_timers(now);
        }
        if self.tcp.orphans.front().is_some_and(|(since, _)| since + self.tcp.limits.orphan_timeout <= now) {
            self.expire_orphans(now);
        }
        if self.tcp.time_wait.len() > 2 * self.tcp.time_wait.live + 64 {
            let slots = &self.slots;
            self.tcp.time_wait.prune(|handle| match slots.get(handle.0 as usize) {
                Some(Some(slot)) => match &*slot.socket {
                    Socket::Tcp(TcpSocket::Connection(entry)) => entry.time_wait_since,
                    _ => None,
                },
                _ => None,
            });
        }
        while let Some(&Reverse((at, handle))) = self.tcp.timers.peek() {
            if at > now {
                break;
            }
            self.tcp.timers.pop();
            let stats = &mut self.tcp.stats;
            let Ok(Socket::Tcp(TcpSocket::Connection(entry))) = self
                .slots
                .get_mut(handle.0 as usize)
                .and_then(Option::as_mut)
                .map(|s| &mut *s.socket)
                .ok_or(())
            else {
                continue;
            };
            if entry.timer_at != Some(at) {
                continue; // superseded by an earlier registration, or the slot was reused
            }
            entry.timer_at = None;
            entry.conn.on_timers(now, stats);
            self.tcp_changed(handle);
        }
    }

    pub(crate) fn tcp_poll_at(&self) -> Option<Instant> {
        let connections = self.tcp.timers.peek().map(|Reverse((at, _))| *at);
        let orphans = self.tcp.orphans.front().map(|(since, _)| since + self.tcp.limits.orphan_timeout);
        [connections, self.tcp.syn_queue.next_deadline(), orphans].into_iter().flatten().min()
    }

    /// Runs the SYN queue's timers due at `now`: SYN-ACKs to send again (queued for
    /// `pop_tcp_control`) and handshakes that ran out of retries.
    fn syn_queue_timers(&mut self, now: Instant) {
        while let Some(timer) = self.tcp.syn_queue.poll(now) {
            match timer {
                SynTimer::Retransmit(tuple) => {
                    let Some(record) = self.tcp.syn_queue.get(&tuple).copied() else { continue };
                    let Some((_, mtu)) = self.tcp.link else { continue };
                    let Some(config) = self.listener_config(record.listener) else { continue };
                    let synack = record.open.syn_ack(now, &config, mtu);
                    self.tcp.stats.synack_retransmits += 1;
                    self.tcp.stats.segments_out += 1;
                    self.tcp.control_out.push_back((*tuple.local.ip(), *tuple.remote.ip(), synack));
                }
                SynTimer::Expired { tuple, listener } => {
                    self.tcp.stats.half_open_expired += 1;
                    self.release_half_open(listener);
                    self.forget_half_open(tuple);
                }
            }
        }
    }

    /// A SYN-ACK the SYN queue's timers want sent: (source, destination, segment).
    pub(crate) fn pop_tcp_control(&mut self) -> Option<(Ipv4Addr, Ipv4Addr, TcpRepr<'static>)> {
        self.tcp.control_out.pop_front()
    }

    pub(crate) fn has_tcp_control(&self) -> bool {
        !self.tcp.control_out.is_empty()
    }

    pub(crate) fn set_link(&mut self, addr: Ipv4Addr, mtu: usize) {
        self.tcp.link = Some((addr, mtu));
    }

    fn listener_config(&self, listener: SocketHandle) -> Option<TcpConfig> {
        match self.tcp(listener) {
            Ok(TcpSocket::Listener(l)) => Some(l.config),
            _ => None,
        }
    }

    /// One handshake of `listener` is over (completed, reset or expired).
    fn release_half_open(&mut self, listener: SocketHandle) {
        if let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) {
            l.half_open = l.half_open.saturating_sub(1);
        }
    }

    /// A half-open record left the SYN queue without becoming a connection.
    fn forget_half_open(&mut self, tuple: FourTuple) {
        self.ports.release(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            self.flow_changes.push((tuple, false));
        }
    }

    /// Hands an arriving segment to its connection, to its handshake in the SYN queue, or
    /// to a listener.
    pub(crate) fn tcp_input(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        seg: &TcpRepr<'_>,
    ) -> TcpInput {
        let tuple = FourTuple {
            local: SocketAddrV4::new(dst, seg.dst_port),
            remote: SocketAddrV4::new(src, seg.src_port),
        };
        self.tcp.clock = now;
        let mut min_iss = None;
        if let Some(handle) = self.tcp.find(&tuple) {
            if self.time_wait_reusable(handle, seg) {
                // RFC 6191 / Linux: a new SYN may take over a TIME_WAIT 4-tuple.
                self.tcp.stats.time_wait_reused += 1;
                min_iss = self.connection(handle).ok().map(Connection::successor_iss);
                self.retire_time_wait(handle);
            } else {
                let tables = &mut self.tcp;
                let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else {
                    return TcpInput::Dropped;
                };
                let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else {
                    return TcpInput::Dropped;
                };
                let mut ctx =
                    InputContext { stats: &mut tables.stats, challenge_acks: &mut tables.challenge_acks };
                entry.conn.on_segment(now, seg, &mut ctx);
                self.tcp_changed(handle);
                return TcpInput::Handled;
            }
        }
        if !self.tcp.syn_queue.is_empty() && self.tcp.syn_queue.contains(&tuple) {
            return self.half_open_input(now, tuple, seg);
        }
        let listener = self
            .tcp
            .listeners
            .get(&tuple.local)
            .or_else(|| self.tcp.listeners.get(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, seg.dst_port)))
            .copied();
        let Some(listener) = listener else {
            self.tcp.stats.no_listener += 1;
            return self.reset(seg);
        };
        self.listener_input(now, listener, tuple, seg, min_iss)
    }

    /// RFC 9293 §3.10.7.1: the RST answering `seg`, counted (none for a RST).
    fn reset(&mut self, seg: &TcpRepr<'_>) -> TcpInput {
        match reset_for(seg) {
            Some(rst) => {
                self.tcp.stats.resets_sent += 1;
                TcpInput::Reset(rst)
            }
            None => TcpInput::Dropped,
        }
    }

    /// RFC 9293 §3.10.7.2: LISTEN. A SYN gets a SYN-ACK, from a record in the SYN queue or,
    /// when that is full, from a SYN cookie (RFC 4987 §3.6); an ACK may return a cookie.
    /// `min_iss` is set when the SYN takes a 4-tuple out of TIME_WAIT: the new ISS must lie
    /// beyond the old incarnation's (RFC 1122 §4.2.2.13), so such a SYN gets a record, not a
    /// cookie (whose ISS is not ours to choose), even when the queue is full.
    fn listener_input(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        min_iss: Option<SeqNumber>,
    ) -> TcpInput {
        let flags = seg.flags;
        if flags.contains(TcpFlags::RST) {
            return TcpInput::Dropped;
        }
        if flags.contains(TcpFlags::ACK) {
            if !flags.contains(TcpFlags::SYN) {
                return self.cookie_ack(now, listener, tuple, seg);
            }
            return self.reset(seg);
        }
        if !flags.contains(TcpFlags::SYN) {
            return TcpInput::Dropped;
        }
        let Some((_, mtu)) = self.tcp.link else { return TcpInput::Dropped };
        let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) else { return TcpInput::Dropped };
        // Linux: a SYN is dropped (and counted) while the accept queue is full; the peer
        // retries. A full SYN queue answers with cookies instead, unless they are off.
        if l.accept_queue.len() >= l.backlog {
            self.tcp.stats.listen_overflows += 1;
            return TcpInput::Dropped;
        }
        let queue_full = l.half_open >= l.backlog;
        let config = l.config;
        if self.tcp.limits.admit(self.tcp.memory_used, config) == Admission::Refused {
            // No connection could be made for this SYN: promise none.
            self.tcp.stats.memory_refused += 1;
            return TcpInput::Dropped;
        }
        let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) else { return TcpInput::Dropped };
        let cookie = min_iss.is_none()
            && match config.syn_cookies {
                SynCookieMode::Always => true,
                SynCookieMode::OnOverflow => queue_full,
                SynCookieMode::Never => false,
            };
        if cookie {
            l.last_cookie_at = Some(now);
        } else if queue_full && min_iss.is_none() {
            self.tcp.stats.syn_queue_overflows += 1;
            return TcpInput::Dropped;
        }
        self.tcp.stats.segments_in += 1;
        self.tcp.stats.segments_out += 1;
        let ts_offset = self.tcp.isn.ts_offset(tuple.local, tuple.remote);
        if cookie {
            let peer_mss = seg.options.mss.unwrap_or(DEFAULT_MSS as u16);
            let iss = self.tcp.cookies.make(now, tuple.local, tuple.remote, seg.seq_number, peer_mss);
            let mut open = PassiveOpen::from_syn(tuple.local, tuple.remote, seg, &config, iss, ts_offset);
            open.cookie = true;
            if open.ts_recent.is_none() {
                // RFC 4987 §3.6: without timestamps the cookie has no room for these.
                open.peer_wscale = None;
                open.our_wscale = None;
                open.sack_permitted = false;
            }
            open.peer_mss = syn_cookie::SynCookies::mss_index(peer_mss).1;
            self.tcp.stats.syn_cookies_sent += 1;
            return TcpInput::SynAck(open.syn_ack(now, &config, mtu));
        }
        let iss = self.tcp.isn.isn(now, tuple.local, tuple.remote);
        let iss = min_iss.filter(|min| min.gt(iss)).unwrap_or(iss);
        let open = PassiveOpen::from_syn(tuple.local, tuple.remote, seg, &config, iss, ts_offset);
        if let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) {
            l.half_open += 1;
        }
        self.tcp.syn_queue.insert(now, open, listener, config.synack_retries);
        self.ports.acquire(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            // Registered now, so a segment of the handshake that reaches another worker
            // is handed here.
            self.flow_changes.push((tuple, true));
        }
        self.tcp.stats.passive_opens += 1;
        TcpInput::SynAck(open.syn_ack(now, &config, mtu))
    }

    /// RFC 9293 §3.10.7.4 in SYN-RECEIVED, for a handshake held as a record.
    fn half_open_input(&mut self, now: Instant, tuple: FourTuple, seg: &TcpRepr<'_>) -> TcpInput {
        let Some(record) = self.tcp.syn_queue.get(&tuple).copied() else { return TcpInput::Dropped };
        let Some(config) = self.listener_config(record.listener) else { return TcpInput::Dropped };
        let Some((_, mtu)) = self.tcp.link else { return TcpInput::Dropped };
        let open = record.open;
        self.tcp.stats.segments_in += 1;
        let flags = seg.flags;
        if flags.contains(TcpFlags::RST) {
            // RFC 5961 §3.2: only a RST at exactly RCV.NXT resets; others are ignored (a
            // record has no room for a challenge ACK's rate limit, and the peer retries).
            if seg.seq_number == open.irs + 1 {
                self.tcp.stats.resets_received += 1;
                self.tcp.syn_queue.remove(&tuple);
                self.release_half_open(record.listener);
                self.forget_half_open(tuple);
            } else {
                self.tcp.stats.out_of_window += 1;
            }
            return TcpInput::Dropped;
        }
        if flags.contains(TcpFlags::SYN) {
            // The peer's SYN again (our SYN-ACK was lost): send the SYN-ACK again, as
            // Linux's tcp_check_req does. Any other SYN is dropped.
            if !flags.contains(TcpFlags::ACK) && seg.seq_number == open.irs {
                self.tcp.stats.segments_out += 1;
                return TcpInput::SynAck(open.syn_ack(now, &config, mtu));
            }
            return TcpInput::Dropped;
        }
        if !flags.contains(TcpFlags::ACK) {
            return TcpInput::Dropped;
        }
        if seg.ack_number != open.iss + 1 {
            // RFC 9293 §3.10.7.4, fifth, SYN-RECEIVED: an unacceptable ACK gets
            // <SEQ=SEG.ACK><CTL=RST>.
            return self.reset(seg);
        }
        match self.complete_handshake(
            now,
            record.listener,
            &open,
            config,
            Some(record.first_sent),
            record.retries,
            seg,
        ) {
            Some(_) => {
                self.tcp.syn_queue.remove(&tuple);
                self.release_half_open(record.listener);
                // The port and flow stay with the connection now.
                self.ports.release(Transport::Tcp, tuple.local.port());
                TcpInput::Handled
            }
            None => TcpInput::Dropped,
        }
    }

    /// An ACK arriving at a listener (RFC 4987 §3.6): the return of a SYN cookie, which
    /// makes the connection, or an ACK for nothing, which gets a RST.
    fn cookie_ack(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
    ) -> TcpInput {
        let Ok(TcpSocket::Listener(l)) = self.tcp(listener) else { return TcpInput::Dropped };
        let config = l.config;
        let cookies_recent = l.last_cookie_at.is_some_and(|at| {
            now.saturating_duration_since(at) <= syn_cookie::TICK * (syn_cookie::MAX_AGE + 1)
        });
        if !cookies_recent {
            return self.reset(seg);
        }
        let cookie =
            self.tcp.cookies.check(now, tuple.local, tuple.remote, seg.seq_number - 1, seg.ack_number - 1);
        let Some(mss) = cookie else {
            self.tcp.stats.syn_cookies_rejected += 1;
            return self.reset(seg);
        };
        let (peer_wscale, sack_permitted) = match seg.options.timestamps {
            Some((_, tsecr)) if config.timestamps => syn_cookie::decode_timestamp(tsecr),
            _ => (None, false),
        };
        let options = CookieOptions { mss, peer_wscale, sack_permitted };
        let ts_offset = self.tcp.isn.ts_offset(tuple.local, tuple.remote);
        let open = PassiveOpen::from_cookie_ack(tuple.local, tuple.remote, seg, options, &config, ts_offset);
        // The echoed timestamp carries the cookie's option bits, not a time we can take an
        // RTT sample from.
        let mut ack = *seg;
        if let Some((tsval, _)) = ack.options.timestamps {
            ack.options.timestamps = Some((tsval, 0));
        }
        self.tcp.stats.segments_in += 1;
        match self.complete_handshake(now, listener, &open, config, None, 0, &ack) {
            Some(_) => {
                self.tcp.stats.syn_cookies_accepted += 1;
                if self.config.track_flows {
                    self.flow_changes.push((tuple, true));
                }
                TcpInput::Handled
            }
            None => TcpInput::Dropped,
        }
    }

    /// The handshake of `open` completes with `ack`: the connection is made, with its
    /// buffers, takes the ACK (and any data on it) and joins the accept queue. `None` when
    /// the accept queue or the socket table is full (the peer's next segment retries) or
    /// the ACK did not establish the connection.
    #[allow(clippy::too_many_arguments)] // the parts of a completed handshake, each needed
    fn complete_handshake(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        open: &PassiveOpen,
        config: TcpConfig,
        first_sent: Option<Instant>,
        retries: u32,
        ack: &TcpRepr<'_>,
    ) -> Option<SocketHandle> {
        let (_, mtu) = self.tcp.link?;
        let Ok(TcpSocket::Listener(l)) = self.tcp(listener) else { return None };
        if l.accept_queue.len() >= l.backlog {
            self.tcp.stats.listen_overflows += 1;
            return None;
        }
        let config = self.tcp.admit(config)?;
        let mut conn = Connection::from_passive_open(now, open, config, mtu, first_sent, retries);
        let tables = &mut self.tcp;
        let mut ctx = InputContext { stats: &mut tables.stats, challenge_acks: &mut tables.challenge_acks };
        // `on_segment` counts the segment again.
        ctx.stats.segments_in -= 1;
        conn.on_segment(now, ack, &mut ctx);
        if !matches!(conn.state(), State::Established | State::CloseWait) {
            return None;
        }
        let entry = TcpConnection::new(conn, false);
        let Ok(handle) = self.add(Socket::Tcp(TcpSocket::Connection(Box::new(entry)))) else {
            self.tcp.stats.listen_overflows += 1;
            return None;
        };
        let tuple = FourTuple { local: open.local, remote: open.remote };
        self.tcp.insert_connection(tuple, handle);
        self.ports.acquire(Transport::Tcp, tuple.local.port());
        if let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) {
            l.accept_queue.push_back(handle);
        }
        self.queue_event(listener);
        self.tcp_changed(handle);
        Some(handle)
    }

    /// A TIME_WAIT connection yields to a SYN with a higher sequence number or timestamp.
    fn time_wait_reusable(&self, handle: SocketHandle, seg: &TcpRepr<'_>) -> bool {
        let Ok(conn) = self.connection(handle) else { return false };
        if conn.state() != State::TimeWait
            || !seg.flags.contains(TcpFlags::SYN)
            || seg.flags.contains(TcpFlags::ACK)
        {
            return false;
        }
        conn.accepts_reuse(seg)
    }

    /// Brings the tables up to date after a connection's dispatch. A connection waiting
    /// for its next hop is taken off the transmit list (the interface puts it back once
    /// the hop resolves); otherwise it is back on the list if it wants to send.
    pub(super) fn tcp_dispatched(
        &mut self,
        handle: SocketHandle,
        sent: Result<(), Blocked>,
    ) -> Result<bool, Blocked> {
        self.tcp_changed(handle);
        if let Err(Blocked::Resolving { .. }) = sent {
            if let Ok(slot) = self.slot_mut(handle) {
                slot.tx_ready = false;
            }
        }
        sent.map(|()| false)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_lookup_follows_the_table() {
        let mut tables = TcpTables::new([7; 16], TcpConfig::default(), TcpLimits::default());
        let addr = |n: u8, port: u16| SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, n), port);
        let one = FourTuple { local: addr(1, 80), remote: addr(2, 40000) };
        let two = FourTuple { local: addr(1, 80), remote: addr(2, 40001) };
        tables.insert_connection(one, SocketHandle(1));
        assert_eq!(tables.find(&one), Some(SocketHandle(1)));
        assert_eq!(tables.find(&one), Some(SocketHandle(1)));
        assert_eq!(tables.find(&two), None);
        assert_eq!(tables.find(&one), Some(SocketHandle(1)));
        tables.remove_connection(&one);
        assert_eq!(tables.find(&one), None);
        // The same 4-tuple, reused by a new connection (after TIME_WAIT, say).
        tables.insert_connection(one, SocketHandle(7));
        assert_eq!(tables.find(&one), Some(SocketHandle(7)));
    }
}
