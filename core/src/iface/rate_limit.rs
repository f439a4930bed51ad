//! A token bucket, for limiting the ICMP errors the interface sends.
//!
//! RFC 1812 §4.3.2.8 and RFC 1122 §3.2.2 ask that ICMP error generation be rate-limited so
//! a flood of bad packets cannot be turned into a flood of errors; Linux does it with a
//! token bucket (`icmp_ratelimit`, `icmp_msgs_per_sec`, `icmp_msgs_burst`).

use crate::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Microseconds of refill per token.
    interval_us: u64,
    capacity: u32,
    tokens: u32,
    /// When the next token is earned.
    refilled_at: Instant,
}

impl TokenBucket {
    /// `per_second` tokens per second on average, at most `burst` at once. A bucket with
    /// `per_second == 0` never grants a token.
    pub fn new(per_second: u32, burst: u32) -> TokenBucket {
        let interval_us = if per_second == 0 { u64::MAX } else { 1_000_000 / u64::from(per_second) };
        TokenBucket {
            interval_us: interval_us.max(1),
            capacity: burst,
            tokens: burst,
            refilled_at: Instant::ZERO,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            false
        }
    }

    fn refill(&mut self, now: Instant) {
        if self.interval_us == u64::MAX {
            return;
        }
        if self.tokens >= self.capacity {
            self.refilled_at = now;
            return;
        }
        let elapsed = (now - self.refilled_at).as_micros() as u64;
        let earned = elapsed / self.interval_us;
        if earned > 0 {
            self.tokens =
                self.capacity.min(self.tokens.saturating_add(u32::try_from(earned).unwrap_or(u32::MAX)));
            self.refilled_at += Duration::from_micros(earned * self.interval_us);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let mut bucket = TokenBucket::new(10, 3);
        let t0 = Instant::from_secs(5);
        assert!((0..3).all(|_| bucket.try_take(t0)));
        assert!(!bucket.try_take(t0));
        assert!(!bucket.try_take(t0 + Duration::from_millis(99)));
        assert!(bucket.try_take(t0 + Duration::from_millis(100)));
        assert!(!bucket.try_take(t0 + Duration::from_millis(150)));
        // A long idle spell refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| bucket.try_take(later)).count(), 3);
    }

    #[test]
    fn zero_rate_never_grants() {
        let mut bucket = TokenBucket::new(0, 0);
        assert!(!bucket.try_take(Instant::from_secs(100)));
    }
}
