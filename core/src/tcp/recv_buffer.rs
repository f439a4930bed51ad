//! The receive buffer: in-order bytes the application has not read yet, and out-of-order
//! segment text held for reassembly (RFC 9293 §3.10.7.4, "process the segment text").
//!
//! One ring allocated at construction holds, from the front, the readable bytes (those
//! before RCV.NXT) and then room for out-of-order data up to the capacity. The receive
//! window is what is left after the readable bytes ([`ReceiveBuffer::window`]); scaling and
//! silly-window avoidance (RFC 9293 §3.8.6.2.2) are the connection's business.
//!
//! Out-of-order data is tracked as a sorted array of disjoint ranges, bounded by the gap
//! limit chosen at construction, so memory never grows with what a peer sends. A segment
//! that would need one range more is refused ([`Insert::refused`]): the connection drops it
//! and the peer retransmits it later (in-order data is never refused). Where a segment
//! overlaps bytes already held, the first copy is kept (RFC 9293 §3.10.7.4 allows either).
//!
//! SACK blocks (RFC 2018 §4) are generated from the ranges, most recently received first.
//! After construction no call but [`ReceiveBuffer::resize`] allocates, and none panics on
//! any argument.

use core::fmt;
use core::ops::Range;

use super::send_buffer::ResizeError;
use crate::wire::{SackBlocks, SeqNumber};

/// The default bound on disjoint out-of-order ranges: room for heavy reordering and loss
/// (one SACK option reports at most four), and a fixed 32 × 24 bytes of bookkeeping.
pub const DEFAULT_GAP_LIMIT: usize = 32;

/// What [`ReceiveBuffer::insert`] did with a segment's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Insert {
    /// How far RCV.NXT moves: bytes that became readable, the new ones and any held
    /// out-of-order data they made contiguous.
    pub advanced: usize,
    /// Bytes dropped because they lay beyond the receive window.
    pub trimmed: usize,
    /// Every in-window byte was already held (or already read): nothing new.
    pub duplicate: bool,
    /// The text needed a new out-of-order range and the gap limit was reached: nothing was
    /// stored. The connection drops the segment; the peer retransmits it.
    pub refused: bool,
}

/// One out-of-order range `[start, end)`, offsets from RCV.NXT.
#[derive(Debug, Clone, Copy, Default)]
struct Block {
    start: usize,
    end: usize,
    /// When data last arrived in this range (a counter), for SACK block order.
    stamp: u64,
}

/// The reassembly buffer of one connection's receive direction (RFC 9293 §3.10.7.4).
pub struct ReceiveBuffer {
    storage: Box<[u8]>,
    /// Ring index of the first unread byte; 0 when `storage` is empty.
    head: usize,
    /// In-order bytes not yet read; RCV.NXT is `readable` bytes after the front.
    readable: usize,
    /// Out-of-order ranges: the first `block_count` entries are used, sorted, disjoint and
    /// not adjacent to each other nor to RCV.NXT (`start >= 1`), and end within the window.
    blocks: Box<[Block]>,
    block_count: usize,
    /// The last stamp handed out.
    clock: u64,
}

impl ReceiveBuffer {
    /// A buffer of `capacity` bytes with the default gap limit, allocated now and never
    /// again (unless resized).
    pub fn new(capacity: usize) -> ReceiveBuffer {
        ReceiveBuffer::with_gap_limit(capacity, DEFAULT_GAP_LIMIT)
    }

    /// A buffer holding at most `gap_limit` disjoint out-of-order ranges (0: out-of-order
    /// segments are all refused).
    pub fn with_gap_limit(capacity: usize, gap_limit: usize) -> ReceiveBuffer {
        ReceiveBuffer {
            storage: vec![0; capacity].into_boxed_slice(),
            head: 0,
            readable: 0,
            blocks: vec![Block::default(); gap_limit].into_boxed_slice(),
            block_count: 0,
            clock: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.storage.len()
    }

    pub fn gap_limit(&self) -> usize {
        self.blocks.len()
    }

    /// In-order bytes ready for the application.
    pub fn readable(&self) -> usize {
        self.readable
    }

    /// The receive window before scaling and silly-window avoidance: the room after the
    /// readable bytes, out-of-order data included (RFC 9293 §3.8.6.2.2).
    pub fn window(&self) -> usize {
        self.capacity() - self.readable
    }

    /// Out-of-order data is held (the connection ACKs at once, RFC 5681 §4.2).
    pub fn has_out_of_order(&self) -> bool {
        self.block_count != 0
    }

    /// Bytes held out of order.
    pub fn out_of_order_bytes(&self) -> usize {
        self.used().iter().map(|b| b.end - b.start).sum()
    }

    /// The out-of-order ranges in sequence order, as offsets from RCV.NXT.
    pub fn out_of_order_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.used().iter().map(|b| b.start..b.end)
    }

