//! The interface: Ethernet in and out, ARP, IPv4 validation and output, fragments, ICMP,
//! and delivery to sockets, one file per protocol:
//! [`ethernet`], [`arp`], [`ipv4`] (input and demultiplexing), [`ipv4_output`] (routing,
//! next hop, fragmentation), [`icmp`], [`udp`], [`tcp`], [`egress`] (the send scheduler)
//! and [`handoff`] (frames for other workers).
//!
//! `poll` drains a batch of received frames, answering on the spot where one reply frame
//! suffices (ARP replies, echo replies, ICMP errors: no queueing, no allocation), then runs
//! timers and sends what sockets have queued. Anything that needs more than one frame
//! (fragments) or must wait (address resolution) goes through a bounded queue.

mod arp;
mod egress;
mod ethernet;
mod handoff;
mod icmp;
mod ipv4;
mod ipv4_output;
mod tcp;
mod udp;

use std::collections::VecDeque;
use std::sync::Arc;

use super::config::{ConfigError, InterfaceConfig};
use super::fragment::Reassembler;
use super::neighbor::{NeighborCache, NeighborState};
use super::rate_limit::TokenBucket;
use super::stats::{DropReason, Stats};
use super::steering::{FlowDirectory, Handoff, HandoffTarget, Steering, Verdict};
use crate::phy::{Device, RxToken};
use crate::socket::{SocketHandle, SocketSet};
use crate::time::Instant;
use crate::wire::{ChecksumMode, Ipv4Addr};
use ipv4_output::ResolvedHop;

/// Frames taken from the device per `poll`, so egress and timers get their turn.
const RX_BATCH: usize = 64;
/// Datagrams taken from sockets per `poll`.
const TX_BATCH: usize = 64;

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
    flows: Option<Arc<dyn FlowDirectory>>,
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
            announcements_left: if config.announce { arp::ANNOUNCE_COUNT } else { 0 },
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

    pub(super) fn dropped(&mut self, reason: DropReason) -> DropReason {
        self.stats.count_drop(reason);
        reason
    }
}
