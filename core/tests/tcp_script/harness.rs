//! A single TCP endpoint driven segment by segment on a virtual clock.
//!
//! A [`Script`] holds one [`Connection`] and plays the event loop of the socket layer
//! around it: a segment from the peer goes through `on_segment`, a timer through
//! `on_timers`, and after every event the connection is
//! asked for segments as the interface asks it (only when `wants_to_send()` says so, then
//! until `next_segment` returns `None`). Every segment it emits is written to the wire
//! format and parsed back (checksum verified), so the tests compare exactly what a peer
//! would receive.
//!
//! Tests read like the RFC's examples: the peer sends this segment ([`Script::peer_sends`]),
//! we must emit exactly these ([`Script::expect`], which also checks they left at the
//! current instant, not at some earlier timer), time passes ([`Script::advance`], running
//! each timer at its deadline).
//! Segments are written as the const templates [`SEND_TEMPL`] (from the peer) and
//! [`RECV_TEMPL`] (from us) with the fields that matter overridden.

use core::fmt::Write as _;
use core::net::SocketAddrV4;

use sluice_core::tcp::{ChallengeAckBudget, Connection, InputContext, State, TcpConfig, TcpError, TcpStats};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{
    ChecksumMode, Ipv4Addr, SackBlocks, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};

pub const LOCAL_ADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
pub const REMOTE_ADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 2);
pub const LOCAL_PORT: u16 = 49500;
pub const REMOTE_PORT: u16 = 80;
pub const LOCAL: SocketAddrV4 = SocketAddrV4::new(LOCAL_ADDR, LOCAL_PORT);
pub const REMOTE: SocketAddrV4 = SocketAddrV4::new(REMOTE_ADDR, REMOTE_PORT);

/// The stack's secret, which keys the challenge ACK budget's generator.
pub const SECRET: [u8; 16] = [0x5e; 16];

/// Our initial sequence number.
pub const LOCAL_SEQ: SeqNumber = SeqNumber(10_000);
/// The peer's: 1000 bytes before the wrap, so data in most tests crosses 2^32.
pub const REMOTE_SEQ: SeqNumber = SeqNumber(u32::MAX - 999);
/// Added to our millisecond clock to make TSval: ours is `TS_OFFSET + ms since start`.
pub const TS_OFFSET: u32 = 7_000_000;
/// The link MTU: our MSS option says 1460.
pub const MTU: usize = 1500;
pub const OUR_MSS: usize = 1460;
/// Our receive buffer in [`config`]: small enough for an unscaled window field.
pub const RECV_BUFFER: usize = 64_000;
/// The window the peer offers in [`SEND_TEMPL`].
pub const PEER_WINDOW: u16 = 60_000;

pub const NO_OPTIONS: TcpOptions = TcpOptions {
    mss: None,
    window_scale: None,
    sack_permitted: false,
    sack_blocks: SackBlocks::new(),
    timestamps: None,
};

/// A segment from the peer: an ACK with nothing set.
pub const SEND_TEMPL: TcpRepr<'static> = TcpRepr {
    src_port: REMOTE_PORT,
    dst_port: LOCAL_PORT,
    seq_number: SeqNumber(0),
    ack_number: SeqNumber(0),
    flags: TcpFlags::ACK,
    window_len: PEER_WINDOW,
    urgent_pointer: 0,
    options: NO_OPTIONS,
    payload: &[],
};

/// A segment from us: an ACK offering the whole of [`RECV_BUFFER`].
pub const RECV_TEMPL: TcpRepr<'static> = TcpRepr {
    src_port: LOCAL_PORT,
    dst_port: REMOTE_PORT,
    seq_number: SeqNumber(0),
    ack_number: SeqNumber(0),
    flags: TcpFlags::ACK,
    window_len: RECV_BUFFER as u16,
    urgent_pointer: 0,
    options: NO_OPTIONS,
    payload: &[],
};

/// The peer's SYN in most tests: an MSS of 1460 and no other option.
pub const PEER_SYN: TcpRepr<'static> = TcpRepr {
    seq_number: REMOTE_SEQ,
    flags: TcpFlags::SYN,
    options: TcpOptions { mss: Some(1460), ..NO_OPTIONS },
    ..SEND_TEMPL
};

