//! The send buffer: bytes the application wrote that the peer has not acknowledged yet.
//!
//! RFC 9293 §3.3.1: the front byte is SND.UNA. The connection keeps SND.NXT (and the
//! retransmission point) as offsets from the front, reads segment payloads with
//! [`SendBuffer::peek`] or [`SendBuffer::copy_to`], and drops acknowledged bytes with
//! [`SendBuffer::ack`]. The storage is one ring allocated at construction; after that no
//! call but [`SendBuffer::resize`] allocates, and none panics on any argument.

use core::fmt;

use thiserror::Error;

/// A buffer cannot shrink below the bytes it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("cannot resize the buffer to {requested} bytes: it holds {held} bytes")]
pub struct ResizeError {
    pub requested: usize,
    pub held: usize,
}

/// A fixed-capacity byte ring holding the unacknowledged send data (RFC 9293 §3.3.1).
pub struct SendBuffer {
    storage: Box<[u8]>,
    /// Ring index of the front byte (SND.UNA); 0 when `storage` is empty.
    head: usize,
    /// Bytes held.
    len: usize,
}

impl SendBuffer {
    /// A buffer of `capacity` bytes, allocated now and never again (unless resized).
    pub fn new(capacity: usize) -> SendBuffer {
        SendBuffer { storage: vec![0; capacity].into_boxed_slice(), head: 0, len: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.storage.len()
    }

    /// Bytes held: written and not yet acknowledged.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes that can still be written.
    pub fn free(&self) -> usize {
        self.capacity() - self.len
    }

    pub fn is_full(&self) -> bool {
        self.free() == 0
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

    /// Appends as much of `data` as fits; returns the number of bytes taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let tail = self.index(self.len);
        let first = n.min(self.capacity() - tail);
        self.storage[tail..tail + first].copy_from_slice(&data[..first]);
        if n > first {
            // Wrapped around the end of the ring.
            self.storage[..n - first].copy_from_slice(&data[first..n]);
        }
        self.len += n;
        n
    }

    /// Zero-copy append: hands `f` the contiguous free space at the back (at most `max`
    /// bytes; possibly empty, and possibly less than [`free`](Self::free) when the free
    /// space wraps around, so call again for the rest). `f` fills a prefix and returns its
    /// length; that many bytes (clamped to the space offered) are appended and returned.
    pub fn write_with(&mut self, max: usize, f: impl FnOnce(&mut [u8]) -> usize) -> usize {
        let tail = self.index(self.len);
        let room = max.min(self.free()).min(self.capacity() - tail);
        let n = f(&mut self.storage[tail..tail + room]).min(room);
        self.len += n;
        n
    }

    /// Drops `n` acknowledged bytes from the front (SND.UNA advances by `n`). An `n` larger
    /// than [`len`](Self::len) is clamped: the caller validated the ACK (RFC 9293
    /// §3.10.7.4), so the excess can only be the FIN, which occupies no buffer space.
    /// Returns the number of bytes dropped.
    pub fn ack(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.head = self.index(n);
        self.len -= n;
        if self.len == 0 {
            // Keep later writes and peeks contiguous for as long as possible.
            self.head = 0;
        }
        n
    }

    /// The bytes `[offset, offset + len)` counted from the front, clamped to what is
    /// held, as up to two slices (the second is non-empty only when the range wraps).
    pub fn peek(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        if offset >= self.len {
            return (&[], &[]);
        }
        let len = len.min(self.len - offset);
        let start = self.index(offset);
        let first = len.min(self.capacity() - start);
        (&self.storage[start..start + first], &self.storage[..len - first])
    }

    /// Copies the bytes starting `offset` bytes after the front into `dst`, as many as
    /// `dst` holds or the buffer has; returns the number copied.
    pub fn copy_to(&self, offset: usize, dst: &mut [u8]) -> usize {
        let (a, b) = self.peek(offset, dst.len());
        dst[..a.len()].copy_from_slice(a);
        dst[a.len()..a.len() + b.len()].copy_from_slice(b);
        a.len() + b.len()
    }

    /// Drops every byte held (the connection was aborted).
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Changes the capacity (SO_SNDBUF), keeping the bytes held; refused when they would
    /// not fit. Allocates: meant for socket options, not the per-segment path.
    pub fn resize(&mut self, new_capacity: usize) -> Result<(), ResizeError> {
        if new_capacity < self.len {
            return Err(ResizeError { requested: new_capacity, held: self.len });
        }
        if new_capacity == self.capacity() {
            return Ok(());
        }
        let mut storage = vec![0; new_capacity].into_boxed_slice();
        let copied = self.copy_to(0, &mut storage);
        debug_assert_eq!(copied, self.len);
        self.storage = storage;
        self.head = 0;
        Ok(())
    }
}

impl fmt::Debug for SendBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBuffer")
            .field("capacity", &self.capacity())
            .field("len", &self.len)
            .field("head", &self.head)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn peeked(buf: &SendBuffer, offset: usize, len: usize) -> Vec<u8> {
        let (a, b) = buf.peek(offset, len);
        [a, b].concat()
    }

