//! One-line, tcpdump-style descriptions of frames, for traces a person reads.
//!
//! Every field is read through the checked wire views, so any bytes at all (corrupt,
//! truncated, hostile) describe without panicking.

use core::fmt::Write;

use crate::wire::dns::{self, Message, RecordData};
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetFrame, Icmpv4Packet, Icmpv4Repr,
    IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr, UdpPacket,
};

/// Describes an Ethernet frame in one line.
pub fn describe(frame: &[u8]) -> String {
    let mut out = String::new();
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return format!("truncated frame ({} bytes)", frame.len());
    };
    match eth.ethertype() {
        EtherType::Arp => describe_arp(&mut out, eth.payload()),
        EtherType::Ipv4 => describe_ipv4(&mut out, eth.payload()),
        other => {
            let _ = write!(out, "{} > {} {other}, {} bytes", eth.src_addr(), eth.dst_addr(), frame.len());
        }
    }
    out
}

fn describe_arp(out: &mut String, payload: &[u8]) {
    let repr = ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p));
    let _ = match repr {
        Ok(arp)
            if arp.operation == ArpOperation::Request
                && arp.source_protocol_addr == arp.target_protocol_addr =>
        {
            write!(out, "ARP announce {} is-at {}", arp.source_protocol_addr, arp.source_hardware_addr)
        }
        Ok(arp) if arp.operation == ArpOperation::Request => {
            write!(out, "ARP who-has {} tell {}", arp.target_protocol_addr, arp.source_protocol_addr)
        }
        Ok(arp) if arp.operation == ArpOperation::Reply => {
            write!(out, "ARP reply {} is-at {}", arp.source_protocol_addr, arp.source_hardware_addr)
        }
        Ok(arp) => write!(out, "ARP {:?}", arp.operation),
        Err(e) => write!(out, "ARP ({e})"),
    };
}

fn describe_ipv4(out: &mut String, payload: &[u8]) {
    let Ok(packet) = Ipv4Packet::new_checked(payload) else {
        let _ = write!(out, "IPv4 (malformed, {} bytes)", payload.len());
        return;
    };
    let Ok(ip) = Ipv4Repr::parse(&packet, ChecksumMode::Verify) else {
        let _ = write!(out, "IPv4 {} > {} (bad header)", packet.src_addr(), packet.dst_addr());
        return;
    };
    if ip.more_frags || ip.frag_offset != 0 {
        let _ = write!(
            out,
            "{} > {}: {} fragment id {} offset {} length {}{}",
            ip.src_addr,
            ip.dst_addr,
            ip.next_header,
            ip.ident,
            ip.frag_offset,
            ip.payload_len,
            if ip.more_frags { " +MF" } else { "" }
        );
        return;
    }
    let body = packet.payload();
    match ip.next_header {
        IpProtocol::Icmp => describe_icmp(out, &ip, body),
        IpProtocol::Udp => describe_udp(out, &ip, body),
        IpProtocol::Tcp => describe_tcp(out, &ip, body),
        other => {
            let _ =
                write!(out, "{} > {}: protocol {other}, length {}", ip.src_addr, ip.dst_addr, ip.payload_len);
        }
    }
}

fn describe_icmp(out: &mut String, ip: &Ipv4Repr, body: &[u8]) {
    let _ = write!(out, "{} > {}: ICMP ", ip.src_addr, ip.dst_addr);
    let repr = Icmpv4Packet::new_checked(body)
        .and_then(|p| Icmpv4Repr::parse(&p, ChecksumMode::Verify).map(|r| (p, r)));
    let _ = match repr {
        Ok((_, Icmpv4Repr::EchoRequest { ident, seq_no, data })) => {
            write!(out, "echo request, id {ident}, seq {seq_no}, length {}", data.len())
        }
        Ok((_, Icmpv4Repr::EchoReply { ident, seq_no, data })) => {
            write!(out, "echo reply, id {ident}, seq {seq_no}, length {}", data.len())
        }
        Ok((_, Icmpv4Repr::DstUnreachable { reason, header, data, .. })) => {
            let port = (data.len() >= 4).then(|| u16::from_be_bytes([data[2], data[3]]));
            match port {
                Some(port) => write!(
                    out,
                    "{} {} port {port} unreachable ({reason:?})",
                    header.dst_addr, header.next_header
                ),
                None => write!(out, "{} unreachable ({reason:?})", header.dst_addr),
            }
        }
        Ok((_, Icmpv4Repr::TimeExceeded { reason, header, .. })) => {
            write!(
                out,
                "time exceeded ({reason:?}) for {} > {} id {}",
                header.src_addr, header.dst_addr, header.ident
            )
        }
        Err(e) => write!(out, "({e}, {} bytes)", body.len()),
    };
}

fn describe_udp(out: &mut String, ip: &Ipv4Repr, body: &[u8]) {
    let Ok(udp) = UdpPacket::new_checked(body) else {
        let _ = write!(out, "{} > {}: UDP (truncated)", ip.src_addr, ip.dst_addr);
        return;
    };
    let _ = write!(
        out,
        "{}.{} > {}.{}: UDP, length {}",
        ip.src_addr,
        udp.src_port(),
        ip.dst_addr,
        udp.dst_port(),
        udp.payload().len()
    );
    if udp.src_port() == 53 || udp.dst_port() == 53 {
        describe_dns(out, udp.payload());
    }
}

fn describe_dns(out: &mut String, payload: &[u8]) {
    let Ok(message) = Message::parse(payload) else {
        out.push_str(" (malformed DNS)");
        return;
    };
    let question = message.questions().next();
    let _ =
        write!(out, ": DNS {} id {}", if message.is_response() { "response" } else { "query" }, message.id());
    if let Some(q) = question {
        let _ = write!(out, " {} {}", if q.qtype == dns::TYPE_A { "A" } else { "type" }, q.name);
    }
    if message.is_response() {
        let _ = write!(out, " {:?}", message.rcode());
        for record in message.answers() {
            let _ = match record.data {
                RecordData::A(addr) => write!(out, " A {addr}"),
                RecordData::Cname(name) => write!(out, " CNAME {name}"),
                RecordData::Other(_) => write!(out, " type {}", record.rtype),
            };
        }
    }
}

fn describe_tcp(out: &mut String, ip: &Ipv4Repr, body: &[u8]) {
    let repr = TcpPacket::new_checked(body)
        .and_then(|p| TcpRepr::parse(&p, ip.src_addr, ip.dst_addr, ChecksumMode::Verify));
    let _ = match repr {
        Ok(tcp) => write!(out, "{}.{} > {}.{}: {tcp}", ip.src_addr, tcp.src_port, ip.dst_addr, tcp.dst_port),
        Err(e) => write!(out, "{} > {}: TCP ({e})", ip.src_addr, ip.dst_addr),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = describe(&bytes);
        }

        /// Valid Ethernet/IPv4 headers over junk transports reach every describer.
        #[test]
        fn never_panics_on_ipv4(proto in prop_oneof![Just(1u8), Just(6), Just(17), any::<u8>()], body in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut frame = hex::decode("ffffffffffff02000000000108004500000000000000400000000a0000010a000002").unwrap();
            frame[23] = proto;
            let total = (20 + body.len()) as u16;
            frame[16..18].copy_from_slice(&total.to_be_bytes());
            frame.extend_from_slice(&body);
            let mut ip = Ipv4Packet::new_unchecked(&mut frame[14..]);
            ip.fill_checksum();
            let _ = describe(&frame);
        }
    }
}
