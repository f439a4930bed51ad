#![no_main]
//! TCP segments and options from arbitrary bytes: every getter, both checksum modes, the
//! option parser and the `Display` impls. A parsed segment is emitted and parsed again.

use libfuzzer_sys::fuzz_target;
use sluice_core::wire::tcp::MAX_HEADER_LEN;
use sluice_core::wire::{ChecksumMode, Ipv4Addr, TcpOption, TcpPacket, TcpRepr};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fuzz_target!(|data: &[u8]| {
    // The input as an option list: each option emits back to what was parsed.
    let mut rest = data;
    while let Ok((next, option)) = TcpOption::parse(rest) {
        let _ = option.to_string();
        let mut buf = [0u8; 256];
        let len = option.emit(&mut buf);
        assert_eq!(len, option.buffer_len());
        assert_eq!(TcpOption::parse(&buf[..len]).map(|(_, again)| again), Ok(option));
        if next.is_empty() {
            break;
        }
        assert!(next.len() < rest.len());
        rest = next;
    }

    let Ok(packet) = TcpPacket::new_checked(data) else { return };
    let _ = (packet.src_port(), packet.dst_port(), packet.seq_number(), packet.ack_number());
    let _ = (packet.header_len(), packet.flags().to_string(), packet.window_len(), packet.checksum());
    let _ = (packet.fin(), packet.syn(), packet.rst(), packet.psh(), packet.ack(), packet.urg());
    let _ = (packet.ece(), packet.cwr(), packet.urgent_at(), packet.options(), packet.payload());
    let _ = packet.verify_checksum(SRC, DST);

    for mode in [ChecksumMode::Verify, ChecksumMode::Trust] {
        let Ok(repr) = TcpRepr::parse(&packet, SRC, DST, mode) else { continue };
        let _ = (repr.to_string(), repr.segment_len());
        assert!(repr.header_len() <= MAX_HEADER_LEN && repr.header_len() % 4 == 0);

        let mut first = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut first[..]), SRC, DST);
        let view = TcpPacket::new_checked(&first[..]).unwrap();
        assert_eq!(view.header_len(), repr.header_len());
        let reparsed = TcpRepr::parse(&view, SRC, DST, ChecksumMode::Verify).unwrap();
        // Every field survives; the options keep what Linux would send (SYN-only options on
        // a SYN, the SACK blocks that fit otherwise), so from here on it is a fixed point.
        let fields = |r: &TcpRepr| {
            (r.src_port, r.dst_port, r.seq_number, r.ack_number, r.flags, r.window_len, r.urgent_pointer)
        };
        assert_eq!(fields(&reparsed), fields(&repr));
        assert_eq!(reparsed.payload, repr.payload);
        assert_eq!(reparsed.options.timestamps, repr.options.timestamps);

        let mut second = vec![0; reparsed.buffer_len()];
        reparsed.emit(&mut TcpPacket::new_unchecked(&mut second[..]), SRC, DST);
        assert_eq!(first, second);
        let again =
            TcpRepr::parse(&TcpPacket::new_checked(&second[..]).unwrap(), SRC, DST, ChecksumMode::Verify);
        assert_eq!(again, Ok(reparsed));
    }
});
