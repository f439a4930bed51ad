//! What the input bytes decode to: the starting conditions, then a sequence of operations
//! by the peer, the clock and the application. Every field is a choice relative to the
//! live connection where that matters (sequence numbers near what the stack expects), so
//! random bytes reach deep states instead of bouncing off the first sequence check.
//!
//! Decoded with `arbitrary` (1.x): integers are little-endian, a `bool` is a byte's low
//! bit, an `Option` a bool then the value, an enum a little-endian `u32` `t` choosing
//! variant `(t * variants) >> 32`; fixed-size arrays are their elements in turn.

use arbitrary::Arbitrary;

/// A buffer size for the stack's sockets.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum BufferSize {
    B2k,
    B8k,
    B16k,
    /// More than a 16-bit window: the stack needs window scaling to offer it.
    B100k,
}

impl BufferSize {
    pub fn bytes(self) -> usize {
        match self {
            BufferSize::B2k => 2048,
            BufferSize::B8k => 8192,
            BufferSize::B16k => 16_384,
            BufferSize::B100k => 100_000,
        }
    }
}

/// The options of a SYN (or SYN-ACK) the peer sends.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct SynOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
}

/// How the stack is configured and how the first connection's handshake goes.
#[derive(Arbitrary, Debug)]
pub struct Setup {
    pub recv_buffer: BufferSize,
    pub send_buffer: BufferSize,
    pub nodelay: bool,
    pub keepalive: bool,
    /// Keys the stack's initial sequence numbers, so its sequence space varies too.
    pub secret: u8,
    /// The peer's initial sequence number on the first connection.
    pub peer_isn: u32,
    pub syn: SynOptions,
    /// The window the peer offers (unscaled field).
    pub window: u16,
}

/// Where an in-order-ish data segment starts.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum DataAt {
    /// The peer's next new sequence number.
    Next,
    /// Where the stack's last ACK says it wants data (a retransmission).
    Retransmit,
    /// Past the peer's next sequence number: out of order, leaving a gap.
    Ahead(u16),
    /// Before it: overlapping data already sent.
    Behind(u16),
}

/// A sequence number relative to the connection's real sequence space.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SeqAt {
    /// The peer's next new sequence number, plus an offset.
    Next(i16),
    /// The stack's RCV.NXT as its last ACK showed it, plus an offset.
    Acked(i16),
    /// The right edge of the window the stack last offered, plus an offset.
    WindowEdge(i16),
    Raw(u32),
}

/// An acknowledgment number relative to what the stack has sent.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AckAt {
    /// Everything the stack has sent (its SND.MAX as seen on the wire), plus an offset.
    Max(i16),
    /// What the peer acknowledged last, plus an offset.
    Acked(i16),
    Raw(u32),
}

/// The timestamps option of a non-SYN segment.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Timestamp {
    /// The peer's clock and the stack's last TSval, when timestamps were agreed.
    Auto,
    Omit,
    /// A TSval this many ticks older than the clock (PAWS must reject it).
    Old(u16),
    /// A TSval this far ahead of the clock.
    Future(u32),
    Raw(u32, u32),
}

/// A SACK block `[ack + start, ack + start + len)` relative to the segment's ACK number.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct SackRange {
    pub start: u16,
    pub len: u16,
}

/// The initial sequence number of a SYN the peer sends on a known flow.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SynIsn {
    /// The flow's current ISN again: a retransmitted SYN.
    Retransmit,
    /// A new, unrelated ISN.
    Fresh,
    /// Beyond everything the old incarnation used (a new connection after TIME_WAIT).
    AboveOld,
    Raw(u32),
}

/// A segment with every field chosen.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct SegmentSpec {
    pub flow: u8,
    /// The eight control bits, as sent.
    pub flags: u8,
    pub seq: SeqAt,
    pub ack: AckAt,
    pub window: u16,
    pub len: u16,
    pub urgent: u16,
    pub timestamp: Timestamp,
    pub sack: [Option<SackRange>; 3],
    /// Sent when the SYN bit is set (non-SYN segments carry timestamps and SACK only).
    pub syn_options: SynOptions,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum TimeUnit {
    Millis,
    TenMillis,
    Seconds,
    Minutes,
}

/// One step. `flow` picks a 4-tuple the peer knows (index modulo their number), `conn`
/// a connection the application holds (index modulo their number).
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    // ---------------------------------------------------------------- the peer
    /// Data from the peer's stream, acknowledging everything the stack sent.
    Data {
        flow: u8,
        at: DataAt,
        len: u16,
        fin: bool,
    },
    /// A pure ACK of everything but `behind` bytes, with a window and SACK blocks.
    Ack {
        flow: u8,
        behind: u16,
        window: u16,
        sack: [Option<SackRange>; 3],
    },
    /// A SYN: on a new 4-tuple (`flow: None`) or a known one; on a flow the stack opened,
    /// the SYN-ACK answering its SYN.
    Syn {
        flow: Option<u8>,
        isn: SynIsn,
        options: SynOptions,
        window: u16,
    },
    /// A RST, with or without ACK.
    Rst {
        flow: u8,
        seq: SeqAt,
        with_ack: bool,
    },
    Segment(Box<SegmentSpec>),
    /// A segment whose option bytes are raw input (`words` 4-byte words of `options`).
    RawOptions {
        flow: u8,
        seq: SeqAt,
        ack: AckAt,
        flags: u8,
        options: [u8; 40],
        words: u8,
        len: u16,
    },
    // ---------------------------------------------------------------- the clock
    /// Time passes; every timer due on the way runs at its deadline.
    Advance {
        amount: u16,
        unit: TimeUnit,
    },
    /// Time jumps to the stack's next deadline.
    NextTimer,
    // ---------------------------------------------------------------- the application
    Send {
        conn: u8,
        len: u16,
    },
    Recv {
        conn: u8,
        len: u16,
        in_place: bool,
    },
    ShutdownWrite {
        conn: u8,
    },
    Close {
        conn: u8,
        linger_zero: bool,
    },
    Accept,
    /// `connect()` to one of four peer ports.
    Connect {
        port: u8,
    },
    SetNodelay {
        conn: u8,
        on: bool,
    },
    /// Keepalive after `idle_secs` idle (0: off), probes every second, three of them.
    SetKeepalive {
        conn: u8,
        idle_secs: u8,
    },
    /// Closes the listener, or opens a new one when there is none.
    ToggleListener,
}
