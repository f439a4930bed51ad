//! What two simulated hosts sent each other, segment by segment, as the senders saw it:
//! the header fields of every frame, which segments covered sequence space already sent
//! (retransmissions), and what the simulator did to each frame (from its event log).
//!
//! Frames are numbered per sender from 0 in the order the host queued them, the numbering
//! [`SimEvent::frame`] uses, so an event names its frame exactly even among many frames of
//! the same length sent at the same instant.
//!
//! [`SegmentLog::describe`] turns a record into one line of a readable trace: flags as
//! words, sequence and acknowledgment numbers relative to each side's initial sequence
//! number (as Wireshark shows them), the window with its scale applied, the options, and
//! notes on what happened.

use core::fmt::{self, Write as _};

use super::event::{SimEvent, SimEventKind};
use crate::time::Instant;
use crate::wire::{
    ChecksumMode, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv4Repr, SeqNumber, TcpFlags,
    TcpOptions, TcpPacket, TcpRepr,
};

/// One of the two hosts of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The host that connects.
    Client,
    /// The host that listens and accepts.
    Server,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Client, Side::Server];

    pub const fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }

    pub const fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The header fields of a TCP segment worth showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    /// The window field as sent, before scaling.
    pub window: u16,
    pub options: TcpOptions,
    pub payload_len: usize,
}

impl SegmentHeader {
    /// RFC 9293 §3.4: the sequence space the segment occupies (SYN and FIN count one each).
    pub fn seq_len(&self) -> usize {
        self.payload_len
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }
}

/// What a frame carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Tcp(SegmentHeader),
    /// Anything else (ARP, ICMP...), described by [`crate::trace::describe`].
    Other(String),
}

impl Content {
    /// Decodes a frame as sent. Checksums are not verified: the frame is what the sender
    /// built, and an independent decoder (tshark) checks them on the capture.
    pub fn parse(frame: &[u8]) -> Content {
        match parse_tcp(frame) {
            Some(header) => Content::Tcp(header),
            None => Content::Other(crate::trace::describe(frame)),
        }
    }
}

fn parse_tcp(frame: &[u8]) -> Option<SegmentHeader> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::Ipv4 {
        return None;
    }
    let packet = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let ip = Ipv4Repr::parse(&packet, ChecksumMode::Trust).ok()?;
    if ip.next_header != IpProtocol::Tcp || ip.more_frags || ip.frag_offset != 0 {
        return None;
    }
    let tcp = TcpPacket::new_checked(packet.payload()).ok()?;
    let repr = TcpRepr::parse(&tcp, ip.src_addr, ip.dst_addr, ChecksumMode::Trust).ok()?;
    Some(SegmentHeader {
        src_port: repr.src_port,
        dst_port: repr.dst_port,
        seq: repr.seq_number,
        ack: repr.ack_number,
        flags: repr.flags,
        window: repr.window_len,
        options: repr.options,
        payload_len: repr.payload.len(),
    })
}

/// What the simulator did to a frame, from its event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fate {
    /// Why the frame never arrived: [`SimEventKind::Lost`] or one of the drops.
    pub dropped: Option<SimEventKind>,
    pub duplicated: bool,
    pub reordered: bool,
    pub corrupted: bool,
}

impl Fate {
    pub fn delivered(&self) -> bool {
        self.dropped.is_none()
    }
}

/// One frame a host sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecord {
    /// When the host queued it (its departure can be later if the link is busy).
    pub time: Instant,
    pub from: Side,
    /// The frame's number on its sender (see [`SimEvent::frame`]).
    pub frame: u64,
    /// The frame's length in bytes.
    pub len: usize,
    pub content: Content,
    /// A TCP segment covering sequence space this side had sent before.
    pub retransmission: bool,
    pub fate: Fate,
}

/// Totals for the frames one side sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideCounts {
    pub frames: u64,
    pub tcp_segments: u64,
    /// Segments with a payload.
    pub data_segments: u64,
    pub payload_bytes: u64,
    /// Segments (with or without payload) repeating sequence space sent before: data,
    /// SYN or FIN sent again.
    pub retransmissions: u64,
    pub retransmitted_bytes: u64,
    /// Frames the simulator lost or dropped.
    pub dropped: u64,
    /// Of those, segments with a payload.
    pub dropped_data: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub corrupted: u64,
}

