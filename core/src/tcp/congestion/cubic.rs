//! CUBIC congestion control (RFC 9438).
//!
//! The window function is W_cubic(t) = C*(t − K)^3 + W_max (RFC 9438 §4.2) with C = 0.4
//! and β_cubic = 0.7 (§4.1.1). Everything is integer: time in microseconds, windows in
//! bytes (segments × MSS), K from an exact integer cube root, W_est in 1/1024 bytes. The
//! same inputs give the same windows on every machine.

use super::{CongestionControl, Window, MAX_WINDOW};
use crate::time::{Duration, Instant};

/// RFC 9438 §4.1.1: β_cubic = 0.7, the multiplicative decrease factor.
const BETA: (u64, u64) = (7, 10);
/// RFC 9438 §4.7: (1 + β_cubic) / 2 = 0.85, fast convergence's extra release of W_max.
const FAST_CONVERGENCE: (u64, u64) = (17, 20);
/// RFC 9438 §4.1.1: C = 0.4 (segments / s^3).
const C: (i128, i128) = (4, 10);
/// RFC 9438 §4.3: α_cubic = 3 * (1 − β_cubic) / (1 + β_cubic) = 0.9 / 1.7 = 9/17.
const ALPHA: (u128, u128) = (9, 17);
/// Microseconds cubed per second cubed.
const US3_PER_S3: i128 = 1_000_000_000_000_000_000;
/// Fractional bits of W_est.
const W_EST_SHIFT: u32 = 10;
/// |t − K| is taken as at most 2^32 µs (71 minutes); the window saturates long before, and
/// the cube then stays well inside i128.
const MAX_OFFSET_US: i128 = 1 << 32;

/// `x * num / den` without overflow, saturating.
fn mul_frac(x: usize, (num, den): (u64, u64)) -> usize {
    usize::try_from(x as u128 * u128::from(num) / u128::from(den.max(1))).unwrap_or(usize::MAX)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The floor of the cube root, exactly (bisection; the root of a u128 is below 2^43).
fn icbrt(x: u128) -> u64 {
    let (mut lo, mut hi) = (0u64, 1u64 << 43);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let m = u128::from(mid);
        match m.checked_mul(m).and_then(|sq| sq.checked_mul(m)) {
            Some(cube) if cube <= x => lo = mid,
            _ => hi = mid,
        }
    }
    lo
}

/// Options of [`Cubic`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CubicConfig {
    /// RFC 9438 §4.7: release bandwidth faster when the window shrinks from one loss to the
    /// next (default on, as the RFC recommends).
    pub fast_convergence: bool,
}

impl Default for CubicConfig {
    fn default() -> CubicConfig {
        CubicConfig { fast_convergence: true }
    }
}

/// One congestion avoidance stage (RFC 9438 §4.2: its start is `epoch_start`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Epoch {
    start: Instant,
    /// K, in microseconds: when the curve reaches `origin` again.
    k_us: u64,
    /// The plateau of this stage's curve: W_max, or the window at the start of the stage
    /// when there is no W_max (§4.8, §4.10) or the window is already above it.
    origin: usize,
    /// RFC 9438 §4.3: W_est in 1/1024 bytes.
    w_est: u64,
}

/// RFC 9438 CUBIC: slow start as Reno (RFC 5681, RFC 3465 byte counting), then the cubic
/// window function in congestion avoidance, bounded below by the Reno-friendly estimate.
///
/// - On a loss (§4.6, §4.7): W_max = cwnd (0.85*cwnd with fast convergence when the window
///   is below the previous W_max), ssthresh = max(0.7*FlightSize, 2*SMSS), cwnd = ssthresh.
///   RFC 9438 §4.6 bases ssthresh on FlightSize, as RFC 5681 does (Linux uses cwnd, which
///   the RFC allows only with cwnd validation; the validation is also done here, since the
///   window grows only while cwnd-limited).
/// - On a timeout (§4.8): ssthresh as on a loss, cwnd = 1*SMSS, and the next congestion
///   avoidance stage starts with K = 0 and W_max = its initial window.
/// - After idle (§5.8): the idle time does not count in t.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cubic {
    window: Window,
    config: CubicConfig,
    /// RFC 9438 §4.1.2: W_max in bytes, 0 while undefined (before any loss, after a timeout).
    w_max: usize,
    /// RFC 9438 §4.1.2: cwnd_prior, the window before the last reduction.
    cwnd_prior: usize,
    /// The current congestion avoidance stage; `None` until the first ACK in it.
    epoch: Option<Epoch>,
}

