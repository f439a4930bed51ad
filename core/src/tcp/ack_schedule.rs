//! When we acknowledge (RFC 9293 §3.8.6.3, RFC 5681 §4.2): delayed ACKs with an ACK for at
//! least every second full-sized segment, a quick-ACK start (Linux's), and the rate limit
//! on ACKs that answer invalid segments (RFC 5961 §7, Linux `tcp_invalid_ratelimit`).

use crate::time::{Duration, Instant};

/// Segments acknowledged at once at the start of a connection (Linux's quick-ACK mode).
const QUICK_ACKS: u32 = 16;

/// Why an ACK is owed to the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum AckDue {
    None,
    /// At the delayed-ACK deadline, unless data carries it sooner.
    Delayed,
    /// On the next transmission opportunity.
    Now,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AckSchedule {
    pub due: AckDue,
    /// Full-sized segments received since the last ACK we sent.
    pub unacked_segments: u32,
    /// Segments still to be acknowledged at once (quick-ACK mode).
    pub quick_acks: u32,
    /// When we last sent an ACK in reply to an invalid segment or a challenge ACK.
    pub last_invalid_at: Option<Instant>,
}

impl AckSchedule {
    pub fn new() -> AckSchedule {
        AckSchedule { due: AckDue::None, unacked_segments: 0, quick_acks: QUICK_ACKS, last_invalid_at: None }
    }

    /// A segment carrying `len` bytes arrived in order: delay the ACK, but acknowledge at
    /// least every second full-sized segment, and at once in quick-ACK mode. Returns
    /// whether a delayed ACK starts now (the caller arms the timer).
    pub fn on_data(&mut self, len: usize, smss: usize) -> bool {
        if len >= smss {
            self.unacked_segments += 1;
        }
        if self.quick_acks > 0 {
            self.quick_acks -= 1;
            self.due = AckDue::Now;
        } else if self.unacked_segments >= 2 {
            self.due = AckDue::Now;
        } else if self.due == AckDue::None {
            self.due = AckDue::Delayed;
            return true;
        }
        false
    }

    /// A segment with the ACK bit left: nothing is owed any more.
    pub fn sent(&mut self) {
        self.due = AckDue::None;
        self.unacked_segments = 0;
    }

    /// Whether an ACK to an invalid segment may go out now, at most one per `interval`;
    /// if so, the interval starts again.
    pub fn invalid_ack_allowed(&mut self, now: Instant, interval: Duration) -> bool {
        if let Some(last) = self.last_invalid_at {
            if now >= last && now - last < interval {
                return false;
            }
        }
        self.last_invalid_at = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_second_full_segment_is_acknowledged_after_the_quick_acks() {
        let mut acks = AckSchedule::new();
        for _ in 0..QUICK_ACKS {
            assert!(!acks.on_data(1448, 1448));
            assert_eq!(acks.due, AckDue::Now);
            acks.sent();
        }
        assert!(acks.on_data(1448, 1448), "the first segment after quick-ACK mode is delayed");
        assert_eq!(acks.due, AckDue::Delayed);
        assert!(!acks.on_data(1448, 1448));
        assert_eq!(acks.due, AckDue::Now, "the second full segment is acknowledged at once");
        acks.sent();
        assert!(acks.on_data(100, 1448));
        assert!(!acks.on_data(100, 1448), "small segments do not count toward the second");
        assert_eq!(acks.due, AckDue::Delayed);
    }

    #[test]
    fn invalid_acks_are_limited_per_interval() {
        let mut acks = AckSchedule::new();
        let interval = Duration::from_millis(500);
        assert!(acks.invalid_ack_allowed(Instant::from_millis(1000), interval));
        assert!(!acks.invalid_ack_allowed(Instant::from_millis(1499), interval));
        assert!(acks.invalid_ack_allowed(Instant::from_millis(1500), interval));
    }
}
