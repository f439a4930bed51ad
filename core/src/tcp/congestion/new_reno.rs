//! NewReno congestion control: RFC 5681 slow start and congestion avoidance with the
//! reductions that RFC 6582 fast recovery starts from.

use super::{CongestionControl, Window};
use crate::time::{Duration, Instant};

/// RFC 5681 congestion control with RFC 3465 byte counting.
///
/// - Slow start (cwnd < ssthresh): cwnd += min(acked, L) per ACK, L = 2*SMSS (RFC 3465
///   §2.2–2.3), 1*SMSS in the slow start after a timeout.
/// - Congestion avoidance: byte counting (RFC 5681 §3.1, RFC 3465 §2.1): once a full cwnd
///   of bytes has been acknowledged, cwnd += SMSS; about one segment per RTT.
/// - Loss (fast retransmit): ssthresh = max(FlightSize/2, 2*SMSS), cwnd = ssthresh
///   (RFC 5681 §3.2 step 2). The window inflation of step 3 (cwnd = ssthresh + 3*SMSS and
///   +SMSS per further duplicate ACK) is the connection's, which knows the duplicate ACKs;
///   `on_recovery_exit` then deflates to ssthresh (RFC 6582 §3.2 step 3).
/// - Timeout: ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1*SMSS (RFC 5681 §3.1 eq. 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReno {
    window: Window,
}

impl NewReno {
    pub fn new(mss: usize, now: Instant) -> NewReno {
        NewReno { window: Window::new(mss, now) }
    }

    /// The MSS the windows are counted in.
    pub fn mss(&self) -> usize {
        self.window.mss
    }

    /// RFC 5681 §3.1: congestion avoidance by byte counting; at most one SMSS per ACK, and
    /// the counter never holds more than one window.
    fn congestion_avoidance(&mut self, acked: usize) {
        let w = &mut self.window;
        w.ca_acked = w.ca_acked.saturating_add(acked);
        if w.ca_acked >= w.cwnd {
            w.ca_acked -= w.cwnd;
            w.set_cwnd(w.cwnd + w.mss);
            w.ca_acked = w.ca_acked.min(w.cwnd);
        }
    }
}

impl CongestionControl for NewReno {
    fn cwnd(&self) -> usize {
        self.window.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.window.ssthresh
    }

    fn on_ack(&mut self, now: Instant, acked: usize, _rtt: Option<Duration>, in_flight: usize) {
        if !self.window.on_ack(now, acked, in_flight) {
            return;
        }
        let rest = self.window.slow_start(acked);
        if rest > 0 {
            self.congestion_avoidance(rest);
        }
    }

    fn on_loss(&mut self, _now: Instant, in_flight: usize) {
        let flight = self.window.flight_size(in_flight);
        self.window.reduce(flight / 2);
    }

    fn on_timeout(&mut self, _now: Instant, in_flight: usize) {
        let flight = self.window.flight_size(in_flight);
        self.window.timeout(flight / 2);
    }

    fn on_recovery_exit(&mut self, _now: Instant) {
        self.window.recovery_exit();
    }

    fn on_idle_restart(&mut self, now: Instant) {
        self.window.idle_restart(now);
    }

    fn set_mss(&mut self, mss: usize) {
        self.window.set_mss(mss);
    }

    fn name(&self) -> &'static str {
        "newreno"
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{any_event, play};
    use super::super::{INITIAL_SSTHRESH, MAX_WINDOW};
    use super::*;
    use proptest::prelude::*;

    const MSS: usize = 1000;
    const RTT: Duration = Duration::from_millis(100);

    /// One round trip of a cwnd-limited sender: the whole window is acknowledged, one ACK
    /// per `per_ack` bytes, each ACK seeing the window full.
    fn round(c: &mut NewReno, now: &mut Instant, per_ack: usize) {
        let window = c.cwnd();
        let mut acked = 0;
        while acked < window {
            let n = per_ack.min(window - acked);
            *now += RTT / (window / per_ack).max(1) as u32;
            let in_flight = c.cwnd();
            c.on_ack(*now, n, Some(RTT), in_flight);
            acked += n;
        }
    }

    #[test]
    fn slow_start_doubles_per_rtt() {
        let mut c = NewReno::new(MSS, Instant::ZERO);
        let mut now = Instant::ZERO;
        assert_eq!(c.cwnd(), 10 * MSS);
        for expected in [20, 40, 80, 160] {
            round(&mut c, &mut now, MSS);
            assert_eq!(c.cwnd(), expected * MSS);
        }
    }

    #[test]
    fn slow_start_with_delayed_acks_uses_abc_limit() {
        // RFC 3465: an ACK of two segments grows cwnd by two segments (L = 2*SMSS) ...
        let mut c = NewReno::new(MSS, Instant::ZERO);
        c.on_ack(Instant::from_millis(1), 2 * MSS, None, c.cwnd());
        assert_eq!(c.cwnd(), 12 * MSS);
        // ... but a stretch ACK of five by two at most.
        c.on_ack(Instant::from_millis(2), 5 * MSS, None, c.cwnd());
        assert_eq!(c.cwnd(), 14 * MSS);
        // Delayed ACKs (one per two segments) still double the window per RTT.
        let mut now = Instant::ZERO;
        let mut d = NewReno::new(MSS, now);
        round(&mut d, &mut now, 2 * MSS);
        assert_eq!(d.cwnd(), 20 * MSS);
    }

