//! RFC 5961's protections against blind attacks, and the acceptability tests of RFC 9293
//! §3.10.7.4: what a segment that does not belong gets (a challenge ACK, an ACK, or
//! nothing) and that it changes no state.

use sluice_core::tcp::{State, TcpConfig};
use sluice_core::wire::{SeqNumber, TcpFlags, TcpRepr};

use crate::harness::*;

/// Our ACK with nothing sent and `received` bytes of the peer's taken.
fn our_ack(received: usize) -> TcpRepr<'static> {
    TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1 + received,
        window_len: (RECV_BUFFER - received) as u16,
        ..RECV_TEMPL
    }
}

fn theirs(seq: SeqNumber) -> TcpRepr<'static> {
    TcpRepr { seq_number: seq, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL }
}

fn rst_at(seq: SeqNumber) -> TcpRepr<'static> {
    TcpRepr { flags: RST, seq_number: seq, ack_number: SeqNumber(0), window_len: 0, ..SEND_TEMPL }
}

#[test]
fn rst_in_window_but_not_at_rcv_nxt_gets_a_challenge_ack() {
    // RFC 5961 §3.2: only a RST at exactly RCV.NXT resets; one elsewhere in the window is
    // answered with a challenge ACK and the connection stays.
    let mut s = Script::established(config());
    s.peer_sends(&rst_at(REMOTE_SEQ + 1 + 100));
    s.expect(&[our_ack(0)]);
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!((s.stats.challenge_acks, s.stats.resets_received), (1, 0));
    // RST|ACK counts the same (once the per-connection interval has passed).
    s.advance(ms(500));
    s.peer_sends(&TcpRepr { flags: RST_ACK, ack_number: LOCAL_SEQ + 1, ..rst_at(REMOTE_SEQ + 2) });
    s.expect(&[our_ack(0)]);
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn rst_outside_the_window_is_dropped_silently() {
    // RFC 5961 §3.2 / RFC 9293 §3.10.7.4: an unacceptable RST is dropped, never answered.
    let mut s = Script::established(config());
    s.peer_sends(&rst_at(REMOTE_SEQ + 1 + RECV_BUFFER));
    s.peer_sends(&rst_at(REMOTE_SEQ));
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.stats.challenge_acks, 0);
}

#[test]
fn syn_in_established_gets_a_challenge_ack() {
    // RFC 5961 §4.2: a SYN in a synchronized state, whatever its sequence number, is
    // answered with an ACK and otherwise ignored (no reset, unlike RFC 793).
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { flags: SYN, ack_number: SeqNumber(0), ..theirs(REMOTE_SEQ + 1) });
    s.expect(&[our_ack(0)]);
    assert_eq!(s.stats.challenge_acks, 1);
    // A SYN from far outside the window (a new incarnation, or a blind attacker): a
    // challenge ACK too, "irrespective of the sequence number".
    s.advance(ms(500));
    s.peer_sends(&TcpRepr { flags: SYN, ack_number: SeqNumber(0), ..theirs(SeqNumber(12345)) });
    s.expect(&[our_ack(0)]);
    // SYN+ACK too.
    s.advance(ms(500));
    s.peer_sends(&TcpRepr { flags: SYN_ACK, ..theirs(REMOTE_SEQ + 1) });
    s.expect(&[our_ack(0)]);
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!((s.stats.challenge_acks, s.stats.resets_sent), (3, 0));
}

