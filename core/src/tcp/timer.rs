//! Timer expiry: retransmission (RFC 6298 §5), tail loss probe (RFC 8985 §7.3, in
//! `tlp.rs`), RACK's reordering timer (RFC 8985 §6.2), persist (RFC 9293 §3.8.6.1), delayed ACK
//! (§3.8.6.3), keepalive (RFC 1122 §4.2.3.6), FIN_WAIT_2 and TIME_WAIT (§3.4.2).

use super::ack_schedule::AckDue;
use super::congestion::CongestionControl;
use super::connection::{Connection, TcpError, MAX_PERSIST};
use super::state::State;
use super::stats::TcpStats;
use super::timer_table::Timer;
use crate::time::Instant;

impl Connection {
    /// Runs every timer due at `now`, then arms the persist timer if the window is now
    /// too small to send into.
    pub fn on_timers(&mut self, now: Instant, stats: &mut TcpStats) {
        self.run_due_timers(now, stats);
        self.update_persist(now);
    }

    fn run_due_timers(&mut self, now: Instant, stats: &mut TcpStats) {
        if self.timers.is_due(Timer::Close, now) {
            // TIME_WAIT over, or an orphan gave up in FIN_WAIT_2.
            self.timers.clear(Timer::Close);
            self.enter_closed(None);
            return;
        }
        if self.timers.is_due(Timer::Probe, now) {
            // Before the RTO: a PTO due at the same instant replaces it.
            self.on_probe_timeout(now);
        }
        if self.timers.is_due(Timer::Reorder, now) {
            self.timers.clear(Timer::Reorder);
            self.rack_detect_loss(now, stats);
        }
        if self.timers.is_due(Timer::Retransmit, now) {
            self.on_retransmission_timeout(now, stats);
        }
        if self.timers.is_due(Timer::Persist, now) {
            self.timers.clear(Timer::Persist);
            self.probe_due = true;
            self.persist_backoff = (self.persist_backoff + 1).min(16);
            // A probe outstanding from the last round is sent again from SND.UNA.
            if self.snd.nxt.gt(self.snd.una) && self.snd.wnd == 0 {
                self.snd.nxt = self.snd.una;
            }
            self.timers.set(Timer::Persist, now + self.persist_interval());
        }
        if self.timers.is_due(Timer::DelayedAck, now) {
            self.timers.clear(Timer::DelayedAck);
            if self.acks.due == AckDue::Delayed {
                stats.delayed_acks += 1;
                self.acks.due = AckDue::Now;
            }
        }
        if self.timers.is_due(Timer::Keepalive, now) {
            self.on_keepalive(now, stats);
        }
    }

    fn persist_interval(&self) -> crate::time::Duration {
        (self.rtt.rto() * (1u32 << self.persist_backoff.min(10))).min(MAX_PERSIST)
    }

    /// Data waits behind a window too small to use, nothing is in flight to bring a window
    /// update, and no timer runs (RFC 9293 §3.8.6.1).
    pub(super) fn persist_wanted(&self) -> bool {
        let waiting = self.data_end().gt(self.snd.nxt);
        let stalled = waiting && self.snd.wnd < self.smss.min(self.data_end() - self.snd.nxt);
        self.state.is_synchronized()
            && stalled
            && self.snd.nxt == self.snd.una
            && !self.timers.is_set(Timer::Persist)
            && !self.timers.is_set(Timer::Retransmit)
    }

    /// Arms the persist timer when data waits behind a window too small to use and
    /// nothing is in flight to bring a window update (RFC 9293 §3.8.6.1).
    pub(super) fn update_persist(&mut self, now: Instant) {
        if self.persist_wanted() {
            self.timers.set(Timer::Persist, now + self.persist_interval());
        }
    }

    /// The application closed the socket in FIN-WAIT-2 (after an earlier shutdown): the
    /// orphan's FIN-WAIT-2 timeout has yet to start.
    fn orphan_timer_wanted(&self) -> bool {
        self.orphaned && self.state == State::FinWait2 && !self.timers.is_set(Timer::Close)
    }

    /// Timers made due by an application call, which has no `now` to start them with:
    /// `wants_to_send` reports them so that the next `next_segment` does.
    pub(super) fn timers_to_start(&self) -> bool {
        self.persist_wanted() || self.orphan_timer_wanted()
    }

    pub(super) fn start_timers(&mut self, now: Instant) {
        self.update_persist(now);
        if self.orphan_timer_wanted() {
            self.timers.set(Timer::Close, now + self.config.fin_wait_2_timeout);
        }
    }

    /// RFC 6298 §5.4-5.7: back off, shrink the window to one segment (RFC 5681 §3.1) and
    /// send again from the first unacknowledged byte; give up after the retry limit.
    fn on_retransmission_timeout(&mut self, now: Instant, stats: &mut TcpStats) {
        if self.snd.wnd == 0 && self.state.is_synchronized() && self.data_end().gt(self.snd.una) {
            // The peer closed its window with our data outstanding: nothing may be
            // retransmitted, so the timer turns into the persist timer (RFC 9293 §3.8.6.1),
            // whose probes do not count against the retry limit while the peer answers
            // them (RFC 1122 §4.2.2.17).
            self.timers.clear(Timer::Retransmit);
            self.timers.clear(Timer::Probe);
            self.rtt_probe = None;
            self.snd.nxt = self.snd.una;
            self.probe_due = true;
            self.timers.set(Timer::Persist, now + self.persist_interval());
            return;
        }
        stats.timeouts += 1;
        self.retries += 1;
        self.rtt_probe = None;
        // RFC 8985 §7.3: the probe failed; the timeout takes over.
        self.timers.clear(Timer::Probe);
        self.tlp.cancel();
        self.timers.clear(Timer::Reorder);
        let limit = match self.state {
            State::SynSent => self.config.syn_retries,
            State::SynReceived => self.config.synack_retries,
            _ => self.config.data_retries,
        };
        if self.retries > limit {
            if self.state == State::SynSent {
                stats.failed_opens += 1;
            }
            self.enter_closed(Some(TcpError::TimedOut));
            return;
        }
        self.rtt.backoff();
        match self.state {
            State::SynSent | State::SynReceived => self.snd.nxt = self.snd.iss,
            _ => {
                let in_flight = self.snd.max - self.snd.una;
                self.cc.on_timeout(now, in_flight);
                self.recovery.on_timeout(self.snd.max);
                self.scoreboard.exit_recovery();
                self.snd.nxt = self.snd.una;
            }
        }
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }

    fn on_keepalive(&mut self, now: Instant, stats: &mut TcpStats) {
        let Some(keepalive) = self.config.keepalive else {
            self.timers.clear(Timer::Keepalive);
            return;
        };
        if !self.state.is_synchronized() {
            self.timers.set(Timer::Keepalive, now + keepalive.idle);
            return;
        }
        if self.keepalive_probes >= keepalive.count {
            stats.keepalive_timeouts += 1;
            self.abort();
            self.error = Some(TcpError::TimedOut);
            return;
        }
        // Probe only an idle connection: data in flight has its own timer.
        if self.snd.una == self.snd.max {
            self.keepalive_probes += 1;
            self.probe_due = true;
        }
        self.timers.set(Timer::Keepalive, now + keepalive.interval);
    }
}
