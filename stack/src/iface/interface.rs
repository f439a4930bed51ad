//! The interface: Ethernet in and out, ARP, IPv4 validation and output, fragments, ICMP,
//! and delivery to sockets.
//!
//! `poll` drains a batch of received frames, answering on the spot where one reply frame
//! suffices (ARP replies, echo replies, ICMP errors: no queueing, no allocation), then runs
//! timers and sends what sockets have queued. Anything that needs more than one frame
//! (fragments) or must wait (address resolution) goes through a bounded queue.

use core::net::SocketAddrV4;
use std::collections::VecDeque;

use super::config::{ConfigError, InterfaceConfig};
use super::fragment::{is_fragment, FragmentOutcome, Reassembler};
use super::neighbor::{Enqueued, Evicted, NeighborCache, NeighborEvent, NeighborState};
use super::partial_checksum;
use super::rate_limit::TokenBucket;
use super::stats::{DropReason, Stats};
use super::steering::{FlowDirectory, Handoff, HandoffTarget, Steering, Verdict};
use crate::phy::{Device, RxToken, TxToken};
use crate::socket::tcp::TcpInput;
use crate::socket::{Socket, SocketError, SocketHandle, SocketSet};
use crate::time::{Duration, Instant};
use crate::wire::icmpv4::{DstUnreachable, TimeExceeded};
use crate::wire::{
    self, ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Addr, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr,
    UdpPacket, UdpRepr,
};

/// Frames taken from the device per `poll`, so egress and timers get their turn.
const RX_BATCH: usize = 64;
/// Datagrams taken from sockets per `poll`.
const TX_BATCH: usize = 64;
/// RFC 5227 §2.3: two announcements, two seconds apart.
const ANNOUNCE_COUNT: u8 = 2;
const ANNOUNCE_INTERVAL: Duration = Duration::from_secs(2);
/// How often a destination kept in `last_hop` marks its neighbour entry used: the
/// least-recently-used order is this coarse, and the fast path skips the table lookup.
const NEIGHBOR_TOUCH_INTERVAL: Duration = Duration::from_millis(1);

/// A transport payload ready to be written after an IPv4 header.
#[derive(Debug, Clone, Copy)]
enum IpPayload<'a> {
    Icmp(Icmpv4Repr<'a>),
    Udp {
        repr: UdpRepr,
        data: &'a [u8],
    },
    /// A TCP header and its payload, in up to two pieces (the send buffer is a ring).
    Tcp {
        repr: TcpRepr<'a>,
        data: (&'a [u8], &'a [u8]),
    },
}

impl IpPayload<'_> {
    fn protocol(&self) -> IpProtocol {
        match self {
            IpPayload::Icmp(_) => IpProtocol::Icmp,
            IpPayload::Udp { .. } => IpProtocol::Udp,
            IpPayload::Tcp { .. } => IpProtocol::Tcp,
        }
    }

    fn len(&self) -> usize {
        match self {
            IpPayload::Icmp(repr) => repr.buffer_len(),
            IpPayload::Udp { repr, data } => repr.header_len() + data.len(),
            IpPayload::Tcp { repr, data } => repr.header_len() + data.0.len() + data.1.len(),
        }
    }

    fn emit(&self, buf: &mut [u8], ip: &Ipv4Repr) {
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

/// The device has no room for another frame; try again on the next poll.
struct DeviceFull;

/// What became of a socket's oldest datagram.
enum SocketSend {
    /// Sent, queued behind resolution or dropped (and counted); `more` if others wait.
    Done { more: bool },
    /// Left in the socket until the next hop resolves.
    Parked,
}

/// Where a packet goes on the link.
enum LinkDestination {
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
struct ResolvedHop {
    dst: Ipv4Addr,
    /// The neighbour entry used: `dst` itself, or the gateway.
    next_hop: Ipv4Addr,
    mac: EthernetAddress,
    expires_at: Instant,
    generation: u64,
    /// When the neighbour entry was last marked used.
    touched_at: Instant,
}

#[derive(Debug)]
pub struct Interface {
    config: InterfaceConfig,
    neighbors: NeighborCache,
    fragments: Reassembler,
    icmp_limit: TokenBucket,
    /// RSTs for segments no socket wants.
    reset_limit: TokenBucket,
    stats: Stats,
    next_ident: u16,
    /// Complete Ethernet frames waiting for room in the device.
    tx_queue: VecDeque<Vec<u8>>,
    /// Sockets whose next datagram waits for a next hop being resolved. Their data stays
    /// in the socket's buffer, so a burst to a new neighbour is not lost to the ARP queue.
    parked: Vec<(Ipv4Addr, SocketHandle)>,
    announcements_left: u8,
    next_announcement: Instant,
    /// The link's IP MTU, as the device last reported it.
    mtu: usize,
    /// Whether received checksums are verified, as the device last asked.
    rx_checksums: ChecksumMode,
    /// Saves the routing checks and the neighbour lookup for repeated destinations.
    last_hop: Option<ResolvedHop>,
    /// Set when this interface is one of several workers on a multi-queue link.
    steering: Option<Steering>,
    /// Frames for other workers, until the worker takes them.
    handoffs: Vec<Handoff>,
    /// Emptied handoff buffers, reused so handing off allocates only while warming up.
    spare_buffers: Vec<Vec<u8>>,
    /// Which worker owns connections this one does not have.
    flows: Option<std::sync::Arc<dyn FlowDirectory>>,
}

/// How many emptied handoff buffers an interface keeps for reuse.
const SPARE_BUFFERS: usize = 256;

/// A reply token for a handed-in frame when the device has no room: the frame waits in
/// the interface's transmit queue.
struct SpillToken<'a>(&'a mut Vec<Vec<u8>>);

impl TxToken for SpillToken<'_> {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        self.0.push(frame);
        result
    }
}

