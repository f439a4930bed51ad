//! Data transfer (RFC 9293 §3.8): segmentation, Nagle (RFC 896), delayed ACKs (RFC 9293
//! §3.8.6.3, RFC 5681 §4.2), reassembly and SACK blocks (RFC 2018), the receive window and
//! silly-window avoidance on both sides (§3.8.6.2), zero windows and the persist timer
//! (§3.8.6.1).

use sluice_core::tcp::{TcpConfig, TcpError};
use sluice_core::wire::{SackBlocks, TcpOptions, TcpRepr};

use crate::harness::*;

/// Our data segment `offset` bytes into our stream, acknowledging nothing of the peer's.
fn ours(offset: usize, payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr { seq_number: LOCAL_SEQ + 1 + offset, ack_number: REMOTE_SEQ + 1, payload, ..RECV_TEMPL }
}

/// The peer acknowledging `acked` bytes of ours, offering `window`.
fn peer_ack(acked: usize, window: u16) -> TcpRepr<'static> {
    TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 1 + acked,
        window_len: window,
        ..SEND_TEMPL
    }
}

/// The peer's data `offset` bytes into its stream.
fn peer_data(offset: usize, payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr { seq_number: REMOTE_SEQ + 1 + offset, ack_number: LOCAL_SEQ + 1, payload, ..SEND_TEMPL }
}

/// Our ACK of `received` bytes of the peer's, with `window`.
fn our_ack(received: usize, window: usize) -> TcpRepr<'static> {
    TcpRepr {
        seq_number: LOCAL_SEQ + 1,
        ack_number: REMOTE_SEQ + 1 + received,
        window_len: window as u16,
        ..RECV_TEMPL
    }
}

/// Sends the 16 one-byte segments of quick-ACK mode (each acknowledged at once) so that
/// delayed ACKs apply from then on. Returns the bytes received.
fn leave_quick_ack_mode(s: &mut Script) -> usize {
    for n in 0..16 {
        s.peer_sends(&peer_data(n, &[n as u8]));
        s.expect(&[our_ack(n + 1, RECV_BUFFER - (n + 1))]);
    }
    16
}

/// ESTABLISHED with a receive buffer of `recv_buffer` bytes (the SYN-ACK's window).
fn established_with_buffer(recv_buffer: usize) -> Script {
    let config = TcpConfig { recv_buffer, ..config() };
    Script::established_with(
        config,
        &PEER_SYN,
        &TcpRepr {
            flags: SYN_ACK,
            seq_number: LOCAL_SEQ,
            ack_number: REMOTE_SEQ + 1,
            window_len: recv_buffer as u16,
            options: TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
            ..RECV_TEMPL
        },
        &TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL },
    )
}

// ---------------------------------------------------------------------- sending

#[test]
fn data_is_cut_at_the_mss() {
    // RFC 9293 §3.7.1: segments carry at most Eff.snd.MSS bytes; PSH marks the end of
    // what the application wrote.
    let mut s = Script::established(TcpConfig { nodelay: true, ..config() });
    let payload = data(4000);
    assert_eq!(s.conn.send(&payload), Ok(4000));
    s.expect(&[
        ours(0, &payload[..1460]),
        ours(1460, &payload[1460..2920]),
        TcpRepr { flags: PSH_ACK, ..ours(2920, &payload[2920..]) },
    ]);
    assert_eq!(s.next_timer(), Some(secs(1)), "RFC 6298 §5.1: the RTO runs for data in flight");
    assert_eq!(s.conn.queued(), (4000, 0));

    s.advance(ms(50));
    s.peer_sends(&peer_ack(4000, PEER_WINDOW));
    s.expect_nothing();
    assert_eq!(s.conn.queued(), (0, 0));
    assert_eq!(s.next_timer(), None, "RFC 6298 §5.2: all data acknowledged, timer off");
}

