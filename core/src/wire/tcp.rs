//! TCP segments (RFC 9293 §3.1) and their options: maximum segment size (RFC 9293 §3.2),
//! window scale and timestamps (RFC 7323), SACK (RFC 2018).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-------------------------------+-------------------------------+
//! |          Source Port          |       Destination Port        |
//! +-------------------------------+-------------------------------+
//! |                        Sequence Number                        |
//! +---------------------------------------------------------------+
//! |                    Acknowledgment Number                      |
//! +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |       |       |R|E|G|K|H|T|N|N|                               |
//! +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
//! |           Checksum            |         Urgent Pointer        |
//! +-------------------------------+-------------------------------+
//! |                    Options (0 to 40 bytes)                    |
//! +---------------------------------------------------------------+
//! |                             Data                              |
//! +---------------------------------------------------------------+
//! ```
//!
//! A [`TcpPacket`] view covers exactly one segment: the caller slices the IPv4 payload by
//! the IPv4 total length, because the checksum covers the whole buffer.

use core::fmt;
use core::net::Ipv4Addr;
use core::ops;

use super::checksum;
use super::{ChecksumMode, Error, Result};

/// The IPv4 protocol number of TCP, for the pseudo-header.
const PROTOCOL: u8 = 6;

/// A sequence number: arithmetic and comparison are modulo 2^32 (RFC 9293 §3.4).
///
/// It deliberately implements neither `PartialOrd` nor `Ord`: modular order is not
/// transitive, so `<` would silently mislead sorting and `BTreeMap`s. Compare with
/// [`lt`](Self::lt), [`le`](Self::le), [`gt`](Self::gt), [`ge`](Self::ge), which are only
/// meaningful for numbers less than 2^31 apart, as they are within one TCP window.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The signed distance `self - other` modulo 2^32 (RFC 1982 serial arithmetic).
    pub const fn wrapping_sub(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self` comes before `other` (RFC 9293 §3.4: "<" modulo 2^32).
    pub const fn lt(self, other: SeqNumber) -> bool {
        self.wrapping_sub(other) < 0
    }

    pub const fn le(self, other: SeqNumber) -> bool {
        self.wrapping_sub(other) <= 0
    }

    pub const fn gt(self, other: SeqNumber) -> bool {
        self.wrapping_sub(other) > 0
    }

    pub const fn ge(self, other: SeqNumber) -> bool {
        self.wrapping_sub(other) >= 0
    }

    /// The later of the two, modulo 2^32.
    pub const fn max(self, other: SeqNumber) -> SeqNumber {
        if self.ge(other) {
            self
        } else {
            other
        }
    }

    /// The earlier of the two, modulo 2^32.
    pub const fn min(self, other: SeqNumber) -> SeqNumber {
        if self.le(other) {
            self
        } else {
            other
        }
    }
}

/// Advances by `rhs` bytes modulo 2^32 (`rhs` is taken modulo 2^32 too).
impl ops::Add<usize> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl ops::AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

/// Goes back by `rhs` bytes modulo 2^32 (`rhs` is taken modulo 2^32 too).
impl ops::Sub<usize> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

/// The number of bytes from `rhs` forward to `self`, modulo 2^32. Never panics; the caller
/// must know that `rhs.le(self)`, otherwise the result is a huge wrapped distance (use
/// [`SeqNumber::wrapping_sub`] when the order is not known).
impl ops::Sub<SeqNumber> for SeqNumber {
    type Output = usize;
    fn sub(self, rhs: SeqNumber) -> usize {
        self.0.wrapping_sub(rhs.0) as usize
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The eight control bits of RFC 9293 §3.1 (with ECE and CWR from RFC 3168).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// RFC 3168 §6.1: ECN-Echo.
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// RFC 3168 §6.1: Congestion Window Reduced.
    pub const CWR: TcpFlags = TcpFlags(0x80);
    pub const EMPTY: TcpFlags = TcpFlags(0);

    /// Every bit of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Some bit of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

/// tcpdump's notation: `[S]`, `[S.]`, `[P.]`, `[F.]`, `[R]`, `[none]`; ACK is `.`, ECE `E`,
/// CWR `W`.
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("[none]");
        }
        const NAMES: [(TcpFlags, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        f.write_str("[")?;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                write!(f, "{name}")?;
            }
        }
        f.write_str("]")
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUMBER: Range<usize> = 4..8;
    pub const ACK_NUMBER: Range<usize> = 8..12;
    /// Data offset (high 4 bits, in 32-bit words) and 4 reserved bits.
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    pub const OPTIONS: usize = 20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// Length of a header with the most options the data offset can describe.
pub const MAX_HEADER_LEN: usize = 60;

/// A view over one TCP segment (header, options and payload).
#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checking it; getters may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps untrusted bytes: after this succeeds no method can panic.
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the fixed header is present, the data offset is at least 5 words
    /// (RFC 9293 §3.1) and the buffer holds the whole header with its options.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            Err(Error::Malformed)
        } else if header_len > len {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn read_u16(&self, range: ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn read_u32(&self, range: ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[range];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT)
    }

    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(self.read_u32(field::SEQ_NUMBER))
    }

    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(self.read_u32(field::ACK_NUMBER))
    }

    /// The header length in bytes, options included: the data offset times four.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFFSET] >> 4) * 4
    }

    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }

    pub fn fin(&self) -> bool {
        self.flags().contains(TcpFlags::FIN)
    }

    pub fn syn(&self) -> bool {
        self.flags().contains(TcpFlags::SYN)
    }

    pub fn rst(&self) -> bool {
        self.flags().contains(TcpFlags::RST)
    }

    pub fn psh(&self) -> bool {
        self.flags().contains(TcpFlags::PSH)
    }

    pub fn ack(&self) -> bool {
        self.flags().contains(TcpFlags::ACK)
    }

    pub fn urg(&self) -> bool {
        self.flags().contains(TcpFlags::URG)
    }

    pub fn ece(&self) -> bool {
        self.flags().contains(TcpFlags::ECE)
    }

    pub fn cwr(&self) -> bool {
        self.flags().contains(TcpFlags::CWR)
    }

    /// The advertised window, before any RFC 7323 scaling.
    pub fn window_len(&self) -> u16 {
        self.read_u16(field::WINDOW)
    }

    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// The urgent pointer (RFC 9293 §3.1), meaningful only with URG.
    pub fn urgent_at(&self) -> u16 {
        self.read_u16(field::URGENT)
    }

    /// The header and payload boundary, clamped to the buffer so that a setter writing an
    /// inconsistent data offset cannot make the slice getters panic.
    fn options_end(&self) -> usize {
        self.header_len().clamp(HEADER_LEN, self.buffer.as_ref().len().max(HEADER_LEN))
    }

    /// The raw option bytes (parse them with [`TcpOption::parse`]).
    pub fn options(&self) -> &[u8] {
        let end = self.options_end();
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }

    pub fn payload(&self) -> &[u8] {
        let start = self.options_end();
        self.buffer.as_ref().get(start..).unwrap_or(&[])
    }

    /// The one's-complement sum of the pseudo-header and the whole segment, or `None` when
    /// the segment is too long for the 16-bit pseudo-header length.
    fn sum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Option<u16> {
        let bytes = self.buffer.as_ref();
        let len = u16::try_from(bytes.len()).ok()?;
        Some(checksum::pseudo_header_and_data(src, dst, PROTOCOL, len, bytes))
    }

    /// RFC 9293 §3.1: the checksum over the pseudo-header and the segment verifies.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.sum(src, dst) == Some(0xffff)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The options, borrowed for the buffer's lifetime rather than the view's.
    fn options_slice(&self) -> &'a [u8] {
        let end = self.options_end();
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// The payload, borrowed for the buffer's lifetime rather than the view's.
    fn payload_slice(&self) -> &'a [u8] {
        let start = self.options_end();
        self.buffer.as_ref().get(start..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn write_u16(&mut self, range: ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    fn write_u32(&mut self, range: ops::Range<usize>, value: u32) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_src_port(&mut self, port: u16) {
        self.write_u16(field::SRC_PORT, port);
    }

    pub fn set_dst_port(&mut self, port: u16) {
        self.write_u16(field::DST_PORT, port);
    }

    pub fn set_seq_number(&mut self, seq: SeqNumber) {
        self.write_u32(field::SEQ_NUMBER, seq.0);
    }

    pub fn set_ack_number(&mut self, ack: SeqNumber) {
        self.write_u32(field::ACK_NUMBER, ack.0);
    }

    /// Writes the data offset for a header of `len` bytes (a multiple of 4 in 20..=60;
    /// larger values saturate at 60) and clears the reserved bits, which RFC 9293 §3.1
    /// requires to be zero.
    pub fn set_header_len(&mut self, len: usize) {
        let words = (len / 4).min(MAX_HEADER_LEN / 4) as u8;
        self.buffer.as_mut()[field::DATA_OFFSET] = words << 4;
    }

    pub fn set_flags(&mut self, flags: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = flags.0;
    }

    pub fn set_window_len(&mut self, window: u16) {
        self.write_u16(field::WINDOW, window);
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    pub fn set_urgent_at(&mut self, value: u16) {
        self.write_u16(field::URGENT, value);
    }

    /// The option bytes, as delimited by the data offset.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.options_end();
        self.buffer.as_mut().get_mut(HEADER_LEN..end).unwrap_or(&mut [])
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.options_end();
        self.buffer.as_mut().get_mut(start..).unwrap_or(&mut [])
    }

    /// RFC 9293 §3.1: computes and writes the checksum over the pseudo-header and the whole
    /// buffer. A buffer longer than 65535 bytes cannot be an IPv4 segment; its checksum is
    /// left zero.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = self.sum(src, dst).map_or(0, |sum| !sum);
        self.set_checksum(value);
    }
}

mod kind {
    pub const END_OF_LIST: u8 = 0;
    pub const NO_OPERATION: u8 = 1;
    pub const MAX_SEGMENT_SIZE: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// RFC 7323 §2.3: the largest window scale shift; larger values are used as 14.
pub const MAX_WINDOW_SCALE: u8 = 14;

/// Up to four SACK blocks `(left edge, right edge)` (RFC 2018 §3), stored inline.
#[derive(Clone, Copy, Default)]
pub struct SackBlocks {
    blocks: [(SeqNumber, SeqNumber); SackBlocks::CAPACITY],
    len: u8,
}

impl SackBlocks {
    /// RFC 2018 §3: 40 option bytes hold at most four blocks.
    pub const CAPACITY: usize = 4;

    pub const fn new() -> SackBlocks {
        SackBlocks { blocks: [(SeqNumber(0), SeqNumber(0)); Self::CAPACITY], len: 0 }
    }

    /// The first `CAPACITY` blocks of `blocks`.
    pub fn from_slice(blocks: &[(SeqNumber, SeqNumber)]) -> SackBlocks {
        let mut sack = SackBlocks::new();
        for &block in blocks.iter().take(Self::CAPACITY) {
            sack.push(block);
        }
        sack
    }

    pub const fn len(&self) -> usize {
        self.len as usize
    }

    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.blocks[..self.len()]
    }

    pub fn iter(&self) -> core::slice::Iter<'_, (SeqNumber, SeqNumber)> {
        self.as_slice().iter()
    }

    /// Appends a block; returns `false` (and drops it) when all four slots are taken.
    pub fn push(&mut self, block: (SeqNumber, SeqNumber)) -> bool {
        let len = self.len();
        match self.blocks.get_mut(len) {
            Some(slot) => {
                *slot = block;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Keeps the first `len` blocks.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.blocks[len..].fill((SeqNumber(0), SeqNumber(0)));
            self.len = len as u8;
        }
    }

    pub fn clear(&mut self) {
        self.truncate(0);
    }
}

impl PartialEq for SackBlocks {
    fn eq(&self, other: &SackBlocks) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a SackBlocks {
    type Item = &'a (SeqNumber, SeqNumber);
    type IntoIter = core::slice::Iter<'a, (SeqNumber, SeqNumber)>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// One TCP option (RFC 9293 §3.2, RFC 7323, RFC 2018).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// Kind 0: the end of the option list; what follows is padding.
    EndOfList,
    /// Kind 1: padding between options.
    NoOperation,
    /// Kind 2 (RFC 9293 §3.7.1), SYN only.
    MaxSegmentSize(u16),
    /// Kind 3 (RFC 7323 §2): the shift count as received, SYN only.
    WindowScale(u8),
    /// Kind 4 (RFC 2018 §2), SYN only.
    SackPermitted,
    /// Kind 5 (RFC 2018 §3): one to four blocks.
    SackBlocks(SackBlocks),
    /// Kind 8 (RFC 7323 §3).
    Timestamps { tsval: u32, tsecr: u32 },
    /// Any other kind, skipped by its length.
    Unknown { kind: u8, data: &'a [u8] },
}

impl<'a> TcpOption<'a> {
    /// Reads the option at the start of `bytes` and returns the bytes after it.
    ///
    /// Kinds 0 and 1 are one byte. Every other kind has a length byte of at least 2 that
    /// must fit in `bytes`; known kinds must have their exact length (MSS 4, window scale 3,
    /// SACK-permitted 2, timestamps 10, SACK 2 + 8n with 1 ≤ n ≤ 4). Anything else is
    /// [`Error::Malformed`]; an empty `bytes` is [`Error::Truncated`]. After
    /// [`TcpOption::EndOfList`] the rest is padding, so the returned rest is empty.
    pub fn parse(bytes: &'a [u8]) -> Result<(&'a [u8], TcpOption<'a>)> {
        let (&kind, after_kind) = bytes.split_first().ok_or(Error::Truncated)?;
        match kind {
            kind::END_OF_LIST => return Ok((&[], TcpOption::EndOfList)),
            kind::NO_OPERATION => return Ok((after_kind, TcpOption::NoOperation)),
            _ => {}
        }
        let &len = after_kind.first().ok_or(Error::Malformed)?;
        let len = usize::from(len);
        if len < 2 || len > bytes.len() {
            return Err(Error::Malformed);
        }
        let (option, rest) = bytes.split_at(len);
        let data = &option[2..];
        let option = match (kind, data) {
            (kind::MAX_SEGMENT_SIZE, &[hi, lo]) => TcpOption::MaxSegmentSize(u16::from_be_bytes([hi, lo])),
            (kind::WINDOW_SCALE, &[shift]) => TcpOption::WindowScale(shift),
            (kind::SACK_PERMITTED, &[]) => TcpOption::SackPermitted,
            (kind::SACK, data) if !data.is_empty() && data.len().is_multiple_of(8) && data.len() <= 32 => {
                let mut blocks = SackBlocks::new();
                for block in data.chunks_exact(8) {
                    let left = u32::from_be_bytes([block[0], block[1], block[2], block[3]]);
                    let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                    blocks.push((SeqNumber(left), SeqNumber(right)));
                }
                TcpOption::SackBlocks(blocks)
            }
            (kind::TIMESTAMPS, &[a, b, c, d, e, f, g, h]) => TcpOption::Timestamps {
                tsval: u32::from_be_bytes([a, b, c, d]),
                tsecr: u32::from_be_bytes([e, f, g, h]),
            },
            (
                kind::MAX_SEGMENT_SIZE
                | kind::WINDOW_SCALE
                | kind::SACK_PERMITTED
                | kind::SACK
                | kind::TIMESTAMPS,
                _,
            ) => return Err(Error::Malformed),
            (kind, data) => TcpOption::Unknown { kind, data },
        };
        Ok((rest, option))
    }

    /// The encoded length. An `Unknown` option's data is cut at 253 bytes, the most a
    /// length byte can describe.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackBlocks(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len().min(253),
        }
    }

    /// Writes the option at the start of `buf` and returns its length.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        match *self {
            TcpOption::EndOfList => buf[0] = kind::END_OF_LIST,
            TcpOption::NoOperation => buf[0] = kind::NO_OPERATION,
            TcpOption::MaxSegmentSize(mss) => {
                buf[0] = kind::MAX_SEGMENT_SIZE;
                buf[2..4].copy_from_slice(&mss.to_be_bytes());
            }
            TcpOption::WindowScale(shift) => {
                buf[0] = kind::WINDOW_SCALE;
                buf[2] = shift;
            }
            TcpOption::SackPermitted => buf[0] = kind::SACK_PERMITTED,
            TcpOption::SackBlocks(blocks) => {
                buf[0] = kind::SACK;
                for (chunk, (left, right)) in buf[2..].chunks_exact_mut(8).zip(blocks.iter()) {
                    chunk[..4].copy_from_slice(&left.0.to_be_bytes());
                    chunk[4..].copy_from_slice(&right.0.to_be_bytes());
                }
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                buf[0] = kind::TIMESTAMPS;
                buf[2..6].copy_from_slice(&tsval.to_be_bytes());
                buf[6..10].copy_from_slice(&tsecr.to_be_bytes());
            }
            TcpOption::Unknown { kind, data } => {
                buf[0] = kind;
                buf[2..].copy_from_slice(&data[..len - 2]);
            }
        }
        if len > 1 {
            buf[1] = len as u8;
        }
        len
    }
}

/// tcpdump's notation: `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `nop`, `wscale 7`,
/// `sack 2 {1001:2001}{3001:4001}`.
impl fmt::Display for TcpOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOption::EndOfList => write!(f, "eol"),
            TcpOption::NoOperation => write!(f, "nop"),
            TcpOption::MaxSegmentSize(mss) => write!(f, "mss {mss}"),
            TcpOption::WindowScale(shift) => write!(f, "wscale {shift}"),
            TcpOption::SackPermitted => write!(f, "sackOK"),
            TcpOption::SackBlocks(blocks) => {
                write!(f, "sack {} ", blocks.len())?;
                for (left, right) in blocks {
                    write!(f, "{{{left}:{right}}}")?;
                }
                Ok(())
            }
            TcpOption::Timestamps { tsval, tsecr } => write!(f, "TS val {tsval} ecr {tsecr}"),
            TcpOption::Unknown { kind, data } => {
                write!(f, "unknown-{kind}")?;
                if !data.is_empty() {
                    write!(f, " 0x")?;
                    for byte in *data {
                        write!(f, "{byte:02x}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The options a segment carries, decoded. Unknown options are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// RFC 9293 §3.7.1: maximum segment size, sent on SYN only.
    pub mss: Option<u16>,
    /// RFC 7323 §2.2: shift count, at most [`MAX_WINDOW_SCALE`]; sent on SYN only.
    pub window_scale: Option<u8>,
    /// RFC 2018 §2: sent on SYN only.
    pub sack_permitted: bool,
    /// RFC 2018 §3: sent on non-SYN segments only.
    pub sack_blocks: SackBlocks,
    /// RFC 7323 §3.2: `(tsval, tsecr)`.
    pub timestamps: Option<(u32, u32)>,
}

impl TcpOptions {
    /// Decodes an option area. A repeated option keeps its last value; a window scale
    /// above 14 is read as 14 (RFC 7323 §2.3).
    #[inline]
    fn parse(bytes: &[u8]) -> Result<TcpOptions> {
        // RFC 7323 Appendix A: the layout nearly every segment of a connection with
        // timestamps carries, recognised in one comparison (Linux does the same).
        if let [kind::NO_OPERATION, kind::NO_OPERATION, kind::TIMESTAMPS, 10, a, b, c, d, e, f, g, h] = *bytes
        {
            let timestamps = Some((u32::from_be_bytes([a, b, c, d]), u32::from_be_bytes([e, f, g, h])));
            return Ok(TcpOptions { timestamps, ..TcpOptions::default() });
        }
        if bytes.is_empty() {
            return Ok(TcpOptions::default());
        }
        Self::parse_list(bytes)
    }

    /// [`parse`](Self::parse) for any other layout: the options one by one.
    fn parse_list(mut bytes: &[u8]) -> Result<TcpOptions> {
        let mut options = TcpOptions::default();
        while !bytes.is_empty() {
            let (rest, option) = TcpOption::parse(bytes)?;
            match option {
                TcpOption::EndOfList => break,
                TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
                TcpOption::MaxSegmentSize(mss) => options.mss = Some(mss),
                TcpOption::WindowScale(shift) => options.window_scale = Some(shift.min(MAX_WINDOW_SCALE)),
                TcpOption::SackPermitted => options.sack_permitted = true,
                TcpOption::SackBlocks(blocks) => options.sack_blocks = blocks,
                TcpOption::Timestamps { tsval, tsecr } => options.timestamps = Some((tsval, tsecr)),
            }
            bytes = rest;
        }
        Ok(options)
    }
}

/// A parsed TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: SeqNumber,
    /// The acknowledgment field as sent; meaningful only with ACK.
    pub ack_number: SeqNumber,
    pub flags: TcpFlags,
    /// The window field as sent, before RFC 7323 scaling.
    pub window_len: u16,
    /// The urgent pointer field as sent; meaningful only with URG.
    pub urgent_pointer: u16,
    pub options: TcpOptions,
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Decodes a segment received from `src` for `dst`.
    ///
    /// Checks the checksum first (unless `mode` trusts it) so that a corrupted segment is
    /// reported as [`Error::Checksum`]; a zero port or a malformed option is
    /// [`Error::Malformed`]. Any combination of flags is accepted: deciding what SYN+RST
    /// means is the engine's job (RFC 9293 §3.10.7).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&'a T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        mode: ChecksumMode,
    ) -> Result<TcpRepr<'a>> {
        packet.check_len()?;
        if mode == ChecksumMode::Verify && !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        if packet.src_port() == 0 || packet.dst_port() == 0 {
            return Err(Error::Malformed);
        }
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_at(),
            options: TcpOptions::parse(packet.options_slice())?,
            payload: packet.payload_slice(),
        })
    }

    /// How many SACK blocks [`emit`](Self::emit) writes: none on a SYN, and at most what
    /// fits beside the timestamps in 40 option bytes (3 with, 4 without).
    fn emitted_sack_blocks(&self) -> usize {
        if self.flags.contains(TcpFlags::SYN) {
            0
        } else if self.options.timestamps.is_some() {
            self.options.sack_blocks.len().min(3)
        } else {
            self.options.sack_blocks.len()
        }
    }

    /// Calls `emit` with each option in the order Linux writes them (`tcp_options_write`):
    ///
    /// - SYN: `MSS`, `SACKOK TS` (or `NOP NOP TS` without SACK-permitted), `NOP WS`,
    ///   `NOP NOP SACKOK` when there are no timestamps;
    /// - otherwise: `NOP NOP TS`, `NOP NOP SACK`.
    ///
    /// Every group is a multiple of 4 bytes, so no trailing padding is ever needed, and the
    /// total is at most 40 bytes. MSS, window scale and SACK-permitted are sent on SYN only
    /// (RFC 9293 §3.7.1, RFC 7323 §2.2, RFC 2018 §2), SACK blocks never on SYN.
    fn for_each_option(&self, mut emit: impl FnMut(TcpOption<'static>)) {
        use TcpOption::{NoOperation as Nop, SackPermitted};
        let options = &self.options;
        let timestamps = options.timestamps.map(|(tsval, tsecr)| TcpOption::Timestamps { tsval, tsecr });
        if self.flags.contains(TcpFlags::SYN) {
            if let Some(mss) = options.mss {
                emit(TcpOption::MaxSegmentSize(mss));
            }
            if let Some(timestamps) = timestamps {
                if options.sack_permitted {
                    emit(SackPermitted);
                } else {
                    emit(Nop);
                    emit(Nop);
                }
                emit(timestamps);
            }
            if let Some(shift) = options.window_scale {
                emit(Nop);
                emit(TcpOption::WindowScale(shift));
            }
            if options.sack_permitted && timestamps.is_none() {
                emit(Nop);
                emit(Nop);
                emit(SackPermitted);
            }
        } else {
            if let Some(timestamps) = timestamps {
                emit(Nop);
                emit(Nop);
                emit(timestamps);
            }
            let count = self.emitted_sack_blocks();
            if count > 0 {
                let mut blocks = options.sack_blocks;
                blocks.truncate(count);
                emit(Nop);
                emit(Nop);
                emit(TcpOption::SackBlocks(blocks));
            }
        }
    }

    /// The header length with options: 20 to 60 bytes, a multiple of 4.
    pub fn header_len(&self) -> usize {
        if !self.flags.contains(TcpFlags::SYN) {
            // `NOP NOP TS` is 12 bytes, `NOP NOP SACK` 4 + 8 per block.
            let timestamps = if self.options.timestamps.is_some() { 12 } else { 0 };
            let sack = match self.emitted_sack_blocks() {
                0 => 0,
                blocks => 4 + 8 * blocks,
            };
            return HEADER_LEN + timestamps + sack;
        }
        let mut len = HEADER_LEN;
        self.for_each_option(|option| len += option.buffer_len());
        len
    }

    /// The whole segment: header, options and payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The sequence space the segment occupies (RFC 9293 §3.4): payload, SYN and FIN.
    pub fn segment_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// Writes the header and options, and zeroes the checksum field, leaving the payload
    /// area untouched: for callers that then write the payload into
    /// [`TcpPacket::payload_mut`] and call [`TcpPacket::fill_checksum`]. `self.payload` is
    /// ignored.
    ///
    /// # Panics
    /// If `packet` is shorter than [`header_len`](Self::header_len).
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) {
        let header_len = self.header_len();
        assert!(packet.buffer.as_ref().len() >= header_len, "TCP buffer shorter than the header");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(header_len);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_pointer);
        let options = packet.options_mut();
        if self.flags.contains(TcpFlags::SYN) {
            let mut at = 0;
            self.for_each_option(|option| at += option.emit(&mut options[at..]));
            return;
        }
        // What `for_each_option` yields for a non-SYN segment, written directly.
        let mut at = 0;
        if let Some((tsval, tsecr)) = self.options.timestamps {
            let area = &mut options[..12];
            area[..4].copy_from_slice(&[kind::NO_OPERATION, kind::NO_OPERATION, kind::TIMESTAMPS, 10]);
            area[4..8].copy_from_slice(&tsval.to_be_bytes());
            area[8..].copy_from_slice(&tsecr.to_be_bytes());
            at = 12;
        }
        let blocks = self.emitted_sack_blocks();
        if blocks > 0 {
            let area = &mut options[at..at + 4 + 8 * blocks];
            area[..4].copy_from_slice(&[
                kind::NO_OPERATION,
                kind::NO_OPERATION,
                kind::SACK,
                2 + 8 * blocks as u8,
            ]);
            for (chunk, (left, right)) in area[4..].chunks_exact_mut(8).zip(self.options.sack_blocks.iter()) {
                chunk[..4].copy_from_slice(&left.0.to_be_bytes());
                chunk[4..].copy_from_slice(&right.0.to_be_bytes());
            }
        }
    }

    /// Writes the whole segment and its checksum.
    ///
    /// # Panics
    /// Unless `packet` is exactly [`buffer_len`](Self::buffer_len) bytes long: the
    /// checksum covers the whole buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) {
        self.emit_header(packet);
        packet.payload_mut().copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
    }
}

