//! Sockets and the descriptor table.
//!
//! The seeds describe a socket as control information plus buffers held by the stack, and
//! the descriptor as the number an application uses to name it. [`SocketSet`] is that
//! table: `udp_socket()` / `icmp_socket()` play `socket()`, returning a [`SocketHandle`];
//! `bind`, `send_to`, `recv_from` and `close` take the handle. Calls never block: when a
//! buffer is empty or full they return [`SocketError::WouldBlock`].
//!
//! Lookups are by hash: received datagrams find their socket by (address, port), then
//! (wildcard, port); echo replies by identifier. Sockets with data to send are kept on a
//! ready list, so the interface never scans the table.
//!
//! This file is the table itself: slots, `bind` and `close` for every kind, the transmit
//! list and the dispatch the interface calls. Each protocol's calls live with its socket
//! type: [`udp`] (`send_to`, `recv_from`), [`icmp`] (`send_echo`, `recv_echo`) and [`tcp`]
//! (`listen`, `accept`, `connect`, `send`, `recv`, ... and the segment demultiplexing).

use core::fmt;
use core::net::SocketAddrV4;
use std::collections::{HashMap, VecDeque};

use thiserror::Error;

use crate::tcp::TcpConfig;
use crate::time::Instant;
use crate::wire::Ipv4Addr;
use output::{Blocked, IpOutput};
use tcp::TcpTables;

pub mod icmp;
pub mod output;
mod port_ledger;
mod ports;
pub mod ring;
mod syn_queue;
pub mod tcp;
pub mod tcp_limits;
pub mod udp;

pub use icmp::{EchoReply, IcmpConfig, IcmpSocket};
pub use port_ledger::{PortChange, PortLedger, Transport};
pub use ports::{EphemeralPorts, PortShare, EPHEMERAL_FIRST, EPHEMERAL_LAST};
pub use tcp::{FourTuple, Listener, Readiness, TcpConnection, TcpSocket};
pub use tcp_limits::TcpLimits;
pub use udp::{UdpConfig, UdpSocket};

/// A socket descriptor.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SocketHandle(u32);

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Errors of socket calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SocketError {
    #[error("operation would block: no data to read or no buffer space to write; poll again later")]
    WouldBlock,
    #[error("address {0} is already in use; pick another port or close the socket bound to it")]
    AddressInUse(SocketAddrV4),
    #[error("socket {0} is already bound; a socket is bound once")]
    AlreadyBound(SocketHandle),
    #[error("no socket {0}: it was closed or never opened")]
    BadDescriptor(SocketHandle),
    #[error("socket {0} is not of the kind this call needs")]
    WrongKind(SocketHandle),
    #[error("every ephemeral port (49152-65535) is in use; close sockets or bind explicitly")]
    NoEphemeralPort,
    #[error("message of {len} bytes is longer than the {max} bytes this socket can send")]
    MessageTooLong { len: usize, max: usize },
    #[error("cannot send to {0}: the destination needs a non-zero address and port")]
    InvalidDestination(SocketAddrV4),
    #[error("the socket table is full ({0} sockets); close some or raise the limit")]
    TooManySockets(usize),
    #[error("connection refused: {0} answered with ICMP port unreachable")]
    ConnectionRefused(Ipv4Addr),
    #[error("connection reset by peer")]
    ConnectionReset,
    #[error("connection timed out: the peer stopped answering")]
    TimedOut,
    #[error("not connected: connect first, or the connection was shut down for writing")]
    NotConnected,
    #[error("socket {0} is not listening; call listen first")]
    NotListening(SocketHandle),
    #[error("socket {0} is not bound; call bind first")]
    NotBound(SocketHandle),
    #[error("socket {0} is already connected")]
    AlreadyConnected(SocketHandle),
    #[error("no interface has configured this socket set yet; poll the interface once before connecting")]
    NoInterface,
    #[error("host {0} is unreachable: no answer to ARP, or ICMP destination unreachable")]
    HostUnreachable(Ipv4Addr),
    #[error("network unreachable: no route to {0}; configure a gateway or an address on its network")]
    NetworkUnreachable(Ipv4Addr),
    #[error("no memory for another connection's buffers (the TCP memory limit is reached); close connections or raise --tcp-memory-limit")]
    NoBufferSpace,
    #[error("another call of the same kind is still in progress on socket {0}; wait for it")]
    Busy(SocketHandle),
    #[error("the worker that owns this socket has stopped; the runtime was shut down")]
    WorkerGone,
}

/// A socket of any kind.
#[derive(Debug)]
pub enum Socket {
    Udp(UdpSocket),
    Icmp(IcmpSocket),
    Tcp(TcpSocket),
}

