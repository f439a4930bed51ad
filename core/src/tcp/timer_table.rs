//! A connection's timers as one table indexed by [`Timer`] (quinn-proto's `TimerTable`):
//! setting, clearing and asking about a timer names it, and the earliest deadline is one
//! fold over the table instead of a hand-written chain per caller.

use crate::time::Instant;

/// The timers a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Retransmission timeout (RFC 6298 §5).
    Retransmit,
    /// Tail loss probe timeout (RFC 8985 §7.2), armed instead of waiting for the RTO.
    Probe,
    /// RACK's reordering timer (RFC 8985 §6.2 step 5), while a segment awaits the window.
    Reorder,
    /// Zero-window probes (RFC 9293 §3.8.6.1).
    Persist,
    /// Delayed ACK (RFC 9293 §3.8.6.3).
    DelayedAck,
    /// Keepalive (RFC 1122 §4.2.3.6).
    Keepalive,
    /// The end of TIME_WAIT (2 MSL, RFC 9293 §3.4.2) or of an orphan's FIN-WAIT-2.
    Close,
}

impl Timer {
    const COUNT: usize = 7;
    pub const ALL: [Timer; Timer::COUNT] = [
        Timer::Retransmit,
        Timer::Probe,
        Timer::Reorder,
        Timer::Persist,
        Timer::DelayedAck,
        Timer::Keepalive,
        Timer::Close,
    ];
}

/// When each timer fires, if it is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    #[inline]
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    #[inline]
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    #[inline]
    pub fn clear(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    #[inline]
    pub fn is_set(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize].is_some()
    }

    /// Whether `timer` is set and due at `now`.
    #[inline]
    pub fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.deadlines[timer as usize].is_some_and(|at| at <= now)
    }

    /// Clears every timer (the connection closed).
    pub fn clear_all(&mut self) {
        self.deadlines = [None; Timer::COUNT];
    }

    /// The earliest deadline of any timer.
    #[inline]
    pub fn next_deadline(&self) -> Option<Instant> {
        // Branch-free: an unset timer counts as the end of time; whether any is set is
        // asked separately, since a deadline may sit at the end of time itself (instants
        // saturate).
        let mut earliest = u64::MAX;
        let mut any = false;
        for deadline in self.deadlines {
            earliest = earliest.min(deadline.map_or(u64::MAX, Instant::total_micros));
            any |= deadline.is_some();
        }
        any.then_some(Instant::from_micros(earliest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_set_timer_is_the_deadline() {
        let mut timers = TimerTable::default();
        assert_eq!(timers.next_deadline(), None);
        timers.set(Timer::Keepalive, Instant::from_millis(900));
        timers.set(Timer::Retransmit, Instant::from_millis(200));
        assert_eq!(timers.next_deadline(), Some(Instant::from_millis(200)));
        timers.clear(Timer::Retransmit);
        assert_eq!(timers.next_deadline(), Some(Instant::from_millis(900)));
        assert!(timers.is_due(Timer::Keepalive, Instant::from_millis(900)));
        assert!(!timers.is_due(Timer::Keepalive, Instant::from_millis(899)));
        assert!(!timers.is_due(Timer::Persist, Instant::from_millis(5_000)));
    }

    #[test]
    fn a_deadline_at_the_end_of_time_still_counts() {
        let mut timers = TimerTable::default();
        let end = Instant::from_micros(u64::MAX);
        timers.set(Timer::Close, end);
        assert_eq!(timers.next_deadline(), Some(end));
        timers.clear_all();
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn every_timer_has_its_own_slot() {
        let mut timers = TimerTable::default();
        for (i, timer) in Timer::ALL.into_iter().enumerate() {
            timers.set(timer, Instant::from_millis(i as u64 + 1));
        }
        for (i, timer) in Timer::ALL.into_iter().enumerate() {
            assert_eq!(timers.get(timer), Some(Instant::from_millis(i as u64 + 1)));
        }
    }
}
