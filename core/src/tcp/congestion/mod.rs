//! Congestion control behind one trait: NewReno (RFC 5681) and CUBIC (RFC 9438).
//!
//! The connection owns one [`Congestion`] (an enum, so no allocation per connection) and
//! calls it through [`CongestionControl`]. Windows are in bytes at this interface; the
//! algorithms reason in segments of the current MSS internally where the RFCs do.
//!
//! Division of labour with the connection:
//! - `on_ack` is called for ACKs of new data outside fast recovery, with `in_flight` the
//!   FlightSize (SND.NXT − SND.UNA) *before* the ACK. The window grows only while the
//!   sender is cwnd-limited (RFC 9438 §5.8, RFC 7661 cwnd validation in spirit, as Linux's
//!   `tcp_is_cwnd_limited`), so it cannot run away from an idle or rwnd-limited sender.
//! - `on_loss` enters fast recovery; the connection handles the recovery itself (RFC 6582
//!   window inflation, or the RFC 6675 pipe) and calls `on_recovery_exit` on the full ACK.
//!   It calls `on_loss` once per recovery episode (RFC 6582 §3.2 step 2).
//! - `on_timeout` is called on each expiry of the retransmission timer; a repeated timeout
//!   with no ACK of new data in between keeps ssthresh (RFC 5681 §3.1, after eq. 4).

pub mod cubic;
pub mod new_reno;

use core::fmt;
use core::str::FromStr;

use crate::time::{Duration, Instant};

pub use cubic::{Cubic, CubicConfig};
pub use new_reno::NewReno;

/// RFC 7323 §2.3: the largest window TCP can use (2^30 bytes); cwnd never exceeds it.
pub const MAX_WINDOW: usize = 1 << 30;

/// The MSS option is 16 bits (RFC 9293 §3.7.1); a larger value is taken as this.
pub const MAX_MSS: usize = u16::MAX as usize;

/// RFC 5681 §3.1: the initial ssthresh "may be arbitrarily high".
pub const INITIAL_SSTHRESH: usize = usize::MAX;

/// What the connection tells its congestion controller.
pub trait CongestionControl: core::fmt::Debug {
    /// Congestion window in bytes.
    fn cwnd(&self) -> usize;
    fn ssthresh(&self) -> usize;
    /// New data cumulatively acknowledged (not during fast recovery): grow the window.
    /// `rtt` is the latest smoothed/min RTT if known; `in_flight` bytes outstanding before
    /// this ACK.
    fn on_ack(&mut self, now: Instant, acked: usize, rtt: Option<Duration>, in_flight: usize);
    /// Loss detected by duplicate ACKs / SACK (entering fast recovery): RFC 5681 §3.2
    /// step 2 / RFC 9438 §4.6.
    fn on_loss(&mut self, now: Instant, in_flight: usize);
    /// Retransmission timeout: RFC 5681 §3.1 eq. 4, cwnd = 1 MSS (loss window).
    fn on_timeout(&mut self, now: Instant, in_flight: usize);
    /// Fast recovery finished (RFC 6582 full ACK): cwnd = ssthresh (deflate).
    fn on_recovery_exit(&mut self, now: Instant);
    /// RFC 5681 §4.1: restart after an idle period longer than the RTO: cwnd = min(cwnd,
    /// restart window).
    fn on_idle_restart(&mut self, now: Instant);
    /// The MSS changed (after the handshake): rescale internal state.
    fn set_mss(&mut self, mss: usize);
    fn name(&self) -> &'static str;
}

/// The available algorithms; CUBIC is the default, as in Linux and RFC 9438.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Algorithm {
    NewReno,
    #[default]
    Cubic,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::NewReno, Algorithm::Cubic];

    /// The name used by `FromStr`, `Display` and [`CongestionControl::name`].
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::NewReno => "newreno",
            Algorithm::Cubic => "cubic",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An algorithm name that is neither `newreno` nor `cubic`.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown congestion control algorithm {0:?} (expected \"newreno\" or \"cubic\")")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Case-insensitive: `newreno` or `cubic`.
    fn from_str(s: &str) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}

/// Calls the same method on whichever algorithm `$self` holds.
macro_rules! dispatch {
    ($self:ident, $c:ident => $call:expr) => {
        match $self {
            Congestion::NewReno($c) => $call,
            Congestion::Cubic($c) => $call,
        }
    };
}