#[test]
fn nagle_holds_a_small_segment_while_data_is_unacknowledged() {
    // RFC 896 / RFC 9293 §3.7.4: with data in flight, less than a full segment waits for
    // the ACK.
    let mut s = Script::established(config());
    s.conn.send(b"first").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"first") }]);
    s.conn.send(b"second").unwrap();
    s.conn.send(b"third").unwrap();
    s.expect_nothing();
    s.advance(ms(30));
    s.expect_nothing();
    s.peer_sends(&peer_ack(5, PEER_WINDOW));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(5, b"secondthird") }]);

    // The tail of a large write waits the same way behind its full segments.
    s.peer_sends(&peer_ack(16, PEER_WINDOW));
    let payload = data(3000);
    s.conn.send(&payload).unwrap();
    s.expect(&[ours(16, &payload[..1460]), ours(16 + 1460, &payload[1460..2920])]);
    s.peer_sends(&peer_ack(16 + 2920, PEER_WINDOW));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(16 + 2920, &payload[2920..]) }]);
}

#[test]
fn shutdown_sends_the_tail_nagle_was_holding() {
    // Nagle waits for more data to fill the segment; after shutdown(SHUT_WR) none can
    // come, so the tail leaves at once with the FIN (as Linux does on close).
    let mut s = Script::established(config());
    s.conn.send(b"first").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"first") }]);
    s.conn.send(b"tail").unwrap();
    s.expect_nothing();
    s.conn.shutdown_write();
    s.expect(&[TcpRepr { flags: FIN_PSH_ACK, ..ours(5, b"tail") }]);
}

#[test]
fn nodelay_sends_small_segments_at_once() {
    // TCP_NODELAY: Nagle off.
    let mut s = Script::established(TcpConfig { nodelay: true, ..config() });
    s.conn.send(b"first").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"first") }]);
    s.conn.send(b"second").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(5, b"second") }]);

    // It can be switched on a live connection (setsockopt).
    s.conn.config_mut().nodelay = false;
    s.conn.send(b"third").unwrap();
    s.expect_nothing();
}

#[test]
fn sender_avoids_silly_windows() {
    // RFC 9293 §3.8.6.2.1: with a usable window below both the MSS and half the largest
    // window ever offered, the sender waits, and the override timeout (the persist timer)
    // then sends what fits.
    let mut s = Script::established(config());
    let payload = data(5000);
    s.conn.send(&payload).unwrap();
    s.expect(&[
        ours(0, &payload[..1460]),
        ours(1460, &payload[1460..2920]),
        ours(2920, &payload[2920..4380]),
    ]);
    s.advance(ms(100));
    // All acknowledged, but the receiver is nearly full: 500 bytes free.
    s.peer_sends(&peer_ack(4380, 500));
    s.expect_nothing();
    // RTT 100 ms (the first segment was timed): RTO = 100 + 4 * 50 = 300 ms.
    assert_eq!(s.conn.rtt().rto(), ms(300));
    assert_eq!(s.next_timer(), Some(ms(300)));
    s.advance(ms(300));
    s.expect(&[ours(4380, &payload[4380..4880])]);

    // When the rest of the window opens, the tail goes out at once.
    s.advance(ms(10));
    s.peer_sends(&peer_ack(4880, PEER_WINDOW));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(4880, &payload[4880..]) }]);
}

#[test]
fn sender_uses_a_window_of_at_least_half_the_largest_offered() {
    // RFC 9293 §3.8.6.2.1 (3): a receiver whose whole buffer is smaller than our MSS
    // still gets data, a window's worth at a time.
    let syn = TcpRepr { window_len: 1000, ..PEER_SYN };
    let mut s = Script::established_with(
        config(),
        &syn,
        &TcpRepr {
            flags: SYN_ACK,
            seq_number: LOCAL_SEQ,
            ack_number: REMOTE_SEQ + 1,
            options: TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
            ..RECV_TEMPL
        },
        &TcpRepr { window_len: 1000, ..peer_ack(0, 1000) },
    );
    let payload = data(2500);
    s.conn.send(&payload).unwrap();
    s.expect(&[ours(0, &payload[..1000])]);
    s.peer_sends(&peer_ack(1000, 600));
    s.expect(&[ours(1000, &payload[1000..1600])]);
    s.peer_sends(&peer_ack(1600, 1000));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(1600, &payload[1600..]) }]);
}

