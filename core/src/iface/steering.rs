//! Multi-queue steering: which worker a received frame belongs to.
//!
//! With several receive queues the kernel peer's flow hash decides where a frame lands,
//! not Sluice. A passive open stays where its SYN landed (the hash of a flow is stable),
//! but the reply to an active open may land on any queue. Every worker allocates its
//! ephemeral ports from its own residue class ([`PortShare`]), so the destination port of
//! a segment or datagram in the ephemeral range names the worker that owns it; such
//! frames are handed to their owner. ARP replies are shared with every worker, so each
//! worker's neighbour cache learns what any of them asked for.
//!
//! The check reads the headers through the checked wire views (no checksums) and never
//! rejects a frame: anything it cannot classify stays local and meets the full validation
//! there. Fragments stay local too: they are reassembled where they land.

use core::net::SocketAddrV4;

use crate::socket::{FourTuple, PortShare, EPHEMERAL_FIRST};
use crate::wire::{
    ArpOperation, ArpPacket, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};

/// This worker's place among the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steering {
    pub worker: u16,
    pub workers: u16,
}

/// Where a received frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Processed by this worker.
    Local,
    /// Belongs to another worker.
    HandOff(u16),
    /// Processed here, and a copy goes to every other worker (ARP replies).
    LocalAndShare,
    /// A segment of an established flow on a listening port: processed here if this
    /// worker has the connection, else handed to the worker the flow directory names
    /// (a kernel peer may move a flow to another transmit queue mid-connection).
    LocalIfOwned(FourTuple),
}

/// Which worker owns a connection, for segments that reach a worker without it.
pub trait FlowDirectory: Send + Sync + core::fmt::Debug {
    fn owner(&self, tuple: &FourTuple) -> Option<u16>;
}

