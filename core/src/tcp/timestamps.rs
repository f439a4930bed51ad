//! The timestamps option's state (RFC 7323): whether both sides agreed to it, our
//! timestamp clock, TS.Recent with the rules for updating it (§4.3), and PAWS (§5).

use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// RFC 7323 §5.5: TS.Recent older than 24 days is invalid (its clock may have wrapped), so
/// PAWS stops rejecting against it.
pub(super) const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 60 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timestamps {
    /// Both SYNs carried the option (RFC 7323 §3.2).
    pub enabled: bool,
    /// TS.Recent: the peer's timestamp to echo, and when it was recorded.
    pub recent: u32,
    pub recent_at: Instant,
    /// Added to our millisecond clock to make TSval (random per host pair, RFC 7323 §5.4).
    pub offset: u32,
    /// RCV.NXT as last acknowledged (Last.ACK.sent, §4.3).
    pub last_ack_sent: SeqNumber,
}

impl Timestamps {
    pub fn new(now: Instant, offset: u32) -> Timestamps {
        Timestamps { enabled: false, recent: 0, recent_at: now, offset, last_ack_sent: SeqNumber(0) }
    }

    /// The peer's SYN carried `tsval` (and we offered the option) or did not.
    pub fn negotiate(&mut self, now: Instant, tsval: Option<u32>) {
        match tsval {
            Some(tsval) => {
                self.enabled = true;
                self.recent = tsval;
                self.recent_at = now;
            }
            None => self.enabled = false,
        }
    }

    /// Our TSval for a segment sent at `at` (RFC 7323 §5.4: a millisecond clock).
    #[inline]
    pub fn value_at(&self, at: Instant) -> u32 {
        (at.total_millis() as u32).wrapping_add(self.offset)
    }

    /// RFC 7323 §5.3: a segment whose TSval is older than TS.Recent is an old duplicate,
    /// unless TS.Recent itself is too old to judge by.
    #[inline]
    pub fn paws_rejects(&self, now: Instant, tsval: u32) -> bool {
        let older = (tsval.wrapping_sub(self.recent) as i32) < 0;
        self.enabled && older && now - self.recent_at < PAWS_IDLE
    }

    /// RFC 7323 §4.3: TS.Recent takes the TSval of a segment that covers Last.ACK.sent and
    /// is not older.
    #[inline]
    pub fn update_recent(&mut self, now: Instant, seq: SeqNumber, tsval: u32) {
        let newer = (tsval.wrapping_sub(self.recent) as i32) >= 0;
        if self.enabled && seq.le(self.last_ack_sent) && newer {
            self.recent = tsval;
            self.recent_at = now;
        }
    }

    /// Whether a SYN's TSval is newer than TS.Recent (RFC 6191's TIME_WAIT reuse).
    pub fn is_newer(&self, tsval: u32) -> bool {
        (tsval.wrapping_sub(self.recent) as i32) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paws_rejects_older_timestamps_only_while_ts_recent_is_fresh() {
        let mut ts = Timestamps::new(Instant::ZERO, 0);
        ts.negotiate(Instant::from_secs(1), Some(1000));
        assert!(ts.paws_rejects(Instant::from_secs(2), 999));
        assert!(!ts.paws_rejects(Instant::from_secs(2), 1000));
        assert!(!ts.paws_rejects(Instant::from_secs(2), 1001));
        assert!(!ts.paws_rejects(Instant::from_secs(1) + PAWS_IDLE, 999), "TS.Recent too old to judge by");
        assert!(
            ts.paws_rejects(Instant::from_secs(2), 1000u32.wrapping_add(0x8000_0000)),
            "half the space back"
        );
    }

    #[test]
    fn ts_recent_moves_only_for_segments_covering_the_last_ack() {
        let mut ts = Timestamps::new(Instant::ZERO, 0);
        ts.negotiate(Instant::ZERO, Some(10));
        ts.last_ack_sent = SeqNumber(5000);
        ts.update_recent(Instant::from_millis(5), SeqNumber(5001), 20);
        assert_eq!(ts.recent, 10, "a segment beyond Last.ACK.sent");
        ts.update_recent(Instant::from_millis(5), SeqNumber(4000), 9);
        assert_eq!(ts.recent, 10, "an older timestamp");
        ts.update_recent(Instant::from_millis(6), SeqNumber(5000), 20);
        assert_eq!((ts.recent, ts.recent_at), (20, Instant::from_millis(6)));
    }

    #[test]
    fn our_clock_is_milliseconds_plus_the_offset() {
        let ts = Timestamps::new(Instant::ZERO, u32::MAX);
        assert_eq!(ts.value_at(Instant::from_millis(3)), 2);
    }
}
