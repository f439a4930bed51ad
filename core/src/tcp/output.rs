//! Segment departure: what a connection sends next, and when it holds back.
//!
//! Priority, highest first: a pending RST; the SYN or SYN-ACK; a SACK-recovery
//! retransmission (RFC 6675 §5); a tail loss probe (RFC 8985 §7.3); new data and FIN within the send window, subject to
//! Nagle and sender silly-window avoidance (RFC 9293 §3.7.4, §3.8.6.2.1); a window probe
//! (§3.8.6.1); a keepalive probe (RFC 1122 §4.2.3.6); finally a bare ACK when one is owed.

use super::ack_schedule::AckDue;
use super::congestion::CongestionControl;
use super::connection::Connection;
use super::scoreboard::NextSeg;
use super::state::State;
use super::stats::TcpStats;
use super::timer_table::Timer;
use crate::time::Instant;
use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};

/// A segment to transmit: the header, and which bytes of the send buffer follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Every header field and option; `payload` is empty, the data is named below.
    pub repr: TcpRepr<'static>,
    /// Offset of the payload in the send buffer (from its first unacknowledged byte).
    pub data_offset: usize,
    pub data_len: usize,
}

impl Segment {
    /// Sequence space the segment occupies (payload, SYN and FIN).
    pub fn seq_len(&self) -> usize {
        self.data_len
            + usize::from(self.repr.flags.contains(TcpFlags::SYN))
            + usize::from(self.repr.flags.contains(TcpFlags::FIN))
    }
}

impl Connection {
    /// The payload of `segment`, as up to two slices of the send buffer.
    pub fn payload(&self, segment: &Segment) -> (&[u8], &[u8]) {
        self.send.peek(segment.data_offset, segment.data_len)
    }

    /// The FIN has been sent in the current pass (it occupies the sequence number after
    /// the data; a retransmission timeout rewinds SND.NXT before it).
    pub(super) fn fin_sent(&self) -> bool {
        self.fin_queued && self.snd.nxt.gt(self.data_end())
    }

    /// Whether data or a FIN could leave now (ignoring Nagle's hold, which only waits).
    #[inline]
    pub(super) fn has_sendable(&self) -> bool {
        match self.state {
            State::SynSent | State::SynReceived => self.snd.nxt == self.snd.iss,
            State::Established | State::CloseWait | State::FinWait1 | State::Closing | State::LastAck => {
                let (len, fin) = self.new_data_extent();
                let recovering = self.sack_ok && self.recovery.active();
                len > 0
                    || fin
                    || self.recovery.retransmit_head
                    || (recovering && self.sack_retransmission_ready())
            }
            _ => false,
        }
    }

    /// Next segment to transmit, if any. Call until `None`.
    pub fn next_segment(&mut self, now: Instant, stats: &mut TcpStats) -> Option<Segment> {
        let Some(segment) = self.choose_segment(now, stats) else {
            // Data written into a window known to be closed, or a close() in FIN-WAIT-2:
            // nothing else would start their timers (`wants_to_send` asks for this call).
            self.start_timers(now);
            return None;
        };
        self.after_send(now, &segment, stats);
        Some(segment)
    }

    fn choose_segment(&mut self, now: Instant, stats: &mut TcpStats) -> Option<Segment> {
        if let Some(rst) = self.rst.take() {
            stats.resets_sent += 1;
            let mut flags = TcpFlags::RST;
            if rst.ack.is_some() {
                flags.insert(TcpFlags::ACK);
            }
            let repr = TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq_number: rst.seq,
                ack_number: rst.ack.unwrap_or(SeqNumber(0)),
                flags,
                window_len: 0,
                urgent_pointer: 0,
                options: TcpOptions::default(),
                payload: &[],
            };
            return Some(Segment { repr, data_offset: 0, data_len: 0 });
        }
        match self.state {
            State::Closed | State::Listen | State::TimeWait => {
                return self.ack_if_due(now);
            }
            State::SynSent => return (self.snd.nxt == self.snd.iss).then(|| self.syn_segment(now, false)),
            State::SynReceived => {
                if self.snd.nxt == self.snd.iss {
                    return Some(self.syn_segment(now, true));
                }
                return self.ack_if_due(now);
            }
            _ => {}
        }

