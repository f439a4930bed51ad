//! Frames on the simulated link: the peer's frames built here, the stack's checked here.
//! Every frame the stack sends must be a valid Ethernet frame from its own address,
//! carrying ARP or IPv4 with a correct header checksum, and TCP or ICMP inside with a
//! correct checksum.

use sluice_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    Icmpv4Packet, IpProtocol, Ipv4Addr, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr,
};

pub const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
pub const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The link's IP MTU.
pub const MTU: usize = 1500;
/// The most payload the peer puts in one segment: the MTU less the IPv4 header and a
/// TCP header with 40 bytes of options.
pub const MAX_PAYLOAD: usize = MTU - 20 - 60;

/// Byte `seq` of a stream keyed by `salt`: every byte either side sends is the function
/// of its sequence number, so a receiver checks any byte it gets against where it says it
/// belongs. The period is 2^32, so data shifted by any amount does not pass for intact.
pub fn stream_byte(salt: u32, seq: u32) -> u8 {
    let x = seq.wrapping_mul(0x9E37_79B1) ^ salt;
    let x = x ^ (x >> 15);
    (x.wrapping_mul(0x85EB_CA77) >> 24) as u8
}

/// The peer's data stream.
pub const PEER_STREAM: u32 = 0x5A5A_0001;
/// The stream the application writes into the stack.
pub const APP_STREAM: u32 = 0xA5A5_0002;

fn ethernet(ethertype: EtherType, payload_len: usize) -> (Vec<u8>, usize) {
    let eth = EthernetRepr { src_addr: PEER_MAC, dst_addr: OUR_MAC, ethertype, vlan_id: None };
    let header = eth.buffer_len();
    let mut frame = vec![0; header + payload_len];
    eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    (frame, header)
}

/// The peer's IPv4 packet around a TCP segment of `tcp_len` bytes; the segment itself is
/// written by `write` into the slice it is given.
pub fn peer_tcp_frame(tcp_len: usize, write: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: PEER_IP,
        dst_addr: OUR_IP,
        next_header: IpProtocol::Tcp,
        payload_len: tcp_len,
        hop_limit: 64,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        dscp_ecn: 0,
    };
    let (mut frame, at) = ethernet(EtherType::Ipv4, ip.buffer_len() + tcp_len);
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[at..]));
    write(&mut frame[at + ip.buffer_len()..]);
    frame
}

/// A segment from the peer, written from its representation.
pub fn peer_segment(repr: &TcpRepr<'_>) -> Vec<u8> {
    peer_tcp_frame(repr.buffer_len(), |buf| repr.emit(&mut TcpPacket::new_unchecked(buf), PEER_IP, OUR_IP))
}

/// A segment from the peer whose option area is `options` verbatim (a multiple of four
/// bytes, at most 40), valid or not.
pub fn peer_segment_raw_options(repr: &TcpRepr<'_>, options: &[u8]) -> Vec<u8> {
    let header_len = 20 + options.len();
    peer_tcp_frame(header_len + repr.payload.len(), |buf| {
        let mut packet = TcpPacket::new_unchecked(buf);
        packet.set_src_port(repr.src_port);
        packet.set_dst_port(repr.dst_port);
        packet.set_seq_number(repr.seq_number);
        packet.set_ack_number(repr.ack_number);
        packet.set_header_len(header_len);
        packet.set_flags(repr.flags);
        packet.set_window_len(repr.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(repr.urgent_pointer);
        packet.options_mut().copy_from_slice(options);
        packet.payload_mut().copy_from_slice(repr.payload);
        packet.fill_checksum(PEER_IP, OUR_IP);
    })
}

/// The peer's answer to an ARP request for its address.
pub fn peer_arp_reply() -> Vec<u8> {
    let arp = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER_IP,
        target_hardware_addr: OUR_MAC,
        target_protocol_addr: OUR_IP,
    };
    let (mut frame, at) = ethernet(EtherType::Arp, arp.buffer_len());
    arp.emit(&mut ArpPacket::new_unchecked(&mut frame[at..]));
    frame
}

/// What a frame from the stack carries, once validated.
pub enum Output<'a> {
    /// An ARP request for the peer's address.
    ArpForPeer,
    /// Any other ARP packet (announcements of our own address).
    OtherArp,
    Tcp(TcpRepr<'a>),
    Icmp,
}

/// Validates a frame the stack sent; panics (a finding) on anything malformed.
pub fn check_output(frame: &[u8]) -> Output<'_> {
    assert!(frame.len() <= 14 + MTU, "a {}-byte frame on a {MTU}-byte MTU link", frame.len());
    let eth = EthernetFrame::new_checked(frame).expect("the stack sent a truncated Ethernet frame");
    let repr = EthernetRepr::parse(&eth).expect("the stack sent an Ethernet header it cannot parse");
    assert_eq!(repr.src_addr, OUR_MAC, "a frame from another MAC address");
    let payload = &frame[eth.header_len()..];
    match repr.ethertype {
        EtherType::Arp => {
            let packet = ArpPacket::new_checked(payload).expect("the stack sent a truncated ARP packet");
            let arp = ArpRepr::parse(&packet).expect("the stack sent an ARP packet it cannot parse");
            assert_eq!(arp.source_protocol_addr, OUR_IP, "ARP for another address: {arp:?}");
            match arp.operation {
                ArpOperation::Request if arp.target_protocol_addr == PEER_IP => Output::ArpForPeer,
                _ => Output::OtherArp,
            }
        }
        EtherType::Ipv4 => {
            assert_eq!(repr.dst_addr, PEER_MAC, "an IPv4 frame to a MAC address that is not the peer's");
            let packet = Ipv4Packet::new_checked(payload).expect("the stack sent a truncated IPv4 packet");
            let ip = Ipv4Repr::parse(&packet, ChecksumMode::Verify)
                .expect("the stack sent an IPv4 header with a bad checksum");
            assert_eq!((ip.src_addr, ip.dst_addr), (OUR_IP, PEER_IP), "IPv4 between unexpected addresses");
            assert!(!ip.more_frags && ip.frag_offset == 0, "the stack fragmented: {ip:?}");
            let transport = &payload[packet.header_len()..packet.header_len() + ip.payload_len];
            match ip.next_header {
                IpProtocol::Tcp => {
                    let packet =
                        TcpPacket::new_checked(transport).expect("the stack sent a truncated TCP header");
                    let tcp = TcpRepr::parse(&packet, OUR_IP, PEER_IP, ChecksumMode::Verify)
                        .expect("the stack sent a TCP segment with a bad checksum or options");
                    Output::Tcp(tcp)
                }
                IpProtocol::Icmp => {
                    let packet = Icmpv4Packet::new_checked(transport).expect("the stack sent truncated ICMP");
                    assert!(packet.verify_checksum(), "the stack sent ICMP with a bad checksum");
                    Output::Icmp
                }
                other => panic!("the stack sent IPv4 protocol {other:?} to a TCP-only peer"),
            }
        }
        other => panic!("the stack sent EtherType {other:?}"),
    }
}
