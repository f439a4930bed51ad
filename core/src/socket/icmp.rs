//! ICMP echo ("ping") sockets, bound to an echo identifier as Linux's ping sockets are.

use core::net::SocketAddrV4;

use super::output::{Blocked, IpOutput, IpPayload, OutboundPacket, Sent};
use super::ring::DatagramRing;
use super::{Socket, SocketError, SocketHandle, SocketSet};
use crate::wire::{Icmpv4Repr, Ipv4Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpConfig {
    pub rx_messages: usize,
    pub rx_bytes: usize,
    pub tx_messages: usize,
    pub tx_bytes: usize,
    pub ttl: u8,
}

impl Default for IcmpConfig {
    fn default() -> IcmpConfig {
        IcmpConfig { rx_messages: 32, rx_bytes: 64 * 1024, tx_messages: 32, tx_bytes: 64 * 1024, ttl: 64 }
    }
}

/// An echo reply as the application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReply {
    pub from: Ipv4Addr,
    pub seq_no: u16,
    /// Bytes copied into the caller's buffer.
    pub len: usize,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct EchoMeta {
    pub addr: Ipv4Addr,
    pub seq_no: u16,
}

#[derive(Debug)]
pub struct IcmpSocket {
    pub(crate) ident: Option<u16>,
    pub(crate) rx: DatagramRing<EchoMeta>,
    pub(crate) tx: DatagramRing<EchoMeta>,
    pub(crate) ttl: u8,
}

impl IcmpSocket {
    pub fn new(config: IcmpConfig) -> IcmpSocket {
        IcmpSocket {
            ident: None,
            rx: DatagramRing::new(config.rx_messages, config.rx_bytes),
            tx: DatagramRing::new(config.tx_messages, config.tx_bytes),
            ttl: config.ttl,
        }
    }

    pub fn ident(&self) -> Option<u16> {
        self.ident
    }

    /// Payload bytes of echo replies waiting to be read and of requests waiting to be sent.
    pub fn queued_bytes(&self) -> (usize, usize) {
        (self.rx.queued_bytes(), self.tx.queued_bytes())
    }

    pub fn can_recv(&self) -> bool {
        !self.rx.is_empty()
    }

    pub(crate) fn enqueue(&mut self, dst: Ipv4Addr, seq_no: u16, data: &[u8]) -> Result<(), SocketError> {
        if data.len() > self.tx.capacity_bytes() || data.len() > super::udp::MAX_PAYLOAD {
            return Err(SocketError::MessageTooLong { len: data.len(), max: self.tx.capacity_bytes() });
        }
        if self.tx.push_slice(EchoMeta { addr: dst, seq_no }, data) {
            Ok(())
        } else {
            Err(SocketError::WouldBlock)
        }
    }

    pub(crate) fn dequeue(&mut self, buf: &mut [u8]) -> Result<EchoReply, SocketError> {
        self.rx
            .pop_with(|meta, data| {
                let len = data.len().min(buf.len());
                buf[..len].copy_from_slice(&data[..len]);
                EchoReply { from: meta.addr, seq_no: meta.seq_no, len }
            })
            .ok_or(SocketError::WouldBlock)
    }

    /// Sends the oldest queued echo request through `out`; returns whether more wait.
    pub(crate) fn dispatch(&mut self, out: &mut impl IpOutput) -> Result<bool, Blocked> {
        let Some((meta, _)) = self.tx.peek() else { return Ok(false) };
        let ident = self.ident.expect("a socket with queued data is bound");
        let ttl = self.ttl;
        let tx = &self.tx;
        let sent = out.send(meta.addr, || {
            let (meta, data) = tx.peek()?;
            let request = Icmpv4Repr::EchoRequest { ident, seq_no: meta.seq_no, data };
            Some(OutboundPacket {
                src: Ipv4Addr::UNSPECIFIED,
                ttl: Some(ttl),
                dont_frag: false,
                payload: IpPayload::Icmp(request),
            })
        })?;
        if sent != Sent::Nothing {
            self.tx.pop_with(|_, _| ());
        }
        Ok(!self.tx.is_empty())
    }

    pub(crate) fn deliver(&mut self, from: Ipv4Addr, seq_no: u16, data: &[u8]) -> bool {
        self.rx.push_slice(EchoMeta { addr: from, seq_no }, data)
    }
}

/// The ping calls of the socket table.
impl SocketSet {
    /// `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`: a ping socket.
    pub fn icmp_socket(&mut self, config: IcmpConfig) -> Result<SocketHandle, SocketError> {
        self.add(Socket::Icmp(IcmpSocket::new(config)))
    }

    pub fn icmp(&self, handle: SocketHandle) -> Result<&IcmpSocket, SocketError> {
        match self.get(handle)? {
            Socket::Icmp(socket) => Ok(socket),
            _ => Err(SocketError::WrongKind(handle)),
        }
    }

    pub(crate) fn icmp_mut(&mut self, handle: SocketHandle) -> Result<&mut IcmpSocket, SocketError> {
        match &mut *self.slot_mut(handle)?.socket {
            Socket::Icmp(socket) => Ok(socket),
            _ => Err(SocketError::WrongKind(handle)),
        }
    }

    /// Binds a ping socket to an echo identifier (`None`: the next free one).
    pub fn bind_icmp(&mut self, handle: SocketHandle, ident: Option<u16>) -> Result<u16, SocketError> {
        if self.icmp(handle)?.ident.is_some() {
            return Err(SocketError::AlreadyBound(handle));
        }
        let ident = match ident {
            Some(ident) if self.icmp_bindings.contains_key(&ident) => {
                return Err(SocketError::AddressInUse(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, ident)));
            }
            Some(ident) => ident,
            None => {
                let mut ident = self.next_icmp_ident;
                let mut tries = 0u32;
                while self.icmp_bindings.contains_key(&ident) {
                    ident = ident.wrapping_add(1);
                    tries += 1;
                    if tries > u32::from(u16::MAX) {
                        return Err(SocketError::NoEphemeralPort);
                    }
                }
                self.next_icmp_ident = ident.wrapping_add(1);
                ident
            }
        };
        self.icmp_bindings.insert(ident, handle);
        self.icmp_mut(handle)?.ident = Some(ident);
        Ok(ident)
    }

    /// Queues an echo request to `dst`; the socket is bound to an identifier if it is not.
    pub fn send_echo(
        &mut self,
        handle: SocketHandle,
        dst: Ipv4Addr,
        seq_no: u16,
        data: &[u8],
    ) -> Result<(), SocketError> {
        if self.icmp(handle)?.ident.is_none() {
            self.bind_icmp(handle, None)?;
        }
        self.icmp_mut(handle)?.enqueue(dst, seq_no, data)?;
        self.mark_tx_ready(handle);
        Ok(())
    }

    /// The next echo reply, its data copied into `buf`.
    pub fn recv_echo(&mut self, handle: SocketHandle, buf: &mut [u8]) -> Result<EchoReply, SocketError> {
        self.icmp_mut(handle)?.dequeue(buf)
    }

    pub(crate) fn icmp_lookup(&self, ident: u16) -> Option<SocketHandle> {
        self.icmp_bindings.get(&ident).copied()
    }
}
