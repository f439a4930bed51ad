//! Connection teardown (RFC 9293 §3.6): active, passive and simultaneous close, half-close,
//! the FIN_WAIT_2 and TIME_WAIT timers, resets and aborts.

use sluice_core::tcp::{State, TcpError};
use sluice_core::wire::{SeqNumber, TcpRepr};

use crate::harness::*;

/// Our segment with sequence number `LOCAL_SEQ + 1 + sent`, acknowledging `received`
/// bytes of the peer's sequence space (its FIN counts one).
fn ours(sent: usize, received: usize) -> TcpRepr<'static> {
    TcpRepr { seq_number: LOCAL_SEQ + 1 + sent, ack_number: REMOTE_SEQ + 1 + received, ..RECV_TEMPL }
}

/// The peer's segment at `LOCAL_SEQ`-relative `acked` and its own `sent`.
fn theirs(sent: usize, acked: usize) -> TcpRepr<'static> {
    TcpRepr { seq_number: REMOTE_SEQ + 1 + sent, ack_number: LOCAL_SEQ + 1 + acked, ..SEND_TEMPL }
}

/// Our window once the peer's FIN is in: the right edge does not move for one byte.
const WINDOW_AFTER_FIN: u16 = RECV_BUFFER as u16 - 1;

fn rst(seq: SeqNumber) -> TcpRepr<'static> {
    TcpRepr { flags: RST, seq_number: seq, ack_number: SeqNumber(0), window_len: 0, ..RECV_TEMPL }
}

/// An ESTABLISHED connection closed by the application: FIN sent, FIN-WAIT-1.
fn fin_wait_1() -> Script {
    let mut s = Script::established(config());
    s.conn.close();
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(0, 0) }]);
    assert_eq!(s.conn.state(), State::FinWait1);
    s
}

#[test]
fn active_close() {
    // RFC 9293 Figure 13, TCP A: ESTABLISHED -> FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT ->
    // CLOSED after 2 MSL.
    let mut s = fin_wait_1();
    assert_eq!(s.next_timer(), Some(secs(1)), "the FIN is retransmitted like data");
    s.advance(ms(10));
    s.peer_sends(&theirs(0, 1));
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::FinWait2);

    s.advance(ms(10));
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 1) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(1, 1) }]);
    assert_eq!(s.conn.state(), State::TimeWait);
    assert_eq!(s.conn.recv(&mut [0; 8]), Ok(0));

    // TIME-WAIT lasts 2 MSL (MSL = 30 s here, Linux's 60 s in all).
    assert_eq!(s.next_timer(), Some(secs(60)));
    s.advance(secs(60) - ms(1));
    assert_eq!(s.conn.state(), State::TimeWait);
    s.advance(ms(1));
    s.expect_nothing();
    s.expect_closed(None);
    assert!(s.conn.is_finished());
}

#[test]
fn fin_is_retransmitted_in_fin_wait_1() {
    let mut s = fin_wait_1();
    s.advance(secs(1));
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(0, 0) }]);
    s.advance(secs(2));
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(0, 0) }]);
    s.peer_sends(&theirs(0, 1));
    assert_eq!(s.conn.state(), State::FinWait2);
}

#[test]
fn fin_after_data_is_sent_with_the_last_segment() {
    // The FIN follows the queued data, on the same segment when it fits.
    let mut s = Script::established(config());
    s.conn.send(b"bye").unwrap();
    s.conn.shutdown_write();
    s.expect(&[TcpRepr { flags: FIN_PSH_ACK, payload: b"bye", ..ours(0, 0) }]);
    assert_eq!(s.conn.state(), State::FinWait1);
    // Acknowledging the data but not the FIN leaves us in FIN-WAIT-1.
    s.peer_sends(&theirs(0, 3));
    assert_eq!(s.conn.state(), State::FinWait1);
    s.peer_sends(&theirs(0, 4));
    assert_eq!(s.conn.state(), State::FinWait2);
}

