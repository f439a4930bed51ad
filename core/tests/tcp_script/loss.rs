//! Loss recovery: the retransmission timer and RTT estimation (RFC 6298, RFC 7323 §4),
//! fast retransmit and NewReno (RFC 5681, RFC 6582), SACK recovery (RFC 6675), RACK-TLP
//! (RFC 8985) and the retry limit.

use sluice_core::tcp::congestion::Algorithm;
use sluice_core::tcp::{State, TcpConfig, TcpError};
use sluice_core::time::Duration;
use sluice_core::wire::{SackBlocks, SeqNumber, TcpOptions, TcpRepr};

use crate::harness::*;

fn ours(offset: usize, payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr { seq_number: LOCAL_SEQ + 1 + offset, ack_number: REMOTE_SEQ + 1, payload, ..RECV_TEMPL }
}

fn peer_ack(acked: usize) -> TcpRepr<'static> {
    TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1 + acked, ..SEND_TEMPL }
}

/// The peer's duplicate ACK of `acked` bytes, SACKing `[from, to)` byte ranges of ours.
fn peer_sack(acked: usize, blocks: &[(usize, usize)]) -> TcpRepr<'static> {
    let blocks: Vec<(SeqNumber, SeqNumber)> =
        blocks.iter().map(|&(from, to)| (LOCAL_SEQ + 1 + from, LOCAL_SEQ + 1 + to)).collect();
    TcpRepr {
        options: TcpOptions { sack_blocks: SackBlocks::from_slice(&blocks), ..NO_OPTIONS },
        ..peer_ack(acked)
    }
}

const SEG: usize = 1460;

/// Segment `n` of `payload` as we send it (PSH on the last byte written).
fn segment(payload: &[u8], n: usize) -> TcpRepr<'_> {
    let end = ((n + 1) * SEG).min(payload.len());
    let seg = ours(n * SEG, &payload[n * SEG..end]);
    if end == payload.len() {
        TcpRepr { flags: PSH_ACK, ..seg }
    } else {
        seg
    }
}

fn newreno() -> TcpConfig {
    TcpConfig { congestion: Algorithm::NewReno, ..config() }
}

// ---------------------------------------------------------------------- timer and RTT

#[test]
fn retransmission_timeout_backs_off_exponentially() {
    // RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, double the RTO.
    let mut s = Script::established(config());
    let payload = data(1000);
    s.conn.send(&payload).unwrap();
    let first = TcpRepr { flags: PSH_ACK, ..ours(0, &payload) };
    s.expect(&[first]);
    let mut wait = secs(1);
    for _ in 0..4 {
        s.advance(wait - ms(1));
        s.expect_nothing();
        s.advance(ms(1));
        s.expect(&[first]);
        wait *= 2;
    }
    assert_eq!(s.now, sluice_core::time::Instant::from_secs(15));
    assert_eq!((s.stats.timeouts, s.stats.retransmitted_segments), (4, 4));
    // RFC 5681 §3.1: after a timeout cwnd is one segment, ssthresh max(FlightSize/2, 2 SMSS).
    assert_eq!((s.conn.cwnd(), s.conn.ssthresh()), (1460, 2920));

    // The ACK stops the timer; Karn's rule keeps the backed-off RTO (no sample from a
    // retransmitted segment) until new data is timed.
    s.advance(ms(50));
    s.peer_sends(&peer_ack(1000));
    s.expect_nothing();
    assert_eq!(s.next_timer(), None);
    assert_eq!(s.conn.rtt().srtt(), None);
    assert_eq!(s.conn.rtt().rto(), secs(16));

    s.conn.send(b"fresh").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(1000, b"fresh") }]);
    assert_eq!(s.next_timer(), Some(secs(16)));
    s.advance(ms(50));
    s.peer_sends(&peer_ack(1005));
    assert_eq!(s.conn.rtt().srtt(), Some(ms(50)));
    // RFC 6298 §2.2 and §2.4: 50 + 4 * 25 = 150 ms, raised to the 200 ms minimum.
    assert_eq!(s.conn.rtt().rto(), ms(200));
}