impl Cubic {
    pub fn new(mss: usize, now: Instant) -> Cubic {
        Cubic::with_config(CubicConfig::default(), mss, now)
    }

    pub fn with_config(config: CubicConfig, mss: usize, now: Instant) -> Cubic {
        Cubic { window: Window::new(mss, now), config, w_max: 0, cwnd_prior: 0, epoch: None }
    }

    /// The MSS the windows are counted in.
    pub fn mss(&self) -> usize {
        self.window.mss
    }

    /// W_max in bytes, once a congestion event defined it.
    pub fn w_max(&self) -> Option<usize> {
        (self.w_max > 0).then_some(self.w_max)
    }

    /// K of the current congestion avoidance stage.
    pub fn k(&self) -> Option<Duration> {
        self.epoch.map(|e| Duration::from_micros(e.k_us))
    }

    /// When the current congestion avoidance stage began (`epoch_start`).
    pub fn epoch_start(&self) -> Option<Instant> {
        self.epoch.map(|e| e.start)
    }

    /// The Reno-friendly estimate W_est in bytes (§4.3), during congestion avoidance.
    pub fn w_est(&self) -> Option<usize> {
        self.epoch.map(|e| usize::try_from(e.w_est >> W_EST_SHIFT).unwrap_or(usize::MAX))
    }

    /// RFC 9438 §4.2: K = cbrt((W_max − cwnd_epoch) / C) in microseconds, the differences
    /// in segments: K_us^3 = (W_max − cwnd_epoch) * 10^18 / (C * MSS).
    fn k_us(&self, w_max: usize, cwnd_epoch: usize) -> u64 {
        let diff = w_max.saturating_sub(cwnd_epoch).min(MAX_WINDOW) as u128;
        let (c_num, c_den) = (C.0 as u128, C.1 as u128);
        icbrt(diff * c_den * US3_PER_S3 as u128 / (c_num * self.window.mss as u128))
    }

    /// The start of a congestion avoidance stage (RFC 9438 §4.2, §4.3, §4.8, §4.10).
    fn start_epoch(&mut self, now: Instant) -> Epoch {
        let cwnd = self.window.cwnd;
        let (k_us, origin) = if self.w_max > cwnd {
            (self.k_us(self.w_max, cwnd), self.w_max)
        } else {
            // No W_max (first stage after a timeout or without a loss), or the window is at
            // or above it: K = 0 and W_max is the window now.
            self.w_max = cwnd;
            (0, cwnd)
        };
        Epoch { start: now, k_us, origin, w_est: (cwnd as u64) << W_EST_SHIFT }
    }

    /// RFC 9438 §4.2: W_cubic(t) = C*(t − K)^3 + W_max, in bytes, for t in microseconds.
    fn w_cubic(&self, epoch: &Epoch, t_us: u64) -> usize {
        let offset = (i128::from(t_us) - i128::from(epoch.k_us)).clamp(-MAX_OFFSET_US, MAX_OFFSET_US);
        let delta = C.0 * self.window.mss as i128 * offset * offset * offset / (C.1 * US3_PER_S3);
        (epoch.origin as i128 + delta).clamp(0, MAX_WINDOW as i128) as usize
    }

