//! The simulated network: segments of ports, a virtual clock and the frames in flight.
//!
//! A segment is a switch that learns nothing: a unicast frame goes to the ports whose MAC is
//! its destination; broadcast, multicast and unknown unicast go to every other port of the
//! segment. A unicast frame addressed to its sender's own MAC goes nowhere, as a switch
//! filters a frame whose destination sits behind its ingress port.
//!
//! Timing of a frame taken from a port's transmit queue at time `t`:
//!
//! ```text
//! departure = max(t, port busy until)         serialisation starts (the capture timestamp)
//! finish    = departure + len * 8 / bandwidth  port busy until finish
//! arrival   = finish + latency [+ reorder_delay if held back], rounded up to the microsecond
//! ```
//!
//! Serialisation is tracked in nanoseconds with the remainder carried from frame to frame,
//! so back-to-back frames accumulate no rounding error. The switch fabric itself is
//! infinitely fast: each frame serialises once, on its sender's port.
//!
//! Determinism: all randomness comes from one ChaCha8 generator seeded by
//! [`Network::new`], drawn in a fixed order (ports in creation order, per copy: loss,
//! duplication, then per delivered copy: reordering, corruption). Frames in flight are
//! ordered by (arrival, sequence number), so simultaneous arrivals keep their send order.

use core::fmt;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::device::SimDevice;
use super::event::{EventLog, SimEvent, SimEventKind};
use super::link::{LinkConfig, LinkStats};
use super::pcap::Capture;
use crate::phy::faults::{self, FrameFate};
use crate::time::{Duration, Instant};
use crate::wire::ethernet::HEADER_LEN;
use crate::wire::EthernetAddress;

/// How many events [`Network::events`] keeps at most.
pub const EVENT_LOG_CAPACITY: usize = 10_000;

/// A segment (one switch) of a [`Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub(crate) usize);

/// A port (one attached device) of a [`Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub(crate) usize);

impl SegmentId {
    /// Segments are numbered from 0 in creation order.
    pub fn index(self) -> usize {
        self.0
    }
}

impl PortId {
    /// Ports are numbered from 0 in creation order, across all segments.
    pub fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {}", self.0)
    }
}

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port {}", self.0)
    }
}

#[derive(Debug)]
struct Segment {
    config: LinkConfig,
    ports: Vec<PortId>,
    stats: LinkStats,
}

/// The sending side of a port: when it is free again and what waits to be serialised.
#[derive(Debug, Default)]
struct Egress {
    busy_until_ns: u64,
    /// Remainder of the last division of bits by bandwidth, in bit-nanoseconds.
    carry: u64,
    /// (finish time in ns, length) of each frame not yet fully serialised.
    backlog: VecDeque<(u64, usize)>,
    backlog_bytes: usize,
}

#[derive(Debug)]
struct Port {
    segment: SegmentId,
    device: SimDevice,
    egress: Egress,
    /// Frames taken from the device's transmit queue: the number the next one gets.
    transmitted: u64,
}

/// A copy of a frame on its way to a port.
#[derive(Debug)]
struct InFlight {
    arrival: Instant,
    seq: u64,
    port: PortId,
    /// The sender and the frame's number there, for the event log.
    origin: Origin,
    frame: Vec<u8>,
}

