//! Connection establishment (RFC 9293 §3.5): the three-way handshake from either side,
//! simultaneous open, SYN and SYN-ACK retransmission, refusal and bad ACKs in SYN-SENT.

use sluice_core::tcp::{State, TcpError};
use sluice_core::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};

use crate::harness::*;

/// Our SYN with [`config`]: MSS from the MTU, window scale 0 (64 000 bytes fit in 16
/// bits), SACK-permitted and a timestamp with TSecr 0.
fn our_syn(tsval: u32) -> TcpRepr<'static> {
    TcpRepr {
        flags: SYN,
        seq_number: LOCAL_SEQ,
        ack_number: SeqNumber(0),
        options: TcpOptions {
            mss: Some(OUR_MSS as u16),
            window_scale: Some(0),
            sack_permitted: true,
            timestamps: Some((tsval, 0)),
            ..NO_OPTIONS
        },
        ..RECV_TEMPL
    }
}

/// The peer's SYN-ACK to [`our_syn`], with an MSS and nothing else.
const PEER_SYN_ACK: TcpRepr<'static> = TcpRepr {
    flags: SYN_ACK,
    seq_number: REMOTE_SEQ,
    ack_number: SeqNumber(LOCAL_SEQ.0 + 1),
    options: TcpOptions { mss: Some(1460), ..NO_OPTIONS },
    ..SEND_TEMPL
};

/// Our SYN-ACK to [`PEER_SYN`]: only the MSS, since the peer offered nothing else.
const OUR_SYN_ACK: TcpRepr<'static> = TcpRepr {
    flags: SYN_ACK,
    seq_number: LOCAL_SEQ,
    ack_number: SeqNumber(REMOTE_SEQ.0 + 1),
    options: TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
    ..RECV_TEMPL
};

#[test]
fn active_open() {
    // RFC 9293 Figure 7: CLOSED -> SYN-SENT -> ESTABLISHED.
    let mut s = Script::connect(config());
    assert_eq!(s.conn.state(), State::SynSent);
    s.expect(&[our_syn(TS_OFFSET)]);
    assert_eq!(s.next_timer(), Some(secs(1)), "RFC 6298 §2.1: the initial RTO is 1 s");

    s.advance(ms(30));
    s.peer_sends(&PEER_SYN_ACK);
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL }]);
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.conn.mss(), 1460);
    assert_eq!(s.next_timer(), None, "nothing in flight, no timer");
    assert_eq!((s.stats.established, s.stats.segments_out, s.stats.segments_in), (1, 2, 1));
}

#[test]
fn syn_mss_comes_from_the_mtu() {
    // RFC 9293 §3.7.1: MSS = MTU - 20 (IP header) - 20 (TCP header).
    for (mtu, mss) in [(1500, 1460), (9000, 8960), (576, 536)] {
        let mut s = Script::connect_over(config(), mtu);
        s.expect(&[TcpRepr {
            options: TcpOptions { mss: Some(mss), ..our_syn(TS_OFFSET).options },
            ..our_syn(TS_OFFSET)
        }]);
    }
}

#[test]
fn syn_offers_window_scale_for_a_large_buffer() {
    // RFC 7323 §2.2-2.3: the shift that fits the buffer in 16 bits; the SYN's own window
    // field is never scaled, so it says 65535.
    let config = sluice_core::tcp::TcpConfig { recv_buffer: 1 << 20, ..config() };
    let mut s = Script::connect(config);
    s.expect(&[TcpRepr {
        window_len: 0xffff,
        options: TcpOptions { window_scale: Some(5), ..our_syn(TS_OFFSET).options },
        ..our_syn(TS_OFFSET)
    }]);
}

#[test]
fn syn_without_options_when_they_are_disabled() {
    let config =
        sluice_core::tcp::TcpConfig { window_scaling: false, sack: false, timestamps: false, ..config() };
    let mut s = Script::connect(config);
    s.expect(&[TcpRepr {
        flags: SYN,
        seq_number: LOCAL_SEQ,
        options: TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
        ..RECV_TEMPL
    }]);
}