    #[test]
    fn write_takes_what_fits() {
        let mut buf = SendBuffer::new(8);
        assert!(buf.is_empty());
        assert_eq!((buf.capacity(), buf.len(), buf.free()), (8, 0, 8));
        assert_eq!(buf.write(b"hello"), 5);
        assert_eq!(buf.write(b"world"), 3);
        assert!(buf.is_full());
        assert_eq!(buf.write(b"!"), 0);
        assert_eq!(peeked(&buf, 0, 100), b"hellowor");
    }

    #[test]
    fn ack_drops_the_front_and_clamps() {
        let mut buf = SendBuffer::new(8);
        buf.write(b"abcdef");
        assert_eq!(buf.ack(2), 2);
        assert_eq!(peeked(&buf, 0, 100), b"cdef");
        assert_eq!(buf.ack(0), 0);
        // One more than held: the FIN's sequence number.
        assert_eq!(buf.ack(5), 4);
        assert!(buf.is_empty());
        assert_eq!(buf.ack(usize::MAX), 0);
    }

    #[test]
    fn wrap_around_gives_two_slices() {
        let mut buf = SendBuffer::new(8);
        buf.write(b"012345");
        buf.ack(4);
        assert_eq!(buf.write(b"6789ab"), 6);
        assert!(buf.is_full());
        // Held: "456789ab"; ring: "89ab4567", front at index 4.
        let (a, b) = buf.peek(0, 8);
        assert_eq!((a, b), (&b"4567"[..], &b"89ab"[..]));
        let (a, b) = buf.peek(2, 4);
        assert_eq!((a, b), (&b"67"[..], &b"89"[..]));
        let (a, b) = buf.peek(5, 2);
        assert_eq!((a, b), (&b"9a"[..], &b""[..]));
        let mut dst = [0; 5];
        assert_eq!(buf.copy_to(1, &mut dst), 5);
        assert_eq!(&dst, b"56789");
    }

    #[test]
    fn peek_and_copy_clamp_to_what_is_held() {
        let mut buf = SendBuffer::new(8);
        buf.write(b"abc");
        assert_eq!(peeked(&buf, 1, 10), b"bc");
        assert_eq!(peeked(&buf, 3, 10), b"");
        assert_eq!(peeked(&buf, usize::MAX, usize::MAX), b"");
        assert_eq!(peeked(&buf, 0, 0), b"");
        let mut dst = [0xee; 4];
        assert_eq!(buf.copy_to(2, &mut dst), 1);
        assert_eq!(dst, [b'c', 0xee, 0xee, 0xee]);
        assert_eq!(buf.copy_to(7, &mut dst), 0);
    }

    #[test]
    fn write_with_offers_contiguous_space() {
        let mut buf = SendBuffer::new(8);
        assert_eq!(
            buf.write_with(3, |room| {
                assert_eq!(room.len(), 3);
                room.copy_from_slice(b"xyz");
                3
            }),
            3
        );
        buf.ack(3);
        // Empty again, so the front moved back to index 0: all 8 bytes are contiguous.
        assert_eq!(buf.write_with(100, |room| room.len()), 8);
        buf.ack(6);
        // Held at indices 6..8; free space wraps: 0..6 is offered, then nothing at the end.
        assert_eq!(
            buf.write_with(100, |room| {
                assert_eq!(room.len(), 6);
                room.copy_from_slice(b"ABCDEF");
                4
            }),
            4
        );
        assert_eq!(buf.len(), 6);
        assert_eq!(&peeked(&buf, 2, 4), b"ABCD");
        // A closure claiming more than it was offered is clamped.
        assert_eq!(buf.write_with(1, |_| 50), 1);
        assert_eq!(buf.write_with(100, |room| room.len()), 1);
        assert!(buf.is_full());
        assert_eq!(
            buf.write_with(100, |room| {
                assert!(room.is_empty());
                0
            }),
            0
        );
    }