    /// One ACK of `acked` bytes in congestion avoidance (RFC 9438 §4.2–§4.5).
    fn congestion_avoidance(&mut self, now: Instant, acked: usize, rtt: Option<Duration>) {
        let mut epoch = match self.epoch {
            Some(epoch) => epoch,
            None => self.start_epoch(now),
        };
        let cwnd = self.window.cwnd;
        let mss = self.window.mss;

        // §4.3: W_est += α_cubic * segments_acked / cwnd, with α_cubic = 1 once W_est has
        // reached cwnd_prior.
        let alpha = if epoch.w_est >> W_EST_SHIFT >= self.cwnd_prior as u64 { (1, 1) } else { ALPHA };
        let grow = (alpha.0 * acked.min(MAX_WINDOW) as u128 * mss as u128) << W_EST_SHIFT;
        let grow = grow / (alpha.1 * cwnd as u128);
        epoch.w_est = epoch.w_est.saturating_add(grow as u64).min((MAX_WINDOW as u64) << W_EST_SHIFT);
        let w_est = (epoch.w_est >> W_EST_SHIFT) as usize;

        let t_us = micros(now - epoch.start);
        if self.w_cubic(&epoch, t_us) < w_est {
            // §4.3: the Reno-friendly region: cwnd = W_est.
            if w_est > cwnd {
                self.window.set_cwnd(w_est);
            }
        } else {
            // §4.4, §4.5: concave or convex region: grow toward the window one RTT ahead,
            // target ∈ [cwnd, 1.5*cwnd], by (target − cwnd)/cwnd segments per segment acked,
            // counted in bytes and applied a whole MSS at a time.
            let ahead = t_us.saturating_add(rtt.map_or(0, micros));
            let target = self.w_cubic(&epoch, ahead).clamp(cwnd, cwnd + cwnd / 2);
            if target > cwnd {
                let w = &mut self.window;
                let per_mss = (cwnd as u128 * mss as u128 / (target - cwnd) as u128).max(1);
                let counted = (w.ca_acked as u128).saturating_add(acked as u128);
                let steps = counted / per_mss;
                w.ca_acked = (counted % per_mss) as usize;
                if steps > 0 {
                    let grown = (cwnd as u128).saturating_add(steps.saturating_mul(mss as u128));
                    w.set_cwnd(grown.min(target as u128) as usize);
                }
            }
        }
        self.epoch = Some(epoch);
    }
}

impl CongestionControl for Cubic {
    fn cwnd(&self) -> usize {
        self.window.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.window.ssthresh
    }

    fn on_ack(&mut self, now: Instant, acked: usize, rtt: Option<Duration>, in_flight: usize) {
        if !self.window.on_ack(now, acked, in_flight) {
            return;
        }
        let rest = self.window.slow_start(acked);
        if rest > 0 {
            self.congestion_avoidance(now, rest, rtt);
        }
    }

    /// RFC 9438 §4.6 and §4.7.
    fn on_loss(&mut self, _now: Instant, in_flight: usize) {
        let cwnd = self.window.cwnd;
        self.w_max = if self.config.fast_convergence && cwnd < self.w_max {
            mul_frac(cwnd, FAST_CONVERGENCE)
        } else {
            cwnd
        };
        self.cwnd_prior = cwnd;
        let flight = self.window.flight_size(in_flight);
        self.window.reduce(mul_frac(flight, BETA));
        self.epoch = None;
    }

    /// RFC 9438 §4.8.
    fn on_timeout(&mut self, _now: Instant, in_flight: usize) {
        let cwnd = self.window.cwnd;
        let flight = self.window.flight_size(in_flight);
        if self.window.timeout(mul_frac(flight, BETA)) {
            self.cwnd_prior = cwnd;
        }
        self.w_max = 0;
        self.epoch = None;
    }

    fn on_recovery_exit(&mut self, _now: Instant) {
        self.window.recovery_exit();
    }

    /// RFC 5681 §4.1 and RFC 9438 §5.8: when the restart cuts the window, the next
    /// congestion avoidance stage is a new epoch; otherwise the epoch is shifted by the idle
    /// time, so that t excludes it.
    fn on_idle_restart(&mut self, now: Instant) {
        let before = self.window.cwnd;
        let idle = self.window.idle_restart(now);
        if self.window.cwnd < before {
            self.epoch = None;
        } else if let Some(epoch) = &mut self.epoch {
            epoch.start = (epoch.start + idle).min(now);
        }
    }