#[derive(Debug)]
struct Slot {
    /// Boxed so the table stays a dense array of small slots: a lookup touches one
    /// cache line of the table, not a whole socket.
    socket: Box<Socket>,
    /// On the ready list already.
    tx_ready: bool,
    /// On the event queue already (so the queue holds each socket at most once).
    event_queued: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SocketSetConfig {
    pub max_sockets: usize,
    /// Seeds the ephemeral port cursor (from the OS RNG in production, fixed in tests).
    pub ephemeral_seed: u64,
    /// Keys initial sequence numbers (RFC 6528) and table hashing: from the OS RNG in
    /// production, fixed in tests so runs repeat.
    pub secret: [u8; 16],
    /// Options new TCP sockets start with.
    pub tcp: TcpConfig,
    /// Bounds on TIME_WAIT, orphans and buffer memory across the set's connections.
    pub tcp_limits: TcpLimits,
    /// The slice of the ephemeral range this set allocates from: with several workers,
    /// each takes its own residue class, so the port of a reply names its worker.
    pub ephemeral_share: PortShare,
    /// Record connections as they come and go (`take_flow_changes`), for a directory
    /// shared by several workers.
    pub track_flows: bool,
}

impl Default for SocketSetConfig {
    fn default() -> SocketSetConfig {
        SocketSetConfig {
            max_sockets: 65_536,
            ephemeral_seed: 0,
            secret: [0; 16],
            tcp: TcpConfig::default(),
            tcp_limits: TcpLimits::default(),
            ephemeral_share: PortShare::WHOLE,
            track_flows: false,
        }
    }
}

/// The descriptor table.
#[derive(Debug)]
pub struct SocketSet {
    config: SocketSetConfig,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    open: usize,
    udp_bindings: HashMap<SocketAddrV4, SocketHandle>,
    /// How many sockets use each UDP port, for wildcard-conflict checks.
    udp_port_users: HashMap<u16, u32>,
    icmp_bindings: HashMap<u16, SocketHandle>,
    tx_ready: VecDeque<SocketHandle>,
    ephemeral: EphemeralPorts,
    ports: PortLedger,
    /// Connections created (true) or freed (false) since the last `take_flow_changes`.
    flow_changes: Vec<(FourTuple, bool)>,
    next_icmp_ident: u16,
    tcp: TcpTables,
}

impl SocketSet {
    pub fn new(config: SocketSetConfig) -> SocketSet {
        SocketSet {
            config,
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            udp_bindings: HashMap::new(),
            udp_port_users: HashMap::new(),
            icmp_bindings: HashMap::new(),
            tx_ready: VecDeque::new(),
            ephemeral: EphemeralPorts::new(config.ephemeral_seed, config.ephemeral_share),
            ports: PortLedger::default(),
            flow_changes: Vec::new(),
            next_icmp_ident: (config.ephemeral_seed >> 16) as u16,
            tcp: TcpTables::new(config.secret, config.tcp, config.tcp_limits),
        }
    }

    fn add(&mut self, socket: Socket) -> Result<SocketHandle, SocketError> {
        if self.open >= self.config.max_sockets {
            return Err(SocketError::TooManySockets(self.config.max_sockets));
        }
        let slot = Some(Slot { socket: Box::new(socket), tx_ready: false, event_queued: false });
        // Like file descriptors, the lowest free number is reused first.
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = slot;
                index
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.open += 1;
        Ok(SocketHandle(index))
    }

    pub fn get(&self, handle: SocketHandle) -> Result<&Socket, SocketError> {
        match self.slots.get(handle.0 as usize) {
            Some(Some(slot)) => Ok(&*slot.socket),
            _ => Err(SocketError::BadDescriptor(handle)),
        }
    }

    fn slot_mut(&mut self, handle: SocketHandle) -> Result<&mut Slot, SocketError> {
        match self.slots.get_mut(handle.0 as usize) {
            Some(Some(slot)) => Ok(slot),
            _ => Err(SocketError::BadDescriptor(handle)),
        }
    }

