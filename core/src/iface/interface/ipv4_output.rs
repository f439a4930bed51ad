//! IPv4 output (RFC 1122 §3.3.1): headers, the route and next hop of a destination,
//! packets written straight into device buffers, fragmentation (RFC 791 §3.2), and
//! packets queued behind ARP.

use super::Interface;
use crate::iface::neighbor::{Enqueued, NeighborState};
use crate::iface::stats::DropReason;
use crate::phy::TxToken;
pub(super) use crate::socket::output::IpPayload;
use crate::time::{Duration, Instant};
use crate::wire::{
    self, EtherType, EthernetAddress, EthernetFrame, Icmpv4Packet, IpProtocol, Ipv4Addr, Ipv4Packet,
    Ipv4Repr, TcpPacket, UdpPacket,
};

/// How often a destination kept in `last_hop` marks its neighbour entry used: the
/// least-recently-used order is this coarse, and the fast path skips the table lookup.
const NEIGHBOR_TOUCH_INTERVAL: Duration = Duration::from_millis(1);

impl IpPayload<'_> {
    pub(super) fn protocol(&self) -> IpProtocol {
        match self {
            IpPayload::Icmp(_) => IpProtocol::Icmp,
            IpPayload::Udp { .. } => IpProtocol::Udp,
            IpPayload::Tcp { .. } => IpProtocol::Tcp,
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            IpPayload::Icmp(repr) => repr.buffer_len(),
            IpPayload::Udp { repr, data } => repr.header_len() + data.len(),
            IpPayload::Tcp { repr, data } => repr.header_len() + data.0.len() + data.1.len(),
        }
    }

    pub(super) fn emit(&self, buf: &mut [u8], ip: &Ipv4Repr) {
        match self {
            IpPayload::Icmp(repr) => repr.emit(&mut Icmpv4Packet::new_unchecked(buf)),
            IpPayload::Udp { repr, data } => {
                repr.emit(&mut UdpPacket::new_unchecked(buf), ip.src_addr, ip.dst_addr, data)
            }
            IpPayload::Tcp { repr, data: (first, second) } => {
                let mut packet = TcpPacket::new_unchecked(buf);
                repr.emit_header(&mut packet);
                let payload = packet.payload_mut();
                payload[..first.len()].copy_from_slice(first);
                if !second.is_empty() {
                    // The data wrapped around the end of the send buffer's ring.
                    payload[first.len()..first.len() + second.len()].copy_from_slice(second);
                }
                packet.fill_checksum(ip.src_addr, ip.dst_addr);
            }
        }
    }
}

/// Where a packet goes on the link.
pub(super) enum LinkDestination {
    Mac(EthernetAddress),
    /// Not resolved: queue behind ARP for this next hop (`pending` if a request is out).
    Resolve {
        next_hop: Ipv4Addr,
        pending: bool,
    },
}

/// The last unicast destination found resolved: its MAC address, valid while the
/// neighbour entry behind it has not expired and the table has not changed.
#[derive(Debug, Clone, Copy)]
pub(super) struct ResolvedHop {
    dst: Ipv4Addr,
    /// The neighbour entry used: `dst` itself, or the gateway.
    next_hop: Ipv4Addr,
    mac: EthernetAddress,
    expires_at: Instant,
    generation: u64,
    /// When the neighbour entry was last marked used.
    touched_at: Instant,
}

