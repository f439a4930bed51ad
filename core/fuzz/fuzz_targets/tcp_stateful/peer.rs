//! The remote host: the 4-tuples it knows (flows), what it has learnt of the stack's
//! sequence space from the segments it received, and the segments it sends. Its data is
//! always `stream_byte(PEER_STREAM, seq)` at sequence number `seq`, whatever the segment,
//! so retransmissions, overlaps and reordering all carry consistent bytes; every data
//! byte it receives is checked against `stream_byte(APP_STREAM, seq)` (the application
//! writes that stream into the stack).

use sluice_core::time::Instant;
use sluice_core::wire::{SackBlocks, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

use crate::ops::{AckAt, SackRange, SeqAt, SynOptions, Timestamp};
use crate::wire::{stream_byte, APP_STREAM, PEER_STREAM};

/// The port the stack listens on.
pub const LISTEN_PORT: u16 = 80;
/// The first port of flows the peer opens.
pub const PEER_PORT_BASE: u16 = 40_000;
/// The first of the four ports the stack connects to.
pub const SERVICE_PORT_BASE: u16 = 6000;
pub const SERVICE_PORTS: u16 = 4;
/// More than the largest window the stack can offer with the fuzzed buffer sizes, plus a
/// segment.
const WINDOW_BOUND: usize = 1 << 20;
/// SYNs per flow whose sequence space the peer remembers.
const SYNS_REMEMBERED: usize = 256;
/// Flows the peer opens; more SYNs reuse the last 4-tuple.
pub const MAX_PEER_FLOWS: usize = 12;
/// Flows the peer keeps track of, those the stack opened included (segments on others
/// are only validated).
pub const MAX_FLOWS: usize = 24;

/// One 4-tuple as the peer sees it.
#[derive(Debug)]
pub struct Flow {
    pub stack_port: u16,
    pub peer_port: u16,
    /// The stack opened it with `connect`: the peer answers with SYN-ACK.
    pub opened_by_stack: bool,
    /// The ISS of the stack's current incarnation, from its SYN or SYN-ACK.
    pub stack_iss: Option<SeqNumber>,
    /// That SYN's sequence and acknowledgment numbers (0 without ACK).
    pub stack_syn: Option<(SeqNumber, SeqNumber)>,
    /// The end of everything the stack sent (its SND.MAX as the wire shows it).
    pub stack_max: SeqNumber,
    /// The stack's last acknowledgment number (its RCV.NXT) and window field.
    pub stack_ack: Option<SeqNumber>,
    pub stack_window_field: u16,
    pub stack_tsval: u32,
    /// The stack's SYN or SYN-ACK carried timestamps.
    pub stack_syn_ts: bool,
    /// The right edge of the stack's receive window, furthest seen on the wire.
    pub edge: Option<SeqNumber>,
    pub peer_iss: SeqNumber,
    /// The peer's next new sequence number: data up to here has been sent.
    pub peer_nxt: SeqNumber,
    /// The last acknowledgment number the peer sent.
    pub peer_acked: SeqNumber,
    /// For each ISN the peer's SYNs used (the latest few), the end of the furthest
    /// segment sent since: a connection whose IRS is that ISN may acknowledge no further.
    pub sent_since_syn: Vec<(SeqNumber, SeqNumber)>,
    /// A SYN was forgotten to make room: a later SYN with its ISN would start the count
    /// afresh, so no bound is known any more.
    pub forgot_syns: bool,
    pub peer_window: u16,
    /// The peer's last SYN offered timestamps.
    pub peer_syn_ts: bool,
}

impl Flow {
    fn new(stack_port: u16, peer_port: u16, opened_by_stack: bool, isn: SeqNumber, window: u16) -> Flow {
        Flow {
            stack_port,
            peer_port,
            opened_by_stack,
            stack_iss: None,
            stack_syn: None,
            stack_max: SeqNumber(0),
            stack_ack: None,
            stack_window_field: 0,
            stack_tsval: 0,
            stack_syn_ts: false,
            edge: None,
            peer_iss: isn,
            peer_nxt: isn,
            peer_acked: SeqNumber(0),
            sent_since_syn: Vec::new(),
            forgot_syns: false,
            peer_window: window,
            peer_syn_ts: false,
        }
    }

    /// The end of everything the peer sent on the connection whose IRS is `irs`, if the
    /// peer remembers that SYN (and has forgotten none it might be confused with).
    pub fn sent_after(&self, irs: SeqNumber) -> Option<SeqNumber> {
        if self.forgot_syns {
            return None;
        }
        self.sent_since_syn.iter().find(|&&(isn, _)| isn == irs).map(|&(_, high)| high)
    }

    /// Both SYNs carried timestamps, so every segment does (RFC 7323 §3.2).
    pub fn timestamps(&self) -> bool {
        self.peer_syn_ts && self.stack_syn_ts
    }

    fn template(&self) -> TcpRepr<'static> {
        TcpRepr {
            src_port: self.peer_port,
            dst_port: self.stack_port,
            seq_number: self.peer_nxt,
            ack_number: SeqNumber(0),
            flags: TcpFlags::default(),
            window_len: self.peer_window,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[],
        }
    }

    /// The acknowledgment number that takes everything the stack sent.
    fn ack_all(&self) -> SeqNumber {
        if self.stack_iss.is_some() {
            self.stack_max
        } else {
            self.peer_acked
        }
    }
}