// ---------------------------------------------------------------------- acknowledging

#[test]
fn quick_acks_at_the_start_then_delayed_acks() {
    // Linux's quick-ACK mode: the first 16 segments are acknowledged at once; then the
    // ACK waits for the delayed-ACK timer (RFC 9293 §3.8.6.3: at most 500 ms; ours 40 ms).
    let mut s = Script::established(config());
    let received = leave_quick_ack_mode(&mut s);
    s.peer_sends(&peer_data(received, b"later"));
    s.expect_nothing();
    assert_eq!(s.next_timer(), Some(ms(40)));
    s.advance(ms(39));
    s.expect_nothing();
    s.advance(ms(1));
    s.expect(&[our_ack(received + 5, RECV_BUFFER - received - 5)]);
    assert_eq!(s.stats.delayed_acks, 1);
    assert_eq!(s.next_timer(), None);
}

#[test]
fn delayed_ack_timer_is_at_most_200_ms() {
    // RFC 9293 §3.8.6.3 says 500 ms at most; issue 3 (and Linux's maximum) says 200.
    let mut s = Script::established(TcpConfig { delayed_ack: ms(200), ..config() });
    let received = leave_quick_ack_mode(&mut s);
    s.peer_sends(&peer_data(received, b"x"));
    assert_eq!(s.next_timer(), Some(ms(200)));
    s.advance(ms(200));
    s.expect(&[our_ack(received + 1, RECV_BUFFER - received - 1)]);
    assert!(sluice_core::tcp::TcpConfig::default().delayed_ack <= ms(200));
}

#[test]
fn every_second_full_sized_segment_is_acknowledged_at_once() {
    // RFC 5681 §4.2 / RFC 9293 §3.8.6.3: an ACK at least every second full-sized segment.
    let mut s = Script::established(config());
    let mut received = leave_quick_ack_mode(&mut s);
    let payload = data(4 * 1460);
    for pair in payload.chunks(2 * 1460) {
        s.peer_sends(&peer_data(received, &pair[..1460]));
        s.expect_nothing();
        s.advance(ms(1));
        s.peer_sends(&peer_data(received + 1460, &pair[1460..]));
        received += 2 * 1460;
        s.expect(&[our_ack(received, RECV_BUFFER - received)]);
        assert_eq!(s.next_timer(), None, "the ACK cancelled the delayed-ACK timer");
    }
    assert_eq!(s.stats.delayed_acks, 0);
}

#[test]
fn delayed_ack_rides_on_data() {
    // A pending ACK goes out with the next data segment instead of on its own.
    let mut s = Script::established(config());
    let received = leave_quick_ack_mode(&mut s);
    s.peer_sends(&peer_data(received, b"request"));
    s.expect_nothing();
    s.advance(ms(10));
    s.conn.send(b"response").unwrap();
    s.expect(&[TcpRepr {
        flags: PSH_ACK,
        ack_number: REMOTE_SEQ + 1 + received + 7,
        window_len: (RECV_BUFFER - received - 7) as u16,
        ..ours(0, b"response")
    }]);
    s.advance(ms(100));
    s.expect_nothing();
    assert_eq!(s.stats.delayed_acks, 0);
}

