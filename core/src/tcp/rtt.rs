//! Round-trip time estimation and the retransmission timeout (RFC 6298).
//!
//! [`RttEstimator`] keeps SRTT and RTTVAR (RFC 6298 §2) and the current RTO with its
//! exponential backoff (§5.5). Arithmetic is integer only: SRTT and RTTVAR are held in
//! eighths of a microsecond, so the gains of 1/8 and 1/4 are exact for samples in whole
//! microseconds and the results are the same on every machine.
//!
//! Which segments may be timed is the caller's business; see [`RttSample`] for Karn's rule.

use crate::time::{Duration, Instant};
use crate::wire::tcp::SeqNumber;

/// Samples longer than this (about 12.7 days) are taken as this long, which keeps every
/// intermediate value far from overflow.
const MAX_SAMPLE_US: u64 = 1 << 40;

/// RFC 6298 §2.3: RTO = SRTT + max(G, K*RTTVAR) with K = 4.
const K: u64 = 4;

/// RFC 6298 §5.7: the RTO once data transmission begins after a timed-out SYN.
const SYN_FALLBACK_RTO: Duration = Duration::from_secs(3);

/// The estimator's limits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RttConfig {
    /// RFC 6298 §2.1: the RTO before any sample, 1 s.
    pub initial_rto: Duration,
    /// RFC 6298 §2.4 says 1 s; the default is Linux's 200 ms (`TCP_RTO_MIN`).
    pub min_rto: Duration,
    /// RFC 6298 §2.5: an upper bound of at least 60 s; the default is Linux's 120 s.
    pub max_rto: Duration,
    /// RFC 6298 §2.3: the clock granularity G, 1 ms.
    pub granularity: Duration,
}

