//! What a segment's links do to frames: timing, limits and impairments, and the counters
//! that say what happened.

use core::fmt;

use thiserror::Error;

use crate::phy::faults::FaultRates;
use crate::time::Duration;

/// Bytes an Ethernet frame carries beyond its IP packet, as the MTU check counts them:
/// the 14-byte header and one 4-byte 802.1Q tag. Frames here carry no FCS.
pub const FRAME_OVERHEAD: usize = 18;

/// RFC 791 §3.2: every internet module must be able to forward a 68-octet datagram, so no
/// link may have a smaller MTU.
pub const MIN_MTU: usize = 68;

/// How the links of one segment behave. Every probability applies independently to each
/// copy of a frame on its way to each receiving port.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Propagation delay from the last bit leaving the sender to its arrival.
    pub latency: Duration,
    /// Serialisation rate of each sending port in bits per second; `None` is infinite.
    pub bandwidth_bps: Option<u64>,
    /// The IP MTU. Frames longer than `mtu + FRAME_OVERHEAD` bytes are dropped and counted.
    pub mtu: usize,
    /// Probability that a copy is lost.
    pub loss: f64,
    /// Probability that a copy is delivered twice.
    pub duplicate: f64,
    /// Probability that a copy is held back by `reorder_delay`, so later frames overtake it.
    pub reorder: f64,
    /// How long a held-back copy is delayed beyond its normal arrival.
    pub reorder_delay: Duration,
    /// Probability that one uniformly chosen bit of a copy is flipped.
    pub corrupt: f64,
    /// Bytes each sending port may hold waiting for serialisation; frames beyond are
    /// tail-dropped and counted. An idle port always accepts one frame.
    pub queue_limit_bytes: usize,
}

impl Default for LinkConfig {
    /// A clean gigabit Ethernet segment: 1500-byte MTU, 10 µs latency, 1 MB per port queue.
    fn default() -> LinkConfig {
        LinkConfig {
            latency: Duration::from_micros(10),
            bandwidth_bps: Some(1_000_000_000),
            mtu: 1500,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_micros(100),
            corrupt: 0.0,
            queue_limit_bytes: 1 << 20,
        }
    }
}

impl LinkConfig {
    pub fn with_latency(mut self, latency: Duration) -> LinkConfig {
        self.latency = latency;
        self
    }

    pub fn with_bandwidth_bps(mut self, bits_per_second: u64) -> LinkConfig {
        self.bandwidth_bps = Some(bits_per_second);
        self
    }

    /// Frames serialise instantly; only latency delays them.
    pub fn with_unlimited_bandwidth(mut self) -> LinkConfig {
        self.bandwidth_bps = None;
        self
    }

    pub fn with_mtu(mut self, mtu: usize) -> LinkConfig {
        self.mtu = mtu;
        self
    }

    pub fn with_loss(mut self, probability: f64) -> LinkConfig {
        self.loss = probability;
        self
    }

    pub fn with_duplicate(mut self, probability: f64) -> LinkConfig {
        self.duplicate = probability;
        self
    }

    /// Holds back each copy with `probability` for an extra `delay`.
    pub fn with_reorder(mut self, probability: f64, delay: Duration) -> LinkConfig {
        self.reorder = probability;
        self.reorder_delay = delay;
        self
    }

    pub fn with_corrupt(mut self, probability: f64) -> LinkConfig {
        self.corrupt = probability;
        self
    }

    pub fn with_queue_limit_bytes(mut self, bytes: usize) -> LinkConfig {
        self.queue_limit_bytes = bytes;
        self
    }

    /// The longest frame the segment carries.
    /// The link's loss, duplication, reordering and corruption, for `phy::faults`.
    pub fn fault_rates(&self) -> FaultRates {
        FaultRates {
            loss: self.loss,
            duplicate: self.duplicate,
            reorder: self.reorder,
            corrupt: self.corrupt,
        }
    }

    pub fn max_frame_len(&self) -> usize {
        self.mtu.saturating_add(FRAME_OVERHEAD)
    }

