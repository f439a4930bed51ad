//! Segment arrival (RFC 9293 §3.10.7), with RFC 5961's protections, RFC 7323's PAWS and
//! timestamps, and the loss detection of RFC 5681, RFC 6582, RFC 6675 and RFC 8985 (RACK).
//!
//! The common case (an in-order segment or a pure ACK on an established connection) runs
//! the same checks as the rest, in the RFC's order, each a comparison or two.

use core::ops::ControlFlow;

use super::ack_schedule::AckDue;
use super::challenge_ack_budget::ChallengeAckBudget;
use super::congestion::CongestionControl;
use super::connection::{Connection, PendingRst, TcpError};
use super::scoreboard::AckInfo;
use super::sequence_space::AckRange;
use super::state::State;
use super::stats::TcpStats;
use super::timer_table::Timer;
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};

/// RFC 5681 §3.2: duplicate ACKs that signal a loss.
const DUP_THRESH: u32 = 3;

/// Shared state segment processing needs beyond the connection.
pub struct InputContext<'a> {
    pub stats: &'a mut TcpStats,
    /// RFC 5961 §7: challenge ACKs are rate-limited stack-wide, by a randomized budget.
    pub challenge_acks: &'a mut ChallengeAckBudget,
}

impl Connection {
    /// Processes a segment of this connection's 4-tuple. Responses (ACKs, RSTs, data)
    /// go out through `next_segment`.
    pub fn on_segment(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) {
        ctx.stats.segments_in += 1;
        self.last_received_at = now;
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_segment_syn_sent(now, seg, ctx),
            _ => self.on_segment_synchronized(now, seg, ctx),
        }
        if self.state.is_synchronized() {
            self.restart_keepalive(now);
        }
        self.update_persist(now);
    }

    /// RFC 9293 §3.10.7.3: SYN-SENT.
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) {
        let flags = seg.flags;
        let ack_acceptable = flags.contains(TcpFlags::ACK)
            && seg.ack_number.gt(self.snd.iss)
            && seg.ack_number.le(self.snd.max);
        if flags.contains(TcpFlags::ACK) && !ack_acceptable {
            if !flags.contains(TcpFlags::RST) {
                self.rst = Some(PendingRst { seq: seg.ack_number, ack: None });
            }
            return;
        }
        if flags.contains(TcpFlags::RST) {
            // RFC 5961 §3.2 for SYN-SENT: only a RST acknowledging our SYN counts.
            if ack_acceptable {
                ctx.stats.resets_received += 1;
                ctx.stats.failed_opens += 1;
                self.enter_closed(Some(TcpError::ConnectionRefused));
            }
            return;
        }
        if !flags.contains(TcpFlags::SYN) {
            return;
        }
        self.rcv.synchronize(seg.seq_number);
        self.negotiate(now, seg);
        if ack_acceptable {
            self.snd.una = seg.ack_number;
            // RFC 7323 §2.2: the window of a SYN segment is never scaled.
            self.snd.set_window(seg.seq_number, seg.ack_number, usize::from(seg.window_len));
            self.take_rtt_sample(now, seg);
            if self.retries > 0 {
                // RFC 6298 §5.7: the SYN timed out and nothing was measured: RTO = 3 s.
                self.rtt.on_syn_timeout_fallback();
            }
            self.timers.clear(Timer::Retransmit);
            self.retries = 0;
            self.state = State::Established;
            ctx.stats.established += 1;
            self.acks.due = AckDue::Now;
            if !seg.payload.is_empty() || flags.contains(TcpFlags::FIN) {
                self.receive_text(now, seg, ctx);
            }
        } else {
            // Simultaneous open (RFC 9293 Figure 8): answer with SYN-ACK.
            self.state = State::SynReceived;
            self.snd.wnd = usize::from(seg.window_len);
            self.snd.max_wnd = self.snd.wnd;
            self.snd.wl1 = seg.seq_number;
            self.snd.nxt = self.snd.iss;
        }
    }

    /// RFC 9293 §3.10.7.4: every synchronized state, and SYN-RECEIVED, in the RFC's order
    /// of checks; a step that disposes of the segment ends the processing (`Break`).
    fn on_segment_synchronized(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) {
        let _ = self.process_synchronized(now, seg, ctx);
    }

    #[inline]
    fn process_synchronized(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        ctx: &mut InputContext<'_>,
    ) -> ControlFlow<()> {
        self.check_paws(now, seg, ctx)?;
        self.check_repeated_syn(seg)?;
        let window = self.check_sequence(now, seg, ctx)?;
        self.check_rst(seg, ctx)?;
        // Fourth: SYN (RFC 5961 §4), after the security check RFC 9293 leaves out.
        if seg.flags.contains(TcpFlags::SYN) {
            self.challenge_ack(ctx);
            return ControlFlow::Break(());
        }
        // Fifth: the ACK field.
        if !seg.flags.contains(TcpFlags::ACK) {
            return ControlFlow::Break(());
        }
        self.check_ack(seg, ctx)?;
        self.process_ack(now, seg, ctx);
        self.process_fin_acked(now, seg)?;
        self.update_ts_recent(now, seg);
        // Seventh and eighth: text and FIN.
        if !seg.payload.is_empty() || seg.flags.contains(TcpFlags::FIN) {
            if window == 0 && !seg.payload.is_empty() {
                // A probe into a zero window: answer so the peer learns the window.
                self.acks.due = AckDue::Now;
                return ControlFlow::Break(());
            }
            self.receive_text(now, seg, ctx);
        }
        ControlFlow::Continue(())
    }

    /// RFC 7323 §5.3: PAWS, before anything else.
    #[inline]
    fn check_paws(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) -> ControlFlow<()> {
        if seg.flags.contains(TcpFlags::RST) {
            return ControlFlow::Continue(());
        }
        if let Some((tsval, _)) = seg.options.timestamps {
            if self.ts.paws_rejects(now, tsval) {
                ctx.stats.paws_rejected += 1;
                self.invalid_segment_ack(ctx);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    /// Our SYN-ACK was lost and the peer sent its SYN again: that SYN lies before RCV.NXT
    /// and would fail the sequence test, earning a bare ACK the peer in SYN-SENT drops
    /// (RFC 9293 §3.10.7.3, fifth). Send the SYN-ACK again, as Linux's tcp_check_req does.
    #[inline]
    fn check_repeated_syn(&mut self, seg: &TcpRepr<'_>) -> ControlFlow<()> {
        if self.state == State::SynReceived
            && seg.flags.contains(TcpFlags::SYN)
            && !seg.flags.intersects(TcpFlags::ACK | TcpFlags::RST)
            && seg.seq_number == self.rcv.irs
        {
            self.snd.nxt = self.snd.iss;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// First: is the segment acceptable (RFC 9293 §3.10.7.4's table)? Returns the receive
    /// window it was judged against.
    #[inline]
    fn check_sequence(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        ctx: &mut InputContext<'_>,
    ) -> ControlFlow<(), usize> {
        let flags = seg.flags;
        let seg_len = seg.segment_len();
        let window = if self.rcv.adv.gt(self.rcv.nxt) { self.rcv.adv - self.rcv.nxt } else { 0 };
        let seq = seg.seq_number;
        let in_window = |s: SeqNumber| s.ge(self.rcv.nxt) && s.lt(self.rcv.nxt + window);
        let acceptable = match (seg_len, window) {
            (0, 0) => seq == self.rcv.nxt,
            (0, _) => in_window(seq),
            (_, 0) => false,
            (_, _) => in_window(seq) || in_window(seq + (seg_len - 1)),
        };
        // A zero window still takes ACKs and RSTs from a segment at RCV.NXT (a window probe).
        let probe_at_edge = window == 0 && seq == self.rcv.nxt;
        if acceptable || probe_at_edge {
            return ControlFlow::Continue(window);
        }
        if self.state == State::TimeWait
            && flags.contains(TcpFlags::FIN)
            && !flags.contains(TcpFlags::RST)
            && seq + seg_len == self.rcv.nxt
        {
            // RFC 9293 §3.10.7.4, eighth, TIME-WAIT: the peer's FIN again (our ACK of it
            // was lost). It lies before RCV.NXT, so it lands here: acknowledge it and
            // restart the 2 MSL timeout.
            self.acks.due = AckDue::Now;
            self.enter_time_wait(now);
        } else if flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::RST) {
            // RFC 5961 §4.2: a SYN gets a challenge ACK "irrespective of the sequence
            // number".
            ctx.stats.out_of_window += 1;
            self.challenge_ack(ctx);
        } else if !flags.contains(TcpFlags::RST) {
            ctx.stats.out_of_window += 1;
            if self.is_recent_duplicate(seg) {
                // Data (or a FIN) we already have, from at most a window back: the peer
                // missed our ACK and retransmitted. It needs this ACK to recover (RFC
                // 5681 §4.2), and retransmissions follow the peer's timers, not our
                // ACKs, so they cannot feed a loop. Not limited (Linux exempts all
                // data; we exempt only what a real sender could send).
                self.acks.due = AckDue::Now;
            } else {
                self.invalid_segment_ack(ctx);
            }
        }
        ControlFlow::Break(())
    }

    /// Second: RST (RFC 5961 §3.2): only an exact match resets; anything else in the
    /// window gets a challenge ACK.
    #[inline]
    fn check_rst(&mut self, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) -> ControlFlow<()> {
        if !seg.flags.contains(TcpFlags::RST) {
            return ControlFlow::Continue(());
        }
        if seg.seq_number == self.rcv.nxt {
            ctx.stats.resets_received += 1;
            let error = match self.state {
                State::SynReceived => Some(TcpError::ConnectionRefused),
                State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                    Some(TcpError::ConnectionReset)
                }
                _ => None,
            };
            self.enter_closed(error);
        } else {
            self.challenge_ack(ctx);
        }
        ControlFlow::Break(())
    }

    /// Fifth, the ACK's acceptability: in SYN-RECEIVED, SND.UNA < SEG.ACK =< SND.NXT
    /// establishes the connection, anything else earns a reset <SEQ=SEG.ACK><CTL=RST>
    /// (before RFC 5961's checks, which are for synchronized states); then RFC 5961 §5.2's
    /// range.
    #[inline]
    fn check_ack(&mut self, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) -> ControlFlow<()> {
        let ack = seg.ack_number;
        if self.state == State::SynReceived {
            if ack.gt(self.snd.una) && ack.le(self.snd.max) {
                self.state = State::Established;
                ctx.stats.established += 1;
                if self.retries > 0 {
                    // RFC 6298 §5.7: the SYN-ACK timed out; RTO = 3 s unless the ACK
                    // below gives a sample.
                    self.rtt.on_syn_timeout_fallback();
                }
                self.snd.set_window(seg.seq_number, ack, self.wscale.peer_window(seg.window_len));
            } else {
                self.rst = Some(PendingRst { seq: ack, ack: None });
                return ControlFlow::Break(());
            }
        }
        match self.snd.ack_range(ack) {
            AckRange::Acceptable => ControlFlow::Continue(()),
            AckRange::Unsent => {
                ctx.stats.bad_acks += 1;
                self.invalid_segment_ack(ctx);
                ControlFlow::Break(())
            }
            AckRange::TooOld => {
                ctx.stats.bad_acks += 1;
                self.challenge_ack(ctx);
                ControlFlow::Break(())
            }
        }
    }

    /// Fifth, an acceptable ACK: SACK and RACK, new data acknowledged or a duplicate,
    /// loss probes, then the window update.
    #[inline]
    fn process_ack(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) {
        let (seq, ack) = (seg.seq_number, seg.ack_number);
        let sack = if self.sack_ok && self.state.is_synchronized() {
            let sack = self.scoreboard.on_ack(ack, self.snd.max, &seg.options.sack_blocks);
            self.rack_on_ack(now, seg, sack.dsack);
            sack
        } else {
            AckInfo::default()
        };
        let window_before = self.snd.wnd;
        let new_window = self.wscale.peer_window(seg.window_len);
        let advanced = ack.gt(self.snd.una);
        let duplicate = ack == self.snd.una
            && seg.payload.is_empty()
            && !seg.flags.contains(TcpFlags::FIN)
            && new_window == window_before
            // A zero window's ACKs answer our window probes (RFC 9293 §3.8.6.1): the
            // receiver can take nothing, so they say nothing about loss.
            && new_window != 0
            && self.snd.max.gt(self.snd.una);
        if advanced {
            self.on_new_ack(now, seg, ctx.stats);
        } else if duplicate {
            self.on_duplicate_ack(now, ctx.stats);
        }
        if self.sack_ok && self.state.is_synchronized() {
            let dsack = seg.options.sack_blocks.iter().next().copied().filter(|_| sack.dsack);
            let bare_duplicate = duplicate && sack.newly_sacked == 0;
            self.rack_detect_loss(now, ctx.stats);
            self.on_probe_ack(now, ack, dsack, bare_duplicate, ctx.stats);
            self.update_pto(now, advanced);
        }

        // Window update (RFC 9293 §3.10.7.4, fifth check).
        if self.snd.updates_window(seq, ack) {
            self.snd.set_window(seq, ack, new_window);
            if new_window > 0 {
                self.timers.clear(Timer::Persist);
                self.persist_backoff = 0;
                if window_before == 0 && self.snd.nxt.gt(self.snd.una) {
                    // The window opened without taking our probe's byte: send it again
                    // first rather than leave a hole behind new data (RFC 9293 §3.8.6.1).
                    self.snd.nxt = self.snd.una;
                }
            }
        }
    }

    /// Fifth, by state: our FIN acknowledged moves FIN-WAIT-1, CLOSING and LAST-ACK on;
    /// TIME-WAIT takes only a retransmitted FIN.
    #[inline]
    fn process_fin_acked(&mut self, now: Instant, seg: &TcpRepr<'_>) -> ControlFlow<()> {
        let fin_acked = self.fin_queued && self.snd.una.gt(self.data_end());
        match self.state {
            State::FinWait1 if fin_acked => {
                self.state = State::FinWait2;
                if self.orphaned {
                    self.timers.set(Timer::Close, now + self.config.fin_wait_2_timeout);
                }
            }
            State::Closing if fin_acked => self.enter_time_wait(now),
            State::LastAck if fin_acked => {
                self.enter_closed(None);
                return ControlFlow::Break(());
            }
            State::TimeWait => {
                // A retransmitted FIN: acknowledge it and restart the 2 MSL wait.
                if seg.flags.contains(TcpFlags::FIN) {
                    self.acks.due = AckDue::Now;
                    self.enter_time_wait(now);
                }
                return ControlFlow::Break(());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// RFC 7323 §4.3: remember the peer's timestamp for echoing.
    #[inline]
    fn update_ts_recent(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if let Some((tsval, _)) = seg.options.timestamps {
            self.ts.update_recent(now, seg.seq_number, tsval);
        }
    }

    /// RFC 5961 §7: a challenge ACK, limited per connection first (so one connection
    /// cannot spend the stack's budget alone) and then by the stack-wide randomized budget.
    fn challenge_ack(&mut self, ctx: &mut InputContext<'_>) {
        let now = self.last_received_at;
        if !self.invalid_ack_allowed(now) {
            ctx.stats.challenge_acks_limited_connection += 1;
        } else if ctx.challenge_acks.try_take(now) {
            ctx.stats.challenge_acks += 1;
            self.acks.due = AckDue::Now;
        } else {
            ctx.stats.challenge_acks_limited_global += 1;
        }
    }

    /// The ACK answering a segment outside the window, failing PAWS (RFC 7323 §5.3) or
    /// acknowledging data never sent (RFC 5961 §5.2): at most one per
    /// `invalid_ack_interval`, so two stacks that disagree cannot ACK-loop.
    fn invalid_segment_ack(&mut self, ctx: &mut InputContext<'_>) {
        if self.invalid_ack_allowed(self.last_received_at) {
            self.acks.due = AckDue::Now;
        } else {
            ctx.stats.invalid_acks_limited += 1;
        }
    }

    /// A retransmission of data (or a FIN) already received: starting within one receive
    /// buffer before RCV.NXT. A sender stays within the window we advertised, so a real
    /// retransmission starts no further back; a blind attacker's guess rarely lands there.
    fn is_recent_duplicate(&self, seg: &TcpRepr<'_>) -> bool {
        seg.segment_len() > 0
            && seg.seq_number.lt(self.rcv.nxt)
            && seg.seq_number.ge(self.rcv.nxt - self.config.recv_buffer.max(1))
    }

    /// Whether an ACK to an invalid segment may go out now (Linux `tcp_invalid_ratelimit`);
    /// if so, the interval starts again.
    fn invalid_ack_allowed(&mut self, now: Instant) -> bool {
        self.acks.invalid_ack_allowed(now, self.config.invalid_ack_interval)
    }

    /// Data or a FIN in a state that accepts them (RFC 9293 §3.10.7.4, seventh and eighth).
    fn receive_text(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputContext<'_>) {
        if !self.state.can_receive() && self.state != State::SynReceived {
            return;
        }
        // RFC 9293 §3.4: a SYN occupies the first sequence number; its data follows.
        let seq = seg.seq_number + usize::from(seg.flags.contains(TcpFlags::SYN));
        let mut payload = seg.payload;
        // Trim what was already received.
        let mut start = seq;
        if start.lt(self.rcv.nxt) {
            let skip = (self.rcv.nxt - start).min(payload.len());
            payload = &payload[skip..];
            start += skip;
        }
        let had_gap = self.recv.has_out_of_order();
        if !payload.is_empty() {
            let offset = start - self.rcv.nxt;
            let result = self.recv.insert(offset, payload);
            if result.refused {
                ctx.stats.out_of_order_dropped += 1;
            } else if result.advanced == 0 && !result.duplicate {
                ctx.stats.out_of_order += 1;
            }
            self.rcv.nxt += result.advanced;
            if result.advanced == 0 || had_gap {
                // RFC 5681 §4.2: out-of-order data, or data filling a gap, is ACKed at once.
                self.acks.due = AckDue::Now;
            } else {
                self.schedule_ack(now, payload.len());
            }
        }
        if seg.flags.contains(TcpFlags::FIN) {
            let fin_seq = seq + seg.payload.len();
            if fin_seq.ge(self.rcv.nxt) {
                self.pending_fin = Some(fin_seq);
            }
            self.acks.due = AckDue::Now;
        }
        if let Some(fin_seq) = self.pending_fin {
            if fin_seq == self.rcv.nxt && !self.fin_received {
                self.pending_fin = None;
                self.rcv.nxt += 1;
                self.fin_received = true;
                self.acks.due = AckDue::Now;
                match self.state {
                    State::SynReceived | State::Established => self.state = State::CloseWait,
                    State::FinWait1 => {
                        let fin_acked = self.snd.una.gt(self.data_end());
                        if fin_acked {
                            self.enter_time_wait(now);
                        } else {
                            self.state = State::Closing;
                        }
                    }
                    State::FinWait2 => self.enter_time_wait(now),
                    _ => {}
                }
            }
        }
    }

    /// RFC 9293 §3.8.6.3 and RFC 5681 §4.2: delay the ACK, but acknowledge at least every
    /// second full-sized segment, and at once while in quick-ACK mode.
    fn schedule_ack(&mut self, now: Instant, len: usize) {
        if self.acks.on_data(len, self.smss) {
            self.timers.set(Timer::DelayedAck, now + self.config.delayed_ack);
        }
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        // Nothing more will be sent or received: give the buffers back (Linux keeps only
        // a small timewait socket for the same reason), except data still to be read.
        self.send = super::send_buffer::SendBuffer::new(0);
        if self.recv.readable() == 0 {
            self.recv = super::recv_buffer::ReceiveBuffer::new(0);
        }
        self.timers.clear(Timer::Retransmit);
        self.timers.clear(Timer::Probe);
        self.tlp.due = false;
        self.timers.clear(Timer::Reorder);
        self.rack = super::rack::Rack::new(0);
        self.timers.clear(Timer::Persist);
        self.timers.clear(Timer::Keepalive);
        // TIME_WAIT sends only ACKs: a window or keepalive probe due cannot be sent.
        self.probe_due = false;
        self.timers.set(Timer::Close, now + self.config.msl * 2);
    }

    /// RTT from the echoed timestamp (RFC 7323 §4.1), else from the timed segment, which
    /// Karn's rule (RFC 6298 §3) clears whenever anything is retransmitted.
    fn take_rtt_sample(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let sample = match seg.options.timestamps {
            Some((_, tsecr)) if self.ts.enabled && tsecr != 0 => {
                let ms = self.ts_now(now).wrapping_sub(tsecr);
                (ms < 60_000 * 10).then(|| Duration::from_millis(u64::from(ms)))
            }
            _ => match self.rtt_probe {
                Some((end, sent_at)) if seg.ack_number.ge(end) => {
                    self.rtt_probe = None;
                    Some(now - sent_at)
                }
                _ => None,
            },
        };
        if let Some(rtt) = sample {
            self.rtt.on_sample(rtt);
        }
    }

    /// An ACK for new data: free the send buffer, sample the RTT, grow or recover the
    /// congestion window, and run the retransmission timer (RFC 6298 §5.2-5.3).
    fn on_new_ack(&mut self, now: Instant, seg: &TcpRepr<'_>, stats: &mut TcpStats) {
        let ack = seg.ack_number;
        let in_flight = self.snd.max - self.snd.una;
        let data_end = self.data_end();
        let acked_to = if ack.gt(data_end) { data_end } else { ack };
        let data_acked = if acked_to.gt(self.data_seq) { acked_to - self.data_seq } else { 0 };
        self.send.ack(data_acked);
        self.data_seq += data_acked;
        self.snd.una = ack;
        if self.snd.nxt.lt(self.snd.una) {
            self.snd.nxt = self.snd.una;
        }
        self.take_rtt_sample(now, seg);
        self.retries = 0;
        self.recovery.dup_acks = 0;

        match self.recovery.point {
            Some(point) if ack.ge(point) => {
                // Full acknowledgment: recovery is over (RFC 6582 §3.2 step 3).
                self.recovery.end();
                self.scoreboard.exit_recovery();
                self.rack.on_recovery_exit();
                self.cc.on_recovery_exit(now);
            }
            Some(_) => {
                // Partial acknowledgment (RFC 6582 §3.2 step 5): resend the next hole and
                // deflate by what was acknowledged, adding back one segment.
                if !self.sack_ok {
                    self.recovery.partial_ack(data_acked, self.smss);
                    stats.fast_retransmits += 1;
                }
            }
            None => self.cc.on_ack(now, data_acked, self.rtt.srtt(), in_flight),
        }

        if self.snd.una == self.snd.max {
            self.timers.clear(Timer::Retransmit);
        } else {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
    }

    /// RFC 5681 §3.2 and RFC 6675 §5: three duplicate ACKs, or the SACK scoreboard
    /// showing the first segment lost, start fast retransmit and recovery.
    fn on_duplicate_ack(&mut self, now: Instant, stats: &mut TcpStats) {
        self.recovery.dup_acks += 1;
        if self.recovery.active() {
            if !self.sack_ok {
                // RFC 5681 §3.2 step 4: each further duplicate inflates the window.
                self.recovery.inflation += self.smss;
            }
            return;
        }
        if !self.recovery.may_begin(self.snd.una, self.snd.iss) {
            // Reducing the window again for a timeout's or a recovery's duplicates would
            // be wrong.
            return;
        }
        let lost = self.sack_ok && self.scoreboard.is_lost(self.snd.una, self.smss);
        if self.recovery.dup_acks >= DUP_THRESH || lost {
            self.enter_fast_recovery(now, stats);
        }
    }

    /// RFC 5681 §3.2 steps 2-3, RFC 6675 §5 step (4): a loss was detected; reduce the
    /// window once and retransmit the first segment.
    fn enter_fast_recovery(&mut self, now: Instant, stats: &mut TcpStats) {
        stats.fast_retransmits += 1;
        let in_flight = self.snd.max - self.snd.una;
        self.cc.on_loss(now, in_flight);
        self.recovery.begin(self.snd.max);
        self.rtt_probe = None;
        // Recovery reduces the window; a probe outstanding needs no judgement.
        self.tlp.end = None;
        self.timers.clear(Timer::Probe);
        // RFC 5681 §3.2 step 2, RFC 6675 §5 step (4.3): `begin` retransmits the first
        // segment.
        if self.sack_ok {
            self.scoreboard.enter_recovery(self.snd.max);
        } else {
            self.recovery.inflation = DUP_THRESH as usize * self.smss;
        }
    }

    /// RFC 8985 §6.2 steps 1-4: the segments this ACK delivers update RACK. A
    /// retransmitted segment is ambiguous when the ACK echoes a timestamp older than its
    /// last transmission.
    fn rack_on_ack(&mut self, now: Instant, seg: &TcpRepr<'_>, dsack: bool) {
        let echo = seg.options.timestamps.filter(|_| self.ts.enabled).map(|(_, tsecr)| tsecr);
        let ts = self.ts;
        let sent_before_echo = |sent: Instant| {
            let tsval = ts.value_at(sent);
            echo.is_none_or(|tsecr| tsecr.wrapping_sub(tsval) as i32 >= 0)
        };
        let min_rtt = self.rtt.min_rtt();
        self.rack.on_ack(
            now,
            seg.ack_number,
            &seg.options.sack_blocks,
            dsack,
            self.snd.max,
            min_rtt,
            sent_before_echo,
        );
    }

    /// RFC 8985 §6.2 step 5, on an ACK or when the reordering timer expires: segments
    /// RACK deems lost go to the scoreboard, starting fast recovery if none runs (unless a
    /// timeout's go-back-N is resending everything anyway); segments within the
    /// reordering window get the timer.
    pub(super) fn rack_detect_loss(&mut self, now: Instant, stats: &mut TcpStats) {
        if !self.sack_ok || !self.state.is_synchronized() {
            return;
        }
        let in_recovery = self.recovery.active();
        let reo_wnd = self.rack.reo_wnd(in_recovery, self.rtt.srtt(), self.rtt.min_rtt());
        let detection = self.rack.detect_loss(now, reo_wnd);
        match detection.recheck_at {
            Some(at) => self.timers.set(Timer::Reorder, at),
            None => self.timers.clear(Timer::Reorder),
        }
        if detection.newly_lost == 0 {
            return;
        }
        stats.rack_losses += u64::from(detection.newly_lost);
        if let Some(end) = detection.lost_below {
            self.scoreboard.mark_lost(end);
            if !in_recovery && self.snd.nxt == self.snd.max {
                self.enter_fast_recovery(now, stats);
            }
        }
    }

    /// RFC 1122 §4.2.3.6: the idle time counts from the last segment received. Not in
    /// TIME_WAIT or CLOSED, where no probe can be sent (the 2 MSL wait ends TIME_WAIT).
    pub fn restart_keepalive(&mut self, now: Instant) {
        if matches!(self.state, State::TimeWait | State::Closed) {
            self.timers.clear(Timer::Keepalive);
            return;
        }
        if let Some(keepalive) = self.config.keepalive {
            self.keepalive_probes = 0;
            self.timers.set(Timer::Keepalive, now + keepalive.idle);
        }
    }
}