#[test]
fn passive_open() {
    // RFC 9293 Figure 7 from B's side: LISTEN -> SYN-RECEIVED -> ESTABLISHED.
    let mut s = Script::accept(config(), &PEER_SYN);
    assert_eq!(s.conn.state(), State::SynReceived);
    s.expect(&[OUR_SYN_ACK]);
    assert_eq!(s.next_timer(), Some(secs(1)));

    s.advance(ms(20));
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.next_timer(), None);
    assert_eq!(s.stats.established, 1);
}

#[test]
fn passive_open_with_data_on_the_third_segment() {
    // The ACK completing the handshake may carry data (RFC 9293 §3.10.7.4, seventh).
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 1,
        payload: b"GET / HTTP/1.0\r\n\r\n",
        ..SEND_TEMPL
    });
    assert_eq!(s.conn.state(), State::Established);
    // Quick-ACK mode at the start of a connection: acknowledged at once.
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1 + 18,
        window_len: (RECV_BUFFER - 18) as u16,
        ..RECV_TEMPL
    }]);
    assert_eq!(s.read_all(), b"GET / HTTP/1.0\r\n\r\n");
}

#[test]
fn ack_that_does_not_cover_our_syn_ack_is_reset() {
    // RFC 9293 §3.10.7.4, fifth, SYN-RECEIVED: an unacceptable ACK gets
    // <SEQ=SEG.ACK><CTL=RST>; the half-open connection stays.
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    // Both too old (SEG.ACK =< SND.UNA) and too new (SEG.ACK > SND.NXT).
    for bad_ack in [LOCAL_SEQ, LOCAL_SEQ + 2, LOCAL_SEQ + 5000] {
        s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: bad_ack, ..SEND_TEMPL });
        s.expect(&[TcpRepr {
            flags: RST,
            seq_number: bad_ack,
            ack_number: SeqNumber(0),
            window_len: 0,
            ..RECV_TEMPL
        }]);
        assert_eq!(s.conn.state(), State::SynReceived);
    }
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn simultaneous_open() {
    // RFC 9293 Figure 8: both sides send a SYN. A SYN in SYN-SENT moves to SYN-RECEIVED and
    // is answered with SYN-ACK of our original ISS.
    let config =
        sluice_core::tcp::TcpConfig { window_scaling: false, sack: false, timestamps: false, ..config() };
    let mut s = Script::connect(config);
    let syn = TcpRepr { flags: SYN, seq_number: LOCAL_SEQ, options: OUR_SYN_ACK.options, ..RECV_TEMPL };
    s.expect(&[syn]);
    s.advance(ms(5));
    s.peer_sends(&PEER_SYN);
    assert_eq!(s.conn.state(), State::SynReceived);
    s.expect(&[OUR_SYN_ACK]);

    // The peer's SYN-ACK: its SYN is old news (SEG.SEQ = RCV.NXT - 1), so the segment fails
    // the sequence test (§3.10.7.4, first) and is answered with an ACK.
    s.advance(ms(5));
    s.peer_sends(&PEER_SYN_ACK);
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL }]);
    assert_eq!(s.conn.state(), State::SynReceived);

    // The peer's ACK of our SYN-ACK completes it.
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.next_timer(), None);
}

#[test]
fn syn_retransmitted_with_exponential_backoff_then_timed_out() {
    // RFC 6298 §5.5 and §2.1: 1 s, then doubling; Linux's tcp_syn_retries = 6 gives up
    // 127 s after the first SYN.
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    let mut wait = secs(1);
    for _ in 0..6 {
        s.advance(wait - ms(1));
        s.expect_nothing();
        s.advance(ms(1));
        s.expect(&[our_syn(our_tsval(s.now))]);
        wait *= 2;
    }
    assert_eq!(s.now.total_millis(), 63_000);
    s.advance(secs(64) - ms(1));
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::SynSent);
    s.advance(ms(1));
    s.expect_nothing();
    s.expect_closed(Some(TcpError::TimedOut));
    assert_eq!((s.stats.timeouts, s.stats.failed_opens), (7, 1));
    assert_eq!(s.conn.send(b"x"), Err(TcpError::TimedOut));
}