    #[test]
    fn slow_start_stops_at_ssthresh_and_carries_the_rest() {
        let mut c = NewReno::new(MSS, Instant::ZERO);
        c.on_loss(Instant::ZERO, 10 * MSS);
        c.on_timeout(Instant::ZERO, 24 * MSS);
        // The loss set ssthresh = cwnd = 5 segments; the timeout halves FlightSize, taken as
        // at most cwnd: min(24, 5) / 2 = 2.5 segments.
        assert_eq!((c.cwnd(), c.ssthresh()), (MSS, 2_500));
        // After a timeout L = 1*SMSS.
        c.on_ack(Instant::from_millis(1), 2 * MSS, None, MSS);
        assert_eq!(c.cwnd(), 2 * MSS);
        // 500 bytes reach ssthresh; 500 more go to the avoidance counter.
        c.on_ack(Instant::from_millis(2), MSS, None, 2 * MSS);
        assert_eq!(c.cwnd(), 2_500);
        assert_eq!(c.window.ca_acked, 500);
    }

    #[test]
    fn congestion_avoidance_adds_one_mss_per_rtt() {
        let mut c = NewReno::new(MSS, Instant::ZERO);
        let mut now = Instant::ZERO;
        c.on_loss(now, 40 * MSS);
        assert_eq!(c.cwnd(), 5 * MSS);
        c.window.cwnd = 40 * MSS;
        c.on_loss(now, 40 * MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (20 * MSS, 20 * MSS));
        for n in 1..=20 {
            round(&mut c, &mut now, MSS);
            assert_eq!(c.cwnd(), (20 + n) * MSS, "after {n} RTTs");
        }
        // With delayed ACKs too.
        for n in 1..=5 {
            round(&mut c, &mut now, 2 * MSS);
            assert_eq!(c.cwnd(), (40 + n) * MSS);
        }
    }

    #[test]
    fn loss_halves_flight_size() {
        let mut c = NewReno::new(MSS, Instant::ZERO);
        let mut now = Instant::ZERO;
        for _ in 0..3 {
            round(&mut c, &mut now, MSS);
        }
        assert_eq!(c.cwnd(), 80 * MSS);
        c.on_loss(now, 80 * MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (40 * MSS, 40 * MSS));
        // RFC 5681 eq. 4 uses FlightSize, not cwnd: an application-limited sender.
        c.on_recovery_exit(now);
        assert_eq!(c.cwnd(), 40 * MSS);
        c.on_loss(now, 30 * MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (15 * MSS, 15 * MSS));
        // Never below 2*SMSS.
        c.on_loss(now, MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (2 * MSS, 2 * MSS));
    }

    #[test]
    fn recovery_exit_deflates_but_never_inflates() {
        let mut c = NewReno::new(MSS, Instant::ZERO);
        c.window.cwnd = 30 * MSS;
        c.on_loss(Instant::ZERO, 30 * MSS);
        assert_eq!(c.cwnd(), 15 * MSS);
        c.on_recovery_exit(Instant::ZERO);
        assert_eq!(c.cwnd(), 15 * MSS);
        // A timeout during recovery: the exit leaves the loss window.
        c.on_timeout(Instant::ZERO, 15 * MSS);
        c.on_recovery_exit(Instant::ZERO);
        assert_eq!(c.cwnd(), MSS);
    }

    #[test]
    fn timeout_goes_to_one_segment_and_holds_ssthresh_when_repeated() {
        let mut c = NewReno::new(MSS, Instant::ZERO);
        c.window.cwnd = 64 * MSS;
        c.on_timeout(Instant::ZERO, 64 * MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (MSS, 32 * MSS));
        // The same segment times out again: ssthresh is held (RFC 5681 §3.1).
        c.on_timeout(Instant::from_secs(1), MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (MSS, 32 * MSS));
        // New data acknowledged, then another timeout: ssthresh recomputed.
        c.on_ack(Instant::from_secs(2), MSS, None, MSS);
        assert_eq!(c.cwnd(), 2 * MSS);
        c.on_timeout(Instant::from_secs(3), 2 * MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (MSS, 2 * MSS));
    }

    #[test]
    fn window_never_exceeds_the_maximum() {
        let mut c = NewReno::new(MSS, Instant::ZERO);
        c.window.cwnd = MAX_WINDOW - 3 * MSS;
        for i in 0..3 {
            c.on_ack(Instant::from_millis(i), usize::MAX, None, usize::MAX);
        }
        assert_eq!(c.cwnd(), MAX_WINDOW);
        assert_eq!(c.ssthresh(), INITIAL_SSTHRESH);
        // Congestion avoidance with stretch ACKs of any size: one SMSS per ACK at most.
        c.on_loss(Instant::from_secs(1), usize::MAX);
        assert_eq!(c.cwnd(), MAX_WINDOW / 2);
        c.on_ack(Instant::from_secs(2), usize::MAX, None, usize::MAX);
        assert_eq!(c.cwnd(), MAX_WINDOW / 2 + MSS);
        c.window.cwnd = MAX_WINDOW;
        c.on_ack(Instant::from_secs(3), usize::MAX, None, usize::MAX);
        assert_eq!(c.cwnd(), MAX_WINDOW);
    }

    proptest! {
        #[test]
        fn random_events_keep_invariants(events in proptest::collection::vec(any_event(), 0..300)) {
            let mut c = NewReno::new(1460, Instant::from_secs(1));
            let trace = play(&mut c, &events);
            let mut again = NewReno::new(1460, Instant::from_secs(1));
            prop_assert_eq!(trace, play(&mut again, &events));
        }
    }
}