#[test]
fn fin_ack_in_fin_wait_1_goes_straight_to_time_wait() {
    // RFC 9293 §3.10.7.4, eighth, FIN-WAIT-1: "If our FIN has been ACKed ... enter
    // TIME-WAIT".
    let mut s = fin_wait_1();
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 1) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(1, 1) }]);
    assert_eq!(s.conn.state(), State::TimeWait);
    assert_eq!(s.next_timer(), Some(secs(60)));
}

#[test]
fn simultaneous_close() {
    // RFC 9293 Figure 14: FIN-WAIT-1 -> CLOSING on the peer's FIN, CLOSING -> TIME-WAIT on
    // the ACK of ours.
    let mut s = fin_wait_1();
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(1, 1) }]);
    assert_eq!(s.conn.state(), State::Closing);
    s.advance(ms(5));
    s.peer_sends(&theirs(1, 1));
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::TimeWait);
    assert_eq!(s.next_timer(), Some(secs(60)));
}

#[test]
fn fin_is_retransmitted_in_closing() {
    let mut s = fin_wait_1();
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(1, 1) }]);
    s.advance(secs(1));
    s.expect(&[TcpRepr { flags: FIN_ACK, window_len: WINDOW_AFTER_FIN, ..ours(0, 1) }]);
    assert_eq!(s.conn.state(), State::Closing);
}

#[test]
fn passive_close() {
    // RFC 9293 Figure 13, TCP B: ESTABLISHED -> CLOSE-WAIT -> LAST-ACK -> CLOSED.
    let mut s = Script::established(config());
    s.advance(ms(10));
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(0, 1) }]);
    assert_eq!(s.conn.state(), State::CloseWait);
    assert!(s.conn.is_readable());
    assert_eq!(s.conn.recv(&mut [0; 8]), Ok(0), "end of stream");

    s.conn.close();
    s.expect(&[TcpRepr { flags: FIN_ACK, window_len: WINDOW_AFTER_FIN, ..ours(0, 1) }]);
    assert_eq!(s.conn.state(), State::LastAck);
    // The FIN is retransmitted until acknowledged.
    s.advance(secs(1));
    s.expect(&[TcpRepr { flags: FIN_ACK, window_len: WINDOW_AFTER_FIN, ..ours(0, 1) }]);
    s.peer_sends(&theirs(1, 1));
    s.expect_nothing();
    s.expect_closed(None);
    assert!(s.conn.is_finished());
}

#[test]
fn half_close_by_the_peer_leaves_our_direction_open() {
    // RFC 9293 §3.6: after the peer's FIN, reads return end of stream once its data is
    // read, and we may go on sending (CLOSE-WAIT).
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { flags: FIN_PSH_ACK, payload: b"request", ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: (RECV_BUFFER - 8) as u16, ..ours(0, 8) }]);
    assert_eq!(s.conn.state(), State::CloseWait);
    let mut buf = [0; 16];
    assert_eq!(s.conn.recv(&mut buf), Ok(7));
    assert_eq!(&buf[..7], b"request");
    assert_eq!(s.conn.recv(&mut buf), Ok(0));
    assert_eq!(s.conn.recv(&mut buf), Ok(0), "end of stream stays");

    // Reading the 7 bytes moved the edge by less than an MSS: the window stays put.
    let window = (RECV_BUFFER - 8) as u16;
    s.conn.send(b"response, part 1").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, window_len: window, payload: b"response, part 1", ..ours(0, 8) }]);
    s.peer_sends(&theirs(8, 16));
    s.conn.send(b"part 2").unwrap();
    s.conn.shutdown_write();
    s.expect(&[TcpRepr { flags: FIN_PSH_ACK, window_len: window, payload: b"part 2", ..ours(16, 8) }]);
    assert_eq!(s.conn.state(), State::LastAck);
    s.peer_sends(&theirs(8, 23));
    s.expect_closed(None);
}

