//! The BSD calls on TCP sockets: `socket`, `bind`, `listen`, `accept`, `connect`, `send`,
//! `recv`, `shutdown`, the options, readiness and `close`.

use core::net::SocketAddrV4;
use std::collections::VecDeque;

use super::{readiness_of, tcp_error, FourTuple, Listener, Readiness, TcpConnection, TcpSocket};
use crate::socket::{Socket, SocketError, SocketHandle, SocketSet, Transport};
use crate::tcp::{Connection, KeepaliveConfig, State, TcpConfig, TcpStats};
use crate::time::Instant;

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

    pub(super) fn tcp_mut(&mut self, handle: SocketHandle) -> Result<&mut TcpSocket, SocketError> {
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

    pub(super) fn connection_mut(&mut self, handle: SocketHandle) -> Result<&mut TcpConnection, SocketError> {
        match self.tcp_mut(handle)? {
            TcpSocket::Connection(c) => Ok(c),
            _ => Err(SocketError::NotConnected),
        }
    }

    pub(super) fn tcp_port_in_use(&self, port: u16) -> bool {
        self.tcp.port_users.contains_key(&port)
    }

    pub(in crate::socket) fn bind_tcp(
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
    pub(super) fn after_transfer_call(&mut self, handle: SocketHandle) {
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

    pub(super) fn with_config(
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

    pub(in crate::socket) fn close_tcp(&mut self, handle: SocketHandle) -> Result<bool, SocketError> {
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

    pub(super) fn release_port(&mut self, port: u16) {
        if let Some(users) = self.tcp.port_users.get_mut(&port) {
            self.ports.release(Transport::Tcp, port);
            *users -= 1;
            if *users == 0 {
                self.tcp.port_users.remove(&port);
            }
        }
    }
}