    /// Rescales every window to the new MSS; K (in time) is unchanged.
    fn set_mss(&mut self, mss: usize) {
        let old = self.window.set_mss(mss);
        self.w_max = self.window.rescale(self.w_max, old);
        self.cwnd_prior = self.window.rescale(self.cwnd_prior, old);
        if let Some(epoch) = &mut self.epoch {
            epoch.origin = self.window.rescale(epoch.origin, old);
            let w_est = (epoch.w_est as u128 * self.window.mss as u128 / old.max(1) as u128)
                .min((MAX_WINDOW as u128) << W_EST_SHIFT);
            epoch.w_est = w_est as u64;
        }
    }

    fn name(&self) -> &'static str {
        "cubic"
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{any_event, play};
    use super::super::INITIAL_SSTHRESH;
    use super::*;
    use proptest::prelude::*;

    const MSS: usize = 1000;

    /// A cwnd-limited sender for one RTT: the window is acknowledged in `per_ack` pieces
    /// spread evenly over the round trip.
    fn round(c: &mut Cubic, now: &mut Instant, rtt: Duration, per_ack: usize) {
        let window = c.cwnd();
        let acks = window.div_ceil(per_ack).max(1);
        let step = rtt / acks as u32;
        let mut acked = 0;
        for i in 0..acks {
            let n = per_ack.min(window - acked);
            *now = if i + 1 == acks { *now + (rtt - step * (acks as u32 - 1)) } else { *now + step };
            let in_flight = c.cwnd();
            c.on_ack(*now, n, Some(rtt), in_flight);
            acked += n;
        }
    }

    /// RFC 9438 §4.2 in floating point, segments and seconds, as the test's reference.
    fn reference_w_cubic(t: f64, w_max: f64, cwnd_epoch: f64) -> f64 {
        let k = ((w_max - cwnd_epoch) / 0.4).cbrt();
        0.4 * (t - k).powi(3) + w_max
    }

    /// Slow start from 10 segments up to `segments` (a power of two times 10), then a loss
    /// with the window full and the end of recovery.
    fn after_loss_at(segments: usize, rtt: Duration) -> (Cubic, Instant) {
        let mut c = Cubic::new(MSS, Instant::ZERO);
        let mut now = Instant::ZERO;
        while c.cwnd() < segments * MSS {
            round(&mut c, &mut now, rtt, MSS);
        }
        assert_eq!(c.cwnd(), segments * MSS);
        c.on_loss(now, c.cwnd());
        c.on_recovery_exit(now);
        (c, now)
    }

    #[test]
    fn integer_cube_root() {
        assert_eq!(icbrt(0), 0);
        assert_eq!(icbrt(1), 1);
        assert_eq!(icbrt(7), 1);
        assert_eq!(icbrt(8), 2);
        assert_eq!(icbrt(26), 2);
        assert_eq!(icbrt(27), 3);
        assert_eq!(icbrt(1_000_000_000_000_000_000 - 1), 999_999);
        assert_eq!(icbrt(1_000_000_000_000_000_000), 1_000_000);
        // The largest root: its cube fits, the next one's does not.
        let max = icbrt(u128::MAX);
        assert!(u128::from(max).checked_pow(3).is_some());
        assert!(u128::from(max + 1).checked_pow(3).is_none());
        let big = 123_456_789_012u128.pow(3);
        assert_eq!(icbrt(big - 1), 123_456_789_011);
        assert_eq!(icbrt(big), 123_456_789_012);
    }

    #[test]
    fn slow_start_doubles_per_rtt() {
        let mut c = Cubic::new(MSS, Instant::ZERO);
        let mut now = Instant::ZERO;
        for expected in [20, 40, 80, 160, 320] {
            round(&mut c, &mut now, Duration::from_millis(50), MSS);
            assert_eq!(c.cwnd(), expected * MSS);
        }
        assert_eq!(c.ssthresh(), INITIAL_SSTHRESH);
        assert_eq!(c.w_max(), None);
    }

