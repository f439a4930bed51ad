//! Option negotiation: MSS (RFC 9293 §3.7.1), window scale and timestamps (RFC 7323),
//! SACK-permitted and SACK blocks (RFC 2018).

use sluice_core::tcp::TcpConfig;
use sluice_core::time::Duration;
use sluice_core::wire::{SackBlocks, SeqNumber, TcpOptions, TcpRepr};

use crate::harness::*;

/// A peer segment carrying TSval `PEER_TS + at_ms`, echoing our clock at `ecr_ms`.
fn peer_ts(at_ms: u32, ecr_ms: u32) -> TcpOptions {
    TcpOptions { timestamps: Some((PEER_TS + at_ms, TS_OFFSET + ecr_ms)), ..NO_OPTIONS }
}

#[test]
fn every_option_agreed_on_a_passive_open() {
    let s = established_with_all_options();
    // RFC 7323 §3.2 and RFC 9293 §3.7.1: 12 option bytes in every segment come off the MSS.
    assert_eq!(s.conn.mss(), 1448);
    // RFC 7323 §4.1: the handshake's ACK echoed our SYN-ACK's TSval sent at 0: RTT 10 ms.
    assert_eq!(s.conn.rtt().srtt(), Some(ms(10)));
}

#[test]
fn syn_ack_offers_only_what_the_syn_offered() {
    // RFC 7323 §1.3 and §3.2, RFC 2018 §2: window scale, timestamps and SACK-permitted go
    // in a SYN-ACK only when the SYN carried them.
    let syn = TcpRepr { options: TcpOptions { sack_permitted: true, ..PEER_SYN.options }, ..PEER_SYN };
    let mut s = Script::accept(config(), &syn);
    s.expect(&[TcpRepr {
        flags: SYN_ACK,
        seq_number: LOCAL_SEQ,
        ack_number: REMOTE_SEQ + 1,
        options: TcpOptions { mss: Some(OUR_MSS as u16), sack_permitted: true, ..NO_OPTIONS },
        ..RECV_TEMPL
    }]);

    let syn = TcpRepr { options: TcpOptions { window_scale: Some(2), ..PEER_SYN.options }, ..PEER_SYN };
    let mut s = Script::accept(config(), &syn);
    s.expect(&[TcpRepr {
        flags: SYN_ACK,
        seq_number: LOCAL_SEQ,
        ack_number: REMOTE_SEQ + 1,
        options: TcpOptions { mss: Some(OUR_MSS as u16), window_scale: Some(0), ..NO_OPTIONS },
        ..RECV_TEMPL
    }]);
}

#[test]
fn peer_without_window_scale_sack_or_timestamps_gets_none() {
    // We offer all three; the SYN-ACK carries only an MSS: nothing but the MSS is used.
    let mut s = Script::connect(config());
    let our_syn = TcpRepr {
        flags: SYN,
        seq_number: LOCAL_SEQ,
        options: TcpOptions {
            mss: Some(OUR_MSS as u16),
            window_scale: Some(0),
            sack_permitted: true,
            timestamps: Some((TS_OFFSET, 0)),
            ..NO_OPTIONS
        },
        ..RECV_TEMPL
    };
    s.expect(&[our_syn]);
    s.peer_sends(&TcpRepr {
        flags: SYN_ACK,
        seq_number: REMOTE_SEQ,
        ack_number: LOCAL_SEQ + 1,
        // Not scaled: with no agreement the peer's windows are taken as they are.
        window_len: 3000,
        options: TcpOptions { mss: Some(1460), ..NO_OPTIONS },
        ..SEND_TEMPL
    });
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL }]);
    assert_eq!(s.conn.mss(), 1460, "no timestamps: the whole MSS carries data");

    // Data goes out without timestamps, in a 3000-byte window.
    let payload = data(4000);
    s.conn.send(&payload).unwrap();
    s.expect(&[
        TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: REMOTE_SEQ + 1,
            payload: &payload[..1460],
            ..RECV_TEMPL
        },
        TcpRepr {
            seq_number: LOCAL_SEQ + 1 + 1460,
            ack_number: REMOTE_SEQ + 1,
            payload: &payload[1460..2920],
            ..RECV_TEMPL
        },
    ]);

    // Out-of-order data is acknowledged without SACK blocks.
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1 + 100,
        ack_number: LOCAL_SEQ + 1,
        window_len: 3000,
        payload: &[7; 50],
        ..SEND_TEMPL
    });
    s.expect(&[TcpRepr { seq_number: LOCAL_SEQ + 1 + 2920, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL }]);
}