impl Interface {
    pub fn new(config: InterfaceConfig) -> Result<Interface, ConfigError> {
        config.validate()?;
        Ok(Interface {
            neighbors: NeighborCache::new(config.neighbor),
            fragments: Reassembler::new(config.reassembly),
            icmp_limit: TokenBucket::new(config.icmp_errors_per_sec, config.icmp_errors_burst),
            reset_limit: TokenBucket::new(config.resets_per_sec, config.resets_burst),
            stats: Stats::default(),
            next_ident: config.ident_seed,
            tx_queue: VecDeque::new(),
            parked: Vec::new(),
            announcements_left: if config.announce { ANNOUNCE_COUNT } else { 0 },
            next_announcement: Instant::ZERO,
            mtu: 1500,
            rx_checksums: ChecksumMode::Verify,
            last_hop: None,
            steering: None,
            handoffs: Vec::new(),
            spare_buffers: Vec::new(),
            flows: None,
            config,
        })
    }

    pub fn config(&self) -> &InterfaceConfig {
        &self.config
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn neighbors(&self) -> &NeighborCache {
        &self.neighbors
    }

    pub fn reassembler(&self) -> &Reassembler {
        &self.fragments
    }

    /// How full the bounded tables are now, for `sluice stat`: neighbour entries, and the
    /// datagrams and bytes in reassembly.
    pub fn table_gauges(&self) -> [(&'static str, u64); 3] {
        [
            ("neighbor_entries_now", self.neighbors.len() as u64),
            ("reassembly_datagrams_now", self.fragments.datagrams_held() as u64),
            ("reassembly_bytes_now", self.fragments.bytes_held() as u64),
        ]
    }

    pub fn ipv4_addr(&self) -> Ipv4Addr {
        self.config.addr.address()
    }

    /// Tells a socket set which address and MTU its connections use. `poll` does it too;
    /// call this to `connect` before the first poll.
    pub fn attach(&self, sockets: &mut SocketSet) {
        sockets.set_link(self.ipv4_addr(), self.mtu);
    }

    /// Processes received frames, timers and queued output. Returns whether anything
    /// happened (a frame received or sent, a timer run).
    pub fn poll<D: Device>(&mut self, now: Instant, device: &mut D, sockets: &mut SocketSet) -> bool {
        let caps = device.caps();
        self.mtu = caps.mtu;
        self.rx_checksums =
            if caps.rx_checksums_unverified { ChecksumMode::Trust } else { ChecksumMode::Verify };
        sockets.set_link(self.ipv4_addr(), self.mtu);
        let mut progress = false;
        for _ in 0..RX_BATCH {
            let Some((rx, tx)) = device.receive(now) else { break };
            progress = true;
            rx.consume(|frame| {
                let verdict = self.steering.map_or(Verdict::Local, |steering| steering.classify(frame));
                match verdict {
                    Verdict::Local => self.process_frame(now, frame, tx, sockets),
                    Verdict::HandOff(worker) => self.hand_off(HandoffTarget::Worker(worker), frame),
                    Verdict::LocalAndShare => {
                        self.hand_off(HandoffTarget::AllOthers, frame);
                        self.process_frame(now, frame, tx, sockets);
                    }
                    Verdict::LocalIfOwned(tuple) => match self.stray_owner(&tuple, sockets) {
                        Some(owner) => self.hand_off(HandoffTarget::Worker(owner), frame),
                        None => self.process_frame(now, frame, tx, sockets),
                    },
                }
            });
        }
        progress |= self.egress(now, device, sockets);
        progress
    }

    /// Makes this interface one of `steering.workers` sharing a multi-queue link: frames
    /// that belong to another worker are set aside for `take_handoffs`. The socket set's
    /// ephemeral share must be the same worker's (`SocketSetConfig::ephemeral_share`).
    pub fn set_steering(&mut self, steering: Steering) {
        self.steering = Some(steering);
    }

    /// Names the directory of connections every worker shares, so that a segment of a
    /// connection another worker owns is handed to it.
    pub fn set_flow_directory(&mut self, flows: std::sync::Arc<dyn FlowDirectory>) {
        self.flows = Some(flows);
    }

    /// The other worker that owns `tuple`, if this one does not have it.
    fn stray_owner(&self, tuple: &crate::socket::FourTuple, sockets: &mut SocketSet) -> Option<u16> {
        let flows = self.flows.as_ref()?;
        if sockets.has_connection(tuple) {
            return None;
        }
        let owner = flows.owner(tuple)?;
        (Some(owner) != self.steering.map(|s| s.worker)).then_some(owner)
    }

    /// The frames received since the last call that belong to other workers.
    pub fn take_handoffs(&mut self) -> std::vec::Drain<'_, Handoff> {
        self.handoffs.drain(..)
    }

    /// Processes a frame another worker handed over, as if this worker had received it.
    /// Its buffer is kept for reuse.
    pub fn receive_handoff<D: Device>(
        &mut self,
        now: Instant,
        mut frame: Vec<u8>,
        device: &mut D,
        sockets: &mut SocketSet,
    ) {
        self.stats.handed_in += 1;
        match device.transmit(now) {
            Some(tx) => self.process_frame(now, &mut frame, tx, sockets),
            None => {
                let mut spilled = Vec::new();
                self.process_frame(now, &mut frame, SpillToken(&mut spilled), sockets);
                self.tx_queue.extend(spilled);
            }
        }
        self.recycle(frame);
    }

    /// Returns a handoff buffer for reuse.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.spare_buffers.len() < SPARE_BUFFERS {
            buffer.clear();
            self.spare_buffers.push(buffer);
        }
    }

    fn hand_off(&mut self, to: HandoffTarget, frame: &[u8]) {
        self.stats.handed_off += 1;
        let mut buffer = self.spare_buffers.pop().unwrap_or_default();
        buffer.extend_from_slice(frame);
        self.handoffs.push(Handoff { to, frame: buffer });
    }

    /// When `poll` next has work: `Some(now)` if output is waiting, else the earliest timer.
    pub fn poll_at(&self, now: Instant, sockets: &SocketSet) -> Option<Instant> {
        let unparkable =
            self.parked.iter().any(|&(hop, _)| self.neighbors.state(hop, now) != NeighborState::Pending);
        if !self.tx_queue.is_empty() || sockets.has_tx_ready() || unparkable {
            return Some(now);
        }
        let announce = (self.announcements_left > 0).then_some(self.next_announcement);
        [announce, self.neighbors.poll_at(), self.fragments.poll_at(), sockets.tcp_poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    // ---------------------------------------------------------------- ingress

    fn process_frame<T: TxToken>(&mut self, now: Instant, frame: &mut [u8], tx: T, sockets: &mut SocketSet) {
        self.stats.rx_frames += 1;
        self.stats.rx_bytes += frame.len() as u64;
        if let Err(reason) = self.process_ethernet(now, frame, tx, sockets) {
            self.stats.count_drop(reason);
        }
    }

    fn process_ethernet<T: TxToken>(
        &mut self,
        now: Instant,
        frame: &[u8],
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let eth = EthernetFrame::new_checked(frame).map_err(|_| DropReason::EthernetTruncated)?;
        let eth_repr = EthernetRepr::parse(&eth).map_err(|_| DropReason::VlanMismatch)?;
        if eth_repr.vlan_id != self.config.vlan_id {
            return Err(DropReason::VlanMismatch);
        }
        if eth_repr.dst_addr != self.config.mac && !eth_repr.dst_addr.is_broadcast() {
            return Err(DropReason::EthernetNotOurs);
        }
        match eth_repr.ethertype {
            EtherType::Arp => self.process_arp(now, eth.payload(), tx),
            EtherType::Ipv4 => self.process_ipv4(now, eth.payload(), tx, sockets),
            _ => Err(DropReason::EthernetUnknownType),
        }
    }

    /// RFC 826 "Packet Reception", with RFC 5227's probes and announcements.
    fn process_arp<T: TxToken>(&mut self, now: Instant, payload: &[u8], tx: T) -> Result<(), DropReason> {
        let packet = ArpPacket::new_checked(payload).map_err(|_| DropReason::ArpTruncated)?;
        let repr = ArpRepr::parse(&packet).map_err(|e| match e {
            wire::Error::Truncated => DropReason::ArpTruncated,
            _ => DropReason::ArpUnsupported,
        })?;
        if !matches!(repr.operation, ArpOperation::Request | ArpOperation::Reply) {
            return Err(DropReason::ArpUnsupported);
        }
        let our_ip = self.ipv4_addr();
        let sender_ip = repr.source_protocol_addr;
        let sender_mac = repr.source_hardware_addr;
        if !sender_mac.is_unicast() || sender_mac == self.config.mac || sender_ip == our_ip {
            // Our own frame reflected, or another host claiming our address.
            return Err(DropReason::ArpBadSource);
        }
        let usable_sender = !sender_ip.is_unspecified()
            && !sender_ip.is_broadcast()
            && !sender_ip.is_multicast()
            && self.config.addr.contains_addr(&sender_ip)
            && Some(sender_ip) != self.config.addr.broadcast();
        let for_us = repr.target_protocol_addr == our_ip;

        // Merge: refresh a known sender; learn a new one only from packets addressed to us.
        // RFC 826 again: an entry we are resolving was created when we asked, so the
        // answer merges into it; gratuitous ARP and ARP between other hosts add nothing.
        if usable_sender && (for_us || self.neighbors.contains(sender_ip)) {
            let learned = self.neighbors.fill(sender_ip, sender_mac, now);
            self.count_eviction(learned.evicted);
            for packet in learned.waiting {
                self.frame_ip_packet(sender_mac, &packet);
            }
        }
        if !for_us {
            return if self.neighbors.contains(sender_ip) { Ok(()) } else { Err(DropReason::ArpNotOurs) };
        }
        if repr.operation == ArpOperation::Request {
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.config.mac,
                source_protocol_addr: our_ip,
                target_hardware_addr: sender_mac,
                target_protocol_addr: sender_ip,
            };
            self.send_arp(tx, sender_mac, &reply);
            self.stats.arp_replies_sent += 1;
        }
        Ok(())
    }

    /// RFC 1122 §3.2.1: validate, then reassemble or deliver.
    fn process_ipv4<T: TxToken>(
        &mut self,
        now: Instant,
        payload: &[u8],
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let packet = Ipv4Packet::new_checked(payload).map_err(|e| match e {
            wire::Error::Truncated => DropReason::Ipv4Truncated,
            _ => DropReason::Ipv4Malformed,
        })?;
        let repr = Ipv4Repr::parse(&packet, self.rx_checksums).map_err(|e| match e {
            wire::Error::Checksum => DropReason::Ipv4BadChecksum,
            wire::Error::Truncated => DropReason::Ipv4Truncated,
            _ => DropReason::Ipv4Malformed,
        })?;
        let src = repr.src_addr;
        if src.is_broadcast()
            || src.is_multicast()
            || src.is_unspecified()
            || Some(src) == self.config.addr.broadcast()
        {
            return Err(DropReason::Ipv4BadSource);
        }
        if src == self.ipv4_addr() {
            return Err(DropReason::Ipv4BadSource);
        }
        let broadcast = self.is_broadcast(repr.dst_addr);
        if repr.dst_addr != self.ipv4_addr() && !broadcast {
            return Err(DropReason::Ipv4NotOurs);
        }
        // RFC 1122 §3.2.1.7 forbids dropping for a TTL below 2; a TTL of 0 means a router
        // forwarded what it must not have.
        if repr.hop_limit == 0 {
            return Err(DropReason::Ipv4TtlExpired);
        }
        if is_fragment(&repr) {
            self.stats.fragments_received += 1;
            return match self.fragments.add(now, &repr, packet.payload(), &mut self.stats.fragment_evictions)
            {
                FragmentOutcome::Held => Ok(()),
                FragmentOutcome::Dropped(reason) => Err(reason),
                FragmentOutcome::Complete(datagram) => {
                    self.stats.datagrams_reassembled += 1;
                    self.process_transport(now, &datagram.repr, &datagram.payload, broadcast, tx, sockets)
                }
            };
        }
        self.process_transport(now, &repr, packet.payload(), broadcast, tx, sockets)
    }

    fn is_broadcast(&self, addr: Ipv4Addr) -> bool {
        addr.is_broadcast() || Some(addr) == self.config.addr.broadcast()
    }

    #[allow(clippy::too_many_arguments)]
    fn process_transport<T: TxToken>(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        match ip.next_header {
            IpProtocol::Icmp => self.process_icmp(now, ip, payload, broadcast, tx, sockets),
            IpProtocol::Udp => self.process_udp(now, ip, payload, broadcast, tx, sockets),
            IpProtocol::Tcp => self.process_tcp(now, ip, payload, broadcast, tx, sockets),
            IpProtocol::Unknown(_) => {
                // RFC 1122 §3.2.2.1: protocol unreachable.
                self.send_icmp_error(
                    now,
                    tx,
                    ip,
                    payload,
                    broadcast,
                    IcmpError::Unreachable(DstUnreachable::ProtoUnreachable),
                );
                Err(DropReason::Ipv4UnknownProtocol)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn process_icmp<T: TxToken>(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let packet = Icmpv4Packet::new_checked(payload).map_err(|_| DropReason::IcmpTruncated)?;
        let repr = Icmpv4Repr::parse(&packet, self.rx_checksums).map_err(|e| match e {
            wire::Error::Checksum => DropReason::IcmpBadChecksum,
            wire::Error::Unsupported => DropReason::IcmpUnsupported,
            _ => DropReason::IcmpTruncated,
        })?;
        match repr {
            Icmpv4Repr::EchoRequest { ident, seq_no, data } => {
                if broadcast {
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

    #[allow(clippy::too_many_arguments)]
    fn process_udp<T: TxToken>(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let packet = UdpPacket::new_checked(payload).map_err(|e| match e {
            wire::Error::Truncated => DropReason::UdpTruncated,
            _ => DropReason::UdpMalformed,
        })?;
        let repr =
            UdpRepr::parse(&packet, ip.src_addr, ip.dst_addr, self.rx_checksums).map_err(|e| match e {
                wire::Error::Checksum => bad_checksum(
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
            self.send_icmp_error(
                now,
                tx,
                ip,
                payload,
                broadcast,
                IcmpError::Unreachable(DstUnreachable::PortUnreachable),
            );
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

    /// TCP segments go to their connection or listener; segments for closed ports are
    /// answered with RST here, through the received frame's token.
    fn process_tcp<T: TxToken>(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        if broadcast {
            return Err(DropReason::TcpBroadcast);
        }
        let packet = TcpPacket::new_checked(payload).map_err(|_| DropReason::TcpMalformed)?;
        let repr =
            TcpRepr::parse(&packet, ip.src_addr, ip.dst_addr, self.rx_checksums).map_err(|e| match e {
                wire::Error::Checksum => {
                    // An IPv4 payload is below 64 KiB.
                    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
                    bad_checksum(packet.checksum(), ip, IpProtocol::Tcp, len, DropReason::TcpBadChecksum)
                }
                _ => DropReason::TcpMalformed,
            })?;
        match sockets.tcp_input(now, ip.src_addr, ip.dst_addr, &repr) {
            TcpInput::Handled | TcpInput::Dropped => Ok(()),
            TcpInput::Reset(rst) => {
                // RFC 9293 §3.10.7.1 asks for the RST; the limit keeps a flood of spoofed
                // segments to closed ports from being reflected one for one.
                if self.reset_limit.try_take(now) {
                    self.reply_ip(now, tx, ip.src_addr, IpPayload::Tcp { repr: rst, data: (&[], &[]) });
                } else {
                    self.stats.count_drop(DropReason::TcpResetRateLimited);
                }
                Err(DropReason::TcpNoSocket)
            }
            TcpInput::SynAck(synack) => {
                let mut reply =
                    self.ip_header(ip.dst_addr, ip.src_addr, IpProtocol::Tcp, self.config.default_ttl);
                reply.dont_frag = true;
                let payload = IpPayload::Tcp { repr: synack, data: (&[], &[]) };
                match self.link_destination(now, ip.src_addr) {
                    Ok(destination) => {
                        let _ = self.send_ip_to(now, tx, destination, reply, payload);
                    }
                    Err(reason) => self.stats.count_drop(reason),
                }
                Ok(())
            }
        }
    }

    // ---------------------------------------------------------------- ICMP errors

    /// Sends an ICMP error about `original` unless RFC 1122 §3.2.2 forbids it or the rate
    /// limit suppresses it. `payload` is the original's transport payload.
    fn send_icmp_error<T: TxToken>(
        &mut self,
        now: Instant,
        tx: T,
        original: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
        error: IcmpError,
    ) {
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

    // ---------------------------------------------------------------- egress

    fn egress<D: Device>(&mut self, now: Instant, device: &mut D, sockets: &mut SocketSet) -> bool {
        let mut progress = false;

        if self.announcements_left > 0 && now >= self.next_announcement {
            let Some(token) = device.transmit(now) else { return progress };
            let our_ip = self.ipv4_addr();
            let announce = ArpRepr {
                operation: ArpOperation::Request,
                source_hardware_addr: self.config.mac,
                source_protocol_addr: our_ip,
                target_hardware_addr: EthernetAddress::UNSPECIFIED,
                target_protocol_addr: our_ip,
            };
            self.send_arp(token, EthernetAddress::BROADCAST, &announce);
            self.announcements_left -= 1;
            self.next_announcement = now + ANNOUNCE_INTERVAL;
            progress = true;
        }

        while self.neighbors.has_incomplete() {
            let Some(event) = self.neighbors.poll(now) else { break };
            progress = true;
            match event {
                NeighborEvent::Request(addr) => {
                    let Some(token) = device.transmit(now) else { return progress };
                    self.send_arp_request(token, addr);
                }
                NeighborEvent::Failed { dropped, .. } => {
                    for _ in 0..dropped {
                        self.stats.count_drop(DropReason::ArpUnresolved);
                    }
                }
            }
        }

        if self.fragments.datagrams_held() > 0 {
            let mut timed_out = 0;
            while let Some(expired) = self.fragments.poll(now, &mut timed_out) {
                progress = true;
                let Some(token) = device.transmit(now) else { break };
                let error = IcmpError::TimeExceeded(TimeExceeded::FragReassemblyExpired);
                self.send_icmp_error(now, token, &expired.header, &expired.leading_bytes, false, error);
            }
            for _ in 0..timed_out {
                self.stats.count_drop(DropReason::FragmentTimeout);
            }
        }

        if !self.tx_queue.is_empty() {
            progress |= self.flush_tx_queue(now, device);
            if !self.tx_queue.is_empty() {
                return progress;
            }
        }

        if sockets.tcp_poll_at().is_some_and(|at| at <= now) {
            sockets.tcp_poll_timers(now);
        }
        while sockets.has_tcp_control() {
            let Some(token) = device.transmit(now) else { return progress };
            let Some(segment) = sockets.pop_tcp_control() else { break };
            progress = true;
            self.send_tcp_control(now, token, segment);
        }
        if !self.parked.is_empty() {
            self.unpark(now, sockets);
        }
        for _ in 0..TX_BATCH {
            let Some(handle) = sockets.pop_tx_ready() else { break };
            progress = true;
            match self.send_from_socket(now, device, sockets, handle) {
                Ok(SocketSend::Done { more: true }) => sockets.requeue_tx(handle, false),
                Ok(SocketSend::Done { more: false } | SocketSend::Parked) => {}
                Err(DeviceFull) => {
                    sockets.requeue_tx(handle, true);
                    break;
                }
            }
            if !self.tx_queue.is_empty() {
                progress |= self.flush_tx_queue(now, device);
            }
        }
        progress
    }

    /// Sends a segment that belongs to no connection (a SYN-ACK the SYN queue sends again).
    fn send_tcp_control<T: TxToken>(
        &mut self,
        now: Instant,
        token: T,
        segment: (Ipv4Addr, Ipv4Addr, TcpRepr<'static>),
    ) {
        let (src, dst, repr) = segment;
        match self.link_destination(now, dst) {
            Ok(destination) => {
                let mut ip = self.ip_header(src, dst, IpProtocol::Tcp, self.config.default_ttl);
                ip.dont_frag = true;
                let _ =
                    self.send_ip_to(now, token, destination, ip, IpPayload::Tcp { repr, data: (&[], &[]) });
            }
            Err(reason) => self.stats.count_drop(reason),
        }
    }

    /// Puts parked sockets whose next hop resolved (or failed) back on the ready list.
    fn unpark(&mut self, now: Instant, sockets: &mut SocketSet) {
        let neighbors = &self.neighbors;
        self.parked.retain(|&(hop, handle)| {
            let waiting = neighbors.state(hop, now) == NeighborState::Pending;
            if !waiting {
                sockets.requeue_tx(handle, false);
            }
            waiting
        });
    }

    /// Sends, parks or drops the oldest datagram queued on `handle`.
    fn send_from_socket<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet,
        handle: SocketHandle,
    ) -> Result<SocketSend, DeviceFull> {
        let dst = match sockets.get(handle) {
            Ok(Socket::Udp(socket)) => socket.tx.peek().map(|(meta, _)| *meta.remote.ip()),
            Ok(Socket::Icmp(socket)) => socket.tx.peek().map(|(meta, _)| meta.addr),
            Ok(Socket::Tcp(_)) => return self.send_from_connection(now, device, sockets, handle),
            Err(_) => None,
        };
        let Some(dst) = dst else { return Ok(SocketSend::Done { more: false }) };
        let outcome = match self.link_destination(now, dst) {
            Ok(LinkDestination::Resolve { next_hop, pending: true }) => {
                if !self.parked.contains(&(next_hop, handle)) {
                    self.parked.push((next_hop, handle));
                }
                return Ok(SocketSend::Parked);
            }
            Ok(destination) => {
                let Some(token) = device.transmit(now) else { return Err(DeviceFull) };
                self.send_socket_datagram(now, token, destination, sockets, handle)
            }
            Err(reason) => {
                self.stats.count_drop(reason);
                Err(reason)
            }
        };
        let error = match outcome {
            Err(DropReason::NoRoute) => Some(SocketError::NetworkUnreachable(dst)),
            Err(DropReason::ArpUnresolved) => Some(SocketError::HostUnreachable(dst)),
            _ => None,
        };
        let more = match sockets.get(handle) {
            Ok(Socket::Udp(_)) => {
                let socket = sockets.udp_mut(handle).expect("checked above");
                socket.tx.pop_with(|_, _| ());
                if error.is_some() {
                    socket.error = error;
                }
                !socket.tx.is_empty()
            }
            Ok(Socket::Icmp(_)) => {
                let socket = sockets.icmp_mut(handle).expect("checked above");
                socket.tx.pop_with(|_, _| ());
                !socket.tx.is_empty()
            }
            Ok(Socket::Tcp(_)) | Err(_) => false,
        };
        Ok(SocketSend::Done { more })
    }

    /// Sends what a TCP connection has ready, segment by segment, straight from its send
    /// buffer into device buffers. Segments carry DF: TCP sizes them to the MTU itself.
    fn send_from_connection<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet,
        handle: SocketHandle,
    ) -> Result<SocketSend, DeviceFull> {
        let Ok(conn) = sockets.connection(handle) else { return Ok(SocketSend::Done { more: false }) };
        let dst = *conn.remote().ip();
        let mut outcome = Ok(SocketSend::Done { more: false });
        // A resolved next hop stays resolved for the whole batch (nothing here changes the
        // neighbour cache but a resolution starting, which is looked up again).
        let mut resolved = None;
        for sent in 0..TX_BATCH {
            let lookup = match resolved {
                Some(mac) => Ok(LinkDestination::Mac(mac)),
                None => self.link_destination(now, dst),
            };
            let destination = match lookup {
                Ok(LinkDestination::Mac(mac)) => {
                    resolved = Some(mac);
                    Some(LinkDestination::Mac(mac))
                }
                Ok(LinkDestination::Resolve { next_hop, pending: true }) => {
                    if !self.parked.contains(&(next_hop, handle)) {
                        self.parked.push((next_hop, handle));
                    }
                    // Parked until the neighbour resolves: not back on the transmit list.
                    return Ok(SocketSend::Parked);
                }
                Ok(destination) => Some(destination),
                // Unroutable: the segment is lost like any other; TCP retransmits and
                // eventually gives up, reporting the error.
                Err(_) => None,
            };
            let Some(token) = device.transmit(now) else {
                outcome = Err(DeviceFull);
                break;
            };
            let Some((segment, src, dst)) = sockets.tcp_next_segment(handle, now) else {
                // `wants_to_send` must imply a segment, or the connection would be put back
                // on the transmit list forever without sending anything.
                debug_assert!(
                    sent > 0 || !sockets.connection(handle).is_ok_and(|c| c.wants_to_send()),
                    "connection wants to send but has no segment"
                );
                break;
            };
            let (first, second) = sockets.tcp_payload(handle, &segment);
            let mut ip = self.ip_header(src, dst, IpProtocol::Tcp, self.config.default_ttl);
            ip.dont_frag = true;
            let payload = IpPayload::Tcp { repr: segment.repr, data: (first, second) };
            match destination {
                Some(destination) => {
                    let _ = self.send_ip_to(now, token, destination, ip, payload);
                }
                None => self.stats.count_drop(DropReason::NoRoute),
            }
        }
        sockets.tcp_changed(handle);
        outcome
    }

    /// Builds the oldest datagram of `handle` straight into the device's buffer.
    fn send_socket_datagram<T: TxToken>(
        &mut self,
        now: Instant,
        token: T,
        destination: LinkDestination,
        sockets: &SocketSet,
        handle: SocketHandle,
    ) -> Result<(), DropReason> {
        let our_ip = self.ipv4_addr();
        match sockets.get(handle) {
            Ok(Socket::Udp(socket)) => {
                let (meta, data) = socket.tx.peek().expect("peeked by the caller");
                let local = socket.local.expect("a socket with queued data is bound");
                let repr = UdpRepr { src_port: local.port(), dst_port: meta.remote.port() };
                let ip = self.ip_header(
                    socket.source_addr(our_ip),
                    *meta.remote.ip(),
                    IpProtocol::Udp,
                    socket.ttl,
                );
                self.send_ip_to(now, token, destination, ip, IpPayload::Udp { repr, data })
            }
            Ok(Socket::Icmp(socket)) => {
                let (meta, data) = socket.tx.peek().expect("peeked by the caller");
                let ident = socket.ident.expect("a socket with queued data is bound");
                let request = Icmpv4Repr::EchoRequest { ident, seq_no: meta.seq_no, data };
                let ip = self.ip_header(our_ip, meta.addr, IpProtocol::Icmp, socket.ttl);
                self.send_ip_to(now, token, destination, ip, IpPayload::Icmp(request))
            }
            Ok(Socket::Tcp(_)) | Err(_) => Ok(()),
        }
    }

    fn flush_tx_queue<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        let mut progress = false;
        while let Some(frame) = self.tx_queue.front() {
            let Some(token) = device.transmit(now) else { break };
            let len = frame.len();
            token.consume(len, |buf| buf.copy_from_slice(frame));
            self.stats.tx_frames += 1;
            self.stats.tx_bytes += len as u64;
            self.tx_queue.pop_front();
            progress = true;
        }
        progress
    }

    // ---------------------------------------------------------------- IPv4 output

    fn ip_header(&mut self, src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, ttl: u8) -> Ipv4Repr {
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
    fn link_destination(&mut self, now: Instant, dst: Ipv4Addr) -> Result<LinkDestination, DropReason> {
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
    fn reply_ip<T: TxToken>(&mut self, now: Instant, tx: T, dst: Ipv4Addr, payload: IpPayload<'_>) -> bool {
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
    fn send_ip_to<T: TxToken>(
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

    /// Counts the neighbour entry a full table gave up, and the packets that waited on it.
    fn count_eviction(&mut self, evicted: Evicted) {
        match evicted {
            Evicted::Nothing => {}
            Evicted::Idle(_) => self.stats.neighbor_evicted_idle += 1,
            Evicted::Resolving { dropped, .. } => {
                self.stats.neighbor_evicted_resolving += 1;
                for _ in 0..dropped {
                    self.stats.count_drop(DropReason::ArpEvicted);
                }
            }
        }
    }

    fn dropped(&mut self, reason: DropReason) -> DropReason {
        self.stats.count_drop(reason);
        reason
    }

    fn count_tx(&mut self, len: usize) {
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += len as u64;
    }

    fn eth_header(&self, dst: EthernetAddress, ethertype: EtherType) -> EthernetRepr {
        EthernetRepr { src_addr: self.config.mac, dst_addr: dst, ethertype, vlan_id: self.config.vlan_id }
    }

    /// Queues a serialized IPv4 packet for `mac`, in fragments when it exceeds the MTU
    /// (RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes).
    fn frame_ip_packet(&mut self, mac: EthernetAddress, packet: &[u8]) {
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

    fn send_arp<T: TxToken>(&mut self, token: T, dst: EthernetAddress, repr: &ArpRepr) {
        let eth = self.eth_header(dst, EtherType::Arp);
        let len = eth.buffer_len() + repr.buffer_len();
        token.consume(len, |buf| {
            let mut frame = EthernetFrame::new_unchecked(buf);
            eth.emit(&mut frame);
            repr.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
        });
        self.count_tx(len);
    }

    fn send_arp_request<T: TxToken>(&mut self, token: T, target: Ipv4Addr) {
        let request = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: self.config.mac,
            source_protocol_addr: self.ipv4_addr(),
            target_hardware_addr: EthernetAddress::UNSPECIFIED,
            target_protocol_addr: target,
        };
        self.send_arp(token, EthernetAddress::BROADCAST, &request);
        self.stats.arp_requests_sent += 1;
    }
}

/// The drop reason for a TCP or UDP segment whose checksum failed: `partial_checksum` when
/// the field holds just the pseudo-header sum (and the fix is logged once), else `general`.
fn bad_checksum(
    field: u16,
    ip: &Ipv4Repr,
    protocol: IpProtocol,
    len: u16,
    general: DropReason,
) -> DropReason {
    if partial_checksum::holds_pseudo_header_sum(field, ip.src_addr, ip.dst_addr, protocol.into(), len) {
        partial_checksum::warn_once(ip.src_addr);
        DropReason::PartialChecksum
    } else {
        general
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

/// The ICMP errors the interface originates.
#[derive(Debug, Clone, Copy)]
enum IcmpError {
    Unreachable(DstUnreachable),
    TimeExceeded(TimeExceeded),
}

#[cfg(test)]
mod tests {
    use super::*;
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