#[test]
fn syn_ack_answered_after_retransmitted_syn() {
    // A SYN-ACK arriving after one retransmission completes the handshake normally.
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    s.advance(secs(1));
    s.expect(&[our_syn(our_tsval(s.now))]);
    s.advance(ms(100));
    s.peer_sends(&PEER_SYN_ACK);
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL }]);
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.conn.rtt().srtt(), None, "Karn: no sample from a retransmitted SYN");

    // RFC 6298 §5.7: the SYN timed out and no RTT was measured, so the RTO is 3 s once
    // data transmission begins.
    assert_eq!(s.conn.rtt().rto(), secs(3));
    s.conn.send(b"hello").unwrap();
    s.expect(&[TcpRepr {
        flags: PSH_ACK,
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        payload: b"hello",
        ..RECV_TEMPL
    }]);
    assert_eq!(s.next_timer(), Some(secs(3)));
}

#[test]
fn syn_ack_retransmitted_then_timed_out() {
    // The SYN-ACK is retransmitted on the same backoff; Linux's tcp_synack_retries = 5.
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    let mut wait = secs(1);
    for _ in 0..5 {
        s.advance(wait - ms(1));
        s.expect_nothing();
        s.advance(ms(1));
        s.expect(&[OUR_SYN_ACK]);
        wait *= 2;
    }
    s.advance(wait);
    s.expect_nothing();
    s.expect_closed(Some(TcpError::TimedOut));
    assert_eq!(s.now.total_millis(), 63_000);
}

#[test]
fn retransmitted_syn_in_syn_received_gets_the_syn_ack_again() {
    // Our SYN-ACK was lost and the peer sent its SYN again: answer with the SYN-ACK at
    // once (as Linux's tcp_check_req does), not a bare ACK the peer in SYN-SENT drops.
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    s.advance(ms(1000 - 1));
    s.peer_sends(&PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    assert_eq!(s.conn.state(), State::SynReceived);
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn rst_answering_our_syn_is_connection_refused() {
    // RFC 9293 §3.10.7.3: a RST whose ACK is acceptable: "connection reset" (refused).
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    s.advance(ms(1));
    s.peer_sends(&TcpRepr {
        flags: RST_ACK,
        seq_number: SeqNumber(0),
        ack_number: LOCAL_SEQ + 1,
        window_len: 0,
        ..SEND_TEMPL
    });
    s.expect_nothing();
    s.expect_closed(Some(TcpError::ConnectionRefused));
    assert_eq!((s.stats.resets_received, s.stats.failed_opens), (1, 1));
}

#[test]
fn rst_without_acceptable_ack_in_syn_sent_is_ignored() {
    // RFC 9293 §3.10.7.3: a RST without ACK is dropped; so is one with a bad ACK (RFC 5961
    // §3.2 in SYN-SENT: only a RST acknowledging the SYN counts).
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    s.peer_sends(&TcpRepr { flags: RST, seq_number: SeqNumber(0), window_len: 0, ..SEND_TEMPL });
    s.peer_sends(&TcpRepr {
        flags: RST_ACK,
        seq_number: SeqNumber(0),
        ack_number: LOCAL_SEQ + 2,
        window_len: 0,
        ..SEND_TEMPL
    });
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::SynSent);
    assert_eq!(s.conn.error(), None);
}

#[test]
fn unacceptable_ack_in_syn_sent_is_answered_with_rst() {
    // RFC 9293 §3.10.7.3: SEG.ACK =< ISS or SEG.ACK > SND.NXT: <SEQ=SEG.ACK><CTL=RST>,
    // and the connection stays in SYN-SENT (the SYN-ACK of an old duplicate SYN,
    // RFC 9293 Figure 9).
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    for bad_ack in [LOCAL_SEQ, LOCAL_SEQ + 2, LOCAL_SEQ - 1000] {
        s.peer_sends(&TcpRepr { ack_number: bad_ack, ..PEER_SYN_ACK });
        s.expect(&[TcpRepr {
            flags: RST,
            seq_number: bad_ack,
            ack_number: SeqNumber(0),
            window_len: 0,
            ..RECV_TEMPL
        }]);
        assert_eq!(s.conn.state(), State::SynSent);
    }
    // The real SYN-ACK still completes the handshake.
    s.peer_sends(&PEER_SYN_ACK);
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL }]);
    assert_eq!(s.conn.state(), State::Established);
}