#[test]
fn mss_defaults_to_536_when_the_syn_has_none() {
    // RFC 9293 §3.7.1 (and RFC 1122 §4.2.2.6): no MSS option means 536.
    let syn = TcpRepr { options: NO_OPTIONS, ..PEER_SYN };
    let mut s = Script::established_with(
        TcpConfig { nodelay: true, ..config() },
        &syn,
        &TcpRepr {
            flags: SYN_ACK,
            seq_number: LOCAL_SEQ,
            ack_number: REMOTE_SEQ + 1,
            options: TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
            ..RECV_TEMPL
        },
        &TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL },
    );
    assert_eq!(s.conn.mss(), 536);
    let payload = data(1000);
    s.conn.send(&payload).unwrap();
    s.expect(&[
        TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: REMOTE_SEQ + 1,
            payload: &payload[..536],
            ..RECV_TEMPL
        },
        TcpRepr {
            flags: PSH_ACK,
            seq_number: LOCAL_SEQ + 1 + 536,
            ack_number: REMOTE_SEQ + 1,
            payload: &payload[536..],
            ..RECV_TEMPL
        },
    ]);
}

#[test]
fn smaller_peer_mss_limits_our_segments() {
    let syn = TcpRepr { options: TcpOptions { mss: Some(1000), ..NO_OPTIONS }, ..PEER_SYN };
    let s = Script::established_with(
        config(),
        &syn,
        &TcpRepr {
            flags: SYN_ACK,
            seq_number: LOCAL_SEQ,
            ack_number: REMOTE_SEQ + 1,
            options: TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
            ..RECV_TEMPL
        },
        &TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL },
    );
    assert_eq!(s.conn.mss(), 1000);
}

#[test]
fn window_scale_applies_to_windows_after_the_syn_only() {
    // RFC 7323 §2.2: "The window field in a segment where the SYN bit is set ... MUST NOT
    // be scaled", in either direction; every later window is.
    let config = TcpConfig { recv_buffer: 256 * 1024, timestamps: false, sack: false, ..config() };
    let mut s = Script::connect(config);
    s.expect(&[TcpRepr {
        flags: SYN,
        seq_number: LOCAL_SEQ,
        window_len: 65535,
        options: TcpOptions { mss: Some(OUR_MSS as u16), window_scale: Some(3), ..NO_OPTIONS },
        ..RECV_TEMPL
    }]);
    s.peer_sends(&TcpRepr {
        flags: SYN_ACK,
        seq_number: REMOTE_SEQ,
        ack_number: LOCAL_SEQ + 1,
        window_len: 4000,
        options: TcpOptions { mss: Some(1460), window_scale: Some(7), ..NO_OPTIONS },
        ..SEND_TEMPL
    });
    // Our window, 256 KiB, goes out shifted right by 3.
    let ack =
        TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, window_len: 32768, ..RECV_TEMPL };
    s.expect(&[ack]);

    // The SYN-ACK's 4000 is 4000 bytes, not 4000 << 7: two full segments fit, the rest of
    // the window (1080 bytes, under half the largest window) waits (RFC 9293 §3.8.6.2.1).
    let payload = data(30_000);
    s.conn.send(&payload).unwrap();
    let segment = |n: usize| TcpRepr {
        seq_number: LOCAL_SEQ + 1 + n * 1460,
        ack_number: REMOTE_SEQ + 1,
        window_len: 32768,
        payload: &payload[n * 1460..(n + 1) * 1460],
        ..RECV_TEMPL
    };
    s.expect(&[segment(0), segment(1)]);

    // Now a window field of 100 means 12 800 bytes: eight more full segments.
    s.advance(ms(10));
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 1 + 2920,
        window_len: 100,
        ..SEND_TEMPL
    });
    s.expect(&(2..10).map(segment).collect::<Vec<_>>());

    // And windows we advertise after data arrives are scaled too: 262 144 - 1000 bytes
    // free, shifted right by 3 (rounded down).
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 1 + 2920,
        window_len: 100,
        payload: &[1; 1000],
        ..SEND_TEMPL
    });
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1 + 10 * 1460,
        ack_number: REMOTE_SEQ + 1 + 1000,
        window_len: ((256 * 1024 - 1000) >> 3) as u16,
        ..RECV_TEMPL
    }]);
}