/// How the trace shows sequence and acknowledgment numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbering {
    /// Relative to each side's initial sequence number: the SYN is 0, the first data byte 1.
    #[default]
    Relative,
    /// As on the wire.
    Absolute,
}

const DATA: u8 = 1;

#[derive(Debug, Default, Clone)]
struct SideState {
    counts: SideCounts,
    /// Bit flags per frame number ([`DATA`]).
    frames: Vec<u8>,
    /// Index into `records` per frame number, when records are kept.
    index: Vec<usize>,
    isn: Option<SeqNumber>,
    /// The window scale this side announced in its SYN.
    window_scale: Option<u8>,
    /// The end of the highest sequence space sent so far (SND.MAX).
    snd_max: Option<SeqNumber>,
    /// The first segment this side sent with ACK and without SYN.
    first_ack: Option<u64>,
}

/// The frames both sides of a scenario sent, and what became of them.
#[derive(Debug, Clone, Default)]
pub struct SegmentLog {
    keep_records: bool,
    records: Vec<SegmentRecord>,
    sides: [SideState; 2],
    /// Events that named a frame never recorded (should stay 0).
    unmatched_events: u64,
}

impl SegmentLog {
    /// With `keep_records`, every frame is kept for [`SegmentLog::records`]; without, only
    /// totals and one byte per frame.
    pub fn new(keep_records: bool) -> SegmentLog {
        SegmentLog { keep_records, ..SegmentLog::default() }
    }

    /// Notes the next frame `from` sent, queued at `time`.
    pub fn push(&mut self, from: Side, time: Instant, len: usize, content: Content) {
        let side = &mut self.sides[from.index()];
        let frame = side.counts.frames;
        side.counts.frames += 1;
        let mut flags = 0;
        let mut retransmission = false;
        if let Content::Tcp(header) = &content {
            side.counts.tcp_segments += 1;
            if header.payload_len > 0 {
                side.counts.data_segments += 1;
                side.counts.payload_bytes += header.payload_len as u64;
                flags |= DATA;
            }
            if header.flags.contains(TcpFlags::ACK)
                && !header.flags.contains(TcpFlags::SYN)
                && side.first_ack.is_none()
            {
                side.first_ack = Some(frame);
            }
            if header.flags.contains(TcpFlags::SYN) && side.isn.is_none() {
                side.isn = Some(header.seq);
                side.window_scale = header.options.window_scale;
            }
            let seq_len = header.seq_len();
            if seq_len > 0 && !header.flags.contains(TcpFlags::RST) {
                let end = header.seq + seq_len;
                if side.snd_max.is_some_and(|max| header.seq.lt(max)) {
                    retransmission = true;
                    side.counts.retransmissions += 1;
                    side.counts.retransmitted_bytes += header.payload_len as u64;
                }
                side.snd_max = Some(match side.snd_max {
                    Some(max) if max.ge(end) => max,
                    _ => end,
                });
            }
        }
        side.frames.push(flags);
        if self.keep_records {
            side.index.push(self.records.len());
            self.records.push(SegmentRecord {
                time,
                from,
                frame,
                len,
                content,
                retransmission,
                fate: Fate::default(),
            });
        }
    }

    /// Applies one event of the simulator's log to the frame it names; `from` is the side
    /// whose port is the event's sender.
    pub fn apply_event(&mut self, from: Side, event: &SimEvent) {
        let side = &mut self.sides[from.index()];
        let Some(&flags) = usize::try_from(event.frame).ok().and_then(|i| side.frames.get(i)) else {
            self.unmatched_events += 1;
            return;
        };
        let counts = &mut side.counts;
        match event.kind {
            SimEventKind::Duplicated => counts.duplicated += 1,
            SimEventKind::Reordered => counts.reordered += 1,
            SimEventKind::Corrupted { .. } => counts.corrupted += 1,
            SimEventKind::Lost
            | SimEventKind::DroppedMtu
            | SimEventKind::DroppedQueue
            | SimEventKind::DroppedRunt
            | SimEventKind::DroppedRx => {
                counts.dropped += 1;
                if flags & DATA != 0 {
                    counts.dropped_data += 1;
                }
            }
        }
        if !self.keep_records {
            return;
        }
        let Some(record) = side.index.get(event.frame as usize).and_then(|&i| self.records.get_mut(i)) else {
            return;
        };
        let fate = &mut record.fate;
        match event.kind {
            SimEventKind::Duplicated => fate.duplicated = true,
            SimEventKind::Reordered => fate.reordered = true,
            SimEventKind::Corrupted { .. } => fate.corrupted = true,
            kind => fate.dropped = Some(kind),
        }
    }