#[test]
fn out_of_order_data_is_acknowledged_at_once_with_sack_blocks() {
    // RFC 5681 §4.2: out-of-order data and data filling a gap are acknowledged at once
    // (even outside quick-ACK mode); RFC 2018 §4: the ACK carries SACK blocks, the newest
    // first.
    let mut s = established_with_sack(config());
    let mut received = leave_quick_ack_mode(&mut s);
    let payload = data(4 * 1460);
    let seg = |n: usize| &payload[n * 1460..(n + 1) * 1460];
    let at = |n: usize| REMOTE_SEQ + 1 + received + n * 1460;

    // Segment 0 is missing; 1 and 3 arrive.
    s.peer_sends(&peer_data(received + 1460, seg(1)));
    let ack = our_ack(received, RECV_BUFFER - received);
    s.expect(&[TcpRepr {
        options: TcpOptions { sack_blocks: SackBlocks::from_slice(&[(at(1), at(2))]), ..NO_OPTIONS },
        ..ack
    }]);
    s.peer_sends(&peer_data(received + 3 * 1460, seg(3)));
    s.expect(&[TcpRepr {
        options: TcpOptions {
            sack_blocks: SackBlocks::from_slice(&[(at(3), at(4)), (at(1), at(2))]),
            ..NO_OPTIONS
        },
        ..ack
    }]);
    assert_eq!(s.stats.out_of_order, 2);
    assert_eq!(s.conn.queued(), (0, received), "nothing readable past the hole");

    // Segment 0 fills the first hole: RCV.NXT jumps over segment 1.
    s.peer_sends(&peer_data(received, seg(0)));
    let ack = our_ack(received + 2 * 1460, RECV_BUFFER - received - 2 * 1460);
    s.expect(&[TcpRepr {
        options: TcpOptions { sack_blocks: SackBlocks::from_slice(&[(at(3), at(4))]), ..NO_OPTIONS },
        ..ack
    }]);
    // Segment 2 fills the last: no blocks left.
    s.peer_sends(&peer_data(received + 2 * 1460, seg(2)));
    received += 4 * 1460;
    s.expect(&[our_ack(received, RECV_BUFFER - received)]);

    // Delivered in order.
    let read = s.read_all();
    assert_eq!(read.len(), received);
    assert_eq!(&read[16..], &payload[..]);
}

#[test]
fn duplicate_data_is_acknowledged_and_delivered_once() {
    // RFC 9293 §3.10.7.4: a segment wholly before RCV.NXT is answered with an ACK; one that
    // overlaps it has its old part trimmed.
    let mut s = Script::established(config());
    s.peer_sends(&peer_data(0, b"hello"));
    s.expect(&[our_ack(5, RECV_BUFFER - 5)]);
    s.peer_sends(&peer_data(0, b"hello"));
    s.expect(&[our_ack(5, RECV_BUFFER - 5)]);
    s.peer_sends(&peer_data(3, b"lo world"));
    s.expect(&[our_ack(11, RECV_BUFFER - 11)]);
    assert_eq!(s.read_all(), b"hello world");
}

// ---------------------------------------------------------------------- receive window

#[test]
fn receive_window_shrinks_and_reopens_when_the_application_reads() {
    // RFC 9293 §3.8.6.2.2: the window offered is the buffer left; reading sends a window
    // update once the window can grow by enough to matter.
    let mut s = established_with_buffer(4380);
    let payload = data(3 * 1460);
    for n in 0..3 {
        s.peer_sends(&peer_data(n * 1460, &payload[n * 1460..(n + 1) * 1460]));
        s.expect(&[our_ack((n + 1) * 1460, 4380 - (n + 1) * 1460)]);
    }
    // Reading 1000 bytes frees less than min(buffer / 2, 2 * MSS): no update yet.
    let mut buf = [0; 1000];
    assert_eq!(s.conn.recv(&mut buf), Ok(1000));
    s.expect_nothing();
    // 3000 bytes free: tell the peer.
    let mut buf = [0; 2000];
    assert_eq!(s.conn.recv(&mut buf), Ok(2000));
    s.expect(&[our_ack(4380, 3000)]);
}

