//! UDP: the first 8 bytes pick the pseudo-header addresses, the rest is the datagram. Every
//! getter, parse and Display on it; a parsed datagram must re-emit into one that parses to
//! the same repr with the same payload.
#![no_main]

use core::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use sluice_core::wire::{ChecksumMode, UdpPacket, UdpRepr};

fuzz_target!(|data: &[u8]| {
    let Some((addrs, datagram)) = data.split_at_checked(8) else {
        return;
    };
    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);
    let Ok(packet) = UdpPacket::new_checked(datagram) else {
        return;
    };
    let _ = (packet.src_port(), packet.dst_port(), packet.len(), packet.checksum(), packet.payload());
    let _ = (packet.verify_checksum(src, dst), packet.to_string());
    let _ = UdpRepr::parse(&packet, src, dst, ChecksumMode::Verify);
    if let Ok(repr) = UdpRepr::parse(&packet, src, dst, ChecksumMode::Trust) {
        let _ = repr.to_string();
        let mut buf = vec![0; repr.header_len() + packet.payload().len()];
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), src, dst, packet.payload());
        let out = UdpPacket::new_checked(&buf[..]).expect("emitted UDP is valid");
        assert!(out.verify_checksum(src, dst));
        assert_eq!(UdpRepr::parse(&out, src, dst, ChecksumMode::Verify), Ok(repr));
        assert_eq!(out.payload(), packet.payload());
    }
});