    #[test]
    fn resize_keeps_the_data() {
        let mut buf = SendBuffer::new(8);
        buf.write(b"012345");
        buf.ack(5);
        buf.write(b"6789ab"); // wraps
        assert_eq!(buf.resize(6), Err(ResizeError { requested: 6, held: 7 }));
        assert_eq!(buf.capacity(), 8);
        assert_eq!(buf.resize(7), Ok(()));
        assert_eq!((buf.capacity(), buf.free()), (7, 0));
        assert_eq!(buf.peek(0, 7), (&b"56789ab"[..], &b""[..]));
        assert_eq!(buf.resize(1 << 16), Ok(()));
        assert_eq!(buf.write(&[1; 100]), 100);
        assert_eq!(peeked(&buf, 0, 9), b"56789ab\x01\x01");
        buf.clear();
        assert_eq!(buf.resize(0), Ok(()));
    }

    #[test]
    fn zero_capacity_holds_nothing() {
        let mut buf = SendBuffer::new(0);
        assert!(buf.is_empty() && buf.is_full());
        assert_eq!(buf.write(b"x"), 0);
        assert_eq!(buf.write_with(10, |room| room.len() + 1), 0);
        assert_eq!(buf.ack(1), 0);
        assert_eq!(buf.peek(0, 1), (&b""[..], &b""[..]));
        assert_eq!(buf.copy_to(0, &mut [0; 4]), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(Vec<u8>),
        WriteWith { max: usize, fill: usize, byte: u8 },
        Ack(usize),
        Peek { offset: usize, len: usize },
        CopyTo { offset: usize, len: usize },
        Resize(usize),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Write),
            2 => (0usize..50, 0usize..60, any::<u8>())
                .prop_map(|(max, fill, byte)| Op::WriteWith { max, fill, byte }),
            4 => prop_oneof![0usize..40, Just(usize::MAX)].prop_map(Op::Ack),
            2 => (0usize..70, prop_oneof![0usize..70, Just(usize::MAX)])
                .prop_map(|(offset, len)| Op::Peek { offset, len }),
            2 => (0usize..70, 0usize..70).prop_map(|(offset, len)| Op::CopyTo { offset, len }),
            1 => (0usize..80).prop_map(Op::Resize),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        /// The ring behaves like a bounded `VecDeque` of bytes, across any wrap-around.
        #[test]
        fn matches_vecdeque_model(capacity in 0usize..64, ops in proptest::collection::vec(op(), 0..200)) {
            let mut buf = SendBuffer::new(capacity);
            let mut model: VecDeque<u8> = VecDeque::new();
            let mut cap = capacity;
            for op in ops {
                match op {
                    Op::Write(data) => {
                        let n = buf.write(&data);
                        prop_assert_eq!(n, data.len().min(cap - model.len()));
                        model.extend(&data[..n]);
                    }
                    Op::WriteWith { max, fill, byte } => {
                        let mut offered = 0;
                        let n = buf.write_with(max, |room| {
                            offered = room.len();
                            room.fill(byte);
                            fill
                        });
                        prop_assert!(offered <= max.min(cap - model.len()));
                        prop_assert_eq!(n, fill.min(offered));
                        model.extend(std::iter::repeat_n(byte, n));
                    }
                    Op::Ack(n) => {
                        let dropped = buf.ack(n);
                        prop_assert_eq!(dropped, n.min(model.len()));
                        model.drain(..dropped);
                    }
                    Op::Peek { offset, len } => {
                        let (a, b) = buf.peek(offset, len);
                        prop_assert!(b.is_empty() || !a.is_empty());
                        let expected: Vec<u8> =
                            model.iter().skip(offset).take(len).copied().collect();
                        prop_assert_eq!([a, b].concat(), expected);
                    }
                    Op::CopyTo { offset, len } => {
                        let mut dst = vec![0; len];
                        let n = buf.copy_to(offset, &mut dst);
                        let expected: Vec<u8> =
                            model.iter().skip(offset).take(len).copied().collect();
                        prop_assert_eq!(&dst[..n], &expected[..]);
                    }
                    Op::Resize(new_capacity) => {
                        let result = buf.resize(new_capacity);
                        if new_capacity >= model.len() {
                            prop_assert_eq!(result, Ok(()));
                            cap = new_capacity;
                        } else {
                            prop_assert_eq!(
                                result,
                                Err(ResizeError { requested: new_capacity, held: model.len() })
                            );
                        }
                    }
                    Op::Clear => {
                        buf.clear();
                        model.clear();
                    }
                }
                prop_assert_eq!(buf.capacity(), cap);
                prop_assert_eq!(buf.len(), model.len());
                prop_assert_eq!(buf.free(), cap - model.len());
                prop_assert_eq!(buf.is_empty(), model.is_empty());
                prop_assert_eq!(peeked(&buf, 0, usize::MAX), model.iter().copied().collect::<Vec<u8>>());
            }
        }
    }
}
