//! Keepalive (RFC 1122 §4.2.3.6): probes after an idle time, repeated at an interval, and
//! the connection declared dead after a count of unanswered probes.

use sluice_core::tcp::{KeepaliveConfig, State, TcpConfig, TcpError};
use sluice_core::wire::{SeqNumber, TcpRepr};

use crate::harness::*;

fn keepalive_config() -> TcpConfig {
    TcpConfig { keepalive: Some(KeepaliveConfig { idle: secs(10), interval: secs(2), count: 3 }), ..config() }
}

/// A keepalive probe: an ACK with SEG.SEQ = SND.NXT - 1, which forces an answer.
const PROBE: TcpRepr<'static> =
    TcpRepr { seq_number: LOCAL_SEQ, ack_number: SeqNumber(REMOTE_SEQ.0 + 1), ..RECV_TEMPL };

/// The peer's answer to a probe.
const ANSWER: TcpRepr<'static> =
    TcpRepr { seq_number: SeqNumber(REMOTE_SEQ.0 + 1), ack_number: SeqNumber(LOCAL_SEQ.0 + 1), ..SEND_TEMPL };

#[test]
fn unanswered_probes_time_the_connection_out() {
    let mut s = Script::established(keepalive_config());
    assert_eq!(s.next_timer(), Some(secs(10)));
    s.advance(secs(10) - ms(1));
    s.expect_nothing();
    s.advance(ms(1));
    s.expect(&[PROBE]);
    s.advance(secs(2));
    s.expect(&[PROBE]);
    s.advance(secs(2));
    s.expect(&[PROBE]);
    assert_eq!(s.conn.state(), State::Established);
    // The third probe went unanswered for an interval: dead. Like Linux, we reset it.
    s.advance(secs(2) - ms(1));
    s.expect_nothing();
    s.advance(ms(1));
    s.expect(&[TcpRepr {
        flags: RST,
        seq_number: LOCAL_SEQ + 1,
        ack_number: SeqNumber(0),
        window_len: 0,
        ..RECV_TEMPL
    }]);
    s.expect_closed(Some(TcpError::TimedOut));
    assert_eq!((s.stats.keepalive_probes, s.stats.keepalive_timeouts), (3, 1));
}

#[test]
fn an_answer_resets_the_keepalive() {
    let mut s = Script::established(keepalive_config());
    s.advance(secs(10));
    s.expect(&[PROBE]);
    s.advance(secs(2));
    s.expect(&[PROBE]);
    s.advance(ms(50));
    s.peer_sends(&ANSWER);
    s.expect_nothing();
    // Idle again from the answer: the next probe is a full idle time later.
    assert_eq!(s.next_timer(), Some(secs(10)));
    s.advance(secs(10));
    s.expect(&[PROBE]);
    // And the count starts over: three more probes before giving up.
    s.advance(secs(2));
    s.expect(&[PROBE]);
    s.advance(secs(2));
    s.expect(&[PROBE]);
    s.advance(secs(2) - ms(1));
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn traffic_postpones_the_probes() {
    let mut s = Script::established(keepalive_config());
    s.advance(secs(9));
    s.peer_sends(&TcpRepr { payload: b"hi", ..ANSWER });
    let ack = TcpRepr { ack_number: REMOTE_SEQ + 1 + 2, window_len: RECV_BUFFER as u16 - 2, ..PROBE };
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1, ..ack }]);
    assert_eq!(s.next_timer(), Some(secs(10)));
    s.advance(secs(10));
    s.expect(&[ack]);
}

#[test]
fn keepalive_is_off_by_default() {
    let mut s = Script::established(config());
    assert_eq!(s.next_timer(), None);
    s.advance(secs(3 * 3600));
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn keepalive_can_be_switched_on_a_live_connection() {
    // setsockopt(SO_KEEPALIVE) after the handshake: the idle time counts from the next
    // segment received.
    let mut s = Script::established(config());
    s.conn.config_mut().keepalive = keepalive_config().keepalive;
    s.advance(secs(1));
    s.peer_sends(&ANSWER);
    assert_eq!(s.next_timer(), Some(secs(10)));
    s.advance(secs(10));
    s.expect(&[PROBE]);
}

#[test]
fn no_keepalive_in_time_wait() {
    // Found by the tcp_stateful fuzz target: a segment in TIME_WAIT restarted the
    // keepalive timer, whose probe cannot be sent there, so the connection wanted to send
    // forever (a busy loop in the interface) until TIME_WAIT ended.
    let mut s = Script::established(keepalive_config());
    s.conn.shutdown_write();
    s.expect(&[TcpRepr {
        flags: FIN_ACK,
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        ..RECV_TEMPL
    }]);
    s.peer_sends(&TcpRepr {
        flags: FIN_ACK,
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 2,
        ..SEND_TEMPL
    });
    let ack = TcpRepr {
        seq_number: LOCAL_SEQ + 2,
        ack_number: REMOTE_SEQ + 2,
        window_len: RECV_BUFFER as u16 - 1,
        ..RECV_TEMPL
    };
    s.expect(&[ack]);
    assert_eq!(s.conn.state(), State::TimeWait);
    // Another segment of the old connection arrives in TIME_WAIT.
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 2, ack_number: LOCAL_SEQ + 2, ..SEND_TEMPL });
    s.expect_nothing();
    // Only the 2 MSL wait runs: no probe is due after the idle time.
    assert_eq!(s.next_timer(), Some(config().msl * 2));
    s.advance(secs(10));
    assert!(!s.conn.wants_to_send(), "a keepalive probe is due in TIME_WAIT");
    s.expect_nothing();
    s.advance(config().msl * 2);
    s.expect_closed(None);
}

#[test]
fn keepalive_timeout_with_a_window_probe_due() {
    // Found by the tcp_stateful fuzz target: the persist timer and the last keepalive
    // interval end together; the persist timer marks a window probe due, the keepalive
    // resets the connection, and the probe stayed due in CLOSED, where it cannot be sent,
    // so the connection wanted to send forever (a busy loop in the interface).
    let mut s = Script::established(keepalive_config());
    s.peer_sends(&TcpRepr { window_len: 0, ..ANSWER });
    s.expect_nothing();
    for wait in [secs(10), secs(2), secs(2)] {
        s.advance(wait);
        s.expect(&[PROBE]);
    }
    // A write into the zero window starts the persist timer; it ends with the third
    // probe's interval.
    let rto = s.conn.rtt().rto();
    s.advance(secs(2) - rto);
    assert_eq!(s.conn.send(b"x"), Ok(1));
    s.expect_nothing();
    assert_eq!(s.next_timer(), Some(rto));
    s.advance(rto);
    s.expect(&[TcpRepr {
        flags: RST,
        seq_number: LOCAL_SEQ + 1,
        ack_number: SeqNumber(0),
        window_len: 0,
        ..RECV_TEMPL
    }]);
    s.expect_closed(Some(TcpError::TimedOut));
    assert!(!s.conn.wants_to_send(), "a window probe is due in CLOSED");
}