#[test]
fn half_close_by_us_keeps_reading() {
    // shutdown(SHUT_WR): FIN-WAIT-2 still accepts and acknowledges data.
    let mut s = Script::established(config());
    s.conn.shutdown_write();
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(0, 0) }]);
    s.peer_sends(&theirs(0, 1));
    assert_eq!(s.conn.state(), State::FinWait2);
    assert_eq!(s.next_timer(), None, "not orphaned: FIN-WAIT-2 waits for the peer");
    s.peer_sends(&TcpRepr { payload: b"still talking", ..theirs(0, 1) });
    s.expect(&[TcpRepr { window_len: (RECV_BUFFER - 13) as u16, ..ours(1, 13) }]);
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(13, 1) });
    s.expect(&[TcpRepr { window_len: (RECV_BUFFER - 14) as u16, ..ours(1, 14) }]);
    assert_eq!(s.conn.state(), State::TimeWait);
    assert_eq!(s.read_all(), b"still talking");
    assert_eq!(s.conn.recv(&mut [0; 4]), Ok(0));
}

#[test]
fn orphan_in_fin_wait_2_times_out() {
    // Linux's tcp_fin_timeout: a closed socket does not wait for the peer's FIN forever.
    let mut s = fin_wait_1();
    s.advance(ms(10));
    s.peer_sends(&theirs(0, 1));
    assert_eq!(s.conn.state(), State::FinWait2);
    assert_eq!(s.next_timer(), Some(secs(60)));
    s.advance(secs(60) - ms(1));
    assert_eq!(s.conn.state(), State::FinWait2);
    s.advance(ms(1));
    s.expect_nothing();
    s.expect_closed(None);
}

#[test]
fn retransmitted_fin_in_time_wait_is_acknowledged_and_restarts_the_timer() {
    // RFC 9293 §3.10.7.4, eighth, TIME-WAIT: "Remain in the TIME-WAIT state. Restart the
    // 2 MSL time-wait timeout." (The peer lost our ACK of its FIN.)
    let mut s = fin_wait_1();
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 1) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(1, 1) }]);
    s.advance(secs(20));
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 1) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(1, 1) }]);
    assert_eq!(s.conn.state(), State::TimeWait);
    assert_eq!(s.next_timer(), Some(secs(60)));
    s.advance(secs(60) - ms(1));
    assert_eq!(s.conn.state(), State::TimeWait);
    s.advance(ms(1));
    s.expect_closed(None);
}

#[test]
fn close_with_unread_data_resets() {
    // RFC 9293 §3.10.4 and RFC 2525 §2.17: closing with data unread sends a RST, not a FIN,
    // so the peer learns its data was lost.
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { payload: b"unread", ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: (RECV_BUFFER - 6) as u16, ..ours(0, 6) }]);
    s.conn.close();
    s.expect(&[rst(LOCAL_SEQ + 1)]);
    s.expect_closed(None);
    assert!(s.conn.is_finished());
    assert_eq!(s.stats.resets_sent, 1);
}

#[test]
fn abort_sends_rst() {
    // SO_LINGER 0 / RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>; queued data is dropped.
    let mut s = Script::established(config());
    s.conn.send(b"in flight").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, payload: b"in flight", ..ours(0, 0) }]);
    s.conn.send(b"queued").unwrap();
    s.conn.abort();
    s.expect(&[rst(LOCAL_SEQ + 1 + 9)]);
    s.expect_closed(None);
    s.advance(secs(10));
    s.expect_nothing();
}

#[test]
fn peer_reset_in_established_is_connection_reset() {
    // RFC 9293 §3.10.7.4, second: a RST at exactly RCV.NXT (RFC 5961 §3.2) aborts.
    let mut s = Script::established(config());
    s.conn.send(b"pending").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, payload: b"pending", ..ours(0, 0) }]);
    s.peer_sends(&TcpRepr { flags: RST, window_len: 0, ..theirs(0, 0) });
    s.expect_nothing();
    s.expect_closed(Some(TcpError::ConnectionReset));
    assert_eq!(s.conn.recv(&mut [0; 4]), Err(TcpError::ConnectionReset));
    assert_eq!(s.conn.send(b"x"), Err(TcpError::ConnectionReset));
    assert_eq!(s.stats.resets_received, 1);
}

