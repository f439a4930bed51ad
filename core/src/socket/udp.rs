//! UDP sockets (RFC 768): bounded datagram queues in both directions.

use core::net::SocketAddrV4;

use super::output::{Blocked, IpOutput, IpPayload, OutboundPacket, Sent};
use super::ring::DatagramRing;
use super::{Socket, SocketError, SocketHandle, SocketSet};
use crate::wire::{Ipv4Addr, UdpRepr};

/// The largest UDP payload over IPv4: 65,535 less the IPv4 and UDP headers.
pub const MAX_PAYLOAD: usize = 65_535 - 20 - 8;

/// Buffer sizes of a UDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpConfig {
    pub rx_datagrams: usize,
    pub rx_bytes: usize,
    pub tx_datagrams: usize,
    pub tx_bytes: usize,
    /// Time to live of datagrams sent.
    pub ttl: u8,
}

impl Default for UdpConfig {
    fn default() -> UdpConfig {
        UdpConfig { rx_datagrams: 64, rx_bytes: 128 * 1024, tx_datagrams: 64, tx_bytes: 128 * 1024, ttl: 64 }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct RxMeta {
    pub remote: SocketAddrV4,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TxMeta {
    pub remote: SocketAddrV4,
}

#[derive(Debug)]
pub struct UdpSocket {
    pub(crate) local: Option<SocketAddrV4>,
    pub(crate) rx: DatagramRing<RxMeta>,
    pub(crate) tx: DatagramRing<TxMeta>,
    pub(crate) ttl: u8,
    /// An ICMP error reported for a datagram this socket sent, until the app takes it.
    pub(crate) error: Option<SocketError>,
}

impl UdpSocket {
    pub fn new(config: UdpConfig) -> UdpSocket {
        UdpSocket {
            local: None,
            rx: DatagramRing::new(config.rx_datagrams, config.rx_bytes),
            tx: DatagramRing::new(config.tx_datagrams, config.tx_bytes),
            ttl: config.ttl,
            error: None,
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddrV4> {
        self.local
    }

    pub fn can_recv(&self) -> bool {
        !self.rx.is_empty()
    }

    pub fn can_send(&self, len: usize) -> bool {
        self.tx.can_push(len)
    }

    /// Datagrams waiting to be read and waiting to be sent.
    pub fn queued(&self) -> (usize, usize) {
        (self.rx.len(), self.tx.len())
    }

    /// Payload bytes waiting to be read and waiting to be sent.
    pub fn queued_bytes(&self) -> (usize, usize) {
        (self.rx.queued_bytes(), self.tx.queued_bytes())
    }

    /// Queues a datagram; the interface sends it on its next poll.
    pub(crate) fn enqueue(&mut self, data: &[u8], remote: SocketAddrV4) -> Result<usize, SocketError> {
        if data.len() > MAX_PAYLOAD || data.len() > self.tx.capacity_bytes() {
            return Err(SocketError::MessageTooLong {
                len: data.len(),
                max: MAX_PAYLOAD.min(self.tx.capacity_bytes()),
            });
        }
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(SocketError::InvalidDestination(remote));
        }
        if self.tx.push_slice(TxMeta { remote }, data) {
            Ok(data.len())
        } else {
            Err(SocketError::WouldBlock)
        }
    }

    /// Takes the oldest datagram: copies up to `buf.len()` bytes (the rest of a longer
    /// datagram is discarded, as recvfrom does) and returns (bytes copied, sender).
    pub(crate) fn dequeue(&mut self, buf: &mut [u8]) -> Result<(usize, SocketAddrV4), SocketError> {
        self.rx
            .pop_with(|meta, data| {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                (n, meta.remote)
            })
            .ok_or(SocketError::WouldBlock)
    }

    /// Stores a received datagram; false if the receive buffer is full.
    pub(crate) fn deliver(&mut self, remote: SocketAddrV4, payload: &[u8]) -> bool {
        self.rx.push_slice(RxMeta { remote }, payload)
    }

    /// Sends the oldest queued datagram through `out`; returns whether more wait. A
    /// datagram that cannot be routed is dropped and its error kept for the application.
    pub(crate) fn dispatch(&mut self, out: &mut impl IpOutput) -> Result<bool, Blocked> {
        let Some((meta, _)) = self.tx.peek() else { return Ok(false) };
        let local = self.local.expect("a socket with queued data is bound");
        let src = self.source_addr(Ipv4Addr::UNSPECIFIED);
        let ttl = self.ttl;
        let tx = &self.tx;
        let sent = out.send(*meta.remote.ip(), || {
            let (meta, data) = tx.peek()?;
            let repr = UdpRepr { src_port: local.port(), dst_port: meta.remote.port() };
            Some(OutboundPacket {
                src,
                ttl: Some(ttl),
                dont_frag: false,
                payload: IpPayload::Udp { repr, data },
            })
        })?;
        if let Sent::Dropped { error: Some(error) } = sent {
            self.error = Some(error);
        }
        if sent != Sent::Nothing {
            self.tx.pop_with(|_, _| ());
        }
        Ok(!self.tx.is_empty())
    }

    /// The address datagrams leave from: the bound address, or `fallback` when bound to
    /// the wildcard address.
    pub(crate) fn source_addr(&self, fallback: Ipv4Addr) -> Ipv4Addr {
        match self.local {
            Some(local) if !local.ip().is_unspecified() => *local.ip(),
            _ => fallback,
        }
    }
}

/// The UDP calls of the socket table.
impl SocketSet {
    /// `socket(AF_INET, SOCK_DGRAM)`.
    pub fn udp_socket(&mut self, config: UdpConfig) -> Result<SocketHandle, SocketError> {
        self.add(Socket::Udp(UdpSocket::new(config)))
    }

    pub fn udp(&self, handle: SocketHandle) -> Result<&UdpSocket, SocketError> {
        match self.get(handle)? {
            Socket::Udp(socket) => Ok(socket),
            _ => Err(SocketError::WrongKind(handle)),
        }
    }

    pub(crate) fn udp_mut(&mut self, handle: SocketHandle) -> Result<&mut UdpSocket, SocketError> {
        match &mut *self.slot_mut(handle)?.socket {
            Socket::Udp(socket) => Ok(socket),
            _ => Err(SocketError::WrongKind(handle)),
        }
    }

    pub(super) fn udp_port_in_use(&self, port: u16) -> bool {
        self.udp_port_users.contains_key(&port)
    }

    /// `sendto()`: queues one datagram; an unbound socket is first bound to an ephemeral
    /// port on the wildcard address, as BSD does.
    pub fn send_to(
        &mut self,
        handle: SocketHandle,
        data: &[u8],
        dst: SocketAddrV4,
    ) -> Result<usize, SocketError> {
        if self.udp(handle)?.local.is_none() {
            self.bind(handle, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let sent = self.udp_mut(handle)?.enqueue(data, dst)?;
        self.mark_tx_ready(handle);
        Ok(sent)
    }

    /// `recvfrom()`: (bytes copied, sender); a longer datagram is truncated to `buf`.
    pub fn recv_from(
        &mut self,
        handle: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddrV4), SocketError> {
        self.udp_mut(handle)?.dequeue(buf)
    }

    /// `getsockopt(SO_ERROR)`: the pending asynchronous error (from ICMP), cleared.
    pub fn take_error(&mut self, handle: SocketHandle) -> Result<Option<SocketError>, SocketError> {
        Ok(self.udp_mut(handle)?.error.take())
    }

    /// The UDP socket a datagram to `dst` belongs to: exact binding first, then wildcard.
    pub(crate) fn udp_lookup(&self, dst: SocketAddrV4) -> Option<SocketHandle> {
        self.udp_bindings
            .get(&dst)
            .or_else(|| self.udp_bindings.get(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, dst.port())))
            .copied()
    }
}
