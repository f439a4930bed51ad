//! Tail loss probe (RFC 8985 §7): when the ACKs stop before the flight is acknowledged,
//! send one segment after about two round trips instead of waiting for the RTO.
//!
//! A loss at the tail of a flight (the end of a request or a response) leaves too few
//! segments behind it for duplicate ACKs or SACKs to reveal it. The probe, new data if
//! there is some or else the last segment again, draws an ACK whose SACK information lets
//! fast recovery (or RACK) repair the loss; when the probe itself repaired it, the
//! congestion window is reduced as for any loss (§7.4).
//!
//! The probe needs SACK: without it, the ACK of a probe says nothing about what is missing,
//! and Linux likewise probes only SACK connections.

use super::congestion::CongestionControl;
use super::connection::Connection;
use super::output::Segment;
use super::state::State;
use super::stats::TcpStats;
use super::timer_table::Timer;
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// RFC 8985 §7.2: WCDelAckT, the worst-case delayed-ACK time a receiver may wait before
/// acknowledging a lone segment.
const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);
/// RFC 8985 §7.2: the PTO before any RTT sample.
const INITIAL_PTO: Duration = Duration::from_secs(1);

/// The probe's state: outstanding or not, and due or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct LossProbe {
    /// TLP.end_seq: the probe outstanding, as SND.MAX when it left (or its own end).
    pub end: Option<SeqNumber>,
    /// TLP.is_retrans: the probe was a retransmission.
    pub retransmission: bool,
    /// The probe timeout expired: a probe goes out on the next transmission.
    pub due: bool,
}

impl LossProbe {
    /// Recovery or a timeout took over: no probe is outstanding or due.
    pub fn cancel(&mut self) {
        self.due = false;
        self.end = None;
    }
}

impl Connection {
    /// RFC 8985 §7.2: whether a probe timeout may run: SACK in use, data (or a FIN) in
    /// flight, no loss recovery (neither fast recovery nor the go-back-N of a timeout), no
    /// probe outstanding, and a window open for the probe.
    fn pto_allowed(&self) -> bool {
        let sending = matches!(
            self.state,
            State::Established | State::CloseWait | State::FinWait1 | State::Closing | State::LastAck
        );
        sending
            && self.sack_ok
            && !self.recovery.active()
            && self.tlp.end.is_none()
            && self.snd.max.gt(self.snd.una)
            && self.snd.nxt == self.snd.max
            && self.snd.wnd > 0
    }

    /// RFC 8985 §7.2: arms the PTO, or disarms it when no probe may run. `restart` rearms
    /// a running timer (after new data was sent or acknowledged).
    pub(super) fn update_pto(&mut self, now: Instant, restart: bool) {
        if !self.pto_allowed() {
            self.timers.clear(Timer::Probe);
            return;
        }
        if self.timers.is_set(Timer::Probe) && !restart {
            return;
        }
        let pto = match self.rtt.srtt() {
            Some(srtt) => {
                let flight = self.snd.max - self.snd.una;
                let delayed_ack = if flight <= self.smss { WORST_CASE_DELAYED_ACK } else { Duration::ZERO };
                srtt * 2 + delayed_ack
            }
            None => INITIAL_PTO,
        };
        // Never later than the RTO would fire: the probe takes its place.
        let rto_at = self.timers.get(Timer::Retransmit).unwrap_or(now + self.rtt.rto());
        self.timers.set(Timer::Probe, (now + pto).min(rto_at));
    }

    /// RFC 8985 §7.3: the PTO expired. A probe is due, and the RTO restarts from now so
    /// that it follows the probe.
    pub(super) fn on_probe_timeout(&mut self, now: Instant) {
        self.timers.clear(Timer::Probe);
        if !self.pto_allowed() {
            return;
        }
        self.tlp.due = true;
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }

    /// RFC 8985 §7.3: the probe: one segment of new data if the peer's window takes it
    /// (whatever cwnd says), otherwise the last segment sent, again.
    pub(super) fn loss_probe(&mut self, now: Instant, stats: &mut TcpStats) -> Option<Segment> {
        self.tlp.due = false;
        if !self.pto_allowed() {
            return None;
        }
        let data_end = self.data_end();
        let unsent = if data_end.gt(self.snd.nxt) { data_end - self.snd.nxt } else { 0 };
        let room = self.snd.wnd.saturating_sub(self.bytes_in_flight());
        let new_len = unsent.min(room).min(self.smss);
        let (seq, len, fin, retransmission) = if new_len > 0 {
            let fin = self.fin_queued && self.snd.nxt + new_len == data_end;
            (self.snd.nxt, new_len, fin, false)
        } else {
            // The last segment: the data up to SND.MAX (at most one SMSS), and the FIN if
            // it was sent.
            let fin = self.fin_queued && self.snd.max.gt(data_end);
            let sent_end = if fin { data_end } else { self.snd.max };
            let len = if sent_end.gt(self.snd.una) { (sent_end - self.snd.una).min(self.smss) } else { 0 };
            if len == 0 && !fin {
                return None;
            }
            (sent_end - len, len, fin, true)
        };
        stats.tlp_probes += 1;
        if retransmission {
            stats.retransmitted_segments += 1;
            // Karn's rule: the ACK of the probe is ambiguous.
            self.rtt_probe = None;
        }
        self.tlp.retransmission = retransmission;
        let end = seq + len + usize::from(fin);
        self.tlp.end = Some(if end.gt(self.snd.max) { end } else { self.snd.max });
        Some(self.data_segment(now, seq, len, fin))
    }

    /// RFC 8985 §7.4 (as Linux's `tcp_process_tlp_ack`): settles the outstanding probe
    /// from an ACK. A probe of new data needs no judgement. A retransmitted probe whose
    /// D-SACK (`dsack`: the ACK's first block, if it is one) or a bare duplicate ACK shows
    /// that the original arrived too repaired nothing; an ACK beyond the probe without such
    /// evidence means the probe repaired a loss, and the congestion window is reduced once.
    pub(super) fn on_probe_ack(
        &mut self,
        now: Instant,
        ack: SeqNumber,
        dsack: Option<(SeqNumber, SeqNumber)>,
        duplicate: bool,
        stats: &mut TcpStats,
    ) {
        let Some(end) = self.tlp.end else { return };
        if ack.lt(end) {
            return;
        }
        if !self.tlp.retransmission || dsack.is_some_and(|(_, right)| right.ge(end - 1) && right.le(end)) {
            self.tlp.end = None;
        } else if ack.gt(end) {
            self.tlp.end = None;
            stats.tlp_recoveries += 1;
            let in_flight = self.snd.max - self.snd.una;
            self.cc.on_loss(now, in_flight);
            self.cc.on_recovery_exit(now);
        } else if duplicate {
            self.tlp.end = None;
        }
    }
}