#[test]
fn timestamps_are_echoed() {
    // RFC 7323 §3.2, §4.3: every segment carries TSval from our clock and echoes TS.Recent.
    let mut s = established_with_all_options();
    s.advance(ms(10));
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 1,
        window_len: 469,
        options: peer_ts(20, 10),
        payload: b"ping",
        ..SEND_TEMPL
    });
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1 + 4,
        window_len: (RECV_BUFFER - 4) as u16,
        options: TcpOptions { timestamps: Some((our_tsval(s.now), PEER_TS + 20)), ..NO_OPTIONS },
        ..RECV_TEMPL
    }]);

    // Our data carries them too, and the ACK that echoes its TSval 30 ms later is an RTT
    // sample (RFC 7323 §4.1): SRTT = 7/8 * 10 + 1/8 * 30 = 12.5 ms.
    s.conn.send(b"pong").unwrap();
    s.expect(&[TcpRepr {
        flags: PSH_ACK,
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1 + 4,
        window_len: (RECV_BUFFER - 4) as u16,
        options: TcpOptions { timestamps: Some((TS_OFFSET + 20, PEER_TS + 20)), ..NO_OPTIONS },
        payload: b"pong",
        ..RECV_TEMPL
    }]);
    s.advance(ms(30));
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1 + 4,
        ack_number: LOCAL_SEQ + 1 + 4,
        window_len: 469,
        options: peer_ts(50, 20),
        ..SEND_TEMPL
    });
    s.expect_nothing();
    assert_eq!(s.conn.rtt().srtt(), Some(Duration::from_micros(12_500)));
}

#[test]
fn paws_drops_an_old_timestamp_with_an_ack() {
    // RFC 7323 §5.3 R1: SEG.TSval < TS.Recent: not acceptable; ACK and drop.
    let mut s = established_with_all_options();
    s.advance(ms(10));
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 1,
        window_len: 469,
        options: peer_ts(20, 10),
        payload: b"new",
        ..SEND_TEMPL
    });
    let ack = |s: &Script| TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1 + 3,
        window_len: (RECV_BUFFER - 3) as u16,
        options: TcpOptions { timestamps: Some((our_tsval(s.now), PEER_TS + 20)), ..NO_OPTIONS },
        ..RECV_TEMPL
    };
    s.expect(&[ack(&s)]);

    // An old duplicate from a previous incarnation of the sequence space: in window, but
    // its timestamp is older than TS.Recent.
    s.advance(ms(1));
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1 + 3,
        ack_number: LOCAL_SEQ + 1,
        window_len: 469,
        options: peer_ts(5, 10),
        payload: b"old",
        ..SEND_TEMPL
    });
    s.expect(&[ack(&s)]);
    assert_eq!(s.stats.paws_rejected, 1);
    assert_eq!(s.read_all(), b"new");

    // A RST is exempt from PAWS (RFC 7323 §5.3 R1 applies to non-RST segments only):
    // at RCV.NXT it resets the connection whatever its timestamp.
    s.peer_sends(&TcpRepr {
        flags: RST,
        seq_number: REMOTE_SEQ + 1 + 3,
        ack_number: SeqNumber(0),
        window_len: 0,
        options: peer_ts(5, 0),
        ..SEND_TEMPL
    });
    s.expect_closed(Some(sluice_core::tcp::TcpError::ConnectionReset));
}

#[test]
fn timestamp_of_out_of_order_data_is_not_echoed() {
    // RFC 7323 §4.3 (2): TS.Recent is taken only from a segment with SEG.SEQ <=
    // Last.ACK.sent, so the ACK of a hole echoes the segment before it.
    let mut s = established_with_all_options();
    s.advance(ms(10));
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1 + 100,
        ack_number: LOCAL_SEQ + 1,
        window_len: 469,
        options: peer_ts(20, 10),
        payload: &[9; 100],
        ..SEND_TEMPL
    });
    s.expect(&[TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1,
        options: TcpOptions {
            timestamps: Some((our_tsval(s.now), PEER_TS + 10)),
            sack_blocks: SackBlocks::from_slice(&[(REMOTE_SEQ + 1 + 100, REMOTE_SEQ + 1 + 200)]),
            ..NO_OPTIONS
        },
        ..RECV_TEMPL
    }]);
}

#[test]
fn sack_blocks_are_limited_to_three_beside_timestamps() {
    // RFC 2018 §3: 40 option bytes hold 3 SACK blocks beside a timestamp; the most recently
    // received block comes first (§4).
    let mut s = established_with_all_options();
    let block = |n: usize| (REMOTE_SEQ + 1 + n * 200, REMOTE_SEQ + 1 + n * 200 + 100);
    let mut acks = Vec::new();
    for n in 1..=4 {
        s.peer_sends(&TcpRepr {
            seq_number: block(n).0,
            ack_number: LOCAL_SEQ + 1,
            window_len: 469,
            options: peer_ts(10, 10),
            payload: &[n as u8; 100],
            ..SEND_TEMPL
        });
        let blocks: Vec<_> = (1..=n).rev().take(3).map(block).collect();
        acks.push(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: REMOTE_SEQ + 1,
            options: TcpOptions {
                timestamps: Some((our_tsval(s.now), PEER_TS + 10)),
                sack_blocks: SackBlocks::from_slice(&blocks),
                ..NO_OPTIONS
            },
            ..RECV_TEMPL
        });
        s.expect(&acks[n - 1..]);
    }
    assert_eq!(s.stats.out_of_order, 4);
}