    #[test]
    fn loss_reduces_by_beta_and_sets_k() {
        let (c, _) = after_loss_at(1280, Duration::from_millis(100));
        assert_eq!(c.w_max(), Some(1_280_000));
        assert_eq!(c.cwnd(), 896_000);
        assert_eq!(c.ssthresh(), 896_000);
        // K = cbrt(1280 * 0.3 / 0.4) = cbrt(960) = 9.8648... s
        let mut c = c;
        c.on_ack(Instant::from_secs(10), MSS, None, c.cwnd());
        assert_eq!(c.k(), Some(Duration::from_micros(9_864_848)));
        assert!((960f64.cbrt() - 9.864_848).abs() < 1e-6);
    }

    #[test]
    fn flight_size_not_cwnd_sets_ssthresh() {
        let (mut c, now) = after_loss_at(160, Duration::from_millis(10));
        c.window.cwnd = 100 * MSS;
        c.on_loss(now, 50 * MSS);
        assert_eq!(c.ssthresh(), 35 * MSS);
        assert_eq!(c.cwnd(), 35 * MSS);
        // 100 segments < W_max of 160: fast convergence.
        assert_eq!(c.w_max(), Some(85 * MSS));
    }

    #[test]
    fn returns_to_w_max_after_k_seconds() {
        let rtt = Duration::from_millis(100);
        let (mut c, mut now) = after_loss_at(1280, rtt);
        let w_max = 1_280_000;
        // Run until K has passed since the first ACK of congestion avoidance.
        round(&mut c, &mut now, rtt, MSS);
        let start = c.epoch_start().unwrap();
        let k = c.k().unwrap();
        while now - start < k {
            round(&mut c, &mut now, rtt, MSS);
            // The Reno-friendly estimate stays below the curve at this RTT.
            assert!(c.w_est().unwrap() < c.cwnd());
        }
        assert!(now - start < k + rtt);
        assert!(c.cwnd().abs_diff(w_max) <= MSS, "cwnd {} vs W_max {}", c.cwnd(), w_max);
    }

    #[test]
    fn concave_then_convex_following_the_rfc_curve() {
        let rtt = Duration::from_millis(100);
        let (mut c, mut now) = after_loss_at(1280, rtt);
        round(&mut c, &mut now, rtt, MSS);
        let start = c.epoch_start().unwrap();
        let k = c.k().unwrap().as_secs_f64();
        // (seconds since the epoch start, cwnd in segments), once per RTT.
        let mut samples = Vec::new();
        while now - start < Duration::from_secs(16) {
            round(&mut c, &mut now, rtt, MSS);
            let t = (now - start).as_secs_f64();
            samples.push((t, c.cwnd() as f64 / MSS as f64));
            // Within two segments of the RFC's curve one RTT ahead (the target), or at
            // most one RTT of growth behind it.
            let ahead = reference_w_cubic(t + rtt.as_secs_f64(), 1280.0, 896.0);
            let now_w = reference_w_cubic(t, 1280.0, 896.0);
            let cwnd = c.cwnd() as f64 / MSS as f64;
            assert!(cwnd <= ahead + 1.0 && cwnd >= now_w - 2.0, "t {t}: cwnd {cwnd} curve {now_w}..{ahead}");
        }
        let growth = |from: f64, to: f64| {
            let at = |x: f64| samples.iter().find(|(t, _)| *t >= x).unwrap().1;
            at(to) - at(from)
        };
        // Concave: fast growth after the loss, nearly flat just before K.
        let early = growth(0.5, 1.5);
        let plateau = growth(k - 1.0, k);
        let late = growth(k + 4.0, k + 5.0);
        assert!(early > 50.0, "early {early}");
        assert!(plateau <= 2.0, "plateau {plateau}");
        // Convex: probing faster and faster past K.
        assert!(late > 15.0 && late > growth(k + 2.0, k + 3.0), "late {late}");
        assert!(early > plateau && late > plateau);
    }