#[test]
fn segment_without_syn_in_syn_sent_is_dropped() {
    // RFC 9293 §3.10.7.3, fifth: neither SYN nor RST: drop.
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::SynSent);
}

#[test]
fn close_in_syn_sent_deletes_the_connection() {
    // RFC 9293 §3.10.4, SYN-SENT: delete the TCB; nothing is sent.
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    s.conn.close();
    s.expect_nothing();
    s.expect_closed(None);
    assert!(s.conn.is_finished());
}

#[test]
fn close_in_syn_received_sends_fin_once_established() {
    // RFC 9293 §3.10.4, SYN-RECEIVED: the FIN waits for the handshake, then ESTABLISHED
    // -> FIN-WAIT-1 as usual.
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    s.conn.close();
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::SynReceived);
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    s.expect(&[TcpRepr {
        flags: FIN_ACK,
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        ..RECV_TEMPL
    }]);
    assert_eq!(s.conn.state(), State::FinWait1);
}

#[test]
fn rst_in_syn_received_closes_the_half_open_connection() {
    // RFC 9293 §3.10.7.4, second: a RST at RCV.NXT; a passive open goes back to LISTEN,
    // which for us means the child connection is gone and the listener untouched.
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    s.peer_sends(&TcpRepr { flags: RST, seq_number: REMOTE_SEQ + 1, window_len: 0, ..SEND_TEMPL });
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::Closed);
    assert!(s.conn.is_finished());
    assert_eq!(s.next_timer(), None);
}

#[test]
fn syn_ack_timeout_leaves_a_three_second_rto() {
    // RFC 6298 §5.7 on the passive side: the SYN-ACK was retransmitted, the handshake
    // completed without an RTT sample, so data starts with RTO = 3 s.
    let mut s = Script::accept(config(), &PEER_SYN);
    s.expect(&[OUR_SYN_ACK]);
    s.advance(secs(1));
    s.expect(&[OUR_SYN_ACK]);
    s.advance(ms(50));
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.conn.rtt().rto(), secs(3));
}

#[test]
fn retransmitted_syn_ack_in_established_is_acknowledged() {
    // Our ACK of the SYN-ACK was lost and the peer sent the SYN-ACK again: it is old
    // (RFC 9293 §3.10.7.4, first) and answered with an ACK, which completes the peer's
    // handshake.
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    s.peer_sends(&PEER_SYN_ACK);
    let ack = TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL };
    s.expect(&[ack]);
    s.advance(secs(1));
    s.peer_sends(&PEER_SYN_ACK);
    s.expect(&[ack]);
    assert_eq!(s.conn.state(), State::Established);
    // RFC 5961 §4.2: a SYN is answered "irrespective of the sequence number" with a
    // challenge ACK; for an old SYN-ACK that ACK is the one the peer waits for.
    assert_eq!(s.stats.challenge_acks, 1);
}

#[test]
fn active_open_with_every_option() {
    // Our SYN offers everything; a Linux-like SYN-ACK agrees to everything.
    let config = sluice_core::tcp::TcpConfig { recv_buffer: 256 * 1024, ..config() };
    let mut s = Script::connect(config);
    let syn = our_syn(TS_OFFSET);
    s.expect(&[TcpRepr {
        window_len: 65535,
        options: TcpOptions { window_scale: Some(3), ..syn.options },
        ..syn
    }]);
    s.advance(ms(25));
    s.peer_sends(&TcpRepr {
        window_len: 65535,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((5000, TS_OFFSET)),
            ..NO_OPTIONS
        },
        ..PEER_SYN_ACK
    });
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        window_len: 32768,
        options: TcpOptions { timestamps: Some((TS_OFFSET + 25, 5000)), ..NO_OPTIONS },
        ..RECV_TEMPL
    }]);
    assert_eq!(s.conn.mss(), 1448);
    assert_eq!(s.conn.rtt().srtt(), Some(ms(25)), "RFC 7323 §4.1: from the SYN-ACK's TSecr");
}