pub const SYN: TcpFlags = TcpFlags::SYN;
pub const ACK: TcpFlags = TcpFlags::ACK;
pub const RST: TcpFlags = TcpFlags::RST;
pub const SYN_ACK: TcpFlags = TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0);
pub const FIN_ACK: TcpFlags = TcpFlags(TcpFlags::FIN.0 | TcpFlags::ACK.0);
pub const RST_ACK: TcpFlags = TcpFlags(TcpFlags::RST.0 | TcpFlags::ACK.0);
pub const PSH_ACK: TcpFlags = TcpFlags(TcpFlags::PSH.0 | TcpFlags::ACK.0);
pub const FIN_PSH_ACK: TcpFlags = TcpFlags(TcpFlags::FIN.0 | TcpFlags::PSH.0 | TcpFlags::ACK.0);

/// The configuration of most tests: Linux-like defaults with 64 000-byte buffers.
pub fn config() -> TcpConfig {
    TcpConfig { send_buffer: 64_000, recv_buffer: RECV_BUFFER, ..TcpConfig::default() }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `len` bytes of a recognisable pattern (no two neighbouring 256-byte runs alike).
pub fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i / 251) as u8).collect()
}

/// Our TSval at `at` (RFC 7323 §5.4: a millisecond clock plus a per-connection offset).
pub fn our_tsval(at: Instant) -> u32 {
    (at.total_millis() as u32).wrapping_add(TS_OFFSET)
}

/// One line per segment with every field a test compares.
pub fn describe(repr: &TcpRepr<'_>) -> String {
    let mut s = format!(
        "{}>{} [{:?}] seq {} ack {} win {}",
        repr.src_port, repr.dst_port, repr.flags, repr.seq_number.0, repr.ack_number.0, repr.window_len
    );
    let o = &repr.options;
    if let Some(mss) = o.mss {
        let _ = write!(s, " mss {mss}");
    }
    if let Some(ws) = o.window_scale {
        let _ = write!(s, " ws {ws}");
    }
    if o.sack_permitted {
        s.push_str(" sackOK");
    }
    if let Some((val, ecr)) = o.timestamps {
        let _ = write!(s, " ts {val}/{ecr}");
    }
    if !o.sack_blocks.is_empty() {
        s.push_str(" sack");
        for (l, r) in o.sack_blocks.iter() {
            let _ = write!(s, " {}-{}", l.0, r.0);
        }
    }
    if repr.urgent_pointer != 0 {
        let _ = write!(s, " urg {}", repr.urgent_pointer);
    }
    let _ = write!(s, " len {}", repr.payload.len());
    s
}

/// A segment we emitted: its wire bytes and the virtual time it left.
struct Emitted {
    at: Instant,
    bytes: Vec<u8>,
}

impl Emitted {
    fn repr(&self) -> TcpRepr<'_> {
        let packet = TcpPacket::new_checked(&self.bytes[..]).expect("we emitted a malformed TCP header");
        TcpRepr::parse(&packet, LOCAL_ADDR, REMOTE_ADDR, ChecksumMode::Verify)
            .expect("we emitted a segment that does not parse back")
    }
}

pub struct Script {
    pub conn: Connection,
    pub now: Instant,
    pub stats: TcpStats,
    /// The stack-wide challenge ACK budget, keyed by [`SECRET`].
    pub challenge_acks: ChallengeAckBudget,
    sent: Vec<Emitted>,
}

impl Script {
    fn with(conn: Connection, now: Instant, config: &TcpConfig) -> Script {
        let rate = config.challenge_acks_per_sec;
        Script {
            conn,
            now,
            stats: TcpStats::default(),
            challenge_acks: ChallengeAckBudget::new(rate, SECRET),
            sent: Vec::new(),
        }
    }

    /// An active open in SYN-SENT; its SYN is emitted by the first `expect`.
    pub fn connect(config: TcpConfig) -> Script {
        Script::connect_over(config, MTU)
    }

    /// An active open over a link of `mtu` bytes.
    pub fn connect_over(config: TcpConfig, mtu: usize) -> Script {
        let now = Instant::ZERO;
        let conn = Connection::connect(now, LOCAL, REMOTE, config, LOCAL_SEQ, TS_OFFSET, mtu);
        Script::with(conn, now, &config)
    }

    /// A passive open: a listener took `syn`; the connection is in SYN-RECEIVED and its
    /// SYN-ACK is emitted by the first `expect`.
    pub fn accept(config: TcpConfig, syn: &TcpRepr<'_>) -> Script {
        let now = Instant::ZERO;
        let conn = Connection::accept(now, LOCAL, REMOTE, syn, config, LOCAL_SEQ, TS_OFFSET, MTU);
        Script::with(conn, now, &config)
    }