    /// Checks every field holds a meaningful value.
    pub fn validate(&self) -> Result<(), InvalidLinkConfig> {
        if let Some((field, value)) = self.fault_rates().invalid() {
            return Err(InvalidLinkConfig::Probability { field, value });
        }
        if self.bandwidth_bps == Some(0) {
            return Err(InvalidLinkConfig::ZeroBandwidth);
        }
        if self.mtu < MIN_MTU {
            return Err(InvalidLinkConfig::MtuTooSmall(self.mtu));
        }
        Ok(())
    }
}

/// Why a [`LinkConfig`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum InvalidLinkConfig {
    #[error("{field} probability {value} is not within 0..=1")]
    Probability { field: &'static str, value: f64 },
    #[error("bandwidth of 0 bit/s (use None for unlimited)")]
    ZeroBandwidth,
    #[error("MTU {0} is below the IPv4 minimum of 68 (RFC 791 §3.2)")]
    MtuTooSmall(usize),
}

/// What happened to the frames of one segment. Per-copy counters (`lost`, `duplicated`,
/// `reordered`, `corrupted`, `frames_delivered`) count once per receiving port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkStats {
    /// Frames taken from the senders' transmit queues, including those dropped at the sender.
    pub frames_sent: u64,
    /// Copies placed into a receiving port's queue (duplicates and corrupted copies included).
    pub frames_delivered: u64,
    /// Copies discarded by the loss draw.
    pub lost: u64,
    /// Extra copies made by the duplication draw.
    pub duplicated: u64,
    /// Copies held back by the reordering draw.
    pub reordered: u64,
    /// Copies delivered with one bit flipped.
    pub corrupted: u64,
    /// Frames longer than `mtu + FRAME_OVERHEAD`, dropped at the sender.
    pub dropped_mtu: u64,
    /// Frames tail-dropped because the sending port's queue was full.
    pub dropped_queue: u64,
    /// Frames shorter than an Ethernet header, dropped at the sender.
    pub dropped_runt: u64,
    /// Copies that arrived at a port whose receive queue was full.
    pub dropped_rx: u64,
    /// Bytes of all delivered copies.
    pub bytes_delivered: u64,
}