#[test]
fn rtt_measured_from_timed_segments() {
    // RFC 6298 §2.2-2.3, one timed segment per flight (RFC 6298 §3).
    let mut s = Script::established(TcpConfig { nodelay: true, ..config() });
    s.conn.send(b"one").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"one") }]);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(3));
    // SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR.
    assert_eq!((s.conn.rtt().srtt(), s.conn.rtt().rttvar()), (Some(ms(100)), Some(ms(50))));
    assert_eq!(s.conn.rtt().rto(), ms(300));

    s.conn.send(b"two").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(3, b"two") }]);
    s.advance(ms(200));
    s.peer_sends(&peer_ack(6));
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
    assert_eq!(s.conn.rtt().srtt(), Some(Duration::from_micros(112_500)));
    assert_eq!(s.conn.rtt().rttvar(), Some(Duration::from_micros(62_500)));
    assert_eq!(s.conn.rtt().rto(), Duration::from_micros(362_500));

    // The new RTO times the next segment.
    s.conn.send(b"three").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(6, b"three") }]);
    s.advance(Duration::from_micros(362_499));
    s.expect_nothing();
    s.advance(Duration::from_micros(1));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(6, b"three") }]);
}

#[test]
fn karn_no_sample_from_a_retransmitted_segment() {
    // RFC 6298 §3 (Karn): the ACK of a retransmitted segment is ambiguous.
    let mut s = Script::established(config());
    s.conn.send(b"data").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"data") }]);
    s.advance(secs(1));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"data") }]);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(4));
    assert_eq!(s.conn.rtt().srtt(), None);
    assert_eq!(s.conn.rtt().rto(), secs(2), "still backed off");
}

#[test]
fn timestamps_give_samples_even_from_retransmissions() {
    // RFC 7323 §4.1: the echoed TSval tells which transmission is acknowledged, so every
    // ACK gives an unambiguous sample.
    let mut s = established_with_all_options();
    let ts = |s: &Script| TcpOptions { timestamps: Some((our_tsval(s.now), PEER_TS + 10)), ..NO_OPTIONS };
    // SRTT 10 ms from the handshake: RTO = 10 + 4 * 5 = 30 ms, raised to 200 ms.
    assert_eq!(s.conn.rtt().rto(), ms(200));
    s.conn.send(b"data").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, options: ts(&s), ..ours(0, b"data") }]);
    s.advance(ms(200));
    s.expect(&[TcpRepr { flags: PSH_ACK, options: ts(&s), ..ours(0, b"data") }]);
    let retransmitted_at = our_tsval(s.now);
    s.advance(ms(50));
    s.peer_sends(&TcpRepr {
        window_len: 469,
        options: TcpOptions { timestamps: Some((PEER_TS + 260, retransmitted_at)), ..NO_OPTIONS },
        ..peer_ack(4)
    });
    // SRTT = 7/8 * 10 + 1/8 * 50 = 15 ms.
    assert_eq!(s.conn.rtt().srtt(), Some(ms(15)));
}

#[test]
fn data_retry_limit_times_the_connection_out() {
    // RFC 9293 §3.8.3 (R2) and RFC 1122 §4.2.3.5: give up after the retry limit (Linux
    // tcp_retries2); the application sees "timed out".
    let mut s = Script::established(TcpConfig { data_retries: 3, ..config() });
    s.conn.send(b"hello?").unwrap();
    let seg = TcpRepr { flags: PSH_ACK, ..ours(0, b"hello?") };
    s.expect(&[seg]);
    for wait in [1, 2, 4] {
        s.advance(secs(wait));
        s.expect(&[seg]);
    }
    s.advance(secs(8) - ms(1));
    assert_eq!(s.conn.state(), State::Established);
    s.advance(ms(1));
    s.expect_nothing();
    s.expect_closed(Some(TcpError::TimedOut));
    assert_eq!(s.conn.send(b"more"), Err(TcpError::TimedOut));
    assert_eq!(s.conn.recv(&mut [0; 8]), Err(TcpError::TimedOut));
}