    /// Every frame, in the order sent, if records are kept.
    pub fn records(&self) -> &[SegmentRecord] {
        &self.records
    }

    pub fn counts(&self, side: Side) -> &SideCounts {
        &self.sides[side.index()].counts
    }

    /// The initial sequence number `side` chose, once its SYN was seen.
    pub fn isn(&self, side: Side) -> Option<SeqNumber> {
        self.sides[side.index()].isn
    }

    /// Events naming a frame that was never recorded; 0 unless something bypassed the log.
    pub fn unmatched_events(&self) -> u64 {
        self.unmatched_events
    }

    /// The column headings matching [`SegmentLog::describe`].
    pub fn heading() -> String {
        format!(
            "{:>10}  {:<15}  {:<11} {:<21} {:<12} {:<12} {:<9} {}",
            "time (s)", "", "flags", "seq", "ack", "window", "length", "options and notes"
        )
    }

    /// One line of the trace for `record`. Numbers are relative to the ISNs learnt from the
    /// SYNs pushed so far (absolute until then).
    pub fn describe(&self, record: &SegmentRecord, numbering: Numbering) -> String {
        let mut line = String::with_capacity(160);
        let direction = format!("{} → {}", record.from, record.from.peer());
        let _ = write!(line, "{:>10}  {direction:<15}  ", record.time.to_string());
        let mut notes: Vec<String> = Vec::new();
        match &record.content {
            Content::Tcp(h) => {
                self.describe_tcp(&mut line, &mut notes, record, h, numbering);
            }
            Content::Other(text) => line.push_str(text),
        }
        if record.retransmission {
            notes.push("RETRANSMISSION".into());
        }
        let fate = &record.fate;
        match fate.dropped {
            Some(SimEventKind::Lost) => notes.push("LOST on the link".into()),
            Some(SimEventKind::DroppedQueue) => notes.push("DROPPED: sender's link queue full".into()),
            Some(SimEventKind::DroppedMtu) => notes.push("DROPPED: longer than the link MTU".into()),
            Some(SimEventKind::DroppedRx) => notes.push("DROPPED: receiver's queue full".into()),
            Some(SimEventKind::DroppedRunt) => notes.push("DROPPED: runt frame".into()),
            _ => {}
        }
        if fate.duplicated {
            notes.push("DUPLICATED by the link".into());
        }
        if fate.reordered {
            notes.push("held back by the link (arrives out of order)".into());
        }
        if fate.corrupted {
            notes.push("CORRUPTED on the link".into());
        }
        if !notes.is_empty() {
            line.push_str("  ");
            line.push_str(&notes.join("; "));
        }
        line.trim_end().to_string()
    }

    fn describe_tcp(
        &self,
        line: &mut String,
        notes: &mut Vec<String>,
        record: &SegmentRecord,
        h: &SegmentHeader,
        numbering: Numbering,
    ) {
        let own = &self.sides[record.from.index()];
        let peer = &self.sides[record.from.peer().index()];
        let relative = |n: SeqNumber, isn: Option<SeqNumber>| match (numbering, isn) {
            (Numbering::Relative, Some(isn)) => n.0.wrapping_sub(isn.0),
            _ => n.0,
        };
        let seq = relative(h.seq, own.isn);
        let seq = if h.payload_len > 0 {
            format!("seq {seq}:{}", seq.wrapping_add(h.payload_len as u32))
        } else {
            format!("seq {seq}")
        };
        let ack = if h.flags.contains(TcpFlags::ACK) {
            format!("ack {}", relative(h.ack, peer.isn))
        } else {
            String::new()
        };
        // RFC 7323 §2.2: SYN windows are never scaled; later ones are if both sides
        // announced a scale.
        let shift = match (own.window_scale, peer.window_scale) {
            (Some(shift), Some(_)) if !h.flags.contains(TcpFlags::SYN) => shift,
            _ => 0,
        };
        let window = format!("win {}", u64::from(h.window) << shift);
        let length = if h.payload_len > 0 { format!("len {}", h.payload_len) } else { String::new() };
        let _ = write!(line, "{:<11} {seq:<21} {ack:<12} {window:<12} {length:<9}", flag_words(h.flags));
        let options = describe_options(&h.options, peer.isn, numbering);
        if !options.is_empty() {
            let _ = write!(line, " {options}");
        }

        let from = record.from;
        if h.flags.contains(TcpFlags::SYN) && !record.retransmission {
            let verb = if h.flags.contains(TcpFlags::ACK) { "accepts" } else { "opens the connection" };
            notes.push(format!("{from} {verb}: initial sequence number {}", h.seq.0));
        }
        if from == Side::Client && own.first_ack == Some(record.frame) {
            notes.push("handshake complete".into());
        }
        if h.flags.contains(TcpFlags::FIN) && !record.retransmission {
            notes.push(format!("{from} has no more data to send"));
        }
        if h.flags.contains(TcpFlags::RST) {
            notes.push(format!("{from} resets the connection"));
        }
        if h.window == 0 && !h.flags.contains(TcpFlags::RST) {
            notes.push(format!("{from}'s receive buffer is full (zero window)"));
        }
    }
}

