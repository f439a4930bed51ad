//! Counters: every frame dropped is counted with its reason (DESIGN.md, principle 5).

use core::fmt;

use super::fragment::ReassemblyEvictions;

macro_rules! drop_reasons {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// Why the interface dropped a frame or a packet it was asked to send.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[repr(u8)]
        pub enum DropReason {
            $($(#[doc = $doc])* $variant,)*
        }

        impl DropReason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];

            /// A stable snake_case name for counters and logs.
            pub const fn name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)*
                }
            }
        }
    };
}

drop_reasons! {
    /// Shorter than an Ethernet header.
    EthernetTruncated => "ethernet_truncated",
    /// Destination MAC is neither ours nor broadcast.
    EthernetNotOurs => "ethernet_not_ours",
    /// An 802.1Q tag for a VLAN this interface is not on, or stacked tags.
    VlanMismatch => "vlan_mismatch",
    /// An EtherType the stack does not handle (IPv6, LLDP...).
    EthernetUnknownType => "ethernet_unknown_type",
    /// An ARP packet shorter than its lengths declare.
    ArpTruncated => "arp_truncated",
    /// ARP for a hardware or protocol type other than Ethernet/IPv4, or an unknown operation.
    ArpUnsupported => "arp_unsupported",
    /// ARP whose target is not our address (after learning nothing from it).
    ArpNotOurs => "arp_not_ours",
    /// ARP claiming a source address no host may use (ours, broadcast, multicast).
    ArpBadSource => "arp_bad_source",
    /// An IPv4 header shorter than declared.
    Ipv4Truncated => "ipv4_truncated",
    /// Bad version, IHL or total length.
    Ipv4Malformed => "ipv4_malformed",
    /// The header checksum does not verify.
    Ipv4BadChecksum => "ipv4_bad_checksum",
    /// The destination is not one of our addresses nor a broadcast address.
    Ipv4NotOurs => "ipv4_not_ours",
    /// RFC 1122 §3.2.1.3: a broadcast or multicast source address.
    Ipv4BadSource => "ipv4_bad_source",
    /// A TTL of zero on arrival: no router may forward such a packet.
    Ipv4TtlExpired => "ipv4_ttl_expired",
    /// A transport protocol the stack does not carry.
    Ipv4UnknownProtocol => "ipv4_unknown_protocol",
    /// Fragment whose offset and length pass 65,535 bytes.
    FragmentTooLarge => "fragment_too_large",
    /// Fragment overlapping data already received with a different extent.
    FragmentOverlap => "fragment_overlap",
    /// A fragment whose datagram cannot fit the reassembly memory even alone, or one
    /// that needs more disjoint ranges than a datagram may have. (A full table evicts the
    /// oldest datagram instead: see the `fragment_evicted_*` counters.)
    FragmentNoMemory => "fragment_no_memory",
    /// A datagram not completed within the reassembly timeout (counted per datagram).
    FragmentTimeout => "fragment_timeout",
    /// A fragment that does not fit the rules (non-final fragment not a multiple of 8 bytes...).
    FragmentMalformed => "fragment_malformed",
    /// An ICMP message shorter than its header.
    IcmpTruncated => "icmp_truncated",
    /// The ICMP checksum does not verify.
    IcmpBadChecksum => "icmp_bad_checksum",
    /// An ICMP type the stack does not act on.
    IcmpUnsupported => "icmp_unsupported",
    /// An echo request sent to a broadcast address (ignored, as Linux does by default).
    IcmpBroadcastEcho => "icmp_broadcast_echo",
    /// An ICMP reply or error no socket was waiting for.
    IcmpNoSocket => "icmp_no_socket",
    /// The ping socket's receive buffer is full.
    IcmpSocketFull => "icmp_socket_full",
    /// A UDP header shorter than declared or with a bad length field.
    UdpTruncated => "udp_truncated",
    /// A UDP header field that is never valid (destination port 0).
    UdpMalformed => "udp_malformed",
    /// The UDP checksum does not verify.
    UdpBadChecksum => "udp_bad_checksum",
    /// No socket is bound to the destination port (answered by port unreachable).
    UdpNoSocket => "udp_no_socket",
    /// The socket's receive buffer is full.
    UdpSocketFull => "udp_socket_full",
    /// A TCP segment no connection or listener wants (answered with RST, rate limited).
    TcpNoSocket => "tcp_no_socket",
    /// A TCP header that fails validation.
    TcpMalformed => "tcp_malformed",
    /// The TCP checksum does not verify.
    TcpBadChecksum => "tcp_bad_checksum",
    /// A TCP segment sent to a broadcast address.
    TcpBroadcast => "tcp_broadcast",
    /// No route to the destination (off-link and no gateway).
    NoRoute => "no_route",
    /// The queue of packets waiting for address resolution is full.
    ArpQueueFull => "arp_queue_full",
    /// Address resolution failed after every retry; the waiting packets are dropped.
    ArpUnresolved => "arp_unresolved",
    /// A packet waiting for a resolution that a full neighbour table gave up (only when
    /// every entry was being resolved; see `neighbor_evicted_resolving`).
    ArpEvicted => "arp_evicted",
    /// Larger than the MTU with Don't Fragment set.
    TooBig => "too_big",
    /// The interface's transmit queue is full.
    TxQueueFull => "tx_queue_full",
    /// An ICMP error suppressed by the rate limit (RFC 1812 §4.3.2.8).
    IcmpRateLimited => "icmp_rate_limited",
    /// A RST for a segment no socket wants, suppressed by the rate limit.
    TcpResetRateLimited => "tcp_reset_rate_limited",
    /// A TCP or UDP checksum field holding only the pseudo-header sum: the sender left the
    /// checksum to a NIC offload that never ran (a veth peer with TX checksum offload on;
    /// fix: `ethtool -K PEER tx off`).
    PartialChecksum => "partial_checksum",
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const REASONS: usize = DropReason::ALL.len();

/// The interface's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    pub arp_requests_sent: u64,
    pub arp_replies_sent: u64,
    pub icmp_echo_replies_sent: u64,
    pub icmp_errors_sent: u64,
    pub fragments_received: u64,
    pub datagrams_reassembled: u64,
    pub fragments_sent: u64,
    /// Frames received here that belong to another worker.
    pub handed_off: u64,
    /// Frames another worker handed to this one.
    pub handed_in: u64,
    /// Idle (resolved or failed) neighbour entries evicted, least recently used first, to
    /// make room in a full table.
    pub neighbor_evicted_idle: u64,
    /// Neighbour entries evicted while being resolved (every entry was).
    pub neighbor_evicted_resolving: u64,
    /// Datagrams in reassembly evicted, oldest first, to make room for newer ones.
    pub fragment_evictions: ReassemblyEvictions,
    drops: [u64; REASONS],
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            rx_frames: 0,
            rx_bytes: 0,
            tx_frames: 0,
            tx_bytes: 0,
            arp_requests_sent: 0,
            arp_replies_sent: 0,
            icmp_echo_replies_sent: 0,
            icmp_errors_sent: 0,
            fragments_received: 0,
            datagrams_reassembled: 0,
            fragments_sent: 0,
            handed_off: 0,
            handed_in: 0,
            neighbor_evicted_idle: 0,
            neighbor_evicted_resolving: 0,
            fragment_evictions: ReassemblyEvictions::default(),
            drops: [0; REASONS],
        }
    }
}