/// A segment the peer is about to send, with its payload.
pub struct Outgoing {
    pub repr: TcpRepr<'static>,
    pub payload: Vec<u8>,
    /// Raw option bytes instead of `repr.options`.
    pub raw_options: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct Peer {
    pub flows: Vec<Flow>,
    next_isn: u32,
}

/// The peer's timestamp clock: one tick per millisecond.
pub fn peer_clock(now: Instant) -> u32 {
    5_000_000u32.wrapping_add(now.total_millis() as u32)
}

/// The peer's data from `seq` on.
pub fn peer_data(seq: SeqNumber, len: usize) -> Vec<u8> {
    (0..len).map(|k| stream_byte(PEER_STREAM, (seq + k).0)).collect()
}

fn offset(seq: SeqNumber, delta: i16) -> SeqNumber {
    SeqNumber(seq.0.wrapping_add(delta as i32 as u32))
}

fn sack_blocks(ack: SeqNumber, ranges: &[Option<SackRange>]) -> SackBlocks {
    let mut blocks = SackBlocks::new();
    for range in ranges.iter().flatten() {
        let left = ack + usize::from(range.start);
        blocks.push((left, left + usize::from(range.len)));
    }
    blocks
}

fn syn_options(options: &SynOptions, tsval: u32, tsecr: u32) -> TcpOptions {
    TcpOptions {
        mss: options.mss,
        window_scale: options.window_scale,
        sack_permitted: options.sack_permitted,
        timestamps: options.timestamps.then_some((tsval, tsecr)),
        ..TcpOptions::default()
    }
}

impl Peer {
    pub fn new(first_isn: u32) -> Peer {
        Peer { flows: Vec::new(), next_isn: first_isn }
    }

    fn fresh_isn(&mut self) -> SeqNumber {
        let isn = SeqNumber(self.next_isn);
        self.next_isn = self.next_isn.wrapping_add(0x3B9A_CA07);
        isn
    }

    /// A new flow the peer opens to the listener (or the last one, when full).
    pub fn open_flow(&mut self, window: u16) -> usize {
        let opened = self.flows.iter().filter(|f| !f.opened_by_stack).count();
        if opened >= MAX_PEER_FLOWS || self.flows.len() >= MAX_FLOWS {
            return self.flows.iter().rposition(|f| !f.opened_by_stack).expect("the first flow");
        }
        let port = PEER_PORT_BASE + opened as u16;
        let isn = self.fresh_isn();
        self.flows.push(Flow::new(LISTEN_PORT, port, false, isn, window));
        self.flows.len() - 1
    }

    pub fn pick(&self, flow: u8) -> usize {
        usize::from(flow) % self.flows.len()
    }

    pub fn find(&self, stack_port: u16, peer_port: u16) -> Option<usize> {
        self.flows.iter().position(|f| f.stack_port == stack_port && f.peer_port == peer_port)
    }

    fn timestamps(&self, i: usize, choice: Timestamp, now: Instant) -> Option<(u32, u32)> {
        let flow = &self.flows[i];
        let clock = peer_clock(now);
        match choice {
            Timestamp::Auto => flow.timestamps().then_some((clock, flow.stack_tsval)),
            Timestamp::Omit => None,
            Timestamp::Old(back) => Some((clock.wrapping_sub(u32::from(back) + 1), flow.stack_tsval)),
            Timestamp::Future(ahead) => Some((clock.wrapping_add(ahead), flow.stack_tsval)),
            Timestamp::Raw(val, ecr) => Some((val, ecr)),
        }
    }

    /// `SeqAt` on flow `i`; `window_bytes` is the stack's last window, scaled.
    pub fn seq(&self, i: usize, at: SeqAt, window_bytes: usize) -> SeqNumber {
        let flow = &self.flows[i];
        let acked = flow.stack_ack.unwrap_or(flow.peer_nxt);
        match at {
            SeqAt::Next(d) => offset(flow.peer_nxt, d),
            SeqAt::Acked(d) => offset(acked, d),
            SeqAt::WindowEdge(d) => offset(acked + window_bytes, d),
            SeqAt::Raw(v) => SeqNumber(v),
        }
    }