#[test]
fn peer_reset_in_close_wait_and_fin_wait_is_connection_reset() {
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(0, 1) }]);
    s.peer_sends(&TcpRepr { flags: RST, window_len: 0, ..theirs(1, 0) });
    s.expect_closed(Some(TcpError::ConnectionReset));

    let mut s = fin_wait_1();
    s.peer_sends(&TcpRepr { flags: RST, window_len: 0, ..theirs(0, 0) });
    s.expect_closed(Some(TcpError::ConnectionReset));
}

#[test]
fn peer_reset_in_last_ack_just_closes() {
    // RFC 9293 §3.10.7.4, second, CLOSING / LAST-ACK / TIME-WAIT: enter CLOSED; the
    // application already closed, so there is no one to tell.
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(0, 1) }]);
    s.conn.close();
    s.expect(&[TcpRepr { flags: FIN_ACK, window_len: WINDOW_AFTER_FIN, ..ours(0, 1) }]);
    s.peer_sends(&TcpRepr { flags: RST, window_len: 0, ..theirs(1, 0) });
    s.expect_nothing();
    s.expect_closed(None);
}

#[test]
fn fin_ahead_of_missing_data_waits_for_the_gap() {
    // RFC 9293 §3.10.7.4, eighth: the FIN is processed once RCV.NXT reaches it.
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { flags: FIN_ACK, payload: b"world", ..theirs(6, 0) });
    s.expect(&[ours(0, 0)]);
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.conn.recv(&mut [0; 4]), Err(TcpError::WouldBlock));
    s.peer_sends(&TcpRepr { payload: b"hello ", ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: (RECV_BUFFER - 12) as u16, ..ours(0, 12) }]);
    assert_eq!(s.conn.state(), State::CloseWait);
    assert_eq!(s.read_all(), b"hello world");
    assert_eq!(s.conn.recv(&mut [0; 4]), Ok(0));
}

#[test]
fn data_and_fin_on_the_handshake_ack() {
    // SYN-RECEIVED -> ESTABLISHED -> CLOSE-WAIT on one segment (RFC 9293 §3.10.7.4).
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[TcpRepr {
        flags: SYN_ACK,
        seq_number: LOCAL_SEQ,
        ack_number: REMOTE_SEQ + 1,
        options: sluice_core::wire::TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
        ..RECV_TEMPL
    }]);
    s.peer_sends(&TcpRepr { flags: FIN_PSH_ACK, payload: b"one-shot", ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: (RECV_BUFFER - 9) as u16, ..ours(0, 9) }]);
    assert_eq!(s.conn.state(), State::CloseWait);
    assert_eq!(s.read_all(), b"one-shot");
}

#[test]
fn shutdown_in_syn_sent_sends_the_fin_after_the_handshake() {
    let config =
        sluice_core::tcp::TcpConfig { window_scaling: false, sack: false, timestamps: false, ..config() };
    let mut s = Script::connect(config);
    let syn_options = sluice_core::wire::TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS };
    s.expect(&[TcpRepr { flags: SYN, seq_number: LOCAL_SEQ, options: syn_options, ..RECV_TEMPL }]);
    s.conn.shutdown_write();
    s.expect_nothing();
    s.peer_sends(&TcpRepr {
        flags: SYN_ACK,
        seq_number: REMOTE_SEQ,
        ack_number: LOCAL_SEQ + 1,
        options: syn_options,
        ..SEND_TEMPL
    });
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(0, 0) }]);
    assert_eq!(s.conn.state(), State::FinWait1);
}

#[test]
fn close_in_close_wait_with_unread_data_resets() {
    let mut s = Script::established(config());
    s.peer_sends(&TcpRepr { flags: FIN_ACK, payload: b"unread", ..theirs(0, 0) });
    s.expect(&[TcpRepr { window_len: (RECV_BUFFER - 7) as u16, ..ours(0, 7) }]);
    s.conn.close();
    s.expect(&[rst(LOCAL_SEQ + 1)]);
    s.expect_closed(None);
}

