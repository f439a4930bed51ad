//! Ethernet II frames: every checked view, getter, parse and Display on untrusted bytes,
//! and emit → re-parse equality whenever the bytes parse.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_core::wire::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};

fuzz_target!(|data: &[u8]| {
    // Textual MAC addresses are untrusted input too (command line, config files).
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(addr) = text.parse::<EthernetAddress>() {
            assert_eq!(addr.to_string().parse::<EthernetAddress>(), Ok(addr));
        }
    }

    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    let (dst, src) = (frame.dst_addr(), frame.src_addr());
    let _ = (dst.is_broadcast(), dst.is_multicast(), src.is_unicast(), src.is_local());
    let ethertype = frame.ethertype();
    let _ = format!("{dst} {src} {ethertype} {:?}", frame.vlan_id());
    let header_len = frame.header_len();
    let payload = frame.payload();
    assert_eq!(header_len + payload.len(), data.len());
    assert_eq!(u16::from(ethertype), u16::from(EtherType::from(u16::from(ethertype))));

    let Ok(repr) = EthernetRepr::parse(&frame) else {
        return;
    };
    let _ = format!("{repr}");
    assert_ne!(repr.ethertype, EtherType::Vlan);
    assert_eq!(repr.buffer_len(), header_len);

    let mut out = vec![0u8; repr.buffer_len() + payload.len()];
    let mut emitted = EthernetFrame::new_unchecked(&mut out[..]);
    repr.emit(&mut emitted);
    emitted.payload_mut().copy_from_slice(payload);
    let reparsed = EthernetFrame::new_checked(&out[..]).expect("an emitted frame holds its header");
    assert_eq!(EthernetRepr::parse(&reparsed), Ok(repr));
    assert_eq!(reparsed.payload(), payload);
});
