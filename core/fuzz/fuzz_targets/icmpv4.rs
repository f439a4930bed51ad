//! ICMPv4: every getter, parse (both checksum modes) and Display on arbitrary bytes; a parsed
//! message must re-emit into one that parses to the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_core::wire::{ChecksumMode, Icmpv4Packet, Icmpv4Repr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.msg_type(), packet.msg_code(), packet.checksum(), packet.echo_ident());
    let _ = (packet.echo_seq_no(), packet.next_hop_mtu(), packet.data(), packet.verify_checksum());
    let _ = packet.to_string();
    let _ = Icmpv4Repr::parse(&packet, ChecksumMode::Verify);
    if let Ok(repr) = Icmpv4Repr::parse(&packet, ChecksumMode::Trust) {
        let _ = repr.to_string();
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        let out = Icmpv4Packet::new_checked(&buf[..]).expect("emitted ICMP is valid");
        assert_eq!(Icmpv4Repr::parse(&out, ChecksumMode::Verify), Ok(repr));
    }
});
