//! The stack-wide budget of challenge ACKs (RFC 5961 §7), randomized against the side
//! channel of CVE-2016-5696.
//!
//! RFC 5961 §7 asks for a limit on challenge ACKs across the stack. A fixed limit is itself
//! a side channel: an off-path attacker spoofs segments for a victim connection and counts
//! the challenge ACKs its own connection still gets in the same second, learning whether
//! its guess of the victim's ports or sequence numbers was in the window. Linux (since 4.7)
//! therefore draws a fresh budget every second: half the limit plus a random amount below
//! the limit (`tcp_challenge_ack_limit`). The draw comes from a ChaCha8 generator keyed by
//! the socket set's secret, so the core stays pure and every run with one secret repeats
//! exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::time::Instant;

/// Domain label mixed into the generator's key, so it shares nothing with the secret's
/// other uses (initial sequence numbers, SYN cookies).
const LABEL: &[u8; 16] = b"rfc5961-chal-ack";

#[derive(Debug, Clone)]
pub struct ChallengeAckBudget {
    limit: u32,
    /// The second (of the virtual clock) the budget was drawn for; `None` before the first.
    second: Option<u64>,
    remaining: u32,
    rng: ChaCha8Rng,
}

impl ChallengeAckBudget {
    /// A budget averaging `limit_per_sec` challenge ACKs per second (0: none at all), drawn
    /// from a generator keyed by `secret`.
    pub fn new(limit_per_sec: u32, secret: [u8; 16]) -> ChallengeAckBudget {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(&secret);
        seed[16..].copy_from_slice(LABEL);
        ChallengeAckBudget {
            limit: limit_per_sec,
            second: None,
            remaining: 0,
            rng: ChaCha8Rng::from_seed(seed),
        }
    }

    /// Takes one challenge ACK from the budget of `now`'s second, if any is left. A new
    /// second draws a new budget: `limit / 2 + random(0 .. limit)` (CVE-2016-5696).
    pub fn try_take(&mut self, now: Instant) -> bool {
        let second = now.total_micros() / 1_000_000;
        if self.second != Some(second) {
            self.second = Some(second);
            self.remaining = self.draw();
        }
        if self.remaining == 0 {
            return false;
        }
        self.remaining -= 1;
        true
    }

    /// The budget of one second: in `[ceil(limit / 2), ceil(limit / 2) + limit)`.
    fn draw(&mut self) -> u32 {
        if self.limit == 0 {
            return 0;
        }
        let half = self.limit.div_ceil(2);
        half.saturating_add(self.rng.gen_range(0..self.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_second(budget: &mut ChallengeAckBudget, second: u64) -> u32 {
        let at = Instant::from_secs(second);
        (0..1000).map(|_| budget.try_take(at)).filter(|&taken| taken).count() as u32
    }

    #[test]
    fn each_second_draws_between_half_and_one_and_a_half_times_the_limit() {
        let mut budget = ChallengeAckBudget::new(100, [1; 16]);
        let budgets: Vec<u32> = (0..50).map(|s| per_second(&mut budget, s)).collect();
        assert!(budgets.iter().all(|&b| (50..150).contains(&b)), "{budgets:?}");
        // Random, not one fixed count an attacker could subtract.
        let distinct: std::collections::HashSet<_> = budgets.iter().collect();
        assert!(distinct.len() > 20, "{budgets:?}");
    }

    #[test]
    fn the_same_secret_repeats_and_another_differs() {
        let run = |secret| {
            let mut budget = ChallengeAckBudget::new(100, secret);
            (0..10).map(|s| per_second(&mut budget, s)).collect::<Vec<_>>()
        };
        assert_eq!(run([1; 16]), run([1; 16]));
        assert_ne!(run([1; 16]), run([2; 16]));
    }

    #[test]
    fn a_zero_limit_grants_nothing() {
        let mut budget = ChallengeAckBudget::new(0, [1; 16]);
        assert_eq!(per_second(&mut budget, 3), 0);
    }
}