    fn used(&self) -> &[Block] {
        &self.blocks[..self.block_count]
    }

    /// The ring index `offset` bytes after the front, for `offset <= capacity`.
    fn index(&self, offset: usize) -> usize {
        let i = self.head + offset;
        if i >= self.storage.len() {
            i - self.storage.len()
        } else {
            i
        }
    }

    /// The readable bytes as up to two slices (the second non-empty only on wrap-around).
    pub fn peek(&self) -> (&[u8], &[u8]) {
        let first = self.readable.min(self.capacity() - self.head);
        (&self.storage[self.head..self.head + first], &self.storage[..self.readable - first])
    }

    /// Marks `n` readable bytes as read (clamped to [`readable`](Self::readable)); returns
    /// the number consumed. The window grows by as much.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.readable);
        self.head = self.index(n);
        self.readable -= n;
        if self.readable == 0 && self.block_count == 0 {
            // Nothing held: restart at index 0 so later data stays contiguous.
            self.head = 0;
        }
        n
    }

    /// Copies readable bytes into `dst` and consumes them; returns the number copied.
    pub fn read(&mut self, dst: &mut [u8]) -> usize {
        let (a, b) = self.peek();
        let n = dst.len().min(a.len() + b.len());
        let first = n.min(a.len());
        dst[..first].copy_from_slice(&a[..first]);
        if n > first {
            // Wrapped around the end of the ring.
            dst[first..n].copy_from_slice(&b[..n - first]);
        }
        self.consume(n)
    }

    /// Stores segment text beginning `offset` bytes after RCV.NXT (the connection trims
    /// what precedes RCV.NXT first, or calls [`insert_segment`](Self::insert_segment)).
    /// Bytes beyond the window are trimmed; bytes already held keep their first copy.
    pub fn insert(&mut self, offset: usize, data: &[u8]) -> Insert {
        let window = self.window();
        if data.is_empty() {
            return Insert::default();
        }
        if offset >= window {
            return Insert { trimmed: data.len(), ..Insert::default() };
        }
        let take = data.len().min(window - offset);
        let trimmed = data.len() - take;
        let data = &data[..take];
        if offset == 0 && self.block_count == 0 {
            // In order with nothing held beyond it, the common case: what the general path
            // below does then, without its searches.
            self.copy_in(0, data);
            self.readable += take;
            return Insert { advanced: take, trimmed, duplicate: false, refused: false };
        }
        let (start, end) = (offset, offset + take);

        // Ranges overlapping or adjacent to [start, end) are blocks[first..last].
        let first = self.used().partition_point(|b| b.end < start);
        let last = self.used().partition_point(|b| b.start <= end);
        if first == last && start > 0 && self.block_count == self.gap_limit() {
            return Insert { trimmed, refused: true, ..Insert::default() };
        }

        // Copy only into the gaps between held ranges: the first copy wins.
        let mut fresh = 0;
        let mut cursor = start;
        for i in first..last {
            let Block { start: held_start, end: held_end, .. } = self.blocks[i];
            if held_start > cursor {
                fresh += self.copy_in(cursor, &data[cursor - start..held_start - start]);
            }
            cursor = cursor.max(held_end);
        }
        if cursor < end {
            fresh += self.copy_in(cursor, &data[cursor - start..]);
        }

        if first == last && start == 0 {
            // In order with nothing held beyond it: the common case.
            self.advance(end);
            return Insert { advanced: end, trimmed, duplicate: false, refused: false };
        }

        // Replace blocks[first..last] with their union with [start, end).
        self.clock = self.clock.wrapping_add(1);
        let merged = if first == last {
            self.blocks.copy_within(first..self.block_count, first + 1);
            self.block_count += 1;
            Block { start, end, stamp: self.clock }
        } else {
            let merged = Block {
                start: start.min(self.blocks[first].start),
                end: end.max(self.blocks[last - 1].end),
                stamp: self.clock,
            };
            self.blocks.copy_within(last..self.block_count, first + 1);
            self.block_count -= last - first - 1;
            merged
        };
        self.blocks[first] = merged;

        let mut advanced = 0;
        if merged.start == 0 {
            // Contiguous with RCV.NXT (so `first == 0`): the whole range becomes readable.
            advanced = merged.end;
            self.blocks.copy_within(1..self.block_count, 0);
            self.block_count -= 1;
            self.advance(advanced);
        }
        Insert { advanced, trimmed, duplicate: fresh == 0, refused: false }
    }

    /// Moves RCV.NXT forward by `n` bytes now held in order; ranges follow it.
    fn advance(&mut self, n: usize) {
        self.readable += n;
        for block in &mut self.blocks[..self.block_count] {
            block.start -= n;
            block.end -= n;
        }
    }

    /// [`insert`](Self::insert) for a segment whose text starts at sequence number `seq`,
    /// with RCV.NXT at `rcv_nxt`: text before RCV.NXT, already received, is skipped
    /// (RFC 9293 §3.10.7.4). The caller has checked the segment is acceptable.
    pub fn insert_segment(&mut self, rcv_nxt: SeqNumber, seq: SeqNumber, data: &[u8]) -> Insert {
        if seq.lt(rcv_nxt) {
            let old = rcv_nxt - seq;
            match data.get(old..) {
                Some(rest) if !rest.is_empty() => self.insert(0, rest),
                _ => Insert { duplicate: !data.is_empty(), ..Insert::default() },
            }
        } else {
            self.insert(seq - rcv_nxt, data)
        }
    }

    /// Writes `data` at `offset` bytes after RCV.NXT (within the window); returns its length.
    fn copy_in(&mut self, offset: usize, data: &[u8]) -> usize {
        let at = self.index(self.readable + offset);
        let first = data.len().min(self.capacity() - at);
        self.storage[at..at + first].copy_from_slice(&data[..first]);
        if data.len() > first {
            // Wrapped around the end of the ring.
            self.storage[..data.len() - first].copy_from_slice(&data[first..]);
        }
        data.len()
    }

    /// RFC 2018 §4: the SACK blocks to send with RCV.NXT at `rcv_nxt`, at most four. The
    /// first holds the most recently received segment (unless that segment advanced
    /// RCV.NXT); the rest follow most recently reported first, which is the order in which
    /// data last arrived in them. With timestamps the connection keeps only three.
    pub fn sack_blocks(&self, rcv_nxt: SeqNumber) -> SackBlocks {
        let mut sack = SackBlocks::new();
        // Stamps are unique, so walking down from the newest visits each range once.
        let mut below = u64::MAX;
        for _ in 0..SackBlocks::CAPACITY {
            let newest = self.used().iter().filter(|b| b.stamp < below).max_by_key(|b| b.stamp);
            let Some(block) = newest else { break };
            sack.push((rcv_nxt + block.start, rcv_nxt + block.end));
            below = block.stamp;
        }
        sack
    }

    /// Drops everything held (the connection was aborted).
    pub fn clear(&mut self) {
        self.head = 0;
        self.readable = 0;
        self.block_count = 0;
    }

    /// Changes the capacity (SO_RCVBUF), keeping what is held; refused when the readable
    /// and out-of-order data would not fit. Allocates: meant for socket options, not the
    /// per-segment path. Shrinking below a window already advertised is the connection's
    /// to avoid (RFC 9293 §3.8.6: shrinking the window is strongly discouraged).
    pub fn resize(&mut self, new_capacity: usize) -> Result<(), ResizeError> {
        let held = self.readable + self.used().last().map_or(0, |b| b.end);
        if new_capacity < held {
            return Err(ResizeError { requested: new_capacity, held });
        }
        if new_capacity == self.capacity() {
            return Ok(());
        }
        let mut storage = vec![0; new_capacity].into_boxed_slice();
        let start = self.head;
        let first = held.min(self.capacity() - start);
        storage[..first].copy_from_slice(&self.storage[start..start + first]);
        storage[first..held].copy_from_slice(&self.storage[..held - first]);
        self.storage = storage;
        self.head = 0;
        Ok(())
    }
}