// ---------------------------------------------------------------------- fast retransmit

#[test]
fn three_duplicate_acks_trigger_fast_retransmit_and_recovery() {
    // RFC 5681 §3.2: on the third duplicate ACK retransmit the lost segment, ssthresh =
    // FlightSize / 2, cwnd = ssthresh + 3 SMSS, inflated by a segment per further duplicate
    // (sending new data when it allows); the full ACK deflates cwnd to ssthresh.
    let mut s = Script::established(newreno());
    let payload = data(14 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&(0..10).map(|n| segment(&payload, n)).collect::<Vec<_>>());
    s.advance(ms(100));

    // Segment 0 was lost; 1, 2 and 3 arrive.
    s.peer_sends(&peer_ack(0));
    s.peer_sends(&peer_ack(0));
    s.expect_nothing();
    s.peer_sends(&peer_ack(0));
    s.expect(&[segment(&payload, 0)]);
    assert_eq!(s.conn.ssthresh(), 5 * SEG);
    assert_eq!(s.stats.fast_retransmits, 1);

    // Segments 4..9 arrive: cwnd + inflation = 5 + 3 + k segments against 10 in flight.
    s.peer_sends(&peer_ack(0));
    s.peer_sends(&peer_ack(0));
    s.expect_nothing();
    for n in 10..14 {
        s.peer_sends(&peer_ack(0));
        s.expect(&[segment(&payload, n)]);
    }

    // The retransmission arrives: everything up to the recovery point is acknowledged.
    s.advance(ms(100));
    s.peer_sends(&peer_ack(10 * SEG));
    s.expect_nothing();
    assert_eq!(s.conn.cwnd(), 5 * SEG, "deflated to ssthresh");
    assert_eq!(s.stats.fast_retransmits, 1);
    assert_eq!(s.stats.timeouts, 0);
}

#[test]
fn newreno_partial_ack_retransmits_the_next_hole() {
    // RFC 6582 §3.2 step 5: an ACK that covers some but not all of the data outstanding
    // when recovery began retransmits the first unacknowledged segment at once and stays
    // in recovery.
    let mut s = Script::established(newreno());
    let payload = data(10 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&(0..10).map(|n| segment(&payload, n)).collect::<Vec<_>>());
    s.advance(ms(100));

    // Segments 0 and 5 were lost.
    for _ in 0..3 {
        s.peer_sends(&peer_ack(0));
    }
    s.expect(&[segment(&payload, 0)]);
    for _ in 0..5 {
        s.peer_sends(&peer_ack(0));
    }
    s.expect_nothing();

    s.advance(ms(100));
    s.peer_sends(&peer_ack(5 * SEG));
    s.expect(&[segment(&payload, 5)]);
    assert_eq!(s.next_timer(), Some(s.conn.rtt().rto()), "the partial ACK restarted the timer");
    assert_eq!(s.stats.fast_retransmits, 2);
    assert_eq!(s.conn.ssthresh(), 5 * SEG, "one reduction per recovery episode");

    s.advance(ms(100));
    s.peer_sends(&peer_ack(10 * SEG));
    s.expect_nothing();
    assert_eq!(s.conn.cwnd(), 5 * SEG);
    assert_eq!(s.next_timer(), None);
}