        if self.recovery.retransmit_head {
            // RFC 5681 §3.2 step 2 / RFC 6582 §3.2 step 5: resend the first unacknowledged
            // segment; with SACK, RFC 6675 §5 step (4.3): whatever the pipe, and only the
            // hole at SND.UNA.
            self.recovery.retransmit_head = false;
            let available = if self.data_end().gt(self.snd.una) { self.data_end() - self.snd.una } else { 0 };
            let mut len = available.min(self.send_mss());
            if self.sack_ok {
                let snd_una = self.snd.una;
                if let Some((start, _)) =
                    self.scoreboard.sacked_ranges().find(|&(start, _)| start.gt(snd_una))
                {
                    len = len.min(start - snd_una);
                }
            }
            let fin =
                self.fin_queued && self.snd.una + len == self.data_end() && self.snd.max.gt(self.data_end());
            if len > 0 || fin {
                stats.retransmitted_segments += 1;
                let seq = self.snd.una;
                if self.sack_ok && len > 0 {
                    self.scoreboard.mark_retransmitted(seq, len);
                }
                return Some(self.data_segment(now, seq, len, fin));
            }
        }

        if self.sack_ok && self.recovery.active() {
            if let Some(segment) = self.sack_retransmission(now, stats) {
                return Some(segment);
            }
        }

        if self.tlp.due {
            if let Some(segment) = self.loss_probe(now, stats) {
                return Some(segment);
            }
        }

        self.skip_sacked();
        let (len, fin) = self.new_data_extent();
        if len > 0 || fin {
            let seq = self.snd.nxt;
            if seq.lt(self.snd.max) {
                stats.retransmitted_segments += 1;
            } else if self.bytes_in_flight() == 0 && now - self.last_sent_at > self.rtt.rto() {
                // RFC 5681 §4.1: restart after an idle period.
                self.cc.on_idle_restart(now);
            }
            if self.rtt_probe.is_none() && !self.ts.enabled && seq == self.snd.max && len > 0 {
                self.rtt_probe = Some((seq + len, now));
            }
            return Some(self.data_segment(now, seq, len, fin));
        }

