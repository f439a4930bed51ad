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

use super::{Socket, SocketError, SocketHandle, SocketSet, Transport};
use crate::iface::TokenBucket;
use crate::tcp::isn::IsnGenerator;
use crate::tcp::{Connection, InputContext, KeepaliveConfig, Segment, State, TcpConfig, TcpError, TcpStats};
use crate::time::Instant;
use crate::wire::{Ipv4Addr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

/// Local and remote endpoints of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Connections still in the handshake.
    pub half_open: usize,
    pub config: TcpConfig,
}

/// A connection and what the table keeps about it.
#[derive(Debug)]
pub struct TcpConnection {
    pub conn: Connection,
    /// The listener that accepted it, until `accept` hands it out.
    pub parent: Option<SocketHandle>,
    /// The application has closed its descriptor; the slot is freed when the
    /// connection finishes.
    pub closed_by_app: bool,
    pub linger_zero: bool,
    /// The deadline registered in the timer heap.
    timer_at: Option<Instant>,
    /// The state when events were last reported.
    reported: Readiness,
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
    isn: IsnGenerator,
    challenge_acks: TokenBucket,
    pub stats: TcpStats,
    events: VecDeque<SocketHandle>,
    pub default_config: TcpConfig,
    /// The interface's address and MTU, set by the interface at every poll.
    pub link: Option<(Ipv4Addr, usize)>,
}

impl TcpTables {
    pub fn new(secret: [u8; 16], default_config: TcpConfig) -> TcpTables {
        let k = u64::from_le_bytes(secret[..8].try_into().expect("8 bytes"));
        let hasher =
            || ahash::RandomState::with_seeds(k, k.rotate_left(17), k.rotate_left(31), k.rotate_left(47));
        TcpTables {
            connections: HashMap::with_hasher(hasher()),
            last_found: None,
            listeners: HashMap::with_hasher(hasher()),
            port_users: HashMap::with_hasher(hasher()),
            timers: BinaryHeap::new(),
            isn: IsnGenerator::new(secret),
            challenge_acks: TokenBucket::new(
                default_config.challenge_acks_per_sec,
                default_config.challenge_acks_per_sec,
            ),
            stats: TcpStats::default(),
            events: VecDeque::new(),
            default_config,
            link: None,
        }
    }
}

impl TcpTables {
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
        let listener =
            Listener { local, backlog: backlog.max(1), accept_queue: VecDeque::new(), half_open: 0, config };
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
        let entry = self.connection_mut(child)?;
        entry.parent = None;
        Ok((child, entry.conn.remote()))
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
        let iss = self.tcp.isn.isn(now, local, remote);
        let ts_offset = self.tcp.isn.ts_offset(local, remote);
        let conn = Connection::connect(now, local, remote, config, iss, ts_offset, mtu);
        let entry = TcpConnection {
            conn,
            parent: None,
            closed_by_app: false,
            linger_zero,
            timer_at: None,
            reported: Readiness::default(),
        };
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

    /// Whether a connection with these endpoints lives in this set.
    pub fn has_connection(&mut self, tuple: &FourTuple) -> bool {
        self.tcp.find(tuple).is_some()
    }

    pub fn is_listener(&self, handle: SocketHandle) -> bool {
        matches!(self.tcp(handle), Ok(TcpSocket::Listener(_)))
    }

    /// Free room in a connection's send buffer.
    pub fn send_capacity(&self, handle: SocketHandle) -> Result<usize, SocketError> {
        Ok(self.connection(handle)?.send_capacity())
    }