#[test]
fn duplicate_acks_after_a_timeout_do_not_start_recovery() {
    // RFC 6582 §3.2 step 2 / §4.1: duplicate ACKs for data sent before the last timeout
    // (recover = SND.MAX then) do not start a fast retransmit.
    let mut s = Script::established(newreno());
    let payload = data(10 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&(0..10).map(|n| segment(&payload, n)).collect::<Vec<_>>());
    // A timeout: go-back-N from segment 0, one segment (cwnd = 1 SMSS).
    s.advance(secs(1));
    s.expect(&[segment(&payload, 0)]);
    // Stale duplicate ACKs from the first flight.
    for _ in 0..3 {
        s.peer_sends(&peer_ack(0));
    }
    s.expect_nothing();
    assert_eq!(s.stats.fast_retransmits, 0);
}

#[test]
fn sack_recovery_retransmits_the_holes_the_scoreboard_shows() {
    // RFC 6675: with SACK, the segments retransmitted are the ones IsLost() marks, in
    // order; SACKed segments are never sent again.
    let mut s = established_with_sack(newreno());
    let payload = data(10 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&(0..10).map(|n| segment(&payload, n)).collect::<Vec<_>>());
    s.advance(ms(100));

    // Segments 1 and 4 are lost: 0 is acknowledged, then 2, 3 and 5 SACKed one by one.
    s.peer_sends(&peer_ack(SEG));
    s.peer_sends(&peer_sack(SEG, &[(2 * SEG, 3 * SEG)]));
    s.peer_sends(&peer_sack(SEG, &[(2 * SEG, 4 * SEG)]));
    s.expect_nothing();
    s.peer_sends(&peer_sack(SEG, &[(5 * SEG, 6 * SEG), (2 * SEG, 4 * SEG)]));
    // Three duplicates, three segments SACKed above segment 1: it is lost (RFC 6675 §5
    // step 4.3, the first retransmission is sent on entering recovery).
    s.expect(&[segment(&payload, 1)]);
    assert_eq!(s.conn.ssthresh(), 9 * SEG / 2);

    // Segment 6 SACKed: only two segments above 4, it is not yet deemed lost.
    s.peer_sends(&peer_sack(SEG, &[(5 * SEG, 7 * SEG), (2 * SEG, 4 * SEG)]));
    s.expect_nothing();
    // Segment 7 SACKed: segment 4 is lost now, and the pipe leaves room for it.
    s.peer_sends(&peer_sack(SEG, &[(5 * SEG, 8 * SEG), (2 * SEG, 4 * SEG)]));
    s.expect(&[segment(&payload, 4)]);

    // Segment 1's retransmission arrives. Rules (1) to (3) of NextSeg() find nothing
    // (nothing is left below the highest SACK, no new data), and SND.UNA passed RescueRxt:
    // rule (4) sends the one rescue retransmission, ending at the highest unSACKed octet.
    s.advance(ms(100));
    s.peer_sends(&peer_sack(4 * SEG, &[(5 * SEG, 8 * SEG)]));
    s.expect(&[segment(&payload, 9)]);
    // The cumulative ACK ends recovery.
    s.peer_sends(&peer_ack(10 * SEG));
    s.expect_nothing();
    assert_eq!(s.conn.cwnd(), 9 * SEG / 2);
    assert_eq!(s.stats.retransmitted_segments, 3);
    assert_eq!(s.stats.timeouts, 0);
}