/// A connection's congestion controller, dispatched by `match` rather than a `Box`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Congestion {
    NewReno(NewReno),
    Cubic(Cubic),
}

impl Congestion {
    /// A controller in slow start with the RFC 6928 initial window for `mss`.
    pub fn new(algorithm: Algorithm, mss: usize, now: Instant) -> Congestion {
        match algorithm {
            Algorithm::NewReno => Congestion::NewReno(NewReno::new(mss, now)),
            Algorithm::Cubic => Congestion::Cubic(Cubic::new(mss, now)),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Congestion::NewReno(_) => Algorithm::NewReno,
            Congestion::Cubic(_) => Algorithm::Cubic,
        }
    }
}

/// Shorthand for [`Congestion::new`].
pub fn new(algorithm: Algorithm, mss: usize, now: Instant) -> Congestion {
    Congestion::new(algorithm, mss, now)
}

impl CongestionControl for Congestion {
    fn cwnd(&self) -> usize {
        dispatch!(self, c => c.cwnd())
    }

    fn ssthresh(&self) -> usize {
        dispatch!(self, c => c.ssthresh())
    }

    fn on_ack(&mut self, now: Instant, acked: usize, rtt: Option<Duration>, in_flight: usize) {
        dispatch!(self, c => c.on_ack(now, acked, rtt, in_flight))
    }

    fn on_loss(&mut self, now: Instant, in_flight: usize) {
        dispatch!(self, c => c.on_loss(now, in_flight))
    }

    fn on_timeout(&mut self, now: Instant, in_flight: usize) {
        dispatch!(self, c => c.on_timeout(now, in_flight))
    }

    fn on_recovery_exit(&mut self, now: Instant) {
        dispatch!(self, c => c.on_recovery_exit(now))
    }

    fn on_idle_restart(&mut self, now: Instant) {
        dispatch!(self, c => c.on_idle_restart(now))
    }

    fn set_mss(&mut self, mss: usize) {
        dispatch!(self, c => c.set_mss(mss))
    }

    fn name(&self) -> &'static str {
        dispatch!(self, c => c.name())
    }
}

/// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
pub fn initial_window(mss: usize) -> usize {
    let mss = clamp_mss(mss);
    (10 * mss).min((2 * mss).max(14_600))
}

/// An MSS the arithmetic can trust: at least 1, at most [`MAX_MSS`].
pub(crate) fn clamp_mss(mss: usize) -> usize {
    mss.clamp(1, MAX_MSS)
}

/// `bytes * new / old`, for rescaling a window in segments when the MSS changes.
fn rescale(bytes: usize, old: usize, new: usize) -> usize {
    let scaled = bytes as u128 * new as u128 / old.max(1) as u128;
    usize::try_from(scaled).unwrap_or(usize::MAX)
}

/// The part of the window state both algorithms share: cwnd, ssthresh, slow start
/// (RFC 5681 §3.1 with RFC 3465 byte counting), the Reno reductions' guards and the
/// restart after idle (RFC 5681 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) mss: usize,
    pub(crate) cwnd: usize,
    pub(crate) ssthresh: usize,
    /// Bytes acknowledged in congestion avoidance toward the next increase.
    pub(crate) ca_acked: usize,
    /// RFC 3465 §2.2–2.3: L = 1*SMSS in the slow start that follows a timeout, 2*SMSS otherwise.
    pub(crate) after_timeout: bool,
    /// A timeout happened and no new data has been acknowledged since (RFC 5681 §3.1: a
    /// repeated timeout of the same segment leaves ssthresh alone).
    pub(crate) timed_out: bool,
    /// cwnd is still the initial window from construction, so an MSS change recomputes it
    /// by RFC 6928 rather than scaling it.
    pub(crate) pristine: bool,
    /// The last ACK of new data: the start of an idle period.
    pub(crate) last_ack: Instant,
}

impl Window {
    pub(crate) fn new(mss: usize, now: Instant) -> Window {
        let mss = clamp_mss(mss);
        Window {
            mss,
            cwnd: initial_window(mss),
            ssthresh: INITIAL_SSTHRESH,
            ca_acked: 0,
            after_timeout: false,
            timed_out: false,
            pristine: true,
            last_ack: now,
        }
    }

    pub(crate) fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// Whether the sender used its window, so that growing it is justified: in slow start
    /// at least half of it in flight (Linux's rule), in congestion avoidance too little room
    /// left for another full segment.
    pub(crate) fn cwnd_limited(&self, in_flight: usize) -> bool {
        if self.in_slow_start() {
            in_flight.saturating_mul(2) > self.cwnd
        } else {
            in_flight.saturating_add(self.mss) > self.cwnd
        }
    }

