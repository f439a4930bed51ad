//! ICMP (RFC 792, RFC 1122 §3.2.2): the echo responder, echo replies for ping sockets,
//! errors reported to the UDP socket that caused them, and the errors we originate, rate
//! limited (RFC 1812 §4.3.2.8).

use core::net::SocketAddrV4;

use super::ipv4::Received;
use super::ipv4_output::IpPayload;
use super::Interface;
use crate::iface::stats::DropReason;
use crate::phy::TxToken;
use crate::socket::{SocketError, SocketSet};
use crate::time::Instant;
use crate::wire::icmpv4::{DstUnreachable, TimeExceeded};
use crate::wire::{self, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Addr, Ipv4Repr};

/// The ICMP errors the interface originates.
#[derive(Debug, Clone, Copy)]
pub(super) enum IcmpError {
    Unreachable(DstUnreachable),
    TimeExceeded(TimeExceeded),
}

impl Interface {
    pub(super) fn process_icmp<T: TxToken>(
        &mut self,
        now: Instant,
        datagram: Received<'_>,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let ip = datagram.ip;
        let packet = Icmpv4Packet::new_checked(datagram.payload).map_err(|_| DropReason::IcmpTruncated)?;
        let repr = Icmpv4Repr::parse(&packet, self.rx_checksums).map_err(|e| match e {
            wire::Error::Checksum => DropReason::IcmpBadChecksum,
            wire::Error::Unsupported => DropReason::IcmpUnsupported,
            _ => DropReason::IcmpTruncated,
        })?;
        match repr {
            Icmpv4Repr::EchoRequest { ident, seq_no, data } => {
                if datagram.broadcast {
                    return Err(DropReason::IcmpBroadcastEcho);
                }
                let reply = Icmpv4Repr::EchoReply { ident, seq_no, data };
                if self.reply_ip(now, tx, ip.src_addr, IpPayload::Icmp(reply)) {
                    self.stats.icmp_echo_replies_sent += 1;
                }
                Ok(())
            }
            Icmpv4Repr::EchoReply { ident, seq_no, data } => {
                let handle = sockets.icmp_lookup(ident).ok_or(DropReason::IcmpNoSocket)?;
                let socket = sockets.icmp_mut(handle).map_err(|_| DropReason::IcmpNoSocket)?;
                if socket.deliver(ip.src_addr, seq_no, data) {
                    Ok(())
                } else {
                    Err(DropReason::IcmpSocketFull)
                }
            }
            Icmpv4Repr::DstUnreachable { reason, header, data, .. } => {
                let error = match reason {
                    DstUnreachable::PortUnreachable => SocketError::ConnectionRefused(header.dst_addr),
                    _ => SocketError::HostUnreachable(header.dst_addr),
                };
                Self::report_to_udp(sockets, &header, data, error)
            }
            Icmpv4Repr::TimeExceeded { header, data, .. } => {
                Self::report_to_udp(sockets, &header, data, SocketError::HostUnreachable(header.dst_addr))
            }
        }
    }

    /// Hands an ICMP error about a datagram we sent to the socket that sent it.
    fn report_to_udp(
        sockets: &mut SocketSet,
        header: &Ipv4Repr,
        quoted: &[u8],
        error: SocketError,
    ) -> Result<(), DropReason> {
        if header.next_header != IpProtocol::Udp || quoted.len() < 4 {
            return Err(DropReason::IcmpNoSocket);
        }
        let src_port = u16::from_be_bytes([quoted[0], quoted[1]]);
        let local = SocketAddrV4::new(header.src_addr, src_port);
        let handle = sockets.udp_lookup(local).ok_or(DropReason::IcmpNoSocket)?;
        let socket = sockets.udp_mut(handle).map_err(|_| DropReason::IcmpNoSocket)?;
        socket.error = Some(error);
        Ok(())
    }

    /// Sends an ICMP error about `original` unless RFC 1122 §3.2.2 forbids it or the rate
    /// limit suppresses it.
    pub(super) fn send_icmp_error<T: TxToken>(
        &mut self,
        now: Instant,
        tx: T,
        original: Received<'_>,
        error: IcmpError,
    ) {
        let Received { ip: original, payload, broadcast } = original;
        // Never about broadcasts, non-first fragments or ICMP errors (the callers never pass
        // ICMP), nor to a source that does not name one host.
        if broadcast || original.frag_offset != 0 || !self.is_unicast_host(original.src_addr) {
            return;
        }
        if !self.icmp_limit.try_take(now) {
            self.stats.count_drop(DropReason::IcmpRateLimited);
            return;
        }
        let data = &payload[..payload.len().min(8)];
        let header = *original;
        let repr = match error {
            IcmpError::Unreachable(reason) => {
                Icmpv4Repr::DstUnreachable { reason, next_hop_mtu: 0, header, data }
            }
            IcmpError::TimeExceeded(reason) => Icmpv4Repr::TimeExceeded { reason, header, data },
        };
        if self.reply_ip(now, tx, original.src_addr, IpPayload::Icmp(repr)) {
            self.stats.icmp_errors_sent += 1;
        }
    }

    fn is_unicast_host(&self, addr: Ipv4Addr) -> bool {
        !(addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() || self.is_broadcast(addr))
    }
}