        if self.probe_due {
            self.probe_due = false;
            if !self.send.is_empty() && self.snd.wnd == 0 && self.data_end().gt(self.snd.nxt) {
                // RFC 9293 §3.8.6.1: probe a zero window with one byte of new data.
                stats.window_probes += 1;
                let seq = self.snd.nxt;
                return Some(self.data_segment(now, seq, 1, false));
            }
            if self.data_end().gt(self.snd.nxt) {
                // RFC 9293 §3.8.6.2.1 (4): the override timeout. Silly-window avoidance held
                // back a window smaller than both the MSS and half the largest window;
                // send what fits rather than wait forever for it to grow.
                let usable = self.snd.wnd.min(self.cc.cwnd()).saturating_sub(self.bytes_in_flight());
                let len = (self.data_end() - self.snd.nxt).min(usable).min(self.send_mss());
                if len > 0 {
                    let seq = self.snd.nxt;
                    let fin = self.fin_queued && seq + len == self.data_end();
                    return Some(self.data_segment(now, seq, len, fin));
                }
            }
            if self.keepalive_probes > 0 {
                // RFC 1122 §4.2.3.6: an old sequence number forces the peer to answer.
                stats.keepalive_probes += 1;
                let seq = self.snd.una - 1;
                return Some(self.control_segment(now, seq, TcpFlags::ACK));
            }
        }
        self.ack_if_due(now)
    }

    fn ack_if_due(&mut self, now: Instant) -> Option<Segment> {
        if self.acks.due != AckDue::Now || !self.state.is_synchronized() && self.state != State::SynReceived {
            return None;
        }
        Some(self.control_segment(now, self.snd.nxt, TcpFlags::ACK))
    }

    /// Whether SACK recovery has a retransmission to send now.
    #[inline(never)]
    fn sack_retransmission_ready(&self) -> bool {
        self.plan_sack_retransmission().is_some()
    }

    /// RFC 6675 §5 (C): during SACK recovery, what NextSeg() picks while pipe leaves a
    /// segment's room in cwnd: (sequence number, data bytes, FIN). A hole may end with
    /// the FIN, which is sent again like data.
    fn plan_sack_retransmission(&self) -> Option<(SeqNumber, usize, bool)> {
        if !self.sack_ok || !self.recovery.active() {
            return None;
        }
        let pipe = self.scoreboard.pipe(self.snd.una, self.snd.max, self.smss);
        if self.cc.cwnd().saturating_sub(pipe) < self.smss {
            return None;
        }
        match self.scoreboard.next_seg(self.snd.una, self.snd.max, self.smss, false)? {
            NextSeg::Retransmit { seq, len } | NextSeg::Rescue { seq, len } => {
                let data_end = self.data_end();
                let data = if data_end.gt(seq) { len.min(self.send_mss()).min(data_end - seq) } else { 0 };
                let fin = self.fin_queued && seq + data == data_end && (seq + len).gt(data_end);
                (data > 0 || fin).then_some((seq, data, fin))
            }
            NextSeg::New => None,
        }
    }

    fn sack_retransmission(&mut self, now: Instant, stats: &mut TcpStats) -> Option<Segment> {
        let (seq, len, fin) = self.plan_sack_retransmission()?;
        self.scoreboard.mark_retransmitted(seq, len + usize::from(fin));
        stats.retransmitted_segments += 1;
        Some(self.data_segment(now, seq, len, fin))
    }

    /// After a timeout rewinds SND.NXT, data the peer has SACKed is not sent again
    /// (RFC 6675 §5.1 allows keeping the scoreboard across the timeout).
    fn skip_sacked(&mut self) {
        if !self.sack_ok || !self.snd.nxt.lt(self.snd.max) || !self.scoreboard.is_sacked(self.snd.nxt) {
            return;
        }
        let nxt = self.snd.nxt;
        if let Some((_, end)) =
            self.scoreboard.sacked_ranges().find(|&(start, end)| start.le(nxt) && end.gt(nxt))
        {
            self.snd.nxt = if end.gt(self.snd.max) { self.snd.max } else { end };
        }
    }

    /// How much new data (and whether the FIN) may go at SND.NXT now.
    #[inline]
    pub(super) fn new_data_extent(&self) -> (usize, bool) {
        if !self.data_end().gt(self.snd.nxt) && !self.fin_queued {
            // Nothing unsent and no FIN to send: nothing can go, whatever the windows.
            return (0, false);
        }
        self.unsent_extent()
    }

    /// [`new_data_extent`](Self::new_data_extent) when something is unsent.
    fn unsent_extent(&self) -> (usize, bool) {
        let data_end = self.data_end();
        let available = if data_end.gt(self.snd.nxt) { data_end - self.snd.nxt } else { 0 };
        let in_flight = self.bytes_in_flight();
        let window = if self.sack_ok && self.recovery.active() {
            // RFC 6675: new data only while pipe leaves room in cwnd.
            let pipe = self.scoreboard.pipe(self.snd.una, self.snd.max, self.smss);
            self.snd.wnd.saturating_sub(in_flight).min(self.cc.cwnd().saturating_sub(pipe))
        } else {
            self.snd.wnd.min(self.cc.cwnd() + self.recovery.inflation).saturating_sub(in_flight)
        };
        let send_mss = self.send_mss();
        let mut len = available.min(window).min(send_mss);
        // Sender silly-window avoidance with Nagle (RFC 9293 §3.8.6.2.1, §3.7.4): send a
        // full segment, or everything left when nothing is in flight (or Nagle is off),
        // or at least half the largest window the peer has offered.
        let full = len >= send_mss;
        let everything = len == available && len > 0;
        let half_window = self.snd.max_wnd > 0 && len >= self.snd.max_wnd / 2;
        // Once the application has shut down writing no more data can join the tail: send it.
        let nagle_clear = in_flight == 0 || self.config.nodelay || self.fin_queued;
        if !(full || (everything && nagle_clear) || half_window) {
            len = 0;
        }
        let fin = self.fin_queued && !self.fin_sent() && self.snd.nxt + len == data_end;
        (len, fin)
    }

    /// The payload that fits a segment sent now: SMSS less the SACK option it will carry
    /// while out-of-order data waits (RFC 9293 §3.7.1: the MSS counts no options; Linux's
    /// tcp_current_mss does the same). Without this, a full-sized data segment with SACK
    /// blocks exceeds the MTU and is dropped at every try.
    pub(super) fn send_mss(&self) -> usize {
        if !(self.sack_ok && self.recv.has_out_of_order()) {
            return self.smss;
        }
        // The option is NOP NOP kind length, then 8 bytes a block; the 40 bytes of options
        // hold 3 blocks beside timestamps, 4 without.
        let max_blocks = if self.ts.enabled { 3 } else { 4 };
        let blocks = self.recv.sack_blocks(self.rcv.nxt).len().min(max_blocks);
        self.smss.saturating_sub(4 + 8 * blocks).max(64)
    }

    fn base_header(&self, now: Instant, seq: SeqNumber, flags: TcpFlags) -> TcpRepr<'static> {
        let mut options = TcpOptions::default();
        if self.ts.enabled {
            options.timestamps = Some((self.ts_now(now), self.ts.recent));
        }
        if self.sack_ok && flags.contains(TcpFlags::ACK) && self.recv.has_out_of_order() {
            options.sack_blocks = self.recv.sack_blocks(self.rcv.nxt);
        }
        TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: seq,
            ack_number: if flags.contains(TcpFlags::ACK) { self.rcv.nxt } else { SeqNumber(0) },
            flags,
            window_len: 0,
            urgent_pointer: 0,
            options,
            payload: &[],
        }
    }

    /// The window field for a non-SYN segment, with receiver SWS avoidance (RFC 9293
    /// §3.8.6.2.2): the right edge moves only by min(buffer/2, MSS) or more, and never left.
    fn window_field(&mut self) -> u16 {
        let free = self.window_to_advertise();
        let current = if self.rcv.adv.gt(self.rcv.nxt) { self.rcv.adv - self.rcv.nxt } else { 0 };
        let threshold = (self.config.recv_buffer / 2).min(self.smss);
        let window = if free >= current + threshold { free } else { current };
        let field = (window >> self.wscale.rcv).min(0xffff);
        let edge = self.rcv.nxt + (field << self.wscale.rcv);
        if edge.gt(self.rcv.adv) {
            self.rcv.adv = edge;
        }
        field as u16
    }

    fn control_segment(&mut self, now: Instant, seq: SeqNumber, flags: TcpFlags) -> Segment {
        let mut repr = self.base_header(now, seq, flags);
        repr.window_len = self.window_field();
        Segment { repr, data_offset: 0, data_len: 0 }
    }

    pub(super) fn data_segment(&mut self, now: Instant, seq: SeqNumber, len: usize, fin: bool) -> Segment {
        let mut flags = TcpFlags::ACK;
        if len > 0 && seq + len == self.data_end() {
            flags.insert(TcpFlags::PSH);
        }
        if fin {
            flags.insert(TcpFlags::FIN);
        }
        let mut repr = self.base_header(now, seq, flags);
        repr.window_len = self.window_field();
        let data_offset = seq - self.data_seq;
        Segment { repr, data_offset, data_len: len }
    }

    /// SYN (active open) or SYN-ACK (passive open) with the options we offer or accept.
    fn syn_segment(&mut self, now: Instant, ack: bool) -> Segment {
        let flags = if ack { TcpFlags::SYN | TcpFlags::ACK } else { TcpFlags::SYN };
        let mut options = TcpOptions { mss: Some(self.our_mss.min(0xffff) as u16), ..TcpOptions::default() };
        // In a SYN-ACK, offer only what the peer offered (RFC 7323 §1.3, RFC 2018 §2).
        if self.config.window_scaling && (!ack || self.wscale.agreed) {
            options.window_scale = Some(self.wscale.offered);
        }
        if self.config.sack && (!ack || self.sack_ok) {
            options.sack_permitted = true;
        }
        if self.config.timestamps && (!ack || self.ts.enabled) {
            options.timestamps = Some((self.ts_now(now), if ack { self.ts.recent } else { 0 }));
        }
        let window = self.recv.window().min(0xffff);
        // RFC 9293 §3.8.6: a SYN-ACK sent again after an ACK offered a larger (scaled)
        // window leaves the right edge where that ACK put it.
        let edge = self.rcv.nxt + window;
        if edge.gt(self.rcv.adv) {
            self.rcv.adv = edge;
        }
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: self.snd.iss,
            ack_number: if ack { self.rcv.nxt } else { SeqNumber(0) },
            flags,
            window_len: window as u16,
            urgent_pointer: 0,
            options,
            payload: &[],
        };
        Segment { repr, data_offset: 0, data_len: 0 }
    }

    /// Bookkeeping common to every segment sent.
    fn after_send(&mut self, now: Instant, segment: &Segment, stats: &mut TcpStats) {
        stats.segments_out += 1;
        self.last_sent_at = now;
        let flags = segment.repr.flags;
        if flags.contains(TcpFlags::RST) {
            return;
        }
        if flags.contains(TcpFlags::ACK) {
            self.acks.sent();
            self.timers.clear(Timer::DelayedAck);
            self.ts.last_ack_sent = self.rcv.nxt;
        }
        let seq_len = segment.seq_len();
        if seq_len == 0 {
            return;
        }
        if flags.contains(TcpFlags::FIN) {
            match self.state {
                State::Established => self.state = State::FinWait1,
                State::CloseWait => self.state = State::LastAck,
                _ => {}
            }
        }
        let seq = segment.repr.seq_number;
        let end = seq + seq_len;
        if self.sack_ok && !flags.contains(TcpFlags::SYN) {
            self.rack.on_sent(now, seq, end, self.snd.max);
        }
        // A retransmission from the SACK scoreboard does not move SND.NXT.
        if seq == self.snd.nxt {
            self.snd.nxt = end;
        }
        let new_data = end.gt(self.snd.max);
        if new_data {
            self.snd.max = end;
        }
        if self.snd.wnd == 0 && segment.data_len > 0 && !flags.contains(TcpFlags::SYN) {
            // A window probe: the persist timer, not the retransmission timer, times it.
            return;
        }
        if !self.timers.is_set(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
        self.timers.clear(Timer::Persist);
        if new_data && !flags.contains(TcpFlags::SYN) {
            // RFC 8985 §7.2: new data restarts the probe timeout.
            self.update_pto(now, true);
        }
    }
}