impl Interface {
    pub(super) fn ip_header(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        ttl: u8,
    ) -> Ipv4Repr {
        let ident = self.next_ident;
        self.next_ident = self.next_ident.wrapping_add(1);
        Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: protocol,
            payload_len: 0,
            hop_limit: ttl,
            ident,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            dscp_ecn: 0,
        }
    }

    /// Where a packet for `dst` goes on the link: broadcast, a known MAC, or resolution.
    pub(super) fn link_destination(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
    ) -> Result<LinkDestination, DropReason> {
        if let Some(hop) = &mut self.last_hop {
            // The routing checks below depend only on `dst` and the fixed configuration.
            if hop.dst == dst && hop.generation == self.neighbors.generation() && now < hop.expires_at {
                if now >= hop.touched_at + NEIGHBOR_TOUCH_INTERVAL {
                    hop.touched_at = now;
                    self.neighbors.touch(hop.next_hop, now);
                }
                return Ok(LinkDestination::Mac(hop.mac));
            }
        }
        if self.is_broadcast(dst) {
            return Ok(LinkDestination::Mac(EthernetAddress::BROADCAST));
        }
        if dst == self.ipv4_addr() || dst.is_unspecified() || dst.is_multicast() {
            return Err(DropReason::NoRoute);
        }
        let next_hop = if self.config.addr.contains_addr(&dst) {
            dst
        } else {
            self.config.gateway.ok_or(DropReason::NoRoute)?
        };
        match self.neighbors.state(next_hop, now) {
            NeighborState::Resolved(mac) => {
                self.neighbors.touch(next_hop, now);
                if let Some((_, expires_at)) = self.neighbors.lookup_with_expiry(next_hop, now) {
                    let generation = self.neighbors.generation();
                    self.last_hop =
                        Some(ResolvedHop { dst, next_hop, mac, expires_at, generation, touched_at: now });
                }
                Ok(LinkDestination::Mac(mac))
            }
            NeighborState::Pending => Ok(LinkDestination::Resolve { next_hop, pending: true }),
            NeighborState::Unknown => Ok(LinkDestination::Resolve { next_hop, pending: false }),
            NeighborState::Failed => Err(DropReason::ArpUnresolved),
        }
    }

    /// Sends a reply produced while handling a received frame, through that frame's token.
    /// Returns whether it went out (or was queued).
    pub(super) fn reply_ip<T: TxToken>(
        &mut self,
        now: Instant,
        tx: T,
        dst: Ipv4Addr,
        payload: IpPayload<'_>,
    ) -> bool {
        let destination = match self.link_destination(now, dst) {
            Ok(destination) => destination,
            Err(reason) => {
                self.stats.count_drop(reason);
                return false;
            }
        };
        let ip = self.ip_header(self.ipv4_addr(), dst, payload.protocol(), self.config.default_ttl);
        self.send_ip_to(now, tx, destination, ip, payload).is_ok()
    }

    /// IPv4 output (RFC 1122 §3.3.1) once the link destination is known: the common case,
    /// a resolved neighbour and a packet within the MTU, is written straight into the
    /// device's buffer; larger packets are fragmented, unresolved ones queued behind ARP.
    /// Drops are counted here and their reason returned.
    pub(super) fn send_ip_to<T: TxToken>(
        &mut self,
        now: Instant,
        token: T,
        destination: LinkDestination,
        mut ip: Ipv4Repr,
        payload: IpPayload<'_>,
    ) -> Result<(), DropReason> {
        ip.payload_len = payload.len();
        let total = wire::ipv4::HEADER_LEN + ip.payload_len;
        if total > usize::from(u16::MAX) {
            return Err(self.dropped(DropReason::TooBig));
        }
        match destination {
            LinkDestination::Mac(mac) if total <= self.mtu => {
                let eth = self.eth_header(mac, EtherType::Ipv4);
                let len = eth.buffer_len() + total;
                token.consume(len, |buf| {
                    let mut frame = EthernetFrame::new_unchecked(buf);
                    eth.emit(&mut frame);
                    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
                    ip.emit(&mut packet);
                    payload.emit(packet.payload_mut(), &ip);
                });
                self.count_tx(len);
                Ok(())
            }
            LinkDestination::Mac(mac) => {
                if ip.dont_frag {
                    return Err(self.dropped(DropReason::TooBig));
                }
                let packet = serialize(&ip, &payload);
                self.frame_ip_packet(mac, &packet);
                Ok(())
            }
            LinkDestination::Resolve { next_hop, .. } => {
                let packet = serialize(&ip, &payload);
                match self.neighbors.enqueue(next_hop, packet, now) {
                    Enqueued::RequestNow(evicted) => {
                        self.count_eviction(evicted);
                        self.send_arp_request(token, next_hop);
                    }
                    Enqueued::Waiting => {}
                    Enqueued::DisplacedOldest => self.stats.count_drop(DropReason::ArpQueueFull),
                }
                Ok(())
            }
        }
    }

    /// Queues a serialized IPv4 packet for `mac`, in fragments when it exceeds the MTU
    /// (RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes).
    pub(super) fn frame_ip_packet(&mut self, mac: EthernetAddress, packet: &[u8]) {
        let eth = self.eth_header(mac, EtherType::Ipv4);
        let original = Ipv4Packet::new_unchecked(packet);
        let header_len = original.header_len();
        if packet.len() <= self.mtu {
            if self.tx_queue.len() >= self.config.tx_queue_frames {
                self.stats.count_drop(DropReason::TxQueueFull);
                return;
            }
            let mut frame = vec![0; eth.buffer_len() + packet.len()];
            eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
            frame[eth.buffer_len()..].copy_from_slice(packet);
            self.tx_queue.push_back(frame);
            return;
        }
        if original.dont_frag() {
            self.stats.count_drop(DropReason::TooBig);
            return;
        }
        let payload = &packet[header_len..];
        let max_data = (self.mtu - header_len) & !7;
        let fragments = payload.len().div_ceil(max_data);
        if self.tx_queue.len() + fragments > self.config.tx_queue_frames {
            // Sending some fragments of a datagram is worse than sending none.
            self.stats.count_drop(DropReason::TxQueueFull);
            return;
        }
        for (index, data) in payload.chunks(max_data).enumerate() {
            let offset = index * max_data;
            let mut frame = vec![0; eth.buffer_len() + header_len + data.len()];
            eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
            let ip_bytes = &mut frame[eth.buffer_len()..];
            ip_bytes[..header_len].copy_from_slice(&packet[..header_len]);
            ip_bytes[header_len..].copy_from_slice(data);
            let mut fragment = Ipv4Packet::new_unchecked(ip_bytes);
            fragment.set_total_len((header_len + data.len()) as u16);
            fragment.set_more_frags(offset + data.len() < payload.len());
            fragment.set_frag_offset(offset as u16);
            fragment.fill_checksum();
            self.tx_queue.push_back(frame);
            self.stats.fragments_sent += 1;
        }
    }
}

