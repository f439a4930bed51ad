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
//! The check reads four fixed header fields and never rejects a frame: anything it cannot
//! classify stays local and meets the full validation there.

use core::net::SocketAddrV4;

use crate::socket::{FourTuple, PortShare, EPHEMERAL_FIRST};
use crate::wire::Ipv4Addr;

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

const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ARP_REPLY: u16 = 2;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

impl Steering {
    pub fn classify(&self, frame: &[u8]) -> Verdict {
        if self.workers <= 1 {
            return Verdict::Local;
        }
        let mut l3 = 14;
        let mut ethertype = be16(frame, 12);
        if ethertype == Some(ETHERTYPE_VLAN) {
            l3 = 18;
            ethertype = be16(frame, 16);
        }
        match ethertype {
            Some(ETHERTYPE_ARP) if be16(frame, l3 + 6) == Some(ARP_REPLY) => Verdict::LocalAndShare,
            Some(ETHERTYPE_IPV4) => self.classify_ipv4(frame, l3),
            _ => Verdict::Local,
        }
    }

    fn classify_ipv4(&self, frame: &[u8], l3: usize) -> Verdict {
        let (Some(&version_ihl), Some(flags_offset), Some(&protocol)) =
            (frame.get(l3), be16(frame, l3 + 6), frame.get(l3 + 9))
        else {
            return Verdict::Local;
        };
        // A later fragment carries no ports; it is reassembled where it lands.
        if flags_offset & 0x1fff != 0 || version_ihl >> 4 != 4 || !matches!(protocol, PROTO_TCP | PROTO_UDP) {
            return Verdict::Local;
        }
        let l4 = l3 + usize::from(version_ihl & 0x0f) * 4;
        let Some(dst_port) = be16(frame, l4 + 2) else { return Verdict::Local };
        if dst_port < EPHEMERAL_FIRST {
            return match (protocol, frame.get(l4 + 13), be16(frame, l4), frame.get(l3 + 12..l3 + 20)) {
                // A SYN opens a connection here; anything else may belong to another worker.
                (PROTO_TCP, Some(&flags), Some(src_port), Some(addrs))
                    if flags & (TCP_SYN | TCP_ACK) != TCP_SYN =>
                {
                    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
                    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);
                    Verdict::LocalIfOwned(FourTuple {
                        local: SocketAddrV4::new(dst, dst_port),
                        remote: SocketAddrV4::new(src, src_port),
                    })
                }
                _ => Verdict::Local,
            };
        }
        match PortShare::owner_of(dst_port, self.workers) {
            owner if owner == self.worker => Verdict::Local,
            owner => Verdict::HandOff(owner),
        }
    }
}

fn be16(frame: &[u8], at: usize) -> Option<u16> {
    let bytes = frame.get(at..at + 2)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_frame(dst_port: u16, vlan: bool) -> Vec<u8> {
        let mut frame = vec![0u8; 12];
        if vlan {
            frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        }
        frame.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[9] = PROTO_TCP;
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&[0x00, 0x50]);
        frame.extend_from_slice(&dst_port.to_be_bytes());
        frame.extend_from_slice(&[0u8; 16]);
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