#[test]
fn time_wait_yields_to_a_new_syn_with_a_higher_sequence_number() {
    // RFC 9293 §3.6.1 note / RFC 6191 and Linux: a SYN for the same 4-tuple may reopen a
    // connection in TIME-WAIT if its sequence number is above the old RCV.NXT.
    let mut s = fin_wait_1();
    s.peer_sends(&TcpRepr { flags: FIN_ACK, ..theirs(0, 1) });
    s.expect(&[TcpRepr { window_len: WINDOW_AFTER_FIN, ..ours(1, 1) }]);
    assert_eq!(s.conn.state(), State::TimeWait);
    assert!(s.conn.accepts_reuse(&TcpRepr { seq_number: REMOTE_SEQ + 100_000, ..PEER_SYN }));
    assert!(!s.conn.accepts_reuse(&TcpRepr { seq_number: REMOTE_SEQ - 100_000, ..PEER_SYN }));
    assert!(!s.conn.accepts_reuse(&PEER_SYN), "the old connection's own SYN");
}

#[test]
fn time_wait_yields_to_a_new_syn_with_a_newer_timestamp() {
    // RFC 6191 §2: with timestamps, the SYN's TSval decides, whatever its sequence number.
    let mut s = established_with_all_options();
    s.conn.close();
    let ts =
        |val: u32, ecr: u32| sluice_core::wire::TcpOptions { timestamps: Some((val, ecr)), ..NO_OPTIONS };
    s.expect(&[TcpRepr { flags: FIN_ACK, options: ts(TS_OFFSET + 10, PEER_TS + 10), ..ours(0, 0) }]);
    s.peer_sends(&TcpRepr {
        flags: FIN_ACK,
        window_len: 469,
        options: ts(PEER_TS + 20, TS_OFFSET + 10),
        ..theirs(0, 1)
    });
    s.expect(&[TcpRepr {
        window_len: WINDOW_AFTER_FIN,
        options: ts(TS_OFFSET + 10, PEER_TS + 20),
        ..ours(1, 1)
    }]);
    assert_eq!(s.conn.state(), State::TimeWait);
    let syn = |tsval: u32, seq: SeqNumber| TcpRepr { seq_number: seq, options: ts(tsval, 0), ..PEER_SYN_ALL };
    assert!(s.conn.accepts_reuse(&syn(PEER_TS + 30, REMOTE_SEQ - 100_000)));
    assert!(!s.conn.accepts_reuse(&syn(PEER_TS + 5, REMOTE_SEQ + 100_000)));
}

#[test]
fn timeout_in_fin_wait_1_resends_the_data_and_the_fin() {
    let mut s = Script::established(config());
    s.conn.send(b"bye").unwrap();
    s.conn.close();
    let last = TcpRepr { flags: FIN_PSH_ACK, payload: b"bye", ..ours(0, 0) };
    s.expect(&[last]);
    s.advance(secs(1));
    s.expect(&[last]);
    s.peer_sends(&theirs(0, 4));
    assert_eq!(s.conn.state(), State::FinWait2);
}

#[test]
fn close_after_shutdown_in_fin_wait_2_starts_the_orphan_timer() {
    // shutdown(SHUT_WR) first, close() later in FIN-WAIT-2: from then on the connection is
    // an orphan and must not wait for the peer's FIN forever (Linux's tcp_close starts
    // the tcp_fin_timeout timer here).
    let mut s = Script::established(config());
    s.conn.shutdown_write();
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(0, 0) }]);
    s.peer_sends(&theirs(0, 1));
    assert_eq!(s.conn.state(), State::FinWait2);
    assert_eq!(s.next_timer(), None);
    s.advance(secs(5));
    s.conn.close();
    s.expect_nothing();
    assert_eq!(s.next_timer(), Some(secs(60)));
    s.advance(secs(60));
    s.expect_closed(None);
}
