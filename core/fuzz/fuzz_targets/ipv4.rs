//! IPv4: the strict and the quoted (ICMP error) constructors, every getter, parse and Display
//! on arbitrary bytes; a parsed header must re-emit into one that parses to the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_core::wire::{ChecksumMode, Ipv4Cidr, Ipv4Packet, Ipv4Repr};

fn exercise(packet: &Ipv4Packet<&[u8]>) {
    let _ = (packet.version(), packet.header_len(), packet.dscp(), packet.ecn(), packet.total_len());
    let _ = (packet.ident(), packet.dont_frag(), packet.more_frags(), packet.frag_offset());
    let _ = (packet.hop_limit(), packet.next_header(), packet.checksum(), packet.src_addr(), packet.dst_addr());
    let _ = (packet.options(), packet.payload(), packet.verify_checksum(), packet.is_fragment());
    let _ = packet.to_string();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Ipv4Packet::new_checked(data) {
        exercise(&packet);
        let _ = Ipv4Repr::parse(&packet, ChecksumMode::Verify);
        if let Ok(repr) = Ipv4Repr::parse(&packet, ChecksumMode::Trust) {
            let _ = repr.to_string();
            let mut buf = vec![0; repr.buffer_len() + repr.payload_len];
            let mut out = Ipv4Packet::new_unchecked(&mut buf[..]);
            repr.emit(&mut out);
            out.payload_mut().copy_from_slice(packet.payload());
            let out = Ipv4Packet::new_checked(&buf[..]).expect("emitted IPv4 is valid");
            assert_eq!(Ipv4Repr::parse(&out, ChecksumMode::Verify), Ok(repr));
            assert_eq!(out.payload(), packet.payload());
        }
    }
    if let Ok(packet) = Ipv4Packet::new_checked_quoted(data) {
        exercise(&packet);
        if let Ok(repr) = Ipv4Repr::parse_quoted(&packet) {
            let mut buf = vec![0; repr.buffer_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            let out = Ipv4Packet::new_checked_quoted(&buf[..]).expect("emitted IPv4 header is valid");
            assert_eq!(Ipv4Repr::parse_quoted(&out), Ok(repr));
        }
    }
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(cidr) = text.parse::<Ipv4Cidr>() {
            let _ = (cidr.netmask(), cidr.network(), cidr.broadcast(), cidr.contains_addr(&cidr.address()));
            assert_eq!(cidr.to_string().parse::<Ipv4Cidr>(), Ok(cidr));
        }
    }
});