impl Default for RttConfig {
    fn default() -> RttConfig {
        RttConfig {
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            granularity: Duration::from_millis(1),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A duration held in eighths of a microsecond (125 ns each), exactly.
fn from_eighths(eighths: u64) -> Duration {
    Duration::from_micros(eighths / 8) + Duration::from_nanos((eighths % 8) * 125)
}

/// SRTT, RTTVAR and the retransmission timeout of one connection (RFC 6298).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RttEstimator {
    min_rto_us: u64,
    max_rto_us: u64,
    granularity_us: u64,
    /// SRTT and RTTVAR in eighths of a microsecond, once there is a sample.
    smoothed: Option<Smoothed>,
    /// The RTO before backoff, in microseconds, already within [min, max].
    base_rto_us: u64,
    /// RFC 6298 §5.5: the number of doublings since the last sample.
    backoffs: u32,
    min_rtt_us: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Smoothed {
    srtt8: u64,
    rttvar8: u64,
}

impl RttEstimator {
    /// An estimator with no sample yet: RTO = `initial_rto` (RFC 6298 §2.1), clamped to
    /// [`min_rto`, `max_rto`]. A `max_rto` below `min_rto` is raised to it, and the RTO is
    /// never below 1 µs.
    pub fn new(config: RttConfig) -> RttEstimator {
        let min_rto_us = micros(config.min_rto).max(1);
        let max_rto_us = micros(config.max_rto).max(min_rto_us);
        RttEstimator {
            min_rto_us,
            max_rto_us,
            granularity_us: micros(config.granularity).min(MAX_SAMPLE_US),
            smoothed: None,
            base_rto_us: micros(config.initial_rto).clamp(min_rto_us, max_rto_us),
            backoffs: 0,
            min_rtt_us: None,
        }
    }

    /// Takes one RTT measurement R (RFC 6298 §2.2, §2.3) and resets the backoff: a new RTO
    /// is computed from SRTT and RTTVAR alone.
    pub fn on_sample(&mut self, rtt: Duration) {
        let r_us = micros(rtt).min(MAX_SAMPLE_US);
        let r8 = r_us * 8;
        let smoothed = match self.smoothed {
            // §2.2: SRTT <- R, RTTVAR <- R/2.
            None => Smoothed { srtt8: r8, rttvar8: r8 / 2 },
            // §2.3: RTTVAR <- (1 - 1/4)*RTTVAR + 1/4*|SRTT - R'| (with the old SRTT), then
            // SRTT <- (1 - 1/8)*SRTT + 1/8*R'. Rounded down to an eighth of a µs.
            Some(Smoothed { srtt8, rttvar8 }) => {
                Smoothed { rttvar8: (3 * rttvar8 + srtt8.abs_diff(r8)) / 4, srtt8: (7 * srtt8 + r8) / 8 }
            }
        };
        self.smoothed = Some(smoothed);
        // §2.3: RTO <- SRTT + max(G, K*RTTVAR), rounded up to a whole µs; §2.4, §2.5: clamped.
        let rto8 = smoothed.srtt8 + (self.granularity_us * 8).max(K * smoothed.rttvar8);
        self.base_rto_us = rto8.div_ceil(8).clamp(self.min_rto_us, self.max_rto_us);
        self.backoffs = 0;
        self.min_rtt_us = Some(self.min_rtt_us.map_or(r_us, |m| m.min(r_us)));
    }

    /// The retransmission timeout now, backoff included, within [`min_rto`, `max_rto`].
    pub fn rto(&self) -> Duration {
        let rto_us = if self.backoffs >= u64::BITS {
            self.max_rto_us
        } else {
            self.base_rto_us.saturating_mul(1 << self.backoffs).min(self.max_rto_us)
        };
        Duration::from_micros(rto_us)
    }

    /// RFC 6298 §5.5: the retransmission timer expired; RTO <- RTO * 2, at most `max_rto`.
    pub fn backoff(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// Doublings since the last sample (or since creation): the count of consecutive
    /// timeouts, for retry limits.
    pub fn backoff_count(&self) -> u32 {
        self.backoffs
    }

    /// RFC 6298 §5.7: the SYN (or SYN-ACK) was retransmitted after a timeout and no sample
    /// was taken, so the RTO becomes 3 s (within the limits) when data transfer begins.
    pub fn on_syn_timeout_fallback(&mut self) {
        if self.smoothed.is_none() {
            self.base_rto_us =
                self.base_rto_us.max(micros(SYN_FALLBACK_RTO)).clamp(self.min_rto_us, self.max_rto_us);
            self.backoffs = 0;
        }
    }

    /// SRTT, once a sample has been taken.
    pub fn srtt(&self) -> Option<Duration> {
        self.smoothed.map(|s| from_eighths(s.srtt8))
    }

    /// RTTVAR, once a sample has been taken.
    pub fn rttvar(&self) -> Option<Duration> {
        self.smoothed.map(|s| from_eighths(s.rttvar8))
    }

    /// The lowest sample seen, for delay-based uses (CUBIC's target, HyStart).
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt_us.map(Duration::from_micros)
    }
}

impl Default for RttEstimator {
    fn default() -> RttEstimator {
        RttEstimator::new(RttConfig::default())
    }
}

/// One timed segment: the classic measurement of one RTT sample per flight (RFC 6298 §3,
/// RFC 9293 §3.8.1), for connections without timestamps.
///
/// Karn's rule (RFC 6298 §3) is the caller's duty: an ACK for a retransmitted segment is
/// ambiguous, so when any segment covering the timed range is retransmitted the caller
/// must drop its `RttSample` and take no sample until new data is timed. With timestamps
/// (RFC 7323 §4) every ACK that echoes a timestamp gives an unambiguous sample, including
/// ACKs of retransmissions; see [`RttSample::from_timestamps`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RttSample {
    end: SeqNumber,
    sent_at: Instant,
}

impl RttSample {
    /// Times the segment ending just before `end` (its last sequence number plus one),
    /// first sent at `sent_at`.
    pub fn new(end: SeqNumber, sent_at: Instant) -> RttSample {
        RttSample { end, sent_at }
    }

    pub fn end(&self) -> SeqNumber {
        self.end
    }

    pub fn sent_at(&self) -> Instant {
        self.sent_at
    }

    /// The RTT, if the cumulative `ack` covers the timed segment.
    pub fn measure(&self, ack: SeqNumber, now: Instant) -> Option<Duration> {
        ack.ge(self.end).then(|| now - self.sent_at)
    }

    /// RFC 7323 §4.1: the RTT from an echoed timestamp, `ts_now - ts_ecr` ticks of the
    /// caller's timestamp clock (`tick` per unit). `None` if the echo lies in the future
    /// (modulo 2^32, RFC 7323 §5.2), which only a broken or hostile peer sends.
    pub fn from_timestamps(ts_now: u32, ts_ecr: u32, tick: Duration) -> Option<Duration> {
        let ticks = ts_now.wrapping_sub(ts_ecr);
        if ticks > i32::MAX as u32 {
            return None;
        }
        tick.checked_mul(ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn initial_rto_before_any_sample() {
        let est = RttEstimator::default();
        assert_eq!(est.rto(), Duration::from_secs(1));
        assert_eq!(est.srtt(), None);
        assert_eq!(est.rttvar(), None);
        assert_eq!(est.min_rtt(), None);
        assert_eq!(est.backoff_count(), 0);
    }

    /// RFC 6298 §2.2–2.3 worked by hand (G = 1 ms, no clamping in play):
    /// R=100: SRTT 100, RTTVAR 50, RTO 100 + 4*50 = 300.
    /// R=180: RTTVAR 3/4*50 + 1/4*80 = 57.5; SRTT 7/8*100 + 180/8 = 110; RTO 110 + 230 = 340.
    /// R=110: RTTVAR 3/4*57.5 + 0 = 43.125; SRTT 110; RTO 110 + 172.5 = 282.5.
    /// R=30: RTTVAR 3/4*43.125 + 1/4*80 = 52.34375; SRTT 96.25 + 3.75 = 100; RTO 309.375.
    #[test]
    fn rfc6298_formulas_by_hand() {
        let mut est = RttEstimator::new(RttConfig { min_rto: ms(1), ..RttConfig::default() });
        let expected = [
            (100, us(100_000), us(50_000), us(300_000)),
            (180, us(110_000), us(57_500), us(340_000)),
            (110, us(110_000), us(43_125), us(282_500)),
            (30, us(100_000), Duration::from_nanos(52_343_750), us(309_375)),
        ];
        for (r, srtt, rttvar, rto) in expected {
            est.on_sample(ms(r));
            assert_eq!(est.srtt(), Some(srtt), "SRTT after R={r} ms");
            assert_eq!(est.rttvar(), Some(rttvar), "RTTVAR after R={r} ms");
            assert_eq!(est.rto(), rto, "RTO after R={r} ms");
        }
        assert_eq!(est.min_rtt(), Some(ms(30)));
    }

    #[test]
    fn granularity_floors_the_variance_term() {
        // A steady 50 ms path: RTTVAR decays toward zero, so RTO tends to SRTT + G.
        let mut est =
            RttEstimator::new(RttConfig { min_rto: us(1), granularity: ms(10), ..RttConfig::default() });
        for _ in 0..200 {
            est.on_sample(ms(50));
        }
        assert_eq!(est.srtt(), Some(ms(50)));
        assert_eq!(est.rttvar(), Some(Duration::ZERO));
        assert_eq!(est.rto(), ms(60));
    }

    #[test]
    fn rto_is_clamped_to_min_and_max() {
        let mut est = RttEstimator::default();
        est.on_sample(us(100));
        // 100 µs + max(1 ms, 200 µs) = 1.1 ms, raised to the 200 ms minimum (§2.4).
        assert_eq!(est.rto(), ms(200));
        est.on_sample(Duration::from_secs(3600));
        assert_eq!(est.rto(), Duration::from_secs(120));

        // The RFC's own 1 s minimum, when configured.
        let mut rfc =
            RttEstimator::new(RttConfig { min_rto: Duration::from_secs(1), ..RttConfig::default() });
        rfc.on_sample(ms(10));
        assert_eq!(rfc.rto(), Duration::from_secs(1));
    }

    #[test]
    fn initial_rto_respects_limits() {
        let est = RttEstimator::new(RttConfig { initial_rto: ms(1), ..RttConfig::default() });
        assert_eq!(est.rto(), ms(200));
        // A maximum below the minimum is raised to it rather than panicking in clamp.
        let odd = RttEstimator::new(RttConfig { min_rto: ms(500), max_rto: ms(100), ..RttConfig::default() });
        assert_eq!(odd.rto(), ms(500));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut est = RttEstimator::default();
        let mut expected = Duration::from_secs(1);
        for n in 1..=6 {
            est.backoff();
            expected *= 2;
            assert_eq!(est.backoff_count(), n);
            assert_eq!(est.rto(), expected);
        }
        assert_eq!(est.rto(), Duration::from_secs(64));
        est.backoff();
        assert_eq!(est.rto(), Duration::from_secs(120));
        for _ in 0..100 {
            est.backoff();
        }
        assert_eq!(est.rto(), Duration::from_secs(120));
        assert_eq!(est.backoff_count(), 107);
    }

    #[test]
    fn sample_resets_backoff() {
        let mut est = RttEstimator::default();
        est.on_sample(ms(100));
        assert_eq!(est.rto(), ms(300));
        est.backoff();
        est.backoff();
        assert_eq!(est.rto(), ms(1200));
        est.on_sample(ms(100));
        assert_eq!(est.backoff_count(), 0);
        // RTTVAR 3/4*50 = 37.5, RTO = 100 + 150.
        assert_eq!(est.rto(), ms(250));
    }

    #[test]
    fn syn_timeout_fallback_only_without_samples() {
        let mut est = RttEstimator::default();
        est.backoff();
        est.on_syn_timeout_fallback();
        assert_eq!(est.rto(), Duration::from_secs(3));
        assert_eq!(est.backoff_count(), 0);

        let mut sampled = RttEstimator::default();
        sampled.on_sample(ms(100));
        sampled.on_syn_timeout_fallback();
        assert_eq!(sampled.rto(), ms(300));
    }

    #[test]
    fn zero_samples_are_fine() {
        let mut est = RttEstimator::new(RttConfig { min_rto: Duration::ZERO, ..RttConfig::default() });
        est.on_sample(Duration::ZERO);
        assert_eq!(est.srtt(), Some(Duration::ZERO));
        // SRTT 0 + G 1 ms.
        assert_eq!(est.rto(), ms(1));
        let mut no_g = RttEstimator::new(RttConfig {
            min_rto: Duration::ZERO,
            granularity: Duration::ZERO,
            ..RttConfig::default()
        });
        no_g.on_sample(Duration::ZERO);
        assert_eq!(no_g.rto(), us(1));
    }

    #[test]
    fn timed_segment_and_karn() {
        let sample = RttSample::new(SeqNumber(1000), Instant::from_millis(5));
        assert_eq!(sample.measure(SeqNumber(999), Instant::from_millis(40)), None);
        assert_eq!(sample.measure(SeqNumber(1000), Instant::from_millis(45)), Some(ms(40)));
        assert_eq!(sample.measure(SeqNumber(5000), Instant::from_millis(45)), Some(ms(40)));
        // Across the 2^32 wrap.
        let wrapped = RttSample::new(SeqNumber(10), Instant::ZERO);
        assert_eq!(wrapped.measure(SeqNumber(u32::MAX - 5), Instant::from_millis(1)), None);
        assert_eq!(wrapped.measure(SeqNumber(20), Instant::from_millis(1)), Some(ms(1)));
    }

    #[test]
    fn timestamp_samples() {
        assert_eq!(RttSample::from_timestamps(1_050, 1_000, ms(1)), Some(ms(50)));
        assert_eq!(RttSample::from_timestamps(3, u32::MAX - 1, us(10)), Some(us(50)));
        assert_eq!(RttSample::from_timestamps(1_000, 1_050, ms(1)), None);
        assert_eq!(RttSample::from_timestamps(7, 7, ms(1)), Some(Duration::ZERO));
    }

    proptest! {
        #[test]
        fn never_panics_and_rto_within_limits(
            min_us in 0u64..5_000_000,
            span_us in 0u64..200_000_000,
            initial_us in any::<u64>(),
            g_us in any::<u64>(),
            events in proptest::collection::vec((any::<bool>(), any::<u64>()), 0..200),
        ) {
            let config = RttConfig {
                initial_rto: us(initial_us),
                min_rto: us(min_us),
                max_rto: us(min_us + span_us),
                granularity: us(g_us),
            };
            let mut est = RttEstimator::new(config);
            let (lo, hi) = (us(min_us.max(1)), us((min_us + span_us).max(1)));
            let mut lowest: Option<Duration> = None;
            for (is_sample, value) in events {
                if is_sample {
                    let sample = Duration::from_nanos(value);
                    est.on_sample(sample);
                    let sample_us = us((sample.as_micros() as u64).min(MAX_SAMPLE_US));
                    lowest = Some(lowest.map_or(sample_us, |l| l.min(sample_us)));
                    prop_assert_eq!(est.backoff_count(), 0);
                    prop_assert!(est.srtt().is_some() && est.rttvar().is_some());
                    prop_assert_eq!(est.min_rtt(), lowest);
                } else {
                    let before = est.rto();
                    est.backoff();
                    prop_assert!(est.rto() >= before);
                }
                prop_assert!(est.rto() >= lo && est.rto() <= hi, "{:?} outside [{:?}, {:?}]", est.rto(), lo, hi);
            }
            est.on_syn_timeout_fallback();
            prop_assert!(est.rto() >= lo && est.rto() <= hi);
        }

        #[test]
        fn huge_samples_saturate(samples in proptest::collection::vec(any::<u64>(), 1..50)) {
            let mut est = RttEstimator::default();
            for s in samples {
                est.on_sample(Duration::from_secs(s));
                prop_assert!(est.rto() <= Duration::from_secs(120));
            }
        }
    }
}