    pub fn ack(&self, i: usize, at: AckAt) -> SeqNumber {
        let flow = &self.flows[i];
        match at {
            AckAt::Max(d) => offset(flow.ack_all(), d),
            AckAt::Acked(d) => offset(flow.peer_acked, d),
            AckAt::Raw(v) => SeqNumber(v),
        }
    }

    /// Data (and maybe FIN) at `seq`, acknowledging everything.
    pub fn data(&mut self, i: usize, seq: SeqNumber, len: usize, fin: bool, now: Instant) -> Outgoing {
        let flow = &self.flows[i];
        let mut flags = TcpFlags::ACK;
        if len > 0 {
            flags.insert(TcpFlags::PSH);
        }
        if fin {
            flags.insert(TcpFlags::FIN);
        }
        let repr = TcpRepr {
            seq_number: seq,
            ack_number: flow.ack_all(),
            flags,
            options: TcpOptions {
                timestamps: self.timestamps(i, Timestamp::Auto, now),
                ..TcpOptions::default()
            },
            ..flow.template()
        };
        Outgoing { repr, payload: peer_data(seq, len), raw_options: None }
    }

    /// A pure ACK `behind` bytes short of everything, with SACK blocks above it.
    pub fn pure_ack(
        &mut self,
        i: usize,
        behind: u16,
        window: u16,
        sack: &[Option<SackRange>],
        now: Instant,
    ) -> Outgoing {
        self.flows[i].peer_window = window;
        let flow = &self.flows[i];
        let ack = flow.ack_all() - usize::from(behind);
        let options = TcpOptions {
            timestamps: self.timestamps(i, Timestamp::Auto, now),
            sack_blocks: sack_blocks(ack, sack),
            ..TcpOptions::default()
        };
        let repr = TcpRepr { ack_number: ack, flags: TcpFlags::ACK, options, ..flow.template() };
        Outgoing { repr, payload: Vec::new(), raw_options: None }
    }

    /// A SYN with ISN `isn` (`None`: a fresh one), or the SYN-ACK answering the stack's SYN
    /// on a flow it opened. The flow starts a new incarnation on the peer's side.
    pub fn syn(
        &mut self,
        i: usize,
        isn: Option<SeqNumber>,
        options: &SynOptions,
        window: u16,
        now: Instant,
    ) -> Outgoing {
        let isn = isn.unwrap_or_else(|| self.fresh_isn());
        let flow = &mut self.flows[i];
        flow.peer_iss = isn;
        flow.peer_nxt = isn + 1;
        flow.peer_window = window;
        flow.peer_syn_ts = options.timestamps;
        let answer = flow.opened_by_stack && flow.stack_iss.is_some();
        let (flags, ack, tsecr) = if answer {
            (TcpFlags::SYN | TcpFlags::ACK, flow.stack_max, flow.stack_tsval)
        } else {
            (TcpFlags::SYN, SeqNumber(0), 0)
        };
        let repr = TcpRepr {
            seq_number: isn,
            ack_number: ack,
            flags,
            window_len: window,
            options: syn_options(options, peer_clock(now), tsecr),
            ..flow.template()
        };
        Outgoing { repr, payload: Vec::new(), raw_options: None }
    }

    pub fn rst(&mut self, i: usize, seq: SeqNumber, with_ack: bool) -> Outgoing {
        let flow = &self.flows[i];
        let (flags, ack) = if with_ack {
            (TcpFlags::RST | TcpFlags::ACK, flow.ack_all())
        } else {
            (TcpFlags::RST, SeqNumber(0))
        };
        let repr = TcpRepr { seq_number: seq, ack_number: ack, flags, window_len: 0, ..flow.template() };
        Outgoing { repr, payload: Vec::new(), raw_options: None }
    }

    /// A segment with the fields chosen; data follows the stream at its sequence number.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        i: usize,
        flags: TcpFlags,
        seq: SeqNumber,
        ack: SeqNumber,
        window: u16,
        len: usize,
        urgent: u16,
        timestamp: Timestamp,
        sack: &[Option<SackRange>],
        syn: &SynOptions,
        now: Instant,
    ) -> Outgoing {
        let options = if flags.contains(TcpFlags::SYN) {
            self.flows[i].peer_syn_ts = syn.timestamps;
            syn_options(syn, peer_clock(now), self.flows[i].stack_tsval)
        } else {
            TcpOptions {
                timestamps: self.timestamps(i, timestamp, now),
                sack_blocks: sack_blocks(ack, sack),
                ..TcpOptions::default()
            }
        };
        let flow = &self.flows[i];
        let first = seq + usize::from(flags.contains(TcpFlags::SYN));
        let repr = TcpRepr {
            seq_number: seq,
            ack_number: ack,
            flags,
            window_len: window,
            urgent_pointer: urgent,
            options,
            ..flow.template()
        };
        Outgoing { repr, payload: peer_data(first, len), raw_options: None }
    }

