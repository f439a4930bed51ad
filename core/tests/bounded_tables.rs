//! The interface's tables under spoofed traffic: the neighbour table (RFC 826's rules for
//! which ARP packets may add an entry, least-recently-used eviction when full) and
//! fragment reassembly (the oldest datagram evicted when full, a per-source limit, memory
//! bounded). Each test drives a real interface through a simulated device with frames a
//! spoofer would send.

use core::net::SocketAddrV4;

use sluice_core::iface::{DropReason, Interface, InterfaceConfig, ReassemblyEvictions};
use sluice_core::sim::SimDevice;
use sluice_core::socket::{SocketHandle, SocketSet, UdpConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const UDP_PORT: u16 = 7;

/// A small deterministic generator (xorshift64*), so floods are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A host in 10.0.0.0/16 other than us and the peer.
    fn host(&mut self) -> Ipv4Addr {
        loop {
            let n = (self.next() >> 16) as u16;
            let addr = Ipv4Addr::from([10, 0, (n >> 8) as u8, n as u8]);
            let [.., c, d] = addr.octets();
            if addr != OUR_IP && addr != PEER_IP && d != 0 && !(c == 255 && d == 255) {
                return addr;
            }
        }
    }

    fn mac(&mut self) -> EthernetAddress {
        let bytes = self.next().to_be_bytes();
        // Locally administered unicast, never ours.
        EthernetAddress([0x06, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4].max(3)])
    }
}

/// One interface on a /16 (room for many spoofed neighbours), a UDP socket on port 7,
/// and a clock.
struct Rig {
    iface: Interface,
    device: SimDevice,
    sockets: SocketSet,
    udp: SocketHandle,
    now: Instant,
    /// Destination MACs of the frames the interface sent.
    sent_to: Vec<EthernetAddress>,
}

impl Rig {
    fn new(configure: impl FnOnce(&mut InterfaceConfig)) -> Rig {
        let mut config = InterfaceConfig::new(OUR_MAC, Ipv4Cidr::new(OUR_IP, 16).unwrap());
        config.announce = false;
        configure(&mut config);
        let iface = Interface::new(config).unwrap();
        let mut sockets = SocketSet::default();
        let udp = sockets.udp_socket(UdpConfig { rx_bytes: 1 << 20, ..UdpConfig::default() }).unwrap();
        sockets.bind(udp, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, UDP_PORT)).unwrap();
        Rig {
            iface,
            device: SimDevice::new(OUR_MAC, 1500),
            sockets,
            udp,
            now: Instant::from_secs(1),
            sent_to: Vec::new(),
        }
    }

    /// Delivers frames and polls until the interface has taken them all.
    fn receive(&mut self, frames: impl IntoIterator<Item = Vec<u8>>) {
        for frame in frames {
            assert!(self.device.inject(frame));
            if self.device.rx_pending() >= 64 {
                self.poll();
            }
        }
        self.poll();
    }

    fn poll(&mut self) {
        loop {
            self.iface.poll(self.now, &mut self.device, &mut self.sockets);
            while let Some(frame) = self.device.take_transmitted() {
                self.sent_to.push(EthernetAddress(frame[..6].try_into().unwrap()));
            }
            if self.device.rx_pending() == 0 {
                break;
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.poll();
    }

    fn received_datagrams(&mut self) -> Vec<Vec<u8>> {
        let mut buf = vec![0u8; 70_000];
        let mut out = Vec::new();
        while let Ok((n, _)) = self.sockets.recv_from(self.udp, &mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }
}

/// An ARP packet in an Ethernet frame (RFC 826's layout for Ethernet and IPv4).
fn arp(operation: u16, sender: (EthernetAddress, Ipv4Addr), target_ip: Ipv4Addr) -> Vec<u8> {
    let (sender_mac, sender_ip) = sender;
    let dst = if operation == 1 { [0xff; 6] } else { OUR_MAC.0 };
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&sender_mac.0);
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4]);
    frame.extend_from_slice(&operation.to_be_bytes());
    frame.extend_from_slice(&sender_mac.0);
    frame.extend_from_slice(&sender_ip.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target_ip.octets());
    frame
}

/// One IPv4 fragment from `src` (at `mac`) to us: `payload` at byte `offset` of ident's
/// datagram.
fn fragment(
    src: (EthernetAddress, Ipv4Addr),
    ident: u16,
    offset: usize,
    more: bool,
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = Vec::with_capacity(34 + payload.len());
    frame.extend_from_slice(&OUR_MAC.0);
    frame.extend_from_slice(&src.0 .0);
    frame.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + payload.len()) as u16;
    let flags_offset = (u16::from(more) << 13) | (offset / 8) as u16;
    let mut header = vec![0x45, 0];
    header.extend_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&ident.to_be_bytes());
    header.extend_from_slice(&flags_offset.to_be_bytes());
    header.extend_from_slice(&[64, 17, 0, 0]);
    header.extend_from_slice(&src.1.octets());
    header.extend_from_slice(&OUR_IP.octets());
    let checksum = !sluice_core::wire::checksum::data(&header);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(payload);
    frame
}