#[test]
fn receiver_avoids_silly_windows() {
    // RFC 9293 §3.8.6.2.2: the right edge moves only by min(buffer / 2, MSS) or more; a
    // smaller gain leaves the window offered as it was.
    let mut s = established_with_buffer(4380);
    s.peer_sends(&peer_data(0, &[1; 1000]));
    s.expect(&[our_ack(1000, 3380)]);
    assert_eq!(s.conn.recv(&mut [0; 1000]), Ok(1000));
    s.expect_nothing();
    // 4280 bytes are free, but offering them would move the edge by only 1000 < 1460.
    s.peer_sends(&peer_data(1000, &[2; 100]));
    s.expect(&[our_ack(1100, 3280)]);
    s.peer_sends(&peer_data(1100, &[3; 400]));
    s.expect(&[our_ack(1500, 2880)]);
    assert_eq!(s.conn.recv(&mut [0; 500]), Ok(500));
    s.expect_nothing();
    // 1500 bytes read since the edge last moved: now the whole free space is offered.
    s.peer_sends(&peer_data(1500, &[4; 10]));
    s.expect(&[our_ack(1510, 4380 - 10)]);
}

#[test]
fn zero_receive_window_holds_probes_off() {
    // RFC 9293 §3.10.7.4: with a zero window, a probe at RCV.NXT is acknowledged (telling
    // the window) and its data dropped.
    let mut s = established_with_buffer(2920);
    let payload = data(2920);
    s.peer_sends(&peer_data(0, &payload[..1460]));
    s.expect(&[our_ack(1460, 1460)]);
    s.peer_sends(&peer_data(1460, &payload[1460..]));
    s.expect(&[our_ack(2920, 0)]);
    s.advance(ms(200));
    s.peer_sends(&peer_data(2920, b"?"));
    s.expect(&[our_ack(2920, 0)]);
    assert_eq!(s.conn.queued(), (0, 2920));
    assert_eq!(s.read_all(), payload);
    s.expect(&[our_ack(2920, 2920)]);
}

// ---------------------------------------------------------------------- zero send window

#[test]
fn zero_window_is_probed_with_backoff_until_it_opens() {
    // RFC 9293 §3.8.6.1: the persist timer sends one byte into a zero window, backing off
    // exponentially; the probes' answers are not duplicate ACKs (RFC 5681 §2 counts ACKs
    // for data the receiver could take); data flows when the window opens.
    let mut s = Script::established(config());
    let payload = data(14_600 + 4 * 1460);
    s.conn.send(&payload).unwrap();
    s.expect(&(0..10).map(|n| ours(n * 1460, &payload[n * 1460..(n + 1) * 1460])).collect::<Vec<_>>());
    s.advance(ms(100));
    s.peer_sends(&peer_ack(14_600, 0));
    s.expect_nothing();
    // RTT 100 ms: RTO 300 ms; the persist timer starts at one RTO.
    assert_eq!(s.next_timer(), Some(ms(300)));
    let cwnd = s.conn.cwnd();

    let probe = ours(14_600, &payload[14_600..14_601]);
    let mut interval = ms(300);
    let mut wait = interval;
    for _ in 0..4 {
        s.advance(wait - ms(1));
        s.expect_nothing();
        s.advance(ms(1));
        s.expect(&[probe]);
        interval *= 2;
        assert_eq!(s.next_timer(), Some(interval));
        s.advance(ms(10));
        s.peer_sends(&peer_ack(14_600, 0));
        s.expect_nothing();
        wait = interval - ms(10);
    }
    assert_eq!(s.stats.window_probes, 4);
    assert_eq!(s.stats.fast_retransmits, 0);
    assert_eq!(s.stats.retransmitted_segments, 0);
    assert_eq!(s.conn.cwnd(), cwnd, "probing is not congestion");

    // The window opens (the peer's application read): the remaining data goes out,
    // starting with the byte the probes carried.
    s.advance(ms(50));
    s.peer_sends(&peer_ack(14_600, PEER_WINDOW));
    let rest = &payload[14_600..];
    s.expect(&[
        ours(14_600, &rest[..1460]),
        ours(14_600 + 1460, &rest[1460..2920]),
        ours(14_600 + 2920, &rest[2920..4380]),
        TcpRepr { flags: PSH_ACK, ..ours(14_600 + 4380, &rest[4380..]) },
    ]);
    assert_eq!(s.next_timer(), Some(ms(300)), "the retransmission timer, not the persist timer");
}