#[test]
fn timeout_does_not_resend_sacked_data() {
    // RFC 6675 §5.1: after a timeout the scoreboard may be kept; SACKed segments are
    // skipped in the go-back-N.
    let mut s = established_with_sack(newreno());
    let payload = data(5 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&(0..5).map(|n| segment(&payload, n)).collect::<Vec<_>>());
    s.advance(ms(100));
    // Segments 0 and 1 lost; 2 and 3 SACKed. Two duplicates are too few for fast
    // retransmit, but RACK (RFC 8985 §6.2) sees 0 and 1 sent before the SACKed segments
    // by more than the RTT (no minimum RTT is known yet: no reordering window) and
    // retransmits segment 0; the recovery's pipe leaves no room for segment 1.
    s.peer_sends(&peer_sack(0, &[(2 * SEG, 3 * SEG)]));
    s.expect(&[segment(&payload, 0)]);
    assert_eq!(s.stats.rack_losses, 2);
    s.peer_sends(&peer_sack(0, &[(2 * SEG, 4 * SEG)]));
    s.expect_nothing();
    // Both retransmissions are lost; the RTO (1 s from the first transmission) fires.
    s.advance(ms(900));
    s.expect(&[segment(&payload, 0)]);
    assert_eq!(s.conn.cwnd(), SEG);

    // Segment 0 arrives. cwnd is 2 segments now: segment 1 goes again, 2 and 3 do not
    // (they would fit), and segment 4 waits for room (in flight counts up to SND.NXT).
    s.advance(ms(50));
    s.peer_sends(&peer_sack(SEG, &[(2 * SEG, 4 * SEG)]));
    s.expect(&[segment(&payload, 1)]);
    s.advance(ms(50));
    s.peer_sends(&peer_ack(4 * SEG));
    s.expect(&[segment(&payload, 4)]);
    s.peer_sends(&peer_ack(5 * SEG));
    assert_eq!(s.stats.retransmitted_segments, 4);
}

#[test]
fn retransmission_timeout_is_capped_at_max_rto() {
    // RFC 6298 §2.5: a maximum RTO (ours 120 s, as Linux) bounds the backoff; with the
    // default 15 retries (Linux tcp_retries2) the connection gives up after 1207 s.
    let mut s = Script::established(config());
    s.conn.send(b"?").unwrap();
    let seg = TcpRepr { flags: PSH_ACK, ..ours(0, b"?") };
    s.expect(&[seg]);
    let mut intervals = Vec::new();
    for _ in 0..15 {
        let wait = s.next_timer().unwrap();
        intervals.push(wait.as_secs());
        s.advance(wait);
        s.expect(&[seg]);
    }
    assert_eq!(intervals, [1, 2, 4, 8, 16, 32, 64, 120, 120, 120, 120, 120, 120, 120, 120]);
    assert_eq!(s.next_timer(), Some(secs(120)));
    s.advance(secs(120));
    s.expect_nothing();
    s.expect_closed(Some(TcpError::TimedOut));
    assert_eq!(s.now.total_millis(), 1_207_000);
}

#[test]
fn timeout_restarts_from_one_segment_in_slow_start() {
    // RFC 5681 §3.1: after a timeout cwnd is one segment and grows by slow start (by one
    // segment per ACK after a timeout, RFC 3465 §2.3) as the go-back-N proceeds.
    let mut s = Script::established(newreno());
    let payload = data(4 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&(0..4).map(|n| segment(&payload, n)).collect::<Vec<_>>());
    s.advance(secs(1));
    s.expect(&[segment(&payload, 0)]);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(SEG));
    s.expect(&[segment(&payload, 1), segment(&payload, 2)]);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(3 * SEG));
    s.expect(&[segment(&payload, 3)]);
    s.peer_sends(&peer_ack(4 * SEG));
    s.expect_nothing();
    assert_eq!(s.next_timer(), None);
    assert_eq!((s.stats.timeouts, s.stats.retransmitted_segments), (1, 4));
}

