//! The limits on ACKs to segments that fail a check: challenge ACKs (RFC 5961 §3.2, §4.2,
//! §5.2) at most one per `invalid_ack_interval` per connection and within a stack-wide
//! budget drawn at random each second (RFC 5961 §7, CVE-2016-5696); ACKs to segments
//! outside the window, failing PAWS (RFC 7323 §5) or acknowledging data never sent
//! (RFC 5961 §5.2) at most one per `invalid_ack_interval` per connection (Linux
//! `tcp_invalid_ratelimit`), so two stacks that disagree cannot ACK each other forever.

use sluice_core::tcp::{ChallengeAckBudget, State, TcpConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{SeqNumber, TcpOptions, TcpRepr};

use crate::harness::*;

/// Our ACK on a connection of [`Script::established`]: nothing sent, nothing received.
fn our_ack() -> TcpRepr<'static> {
    TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        window_len: RECV_BUFFER as u16,
        ..RECV_TEMPL
    }
}

fn theirs(seq: SeqNumber) -> TcpRepr<'static> {
    TcpRepr { seq_number: seq, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL }
}

/// An in-window RST that is not at RCV.NXT: a challenge ACK's cause (RFC 5961 §3.2).
fn rst_in_window() -> TcpRepr<'static> {
    TcpRepr { flags: RST, ack_number: SeqNumber(0), window_len: 0, ..theirs(REMOTE_SEQ + 1 + 100) }
}

/// The peer sends `seg(n)` every `every` for `period`; returns the instants (as
/// milliseconds since the flood began) at which we answered, each answer being `reply`.
fn flood<'a>(
    s: &mut Script,
    every: Duration,
    period: Duration,
    seg: impl Fn(u64) -> TcpRepr<'a>,
    reply: impl Fn(&Script) -> TcpRepr<'static>,
) -> Vec<u64> {
    let start = s.now;
    let mut answered = Vec::new();
    let mut n = 0;
    while s.now < start + period {
        s.peer_sends(&seg(n));
        let emitted = s.take_emitted();
        if !emitted.is_empty() {
            assert_eq!(emitted, [describe(&reply(s))], "at {}", s.now);
            answered.push((s.now - start).as_millis() as u64);
        }
        s.advance(every);
        n += 1;
    }
    answered
}

#[test]
fn a_burst_of_rsts_and_syns_draws_one_challenge_ack_per_interval() {
    // RFC 5961 §3.2 and §4.2, limited per connection (Linux: one per 500 ms): an attacker
    // flooding in-window RSTs and SYNs at one connection gets two challenge ACKs a
    // second, however fast it sends, and the connection survives.
    let mut s = Script::established(config());
    let answered = flood(
        &mut s,
        ms(10),
        secs(3),
        |n| {
            if n % 2 == 0 {
                rst_in_window()
            } else {
                TcpRepr { flags: SYN, ..theirs(SeqNumber(n as u32 * 7919)) }
            }
        },
        |_| our_ack(),
    );
    assert_eq!(answered, [0, 500, 1000, 1500, 2000, 2500]);
    assert_eq!((s.stats.challenge_acks, s.stats.challenge_acks_limited_connection), (6, 294));
    assert_eq!((s.stats.challenge_acks_limited_global, s.stats.resets_received), (0, 0));
    assert_eq!(s.conn.state(), State::Established);

    // The interval is measured from the last ACK sent: 499 ms later is still too soon.
    s.advance(ms(500 - 10));
    s.peer_sends(&rst_in_window());
    s.expect(&[our_ack()]);
    s.advance(ms(499));
    s.peer_sends(&rst_in_window());
    s.expect_nothing();
    s.advance(ms(1));
    s.peer_sends(&rst_in_window());
    s.expect(&[our_ack()]);
}

#[test]
fn the_interval_is_configurable_and_zero_turns_it_off() {
    let mut s = Script::established(TcpConfig { invalid_ack_interval: ms(100), ..config() });
    let answered = flood(&mut s, ms(10), secs(1), |_| rst_in_window(), |_| our_ack());
    assert_eq!(answered, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);

    let mut s = Script::established(TcpConfig { invalid_ack_interval: Duration::ZERO, ..config() });
    let answered = flood(&mut s, ms(10), ms(100), |_| rst_in_window(), |_| our_ack());
    assert_eq!(answered.len(), 10);
}

/// `count` connections of one stack, all established, sharing the budget of `secret`
/// with a limit of 100 a second; each gets one in-window RST in each of `seconds`
/// seconds. Returns how many challenge ACKs the stack sent in each second.
fn challenge_acks_per_second(secret: [u8; 16], count: usize, seconds: u64) -> Vec<usize> {
    let config = TcpConfig { challenge_acks_per_sec: 100, ..config() };
    let mut budget = ChallengeAckBudget::new(config.challenge_acks_per_sec, secret);
    let mut scripts: Vec<Script> = (0..count).map(|_| Script::established(config)).collect();
    let mut sent = Vec::new();
    for second in 1..=seconds {
        let mut this_second = 0;
        for (i, s) in scripts.iter_mut().enumerate() {
            // Spread over the second, each connection once.
            let at = Instant::from_secs(second) + Duration::from_micros(i as u64 * 1000);
            s.advance(at - s.now);
            s.peer_sends_sharing(&rst_in_window(), &mut budget);
            let emitted = s.take_emitted();
            assert!(emitted.is_empty() || emitted == [describe(&our_ack())], "{emitted:?}");
            this_second += emitted.len();
        }
        let limited: u64 = scripts.iter().map(|s| s.stats.challenge_acks_limited_global).sum();
        let acks: u64 = scripts.iter().map(|s| s.stats.challenge_acks).sum();
        assert_eq!(acks + limited, second * count as u64, "every RST is either answered or counted");
        assert!(scripts.iter().all(|s| s.stats.challenge_acks_limited_connection == 0));
        sent.push(this_second);
    }
    sent
}