impl fmt::Display for LinkStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent {} delivered {} ({} bytes) lost {} duplicated {} reordered {} corrupted {} \
             dropped: mtu {} queue {} runt {} rx {}",
            self.frames_sent,
            self.frames_delivered,
            self.bytes_delivered,
            self.lost,
            self.duplicated,
            self.reordered,
            self.corrupted,
            self.dropped_mtu,
            self.dropped_queue,
            self.dropped_runt,
            self.dropped_rx
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_clean_gigabit() {
        let c = LinkConfig::default();
        assert_eq!(c.mtu, 1500);
        assert_eq!(c.max_frame_len(), 1518);
        assert_eq!(c.latency, Duration::from_micros(10));
        assert_eq!(c.bandwidth_bps, Some(1_000_000_000));
        assert_eq!(c.queue_limit_bytes, 1 << 20);
        assert_eq!((c.loss, c.duplicate, c.reorder, c.corrupt), (0.0, 0.0, 0.0, 0.0));
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn builders_set_fields() {
        let c = LinkConfig::default()
            .with_latency(Duration::from_millis(5))
            .with_bandwidth_bps(10_000_000)
            .with_mtu(9000)
            .with_loss(0.1)
            .with_duplicate(0.2)
            .with_reorder(0.3, Duration::from_millis(1))
            .with_corrupt(0.4)
            .with_queue_limit_bytes(4096);
        assert_eq!(c.latency, Duration::from_millis(5));
        assert_eq!(c.bandwidth_bps, Some(10_000_000));
        assert_eq!(c.mtu, 9000);
        assert_eq!((c.loss, c.duplicate, c.reorder, c.corrupt), (0.1, 0.2, 0.3, 0.4));
        assert_eq!(c.reorder_delay, Duration::from_millis(1));
        assert_eq!(c.queue_limit_bytes, 4096);
        assert_eq!(c.with_unlimited_bandwidth().bandwidth_bps, None);
    }

    #[test]
    fn validate_rejects_nonsense() {
        let bad = LinkConfig::default().with_loss(1.5).validate();
        assert_eq!(bad, Err(InvalidLinkConfig::Probability { field: "loss", value: 1.5 }));
        assert!(LinkConfig::default().with_corrupt(f64::NAN).validate().is_err());
        assert!(LinkConfig::default().with_duplicate(-0.1).validate().is_err());
        assert_eq!(
            LinkConfig::default().with_bandwidth_bps(0).validate(),
            Err(InvalidLinkConfig::ZeroBandwidth)
        );
        assert_eq!(LinkConfig::default().with_mtu(67).validate(), Err(InvalidLinkConfig::MtuTooSmall(67)));
        assert_eq!(LinkConfig::default().with_mtu(68).with_loss(1.0).validate(), Ok(()));
    }

    use crate::sim::testkit::{mac, pump, seq_of, test_frame};
    use crate::sim::{CaptureBuffer, Network, SimEventKind};
    use crate::time::Instant;
    use crate::wire::EthernetAddress;
    use pcap_file::pcap::PcapReader;

    const FRAMES: u32 = 10_000;

    /// Whether `count` of `n` trials is within 5 standard deviations of `n * p`.
    fn plausible(count: u64, n: u32, p: f64) -> bool {
        let mean = f64::from(n) * p;
        let sigma = (mean * (1.0 - p)).sqrt();
        (count as f64 - mean).abs() <= 5.0 * sigma
    }

    /// Sends `FRAMES` frames one every `dt` from port 1 to port 2 over `config`.
    fn impaired(config: LinkConfig, dt: Duration) -> (LinkStats, Vec<(Instant, Vec<u8>)>, Network) {
        let mut net = Network::new(2024);
        let seg = net.add_segment(config);
        let a = net.add_port(seg, mac(1));
        let b = net.add_port(seg, mac(2));
        let received = pump(&mut net, a, b, FRAMES, 100, dt);
        (net.stats(seg), received, net)
    }

    fn seqs(received: &[(Instant, Vec<u8>)]) -> Vec<u32> {
        received.iter().map(|(_, f)| seq_of(f).expect("a test frame")).collect()
    }

    #[test]
    fn loss_rate_matches_probability() {
        for p in [0.01, 0.05, 0.2] {
            let (stats, received, net) =
                impaired(LinkConfig::default().with_loss(p), Duration::from_micros(1));
            assert!(plausible(stats.lost, FRAMES, p), "p = {p}: {stats}");
            assert_eq!(stats.frames_sent, u64::from(FRAMES));
            assert_eq!(stats.frames_delivered + stats.lost, u64::from(FRAMES));
            assert_eq!(received.len() as u64, stats.frames_delivered);
            let seqs = seqs(&received);
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "loss alone never reorders");
            let lost_events = net.events().iter().filter(|e| e.kind == SimEventKind::Lost).count();
            assert_eq!(lost_events as u64, stats.lost);
        }
    }

    #[test]
    fn duplicates_arrive_back_to_back() {
        let p = 0.1;
        let (stats, received, _) =
            impaired(LinkConfig::default().with_duplicate(p), Duration::from_micros(1));
        assert!(plausible(stats.duplicated, FRAMES, p), "{stats}");
        assert_eq!(received.len() as u64, u64::from(FRAMES) + stats.duplicated);
        let seqs = seqs(&received);
        let twice = seqs.windows(2).filter(|w| w[0] == w[1]).count();
        assert_eq!(twice as u64, stats.duplicated);
        assert!(seqs.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn held_back_frames_are_overtaken() {
        let p = 0.05;
        let config = LinkConfig::default().with_reorder(p, Duration::from_micros(50));
        let (stats, received, _) = impaired(config, Duration::from_micros(10));
        assert!(plausible(stats.reordered, FRAMES, p), "{stats}");
        let seqs = seqs(&received);
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..FRAMES).collect::<Vec<_>>(), "every frame arrives once");
        // A frame is late if a higher sequence number arrived before it.
        let mut highest = None;
        let mut late = 0u64;
        for &seq in &seqs {
            if highest.is_some_and(|h| h > seq) {
                late += 1;
            }
            highest = highest.max(Some(seq));
        }
        assert!(late > 0);
        // Held back by 50 µs, a frame is overtaken by the next four unless they are held too.
        assert!(late <= stats.reordered && late * 100 >= stats.reordered * 95, "late {late}: {stats}");
        // Sent at 10 µs × seq, a frame arrives after 0.8 µs serialisation and 10 µs latency,
        // rounded up: at 10 × seq + 11 µs, or 50 µs later if held back.
        let mut held = 0;
        for (t, frame) in &received {
            let on_time = u64::from(seq_of(frame).unwrap()) * 10 + 11;
            match t.total_micros() - on_time {
                0 => {}
                50 => held += 1,
                other => panic!("arrived {other} µs late"),
            }
        }
        assert_eq!(held, stats.reordered);
    }

    #[test]
    fn corruption_flips_one_bit_and_stays_out_of_the_capture() {
        let p = 0.05;
        let mut net = Network::new(99);
        let seg = net.add_segment(LinkConfig::default().with_corrupt(p));
        let a = net.add_port(seg, mac(1));
        let b = net.add_port(seg, mac(2));
        let capture = CaptureBuffer::new();
        net.capture(capture.clone()).unwrap();
        let received = pump(&mut net, a, b, FRAMES, 100, Duration::from_micros(1));
        net.finish_capture().unwrap();
        let stats = net.stats(seg);
        assert!(plausible(stats.corrupted, FRAMES, p), "{stats}");
        assert_eq!(received.len() as u32, FRAMES);

        let originals: Vec<Vec<u8>> = (0..FRAMES).map(|seq| test_frame(mac(2), mac(1), seq, 100)).collect();
        let mut flipped = Vec::new();
        for (seq, (_, frame)) in received.iter().enumerate() {
            let original = &originals[seq];
            let mut diff = Vec::new();
            for (i, (x, y)) in frame.iter().zip(original).enumerate() {
                diff.extend((0..8).filter(|b| (x ^ y) & (0x80 >> b) != 0).map(|b| i * 8 + b));
            }
            assert!(diff.len() <= 1);
            flipped.extend(diff);
        }
        let logged: Vec<usize> = net
            .events()
            .iter()
            .filter_map(|e| match e.kind {
                SimEventKind::Corrupted { bit } => Some(bit),
                _ => None,
            })
            .collect();
        assert_eq!(flipped, logged);
        assert_eq!(flipped.len() as u64, stats.corrupted);

        let bytes = capture.contents();
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        let mut captured = 0;
        while let Some(packet) = reader.next_packet() {
            assert_eq!(&packet.unwrap().data[..], &originals[captured][..]);
            captured += 1;
        }
        assert_eq!(captured as u32, FRAMES);
    }

    #[test]
    fn receivers_draw_independently() {
        let p = 0.3;
        let mut net = Network::new(5);
        let seg = net.add_segment(LinkConfig::default().with_loss(p));
        let ports: Vec<_> = (1..=3).map(|n| net.add_port(seg, mac(n))).collect();
        let mut got = [Vec::new(), Vec::new()];
        for seq in 0..FRAMES {
            net.device(ports[0]).send(&test_frame(EthernetAddress::BROADCAST, mac(1), seq, 60));
            net.advance(net.now() + Duration::from_micros(20));
            for (k, &port) in ports[1..].iter().enumerate() {
                while let Some(frame) = net.device(port).recv() {
                    got[k].push(seq_of(&frame).unwrap());
                }
            }
        }
        let stats = net.stats(seg);
        assert!(plausible(stats.lost, 2 * FRAMES, p), "{stats}");
        for seqs in &got {
            assert!(plausible(u64::from(FRAMES) - seqs.len() as u64, FRAMES, p));
        }
        let both = got[0].iter().filter(|s| got[1].binary_search(s).is_ok()).count();
        // Independent draws: both receive about (1 - p)² of the frames, not (1 - p).
        assert!(plausible(both as u64, FRAMES, (1.0 - p) * (1.0 - p)), "{both}");
    }
}