/// An IPv4 packet in a buffer of its own, for queues (ARP resolution, fragmentation).
fn serialize(ip: &Ipv4Repr, payload: &IpPayload<'_>) -> Vec<u8> {
    let mut packet = vec![0; wire::ipv4::HEADER_LEN + ip.payload_len];
    let mut view = Ipv4Packet::new_unchecked(&mut packet[..]);
    ip.emit(&mut view);
    payload.emit(view.payload_mut(), ip);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::InterfaceConfig;
    use crate::wire::Ipv4Cidr;

    const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const OLD_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
    const NEW_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 3]);

    fn mac_of(destination: Result<LinkDestination, DropReason>) -> Option<EthernetAddress> {
        match destination {
            Ok(LinkDestination::Mac(mac)) => Some(mac),
            _ => None,
        }
    }

    #[test]
    fn remembered_next_hop_follows_the_neighbour_table() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let addr = Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 1), 24).unwrap();
        let mut iface = Interface::new(InterfaceConfig::new(mac, addr)).unwrap();
        let t0 = Instant::from_secs(1);
        iface.neighbors.fill(PEER, OLD_MAC, t0);
        assert_eq!(mac_of(iface.link_destination(t0, PEER)), Some(OLD_MAC));
        assert_eq!(mac_of(iface.link_destination(t0, PEER)), Some(OLD_MAC));
        // The peer announces a new address: the next lookup sees it.
        iface.neighbors.fill(PEER, NEW_MAC, t0);
        assert_eq!(mac_of(iface.link_destination(t0, PEER)), Some(NEW_MAC));
        // Other destinations are looked up on their own.
        assert!(matches!(
            iface.link_destination(t0, Ipv4Addr::new(10, 0, 0, 9)),
            Ok(LinkDestination::Resolve { pending: false, .. })
        ));
        assert_eq!(mac_of(iface.link_destination(t0, PEER)), Some(NEW_MAC));
        // Once the entry expires the destination must be resolved again.
        let later = t0 + iface.neighbors.config().reachable_time;
        assert!(matches!(iface.link_destination(later, PEER), Ok(LinkDestination::Resolve { .. })));
    }
}