/// A UDP datagram to port 7 (checksum 0: none, RFC 768) carrying `data`, as IP payload.
fn udp_datagram(data: &[u8]) -> Vec<u8> {
    let mut datagram = Vec::with_capacity(8 + data.len());
    datagram.extend_from_slice(&40_000u16.to_be_bytes());
    datagram.extend_from_slice(&UDP_PORT.to_be_bytes());
    datagram.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(data);
    datagram
}

/// `datagram` cut into fragments of at most 1480 bytes.
fn fragments_of(src: (EthernetAddress, Ipv4Addr), ident: u16, datagram: &[u8]) -> Vec<Vec<u8>> {
    datagram
        .chunks(1480)
        .enumerate()
        .map(|(i, piece)| {
            let offset = i * 1480;
            fragment(src, ident, offset, offset + piece.len() < datagram.len(), piece)
        })
        .collect()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)).collect()
}

// ------------------------------------------------------------------ neighbour table

#[test]
fn spoofed_arp_not_addressed_to_us_creates_no_entries() {
    let mut rig = Rig::new(|_| {});
    let mut rng = Rng(0x5eed);
    let frames: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            let sender = (rng.mac(), rng.host());
            match i % 3 {
                // A request for another host.
                0 => arp(1, sender, rng.host()),
                // Gratuitous ARP: the sender announces itself.
                1 => arp(1, sender, sender.1),
                // A reply between other hosts, sent to our MAC all the same.
                _ => arp(2, sender, rng.host()),
            }
        })
        .collect();
    rig.receive(frames);
    let stats = rig.iface.stats();
    assert_eq!(rig.iface.neighbors().len(), 0, "RFC 826: only packets for us may add entries");
    assert_eq!(stats.drops(DropReason::ArpNotOurs), 10_000);
    assert_eq!(stats.arp_replies_sent, 0);
    assert_eq!(stats.neighbor_evicted_idle + stats.neighbor_evicted_resolving, 0);
}

#[test]
fn arp_requests_for_us_from_more_senders_than_the_table_holds_evict_the_least_recently_used() {
    let mut rig = Rig::new(|c| c.neighbor.max_entries = 64);
    let mut rng = Rng(0xa11ce);
    let senders: Vec<(EthernetAddress, Ipv4Addr)> =
        (0..10_000u32).map(|i| (rng.mac(), Ipv4Addr::from(0x0a00_1000 + i))).collect();
    for (i, chunk) in senders.chunks(100).enumerate() {
        rig.receive(chunk.iter().map(|&s| arp(1, s, OUR_IP)));
        rig.now += Duration::from_millis(1);
        assert_eq!(rig.iface.neighbors().len(), ((i + 1) * 100).min(64), "the table stays at its cap");
    }
    let stats = rig.iface.stats();
    assert_eq!(stats.arp_replies_sent, 10_000, "every request for us is answered");
    assert_eq!(stats.neighbor_evicted_idle, 10_000 - 64);
    // The least recently used went first, so the newest 64 senders are the ones held.
    let held: Vec<Ipv4Addr> = rig.iface.neighbors().resolved().map(|(addr, _, _)| addr).collect();
    let newest: Vec<Ipv4Addr> = senders[10_000 - 64..].iter().map(|&(_, ip)| ip).collect();
    assert_eq!(held, newest);
}

#[test]
fn a_neighbour_in_use_is_kept_over_idle_ones() {
    let mut rig = Rig::new(|c| c.neighbor.max_entries = 64);
    // The peer asks for us: its entry is learned from the request.
    rig.receive([arp(1, (PEER_MAC, PEER_IP), OUR_IP)]);
    assert_eq!(rig.iface.neighbors().lookup(PEER_IP, rig.now), Some(PEER_MAC));
    assert_eq!(rig.sent_to, vec![PEER_MAC], "the ARP reply");
    rig.sent_to.clear();
    let mut rng = Rng(0xb0b);
    let peer = SocketAddrV4::new(PEER_IP, 9);
    for _ in 0..625 {
        // Sixteen new senders ask for us between two datagrams we send to the peer: the
        // table turns over every four rounds, but the peer is the most recently used.
        let spoofed: Vec<Vec<u8>> = (0..16).map(|_| arp(1, (rng.mac(), rng.host()), OUR_IP)).collect();
        rig.receive(spoofed);
        rig.sockets.send_to(rig.udp, b"still there?", peer).unwrap();
        rig.advance(Duration::from_millis(2));
    }
    let stats = rig.iface.stats();
    assert!(stats.neighbor_evicted_idle > 9_000, "{} evicted", stats.neighbor_evicted_idle);
    assert_eq!(rig.iface.neighbors().lookup(PEER_IP, rig.now), Some(PEER_MAC), "the peer's entry survived");
    assert_eq!(stats.arp_requests_sent, 0, "the peer never had to be resolved again");
    assert_eq!(rig.sent_to.iter().filter(|&&mac| mac == PEER_MAC).count(), 625, "every datagram went out");
}