    /// ESTABLISHED by a passive open with [`PEER_SYN`]: no option but MSS 1460, so windows
    /// are unscaled and segments carry no options. Nothing is left to expect.
    pub fn established(config: TcpConfig) -> Script {
        let mut s = Script::accept(config, &PEER_SYN);
        s.expect(&[TcpRepr {
            flags: SYN | ACK,
            seq_number: LOCAL_SEQ,
            ack_number: REMOTE_SEQ + 1,
            window_len: config.recv_buffer.min(0xffff) as u16,
            options: TcpOptions { mss: Some(OUR_MSS as u16), ..NO_OPTIONS },
            ..RECV_TEMPL
        }]);
        s.peer_sends(&TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL });
        s.expect_nothing();
        assert_eq!(s.conn.state(), State::Established);
        s
    }

    /// ESTABLISHED by a passive open: the peer's `syn`, our `syn_ack` (checked), then the
    /// peer's `ack`. Nothing is left to expect.
    pub fn established_with(
        config: TcpConfig,
        syn: &TcpRepr<'_>,
        syn_ack: &TcpRepr<'_>,
        ack: &TcpRepr<'_>,
    ) -> Script {
        let mut s = Script::accept(config, syn);
        s.expect(core::slice::from_ref(syn_ack));
        s.peer_sends(ack);
        s.expect_nothing();
        assert_eq!(s.conn.state(), State::Established);
        s
    }

    // ------------------------------------------------------------------ the event loop

    /// What the interface does after any event: if the connection wants to send, take
    /// segments until it has none.
    fn transmit(&mut self) {
        if !self.conn.wants_to_send() {
            return;
        }
        for _ in 0..1000 {
            let Some(segment) = self.conn.next_segment(self.now, &mut self.stats) else { return };
            let (first, second) = self.conn.payload(&segment);
            assert_eq!(first.len() + second.len(), segment.data_len, "payload() disagrees with data_len");
            let payload = [first, second].concat();
            let repr = TcpRepr { payload: &payload, ..segment.repr };
            let mut bytes = vec![0; repr.buffer_len()];
            repr.emit(&mut TcpPacket::new_unchecked(&mut bytes[..]), LOCAL_ADDR, REMOTE_ADDR);
            self.sent.push(Emitted { at: self.now, bytes });
        }
        panic!("next_segment never returned None");
    }

    /// The peer's segment arrives now.
    pub fn peer_sends(&mut self, seg: &TcpRepr<'_>) {
        self.transmit();
        let mut ctx = InputContext { stats: &mut self.stats, challenge_acks: &mut self.challenge_acks };
        self.conn.on_segment(self.now, seg, &mut ctx);
        self.transmit();
    }

    /// The peer's segment arrives now, at a connection of a stack whose challenge ACK
    /// budget is `shared` (many scripts playing the connections of one stack).
    pub fn peer_sends_sharing(&mut self, seg: &TcpRepr<'_>, shared: &mut ChallengeAckBudget) {
        core::mem::swap(&mut self.challenge_acks, shared);
        self.peer_sends(seg);
        core::mem::swap(&mut self.challenge_acks, shared);
    }

    /// Lets `duration` pass, running every timer that falls due on the way at its instant.
    pub fn advance(&mut self, duration: Duration) {
        let target = self.now + duration;
        self.transmit();
        for _ in 0..100_000 {
            match self.conn.poll_at() {
                Some(at) if at <= target => {
                    if at > self.now {
                        self.now = at;
                    }
                    self.conn.on_timers(self.now, &mut self.stats);
                    self.transmit();
                }
                _ => {
                    self.now = target;
                    return;
                }
            }
        }
        panic!("timers keep firing at {} without moving on", self.now);
    }

    /// Time until the connection's next timer, if any.
    pub fn next_timer(&self) -> Option<Duration> {
        self.conn.poll_at().map(|at| at.saturating_duration_since(self.now))
    }

    // ------------------------------------------------------------------ assertions

    /// We emitted exactly `expected`, in order, all of them now (not at an earlier timer).
    #[track_caller]
    pub fn expect(&mut self, expected: &[TcpRepr<'_>]) {
        self.transmit();
        let sent = core::mem::take(&mut self.sent);
        let reprs: Vec<TcpRepr<'_>> = sent.iter().map(Emitted::repr).collect();
        let listing = |list: &[TcpRepr<'_>]| -> String {
            list.iter().map(|r| format!("\n    {}", describe(r))).collect::<String>()
        };
        if reprs != expected {
            panic!(
                "at {}: segments differ\n  expected:{}\n  emitted:{}",
                self.now,
                listing(expected),
                listing(&reprs)
            );
        }
        for e in &sent {
            assert_eq!(e.at, self.now, "a segment left at {}, not now ({})", e.at, self.now);
        }
    }

    /// Takes what we emitted (all of it now), one [`describe`] line per segment, for
    /// tests that count replies over many events instead of listing each.
    #[track_caller]
    pub fn take_emitted(&mut self) -> Vec<String> {
        self.transmit();
        let sent = core::mem::take(&mut self.sent);
        for e in &sent {
            assert_eq!(e.at, self.now, "a segment left at {}, not now ({})", e.at, self.now);
        }
        sent.iter().map(|e| describe(&e.repr())).collect()
    }

    #[track_caller]
    pub fn expect_nothing(&mut self) {
        self.expect(&[]);
    }

    /// The connection is closed with `error` reported to the application.
    #[track_caller]
    pub fn expect_closed(&self, error: Option<TcpError>) {
        assert_eq!(self.conn.state(), State::Closed);
        assert_eq!(self.conn.error(), error);
        assert_eq!(self.conn.poll_at(), None, "a closed connection keeps a timer");
    }

    /// Reads everything readable.
    pub fn read_all(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = self.conn.recv(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        out
    }
}

// ---------------------------------------------------------------------- fixtures

/// The peer's clock for TSval: 1000 at our time zero, one tick per millisecond.
pub const PEER_TS: u32 = 1000;

/// A Linux-like SYN: MSS, SACK-permitted, timestamps and window scale 7.
pub const PEER_SYN_ALL: TcpRepr<'static> = TcpRepr {
    window_len: 65535,
    options: TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some((PEER_TS, 0)),
        ..NO_OPTIONS
    },
    ..PEER_SYN
};