/// A frame for another worker, copied out of the receive ring.
#[derive(Debug)]
pub struct Handoff {
    /// The worker it goes to, or every other worker for a shared frame.
    pub to: HandoffTarget,
    pub frame: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffTarget {
    Worker(u16),
    AllOthers,
}

impl Steering {
    pub fn classify(&self, frame: &[u8]) -> Verdict {
        if self.workers <= 1 {
            return Verdict::Local;
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else { return Verdict::Local };
        match eth.ethertype() {
            EtherType::Arp => match ArpPacket::new_checked(eth.payload()) {
                Ok(arp) if arp.operation() == ArpOperation::Reply => Verdict::LocalAndShare,
                _ => Verdict::Local,
            },
            EtherType::Ipv4 => match Ipv4Packet::new_checked(eth.payload()) {
                Ok(ip) => self.classify_ipv4(&ip),
                Err(_) => Verdict::Local,
            },
            _ => Verdict::Local,
        }
    }

    fn classify_ipv4(&self, ip: &Ipv4Packet<&[u8]>) -> Verdict {
        // A fragment is reassembled where it lands (its followers carry no ports).
        if ip.is_fragment() {
            return Verdict::Local;
        }
        let dst_port = match ip.next_header() {
            IpProtocol::Tcp => match TcpPacket::new_checked(ip.payload()) {
                Ok(tcp) => {
                    let dst_port = tcp.dst_port();
                    // A SYN opens a connection here; anything else to a listening port
                    // may belong to a connection another worker owns.
                    if dst_port < EPHEMERAL_FIRST {
                        if tcp.syn() && !tcp.ack() {
                            return Verdict::Local;
                        }
                        return Verdict::LocalIfOwned(FourTuple {
                            local: SocketAddrV4::new(ip.dst_addr(), dst_port),
                            remote: SocketAddrV4::new(ip.src_addr(), tcp.src_port()),
                        });
                    }
                    dst_port
                }
                Err(_) => return Verdict::Local,
            },
            IpProtocol::Udp => match UdpPacket::new_checked(ip.payload()) {
                Ok(udp) if udp.dst_port() >= EPHEMERAL_FIRST => udp.dst_port(),
                _ => return Verdict::Local,
            },
            _ => return Verdict::Local,
        };
        match PortShare::owner_of(dst_port, self.workers) {
            owner if owner == self.worker => Verdict::Local,
            owner => Verdict::HandOff(owner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP_SYN: u8 = 0x02;
    const TCP_ACK: u8 = 0x10;

    fn tcp_frame(dst_port: u16, vlan: bool) -> Vec<u8> {
        let mut frame = vec![0u8; 12];
        if vlan {
            frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        }
        frame.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[9] = 6;
        frame.extend_from_slice(&ip);
        let mut tcp = [0u8; 20];
        tcp[0..2].copy_from_slice(&80u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&dst_port.to_be_bytes());
        tcp[12] = 0x50;
        tcp[13] = TCP_ACK;
        frame.extend_from_slice(&tcp);
        frame
    }

    #[test]
    fn ephemeral_ports_go_to_their_residue_class() {
        let steering = Steering { worker: 0, workers: 2 };
        assert_eq!(steering.classify(&tcp_frame(50_001, false)), Verdict::HandOff(1));
        assert_eq!(steering.classify(&tcp_frame(50_000, false)), Verdict::Local);
        assert_eq!(steering.classify(&tcp_frame(50_001, true)), Verdict::HandOff(1));
        assert!(
            matches!(steering.classify(&tcp_frame(8080, false)), Verdict::LocalIfOwned(t) if t.local.port() == 8080),
            "segments to listening ports stay unless another worker owns the flow"
        );
        let mut syn = tcp_frame(8080, false);
        syn[14 + 20 + 13] = TCP_SYN;
        assert_eq!(steering.classify(&syn), Verdict::Local, "a SYN opens the connection where it lands");
        let single = Steering { worker: 0, workers: 1 };
        assert_eq!(single.classify(&tcp_frame(50_001, false)), Verdict::Local);
    }

    fn udp_frame(dst_port: u16) -> Vec<u8> {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&30u16.to_be_bytes());
        ip[9] = 17;
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&53u16.to_be_bytes());
        frame.extend_from_slice(&dst_port.to_be_bytes());
        frame.extend_from_slice(&10u16.to_be_bytes());
        frame.extend_from_slice(&[0, 0, b'h', b'i']);
        frame
    }

    #[test]
    fn udp_to_an_ephemeral_port_goes_to_its_owner_and_fragments_stay() {
        let steering = Steering { worker: 0, workers: 2 };
        assert_eq!(steering.classify(&udp_frame(50_001)), Verdict::HandOff(1));
        assert_eq!(steering.classify(&udp_frame(50_000)), Verdict::Local);
        assert_eq!(steering.classify(&udp_frame(53)), Verdict::Local, "a server port: where it lands");
        let mut first_fragment = udp_frame(50_001);
        first_fragment[14 + 6] = 0x20; // MF
        assert_eq!(steering.classify(&first_fragment), Verdict::Local, "reassembled where it lands");
    }

    #[test]
    fn later_fragments_and_short_frames_stay_local() {
        let steering = Steering { worker: 0, workers: 2 };
        let mut fragment = tcp_frame(50_001, false);
        fragment[14 + 7] = 0x10;
        assert_eq!(steering.classify(&fragment), Verdict::Local);
        let frame = tcp_frame(50_001, false);
        for len in 0..frame.len() {
            let verdict = steering.classify(&frame[..len]);
            assert!(len >= 38 || verdict == Verdict::Local, "{len}: {verdict:?}");
        }
    }

    #[test]
    fn arp_replies_are_shared() {
        let steering = Steering { worker: 1, workers: 2 };
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2]);
        arp.extend_from_slice(&[0u8; 20]);
        assert_eq!(steering.classify(&arp), Verdict::LocalAndShare);
        arp[21] = 1;
        assert_eq!(steering.classify(&arp), Verdict::Local, "requests are answered where they land");
    }
}