#[test]
fn a_zero_challenge_ack_limit_sends_none() {
    // RFC 5961 §7: the stack-wide limit; at 0 no challenge ACK goes out at all, and the
    // connection is left alone as before.
    let mut s = Script::established(TcpConfig { challenge_acks_per_sec: 0, ..config() });
    s.peer_sends(&rst_at(REMOTE_SEQ + 1 + 100));
    s.advance(ms(500));
    s.peer_sends(&TcpRepr { flags: SYN, ..theirs(REMOTE_SEQ + 1) });
    s.expect_nothing();
    assert_eq!((s.stats.challenge_acks, s.stats.challenge_acks_limited_global), (0, 2));
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn ack_of_data_never_sent_is_answered_and_dropped() {
    // RFC 5961 §5.2 / RFC 9293 §3.10.7.4, fifth: SEG.ACK > SND.NXT: send an ACK, drop the
    // segment (its data too).
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { ack_number: LOCAL_SEQ + 1 + 1000, payload: b"bogus", ..theirs(REMOTE_SEQ + 1) });
    s.expect(&[our_ack(0)]);
    assert_eq!(s.conn.queued(), (0, 0));
    assert_eq!(s.stats.bad_acks, 1);
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn too_old_ack_gets_a_challenge_ack_and_is_dropped() {
    // RFC 5961 §5.2: acceptable only within [SND.UNA - MAX.SND.WND, SND.NXT]; anything
    // older is discarded and answered.
    let mut s = Script::established(config());
    let too_old = LOCAL_SEQ + 1 - (usize::from(PEER_WINDOW) + 1);
    s.peer_sends(&TcpRepr { ack_number: too_old, payload: b"bogus", ..theirs(REMOTE_SEQ + 1) });
    s.expect(&[our_ack(0)]);
    assert_eq!(s.conn.queued(), (0, 0));
    assert_eq!((s.stats.bad_acks, s.stats.challenge_acks), (1, 1));

    // An old ACK within MAX.SND.WND is fine: its data is taken.
    let old = LOCAL_SEQ + 1 - usize::from(PEER_WINDOW);
    s.peer_sends(&TcpRepr { ack_number: old, payload: b"fine", ..theirs(REMOTE_SEQ + 1) });
    s.expect(&[our_ack(4)]);
    assert_eq!(s.read_all(), b"fine");
}

#[test]
fn segment_outside_the_window_is_answered_and_dropped() {
    // RFC 9293 §3.10.7.4, first: an unacceptable segment gets <SEQ=SND.NXT><ACK=RCV.NXT>
    // and is dropped.
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { payload: b"far", ..theirs(REMOTE_SEQ + 1 + RECV_BUFFER) });
    s.expect(&[our_ack(0)]);
    s.advance(ms(500));
    s.peer_sends(&TcpRepr { payload: b"old", ..theirs(REMOTE_SEQ + 1 - 3) });
    s.expect(&[our_ack(0)]);
    assert_eq!(s.stats.out_of_window, 2);
    assert_eq!(s.conn.queued(), (0, 0));
    // The data straddling the left edge is acceptable: its new part is taken.
    s.peer_sends(&TcpRepr { payload: b"oldnew", ..theirs(REMOTE_SEQ + 1 - 3) });
    s.expect(&[our_ack(3)]);
    assert_eq!(s.read_all(), b"new");
}

#[test]
fn segment_without_ack_is_dropped() {
    // RFC 9293 §3.10.7.4, fifth: "if the ACK bit is off, drop the segment and return".
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { flags: TcpFlags::PSH, payload: b"data", ..theirs(REMOTE_SEQ + 1) });
    s.expect_nothing();
    assert_eq!(s.conn.queued(), (0, 0));
}

#[test]
fn junk_changes_nothing() {
    // A burst of blind segments (RSTs and data outside the window, with all kinds of ACK
    // numbers) leaves the connection exactly as it was: the data segments earn one ACK
    // (one per `invalid_ack_interval`), the RSTs nothing, and in-order data is taken
    // normally afterwards.
    let mut s = Script::established(config());
    for n in 0..50 {
        let seq = REMOTE_SEQ + 1 + RECV_BUFFER + n * 7919;
        s.peer_sends(&TcpRepr { flags: RST, ..theirs(seq) });
        s.peer_sends(&TcpRepr {
            ack_number: SeqNumber((n as u32).wrapping_mul(0x9e37_79b9)),
            payload: b"junk",
            ..theirs(seq)
        });
    }
    s.expect(&[our_ack(0)]);
    assert_eq!((s.stats.out_of_window, s.stats.resets_received, s.stats.challenge_acks), (50, 0, 0));
    assert_eq!(s.stats.invalid_acks_limited, 49);
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.conn.queued(), (0, 0));
    assert_eq!(s.next_timer(), None);
    s.peer_sends(&TcpRepr { payload: b"real", ..theirs(REMOTE_SEQ + 1) });
    s.expect(&[our_ack(4)]);
    assert_eq!(s.read_all(), b"real");
}