#[test]
fn probe_accepted_when_the_window_opens() {
    // A probe that finds room is acknowledged like data, and the rest follows.
    let mut s = Script::established(TcpConfig { nodelay: true, ..config() });
    s.conn.send(b"abc").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"abc") }]);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(3, 0));
    s.conn.send(b"defgh").unwrap();
    s.expect_nothing();
    s.advance(ms(300));
    s.expect(&[ours(3, b"d")]);
    s.peer_sends(&peer_ack(4, 1000));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(4, b"efgh") }]);
}

#[test]
fn data_written_into_a_known_zero_window_starts_the_persist_timer() {
    // The window closed while nothing waited to be sent; data written later must still be
    // probed for (RFC 9293 §3.8.6.1), or both sides wait for each other forever if the
    // peer's window update is lost.
    let mut s = Script::established(config());
    s.conn.send(b"abc").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"abc") }]);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(3, 0));
    assert_eq!(s.next_timer(), None);
    s.advance(secs(5));
    s.conn.send(b"defgh").unwrap();
    s.expect_nothing();
    // RTT 100 ms: RTO 300 ms, the first persist interval.
    assert_eq!(s.next_timer(), Some(ms(300)));
    s.advance(ms(300));
    s.expect(&[ours(3, b"d")]);
}

#[test]
fn send_after_shutdown_is_refused() {
    let mut s = Script::established(config());
    s.conn.shutdown_write();
    assert_eq!(s.conn.send(b"late"), Err(TcpError::NotConnected));
    s.expect(&[TcpRepr { flags: FIN_ACK, ..ours(0, b"") }]);
    assert_eq!(s.conn.recv(&mut [0; 4]), Err(TcpError::WouldBlock), "reads go on");
}

#[test]
fn persist_backoff_is_capped_at_60_seconds() {
    // RFC 9293 §3.8.6.1 leaves the interval to the implementation; RFC 1122 §4.2.2.17
    // asks for exponential backoff; ours doubles from one RTO up to 60 s.
    let mut s = Script::established(config());
    s.conn.send(b"abc").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"abc") }]);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(3, 0));
    s.conn.send(b"more").unwrap();
    s.expect_nothing();
    let mut intervals = Vec::new();
    for _ in 0..11 {
        let wait = s.next_timer().unwrap();
        intervals.push(wait.as_millis());
        s.advance(wait);
        s.expect(&[ours(3, b"m")]);
    }
    assert_eq!(
        intervals,
        [300, 600, 1200, 2400, 4800, 9600, 19_200, 38_400, 60_000, 60_000, 60_000],
        "the first interval is one RTO (300 ms after a 100 ms sample)"
    );
    assert_eq!(s.conn.state(), sluice_core::tcp::State::Established, "a zero window never times out");
}

#[test]
fn segment_beyond_the_window_is_trimmed() {
    // RFC 9293 §3.10.7.4: the part of a segment beyond the window is dropped; what fits is
    // taken.
    let mut s = established_with_buffer(2920);
    let payload = data(4000);
    s.peer_sends(&peer_data(0, &payload));
    s.expect(&[our_ack(2920, 0)]);
    assert_eq!(s.read_all(), &payload[..2920]);
    s.expect(&[our_ack(2920, 2920)]);
    s.peer_sends(&peer_data(2920, &payload[2920..]));
    s.expect(&[our_ack(4000, 2920 - 1080)]);
}