/// tcpdump's notation without addresses, for example `49152 > 80: Flags [S], seq 100,
/// win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0`.
/// The options are listed as [`TcpRepr::emit`] would write them.
impl fmt::Display for TcpRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} > {}: Flags {}", self.src_port, self.dst_port, self.flags)?;
        if !self.payload.is_empty() {
            write!(f, ", seq {}:{}", self.seq_number, self.seq_number + self.payload.len())?;
        } else if self.flags.intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) {
            write!(f, ", seq {}", self.seq_number)?;
        }
        if self.flags.contains(TcpFlags::ACK) {
            write!(f, ", ack {}", self.ack_number)?;
        }
        write!(f, ", win {}", self.window_len)?;
        if self.flags.contains(TcpFlags::URG) {
            write!(f, ", urg {}", self.urgent_pointer)?;
        }
        if self.header_len() > HEADER_LEN {
            let mut result = f.write_str(", options [");
            let mut first = true;
            self.for_each_option(|option| {
                if result.is_ok() {
                    result = if first { write!(f, "{option}") } else { write!(f, ",{option}") };
                    first = false;
                }
            });
            result?;
            f.write_str("]")?;
        }
        write!(f, ", length {}", self.payload.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    // Segments crafted with scapy 2.5, which computes its checksums independently of us:
    // `bytes(IP(src=..., dst=...)/TCP(...))[20:]`, with `S = "10.0.0.1"`, `D = "10.0.0.2"`.
    // `tcpdump -nn -S` decodes each as the line in its `*_TEXT` constant.

    /// `IP(src=S,dst=D)/TCP(sport=49152, dport=80, seq=100, flags='S', window=64240,
    /// options=[('MSS',1460), ('SAckOK',b''), ('Timestamp',(1,0)), ('NOP',None), ('WScale',7)])`
    const SYN: &str = "c00000500000006400000000a002faf078570000020405b40402080a000000010000000001030307";
    const SYN_TEXT: &str = "49152 > 80: Flags [S], seq 100, win 64240, \
        options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0";
    /// `IP(src=D,dst=S)/TCP(sport=80, dport=49152, seq=300, ack=101, flags='SA', window=65160,
    /// options=[('MSS',1460), ('SAckOK',b''), ('Timestamp',(5,1)), ('NOP',None), ('WScale',7)])`
    const SYN_ACK: &str = "0050c0000000012c00000065a012fe88737d0000020405b40402080a000000050000000101030307";
    const SYN_ACK_TEXT: &str = "80 > 49152: Flags [S.], seq 300, ack 101, win 65160, \
        options [mss 1460,sackOK,TS val 5 ecr 1,nop,wscale 7], length 0";
    /// `IP(src=S,dst=D)/TCP(sport=49152, dport=80, seq=101, ack=301, flags='PA', window=502,
    /// options=[('NOP',None), ('NOP',None), ('Timestamp',(2,5))])/Raw(b"GET / HTTP/1.0\r\n\r\n")`
    const DATA: &str = "c0000050000000650000012d801801f6c02100000101080a0000000200000005\
        474554202f20485454502f312e300d0a0d0a";
    const DATA_TEXT: &str = "49152 > 80: Flags [P.], seq 101:119, ack 301, win 502, \
        options [nop,nop,TS val 2 ecr 5], length 18";
    /// `IP(src=D,dst=S)/TCP(sport=80, dport=49152, seq=301, ack=101, flags='A', window=509,
    /// options=[('NOP',None), ('NOP',None), ('Timestamp',(6,2)), ('NOP',None), ('NOP',None),
    /// ('SAck',(1001,2001,3001,4001))])`
    const SACK: &str = "0050c0000000012d00000065d01001fd219800000101080a0000000600000002\
        01010512000003e9000007d100000bb900000fa1";
    const SACK_TEXT: &str = "80 > 49152: Flags [.], ack 101, win 509, \
        options [nop,nop,TS val 6 ecr 2,nop,nop,sack 2 {1001:2001}{3001:4001}], length 0";
    /// `IP(src=S,dst=D)/TCP(sport=49152, dport=80, seq=119, ack=301, flags='FA', window=502,
    /// options=[('NOP',None), ('NOP',None), ('Timestamp',(3,6))])`
    const FIN: &str = "c0000050000000770000012d801101f69ec600000101080a0000000300000006";
    const FIN_TEXT: &str = "49152 > 80: Flags [F.], seq 119, ack 301, win 502, \
        options [nop,nop,TS val 3 ecr 6], length 0";
    /// `IP(src=D,dst=S)/TCP(sport=80, dport=49152, seq=301, ack=0, flags='R', window=0)`
    const RST: &str = "0050c0000000012d0000000050040000da600000";
    const RST_TEXT: &str = "80 > 49152: Flags [R], seq 301, win 0, length 0";

    /// A SYN from the Linux 6.x stack (`curl http://127.0.0.1:18080/` against
    /// `python3 -m http.server`), captured with `tcpdump -i lo -w`. Loopback leaves the
    /// checksum partial (CHECKSUM_PARTIAL: the pseudo-header sum 0xfe30, not complemented);
    /// tcpdump -vv reports the correct value as 0xfbb1.
    const LINUX_SYN: &str =
        "b1fa46a04bb759d300000000a002ffd7fe3000000204ffd70402080a98fe1d29000000000103030a";
    const LINUX_SYN_TEXT: &str = "45562 > 18080: Flags [S], seq 1270307283, win 65495, \
        options [mss 65495,sackOK,TS val 2566790441 ecr 0,nop,wscale 10], length 0";
    const LOOPBACK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

    fn bytes(hex: &str) -> Vec<u8> {
        hex::decode(hex).unwrap()
    }

    fn parse(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<TcpRepr<'_>> {
        TcpRepr::parse(&TcpPacket::new_checked(bytes)?, src, dst, ChecksumMode::Verify)
    }

    /// Emits `repr` into a fresh buffer and checks the bytes equal `expected`.
    fn assert_emits(repr: &TcpRepr, src: Ipv4Addr, dst: Ipv4Addr, expected: &[u8]) {
        let mut out = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst);
        assert_eq!(hex::encode(&out), hex::encode(expected));
    }

    #[test]
    fn syn_known_answer() {
        let bytes = bytes(SYN);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!((packet.src_port(), packet.dst_port()), (49152, 80));
        assert_eq!(packet.seq_number(), SeqNumber(100));
        assert_eq!(packet.ack_number(), SeqNumber(0));
        assert_eq!(packet.header_len(), 40);
        assert_eq!(packet.flags(), TcpFlags::SYN);
        assert!(packet.syn() && !packet.ack() && !packet.fin() && !packet.rst() && !packet.psh());
        assert!(!packet.urg() && !packet.ece() && !packet.cwr());
        assert_eq!(packet.window_len(), 64240);
        assert_eq!(packet.checksum(), 0x7857);
        assert_eq!(packet.urgent_at(), 0);
        assert_eq!(packet.options().len(), 20);
        assert!(packet.payload().is_empty());
        assert!(packet.verify_checksum(CLIENT, SERVER));
        assert!(!packet.verify_checksum(SERVER, SERVER));

        let repr = TcpRepr::parse(&packet, CLIENT, SERVER, ChecksumMode::Verify).unwrap();
        let expected = TcpRepr {
            src_port: 49152,
            dst_port: 80,
            seq_number: SeqNumber(100),
            ack_number: SeqNumber(0),
            flags: TcpFlags::SYN,
            window_len: 64240,
            urgent_pointer: 0,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                sack_blocks: SackBlocks::new(),
                timestamps: Some((1, 0)),
            },
            payload: &[],
        };
        assert_eq!(repr, expected);
        assert_eq!(repr.segment_len(), 1);
        assert_eq!(repr.header_len(), 40);
        assert_eq!(repr.to_string(), SYN_TEXT);
        assert_emits(&repr, CLIENT, SERVER, &bytes);
    }

    #[test]
    fn syn_ack_known_answer() {
        let bytes = bytes(SYN_ACK);
        let repr = parse(&bytes, SERVER, CLIENT).unwrap();
        assert_eq!((repr.src_port, repr.dst_port), (80, 49152));
        assert_eq!((repr.seq_number, repr.ack_number), (SeqNumber(300), SeqNumber(101)));
        assert_eq!(repr.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(repr.window_len, 65160);
        assert_eq!(repr.options.mss, Some(1460));
        assert_eq!(repr.options.window_scale, Some(7));
        assert!(repr.options.sack_permitted);
        assert_eq!(repr.options.timestamps, Some((5, 1)));
        assert!(repr.options.sack_blocks.is_empty());
        assert_eq!(repr.segment_len(), 1);
        assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap().checksum(), 0x737d);
        assert_eq!(repr.to_string(), SYN_ACK_TEXT);
        assert_emits(&repr, SERVER, CLIENT, &bytes);
    }

    #[test]
    fn data_known_answer() {
        let bytes = bytes(DATA);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.header_len(), 32);
        assert_eq!(packet.checksum(), 0xc021);
        assert_eq!(packet.options(), &hex::decode("0101080a0000000200000005").unwrap()[..]);
        assert_eq!(packet.payload(), b"GET / HTTP/1.0\r\n\r\n");
        let repr = TcpRepr::parse(&packet, CLIENT, SERVER, ChecksumMode::Verify).unwrap();
        assert_eq!(repr.flags, TcpFlags::PSH | TcpFlags::ACK);
        assert_eq!((repr.seq_number, repr.ack_number), (SeqNumber(101), SeqNumber(301)));
        assert_eq!(repr.window_len, 502);
        assert_eq!(repr.options, TcpOptions { timestamps: Some((2, 5)), ..TcpOptions::default() });
        assert_eq!(repr.payload, b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(repr.segment_len(), 18);
        assert_eq!(repr.to_string(), DATA_TEXT);
        assert_emits(&repr, CLIENT, SERVER, &bytes);
    }

    #[test]
    fn sack_known_answer() {
        let bytes = bytes(SACK);
        let repr = parse(&bytes, SERVER, CLIENT).unwrap();
        assert_eq!(repr.flags, TcpFlags::ACK);
        assert_eq!((repr.seq_number, repr.ack_number), (SeqNumber(301), SeqNumber(101)));
        assert_eq!(repr.window_len, 509);
        assert_eq!(repr.options.timestamps, Some((6, 2)));
        assert_eq!(
            repr.options.sack_blocks.as_slice(),
            &[(SeqNumber(1001), SeqNumber(2001)), (SeqNumber(3001), SeqNumber(4001))]
        );
        assert_eq!(repr.header_len(), 52);
        assert_eq!(repr.segment_len(), 0);
        assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap().checksum(), 0x2198);
        assert_eq!(repr.to_string(), SACK_TEXT);
        assert_emits(&repr, SERVER, CLIENT, &bytes);
    }

    #[test]
    fn fin_known_answer() {
        let bytes = bytes(FIN);
        let repr = parse(&bytes, CLIENT, SERVER).unwrap();
        assert_eq!(repr.flags, TcpFlags::FIN | TcpFlags::ACK);
        assert_eq!((repr.seq_number, repr.ack_number), (SeqNumber(119), SeqNumber(301)));
        assert_eq!(repr.options.timestamps, Some((3, 6)));
        assert_eq!(repr.segment_len(), 1);
        assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap().checksum(), 0x9ec6);
        assert_eq!(repr.to_string(), FIN_TEXT);
        assert_emits(&repr, CLIENT, SERVER, &bytes);
    }

    #[test]
    fn rst_known_answer() {
        let bytes = bytes(RST);
        let repr = parse(&bytes, SERVER, CLIENT).unwrap();
        assert_eq!(repr.flags, TcpFlags::RST);
        assert_eq!(repr.seq_number, SeqNumber(301));
        assert_eq!(repr.window_len, 0);
        assert_eq!(repr.options, TcpOptions::default());
        assert_eq!(repr.header_len(), HEADER_LEN);
        assert_eq!(repr.segment_len(), 0);
        assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap().checksum(), 0xda60);
        assert_eq!(repr.to_string(), RST_TEXT);
        assert_emits(&repr, SERVER, CLIENT, &bytes);
    }

    #[test]
    fn linux_loopback_syn() {
        let bytes = bytes(LINUX_SYN);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        // The partial checksum fails verification; it is the pseudo-header sum itself.
        assert!(!packet.verify_checksum(LOOPBACK, LOOPBACK));
        let pseudo = checksum::pseudo_header(LOOPBACK, LOOPBACK, PROTOCOL, bytes.len() as u16);
        assert_eq!(packet.checksum(), pseudo);
        assert_eq!(TcpRepr::parse(&packet, LOOPBACK, LOOPBACK, ChecksumMode::Verify), Err(Error::Checksum));

        let repr = TcpRepr::parse(&packet, LOOPBACK, LOOPBACK, ChecksumMode::Trust).unwrap();
        assert_eq!((repr.src_port, repr.dst_port), (45562, 18080));
        assert_eq!(repr.seq_number, SeqNumber(1270307283));
        assert_eq!(repr.flags, TcpFlags::SYN);
        assert_eq!(repr.window_len, 65495);
        assert_eq!(repr.options.mss, Some(65495));
        assert_eq!(repr.options.window_scale, Some(10));
        assert!(repr.options.sack_permitted);
        assert_eq!(repr.options.timestamps, Some((2566790441, 0)));
        assert_eq!(repr.to_string(), LINUX_SYN_TEXT);

        // Our emitter reproduces Linux's option layout byte for byte; only the checksum
        // differs, and it is the value tcpdump computes.
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), LOOPBACK, LOOPBACK);
        assert_eq!(out[..16], bytes[..16]);
        assert_eq!(out[18..], bytes[18..]);
        assert_eq!(TcpPacket::new_unchecked(&out[..]).checksum(), 0xfbb1);

        let mut fixed = bytes.clone();
        TcpPacket::new_unchecked(&mut fixed[..]).fill_checksum(LOOPBACK, LOOPBACK);
        assert_eq!(fixed, out);
    }

    #[test]
    fn corrupted_checksum() {
        let mut bytes = bytes(DATA);
        assert!(parse(&bytes, CLIENT, SERVER).is_ok());
        // Wrong addresses in the pseudo-header.
        assert_eq!(parse(&bytes, CLIENT, Ipv4Addr::new(10, 0, 0, 3)), Err(Error::Checksum));
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        assert_eq!(parse(&bytes, CLIENT, SERVER), Err(Error::Checksum));
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert!(TcpRepr::parse(&packet, CLIENT, SERVER, ChecksumMode::Trust).is_ok());
    }

    #[test]
    fn header_length_rules() {
        let syn = bytes(SYN);
        for len in 0..HEADER_LEN {
            assert_eq!(TcpPacket::new_checked(&syn[..len]).unwrap_err(), Error::Truncated, "len {len}");
        }
        // Data offset 10 words but the buffer ends inside the options.
        for len in HEADER_LEN..40 {
            assert_eq!(TcpPacket::new_checked(&syn[..len]).unwrap_err(), Error::Truncated, "len {len}");
        }
        assert!(TcpPacket::new_checked(&syn[..]).is_ok());
        for offset in 0..5u8 {
            let mut bytes = syn.clone();
            bytes[12] = offset << 4;
            assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap_err(), Error::Malformed);
        }
        let mut bytes = syn.clone();
        bytes[12] = 0xf0;
        assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn zero_ports_are_malformed() {
        for range in [field::SRC_PORT, field::DST_PORT] {
            let mut bytes = bytes(RST);
            bytes[range].fill(0);
            TcpPacket::new_unchecked(&mut bytes[..]).fill_checksum(SERVER, CLIENT);
            assert_eq!(parse(&bytes, SERVER, CLIENT), Err(Error::Malformed));
        }
    }

    #[test]
    fn syn_with_rst_or_fin_parses() {
        for extra in [TcpFlags::RST, TcpFlags::FIN] {
            let mut bytes = bytes(SYN);
            let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
            packet.set_flags(TcpFlags::SYN | extra);
            packet.fill_checksum(CLIENT, SERVER);
            let repr = parse(&bytes, CLIENT, SERVER).unwrap();
            assert_eq!(repr.flags, TcpFlags::SYN | extra);
        }
    }

    #[test]
    fn setters_write_every_field() {
        let mut buf = [0xffu8; 28];
        let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
        packet.set_src_port(1);
        packet.set_dst_port(2);
        packet.set_seq_number(SeqNumber(3));
        packet.set_ack_number(SeqNumber(4));
        packet.set_header_len(24);
        packet.set_flags(TcpFlags::ECE | TcpFlags::CWR | TcpFlags::URG);
        packet.set_window_len(5);
        packet.set_checksum(6);
        packet.set_urgent_at(7);
        packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        packet.payload_mut().copy_from_slice(b"abcd");
        assert_eq!(hex::encode(&buf[..]), "00010002000000030000000460e00005000600070101010061626364");
    }

    #[test]
    fn inconsistent_data_offset_does_not_panic() {
        let mut buf = [0u8; 24];
        assert_eq!(TcpPacket::new_checked(&buf[..]).unwrap_err(), Error::Malformed);
        let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
        // A data offset beyond the buffer: the slices stop at its end.
        packet.set_header_len(60);
        assert_eq!(packet.header_len(), 60);
        assert_eq!(packet.options().len(), 4);
        assert!(packet.payload().is_empty());
        assert_eq!(packet.options_mut().len(), 4);
        assert!(packet.payload_mut().is_empty());
        // Values above 60 saturate.
        packet.set_header_len(200);
        assert_eq!(packet.header_len(), 60);
        // A data offset below 5 words: the options are empty, the payload starts at 20.
        packet.set_header_len(0);
        assert!(packet.options().is_empty());
        assert_eq!(packet.payload().len(), 4);
    }

    #[test]
    fn flags_display() {
        assert_eq!(TcpFlags::SYN.to_string(), "[S]");
        assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "[S.]");
        assert_eq!((TcpFlags::PSH | TcpFlags::ACK).to_string(), "[P.]");
        assert_eq!((TcpFlags::FIN | TcpFlags::ACK).to_string(), "[F.]");
        assert_eq!(TcpFlags::RST.to_string(), "[R]");
        assert_eq!(TcpFlags::ACK.to_string(), "[.]");
        assert_eq!(TcpFlags::EMPTY.to_string(), "[none]");
        assert_eq!((TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR).to_string(), "[SEW]");
        assert_eq!(TcpFlags(0xff).to_string(), "[FSRP.UEW]");
        let mut flags = TcpFlags::SYN;
        flags.insert(TcpFlags::ACK);
        assert!(flags.contains(TcpFlags::SYN | TcpFlags::ACK));
        assert!(!flags.contains(TcpFlags::SYN | TcpFlags::FIN));
        assert!(flags.intersects(TcpFlags::SYN | TcpFlags::FIN));
        flags.remove(TcpFlags::SYN);
        assert_eq!(flags, TcpFlags::ACK);
        assert_eq!(flags & TcpFlags::SYN, TcpFlags::EMPTY);
        flags |= TcpFlags::FIN;
        assert_eq!(flags.0, 0x11);
    }

    #[test]
    fn seq_number_arithmetic() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a + 4;
        assert_eq!(b, SeqNumber(2));
        assert_eq!(b - a, 4);
        assert_eq!(b - 4, a);
        assert_eq!(b.wrapping_sub(a), 4);
        assert_eq!(a.wrapping_sub(b), -4);
        assert!(a.lt(b) && a.le(b) && b.gt(a) && b.ge(a));
        assert!(!b.lt(a) && !a.gt(b) && a.le(a) && a.ge(a) && !a.lt(a));
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
        assert_eq!(b.max(a), b);
        assert_eq!(b.min(a), a);
        let mut c = a;
        c += 2;
        assert_eq!(c, SeqNumber(0));
        // The wrapped distance: never panics, even in the wrong order.
        assert_eq!(a - b, (u32::MAX - 3) as usize);
        assert_eq!(SeqNumber(5) + (1usize << 32), SeqNumber(5));
        assert_eq!(b.to_string(), "2");
    }

    #[test]
    fn sack_blocks_capacity() {
        let mut blocks = SackBlocks::new();
        assert!(blocks.is_empty());
        for i in 0..4u32 {
            assert!(blocks.push((SeqNumber(i), SeqNumber(i + 1))));
        }
        assert!(!blocks.push((SeqNumber(9), SeqNumber(10))));
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks.iter().map(|b| b.0 .0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        blocks.truncate(2);
        assert_eq!(
            blocks,
            SackBlocks::from_slice(&[(SeqNumber(0), SeqNumber(1)), (SeqNumber(1), SeqNumber(2))])
        );
        blocks.clear();
        assert_eq!(blocks, SackBlocks::default());
        let five = [(SeqNumber(1), SeqNumber(2)); 5];
        assert_eq!(SackBlocks::from_slice(&five).len(), 4);
    }

    fn option(bytes: &[u8]) -> Result<(usize, TcpOption<'_>)> {
        TcpOption::parse(bytes).map(|(rest, option)| (rest.len(), option))
    }

    fn h(hex: &str) -> Vec<u8> {
        hex::decode(hex).unwrap()
    }

    #[test]
    fn option_known_answers() {
        assert_eq!(option(&h("00ffff")), Ok((0, TcpOption::EndOfList)));
        assert_eq!(option(&h("0100")), Ok((1, TcpOption::NoOperation)));
        assert_eq!(option(&h("020405b401")), Ok((1, TcpOption::MaxSegmentSize(1460))));
        assert_eq!(option(&h("030307")), Ok((0, TcpOption::WindowScale(7))));
        assert_eq!(option(&h("030320")), Ok((0, TcpOption::WindowScale(32))));
        assert_eq!(option(&h("0402")), Ok((0, TcpOption::SackPermitted)));
        assert_eq!(option(&h("080a0000000100000002")), Ok((0, TcpOption::Timestamps { tsval: 1, tsecr: 2 })));
        let blocks: String = (1..=8u32).map(|edge| format!("{edge:08x}")).collect();
        let bytes = h(&format!("0522{blocks}01"));
        let (rest, sack) = option(&bytes).unwrap();
        assert_eq!(rest, 1);
        let expected: Vec<_> = (0..4u32).map(|i| (SeqNumber(2 * i + 1), SeqNumber(2 * i + 2))).collect();
        assert_eq!(sack, TcpOption::SackBlocks(SackBlocks::from_slice(&expected)));
        // Unknown kinds (here 30, MPTCP, and 254, experimental) are skipped by length.
        assert_eq!(option(&h("1e02")), Ok((0, TcpOption::Unknown { kind: 30, data: &[] })));
        assert_eq!(option(&h("fe04abcd01")), Ok((1, TcpOption::Unknown { kind: 254, data: &[0xab, 0xcd] })));
    }

    #[test]
    fn option_length_rules() {
        let malformed = [
            // Missing length byte, length below 2, length beyond the bytes.
            "02",
            "0200",
            "0201",
            "020505b4",
            "fe",
            "fe00",
            "fe01",
            "fe05aabb",
            // MSS must be 4 bytes.
            "020305",
            "020505b4ff",
            // Window scale must be 3 bytes.
            "0302",
            "03040700",
            // SACK-permitted must be 2 bytes.
            "040300",
            // Timestamps must be 10 bytes.
            "080900000001000000",
            "080b000000010000000200",
            // SACK must be 2 + 8n bytes with 1 <= n <= 4.
            "0502",
            "050300",
            "050900000001000000",
            "050b000000010000000200",
            "0511000000010000000200000003000000",
        ];
        for hex in malformed {
            assert_eq!(option(&h(hex)), Err(Error::Malformed), "{hex}");
        }
        // Five SACK blocks: 42 bytes.
        let five = h(&format!("052a{}", "00000001".repeat(10)));
        assert_eq!(option(&five), Err(Error::Malformed));
        assert_eq!(option(&[]), Err(Error::Truncated));
    }

    #[test]
    fn bad_option_fails_repr_parse() {
        // NOP NOP, then MSS with length 3, in a segment with a valid checksum.
        let mut bytes = bytes(RST);
        bytes.extend_from_slice(&[1, 1, 2, 3]);
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        packet.set_header_len(24);
        packet.fill_checksum(SERVER, CLIENT);
        assert_eq!(parse(&bytes, SERVER, CLIENT), Err(Error::Malformed));
        // After EOL anything goes.
        bytes[20..].copy_from_slice(&[0, 2, 3, 0xff]);
        TcpPacket::new_unchecked(&mut bytes[..]).fill_checksum(SERVER, CLIENT);
        assert_eq!(parse(&bytes, SERVER, CLIENT).unwrap().options, TcpOptions::default());
    }

    #[test]
    fn option_parse_details() {
        // Window scale above 14 is used as 14; a repeated option keeps the last value.
        let options = TcpOptions::parse(&h("030320020405b4020404180101")).unwrap();
        assert_eq!(options.window_scale, Some(14));
        assert_eq!(options.mss, Some(1048));
        // Display of every option, as tcpdump writes them.
        let texts: Vec<String> = [
            TcpOption::EndOfList,
            TcpOption::NoOperation,
            TcpOption::MaxSegmentSize(1460),
            TcpOption::WindowScale(7),
            TcpOption::SackPermitted,
            TcpOption::SackBlocks(SackBlocks::from_slice(&[(SeqNumber(1), SeqNumber(2))])),
            TcpOption::Timestamps { tsval: 3, tsecr: 4 },
            TcpOption::Unknown { kind: 30, data: &[0xab] },
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            texts,
            [
                "eol",
                "nop",
                "mss 1460",
                "wscale 7",
                "sackOK",
                "sack 1 {1:2}",
                "TS val 3 ecr 4",
                "unknown-30 0xab"
            ]
        );
    }

    #[test]
    fn option_emit_round_trip() {
        let big = [7u8; 300];
        let options = [
            TcpOption::EndOfList,
            TcpOption::NoOperation,
            TcpOption::MaxSegmentSize(536),
            TcpOption::WindowScale(14),
            TcpOption::SackPermitted,
            TcpOption::SackBlocks(SackBlocks::from_slice(&[(SeqNumber(1), SeqNumber(2)); 3])),
            TcpOption::Timestamps { tsval: u32::MAX, tsecr: 7 },
            TcpOption::Unknown { kind: 99, data: &[1, 2, 3] },
            TcpOption::Unknown { kind: 99, data: &big },
        ];
        for option in options {
            let mut buf = [0u8; 300];
            let len = option.emit(&mut buf);
            assert_eq!(len, option.buffer_len());
            let (rest, parsed) = TcpOption::parse(&buf[..len]).unwrap();
            assert!(rest.is_empty());
            match option {
                TcpOption::Unknown { kind, data } => {
                    assert_eq!(parsed, TcpOption::Unknown { kind, data: &data[..data.len().min(253)] })
                }
                option => assert_eq!(parsed, option),
            }
        }
    }

    #[test]
    fn syn_layouts_match_linux() {
        let syn = bytes(SYN);
        let mut repr = parse(&syn, CLIENT, SERVER).unwrap();
        // No SACK-permitted: `NOP NOP TS` instead of `SACKOK TS`.
        repr.options.sack_permitted = false;
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), CLIENT, SERVER);
        assert_eq!(hex::encode(&buf[20..]), "020405b40101080a000000010000000001030307");
        // No timestamps: `MSS NOP WS NOP NOP SACKOK`.
        repr.options.sack_permitted = true;
        repr.options.timestamps = None;
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), CLIENT, SERVER);
        assert_eq!(hex::encode(&buf[20..]), "020405b40103030701010402");
        assert_eq!(
            repr.to_string(),
            "49152 > 80: Flags [S], seq 100, win 64240, \
             options [mss 1460,nop,wscale 7,nop,nop,sackOK], length 0"
        );
        assert_eq!(parse(&buf, CLIENT, SERVER).unwrap(), repr);
    }

    #[test]
    fn sack_blocks_truncated_to_fit() {
        let blocks: Vec<_> = (0..4u32).map(|i| (SeqNumber(i * 10), SeqNumber(i * 10 + 5))).collect();
        let sack = bytes(SACK);
        let mut repr = parse(&sack, SERVER, CLIENT).unwrap();
        repr.options.sack_blocks = SackBlocks::from_slice(&blocks);
        assert_eq!(repr.header_len(), 60);
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), SERVER, CLIENT);
        assert_eq!(parse(&buf, SERVER, CLIENT).unwrap().options.sack_blocks.as_slice(), &blocks[..3]);
        repr.options.timestamps = None;
        assert_eq!(repr.header_len(), 56);
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), SERVER, CLIENT);
        assert_eq!(parse(&buf, SERVER, CLIENT).unwrap().options.sack_blocks.as_slice(), &blocks[..]);
    }

    #[test]
    fn emit_header_then_payload() {
        let bytes = bytes(DATA);
        let repr = parse(&bytes, CLIENT, SERVER).unwrap();
        let mut buf = vec![0xee; bytes.len()];
        let mut packet = TcpPacket::new_unchecked(&mut buf[..]);
        TcpRepr { payload: &[], ..repr }.emit_header(&mut packet);
        packet.payload_mut().copy_from_slice(repr.payload);
        packet.fill_checksum(CLIENT, SERVER);
        assert_eq!(buf, bytes);
    }

    fn any_options() -> impl Strategy<Value = TcpOptions> {
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(0..=MAX_WINDOW_SCALE),
            any::<bool>(),
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=4),
            proptest::option::of((any::<u32>(), any::<u32>())),
        )
            .prop_map(|(mss, window_scale, sack_permitted, blocks, timestamps)| {
                let blocks: Vec<_> = blocks.into_iter().map(|(l, r)| (SeqNumber(l), SeqNumber(r))).collect();
                TcpOptions {
                    mss,
                    window_scale,
                    sack_permitted,
                    sack_blocks: SackBlocks::from_slice(&blocks),
                    timestamps,
                }
            })
    }

    /// A segment without payload; tests attach one with struct update syntax.
    fn any_repr() -> impl Strategy<Value = TcpRepr<'static>> {
        (
            1..=u16::MAX,
            1..=u16::MAX,
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any_options(),
        )
            .prop_map(
                |(src_port, dst_port, seq, ack, flags, window_len, urgent_pointer, options)| TcpRepr {
                    src_port,
                    dst_port,
                    seq_number: SeqNumber(seq),
                    ack_number: SeqNumber(ack),
                    flags: TcpFlags(flags),
                    window_len,
                    urgent_pointer,
                    options,
                    payload: &[],
                },
            )
    }

    /// What survives an emit: SYN-only options on SYN, SACK blocks that fit otherwise.
    fn emitted(repr: &TcpRepr) -> TcpOptions {
        let mut options = repr.options;
        if repr.flags.contains(TcpFlags::SYN) {
            options.sack_blocks.clear();
        } else {
            options.mss = None;
            options.window_scale = None;
            options.sack_permitted = false;
            options.sack_blocks.truncate(repr.emitted_sack_blocks());
        }
        options
    }

    proptest! {
        #[test]
        fn round_trip(repr in any_repr(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let repr = TcpRepr { payload: &payload, ..repr };
            let header_len = repr.header_len();
            prop_assert!(header_len <= MAX_HEADER_LEN && header_len.is_multiple_of(4));
            let mut buf = vec![0; repr.buffer_len()];
            repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), CLIENT, SERVER);
            let packet = TcpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(packet.header_len(), header_len);
            let parsed = TcpRepr::parse(&packet, CLIENT, SERVER, ChecksumMode::Verify).unwrap();
            prop_assert_eq!(parsed, TcpRepr { options: emitted(&repr), ..repr });
            prop_assert_eq!(parsed.to_string(), TcpRepr { options: emitted(&repr), ..repr }.to_string());
        }

        #[test]
        fn direct_option_layout_matches_the_option_list(repr in any_repr()) {
            // header_len and emit_header write non-SYN options directly; they must agree
            // byte for byte with the generic list every other path uses.
            let mut listed = Vec::new();
            repr.for_each_option(|option| {
                let mut bytes = [0u8; MAX_HEADER_LEN];
                let len = option.emit(&mut bytes);
                listed.extend_from_slice(&bytes[..len]);
            });
            prop_assert_eq!(repr.header_len(), HEADER_LEN + listed.len());
            let mut buf = vec![0u8; repr.header_len()];
            repr.emit_header(&mut TcpPacket::new_unchecked(&mut buf[..]));
            prop_assert_eq!(&buf[HEADER_LEN..], &listed[..]);
            // And the timestamp-only layout parses as the general loop would.
            let mut reparsed = TcpOptions::default();
            let mut rest = &listed[..];
            while let Ok((next, option)) = TcpOption::parse(rest) {
                match option {
                    TcpOption::Timestamps { tsval, tsecr } => reparsed.timestamps = Some((tsval, tsecr)),
                    TcpOption::SackBlocks(blocks) => reparsed.sack_blocks = blocks,
                    TcpOption::MaxSegmentSize(mss) => reparsed.mss = Some(mss),
                    TcpOption::WindowScale(shift) => reparsed.window_scale = Some(shift.min(MAX_WINDOW_SCALE)),
                    TcpOption::SackPermitted => reparsed.sack_permitted = true,
                    _ => {}
                }
                if next.is_empty() {
                    break;
                }
                rest = next;
            }
            prop_assert_eq!(TcpOptions::parse(&listed).unwrap(), reparsed);
        }

        #[test]
        fn header_never_exceeds_60(repr in any_repr()) {
            prop_assert!(repr.header_len() <= MAX_HEADER_LEN);
            prop_assert_eq!(repr.header_len() % 4, 0);
            let mut buf = [0u8; MAX_HEADER_LEN];
            repr.emit_header(&mut TcpPacket::new_unchecked(&mut buf[..repr.header_len()]));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(packet) = TcpPacket::new_checked(&bytes[..]) {
                let _ = (packet.src_port(), packet.dst_port(), packet.seq_number(), packet.ack_number());
                let _ = (packet.flags(), packet.window_len(), packet.checksum(), packet.urgent_at());
                let _ = (packet.options(), packet.payload(), packet.verify_checksum(CLIENT, SERVER));
                for mode in [ChecksumMode::Verify, ChecksumMode::Trust] {
                    if let Ok(repr) = TcpRepr::parse(&packet, CLIENT, SERVER, mode) {
                        let _ = repr.to_string();
                        // Parsing what we emit is a fixed point after one normalisation.
                        let mut buf = vec![0; repr.buffer_len()];
                        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), CLIENT, SERVER);
                        let again = parse(&buf, CLIENT, SERVER).unwrap();
                        prop_assert_eq!(again, TcpRepr { options: emitted(&repr), ..repr });
                    }
                }
            }
            let mut rest = &bytes[..];
            while let Ok((next, option)) = TcpOption::parse(rest) {
                let _ = option.to_string();
                prop_assert!(next.len() < rest.len() || rest.is_empty());
                rest = next;
                if rest.is_empty() {
                    break;
                }
            }
        }

        #[test]
        fn never_panics_with_options(
            mut bytes in proptest::collection::vec(any::<u8>(), 20..80),
            words in 5u8..16,
        ) {
            // A plausible data offset, so the option parser sees arbitrary option bytes.
            bytes[12] = words << 4;
            if let Ok(packet) = TcpPacket::new_checked(&bytes[..]) {
                if let Ok(repr) = TcpRepr::parse(&packet, CLIENT, SERVER, ChecksumMode::Trust) {
                    let _ = repr.to_string();
                    prop_assert!(repr.header_len() <= MAX_HEADER_LEN);
                }
            }
        }
    }
}