    /// `tcp_changed` for `send` and `recv`, which move bytes and may make the connection
    /// want to transmit (data, or a window update) but change no state, timer or parent:
    /// only the transmit list and the events need upkeep.
    ///
    /// The caller sees the readability and room its call leaves (a short write,
    /// `WouldBlock`), so those become the reported readiness: when an acknowledgement later frees the send buffer
    /// it is a change worth an event, even if the events had not yet been taken in
    /// between (edge-triggered, as epoll's EPOLLET).
    fn after_transfer_call(&mut self, handle: SocketHandle) {
        let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else { return };
        let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else { return };
        if entry.parent.is_some() {
            // Not accepted yet: let the full upkeep settle it with its listener.
            self.tcp_changed(handle);
            return;
        }
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
                        entry.parent = None;
                        entry.closed_by_app = true;
                        entry.conn.abort();
                    }
                    self.tcp_changed(child);
                }
                true
            }
            TcpSocket::Connection(entry) => {
                entry.closed_by_app = true;
                if entry.linger_zero {
                    entry.conn.abort();
                } else {
                    entry.conn.close();
                }
                false
            }
        };
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
    pub(crate) fn tcp_changed(&mut self, handle: SocketHandle) {
        // One lookup of the slot serves the timer, the transmit list and the checks below.
        let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else {
            self.queue_event(handle);
            return;
        };
        let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else {
            self.queue_event(handle);
            return;
        };
        let state = entry.conn.state();
        let wants_to_send = entry.conn.wants_to_send();
        if let Some(deadline) = entry.conn.poll_at() {
            // An earlier deadline gets a heap entry; a later one waits for the current
            // entry to fire, which re-registers it (at most one live entry per connection).
            if entry.timer_at.is_none_or(|registered| deadline < registered) {
                entry.timer_at = Some(deadline);
                self.tcp.timers.push(Reverse((deadline, handle)));
            }
        }
        let parent = entry.parent;
        let finished = entry.conn.is_finished() && !wants_to_send;
        let orphan = entry.closed_by_app || parent.is_some();
        if wants_to_send && !slot.tx_ready {
            slot.tx_ready = true;
            self.tx_ready.push_back(handle);
        }
        if let Some(parent) = parent {
            self.settle_child(parent, handle, state);
        }
        if finished && orphan {
            self.free_connection(handle);
            return;
        }
        self.queue_event(handle);
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

    /// A handshake in progress under a listener completed or failed.
    fn settle_child(&mut self, parent: SocketHandle, child: SocketHandle, state: State) {
        let Ok(TcpSocket::Listener(listener)) = self.tcp_mut(parent) else { return };
        match state {
            State::SynReceived => {}
            State::Closed => {
                listener.half_open = listener.half_open.saturating_sub(1);
            }
            _ => {
                listener.half_open = listener.half_open.saturating_sub(1);
                listener.accept_queue.push_back(child);
                self.queue_event(parent);
                // Still a child until accepted, but no longer half-open.
                if let Ok(entry) = self.connection_mut(child) {
                    entry.parent = None;
                    entry.closed_by_app = false;
                }
            }
        }
    }

    fn free_connection(&mut self, handle: SocketHandle) {
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

    /// Runs the timers of every connection due at `now`.
    pub(crate) fn tcp_poll_timers(&mut self, now: Instant) {
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
            entry.conn.update_persist(now);
            self.tcp_changed(handle);
        }
    }

    pub(crate) fn tcp_poll_at(&self) -> Option<Instant> {
        self.tcp.timers.peek().map(|Reverse((at, _))| *at)
    }

    pub(crate) fn set_link(&mut self, addr: Ipv4Addr, mtu: usize) {
        self.tcp.link = Some((addr, mtu));
    }

    /// Hands an arriving segment to its connection, or to a listener for a new one.
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
                entry.conn.update_persist(now);
                self.tcp_changed(handle);
                return TcpInput::Handled;
            }
        }
        let listener = self
            .tcp
            .listeners
            .get(&tuple.local)
            .or_else(|| self.tcp.listeners.get(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, seg.dst_port)))
            .copied();
        let Some(listener) = listener else {
            self.tcp.stats.no_listener += 1;
            return match reset_for(seg) {
                Some(rst) => {
                    self.tcp.stats.resets_sent += 1;
                    TcpInput::Reset(rst)
                }
                None => TcpInput::Dropped,
            };
        };
        self.listener_input(now, listener, tuple, seg, min_iss)
    }

    /// Takes a TIME_WAIT connection out of the 4-tuple table for a new incarnation. While
    /// the application still holds its descriptor, the descriptor stays, as a closed
    /// connection, until the application closes it (the new connection gets its own).
    fn retire_time_wait(&mut self, handle: SocketHandle) {
        let held = self.tcp(handle).is_ok_and(|socket| {
            matches!(socket, TcpSocket::Connection(entry) if !entry.closed_by_app && entry.parent.is_none())
        });
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

    /// RFC 9293 §3.10.7.2: LISTEN. `min_iss` is set when the SYN takes a 4-tuple out of
    /// TIME_WAIT: the new ISS must lie beyond the old incarnation's (RFC 1122 §4.2.2.13).
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
            self.tcp.stats.resets_sent += 1;
            return reset_for(seg).map_or(TcpInput::Dropped, TcpInput::Reset);
        }
        if !flags.contains(TcpFlags::SYN) {
            return TcpInput::Dropped;
        }
        let Some((_, mtu)) = self.tcp.link else { return TcpInput::Dropped };
        let Ok(TcpSocket::Listener(l)) = self.tcp(listener) else { return TcpInput::Dropped };
        // Linux: a SYN is dropped (and counted) while the accept queue is full or too many
        // handshakes are in progress; the peer retries.
        if l.accept_queue.len() >= l.backlog || l.half_open >= l.backlog {
            self.tcp.stats.listen_overflows += 1;
            return TcpInput::Dropped;
        }
        let config = l.config;
        let iss = self.tcp.isn.isn(now, tuple.local, tuple.remote);
        let iss = min_iss.filter(|min| min.gt(iss)).unwrap_or(iss);
        let ts_offset = self.tcp.isn.ts_offset(tuple.local, tuple.remote);
        let conn = Connection::accept(now, tuple.local, tuple.remote, seg, config, iss, ts_offset, mtu);
        let entry = TcpConnection {
            conn,
            parent: Some(listener),
            closed_by_app: false,
            linger_zero: false,
            timer_at: None,
            reported: Readiness::default(),
        };
        let Ok(handle) = self.add(Socket::Tcp(TcpSocket::Connection(Box::new(entry)))) else {
            self.tcp.stats.listen_overflows += 1;
            return TcpInput::Dropped;
        };
        if let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) {
            l.half_open += 1;
        }
        self.tcp.insert_connection(tuple, handle);
        self.ports.acquire(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            self.flow_changes.push((tuple, true));
        }
        self.tcp.stats.passive_opens += 1;
        self.tcp.stats.segments_in += 1;
        self.tcp_changed(handle);
        TcpInput::Handled
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

    /// The next segment a connection wants to send, with the source and destination.
    pub(crate) fn tcp_next_segment(
        &mut self,
        handle: SocketHandle,
        now: Instant,
    ) -> Option<(Segment, Ipv4Addr, Ipv4Addr)> {
        let tables = &mut self.tcp;
        let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else { return None };
        let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else { return None };
        let segment = entry.conn.next_segment(now, &mut tables.stats)?;
        Some((segment, *entry.conn.local().ip(), *entry.conn.remote().ip()))
    }

    /// The payload bytes of a segment from `tcp_next_segment`.
    pub(crate) fn tcp_payload(&self, handle: SocketHandle, segment: &Segment) -> (&[u8], &[u8]) {
        match self.connection(handle) {
            Ok(conn) => conn.payload(segment),
            Err(_) => (&[], &[]),
        }
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
        let mut tables = TcpTables::new([7; 16], TcpConfig::default());
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