/// RFC 9293 §3.1 control bits as words: `SYN`, `SYN-ACK`, `ACK`, `PSH-ACK`, `FIN-ACK`...
pub fn flag_words(flags: TcpFlags) -> String {
    if flags.contains(TcpFlags::SYN | TcpFlags::ACK) && !flags.intersects(TcpFlags::FIN | TcpFlags::RST) {
        return "SYN-ACK".into();
    }
    let names = [
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
        (TcpFlags::ACK, "ACK"),
    ];
    let words: Vec<&str> = names.iter().filter(|(f, _)| flags.contains(*f)).map(|&(_, n)| n).collect();
    if words.is_empty() {
        "none".into()
    } else {
        words.join("-")
    }
}

/// The options in angle brackets; SACK blocks numbered like acknowledgments (relative to
/// the data sender's ISN, `peer_isn`).
fn describe_options(options: &TcpOptions, peer_isn: Option<SeqNumber>, numbering: Numbering) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(mss) = options.mss {
        parts.push(format!("mss {mss}"));
    }
    if let Some(shift) = options.window_scale {
        parts.push(format!("wscale {shift}"));
    }
    if options.sack_permitted {
        parts.push("sack-ok".into());
    }
    if let Some((val, ecr)) = options.timestamps {
        parts.push(format!("TS {val}/{ecr}"));
    }
    if !options.sack_blocks.as_slice().is_empty() {
        let base = match (numbering, peer_isn) {
            (Numbering::Relative, Some(isn)) => isn.0,
            _ => 0,
        };
        let blocks: Vec<String> = options
            .sack_blocks
            .iter()
            .map(|(l, r)| format!("{}:{}", l.0.wrapping_sub(base), r.0.wrapping_sub(base)))
            .collect();
        parts.push(format!("sack {}", blocks.join(" ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("<{}>", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::network::{PortId, SegmentId};
    use crate::wire::{
        EthernetAddress, EthernetRepr, IpProtocol, Ipv4Addr, Ipv4Repr, SackBlocks, TcpPacket, TcpRepr,
    };
    use proptest::prelude::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// An Ethernet/IPv4/TCP frame from `src` to `dst` built by our own emitters.
    fn frame(src: Ipv4Addr, dst: Ipv4Addr, tcp: &TcpRepr<'_>) -> Vec<u8> {
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
            ident: 1,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            dscp_ecn: 0,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EtherType::Ipv4,
            vlan_id: None,
        };
        let mut buf = vec![0u8; 14 + 20 + tcp.buffer_len()];
        eth.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[14..34]));
        tcp.emit(&mut TcpPacket::new_unchecked(&mut buf[34..]), src, dst);
        buf
    }

    fn segment(seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> TcpRepr<'_> {
        TcpRepr {
            src_port: 49152,
            dst_port: 5001,
            seq_number: SeqNumber(seq),
            ack_number: SeqNumber(ack),
            flags,
            window_len: 1000,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload,
        }
    }

    fn push(log: &mut SegmentLog, from: Side, ms: u64, repr: &TcpRepr<'_>) {
        let (src, dst) = if from == Side::Client { (A, B) } else { (B, A) };
        let bytes = frame(src, dst, repr);
        log.push(from, Instant::from_millis(ms), bytes.len(), Content::parse(&bytes));
    }

    fn event(sender: usize, frame: u64, kind: SimEventKind) -> SimEvent {
        SimEvent {
            time: Instant::ZERO,
            segment: SegmentId(0),
            port: PortId(1 - sender),
            sender: PortId(sender),
            frame,
            len: 60,
            kind,
        }
    }

    #[test]
    fn flags_read_as_words() {
        assert_eq!(flag_words(TcpFlags::SYN), "SYN");
        assert_eq!(flag_words(TcpFlags::SYN | TcpFlags::ACK), "SYN-ACK");
        assert_eq!(flag_words(TcpFlags::ACK), "ACK");
        assert_eq!(flag_words(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK), "FIN-PSH-ACK");
        assert_eq!(flag_words(TcpFlags::RST | TcpFlags::ACK), "RST-ACK");
        assert_eq!(flag_words(TcpFlags::SYN | TcpFlags::RST | TcpFlags::ACK), "SYN-RST-ACK");
        assert_eq!(flag_words(TcpFlags::EMPTY), "none");
    }

    /// A handshake, three data segments (the second lost, then retransmitted), a SACK.
    fn conversation() -> SegmentLog {
        let mut log = SegmentLog::new(true);
        let mut syn = segment(1000, 0, TcpFlags::SYN, &[]);
        syn.options =
            TcpOptions { mss: Some(1460), window_scale: Some(2), sack_permitted: true, ..syn.options };
        push(&mut log, Side::Client, 0, &syn);
        let mut syn_ack = segment(5000, 1001, TcpFlags::SYN | TcpFlags::ACK, &[]);
        syn_ack.options = TcpOptions { window_scale: Some(3), ..syn_ack.options };
        push(&mut log, Side::Server, 10, &syn_ack);
        push(&mut log, Side::Client, 20, &segment(1001, 5001, TcpFlags::ACK, &[]));
        for (i, seq) in [1001, 1101, 1201].into_iter().enumerate() {
            push(&mut log, Side::Client, 20, &segment(seq, 5001, TcpFlags::ACK, &[i as u8; 100]));
        }
        let mut sack = segment(5001, 1101, TcpFlags::ACK, &[]);
        sack.options.sack_blocks = SackBlocks::from_slice(&[(SeqNumber(1201), SeqNumber(1301))]);
        push(&mut log, Side::Server, 30, &sack);
        push(&mut log, Side::Client, 40, &segment(1101, 5001, TcpFlags::ACK | TcpFlags::PSH, &[1; 100]));
        push(&mut log, Side::Client, 50, &segment(1301, 5001, TcpFlags::FIN | TcpFlags::ACK, &[]));
        log
    }

    #[test]
    fn notes_retransmissions_from_the_senders_side() {
        let log = conversation();
        let flagged: Vec<u64> = log.records().iter().filter(|r| r.retransmission).map(|r| r.frame).collect();
        assert_eq!(flagged, [5], "the client's sixth frame repeats 1101:1201");
        let client = log.counts(Side::Client);
        assert_eq!(
            (client.frames, client.tcp_segments, client.data_segments, client.payload_bytes),
            (7, 7, 4, 400)
        );
        assert_eq!((client.retransmissions, client.retransmitted_bytes), (1, 100));
        assert_eq!(log.isn(Side::Client), Some(SeqNumber(1000)));
        assert_eq!(log.isn(Side::Server), Some(SeqNumber(5000)));
    }

    #[test]
    fn events_mark_the_frame_they_name() {
        let mut log = conversation();
        log.apply_event(Side::Client, &event(0, 3, SimEventKind::Lost));
        log.apply_event(Side::Server, &event(1, 1, SimEventKind::Duplicated));
        log.apply_event(Side::Client, &event(0, 6, SimEventKind::Reordered));
        log.apply_event(Side::Client, &event(0, 99, SimEventKind::Lost));
        assert_eq!(log.unmatched_events(), 1);
        let client = log.counts(Side::Client);
        assert_eq!((client.dropped, client.dropped_data, client.reordered), (1, 1, 1));
        assert_eq!(log.counts(Side::Server).duplicated, 1);
        let lost: Vec<_> = log.records().iter().filter(|r| !r.fate.delivered()).collect();
        assert_eq!(lost.len(), 1);
        assert_eq!((lost[0].from, lost[0].frame), (Side::Client, 3));
        assert!(log.records().iter().any(|r| r.from == Side::Server && r.fate.duplicated));
    }

    #[test]
    fn describes_segments_relative_to_the_isns() {
        let mut log = conversation();
        log.apply_event(Side::Client, &event(0, 3, SimEventKind::Lost));
        let lines: Vec<String> = log.records().iter().map(|r| log.describe(r, Numbering::Relative)).collect();
        assert!(lines[0].starts_with("  0.000000  client → server  SYN         seq 0 "), "{}", lines[0]);
        assert!(lines[0].contains("win 1000 "), "SYN windows are not scaled: {}", lines[0]);
        assert!(lines[0].contains("<mss 1460, wscale 2, sack-ok>"), "{}", lines[0]);
        assert!(
            lines[0].ends_with("client opens the connection: initial sequence number 1000"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("SYN-ACK     seq 0                 ack 1 "), "{}", lines[1]);
        assert!(lines[1].ends_with("server accepts: initial sequence number 5000"), "{}", lines[1]);
        assert!(lines[2].ends_with("handshake complete"), "{}", lines[2]);
        // Window 1000 scaled by the client's shift of 2.
        assert!(lines[2].contains("win 4000 "), "{}", lines[2]);
        assert!(lines[4].contains("seq 101:201 ") && lines[4].contains("len 100"), "{}", lines[4]);
        assert!(lines[4].ends_with("LOST on the link"), "{}", lines[4]);
        assert!(lines[6].contains("<sack 201:301>") && lines[6].contains("win 8000 "), "{}", lines[6]);
        assert!(lines[7].contains("PSH-ACK") && lines[7].ends_with("RETRANSMISSION"), "{}", lines[7]);
        assert!(lines[8].contains("FIN-ACK     seq 301 "), "{}", lines[8]);
        assert!(lines[8].ends_with("client has no more data to send"), "{}", lines[8]);
        let absolute = log.describe(&log.records()[4], Numbering::Absolute);
        assert!(absolute.contains("seq 1101:1201 ") && absolute.contains("ack 5001 "), "{absolute}");
        assert!(SegmentLog::heading().contains("options and notes"));
    }

    #[test]
    fn other_frames_are_described_and_counted() {
        let mut log = SegmentLog::new(false);
        log.push(Side::Client, Instant::ZERO, 3, Content::parse(&[1, 2, 3]));
        let counts = log.counts(Side::Client);
        assert_eq!((counts.frames, counts.tcp_segments), (1, 0));
        assert!(log.records().is_empty(), "records are kept only on request");
        log.apply_event(Side::Client, &event(0, 0, SimEventKind::DroppedQueue));
        assert_eq!((log.counts(Side::Client).dropped, log.counts(Side::Client).dropped_data), (1, 0));
    }

    proptest! {
        /// Any bytes at all parse, log and describe without panicking.
        #[test]
        fn never_panics(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..6), tcp_tail in proptest::collection::vec(any::<u8>(), 0..60)) {
            let mut log = SegmentLog::new(true);
            for (i, bytes) in frames.iter().enumerate() {
                let side = if i % 2 == 0 { Side::Client } else { Side::Server };
                log.push(side, Instant::from_micros(i as u64), bytes.len(), Content::parse(bytes));
            }
            // A valid Ethernet/IPv4 header over junk TCP bytes reaches the TCP describer.
            let mut bytes = frame(A, B, &segment(1, 2, TcpFlags::SYN, &[]))[..34].to_vec();
            bytes.extend_from_slice(&tcp_tail);
            let total = (20 + tcp_tail.len()) as u16;
            bytes[16..18].copy_from_slice(&total.to_be_bytes());
            log.push(Side::Client, Instant::ZERO, bytes.len(), Content::parse(&bytes));
            for frame in 0..4 {
                log.apply_event(Side::Client, &event(0, frame, SimEventKind::Lost));
            }
            for record in log.records() {
                let _ = log.describe(record, Numbering::Relative);
                let _ = log.describe(record, Numbering::Absolute);
            }
        }
    }
}