#[test]
fn the_stack_wide_budget_is_respected_and_random_per_second() {
    // RFC 5961 §7 and CVE-2016-5696: 200 connections each draw a challenge ACK in the same
    // second (none of them is over its own limit), more than any budget: the stack sends
    // between half and one and a half times the limit (100), a different number each
    // second and for each secret, so an attacker cannot subtract a known constant.
    let mut all = Vec::new();
    for seed in 1..=4u8 {
        let per_second = challenge_acks_per_second([seed; 16], 200, 4);
        assert!(per_second.iter().all(|&n| (50..150).contains(&n)), "seed {seed}: {per_second:?}");
        all.extend(per_second);
    }
    let distinct: std::collections::HashSet<_> = all.iter().collect();
    assert!(distinct.len() >= 8, "the budgets hardly vary: {all:?}");
    // The same secret repeats exactly (tests stay deterministic).
    assert_eq!(challenge_acks_per_second([3; 16], 200, 4), all[8..12]);
}

#[test]
fn out_of_window_data_flood_draws_one_ack_per_interval() {
    // RFC 9293 §3.10.7.4, first: an unacceptable segment is answered with an ACK; a flood
    // of them gets one per 500 ms, while in-window data is still acknowledged at once.
    let mut s = Script::established(config());
    let answered = flood(
        &mut s,
        ms(1),
        secs(2),
        |n| TcpRepr { payload: b"junk", ..theirs(REMOTE_SEQ + 1 + RECV_BUFFER + n as usize) },
        |_| our_ack(),
    );
    assert_eq!(answered, [0, 500, 1000, 1500]);
    assert_eq!((s.stats.out_of_window, s.stats.invalid_acks_limited), (2000, 1996));
    // Acceptable segments are not limited: out-of-order data in the window is
    // acknowledged at once (RFC 5681 §4.2), 1 ms after the last limited ACK.
    s.peer_sends(&TcpRepr { payload: b"ahead", ..theirs(REMOTE_SEQ + 1 + 100) });
    s.expect(&[our_ack()]);
}

#[test]
fn retransmitted_data_is_answered_every_time_but_data_from_further_back_is_limited() {
    // A sender that missed our ACKs retransmits data we already have: every copy is
    // answered, however often (the ACK is what it needs to recover; RFC 5681 §4.2), so
    // loss recovery is untouched. Data from further back than a receive buffer could come
    // from no real sender and is limited like any other invalid segment.
    let mut s = Script::established(config());
    let answered = flood(
        &mut s,
        ms(10),
        secs(1),
        |_| TcpRepr { payload: b"seen", ..theirs(REMOTE_SEQ + 1 - 100) },
        |_| our_ack(),
    );
    assert_eq!(answered.len(), 100);
    assert_eq!(s.stats.invalid_acks_limited, 0);
    let answered = flood(
        &mut s,
        ms(10),
        secs(1),
        |_| TcpRepr { payload: b"ancient", ..theirs(REMOTE_SEQ + 1 - RECV_BUFFER - 100) },
        |_| our_ack(),
    );
    assert_eq!(answered, [0, 500]);
    assert_eq!(s.stats.invalid_acks_limited, 98);
    // A FIN again (our ACK of it was lost) is a retransmission too.
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(REMOTE_SEQ + 1) });
    let after_fin = TcpRepr { ack_number: REMOTE_SEQ + 2, window_len: (RECV_BUFFER - 1) as u16, ..our_ack() };
    s.expect(&[after_fin]);
    for _ in 0..3 {
        s.advance(ms(10));
        s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(REMOTE_SEQ + 1) });
        s.expect(&[after_fin]);
    }
    assert_eq!(s.conn.state(), State::CloseWait);
}

#[test]
fn acks_of_data_never_sent_draw_one_ack_per_interval() {
    // RFC 5961 §5.2: SEG.ACK > SND.MAX is answered with an ACK and dropped; the answers
    // are limited per connection like the others (two stacks whose sequence spaces
    // disagree would otherwise ACK each other forever).
    let mut s = Script::established(config());
    let answered = flood(
        &mut s,
        ms(5),
        secs(1),
        |n| TcpRepr { ack_number: LOCAL_SEQ + 1 + 1000 + n as usize, ..theirs(REMOTE_SEQ + 1) },
        |_| our_ack(),
    );
    assert_eq!(answered, [0, 500]);
    assert_eq!((s.stats.bad_acks, s.stats.invalid_acks_limited), (200, 198));
}

#[test]
fn paws_failures_draw_one_ack_per_interval() {
    // RFC 7323 §5.3 R1: a segment whose timestamp is older than TS.Recent is answered with
    // an ACK and dropped; a flood of replayed old segments gets one ACK per 500 ms.
    let mut s = established_with_all_options();
    let old = TcpOptions { timestamps: Some((PEER_TS + 5, TS_OFFSET)), ..NO_OPTIONS };
    let answered = flood(
        &mut s,
        ms(2),
        secs(1),
        |_| TcpRepr { window_len: 469, options: old, payload: b"replayed", ..theirs(REMOTE_SEQ + 1) },
        |s| TcpRepr {
            options: TcpOptions { timestamps: Some((our_tsval(s.now), PEER_TS + 10)), ..NO_OPTIONS },
            ..our_ack()
        },
    );
    assert_eq!(answered, [0, 500]);
    assert_eq!((s.stats.paws_rejected, s.stats.invalid_acks_limited), (500, 498));
    assert_eq!(s.conn.queued(), (0, 0));
}