    /// Bookkeeping for every ACK of new data; returns whether the window may grow.
    pub(crate) fn on_ack(&mut self, now: Instant, acked: usize, in_flight: usize) -> bool {
        self.last_ack = now;
        self.timed_out = false;
        acked > 0 && self.cwnd_limited(in_flight)
    }

    /// RFC 5681 §3.1 eq. 2 with RFC 3465 §2.2–2.3 (L = 2*SMSS, or 1*SMSS after a timeout):
    /// cwnd += min(acked, L), not past ssthresh. Returns the acknowledged bytes beyond
    /// ssthresh, which belong to congestion avoidance.
    pub(crate) fn slow_start(&mut self, acked: usize) -> usize {
        if !self.in_slow_start() {
            return acked;
        }
        self.pristine = false;
        let limit = if self.after_timeout { self.mss } else { 2 * self.mss };
        let room = self.ssthresh - self.cwnd;
        let grow = acked.min(limit);
        if grow < room {
            self.cwnd = (self.cwnd + grow).min(MAX_WINDOW);
            0
        } else {
            self.cwnd = self.ssthresh.min(MAX_WINDOW);
            self.after_timeout = false;
            acked - room
        }
    }

    /// Sets cwnd, within [1 MSS, MAX_WINDOW].
    pub(crate) fn set_cwnd(&mut self, cwnd: usize) {
        self.cwnd = cwnd.clamp(self.mss, MAX_WINDOW);
        self.pristine = false;
    }

    /// RFC 5681 §3.2 step 2: FlightSize, the base of a reduction, but never more than cwnd,
    /// so a reduction never raises the window.
    pub(crate) fn flight_size(&self, in_flight: usize) -> usize {
        in_flight.min(self.cwnd)
    }

    /// RFC 5681 §3.2 step 2 / RFC 9438 §4.6: a multiplicative decrease to `ssthresh`
    /// (at least 2*SMSS), and cwnd = ssthresh.
    pub(crate) fn reduce(&mut self, ssthresh: usize) {
        self.ssthresh = ssthresh.clamp(2 * self.mss, MAX_WINDOW);
        self.set_cwnd(self.ssthresh);
        self.ca_acked = 0;
        self.after_timeout = false;
        self.timed_out = false;
    }

    /// RFC 5681 §3.1: cwnd = LW = 1 SMSS; ssthresh from `ssthresh` unless this timeout
    /// repeats one with no ACK of new data since. Returns whether ssthresh was set.
    pub(crate) fn timeout(&mut self, ssthresh: usize) -> bool {
        let first = !self.timed_out;
        if first {
            self.ssthresh = ssthresh.clamp(2 * self.mss, MAX_WINDOW);
        }
        self.set_cwnd(self.mss);
        self.ca_acked = 0;
        self.after_timeout = true;
        self.timed_out = true;
        first
    }

    /// RFC 6582 §3.2 step 3 option 2: deflate to ssthresh on the full ACK. Never inflates,
    /// so a call after a timeout (or with no recovery at all) changes nothing.
    pub(crate) fn recovery_exit(&mut self) {
        if self.cwnd > self.ssthresh {
            self.set_cwnd(self.ssthresh);
        }
        self.ca_acked = 0;
    }

    /// RFC 5681 §4.1: cwnd = min(cwnd, RW) with RW = IW (RFC 6928). As Linux's
    /// `tcp_cwnd_restart` and RFC 2861 §3, ssthresh first becomes at least 3/4 of the old
    /// cwnd, so slow start regains most of the window. Returns the idle time.
    pub(crate) fn idle_restart(&mut self, now: Instant) -> Duration {
        let restart = initial_window(self.mss);
        if self.cwnd > restart {
            self.ssthresh = self.ssthresh.max(self.cwnd / 4 * 3);
            self.set_cwnd(restart);
        }
        self.ca_acked = 0;
        let idle = now - self.last_ack;
        self.last_ack = now;
        idle
    }

