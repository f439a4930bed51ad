//! Test frames and test hosts: raw Ethernet frames of the local experimental EtherType
//! (IEEE 802 0x88b5) carrying a 32-bit sequence number.

use super::{Host, Network, PortId, SimDevice};
use crate::time::{Duration, Instant};
use crate::wire::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};

/// IEEE Std 802: EtherType for local experiments.
pub const EXPERIMENTAL: EtherType = EtherType::Unknown(0x88b5);

/// A locally administered unicast address ending in `n`.
pub fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

/// A frame from `src` to `dst` of `len` bytes in all (at least 18) carrying `seq`; the rest
/// of the payload is a pattern derived from `seq`.
pub fn test_frame(dst: EthernetAddress, src: EthernetAddress, seq: u32, len: usize) -> Vec<u8> {
    assert!(len >= 18, "a test frame needs 18 bytes");
    let mut buf = vec![0; len];
    let repr = EthernetRepr { src_addr: src, dst_addr: dst, ethertype: EXPERIMENTAL, vlan_id: None };
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    repr.emit(&mut frame);
    let payload = frame.payload_mut();
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    for (i, byte) in payload[4..].iter_mut().enumerate() {
        *byte = (seq as usize).wrapping_add(i) as u8;
    }
    buf
}

/// The sequence number of a test frame, if `frame` is one.
pub fn seq_of(frame: &[u8]) -> Option<u32> {
    let frame = EthernetFrame::new_checked(frame).ok()?;
    if frame.ethertype() != EXPERIMENTAL {
        return None;
    }
    let seq = frame.payload().get(..4)?;
    Some(u32::from_be_bytes([seq[0], seq[1], seq[2], seq[3]]))
}

/// Sends `count` frames spaced by `dt` from `src` to `dst` with plain `advance` calls,
/// draining `dst` after every step; returns what arrived as (arrival time, frame).
pub fn pump(
    net: &mut Network,
    src: PortId,
    dst: PortId,
    count: u32,
    len: usize,
    dt: Duration,
) -> Vec<(Instant, Vec<u8>)> {
    let (from, to) = (net.device(src).mac(), net.device(dst).mac());
    let mut received = Vec::new();
    for seq in 0..count {
        assert!(net.device(src).send(&test_frame(to, from, seq, len)));
        let next = net.now() + dt;
        // Visit every arrival time on the way, so arrival times are exact.
        while let Some(t) = net.next_event().filter(|&t| t <= next) {
            net.advance(t);
            while let Some(frame) = net.device(dst).recv() {
                received.push((net.now(), frame));
            }
        }
        net.advance(next);
    }
    while let Some(t) = net.next_event() {
        net.advance(t);
        while let Some(frame) = net.device(dst).recv() {
            received.push((net.now(), frame));
        }
    }
    received
}

/// Sends `count` test frames to `dst`, one every `interval` starting at time zero.
pub struct Sender {
    pub port: PortId,
    pub src: EthernetAddress,
    pub dst: EthernetAddress,
    pub count: u32,
    pub len: usize,
    pub interval: Duration,
    pub next_seq: u32,
    pub next_send: Instant,
}

impl Sender {
    pub fn new(port: PortId, src: EthernetAddress, dst: EthernetAddress, count: u32) -> Sender {
        Sender {
            port,
            src,
            dst,
            count,
            len: 64,
            interval: Duration::from_micros(10),
            next_seq: 0,
            next_send: Instant::ZERO,
        }
    }
}

impl Host for Sender {
    fn port(&self) -> PortId {
        self.port
    }

    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        while device.recv().is_some() {}
        while self.next_seq < self.count && self.next_send <= now {
            if !device.send(&test_frame(self.dst, self.src, self.next_seq, self.len)) {
                break;
            }
            self.next_seq += 1;
            self.next_send += self.interval;
        }
    }

    fn poll_at(&self, _now: Instant) -> Option<Instant> {
        (self.next_seq < self.count).then_some(self.next_send)
    }
}

/// Records every test frame it receives with the time it was polled.
pub struct Receiver {
    pub port: PortId,
    pub received: Vec<(Instant, u32)>,
}

impl Receiver {
    pub fn new(port: PortId) -> Receiver {
        Receiver { port, received: Vec::new() }
    }
}

impl Host for Receiver {
    fn port(&self) -> PortId {
        self.port
    }

    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        while let Some(frame) = device.recv() {
            if let Some(seq) = seq_of(&frame) {
                self.received.push((now, seq));
            }
        }
    }

    fn poll_at(&self, _now: Instant) -> Option<Instant> {
        None
    }
}

/// Sends each received test frame back to its source.
pub struct Echo {
    pub port: PortId,
    pub echoed: u32,
}

impl Host for Echo {
    fn port(&self) -> PortId {
        self.port
    }

    fn poll(&mut self, _now: Instant, device: &mut SimDevice) {
        while let Some(mut frame) = device.recv() {
            let Ok(mut view) = EthernetFrame::new_checked(&mut frame[..]) else { continue };
            let (src, dst) = (view.src_addr(), view.dst_addr());
            view.set_dst_addr(src);
            view.set_src_addr(dst);
            if device.send(&frame) {
                self.echoed += 1;
            }
        }
    }

    fn poll_at(&self, _now: Instant) -> Option<Instant> {
        None
    }
}

/// Sends one frame, waits for its echo, records the round trip, sends the next.
pub struct Pinger {
    pub port: PortId,
    pub src: EthernetAddress,
    pub dst: EthernetAddress,
    pub sent_at: Option<Instant>,
    pub next_seq: u32,
    pub rtts: Vec<Duration>,
}

impl Pinger {
    pub fn new(port: PortId, src: EthernetAddress, dst: EthernetAddress) -> Pinger {
        Pinger { port, src, dst, sent_at: None, next_seq: 0, rtts: Vec::new() }
    }
}

impl Host for Pinger {
    fn port(&self) -> PortId {
        self.port
    }

    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        while let Some(frame) = device.recv() {
            if let (Some(seq), Some(sent)) = (seq_of(&frame), self.sent_at) {
                if seq + 1 == self.next_seq {
                    self.rtts.push(now - sent);
                    self.sent_at = None;
                }
            }
        }
        if self.sent_at.is_none() && device.send(&test_frame(self.dst, self.src, self.next_seq, 64)) {
            self.sent_at = Some(now);
            self.next_seq += 1;
        }
    }

    fn poll_at(&self, _now: Instant) -> Option<Instant> {
        None
    }
}