    /// Bookkeeping once `out` is on the wire: the peer's next sequence number moves when
    /// the segment extends its data without a gap, and its last ACK is remembered.
    pub fn sent(&mut self, i: usize, out: &Outgoing) {
        let flow = &mut self.flows[i];
        let repr = &out.repr;
        if repr.flags.contains(TcpFlags::RST) {
            return;
        }
        if repr.flags.contains(TcpFlags::ACK) {
            flow.peer_acked = repr.ack_number;
        }
        let end = repr.seq_number + (out.payload.len() + usize::from(repr.flags.contains(TcpFlags::FIN)));
        let end = end + usize::from(repr.flags.contains(TcpFlags::SYN));
        if repr.flags.contains(TcpFlags::SYN)
            && !flow.sent_since_syn.iter().any(|&(isn, _)| isn == repr.seq_number)
        {
            if flow.sent_since_syn.len() >= SYNS_REMEMBERED {
                flow.sent_since_syn.remove(0);
                flow.forgot_syns = true;
            }
            flow.sent_since_syn.push((repr.seq_number, end));
        }
        // A segment ending further past the bound than any window the stack offers (its
        // buffers are at most 100 000 bytes) cannot be taken, so it does not move the bound:
        // otherwise segments of unrelated SYNs would ratchet it around the sequence space.
        for (_, high) in &mut flow.sent_since_syn {
            if end.gt(*high) && end - *high <= WINDOW_BOUND {
                *high = end;
            }
        }
        if repr.seq_number.le(flow.peer_nxt) && end.gt(flow.peer_nxt) {
            flow.peer_nxt = end;
        }
    }

    /// Learns from a segment the stack sent, checking its data bytes. Returns the flow it
    /// belongs to, creating one for a SYN the stack sends to a service port.
    pub fn received(&mut self, seg: &TcpRepr<'_>) -> Option<usize> {
        let flags = seg.flags;
        let i = match self.find(seg.src_port, seg.dst_port) {
            Some(i) => i,
            None => {
                let service = (SERVICE_PORT_BASE..SERVICE_PORT_BASE + SERVICE_PORTS).contains(&seg.dst_port);
                if !(service && flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK))
                    || self.flows.len() >= MAX_FLOWS
                {
                    return None;
                }
                let isn = self.fresh_isn();
                self.flows.push(Flow::new(seg.src_port, seg.dst_port, true, isn, u16::MAX));
                self.flows.len() - 1
            }
        };
        let first_data = seg.seq_number + usize::from(flags.contains(TcpFlags::SYN));
        for (k, &byte) in seg.payload.iter().enumerate() {
            let seq = first_data + k;
            assert_eq!(
                byte,
                stream_byte(APP_STREAM, seq.0),
                "the stack sent a wrong byte at sequence number {} (byte {k} of a {}-byte segment at {})",
                seq.0,
                seg.payload.len(),
                seg.seq_number.0
            );
        }
        if flags.contains(TcpFlags::RST) {
            return Some(i);
        }
        let flow = &mut self.flows[i];
        if flags.contains(TcpFlags::SYN) {
            // A new incarnation may reuse the ISS (the same instant gives the same RFC 6528
            // ISN), but then it answers another SYN of the peer.
            let ack = if flags.contains(TcpFlags::ACK) { seg.ack_number } else { SeqNumber(0) };
            if flow.stack_syn != Some((seg.seq_number, ack)) {
                flow.stack_syn = Some((seg.seq_number, ack));
                flow.stack_iss = Some(seg.seq_number);
                flow.stack_max = seg.seq_number + 1;
                flow.stack_ack = None;
                flow.edge = None;
            }
            flow.stack_syn_ts = seg.options.timestamps.is_some();
        }
        if flow.stack_iss.is_some() {
            let end = seg.seq_number + seg.segment_len();
            if end.gt(flow.stack_max) {
                flow.stack_max = end;
            }
        }
        if flags.contains(TcpFlags::ACK) {
            flow.stack_ack = Some(seg.ack_number);
            flow.stack_window_field = seg.window_len;
        }
        if let Some((tsval, _)) = seg.options.timestamps {
            flow.stack_tsval = tsval;
        }
        Some(i)
    }
}