/// Which frame of which sender (see [`SimEvent::frame`]).
#[derive(Debug, Clone, Copy)]
struct Origin {
    sender: PortId,
    frame: u64,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &InFlight) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &InFlight) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    /// Sequence numbers are unique, so this is a total order.
    fn cmp(&self, other: &InFlight) -> Ordering {
        (self.arrival, self.seq).cmp(&(other.arrival, other.seq))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn instant_nanos(t: Instant) -> u64 {
    t.total_micros().saturating_mul(1_000)
}

/// A deterministic simulated network.
#[derive(Debug)]
pub struct Network {
    now: Instant,
    rng: ChaCha8Rng,
    segments: Vec<Segment>,
    ports: Vec<Port>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    next_seq: u64,
    capture: Option<Capture>,
    events: EventLog,
    /// Consecutive `step`s that did not advance time (see `Network::step`).
    pub(super) zero_time_rounds: u32,
}

impl Network {
    /// An empty network at time zero whose impairments are drawn from `seed`.
    pub fn new(seed: u64) -> Network {
        Network {
            now: Instant::ZERO,
            rng: ChaCha8Rng::seed_from_u64(seed),
            segments: Vec::new(),
            ports: Vec::new(),
            in_flight: BinaryHeap::new(),
            next_seq: 0,
            capture: None,
            events: EventLog::new(EVENT_LOG_CAPACITY),
            zero_time_rounds: 0,
        }
    }

    /// Adds a segment whose links behave as `config` says.
    ///
    /// # Panics
    /// If `config` does not pass [`LinkConfig::validate`].
    pub fn add_segment(&mut self, config: LinkConfig) -> SegmentId {
        if let Err(err) = config.validate() {
            panic!("invalid LinkConfig: {err}");
        }
        self.segments.push(Segment { config, ports: Vec::new(), stats: LinkStats::default() });
        SegmentId(self.segments.len() - 1)
    }

    /// Attaches a device with address `mac` to `segment`.
    pub fn add_port(&mut self, segment: SegmentId, mac: EthernetAddress) -> PortId {
        let mtu = self.segments[segment.0].config.mtu;
        let id = PortId(self.ports.len());
        self.ports.push(Port {
            segment,
            device: SimDevice::new(mac, mtu),
            egress: Egress::default(),
            transmitted: 0,
        });
        self.segments[segment.0].ports.push(id);
        id
    }

    pub fn device(&mut self, port: PortId) -> &mut SimDevice {
        &mut self.ports[port.0].device
    }

    pub fn device_ref(&self, port: PortId) -> &SimDevice {
        &self.ports[port.0].device
    }

    pub fn segment_of(&self, port: PortId) -> SegmentId {
        self.ports[port.0].segment
    }

    /// The ports of `segment` in creation order.
    pub fn ports(&self, segment: SegmentId) -> &[PortId] {
        &self.segments[segment.0].ports
    }

    pub fn config(&self, segment: SegmentId) -> &LinkConfig {
        &self.segments[segment.0].config
    }

    /// Changes how `segment` behaves from now on (a link going down: loss 1.0). Frames
    /// already in flight keep the arrival they were given.
    ///
    /// # Panics
    /// If `config` does not pass [`LinkConfig::validate`].
    pub fn set_config(&mut self, segment: SegmentId, config: LinkConfig) {
        if let Err(err) = config.validate() {
            panic!("invalid LinkConfig: {err}");
        }
        for &port in &self.segments[segment.0].ports {
            self.ports[port.0].device.set_mtu(config.mtu);
        }
        self.segments[segment.0].config = config;
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn stats(&self, segment: SegmentId) -> LinkStats {
        self.segments[segment.0].stats
    }

    /// The most recent impairment and drop events, oldest first.
    pub fn events(&self) -> &[SimEvent] {
        self.events.events()
    }

    /// Events dropped from the front of the log to keep it within [`EVENT_LOG_CAPACITY`].
    pub fn events_discarded(&self) -> u64 {
        self.events.discarded()
    }

    /// Frame copies on their way to a port.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Starts capturing every frame that leaves a sender from now on, writing pcap to
    /// `writer`; ends a capture already running as [`Network::finish_capture`] does.
    pub fn capture(&mut self, writer: impl Write + Send + 'static) -> io::Result<()> {
        self.finish_capture()?;
        self.capture = Some(Capture::new(Box::new(writer))?);
        Ok(())
    }

    /// [`Network::capture`] into a new file at `path`.
    pub fn capture_to_file(&mut self, path: impl AsRef<Path>) -> io::Result<()> {
        self.capture(BufWriter::new(File::create(path)?))
    }

    /// Writes every captured frame, flushes and closes the capture, and reports the first
    /// write error. Dropping the network does the same, ignoring errors.
    pub fn finish_capture(&mut self) -> io::Result<()> {
        match self.capture.take() {
            Some(capture) => capture.finish(),
            None => Ok(()),
        }
    }

    /// When something next happens on the wire: `now` if a device holds frames to transmit,
    /// else the earliest arrival in flight; `None` when the wire is idle.
    pub fn next_event(&self) -> Option<Instant> {
        if self.ports.iter().any(|p| p.device.tx_pending() > 0) {
            return Some(self.now);
        }
        self.in_flight.peek().map(|Reverse(f)| f.arrival)
    }

    /// Takes every port's queued frames onto the wire at the current time, then delivers
    /// every copy arriving at or before `to` into its port's receive queue, then sets the
    /// clock to `to`. Time never goes backwards: a `to` in the past is taken as now.
    pub fn advance(&mut self, to: Instant) {
        self.transmit_queued();
        let to = to.max(self.now);
        while self.in_flight.peek().is_some_and(|Reverse(f)| f.arrival <= to) {
            if let Some(Reverse(copy)) = self.in_flight.pop() {
                self.deliver(copy);
            }
        }
        self.now = to;
        if let Some(capture) = &mut self.capture {
            capture.write_until(instant_nanos(to));
        }
    }

    /// Takes the frames of every port's transmit queue, ports in creation order.
    fn transmit_queued(&mut self) {
        for index in 0..self.ports.len() {
            while let Some(frame) = self.ports[index].device.take_transmitted() {
                self.transmit(PortId(index), frame);
            }
        }
    }

    fn log(&mut self, port: PortId, origin: Origin, len: usize, kind: SimEventKind) {
        let event = SimEvent {
            time: self.now,
            segment: self.ports[port.0].segment,
            port,
            sender: origin.sender,
            frame: origin.frame,
            len,
            kind,
        };
        tracing::trace!(target: "sluice::sim", "{event}");
        self.events.push(event);
    }

    fn transmit(&mut self, src: PortId, frame: Vec<u8>) {
        let segment = self.ports[src.0].segment.0;
        let len = frame.len();
        let origin = Origin { sender: src, frame: self.ports[src.0].transmitted };
        self.ports[src.0].transmitted += 1;
        self.segments[segment].stats.frames_sent += 1;
        if len < HEADER_LEN {
            self.segments[segment].stats.dropped_runt += 1;
            self.log(src, origin, len, SimEventKind::DroppedRunt);
            return;
        }
        if len > self.segments[segment].config.max_frame_len() {
            self.segments[segment].stats.dropped_mtu += 1;
            self.log(src, origin, len, SimEventKind::DroppedMtu);
            return;
        }
        let Some((departure_ns, finish_ns)) = self.serialise(src, len) else {
            self.segments[segment].stats.dropped_queue += 1;
            self.log(src, origin, len, SimEventKind::DroppedQueue);
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(capture) = &mut self.capture {
            capture.record(departure_ns, seq, &frame);
        }

        let config = &self.segments[segment].config;
        let arrival_ns = finish_ns.saturating_add(nanos(config.latency));
        let dst = EthernetAddress::from_bytes(&frame);
        let flood = dst.is_multicast()
            || !self.segments[segment].ports.iter().any(|p| self.ports[p.0].device.mac() == dst);
        for k in 0..self.segments[segment].ports.len() {
            let port = self.segments[segment].ports[k];
            if port == src || !(flood || self.ports[port.0].device.mac() == dst) {
                continue;
            }
            self.send_copies(segment, port, origin, &frame, arrival_ns);
        }
    }

    /// Queues `len` bytes on `port`'s egress: (departure, finish) in ns, or `None` for a
    /// tail drop.
    fn serialise(&mut self, port: PortId, len: usize) -> Option<(u64, u64)> {
        let now_ns = instant_nanos(self.now);
        let bandwidth = self.segments[self.ports[port.0].segment.0].config.bandwidth_bps;
        let limit = self.segments[self.ports[port.0].segment.0].config.queue_limit_bytes;
        let egress = &mut self.ports[port.0].egress;
        while let Some(&(finish, bytes)) = egress.backlog.front() {
            if finish > now_ns {
                break;
            }
            egress.backlog.pop_front();
            egress.backlog_bytes -= bytes;
        }
        if egress.backlog_bytes > 0 && egress.backlog_bytes.saturating_add(len) > limit {
            return None;
        }
        if now_ns > egress.busy_until_ns {
            egress.busy_until_ns = now_ns;
            egress.carry = 0;
        }
        let departure_ns = egress.busy_until_ns;
        let Some(bps) = bandwidth else {
            return Some((departure_ns, departure_ns));
        };
        let bit_nanos = (len as u128) * 8 * 1_000_000_000 + u128::from(egress.carry);
        let bps = u128::from(bps);
        let tx_ns = u64::try_from(bit_nanos / bps).unwrap_or(u64::MAX);
        egress.carry = u64::try_from(bit_nanos % bps).unwrap_or(0);
        egress.busy_until_ns = egress.busy_until_ns.saturating_add(tx_ns);
        if egress.busy_until_ns > now_ns {
            egress.backlog.push_back((egress.busy_until_ns, len));
            egress.backlog_bytes += len;
        }
        Some((departure_ns, egress.busy_until_ns))
    }

    /// Draws this receiver's impairments (`phy::faults`) and puts its copies in flight.
    fn send_copies(&mut self, segment: usize, port: PortId, origin: Origin, frame: &[u8], arrival_ns: u64) {
        let config = &self.segments[segment].config;
        let rates = config.fault_rates();
        let reorder_ns = nanos(config.reorder_delay);
        let len = frame.len();
        let (copies, count) = match faults::draw(&mut self.rng, &rates, len) {
            FrameFate::Lost => {
                self.segments[segment].stats.lost += 1;
                self.log(port, origin, len, SimEventKind::Lost);
                return;
            }
            FrameFate::Delivered { copies, count } => (copies, count),
        };
        if count == 2 {
            self.segments[segment].stats.duplicated += 1;
            self.log(port, origin, len, SimEventKind::Duplicated);
        }
        for fate in &copies[..count] {
            let mut copy = frame.to_vec();
            let mut arrival_ns = arrival_ns;
            if fate.reordered {
                arrival_ns = arrival_ns.saturating_add(reorder_ns);
                self.segments[segment].stats.reordered += 1;
                self.log(port, origin, len, SimEventKind::Reordered);
            }
            if let Some(bit) = fate.corrupt_bit {
                faults::flip_bit(&mut copy, bit);
                self.segments[segment].stats.corrupted += 1;
                self.log(port, origin, len, SimEventKind::Corrupted { bit });
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            let arrival = Instant::from_micros(arrival_ns.div_ceil(1_000));
            self.in_flight.push(Reverse(InFlight { arrival, seq, port, origin, frame: copy }));
        }
    }

    fn deliver(&mut self, copy: InFlight) {
        let segment = self.ports[copy.port.0].segment.0;
        let len = copy.frame.len();
        if self.ports[copy.port.0].device.inject(copy.frame) {
            let stats = &mut self.segments[segment].stats;
            stats.frames_delivered += 1;
            stats.bytes_delivered += len as u64;
        } else {
            self.segments[segment].stats.dropped_rx += 1;
            let event = SimEvent {
                time: copy.arrival,
                segment: SegmentId(segment),
                port: copy.port,
                sender: copy.origin.sender,
                frame: copy.origin.frame,
                len,
                kind: SimEventKind::DroppedRx,
            };
            tracing::trace!(target: "sluice::sim", "{event}");
            self.events.push(event);
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Errors cannot be reported from here; `finish_capture` reports them.
        let _ = self.finish_capture();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phy::Device;
    use crate::sim::testkit::{mac, pump, seq_of, test_frame};
    use crate::sim::CaptureBuffer;
    use pcap_file::pcap::PcapReader;

    fn two_ports(config: LinkConfig) -> (Network, SegmentId, PortId, PortId) {
        let mut net = Network::new(1);
        let seg = net.add_segment(config);
        let a = net.add_port(seg, mac(1));
        let b = net.add_port(seg, mac(2));
        (net, seg, a, b)
    }

    /// Runs the network event by event, returning every frame `port` receives with its time.
    fn drain_all(net: &mut Network, port: PortId) -> Vec<(Instant, Vec<u8>)> {
        let mut received = Vec::new();
        while let Some(t) = net.next_event() {
            net.advance(t);
            while let Some(frame) = net.device(port).recv() {
                received.push((net.now(), frame));
            }
        }
        received
    }

    #[test]
    fn latency_is_exact_without_bandwidth_limit() {
        let config =
            LinkConfig::default().with_unlimited_bandwidth().with_latency(Duration::from_micros(250));
        let (mut net, seg, a, b) = two_ports(config);
        net.advance(Instant::from_micros(1_000));
        let frame = test_frame(mac(2), mac(1), 7, 100);
        assert!(net.device(a).send(&frame));
        assert_eq!(net.next_event(), Some(Instant::from_micros(1_000)), "queued frames are due now");
        net.advance(Instant::from_micros(1_249));
        assert_eq!(net.next_event(), Some(Instant::from_micros(1_250)));
        assert_eq!(net.device(b).recv(), None);
        net.advance(Instant::from_micros(1_250));
        assert_eq!(net.device(b).recv(), Some(frame));
        assert_eq!(net.next_event(), None);
        let stats = net.stats(seg);
        assert_eq!((stats.frames_sent, stats.frames_delivered, stats.bytes_delivered), (1, 1, 100));
    }

    #[test]
    fn arrival_adds_serialisation_rounded_up() {
        // 100 bytes at 1 Gbit/s take 800 ns: the last bit arrives at 10.8 µs, seen at 11 µs.
        let (mut net, _, a, b) = two_ports(LinkConfig::default());
        net.device(a).send(&test_frame(mac(2), mac(1), 0, 100));
        let received = drain_all(&mut net, b);
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].0, Instant::from_micros(11));
    }

    #[test]
    fn back_to_back_frames_serialise_in_turn() {
        // 125 bytes at 10 Mbit/s: 100 µs each.
        let config =
            LinkConfig::default().with_bandwidth_bps(10_000_000).with_latency(Duration::from_micros(5));
        let (mut net, _, a, b) = two_ports(config);
        for seq in 0..10 {
            assert!(net.device(a).send(&test_frame(mac(2), mac(1), seq, 125)));
        }
        let received = drain_all(&mut net, b);
        let expected: Vec<(Instant, Option<u32>)> =
            (0..10).map(|k| (Instant::from_micros(100 * (k as u64 + 1) + 5), Some(k))).collect();
        let got: Vec<(Instant, Option<u32>)> = received.iter().map(|(t, f)| (*t, seq_of(f))).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn fractional_serialisation_accumulates_without_drift() {
        // 64 bytes at 3 Gbit/s take 170.67 ns: 3,000 back-to-back frames take exactly 512 µs.
        let config = LinkConfig::default().with_bandwidth_bps(3_000_000_000).with_latency(Duration::ZERO);
        let (mut net, _, a, b) = two_ports(config);
        net.device(a).set_tx_limit(3_000);
        for seq in 0..3_000 {
            assert!(net.device(a).send(&test_frame(mac(2), mac(1), seq, 64)));
        }
        let received = drain_all(&mut net, b);
        assert_eq!(received.len(), 3_000);
        assert_eq!(received.last().unwrap().0, Instant::from_micros(512));
        // Frame k finishes at ceil(k * 512 / 3) ns; arrival is that rounded up to the µs.
        for (k, (t, _)) in received.iter().enumerate() {
            let finish_ns = ((k as u64 + 1) * 512 * 1_000).div_ceil(3_000);
            assert_eq!(t.total_micros(), finish_ns.div_ceil(1_000), "frame {k}");
        }
    }

    #[test]
    fn a_port_resumes_at_now_after_idling() {
        let config = LinkConfig::default().with_bandwidth_bps(8_000_000).with_latency(Duration::ZERO);
        let (mut net, _, a, b) = two_ports(config);
        // 100 bytes at 8 Mbit/s: 100 µs.
        net.device(a).send(&test_frame(mac(2), mac(1), 0, 100));
        let mut received = drain_all(&mut net, b);
        net.advance(Instant::from_micros(500));
        net.device(a).send(&test_frame(mac(2), mac(1), 1, 100));
        received.extend(drain_all(&mut net, b));
        let times: Vec<u64> = received.iter().map(|(t, _)| t.total_micros()).collect();
        assert_eq!(times, [100, 600]);
    }

    #[test]
    fn oversized_and_runt_frames_are_dropped_at_the_sender() {
        let (mut net, seg, a, b) = two_ports(LinkConfig::default().with_mtu(100));
        assert_eq!(net.device(a).caps().mtu, 100);
        net.device(a).send(&test_frame(mac(2), mac(1), 0, 118));
        net.device(a).send(&test_frame(mac(2), mac(1), 1, 119));
        net.device(a).send(&[0xff; 13]);
        let received = drain_all(&mut net, b);
        assert_eq!(received.len(), 1);
        assert_eq!(seq_of(&received[0].1), Some(0));
        let stats = net.stats(seg);
        assert_eq!((stats.frames_sent, stats.dropped_mtu, stats.dropped_runt), (3, 1, 1));
        let kinds: Vec<SimEventKind> = net.events().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [SimEventKind::DroppedMtu, SimEventKind::DroppedRunt]);
        assert_eq!((net.events()[0].port, net.events()[0].len), (a, 119));

        net.set_config(seg, LinkConfig::default().with_mtu(9000));
        assert_eq!(net.device(b).caps().mtu, 9000);
    }

    #[test]
    fn full_sender_queue_tail_drops() {
        // 1000-byte frames at 1 Mbit/s (8 ms each) into a 3000-byte queue.
        let config = LinkConfig::default().with_bandwidth_bps(1_000_000).with_queue_limit_bytes(3_000);
        let (mut net, seg, a, b) = two_ports(config);
        for seq in 0..10 {
            net.device(a).send(&test_frame(mac(2), mac(1), seq, 1_000));
        }
        net.advance(net.now());
        assert_eq!(net.stats(seg).dropped_queue, 7);
        // After one frame has left, there is room for exactly one more.
        net.advance(Instant::from_millis(8));
        net.device(a).send(&test_frame(mac(2), mac(1), 10, 1_000));
        net.device(a).send(&test_frame(mac(2), mac(1), 11, 1_000));
        let received = drain_all(&mut net, b);
        let seqs: Vec<Option<u32>> = received.iter().map(|(_, f)| seq_of(f)).collect();
        assert_eq!(seqs, [Some(0), Some(1), Some(2), Some(10)]);
        let stats = net.stats(seg);
        assert_eq!((stats.frames_sent, stats.dropped_queue, stats.frames_delivered), (12, 8, 4));
        // The fourth frame waits for the third: 4 × 8 ms + 10 µs.
        assert_eq!(received[3].0, Instant::from_micros(32_010));
    }

    #[test]
    fn an_idle_port_accepts_a_frame_larger_than_its_queue() {
        let config = LinkConfig::default().with_queue_limit_bytes(10);
        let (mut net, seg, a, b) = two_ports(config);
        net.device(a).send(&test_frame(mac(2), mac(1), 0, 100));
        net.device(a).send(&test_frame(mac(2), mac(1), 1, 100));
        assert_eq!(drain_all(&mut net, b).len(), 1);
        assert_eq!(net.stats(seg).dropped_queue, 1);
    }

    #[test]
    fn switches_unicast_and_floods_the_rest() {
        let mut net = Network::new(1);
        let seg = net.add_segment(LinkConfig::default());
        let ports: Vec<PortId> = (1..=3).map(|n| net.add_port(seg, mac(n))).collect();
        assert_eq!(net.ports(seg), &ports[..]);
        let multicast = EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 1]);
        let cases = [
            (mac(2), vec![false, true, false]),
            (mac(3), vec![false, false, true]),
            (EthernetAddress::BROADCAST, vec![false, true, true]),
            (multicast, vec![false, true, true]),
            (mac(9), vec![false, true, true]),
            (mac(1), vec![false, false, false]),
        ];
        for (seq, (dst, expected)) in cases.into_iter().enumerate() {
            net.device(ports[0]).send(&test_frame(dst, mac(1), seq as u32, 60));
            net.advance(net.now() + Duration::from_millis(1));
            let got: Vec<bool> = ports
                .iter()
                .map(|&p| {
                    let frame = net.device(p).recv();
                    assert_eq!(net.device(p).recv(), None, "one copy per port");
                    frame.is_some_and(|f| seq_of(&f) == Some(seq as u32))
                })
                .collect();
            assert_eq!(got, expected, "destination {dst}");
        }
        let stats = net.stats(seg);
        assert_eq!((stats.frames_sent, stats.frames_delivered), (6, 8));
    }

    #[test]
    fn segments_are_isolated() {
        let mut net = Network::new(1);
        let one = net.add_segment(LinkConfig::default());
        let two = net.add_segment(LinkConfig::default());
        let a = net.add_port(one, mac(1));
        let b = net.add_port(one, mac(2));
        let c = net.add_port(two, mac(3));
        assert_eq!(net.segment_of(c), two);
        net.device(a).send(&test_frame(EthernetAddress::BROADCAST, mac(1), 0, 60));
        net.advance(Instant::from_millis(1));
        assert!(net.device(b).recv().is_some());
        assert!(net.device(c).recv().is_none());
        assert_eq!(net.stats(two), LinkStats::default());
    }

    #[test]
    fn full_receive_queue_drops_and_counts() {
        let (mut net, seg, a, b) = two_ports(LinkConfig::default());
        net.device(b).set_rx_limit(2);
        for seq in 0..5 {
            net.device(a).send(&test_frame(mac(2), mac(1), seq, 60));
        }
        net.advance(Instant::from_millis(1));
        assert_eq!(net.device(b).rx_pending(), 2);
        let stats = net.stats(seg);
        assert_eq!((stats.frames_delivered, stats.dropped_rx), (2, 3));
        assert_eq!(net.device(b).counters().rx_dropped, 3);
        assert_eq!(net.events().last().unwrap().kind, SimEventKind::DroppedRx);
    }

    #[test]
    fn events_name_the_frame_and_its_sender() {
        let (mut net, _, a, b) = two_ports(LinkConfig::default().with_loss(0.3).with_mtu(200));
        // Frame n carries sequence number n; every tenth is too long for the MTU.
        for seq in 0..300 {
            let len = if seq % 10 == 0 { 300 } else { 100 };
            assert!(net.device(a).send(&test_frame(mac(2), mac(1), seq, len)));
        }
        let received: Vec<u64> =
            drain_all(&mut net, b).iter().map(|(_, f)| u64::from(seq_of(f).unwrap())).collect();
        let mut accounted = received.clone();
        for event in net.events() {
            assert_eq!(event.sender, a);
            match event.kind {
                SimEventKind::Lost => assert_eq!(event.port, b),
                SimEventKind::DroppedMtu => {
                    assert_eq!((event.port, event.frame % 10, event.len), (a, 0, 300));
                }
                other => panic!("unexpected {other:?}"),
            }
            assert!(!received.contains(&event.frame), "frame {} was both dropped and delivered", event.frame);
            accounted.push(event.frame);
        }
        accounted.sort_unstable();
        assert_eq!(accounted, (0..300).collect::<Vec<u64>>(), "every frame delivered or named once");
        assert!(received.len() < 270, "some frames were lost");
    }

    #[test]
    fn time_never_goes_backwards() {
        let (mut net, _, _, _) = two_ports(LinkConfig::default());
        net.advance(Instant::from_millis(5));
        net.advance(Instant::from_millis(1));
        assert_eq!(net.now(), Instant::from_millis(5));
    }

    #[test]
    fn event_log_is_bounded() {
        let (mut net, seg, a, b) = two_ports(LinkConfig::default().with_loss(1.0));
        pump(&mut net, a, b, (EVENT_LOG_CAPACITY + 10) as u32, 60, Duration::from_micros(1));
        assert_eq!(net.stats(seg).lost, EVENT_LOG_CAPACITY as u64 + 10);
        assert!(net.events().len() <= EVENT_LOG_CAPACITY);
        assert_eq!(net.events().len() as u64 + net.events_discarded(), EVENT_LOG_CAPACITY as u64 + 10);
        assert!(net.events().iter().all(|e| e.kind == SimEventKind::Lost && e.port == b));
    }

    /// Two senders, an echo, impairments of every kind, a capture: everything a run produces.
    /// The echo makes the capture depend on which frames arrived.
    fn impaired_run(seed: u64) -> (Vec<u8>, LinkStats, Vec<SimEvent>, Vec<Vec<u8>>) {
        let mut net = Network::new(seed);
        let config = LinkConfig::default()
            .with_bandwidth_bps(100_000_000)
            .with_loss(0.05)
            .with_duplicate(0.05)
            .with_reorder(0.05, Duration::from_micros(300))
            .with_corrupt(0.05);
        let seg = net.add_segment(config);
        let a = net.add_port(seg, mac(1));
        let b = net.add_port(seg, mac(2));
        let c = net.add_port(seg, mac(3));
        let capture = CaptureBuffer::new();
        net.capture(capture.clone()).unwrap();
        let mut received = Vec::new();
        for seq in 0..500 {
            net.device(a).send(&test_frame(mac(2), mac(1), seq, 64 + seq as usize % 700));
            if seq % 3 == 0 {
                net.device(c).send(&test_frame(EthernetAddress::BROADCAST, mac(3), seq, 80));
            }
            net.advance(net.now() + Duration::from_micros(20));
            for port in [a, b, c] {
                while let Some(mut frame) = net.device(port).recv() {
                    if port == b {
                        frame[..6].copy_from_slice(&mac(1).0);
                        frame[6..12].copy_from_slice(&mac(2).0);
                        net.device(b).send(&frame);
                    }
                    received.push(frame);
                }
            }
        }
        received.extend(drain_all(&mut net, b).into_iter().map(|(_, f)| f));
        net.finish_capture().unwrap();
        (capture.contents(), net.stats(seg), net.events().to_vec(), received)
    }

    #[test]
    fn same_seed_same_run() {
        let first = impaired_run(42);
        let second = impaired_run(42);
        // Not assert_eq!: a failure would print megabytes.
        assert!(first.0 == second.0, "captures differ");
        assert_eq!(first.1, second.1);
        assert!(first.2 == second.2, "event logs differ");
        assert!(first.3 == second.3, "received frames differ");
        let stats = first.1;
        assert!(stats.lost > 0 && stats.duplicated > 0 && stats.reordered > 0 && stats.corrupted > 0);
        let other = impaired_run(43);
        assert!(first.0 != other.0, "the echoes depend on what arrived");
        assert_ne!(first.1, other.1);
        assert!(first.2 != other.2);
    }

    #[test]
    fn capture_reads_back_with_departure_times() {
        // Port 1 is backlogged (1 Mbit/s, 1000-byte frames: 8 ms each), port 3 sends later
        // frames that leave earlier: the file must still be in time order.
        let mut net = Network::new(1);
        let seg = net.add_segment(LinkConfig::default().with_bandwidth_bps(1_000_000));
        let a = net.add_port(seg, mac(1));
        let b = net.add_port(seg, mac(2));
        let c = net.add_port(seg, mac(3));
        let capture = CaptureBuffer::new();
        net.capture(capture.clone()).unwrap();
        for seq in 0..3 {
            net.device(a).send(&test_frame(mac(2), mac(1), seq, 1_000));
        }
        net.advance(Instant::from_millis(1));
        net.device(c).send(&test_frame(mac(2), mac(3), 100, 60));
        drain_all(&mut net, b);
        net.finish_capture().unwrap();

        let bytes = capture.contents();
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        let mut seen = Vec::new();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.unwrap();
            assert_eq!(packet.data.len() as u32, packet.orig_len);
            seen.push((packet.timestamp.as_nanos() as u64, packet.orig_len, seq_of(&packet.data)));
        }
        assert_eq!(
            seen,
            [
                (0, 1_000, Some(0)),
                (1_000_000, 60, Some(100)),
                (8_000_000, 1_000, Some(1)),
                (16_000_000, 1_000, Some(2)),
            ]
        );
    }

    #[test]
    fn capture_to_file_writes_on_drop() {
        let path = std::env::temp_dir().join(format!("sluice-sim-drop-{}.pcap", std::process::id()));
        {
            let (mut net, _, a, b) = two_ports(LinkConfig::default());
            net.capture_to_file(&path).unwrap();
            net.device(a).send(&test_frame(mac(2), mac(1), 0, 60));
            drain_all(&mut net, b);
        }
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.next_packet().unwrap().unwrap().data.len(), 60);
        assert!(reader.next_packet().is_none());
    }

    #[test]
    fn network_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<Network>();
    }

    #[test]
    #[should_panic(expected = "invalid LinkConfig")]
    fn refuses_invalid_config() {
        Network::new(0).add_segment(LinkConfig::default().with_loss(2.0));
    }
}