impl fmt::Debug for ReceiveBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiveBuffer")
            .field("capacity", &self.capacity())
            .field("readable", &self.readable)
            .field("out_of_order", &self.out_of_order_ranges().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn readable_bytes(buf: &ReceiveBuffer) -> Vec<u8> {
        let (a, b) = buf.peek();
        [a, b].concat()
    }

    fn read_all(buf: &mut ReceiveBuffer) -> Vec<u8> {
        let mut out = vec![0; buf.readable()];
        let n = buf.read(&mut out);
        assert_eq!(n, out.len());
        out
    }

    fn ranges(buf: &ReceiveBuffer) -> Vec<(usize, usize)> {
        buf.out_of_order_ranges().map(|r| (r.start, r.end)).collect()
    }

    fn advanced(n: usize) -> Insert {
        Insert { advanced: n, ..Insert::default() }
    }

    const HELD: Insert = Insert { advanced: 0, trimmed: 0, duplicate: false, refused: false };
    const DUPLICATE: Insert = Insert { advanced: 0, trimmed: 0, duplicate: true, refused: false };
    const REFUSED: Insert = Insert { advanced: 0, trimmed: 0, duplicate: false, refused: true };

    #[test]
    fn in_order_stream() {
        let mut buf = ReceiveBuffer::new(16);
        assert_eq!((buf.capacity(), buf.readable(), buf.window()), (16, 0, 16));
        assert_eq!(buf.insert(0, b"hello "), advanced(6));
        assert_eq!(buf.insert(0, b"world"), advanced(5));
        assert_eq!((buf.readable(), buf.window()), (11, 5));
        assert!(!buf.has_out_of_order());
        let mut dst = [0; 4];
        assert_eq!(buf.read(&mut dst), 4);
        assert_eq!(&dst, b"hell");
        assert_eq!(readable_bytes(&buf), b"o world");
        assert_eq!(buf.consume(3), 3);
        assert_eq!(read_all(&mut buf), b"orld");
        assert_eq!(buf.consume(1), 0);
        assert_eq!(buf.read(&mut dst), 0);
        assert_eq!(buf.insert(0, b""), Insert::default());
    }

    #[test]
    fn out_of_order_data_fills_gaps() {
        let mut buf = ReceiveBuffer::new(32);
        assert_eq!(buf.insert(10, b"klmno"), HELD);
        assert_eq!(buf.insert(3, b"defg"), HELD);
        assert_eq!(ranges(&buf), [(3, 7), (10, 15)]);
        assert_eq!((buf.out_of_order_bytes(), buf.readable(), buf.window()), (9, 0, 32));
        // Bridges the two ranges.
        assert_eq!(buf.insert(7, b"hij"), HELD);
        assert_eq!(ranges(&buf), [(3, 15)]);
        // Fills the gap at RCV.NXT: all 15 bytes become readable.
        assert_eq!(buf.insert(0, b"abc"), advanced(15));
        assert!(!buf.has_out_of_order());
        assert_eq!(read_all(&mut buf), b"abcdefghijklmno");
    }

    #[test]
    fn range_offsets_follow_rcv_nxt() {
        let mut buf = ReceiveBuffer::new(32);
        buf.insert(8, b"ij");
        buf.insert(12, b"m");
        assert_eq!(buf.insert(0, b"abcd"), advanced(4));
        assert_eq!(ranges(&buf), [(4, 6), (8, 9)]);
        assert_eq!(buf.insert(0, b"efgh"), advanced(6));
        assert_eq!(ranges(&buf), [(2, 3)]);
        assert_eq!(buf.insert(0, b"kl"), advanced(3));
        assert_eq!(read_all(&mut buf), b"abcdefghijklm");
    }

    #[test]
    fn overlaps_keep_the_first_copy() {
        let mut buf = ReceiveBuffer::new(32);
        assert_eq!(buf.insert(4, b"AAAA"), HELD);
        assert_eq!(buf.insert(10, b"CC"), HELD);
        // Covers both ranges and the gaps around them; only the gaps take its bytes.
        assert_eq!(buf.insert(2, b"bbbbbbbbbbbbbb"), HELD);
        assert_eq!(ranges(&buf), [(2, 16)]);
        assert_eq!(buf.insert(0, b"xxxxxxxx"), advanced(16));
        assert_eq!(read_all(&mut buf), b"xxbbAAAAbbCCbbbb");
    }

    #[test]
    fn duplicates_are_reported() {
        let mut buf = ReceiveBuffer::new(32);
        assert_eq!(buf.insert(5, b"fghij"), HELD);
        assert_eq!(buf.insert(5, b"FGHIJ"), DUPLICATE);
        assert_eq!(buf.insert(6, b"GH"), DUPLICATE);
        assert_eq!(buf.insert(8, b"IJK"), HELD);
        assert_eq!(ranges(&buf), [(5, 11)]);
        assert_eq!(buf.out_of_order_bytes(), 6);
        assert_eq!(buf.insert(0, b"abcde"), advanced(11));
        assert_eq!(read_all(&mut buf), b"abcdefghijK");
    }

    #[test]
    fn text_beyond_the_window_is_trimmed() {
        let mut buf = ReceiveBuffer::new(16);
        assert_eq!(buf.insert(10, b"0123456789"), Insert { trimmed: 4, ..HELD });
        assert_eq!(ranges(&buf), [(10, 16)]);
        assert_eq!(buf.insert(16, b"x"), Insert { trimmed: 1, ..HELD });
        assert_eq!(buf.insert(usize::MAX, b"xy"), Insert { trimmed: 2, ..HELD });
        assert_eq!(buf.insert(0, &[b'a'; 20]), Insert { advanced: 16, trimmed: 4, ..HELD });
        assert_eq!(buf.window(), 0);
        assert_eq!(buf.insert(0, b"z"), Insert { trimmed: 1, ..HELD });
        assert_eq!(buf.consume(5), 5);
        assert_eq!(buf.window(), 5);
        assert_eq!(buf.insert(1, &[b'b'; 9]), Insert { trimmed: 5, ..HELD });
        assert_eq!(ranges(&buf), [(1, 5)]);
    }

    #[test]
    fn ring_wraps_around() {
        let mut buf = ReceiveBuffer::new(8);
        buf.insert(0, b"012345");
        assert_eq!(read_all(&mut buf), b"012345");
        // Empty again: the front returned to index 0.
        buf.insert(0, b"abcde");
        buf.consume(4);
        // Front at index 4, "e" readable, window 7: "ijkl" goes to indices 0..4 (wrapped).
        assert_eq!(buf.insert(3, b"ijkl"), HELD);
        assert_eq!(buf.insert(0, b"fgh"), advanced(7));
        assert_eq!(buf.window(), 0);
        let (a, b) = buf.peek();
        assert_eq!((a, b), (&b"efgh"[..], &b"ijkl"[..]));
        assert_eq!(buf.consume(2), 2);
        assert_eq!(buf.insert(0, b"mn"), advanced(2));
        assert_eq!(read_all(&mut buf), b"ghijklmn");
    }

    #[test]
    fn gap_limit_refuses_new_ranges_only() {
        let mut buf = ReceiveBuffer::with_gap_limit(64, 2);
        assert_eq!(buf.gap_limit(), 2);
        assert_eq!(buf.insert(10, b"kl"), HELD);
        assert_eq!(buf.insert(20, b"uv"), HELD);
        assert_eq!(buf.insert(30, b"EF"), REFUSED);
        assert_eq!(buf.insert(5, b"f"), REFUSED);
        assert_eq!(buf.insert(40, &[0; 40]), Insert { trimmed: 16, ..REFUSED });
        assert_eq!(ranges(&buf), [(10, 12), (20, 22)]);
        // Extending, bridging, duplicating and in-order text are still accepted.
        assert_eq!(buf.insert(22, b"wx"), HELD);
        assert_eq!(buf.insert(8, b"ij"), HELD);
        assert_eq!(buf.insert(11, b"l"), DUPLICATE);
        assert_eq!(buf.insert(12, b"mnopqrst"), HELD);
        assert_eq!(ranges(&buf), [(8, 24)]);
        assert_eq!(buf.insert(30, b"EF"), HELD);
        assert_eq!(buf.insert(0, b"abcdefgh"), advanced(24));
        assert_eq!(ranges(&buf), [(6, 8)]);

        let mut none = ReceiveBuffer::with_gap_limit(64, 0);
        assert_eq!(none.insert(1, b"b"), REFUSED);
        assert_eq!(none.insert(0, b"a"), advanced(1));
    }

    #[test]
    fn insert_segment_skips_text_before_rcv_nxt() {
        let mut buf = ReceiveBuffer::new(32);
        let rcv_nxt = SeqNumber(u32::MAX - 2);
        assert_eq!(buf.insert_segment(rcv_nxt, rcv_nxt + 5, b"fg"), HELD);
        assert_eq!(buf.insert_segment(rcv_nxt, rcv_nxt - 3, b"xyzabc"), advanced(3));
        let rcv_nxt = rcv_nxt + 3;
        assert_eq!(buf.insert_segment(rcv_nxt, rcv_nxt - 3, b"abc"), DUPLICATE);
        assert_eq!(buf.insert_segment(rcv_nxt, rcv_nxt - 1, b""), Insert::default());
        assert_eq!(buf.insert_segment(rcv_nxt, rcv_nxt - 1, b"cde"), advanced(4));
        assert_eq!(read_all(&mut buf), b"abcdefg");
        // A far-away sequence number lands beyond any window.
        assert_eq!(buf.insert_segment(rcv_nxt, rcv_nxt + (1 << 30), b"q"), Insert { trimmed: 1, ..HELD });
    }

    fn blocks(list: &[(u32, u32)]) -> SackBlocks {
        SackBlocks::from_slice(&list.iter().map(|&(l, r)| (SeqNumber(l), SeqNumber(r))).collect::<Vec<_>>())
    }

    /// RFC 2018 §5 case 2: the first of eight 500-byte segments (5000..9000) is lost. Each
    /// ACK is for 5000 and its one SACK block grows.
    #[test]
    fn rfc2018_case_2() {
        let mut buf = ReceiveBuffer::new(8000);
        let rcv_nxt = SeqNumber(5000);
        let segment = [0x5a; 500];
        for k in 1..8u32 {
            let seq = SeqNumber(5000 + 500 * k);
            assert_eq!(buf.insert_segment(rcv_nxt, seq, &segment), HELD);
            assert_eq!(buf.sack_blocks(rcv_nxt), blocks(&[(5500, 5500 + 500 * k)]));
        }
        assert_eq!(buf.insert_segment(rcv_nxt, rcv_nxt, &segment), advanced(4000));
        assert!(buf.sack_blocks(rcv_nxt + 4000).is_empty());
    }

    /// RFC 2018 §5 case 3: the 2nd, 4th, 6th and 8th segments are lost; then the 4th and
    /// the 2nd arrive. The table of ACKs and SACK blocks is the RFC's.
    #[test]
    fn rfc2018_case_3() {
        let mut buf = ReceiveBuffer::new(8000);
        let segment = [0xa5; 500];
        let mut rcv_nxt = SeqNumber(5000);
        let mut arrive = |seq: u32, rcv_nxt: &mut SeqNumber| {
            let insert = buf.insert_segment(*rcv_nxt, SeqNumber(seq), &segment);
            *rcv_nxt += insert.advanced;
            buf.sack_blocks(*rcv_nxt)
        };
        assert_eq!(arrive(5000, &mut rcv_nxt), blocks(&[]));
        assert_eq!(rcv_nxt, SeqNumber(5500));
        assert_eq!(arrive(6000, &mut rcv_nxt), blocks(&[(6000, 6500)]));
        assert_eq!(arrive(7000, &mut rcv_nxt), blocks(&[(7000, 7500), (6000, 6500)]));
        assert_eq!(arrive(8000, &mut rcv_nxt), blocks(&[(8000, 8500), (7000, 7500), (6000, 6500)]));
        assert_eq!(rcv_nxt, SeqNumber(5500));
        // The 4th packet arrives out of order.
        assert_eq!(arrive(6500, &mut rcv_nxt), blocks(&[(6000, 7500), (8000, 8500)]));
        assert_eq!(rcv_nxt, SeqNumber(5500));
        // The 2nd packet arrives: ACK 7500.
        assert_eq!(arrive(5500, &mut rcv_nxt), blocks(&[(8000, 8500)]));
        assert_eq!(rcv_nxt, SeqNumber(7500));
    }

    /// RFC 2018 §4: with more ranges than fit, the newest four are reported, newest first; a
    /// duplicate arriving in an older range makes it the first block again.
    #[test]
    fn sack_blocks_follow_recency() {
        let mut buf = ReceiveBuffer::new(1000);
        let rcv_nxt = SeqNumber(1000);
        for start in [500u32, 100, 300, 200, 400, 600] {
            assert_eq!(buf.insert(start as usize, &[1; 10]), HELD);
        }
        let sack = |buf: &ReceiveBuffer| buf.sack_blocks(rcv_nxt);
        assert_eq!(sack(&buf), blocks(&[(1600, 1610), (1400, 1410), (1200, 1210), (1300, 1310)]));
        assert_eq!(buf.insert(505, &[1; 2]), DUPLICATE);
        assert_eq!(sack(&buf), blocks(&[(1500, 1510), (1600, 1610), (1400, 1410), (1200, 1210)]));
        // Merging two ranges makes the union the newest block.
        assert_eq!(buf.insert(110, &[1; 90]), HELD);
        assert_eq!(sack(&buf), blocks(&[(1100, 1210), (1500, 1510), (1600, 1610), (1400, 1410)]));
        // A segment that advances RCV.NXT leaves the others in their order.
        assert_eq!(buf.insert(0, &[1; 100]), advanced(210));
        assert_eq!(sack(&buf).len(), 4);
        let rcv_nxt = rcv_nxt + 210;
        assert_eq!(
            buf.sack_blocks(rcv_nxt),
            blocks(&[(1500, 1510), (1600, 1610), (1400, 1410), (1300, 1310)])
        );
    }

    #[test]
    fn sack_blocks_wrap_the_sequence_space() {
        let mut buf = ReceiveBuffer::new(100);
        buf.insert(10, &[0; 20]);
        let rcv_nxt = SeqNumber(u32::MAX - 14);
        assert_eq!(buf.sack_blocks(rcv_nxt), blocks(&[(u32::MAX - 4, 15)]));
    }

    #[test]
    fn resize_keeps_what_is_held() {
        let mut buf = ReceiveBuffer::new(8);
        buf.insert(0, b"abcdef");
        buf.consume(5);
        buf.insert(0, b"gh");
        buf.insert(1, b"jk"); // at ring indices 1..3: "fgh", a gap and "jk" are 6 bytes
        assert_eq!(buf.resize(5), Err(ResizeError { requested: 5, held: 6 }));
        assert_eq!(buf.resize(6), Ok(()));
        assert_eq!((buf.capacity(), buf.window()), (6, 3));
        assert_eq!(buf.peek(), (&b"fgh"[..], &b""[..]));
        assert_eq!(buf.resize(1024), Ok(()));
        assert_eq!(buf.insert(0, b"i"), advanced(3));
        assert_eq!(read_all(&mut buf), b"fghijk");
        assert_eq!(buf.resize(0), Ok(()));
        assert_eq!(buf.insert(0, b"x"), Insert { trimmed: 1, ..HELD });
        buf.clear();
    }

    #[test]
    fn zero_capacity_holds_nothing() {
        let mut buf = ReceiveBuffer::new(0);
        assert_eq!(buf.window(), 0);
        assert_eq!(buf.insert(0, b"x"), Insert { trimmed: 1, ..HELD });
        assert_eq!(buf.peek(), (&b""[..], &b""[..]));
        assert_eq!(buf.read(&mut [0; 4]), 0);
        assert!(buf.sack_blocks(SeqNumber(0)).is_empty());
    }

    /// A byte-per-byte model: which stream offsets are held, where RCV.NXT and the reader are.
    struct Model {
        held: Vec<bool>,
        nxt: usize,
        read: usize,
        capacity: usize,
        gap_limit: usize,
    }

    impl Model {
        /// Maximal runs of held bytes beyond RCV.NXT, as stream offsets.
        fn runs(&self) -> Vec<Range<usize>> {
            let mut runs: Vec<Range<usize>> = Vec::new();
            for i in self.nxt..self.held.len() {
                if self.held[i] {
                    match runs.last_mut() {
                        Some(run) if run.end == i => run.end += 1,
                        _ => runs.push(i..i + 1),
                    }
                }
            }
            runs
        }

        fn insert(&mut self, start: usize, len: usize) -> Insert {
            let limit = self.read + self.capacity;
            let lo = start.max(self.nxt);
            let hi = (start + len).min(limit);
            let trimmed = (start + len).saturating_sub(limit.max(start));
            if len == 0 {
                return Insert::default();
            }
            if lo >= hi {
                // Entirely before RCV.NXT (a duplicate) or beyond the window.
                return Insert { trimmed, duplicate: start + len <= self.nxt, ..Insert::default() };
            }
            let runs = self.runs();
            let touches = runs.iter().any(|r| r.start <= hi && lo <= r.end);
            if lo > self.nxt && !touches && runs.len() == self.gap_limit {
                return Insert { trimmed, refused: true, ..Insert::default() };
            }
            let fresh = self.held[lo..hi].iter().filter(|&&h| !h).count();
            self.held[lo..hi].fill(true);
            let before = self.nxt;
            while self.nxt < self.held.len() && self.held[self.nxt] {
                self.nxt += 1;
            }
            Insert { advanced: self.nxt - before, trimmed, duplicate: fresh == 0, refused: false }
        }
    }

    proptest! {
        /// Random segments of a stream, in random order, duplicated and overlapping, with
        /// reads in between, reassemble to the exact stream; every `Insert` matches the
        /// model, and the SACK blocks are the out-of-order ranges, newest first.
        #[test]
        fn reassembles_like_the_model(
            stream in proptest::collection::vec(any::<u8>(), 1..600),
            capacity in 1usize..200,
            gap_limit in 0usize..6,
            isn in any::<u32>(),
            cuts in proptest::collection::vec((any::<proptest::sample::Index>(), 1usize..80, 0usize..50), 1..60),
        ) {
            let mut buf = ReceiveBuffer::with_gap_limit(capacity, gap_limit);
            let mut model =
                Model { held: vec![false; stream.len()], nxt: 0, read: 0, capacity, gap_limit };
            let mut out: Vec<u8> = Vec::new();
            let isn = SeqNumber(isn);
            // A first pass in random order, then in-order retransmissions until done, as a
            // sender would after timeouts.
            let mut segments: Vec<(usize, usize, usize)> = cuts
                .iter()
                .map(|(at, len, read)| {
                    let start = at.index(stream.len());
                    (start, (*len).min(stream.len() - start), *read)
                })
                .collect();
            let mut rounds = 0;
            while model.read < stream.len() {
                for &(start, len, read_len) in &segments {
                    let rcv_nxt = isn + model.nxt;
                    let got = buf.insert_segment(rcv_nxt, isn + start, &stream[start..start + len]);
                    let expected = model.insert(start, len);
                    prop_assert_eq!(got, expected);
                    let lo = (start).max(model.nxt);
                    let hi = (start + len).min(model.read + capacity);
                    if !got.refused && got.advanced == 0 && lo < hi {
                        // RFC 2018 §4: the first block holds the segment just received.
                        let sack = buf.sack_blocks(isn + model.nxt);
                        let first = sack.as_slice().first().copied();
                        let covers = first.is_some_and(|(left, right)| left.le(isn + lo) && (isn + hi).le(right));
                        prop_assert!(covers, "first SACK block {:?} misses {}..{}", first, lo, hi);
                    }
                    let mut dst = vec![0; read_len];
                    let n = buf.read(&mut dst);
                    prop_assert_eq!(n, read_len.min(model.nxt - model.read));
                    out.extend_from_slice(&dst[..n]);
                    model.read += n;

                    prop_assert_eq!(buf.readable(), model.nxt - model.read);
                    prop_assert_eq!(buf.window(), capacity - buf.readable());
                    let runs: Vec<(usize, usize)> =
                        model.runs().into_iter().map(|r| (r.start - model.nxt, r.end - model.nxt)).collect();
                    prop_assert_eq!(ranges(&buf), runs.clone());
                    prop_assert_eq!(buf.out_of_order_bytes(), runs.iter().map(|r| r.1 - r.0).sum::<usize>());
                    let sack = buf.sack_blocks(isn + model.nxt);
                    prop_assert_eq!(sack.len(), runs.len().min(4));
                    for &(left, right) in &sack {
                        let range = (left - (isn + model.nxt), right - (isn + model.nxt));
                        prop_assert!(runs.contains(&range));
                    }
                }
                let left = model.read;
                segments = (left..stream.len()).step_by(37).map(|s| (s, 37.min(stream.len() - s), 64)).collect();
                rounds += 1;
                prop_assert!(rounds < 1000);
            }
            prop_assert_eq!(out, stream);
        }

        /// No argument makes any call panic, and the accounting stays consistent.
        #[test]
        fn never_panics(
            capacity in 0usize..100,
            gap_limit in 0usize..5,
            ops in proptest::collection::vec(
                (0u8..6, prop_oneof![0usize..120, any::<usize>()], 0usize..130), 0..100),
        ) {
            let mut buf = ReceiveBuffer::with_gap_limit(capacity, gap_limit);
            let mut cap = capacity;
            let data = [7u8; 130];
            for (kind, a, b) in ops {
                match kind {
                    0 => {
                        let window = buf.window();
                        let got = buf.insert(a, &data[..b]);
                        prop_assert!(got.advanced <= window && got.trimmed <= b);
                    }
                    1 => {
                        buf.insert_segment(SeqNumber(b as u32), SeqNumber(a as u32), &data[..b]);
                    }
                    2 => {
                        let mut dst = vec![0; b];
                        let n = buf.read(&mut dst);
                        prop_assert!(dst[..n].iter().all(|&x| x == 7));
                    }
                    3 => {
                        buf.consume(a);
                    }
                    4 => {
                        if buf.resize(b).is_ok() {
                            cap = b;
                        }
                    }
                    _ => {
                        let sack = buf.sack_blocks(SeqNumber(a as u32));
                        prop_assert!(sack.len() <= gap_limit.min(4));
                    }
                }
                prop_assert_eq!(buf.capacity(), cap);
                prop_assert_eq!(buf.readable() + buf.window(), cap);
                prop_assert!(buf.out_of_order_ranges().all(|r| r.start >= 1 && r.end <= buf.window()));
                prop_assert!(buf.out_of_order_ranges().count() <= gap_limit);
                let (x, y) = buf.peek();
                prop_assert_eq!(x.len() + y.len(), buf.readable());
            }
        }
    }
}
