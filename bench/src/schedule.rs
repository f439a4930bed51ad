//! The timeline of an open-loop load: request `i` is due at `start + i / rate`.
//!
//! Each due time is computed from the start, not from the previous one, so rounding never
//! accumulates into drift. A client that falls behind gets every missed request at once,
//! each still carrying the time it was due: latency measured from that time includes the
//! wait, which is how coordinated omission is avoided (Gil Tene, "How NOT to Measure
//! Latency"; wrk2 measures the same way).

use std::time::{Duration, Instant};

/// Due times of a fixed-rate request stream.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    /// Nanoseconds between requests.
    interval_ns: f64,
    /// The index of the next request to hand out.
    next: u64,
}

impl Schedule {
    /// A stream of `rate` requests per second (finite and > 0), the first due at `start`.
    pub fn new(start: Instant, rate: f64) -> Schedule {
        assert!(rate.is_finite() && rate > 0.0, "the request rate must be a positive number");
        Schedule { start, interval_ns: 1e9 / rate, next: 0 }
    }

    /// When the next request is due.
    pub fn next_due(&self) -> Instant {
        self.start + Duration::from_nanos((self.next as f64 * self.interval_ns) as u64)
    }

    /// The due time of the next request if it is due at `now`, and moves past it.
    pub fn take_due(&mut self, now: Instant) -> Option<Instant> {
        let due = self.next_due();
        if due > now {
            return None;
        }
        self.next += 1;
        Some(due)
    }

    /// The interval between requests, rounded to whole nanoseconds.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns.round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_due_at_multiples_of_the_interval() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start, 3.0);
        assert_eq!(schedule.take_due(start), Some(start));
        assert_eq!(schedule.take_due(start), None);
        let second = start + Duration::from_nanos(333_333_333);
        assert_eq!(schedule.next_due(), second);
        assert_eq!(schedule.take_due(second - Duration::from_nanos(1)), None);
        assert_eq!(schedule.take_due(second), Some(second));
    }

    #[test]
    fn a_late_client_gets_every_missed_request_with_its_own_due_time() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start, 1000.0);
        let now = start + Duration::from_micros(3500);
        let due: Vec<Duration> = std::iter::from_fn(|| schedule.take_due(now)).map(|t| t - start).collect();
        assert_eq!(due, (0..4).map(Duration::from_millis).collect::<Vec<_>>());
    }

    #[test]
    fn due_times_do_not_drift() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start, 7.0);
        let far = start + Duration::from_secs(1000);
        let mut last = start;
        for _ in 0..7001 {
            last = schedule.take_due(far).expect("due");
        }
        assert_eq!(last - start, Duration::from_secs(1000));
    }
}
