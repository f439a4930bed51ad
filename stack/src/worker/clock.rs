//! The workers' clock: one monotonic epoch shared by every worker of a runtime, so the
//! instants they pass to the protocol core agree.

use std::time::Instant as StdInstant;

use crate::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: StdInstant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock { epoch: StdInstant::now() }
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros(self.epoch.elapsed().as_micros() as u64)
    }

    /// The wall-clock moment of `at`, for sleeping until a deadline.
    pub fn to_std(&self, at: Instant) -> StdInstant {
        self.epoch + std::time::Duration::from_micros(at.total_micros())
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}