#[test]
fn window_from_an_older_segment_is_ignored() {
    // RFC 9293 §3.10.7.4, fifth: the send window is taken only from a segment newer than
    // the last update (SND.WL1, SND.WL2): a reordered old ACK cannot shrink it.
    let mut s = Script::established(TcpConfig { nodelay: true, ..config() });
    s.conn.send(b"x").unwrap();
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, b"x") }]);
    s.peer_sends(&peer_ack(1, PEER_WINDOW));
    // The handshake's ACK, delayed in the network: it offered only 100 bytes.
    s.peer_sends(&peer_ack(0, 100));
    s.expect_nothing();
    let payload = data(3000);
    s.conn.send(&payload).unwrap();
    s.expect(&[
        ours(1, &payload[..1460]),
        ours(1 + 1460, &payload[1460..2920]),
        TcpRepr { flags: PSH_ACK, ..ours(1 + 2920, &payload[2920..]) },
    ]);
}

#[test]
fn congestion_window_restarts_after_idle() {
    // RFC 5681 §4.1: after an idle period longer than the RTO, cwnd is cut back to the
    // restart window (the RFC 6928 initial window, 10 segments here).
    let mut s = Script::established(config());
    let payload = data(10 * 1460);
    s.conn.send(&payload).unwrap();
    let mut flight: Vec<_> = (0..10).map(|n| ours(n * 1460, &payload[n * 1460..(n + 1) * 1460])).collect();
    flight[9].flags = PSH_ACK;
    s.expect(&flight);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(10 * 1460, PEER_WINDOW));
    // Slow start (RFC 3465 with L = 2 SMSS): one ACK grows cwnd by two segments.
    assert_eq!(s.conn.cwnd(), 12 * 1460);

    s.advance(secs(1));
    let more = data(20 * 1460);
    s.conn.send(&more).unwrap();
    let base = 10 * 1460;
    s.expect(&(0..10).map(|n| ours(base + n * 1460, &more[n * 1460..(n + 1) * 1460])).collect::<Vec<_>>());
    assert_eq!(s.conn.cwnd(), 10 * 1460);
}

#[test]
fn window_closed_with_data_outstanding_is_probed_not_timed_out() {
    // The peer took half the flight and closed its window. The retransmission timer then
    // finds nothing it may send; it must turn to probing (RFC 9293 §3.8.6.1: retransmit
    // even into a zero window) and, while the peer answers, never time the connection out
    // (RFC 1122 §4.2.2.17).
    let mut s = Script::established(TcpConfig { data_retries: 3, ..config() });
    let payload = data(10 * 1460);
    s.conn.send(&payload).unwrap();
    let mut flight: Vec<_> = (0..10).map(|n| ours(n * 1460, &payload[n * 1460..(n + 1) * 1460])).collect();
    flight[9].flags = PSH_ACK;
    s.expect(&flight);
    s.advance(ms(100));
    s.peer_sends(&peer_ack(5 * 1460, 0));
    s.expect_nothing();
    // RTT 100 ms: RTO 300 ms, then probes with the persist backoff.
    let probe = ours(5 * 1460, &payload[5 * 1460..5 * 1460 + 1]);
    let mut wait = ms(300);
    for _ in 0..6 {
        s.advance(wait - ms(1));
        s.expect_nothing();
        s.advance(ms(1));
        s.expect(&[probe]);
        s.peer_sends(&peer_ack(5 * 1460, 0));
        s.expect_nothing();
        wait = s.next_timer().unwrap();
    }
    assert_eq!(s.conn.state(), sluice_core::tcp::State::Established);
    assert_eq!(s.conn.error(), None);

    // The window opens: the rest of the data goes again from SND.UNA.
    s.peer_sends(&peer_ack(5 * 1460, PEER_WINDOW));
    let rest: Vec<_> = (5..10).map(|n| flight[n]).collect();
    s.expect(&rest);
}