#[test]
fn sack_recovery_rescues_the_fin_when_only_it_is_unsacked() {
    // RFC 6675 rule (4) ends the rescue retransmission at the highest unSACKed sequence
    // number. With every data octet SACKed or already retransmitted, that is the FIN's
    // (a SACK covers data only): the rescue resends the FIN, and the connection never
    // asks to send without sending.
    let mut s = established_with_sack(newreno());
    let payload = data(6 * SEG);
    s.conn.send(&payload).unwrap();
    s.conn.shutdown_write();
    let mut flight: Vec<TcpRepr<'_>> = (0..5).map(|n| segment(&payload, n)).collect();
    flight.push(TcpRepr { flags: FIN_PSH_ACK, ..segment(&payload, 5) });
    s.expect(&flight);
    s.advance(ms(100));

    // Segments 0 and 2 are lost. 1, 3 and 4 arrive: three duplicates, segment 0 is resent.
    s.peer_sends(&peer_sack(0, &[(SEG, 2 * SEG)]));
    s.peer_sends(&peer_sack(0, &[(3 * SEG, 4 * SEG), (SEG, 2 * SEG)]));
    s.peer_sends(&peer_sack(0, &[(3 * SEG, 5 * SEG), (SEG, 2 * SEG)]));
    s.expect(&[segment(&payload, 0)]);
    // Segment 5 arrives: segment 2 is lost, and resent.
    s.peer_sends(&peer_sack(0, &[(3 * SEG, 6 * SEG), (SEG, 2 * SEG)]));
    s.expect(&[segment(&payload, 2)]);
    // Segment 0's retransmission arrives, passing RescueRxt: only the FIN is unSACKed,
    // and it is the rescue.
    s.peer_sends(&peer_sack(2 * SEG, &[(3 * SEG, 6 * SEG)]));
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(6 * SEG, &[]) }]);
    assert!(!s.conn.wants_to_send(), "nothing is left to send");

    // Segment 2's retransmission arrives: everything and the FIN are acknowledged.
    s.peer_sends(&peer_ack(6 * SEG + 1));
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::FinWait2);
    assert_eq!(s.stats.retransmitted_segments, 3);
}

// ---------------------------------------------------------------------- RACK-TLP

#[test]
fn tail_loss_probe_repairs_a_lost_last_segment_without_a_timeout() {
    // RFC 8985 §7: the last segment of a flight is lost, so no duplicate ACK follows. With
    // one segment in flight the PTO is 2 SRTT + the worst-case delayed ACK (200 ms), when
    // that is sooner than the RTO; the probe sends the last segment again.
    let mut s = established_with_sack(newreno());
    let payload = data(2 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&[segment(&payload, 0), segment(&payload, 1)]);
    // The first segment is timed: SRTT 300 ms, RTTVAR 150 ms, RTO 900 ms.
    s.advance(ms(300));
    s.peer_sends(&peer_ack(SEG));
    s.expect_nothing();
    assert_eq!(s.next_timer(), Some(ms(800)), "PTO = 2 * 300 ms + 200 ms, before the RTO");
    s.advance(ms(800));
    s.expect(&[segment(&payload, 1)]);
    assert_eq!(s.stats.tlp_probes, 1);
    assert_eq!(s.next_timer(), Some(ms(900)), "the RTO follows the probe");

    // The probe repaired the loss: no timeout.
    s.advance(ms(300));
    s.peer_sends(&peer_ack(2 * SEG));
    s.expect_nothing();
    assert_eq!(s.next_timer(), None);
    assert_eq!(s.stats.timeouts, 0);

    // §7.4: an ACK beyond the probe without a D-SACK shows the probe repaired a loss; the
    // window is reduced once, as for any loss.
    let cwnd = s.conn.cwnd();
    let more = data(3 * SEG);
    s.conn.send(&more).unwrap();
    s.expect(
        &(0..3)
            .map(|n| TcpRepr { seq_number: LOCAL_SEQ + 1 + (2 + n) * SEG, ..segment(&more, n) })
            .collect::<Vec<_>>(),
    );
    s.advance(ms(300));
    s.peer_sends(&peer_ack(5 * SEG));
    assert_eq!(s.stats.tlp_recoveries, 1);
    assert!(s.conn.cwnd() < cwnd, "cwnd {} not reduced from {cwnd}", s.conn.cwnd());
    assert_eq!(s.stats.timeouts, 0);
}