impl Stats {
    pub fn count_drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Every reason with a non-zero count, in declaration order.
    pub fn nonzero_drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.drops(r))).filter(|&(_, n)| n > 0)
    }

    /// (name, value) of every counter but the traffic totals and the drops, for
    /// `sluice stat`.
    pub fn counters(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("arp_requests_sent", self.arp_requests_sent),
            ("arp_replies_sent", self.arp_replies_sent),
            ("icmp_echo_replies_sent", self.icmp_echo_replies_sent),
            ("icmp_errors_sent", self.icmp_errors_sent),
            ("fragments_received", self.fragments_received),
            ("datagrams_reassembled", self.datagrams_reassembled),
            ("fragments_sent", self.fragments_sent),
            ("handed_off", self.handed_off),
            ("handed_in", self.handed_in),
            ("neighbor_evicted_idle", self.neighbor_evicted_idle),
            ("neighbor_evicted_resolving", self.neighbor_evicted_resolving),
            ("fragment_evicted_table_full", self.fragment_evictions.table_full),
            ("fragment_evicted_memory_full", self.fragment_evictions.memory_full),
            ("fragment_evicted_source_limit", self.fragment_evictions.source_limit),
        ]
        .into_iter()
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rx {} frames, {} bytes; tx {} frames, {} bytes",
            self.rx_frames, self.rx_bytes, self.tx_frames, self.tx_bytes
        )?;
        writeln!(
            f,
            "arp: {} requests, {} replies sent; icmp: {} echo replies, {} errors sent",
            self.arp_requests_sent, self.arp_replies_sent, self.icmp_echo_replies_sent, self.icmp_errors_sent
        )?;
        writeln!(
            f,
            "fragments: {} received, {} datagrams reassembled, {} sent",
            self.fragments_received, self.datagrams_reassembled, self.fragments_sent
        )?;
        let evicted = &self.fragment_evictions;
        writeln!(
            f,
            "evicted: neighbours {} idle, {} resolving; datagrams {} table full, {} memory full, {} source limit",
            self.neighbor_evicted_idle,
            self.neighbor_evicted_resolving,
            evicted.table_full,
            evicted.memory_full,
            evicted.source_limit
        )?;
        for (reason, count) in self.nonzero_drops() {
            writeln!(f, "drop {reason}: {count}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_counted() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
        let mut stats = Stats::default();
        stats.count_drop(DropReason::UdpNoSocket);
        stats.count_drop(DropReason::UdpNoSocket);
        assert_eq!(stats.drops(DropReason::UdpNoSocket), 2);
        assert_eq!(stats.total_drops(), 2);
        assert_eq!(stats.nonzero_drops().collect::<Vec<_>>(), vec![(DropReason::UdpNoSocket, 2)]);
    }
}