// ------------------------------------------------------------------ fragment reassembly

#[test]
fn a_first_fragment_flood_from_one_source_is_held_to_its_limit() {
    let mut rig = Rig::new(|c| {
        c.reassembly.max_datagrams = 64;
        c.reassembly.max_per_source = 16;
    });
    let peer = (PEER_MAC, PEER_IP);
    let whole = udp_datagram(&pattern(4000, 1));
    let mut pieces = fragments_of(peer, 0x77, &whole);
    let last = pieces.pop().unwrap();
    // The peer's datagram has begun...
    rig.receive(pieces);
    // ...when one source floods first fragments of datagrams it never finishes.
    let flooder = (EthernetAddress([0x06, 0, 0, 0, 0, 0x66]), Ipv4Addr::new(10, 0, 6, 6));
    for burst in 0..100u16 {
        rig.receive((0..100u16).map(|i| fragment(flooder, burst * 100 + i, 0, true, &[0xee; 8])));
        assert!(rig.iface.reassembler().datagrams_from(flooder.1) <= 16);
        rig.now += Duration::from_millis(1);
    }
    rig.receive([last]);
    assert_eq!(rig.received_datagrams(), vec![pattern(4000, 1)], "the peer's datagram reassembled");
    let stats = rig.iface.stats();
    assert_eq!(
        stats.fragment_evictions,
        ReassemblyEvictions { source_limit: 10_000 - 16, ..ReassemblyEvictions::default() }
    );
    assert_eq!(rig.iface.reassembler().datagrams_from(flooder.1), 16);
    assert_eq!(stats.datagrams_reassembled, 1);
}

#[test]
fn a_full_reassembly_table_evicts_the_oldest_and_the_newest_completes() {
    let mut rig = Rig::new(|c| {
        c.reassembly.max_datagrams = 8;
        c.reassembly.max_per_source = 8;
    });
    let mut rng = Rng(0xf00d);
    // Spoofed sources fill the table with datagrams that never complete.
    for ident in 0..8u16 {
        let src = (rng.mac(), rng.host());
        rig.receive([fragment(src, ident, 0, true, &[0xee; 1480])]);
        rig.now += Duration::from_millis(1);
    }
    assert_eq!(rig.iface.reassembler().datagrams_held(), 8);
    let whole = udp_datagram(&pattern(3000, 2));
    rig.receive(fragments_of((PEER_MAC, PEER_IP), 0x99, &whole));
    assert_eq!(rig.received_datagrams(), vec![pattern(3000, 2)], "the newest datagram completed");
    let stats = rig.iface.stats();
    assert_eq!(
        stats.fragment_evictions,
        ReassemblyEvictions { table_full: 1, ..ReassemblyEvictions::default() }
    );
    assert_eq!(stats.drops(DropReason::FragmentNoMemory), 0, "nothing was refused");
    assert_eq!(rig.iface.reassembler().datagrams_held(), 7);
}

#[test]
fn reassembly_memory_stays_bounded_under_a_spoofed_fragment_flood() {
    const BUDGET: usize = 256 * 1024;
    let mut rig = Rig::new(|c| c.reassembly.max_bytes = BUDGET);
    let mut rng = Rng(0xdead);
    let mut peak = 0;
    for _ in 0..100 {
        // Fragments from random sources at random offsets: each far one costs a buffer
        // up to its offset.
        let frames: Vec<Vec<u8>> = (0..100)
            .map(|_| {
                let src = (rng.mac(), rng.host());
                let offset = (rng.next() % 7000) as usize * 8;
                fragment(src, rng.next() as u16, offset, true, &[0xee; 800])
            })
            .collect();
        rig.receive(frames);
        let held = rig.iface.reassembler().bytes_held();
        assert!(held <= BUDGET, "{held} bytes held, over the {BUDGET}-byte budget");
        peak = peak.max(held);
        rig.now += Duration::from_millis(1);
    }
    let stats = rig.iface.stats();
    assert!(stats.fragment_evictions.memory_full > 9_000, "{:?}", stats.fragment_evictions);
    assert!(peak > BUDGET / 2, "the flood filled the budget (peak {peak})");
    // A real datagram still gets through, pushing out what it must.
    let whole = udp_datagram(&pattern(20_000, 3));
    rig.receive(fragments_of((PEER_MAC, PEER_IP), 0x42, &whole));
    assert_eq!(rig.received_datagrams(), vec![pattern(20_000, 3)]);
    assert!(rig.iface.reassembler().bytes_held() <= BUDGET);
    // RFC 1122 §3.3.2: what is left times out, and the accounting returns to zero.
    rig.advance(Duration::from_secs(31));
    assert_eq!(rig.iface.reassembler().datagrams_held(), 0);
    assert_eq!(rig.iface.reassembler().bytes_held(), 0);
}