    /// Changes the MSS: a pristine initial window is recomputed (RFC 6928), otherwise cwnd,
    /// ssthresh and the byte counter keep their size in segments. Returns the old MSS.
    pub(crate) fn set_mss(&mut self, mss: usize) -> usize {
        let old = self.mss;
        let new = clamp_mss(mss);
        self.mss = new;
        if self.pristine {
            self.cwnd = initial_window(new);
        } else {
            self.cwnd = rescale(self.cwnd, old, new).clamp(new, MAX_WINDOW);
        }
        if self.ssthresh != INITIAL_SSTHRESH {
            self.ssthresh = rescale(self.ssthresh, old, new).clamp(2 * new, MAX_WINDOW);
        }
        self.ca_acked = rescale(self.ca_acked, old, new).min(self.cwnd);
        old
    }

    pub(crate) fn rescale(&self, bytes: usize, old_mss: usize) -> usize {
        rescale(bytes, old_mss, self.mss).min(MAX_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc6928_initial_window() {
        // min(10*MSS, max(2*MSS, 14600)).
        assert_eq!(initial_window(1460), 14_600);
        assert_eq!(initial_window(1448), 14_480);
        assert_eq!(initial_window(536), 5_360);
        assert_eq!(initial_window(1500), 14_600);
        assert_eq!(initial_window(4000), 14_600);
        assert_eq!(initial_window(8960), 17_920);
        assert_eq!(initial_window(65_495), 130_990);
        assert_eq!(initial_window(0), 10);
        assert_eq!(initial_window(usize::MAX), 2 * MAX_MSS);
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::default(), Algorithm::Cubic);
        assert_eq!("newreno".parse::<Algorithm>(), Ok(Algorithm::NewReno));
        assert_eq!("CUBIC".parse::<Algorithm>(), Ok(Algorithm::Cubic));
        assert_eq!("bbr".parse::<Algorithm>(), Err(UnknownAlgorithm("bbr".into())));
        for a in Algorithm::ALL {
            assert_eq!(a.to_string().parse::<Algorithm>(), Ok(a));
            let c = new(a, 1460, Instant::ZERO);
            assert_eq!(c.name(), a.name());
            assert_eq!(c.algorithm(), a);
            assert_eq!(c.cwnd(), 14_600);
            assert_eq!(c.ssthresh(), INITIAL_SSTHRESH);
        }
    }

    #[test]
    fn the_trait_is_object_safe() {
        let boxed: Box<dyn CongestionControl> =
            Box::new(Congestion::new(Algorithm::NewReno, 1000, Instant::ZERO));
        assert_eq!(boxed.cwnd(), 10_000);
    }

    #[test]
    fn mss_change_recomputes_a_pristine_window_and_scales_a_used_one() {
        for algorithm in Algorithm::ALL {
            let mut c = Congestion::new(algorithm, 536, Instant::ZERO);
            assert_eq!(c.cwnd(), 5_360);
            c.set_mss(1460);
            assert_eq!(c.cwnd(), 14_600);
            c.set_mss(9000);
            assert_eq!(c.cwnd(), 18_000);

            let mut used = Congestion::new(algorithm, 1000, Instant::ZERO);
            used.on_loss(Instant::from_millis(10), 40_000);
            let (cwnd, ssthresh) = (used.cwnd(), used.ssthresh());
            used.set_mss(500);
            assert_eq!(used.cwnd(), cwnd / 2, "{algorithm}");
            assert_eq!(used.ssthresh(), ssthresh / 2, "{algorithm}");
        }
    }

    #[test]
    fn idle_restart_reduces_to_the_initial_window() {
        for algorithm in Algorithm::ALL {
            let mut c = Congestion::new(algorithm, 1000, Instant::ZERO);
            let mut now = Instant::ZERO;
            for _ in 0..100 {
                now += Duration::from_millis(1);
                let cwnd = c.cwnd();
                c.on_ack(now, 1000, Some(Duration::from_millis(10)), cwnd);
            }
            let big = c.cwnd();
            assert!(big > 10_000);
            c.on_idle_restart(now + Duration::from_secs(5));
            assert_eq!(c.cwnd(), 10_000, "{algorithm}");
            assert_eq!(c.ssthresh(), INITIAL_SSTHRESH);

            // After a loss, ssthresh stays.
            c.on_loss(now, big);
            let ssthresh = c.ssthresh();
            c.on_idle_restart(now + Duration::from_secs(10));
            assert_eq!(c.ssthresh(), ssthresh);

            // A window already below the restart window is left alone.
            let mut small = Congestion::new(algorithm, 1000, Instant::ZERO);
            small.on_timeout(now, 20_000);
            small.on_idle_restart(now + Duration::from_secs(5));
            assert_eq!(small.cwnd(), 1000);
        }
    }

    #[test]
    fn idle_restart_keeps_three_quarters_in_ssthresh() {
        let mut w = Window::new(1000, Instant::ZERO);
        w.cwnd = 100_000;
        w.ssthresh = 20_000;
        assert_eq!(w.idle_restart(Instant::from_secs(3)), Duration::from_secs(3));
        assert_eq!((w.cwnd, w.ssthresh), (10_000, 75_000));
    }

    #[test]
    fn app_limited_sender_does_not_grow() {
        for algorithm in Algorithm::ALL {
            let mut c = Congestion::new(algorithm, 1000, Instant::ZERO);
            for i in 1..100 {
                // Two segments in flight out of a window of ten.
                c.on_ack(Instant::from_millis(i), 1000, Some(Duration::from_millis(1)), 2000);
            }
            assert_eq!(c.cwnd(), 10_000, "{algorithm}");
        }
    }

    #[derive(Clone, Debug)]
    pub(crate) enum Event {
        Ack { dt_us: u32, acked: usize, rtt_us: Option<u32>, in_flight: usize },
        Loss { in_flight: usize },
        Timeout { in_flight: usize },
        RecoveryExit,
        Idle { dt_us: u64 },
        Mss(usize),
    }

    fn any_size() -> impl Strategy<Value = usize> {
        prop_oneof![0usize..200_000, any::<usize>(), Just(usize::MAX), Just(0)]
    }

    pub(crate) fn any_event() -> impl Strategy<Value = Event> {
        prop_oneof![
            8 => (any::<u32>(), any_size(), proptest::option::of(any::<u32>()), any_size())
                .prop_map(|(dt_us, acked, rtt_us, in_flight)| Event::Ack { dt_us, acked, rtt_us, in_flight }),
            1 => any_size().prop_map(|in_flight| Event::Loss { in_flight }),
            1 => any_size().prop_map(|in_flight| Event::Timeout { in_flight }),
            1 => Just(Event::RecoveryExit),
            1 => any::<u64>().prop_map(|dt_us| Event::Idle { dt_us }),
            1 => prop_oneof![0usize..10_000, any::<usize>()].prop_map(Event::Mss),
        ]
    }

    /// Plays `events`, checking the invariants after each; returns the trace of windows.
    pub(crate) fn play(c: &mut dyn CongestionControl, events: &[Event]) -> Vec<(usize, usize)> {
        let mut now = Instant::from_secs(1);
        let mut mss = 1460;
        let mut trace = Vec::with_capacity(events.len());
        for event in events {
            match *event {
                Event::Ack { dt_us, acked, rtt_us, in_flight } => {
                    now += Duration::from_micros(dt_us.into());
                    c.on_ack(now, acked, rtt_us.map(|r| Duration::from_micros(r.into())), in_flight);
                }
                Event::Loss { in_flight } => c.on_loss(now, in_flight),
                Event::Timeout { in_flight } => c.on_timeout(now, in_flight),
                Event::RecoveryExit => c.on_recovery_exit(now),
                Event::Idle { dt_us } => {
                    now += Duration::from_micros(dt_us);
                    c.on_idle_restart(now);
                }
                Event::Mss(m) => {
                    c.set_mss(m);
                    mss = clamp_mss(m);
                }
            }
            assert!(c.cwnd() >= mss, "cwnd {} below one MSS {} after {:?}", c.cwnd(), mss, event);
            assert!(c.cwnd() <= MAX_WINDOW, "cwnd {} above the maximum after {:?}", c.cwnd(), event);
            assert!(c.ssthresh() >= 2 * mss, "ssthresh {} below 2 MSS after {:?}", c.ssthresh(), event);
            trace.push((c.cwnd(), c.ssthresh()));
        }
        trace
    }

    proptest! {
        #[test]
        fn random_events_keep_invariants(
            algorithm in prop_oneof![Just(Algorithm::NewReno), Just(Algorithm::Cubic)],
            events in proptest::collection::vec(any_event(), 0..300),
        ) {
            let mut c = Congestion::new(algorithm, 1460, Instant::from_secs(1));
            let first = play(&mut c, &events);
            // Deterministic: the same events give the same windows.
            let mut again = Congestion::new(algorithm, 1460, Instant::from_secs(1));
            prop_assert_eq!(first, play(&mut again, &events));
        }
    }
}