#[test]
fn tail_loss_probe_answered_by_a_dsack_reduces_nothing() {
    // RFC 8985 §7.4: the original arrived, only its ACK was late; the receiver reports the
    // probe as duplicate data (RFC 2883), so no loss happened.
    let mut s = established_with_sack(newreno());
    let payload = data(2 * SEG);
    s.conn.send(&payload).unwrap();
    s.expect(&[segment(&payload, 0), segment(&payload, 1)]);
    s.advance(ms(300));
    s.peer_sends(&peer_ack(SEG));
    s.advance(ms(800));
    s.expect(&[segment(&payload, 1)]);
    let cwnd = s.conn.cwnd();
    s.advance(ms(300));
    s.peer_sends(&peer_sack(2 * SEG, &[(SEG, 2 * SEG)]));
    s.expect_nothing();
    // Later data acknowledged beyond the probe does not count it as a repair either.
    let more = data(SEG);
    s.conn.send(&more).unwrap();
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1 + 2 * SEG, ..segment(&more, 0) }]);
    s.advance(ms(300));
    s.peer_sends(&peer_ack(3 * SEG));
    assert_eq!(s.stats.tlp_recoveries, 0);
    assert!(s.conn.cwnd() >= cwnd);
}

/// ESTABLISHED with SACK, one segment exchanged so that the RTT is known: 40 ms, hence a
/// RACK reordering window of min_RTT / 4 = 10 ms. Then segments 1, 2 and 3 of `payload`
/// leave at once (at 40 ms).
fn rack_after_one_round_trip(payload: &[u8]) -> Script {
    let mut s = established_with_sack(newreno());
    s.conn.send(&payload[..SEG]).unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..segment(payload, 0) }]);
    s.advance(ms(40));
    s.peer_sends(&peer_ack(SEG));
    s.expect_nothing();
    s.conn.send(&payload[SEG..]).unwrap();
    s.expect(&[segment(payload, 1), segment(payload, 2), segment(payload, 3)]);
    s
}

#[test]
fn rack_marks_a_hole_lost_once_the_reordering_window_passes() {
    // RFC 8985 §6.2: segment 1 is lost and segment 2 SACKed, one duplicate ACK only. RACK
    // deems segment 1 lost once it was sent more than RACK.rtt + reo_wnd before segment
    // 2 was delivered; until then the reordering timer waits.
    let payload = data(4 * SEG);
    let mut s = rack_after_one_round_trip(&payload);
    s.advance(ms(40));
    s.peer_sends(&peer_sack(SEG, &[(2 * SEG, 3 * SEG)]));
    s.expect_nothing();
    assert_eq!(s.next_timer(), Some(ms(10)), "the reordering window, not the PTO or RTO");
    s.advance(ms(10));
    s.expect(&[segment(&payload, 1)]);
    assert_eq!(s.stats.rack_losses, 1);
    assert_eq!(s.stats.fast_retransmits, 1);

    // The retransmission arrives: recovery ends, nothing timed out.
    s.advance(ms(40));
    s.peer_sends(&peer_ack(4 * SEG));
    s.expect_nothing();
    assert_eq!(s.stats.timeouts, 0);
    assert_eq!(s.stats.retransmitted_segments, 1);
}

#[test]
fn rack_does_not_retransmit_reordering_within_the_window() {
    // RFC 8985 §6.2: segment 1 arrives after segment 2, but within the reordering window:
    // the timer is cancelled by the cumulative ACK and nothing is sent again.
    let payload = data(4 * SEG);
    let mut s = rack_after_one_round_trip(&payload);
    s.advance(ms(40));
    s.peer_sends(&peer_sack(SEG, &[(2 * SEG, 3 * SEG)]));
    s.expect_nothing();
    s.advance(ms(5));
    s.peer_sends(&peer_ack(3 * SEG));
    s.expect_nothing();
    s.advance(ms(20));
    s.expect_nothing();
    s.peer_sends(&peer_ack(4 * SEG));
    s.expect_nothing();
    assert_eq!(s.stats.rack_losses, 0);
    assert_eq!(s.stats.retransmitted_segments, 0);
    assert_eq!(s.stats.fast_retransmits, 0);
}