#[test]
fn window_is_not_scaled_when_the_peer_does_not_agree() {
    // RFC 7323 §2.2: without a window scale option in both SYNs, neither side scales, so
    // a 256 KiB buffer is offered as 65535.
    let config = sluice_core::tcp::TcpConfig { recv_buffer: 256 * 1024, ..config() };
    let mut s = Script::connect(config);
    let syn = our_syn(TS_OFFSET);
    s.expect(&[TcpRepr {
        window_len: 65535,
        options: TcpOptions { window_scale: Some(3), ..syn.options },
        ..syn
    }]);
    s.peer_sends(&PEER_SYN_ACK);
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        window_len: 65535,
        ..RECV_TEMPL
    }]);
}

#[test]
fn syn_ack_retransmission_keeps_the_window_already_offered() {
    // Found by the tcp_stateful fuzz target: in SYN-RECEIVED an ACK (here answering an
    // out-of-window segment) offers the whole scaled window, 100 000 bytes; the SYN-ACK
    // sent again after it can say only 65 535 (RFC 7323 §2.2: never scaled), and moved
    // the window's right edge back to there, against RFC 9293 §3.8.6: data the peer sent
    // into the window it was offered was then dropped as out of window.
    let config = sluice_core::tcp::TcpConfig { recv_buffer: 100_000, ..config() };
    let syn = TcpRepr { options: TcpOptions { window_scale: Some(7), ..PEER_SYN.options }, ..PEER_SYN };
    let syn_ack = TcpRepr {
        flags: SYN_ACK,
        seq_number: LOCAL_SEQ,
        ack_number: REMOTE_SEQ + 1,
        window_len: u16::MAX,
        options: TcpOptions { mss: Some(OUR_MSS as u16), window_scale: Some(1), ..NO_OPTIONS },
        ..RECV_TEMPL
    };
    let mut s = Script::accept(config, &syn);
    s.expect(&[syn_ack]);
    s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1 + 200_000, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        window_len: 50_000,
        ..RECV_TEMPL
    }]);
    s.advance(secs(1));
    s.expect(&[syn_ack]);
    assert_eq!(s.conn.seq_snapshot().rcv_adv, REMOTE_SEQ + 1 + 100_000);
    // The peer's ACK completes the handshake with data 70 000 bytes on: in the window.
    let payload = data(100);
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1 + 70_000,
        ack_number: LOCAL_SEQ + 1,
        payload: &payload,
        ..SEND_TEMPL
    });
    assert_eq!(s.conn.state(), State::Established);
    assert_eq!(s.stats.out_of_window, 1, "only the segment 200 000 bytes on was outside");
    assert_eq!(s.stats.out_of_order, 1);
}

#[test]
fn data_and_fin_on_the_syn_ack_are_received() {
    // Found by the tcp_stateful fuzz target: data on a SYN-ACK starts one past the SYN's
    // sequence number (RFC 9293 §3.4: the SYN occupies the first); it was placed at the
    // SYN's own number, so its first byte was dropped and the rest delivered one early.
    let mut s = Script::connect(config());
    s.expect(&[our_syn(TS_OFFSET)]);
    s.peer_sends(&TcpRepr {
        flags: TcpFlags(SYN_ACK.0 | TcpFlags::FIN.0),
        payload: b"hello",
        ..PEER_SYN_ACK
    });
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1 + 5 + 1,
        window_len: RECV_BUFFER as u16 - 5,
        ..RECV_TEMPL
    }]);
    assert_eq!(s.conn.state(), State::CloseWait);
    assert_eq!(s.read_all(), b"hello");
}