    #[test]
    fn reno_friendly_region_at_small_rtt() {
        // 1 ms RTT, W_max 20 segments: K = cbrt(15) ≈ 2.47 s, so during the first 0.2 s the
        // cubic curve barely moves while Reno would grow ~1 segment per RTT.
        let rtt = Duration::from_millis(1);
        let (mut c, mut now) = after_loss_at(20, rtt);
        assert_eq!(c.cwnd(), 14 * MSS);
        // The RFC's W_est (§4.3), per ACK of one segment: += α_cubic / cwnd segments, with
        // α_cubic = 9/17 until W_est reaches cwnd_prior (20 segments), then 1.
        let mut w_est = 14.0f64;
        for _ in 0..4000 {
            let cwnd = c.cwnd() as f64 / MSS as f64;
            w_est += if w_est >= 20.0 { 1.0 } else { 9.0 / 17.0 } / cwnd;
            now += rtt / cwnd as u32;
            c.on_ack(now, MSS, Some(rtt), c.cwnd());
            let cwnd = c.cwnd() as f64 / MSS as f64;
            assert!((cwnd - w_est).abs() <= 0.01, "cwnd {cwnd} vs W_est {w_est}");
        }
        let t = (now - c.epoch_start().unwrap()).as_secs_f64();
        let cubic = reference_w_cubic(t, 20.0, 14.0);
        assert!(cubic < 20.0);
        assert!(c.cwnd() > 80 * MSS, "{}", c.cwnd());
    }

    #[test]
    fn fast_convergence_releases_w_max() {
        let (mut c, mut now) = after_loss_at(160, Duration::from_millis(10));
        assert_eq!(c.w_max(), Some(160 * MSS));
        // The next loss comes at 120 segments, below W_max: W_max = 120 * 0.85 = 102.
        c.window.cwnd = 120 * MSS;
        c.on_loss(now, 120 * MSS);
        assert_eq!(c.w_max(), Some(102 * MSS));
        assert_eq!(c.cwnd(), 84 * MSS);
        // A loss above W_max just records the window.
        c.on_recovery_exit(now);
        c.window.cwnd = 130 * MSS;
        now += Duration::from_secs(1);
        c.on_loss(now, 130 * MSS);
        assert_eq!(c.w_max(), Some(130 * MSS));

        let mut plain = Cubic::with_config(CubicConfig { fast_convergence: false }, MSS, Instant::ZERO);
        plain.window.cwnd = 160 * MSS;
        plain.on_loss(Instant::ZERO, 160 * MSS);
        plain.window.cwnd = 120 * MSS;
        plain.on_loss(Instant::ZERO, 120 * MSS);
        assert_eq!(plain.w_max(), Some(120 * MSS));
    }

    #[test]
    fn timeout_goes_to_one_segment_then_k_is_zero() {
        let rtt = Duration::from_millis(20);
        let (mut c, mut now) = after_loss_at(160, rtt);
        round(&mut c, &mut now, rtt, MSS);
        let cwnd = c.cwnd();
        c.on_timeout(now, cwnd);
        assert_eq!(c.cwnd(), MSS);
        assert_eq!(c.ssthresh(), cwnd * 7 / 10);
        assert_eq!(c.w_max(), None);
        // A repeated timeout holds ssthresh.
        c.on_timeout(now + Duration::from_secs(1), MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (MSS, cwnd * 7 / 10));
        // Slow start (L = 1 SMSS after a timeout), then §4.8: K = 0, W_max = cwnd at the
        // start of congestion avoidance.
        while c.epoch_start().is_none() {
            round(&mut c, &mut now, rtt, MSS);
        }
        assert_eq!(c.k(), Some(Duration::ZERO));
        assert!(c.w_max().unwrap() >= c.ssthresh());
    }

