//! ARP (RFC 826): requests answered, replies merged into the neighbour cache, requests
//! for next hops being resolved, and the RFC 5227 announcements of our address.

use super::egress::DeviceFull;
use super::Interface;
use crate::iface::neighbor::{Evicted, NeighborEvent};
use crate::iface::stats::DropReason;
use crate::phy::{Device, TxToken};
use crate::time::{Duration, Instant};
use crate::wire::{
    self, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, Ipv4Addr,
};

/// RFC 5227 §2.3: two announcements, two seconds apart.
pub(super) const ANNOUNCE_COUNT: u8 = 2;
const ANNOUNCE_INTERVAL: Duration = Duration::from_secs(2);

impl Interface {
    /// RFC 5227 §2.3: an ARP announcement of our address, while some are due.
    pub(super) fn send_announcement<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        progress: &mut bool,
    ) -> Result<(), DeviceFull> {
        if self.announcements_left == 0 || now < self.next_announcement {
            return Ok(());
        }
        let token = device.transmit(now).ok_or(DeviceFull)?;
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
        *progress = true;
        Ok(())
    }

    /// The neighbour cache's due requests (first tries and retries), and the packets of
    /// resolutions that failed, counted.
    pub(super) fn send_neighbor_requests<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        progress: &mut bool,
    ) -> Result<(), DeviceFull> {
        while self.neighbors.has_incomplete() {
            let Some(event) = self.neighbors.poll(now) else { break };
            *progress = true;
            match event {
                NeighborEvent::Request(addr) => {
                    let token = device.transmit(now).ok_or(DeviceFull)?;
                    self.send_arp_request(token, addr);
                }
                NeighborEvent::Failed { dropped, .. } => {
                    for _ in 0..dropped {
                        self.stats.count_drop(DropReason::ArpUnresolved);
                    }
                }
            }
        }
        Ok(())
    }

    /// RFC 826 "Packet Reception", with RFC 5227's probes and announcements.
    pub(super) fn process_arp<T: TxToken>(
        &mut self,
        now: Instant,
        payload: &[u8],
        tx: T,
    ) -> Result<(), DropReason> {
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

    /// Counts the neighbour entry a full table gave up, and the packets that waited on it.
    pub(super) fn count_eviction(&mut self, evicted: Evicted) {
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

    pub(super) fn send_arp_request<T: TxToken>(&mut self, token: T, target: Ipv4Addr) {
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
