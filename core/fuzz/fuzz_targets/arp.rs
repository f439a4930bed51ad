//! ARP: every getter, parse and Display on arbitrary bytes; a parsed packet must re-emit
//! into one that parses to the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_core::wire::{ArpPacket, ArpRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = ArpPacket::new_checked(data) else {
        return;
    };
    let _ = (packet.hardware_type(), packet.protocol_type(), packet.hardware_len(), packet.protocol_len());
    let _ = (packet.operation(), packet.source_hardware_addr(), packet.source_protocol_addr());
    let _ = (packet.target_hardware_addr(), packet.target_protocol_addr());
    let _ = packet.to_string();
    if let Ok(repr) = ArpRepr::parse(&packet) {
        let _ = repr.to_string();
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        let reparsed = ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).expect("emitted ARP is valid"));
        assert_eq!(reparsed, Ok(repr));
    }
});