    #[test]
    fn growth_is_at_most_half_a_window_per_rtt() {
        // The first ACK starts the epoch, then the sender falls silent for 30 s (not idle
        // long enough to be told so): W_cubic(t) is far above cwnd when ACKs resume, and the
        // target's cap of 1.5*cwnd (§4.2) limits the growth.
        let rtt = Duration::from_millis(10);
        let (mut c, mut now) = after_loss_at(640, rtt);
        c.on_ack(now, MSS, Some(rtt), c.cwnd());
        now += Duration::from_secs(30);
        for _ in 0..5 {
            let before = c.cwnd();
            round(&mut c, &mut now, rtt, MSS);
            assert!(c.cwnd() > before);
            assert!(c.cwnd() <= before + before / 2 + MSS, "{before} -> {}", c.cwnd());
        }
    }

    #[test]
    fn idle_time_does_not_count() {
        let rtt = Duration::from_millis(100);
        let (mut c, mut now) = after_loss_at(10, rtt);
        round(&mut c, &mut now, rtt, MSS);
        let start = c.epoch_start().unwrap();
        // cwnd (7-ish segments) is within the restart window: the epoch shifts.
        assert!(c.cwnd() <= 10 * MSS);
        now += Duration::from_secs(10);
        c.on_idle_restart(now);
        assert_eq!(c.epoch_start(), Some(start + Duration::from_secs(10)));

        // A window cut by the restart starts a new epoch.
        let (mut big, mut now) = after_loss_at(640, rtt);
        round(&mut big, &mut now, rtt, MSS);
        now += Duration::from_secs(10);
        big.on_idle_restart(now);
        assert_eq!(big.cwnd(), 10 * MSS);
        assert_eq!(big.epoch_start(), None);
    }

    #[test]
    fn mss_change_keeps_k_and_segments() {
        let rtt = Duration::from_millis(100);
        let (mut c, mut now) = after_loss_at(160, rtt);
        round(&mut c, &mut now, rtt, MSS);
        let (k, cwnd, w_max) = (c.k(), c.cwnd(), c.w_max().unwrap());
        c.set_mss(2 * MSS);
        assert_eq!(c.k(), k);
        assert_eq!(c.cwnd(), 2 * cwnd);
        assert_eq!(c.w_max(), Some(2 * w_max));
    }

    #[test]
    fn deterministic() {
        let run = || {
            let rtt = Duration::from_millis(30);
            let (mut c, mut now) = after_loss_at(320, rtt);
            let mut trace = Vec::new();
            for i in 0..300 {
                round(&mut c, &mut now, rtt, 2 * MSS);
                if i % 97 == 96 {
                    c.on_loss(now, c.cwnd());
                    c.on_recovery_exit(now);
                }
                trace.push(c.cwnd());
            }
            (trace, c)
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn extreme_inputs_saturate() {
        let mut c = Cubic::new(1, Instant::ZERO);
        c.on_loss(Instant::ZERO, usize::MAX);
        c.on_recovery_exit(Instant::ZERO);
        for i in 0..1000 {
            c.on_ack(Instant::from_secs(i * 1000), usize::MAX, Some(Duration::MAX), usize::MAX);
        }
        assert_eq!(c.cwnd(), MAX_WINDOW);
        c.on_loss(Instant::from_secs(u64::MAX / 1_000_000), usize::MAX);
        c.set_mss(usize::MAX);
        c.on_ack(Instant::from_micros(u64::MAX), usize::MAX, Some(Duration::MAX), usize::MAX);
        assert!(c.cwnd() <= MAX_WINDOW && c.cwnd() >= c.mss());
    }

    proptest! {
        #[test]
        fn random_events_keep_invariants(
            fast_convergence in any::<bool>(),
            events in proptest::collection::vec(any_event(), 0..300),
        ) {
            let config = CubicConfig { fast_convergence };
            let mut c = Cubic::with_config(config, 1460, Instant::from_secs(1));
            let trace = play(&mut c, &events);
            let mut again = Cubic::with_config(config, 1460, Instant::from_secs(1));
            prop_assert_eq!(trace, play(&mut again, &events));
            prop_assert_eq!(c, again);
        }
    }
}