#[test]
fn full_send_buffer_would_block() {
    let mut s = Script::established(TcpConfig { send_buffer: 1000, ..config() });
    let payload = data(1500);
    assert!(s.conn.is_writable());
    assert_eq!(s.conn.send(&payload), Ok(1000));
    assert!(!s.conn.is_writable());
    assert_eq!(s.conn.send(&payload[1000..]), Err(TcpError::WouldBlock));
    s.expect(&[TcpRepr { flags: PSH_ACK, ..ours(0, &payload[..1000]) }]);
    // Acknowledged bytes free the buffer.
    s.peer_sends(&peer_ack(600, PEER_WINDOW));
    assert!(s.conn.is_writable());
    assert_eq!(s.conn.send(&payload[1000..]), Ok(500));
    assert_eq!(s.conn.queued(), (900, 0));
}

#[test]
fn empty_receive_buffer_would_block() {
    let mut s = Script::established(config());
    assert!(!s.conn.is_readable());
    assert_eq!(s.conn.recv(&mut [0; 16]), Err(TcpError::WouldBlock));
    s.peer_sends(&peer_data(0, b"abc"));
    assert!(s.conn.is_readable());
    assert_eq!(s.read_all(), b"abc");
    assert_eq!(s.conn.recv(&mut [0; 16]), Err(TcpError::WouldBlock));
}

#[test]
fn consuming_in_place_opens_the_window_too() {
    // The zero-copy read (peek, then consume) updates the window like recv does.
    let mut s = established_with_buffer(4380);
    let payload = data(4380);
    for n in 0..3 {
        s.peer_sends(&peer_data(n * 1460, &payload[n * 1460..(n + 1) * 1460]));
        s.expect(&[our_ack((n + 1) * 1460, 4380 - (n + 1) * 1460)]);
    }
    let (first, second) = s.conn.peek();
    assert_eq!([first, second].concat(), payload);
    s.conn.consume(1000);
    s.expect_nothing();
    s.conn.consume(2000);
    s.expect(&[our_ack(4380, 3000)]);
}

#[test]
fn full_segments_leave_room_for_the_sack_blocks_they_carry() {
    // RFC 9293 §3.7.1: the MSS counts no TCP options, so a segment that carries SACK blocks
    // (RFC 2018) for out-of-order data waiting here carries that much less data. Found on
    // veth: full-sized echo segments with a SACK block exceeded the MTU and were dropped
    // as too big at every retransmission.
    let syn = TcpRepr { options: TcpOptions { sack_permitted: true, ..PEER_SYN.options }, ..PEER_SYN };
    let syn_ack = TcpRepr {
        flags: SYN_ACK,
        seq_number: LOCAL_SEQ,
        ack_number: REMOTE_SEQ + 1,
        options: TcpOptions { mss: Some(OUR_MSS as u16), sack_permitted: true, ..NO_OPTIONS },
        ..RECV_TEMPL
    };
    let ack = TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL };
    let mut s = Script::established_with(TcpConfig { nodelay: true, ..config() }, &syn, &syn_ack, &ack);
    // 100 bytes past a 100-byte hole.
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1 + 100,
        ack_number: LOCAL_SEQ + 1,
        payload: &[7; 100],
        ..SEND_TEMPL
    });
    let block = SackBlocks::from_slice(&[(REMOTE_SEQ + 1 + 100, REMOTE_SEQ + 1 + 200)]);
    let with_sack = |repr: TcpRepr<'static>| TcpRepr {
        options: TcpOptions { sack_blocks: block, ..NO_OPTIONS },
        window_len: RECV_TEMPL.window_len,
        ..repr
    };
    s.expect(&[with_sack(TcpRepr { seq_number: LOCAL_SEQ + 1, ack_number: REMOTE_SEQ + 1, ..RECV_TEMPL })]);
    let payload = data(3000);
    assert_eq!(s.conn.send(&payload), Ok(3000));
    // One block: NOP NOP kind length + 8 bytes = 12 option bytes, so 1448 bytes a segment.
    let seg = |from: usize, to: usize| TcpRepr {
        options: TcpOptions { sack_blocks: block, ..NO_OPTIONS },
        ..ours(from, &payload[from..to])
    };
    s.expect(&[seg(0, 1448), seg(1448, 2896), TcpRepr { flags: PSH_ACK, ..seg(2896, 3000) }]);
}
