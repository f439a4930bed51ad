//! UDP (RFC 768): datagrams delivered to their socket or answered with port unreachable
//! (RFC 1122 §4.1.3.1); a socket's queued datagram built straight into a device buffer.

use core::net::SocketAddrV4;

use super::icmp::IcmpError;
use super::ipv4::Received;
use super::Interface;
use crate::iface::partial_checksum;
use crate::iface::stats::DropReason;
use crate::phy::TxToken;
use crate::socket::SocketSet;
use crate::time::Instant;
use crate::wire::icmpv4::DstUnreachable;
use crate::wire::{self, IpProtocol, UdpPacket, UdpRepr};

impl Interface {
    pub(super) fn process_udp<T: TxToken>(
        &mut self,
        now: Instant,
        datagram: Received<'_>,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let (ip, payload) = (datagram.ip, datagram.payload);
        let packet = UdpPacket::new_checked(payload).map_err(|e| match e {
            wire::Error::Truncated => DropReason::UdpTruncated,
            _ => DropReason::UdpMalformed,
        })?;
        let repr =
            UdpRepr::parse(&packet, ip.src_addr, ip.dst_addr, self.rx_checksums).map_err(|e| match e {
                wire::Error::Checksum => partial_checksum::drop_reason(
                    packet.checksum(),
                    ip,
                    IpProtocol::Udp,
                    packet.len(),
                    DropReason::UdpBadChecksum,
                ),
                wire::Error::Truncated => DropReason::UdpTruncated,
                _ => DropReason::UdpMalformed,
            })?;
        let local = SocketAddrV4::new(ip.dst_addr, repr.dst_port);
        let Some(handle) = sockets.udp_lookup(local) else {
            // RFC 1122 §4.1.3.1: port unreachable, never for broadcasts (§3.2.2).
            self.send_icmp_error(now, tx, datagram, IcmpError::Unreachable(DstUnreachable::PortUnreachable));
            return Err(DropReason::UdpNoSocket);
        };
        let remote = SocketAddrV4::new(ip.src_addr, repr.src_port);
        let socket = sockets.udp_mut(handle).map_err(|_| DropReason::UdpNoSocket)?;
        if socket.deliver(remote, packet.payload()) {
            Ok(())
        } else {
            Err(DropReason::UdpSocketFull)
        }
    }
}