/// Our answer to [`PEER_SYN_ALL`]: every option agreed; our window needs no scaling (0).
pub const OUR_SYN_ACK_ALL: TcpRepr<'static> = TcpRepr {
    flags: SYN_ACK,
    seq_number: LOCAL_SEQ,
    ack_number: SeqNumber(REMOTE_SEQ.0 + 1),
    options: TcpOptions {
        mss: Some(OUR_MSS as u16),
        window_scale: Some(0),
        sack_permitted: true,
        timestamps: Some((TS_OFFSET, PEER_TS)),
        ..NO_OPTIONS
    },
    ..RECV_TEMPL
};

/// ESTABLISHED with every option, the handshake's last ACK arriving at 10 ms. The peer's
/// window field 469 means 469 << 7 = 60 032 bytes.
pub fn established_with_all_options() -> Script {
    let mut s = Script::accept(config(), &PEER_SYN_ALL);
    s.expect(&[OUR_SYN_ACK_ALL]);
    s.advance(ms(10));
    s.peer_sends(&TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: LOCAL_SEQ + 1,
        window_len: 469,
        options: TcpOptions { timestamps: Some((PEER_TS + 10, TS_OFFSET)), ..NO_OPTIONS },
        ..SEND_TEMPL
    });
    s.expect_nothing();
    assert_eq!(s.conn.state(), State::Established);
    s
}

/// ESTABLISHED with SACK agreed (the peer's SYN offered it), and no other option.
pub fn established_with_sack(config: TcpConfig) -> Script {
    Script::established_with(
        config,
        &TcpRepr { options: TcpOptions { sack_permitted: true, ..PEER_SYN.options }, ..PEER_SYN },
        &TcpRepr {
            flags: SYN_ACK,
            seq_number: LOCAL_SEQ,
            ack_number: REMOTE_SEQ + 1,
            window_len: config.recv_buffer as u16,
            options: TcpOptions { mss: Some(OUR_MSS as u16), sack_permitted: true, ..NO_OPTIONS },
            ..RECV_TEMPL
        },
        &TcpRepr { seq_number: REMOTE_SEQ + 1, ack_number: LOCAL_SEQ + 1, ..SEND_TEMPL },
    )
}