    /// `bind()`: `addr` may be the wildcard 0.0.0.0 and port 0 picks an ephemeral port.
    /// For UDP a wildcard binding conflicts with every binding of the same port; TCP ports
    /// are taken whole, as without SO_REUSEADDR.
    pub fn bind(&mut self, handle: SocketHandle, addr: SocketAddrV4) -> Result<SocketAddrV4, SocketError> {
        if let Socket::Tcp(_) = self.get(handle)? {
            return self.bind_tcp(handle, addr);
        }
        if self.udp(handle)?.local.is_some() {
            return Err(SocketError::AlreadyBound(handle));
        }
        let port = match addr.port() {
            0 => {
                let users = &self.udp_port_users;
                self.ephemeral.allocate(|p| users.contains_key(&p)).ok_or(SocketError::NoEphemeralPort)?
            }
            port => {
                let wildcard = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
                let conflict = if addr.ip().is_unspecified() {
                    self.udp_port_in_use(port)
                } else {
                    self.udp_bindings.contains_key(&addr) || self.udp_bindings.contains_key(&wildcard)
                };
                if conflict {
                    return Err(SocketError::AddressInUse(addr));
                }
                port
            }
        };
        let local = SocketAddrV4::new(*addr.ip(), port);
        self.udp_bindings.insert(local, handle);
        *self.udp_port_users.entry(port).or_insert(0) += 1;
        self.ports.acquire(Transport::Udp, port);
        self.udp_mut(handle)?.local = Some(local);
        Ok(local)
    }

    /// `close()`: frees the descriptor and its bindings. UDP and ICMP data still queued
    /// is discarded; a TCP connection closes gracefully (or resets with linger 0) and its
    /// control block lives on until the close completes, as in every BSD stack.
    pub fn close(&mut self, handle: SocketHandle) -> Result<(), SocketError> {
        if let Socket::Tcp(_) = self.get(handle)? {
            if self.close_tcp(handle)? {
                self.free_slot(handle);
            }
            return Ok(());
        }
        let slot = self
            .slots
            .get_mut(handle.0 as usize)
            .and_then(Option::take)
            .ok_or(SocketError::BadDescriptor(handle))?;
        match *slot.socket {
            Socket::Udp(socket) => {
                if let Some(local) = socket.local {
                    self.udp_bindings.remove(&local);
                    self.ports.release(Transport::Udp, local.port());
                    if let Some(users) = self.udp_port_users.get_mut(&local.port()) {
                        *users -= 1;
                        if *users == 0 {
                            self.udp_port_users.remove(&local.port());
                        }
                    }
                }
            }
            Socket::Icmp(socket) => {
                if let Some(ident) = socket.ident {
                    self.icmp_bindings.remove(&ident);
                }
            }
            Socket::Tcp(_) => unreachable!("handled above"),
        }
        self.free.push(handle.0);
        self.open -= 1;
        Ok(())
    }

    /// Releases a slot whose socket has no bindings left.
    fn free_slot(&mut self, handle: SocketHandle) {
        if let Some(slot) = self.slots.get_mut(handle.0 as usize) {
            if slot.take().is_some() {
                self.free.push(handle.0);
                self.open -= 1;
            }
        }
    }

    /// The connections created (`true`) or freed (`false`) since the last call, when
    /// `track_flows` is set.
    pub fn take_flow_changes(&mut self, out: &mut Vec<(FourTuple, bool)>) {
        out.append(&mut self.flow_changes);
    }

    /// The local ports that came into use or went out of use since the last call.
    pub fn take_port_changes(&mut self, out: &mut Vec<PortChange>) {
        self.ports.take_changes(out);
    }

    pub fn len(&self) -> usize {
        self.open
    }

    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// Every open socket with its handle, in descriptor order (for listings).
    pub fn iter(&self) -> impl Iterator<Item = (SocketHandle, &Socket)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (SocketHandle(i as u32), &*s.socket)))
    }

    fn mark_tx_ready(&mut self, handle: SocketHandle) {
        if let Ok(slot) = self.slot_mut(handle) {
            if !slot.tx_ready {
                slot.tx_ready = true;
                self.tx_ready.push_back(handle);
            }
        }
    }

    /// The next socket with something to send, taken off the ready list.
    pub(crate) fn pop_tx_ready(&mut self) -> Option<SocketHandle> {
        while let Some(handle) = self.tx_ready.pop_front() {
            if let Ok(slot) = self.slot_mut(handle) {
                if slot.tx_ready {
                    slot.tx_ready = false;
                    return Some(handle);
                }
            }
        }
        None
    }

    /// Puts a socket back on the ready list: at the back to take turns, or at the front
    /// when the device had no room and it must go first next time.
    pub(crate) fn requeue_tx(&mut self, handle: SocketHandle, front: bool) {
        if let Ok(slot) = self.slot_mut(handle) {
            if !slot.tx_ready {
                slot.tx_ready = true;
                if front {
                    self.tx_ready.push_front(handle);
                } else {
                    self.tx_ready.push_back(handle);
                }
            }
        }
    }

    /// Lets one ready socket send what it has through `out`: its oldest datagram, or a
    /// connection's segments. Returns whether it has more to send.
    pub(crate) fn dispatch(
        &mut self,
        handle: SocketHandle,
        now: Instant,
        out: &mut impl IpOutput,
    ) -> Result<bool, Blocked> {
        let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else { return Ok(false) };
        let sent = match &mut *slot.socket {
            Socket::Udp(socket) => return socket.dispatch(out),
            Socket::Icmp(socket) => return socket.dispatch(out),
            Socket::Tcp(TcpSocket::Connection(entry)) => entry.dispatch(now, &mut self.tcp.stats, out),
            Socket::Tcp(TcpSocket::Listener(_) | TcpSocket::Idle { .. }) => return Ok(false),
        };
        self.tcp_dispatched(handle, sent)
    }

    pub fn has_tx_ready(&self) -> bool {
        !self.tx_ready.is_empty()
    }
}

impl Default for SocketSet {
    fn default() -> SocketSet {
        SocketSet::new(SocketSetConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: [u8; 4], port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(ip), port)
    }

    #[test]
    fn bind_conflicts_follow_bsd_rules() {
        let mut set = SocketSet::default();
        let a = set.udp_socket(UdpConfig::default()).unwrap();
        let b = set.udp_socket(UdpConfig::default()).unwrap();
        let c = set.udp_socket(UdpConfig::default()).unwrap();
        set.bind(a, addr([10, 0, 0, 1], 53)).unwrap();
        assert_eq!(
            set.bind(b, addr([0, 0, 0, 0], 53)),
            Err(SocketError::AddressInUse(addr([0, 0, 0, 0], 53)))
        );
        set.bind(b, addr([10, 0, 0, 2], 53)).unwrap();
        assert_eq!(set.bind(b, addr([10, 0, 0, 2], 54)), Err(SocketError::AlreadyBound(b)));
        set.close(a).unwrap();
        set.close(b).unwrap();
        set.bind(c, addr([0, 0, 0, 0], 53)).unwrap();
        let d = set.udp_socket(UdpConfig::default()).unwrap();
        assert_eq!(
            set.bind(d, addr([10, 0, 0, 1], 53)),
            Err(SocketError::AddressInUse(addr([10, 0, 0, 1], 53)))
        );
        assert_eq!(set.udp_lookup(addr([10, 0, 0, 9], 53)), Some(c));
    }

    #[test]
    fn descriptors_are_reused_and_checked() {
        let mut set = SocketSet::default();
        let a = set.udp_socket(UdpConfig::default()).unwrap();
        set.close(a).unwrap();
        assert_eq!(set.close(a), Err(SocketError::BadDescriptor(a)));
        assert_eq!(set.recv_from(a, &mut [0; 4]), Err(SocketError::BadDescriptor(a)));
        let b = set.icmp_socket(IcmpConfig::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(set.recv_from(b, &mut [0; 4]), Err(SocketError::WrongKind(b)));
    }

    #[test]
    fn send_to_autobinds_and_marks_ready_once() {
        let mut set = SocketSet::default();
        let a = set.udp_socket(UdpConfig::default()).unwrap();
        set.send_to(a, b"one", addr([10, 0, 0, 2], 7)).unwrap();
        set.send_to(a, b"two", addr([10, 0, 0, 2], 7)).unwrap();
        let local = set.udp(a).unwrap().local_addr().unwrap();
        assert!(local.port() >= EPHEMERAL_FIRST);
        assert_eq!(set.pop_tx_ready(), Some(a));
        assert_eq!(set.pop_tx_ready(), None);
        assert_eq!(
            set.send_to(a, b"x", addr([10, 0, 0, 2], 0)),
            Err(SocketError::InvalidDestination(addr([10, 0, 0, 2], 0)))
        );
    }

    #[test]
    fn table_is_bounded() {
        let mut set = SocketSet::new(SocketSetConfig { max_sockets: 2, ..SocketSetConfig::default() });
        set.udp_socket(UdpConfig::default()).unwrap();
        set.udp_socket(UdpConfig::default()).unwrap();
        assert_eq!(set.udp_socket(UdpConfig::default()).unwrap_err(), SocketError::TooManySockets(2));
    }

    #[test]
    fn icmp_idents_are_unique() {
        let mut set = SocketSet::default();
        let a = set.icmp_socket(IcmpConfig::default()).unwrap();
        let b = set.icmp_socket(IcmpConfig::default()).unwrap();
        let ia = set.bind_icmp(a, None).unwrap();
        let ib = set.bind_icmp(b, None).unwrap();
        assert_ne!(ia, ib);
        let c = set.icmp_socket(IcmpConfig::default()).unwrap();
        assert!(matches!(set.bind_icmp(c, Some(ia)), Err(SocketError::AddressInUse(_))));
        assert_eq!(set.icmp_lookup(ib), Some(b));
    }
}
