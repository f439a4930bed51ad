//! Two in-memory [`Device`]s wired back to back: what one transmits, the other receives.
//!
//! This is for benchmarks that measure the stack and nothing else. It is not the
//! simulator on purpose: the simulator models a link (latency, bandwidth, loss, a virtual
//! event queue, pcap capture) and moves owned `Vec<u8>` frames, one allocation per frame,
//! all of which would be counted as stack work. Here each direction is a fixed ring of
//! frame buffers allocated once in [`DevicePair::new`]: transmitting writes into the next
//! free buffer, receiving lends the oldest filled one, and in steady state nothing is
//! allocated, copied or timed besides what the stack itself does.
//!
//! The two ends share the rings, so instead of two owned devices the pair hands out one
//! end at a time ([`DevicePair::end`]), borrowing the ring it receives from and the ring
//! it transmits into. Poll one interface with `pair.end(Side::A)`, the other with
//! `pair.end(Side::B)`.

use sluice_core::phy::{Device, DeviceCaps, RxToken, TxToken};
use sluice_core::time::Instant;

/// Ethernet header with an 802.1Q tag: the most a frame adds to the IP MTU.
const LINK_HEADER_MAX: usize = 18;

/// One direction of the pair: a bounded FIFO of preallocated frame buffers.
#[derive(Debug)]
struct FrameRing {
    /// Every buffer is `frame_capacity` bytes long, allocated once.
    frames: Box<[Box<[u8]>]>,
    /// The filled length of each buffer.
    lens: Box<[usize]>,
    /// Index of the oldest filled buffer.
    head: usize,
    /// Filled buffers.
    count: usize,
    /// Frames longer than a buffer, discarded at transmission.
    oversized: u64,
    /// Replies written through a receive step's token while the ring was full, discarded.
    overflowed: u64,
    /// Frames that passed through.
    frames_carried: u64,
    /// Oversized frames are written here and discarded; it grows only on that error path.
    scratch: Vec<u8>,
}

impl FrameRing {
    fn new(slots: usize, frame_capacity: usize) -> FrameRing {
        let slots = slots.max(1);
        FrameRing {
            frames: (0..slots).map(|_| vec![0u8; frame_capacity].into_boxed_slice()).collect(),
            lens: vec![0; slots].into_boxed_slice(),
            head: 0,
            count: 0,
            oversized: 0,
            overflowed: 0,
            frames_carried: 0,
            scratch: Vec::new(),
        }
    }

    fn is_full(&self) -> bool {
        self.count == self.frames.len()
    }

    /// Takes the oldest frame out of the ring; its buffer stays lent until the borrow ends.
    fn pop(&mut self) -> Option<&mut [u8]> {
        if self.count == 0 {
            return None;
        }
        let index = self.head;
        self.head = if index + 1 == self.frames.len() { 0 } else { index + 1 };
        self.count -= 1;
        let len = self.lens[index];
        Some(&mut self.frames[index][..len])
    }

    /// Fills the next free buffer with `len` bytes written by `f` and queues it.
    fn push<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let capacity = self.frames[0].len();
        if self.is_full() || len > capacity {
            // Let the caller write the frame, then drop it, as a NIC drops a giant or a
            // reply that finds its queue full.
            if len > capacity {
                self.oversized += 1;
            } else {
                self.overflowed += 1;
            }
            self.scratch.clear();
            self.scratch.resize(len, 0);
            return f(&mut self.scratch);
        }
        let mut index = self.head + self.count;
        if index >= self.frames.len() {
            index -= self.frames.len();
        }
        let result = f(&mut self.frames[index][..len]);
        self.lens[index] = len;
        self.count += 1;
        self.frames_carried += 1;
        result
    }
}

/// Which end of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectionCounters {
    /// Frames queued by the transmitting end.
    pub frames: u64,
    /// Frames waiting for the receiving end to take them.
    pub pending: usize,
    /// Frames discarded for being longer than the MTU allows.
    pub oversized: u64,
    /// Replies discarded because the ring was full (see [`PairEnd`]'s `receive`).
    pub overflowed: u64,
}

/// Two devices connected back to back through two rings of preallocated frames.
#[derive(Debug)]
pub struct DevicePair {
    a_to_b: FrameRing,
    b_to_a: FrameRing,
    caps: DeviceCaps,
}

impl DevicePair {
    /// A pair carrying IP packets of up to `mtu` bytes, each direction holding up to
    /// `slots` frames before `transmit` reports it full. Received checksums are verified
    /// (the caps say nothing arrives unverified).
    pub fn new(mtu: usize, slots: usize) -> DevicePair {
        let frame_capacity = mtu + LINK_HEADER_MAX;
        DevicePair {
            a_to_b: FrameRing::new(slots, frame_capacity),
            b_to_a: FrameRing::new(slots, frame_capacity),
            caps: DeviceCaps { mtu, rx_checksums_unverified: false },
        }
    }

    /// The device of one side, for one `Interface::poll`.
    pub fn end(&mut self, side: Side) -> PairEnd<'_> {
        let (rx, tx) = match side {
            Side::A => (&mut self.b_to_a, &mut self.a_to_b),
            Side::B => (&mut self.a_to_b, &mut self.b_to_a),
        };
        PairEnd { rx, tx, caps: self.caps }
    }

    /// Counters of the direction `from` transmits in.
    pub fn counters(&self, from: Side) -> DirectionCounters {
        let ring = match from {
            Side::A => &self.a_to_b,
            Side::B => &self.b_to_a,
        };
        DirectionCounters {
            frames: ring.frames_carried,
            pending: ring.count,
            oversized: ring.oversized,
            overflowed: ring.overflowed,
        }
    }
}

/// One end of a [`DevicePair`], borrowed for the duration of a poll.
#[derive(Debug)]
pub struct PairEnd<'a> {
    rx: &'a mut FrameRing,
    tx: &'a mut FrameRing,
    caps: DeviceCaps,
}

/// A received frame, lent out of the ring.
pub struct PairRxToken<'a> {
    frame: &'a mut [u8],
}

impl RxToken for PairRxToken<'_> {
    fn consume<R>(self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(self.frame)
    }
}

/// Room for one frame in the ring towards the other end.
pub struct PairTxToken<'a> {
    ring: &'a mut FrameRing,
}

impl TxToken for PairTxToken<'_> {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        self.ring.push(len, f)
    }
}

impl Device for PairEnd<'_> {
    type RxToken<'t>
        = PairRxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = PairTxToken<'t>
    where
        Self: 't;

    /// The reply token is handed out even when the other direction is full (a reply written
    /// then is dropped and counted), so two ends with full rings can never wait on each other.
    fn receive(&mut self, _now: Instant) -> Option<(PairRxToken<'_>, PairTxToken<'_>)> {
        let frame = self.rx.pop()?;
        Some((PairRxToken { frame }, PairTxToken { ring: self.tx }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<PairTxToken<'_>> {
        (!self.tx.is_full()).then_some(PairTxToken { ring: self.tx })
    }

    fn caps(&self) -> DeviceCaps {
        self.caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(end: &mut PairEnd<'_>, bytes: &[u8]) -> bool {
        match end.transmit(Instant::ZERO) {
            Some(token) => {
                token.consume(bytes.len(), |buf| buf.copy_from_slice(bytes));
                true
            }
            None => false,
        }
    }

    fn recv(end: &mut PairEnd<'_>) -> Option<Vec<u8>> {
        let (rx, _tx) = end.receive(Instant::ZERO)?;
        Some(rx.consume(|frame| frame.to_vec()))
    }

    #[test]
    fn frames_cross_in_order_each_way() {
        let mut pair = DevicePair::new(1500, 4);
        assert!(send(&mut pair.end(Side::A), b"one"));
        assert!(send(&mut pair.end(Side::A), b"two"));
        assert!(send(&mut pair.end(Side::B), b"back"));
        assert_eq!(recv(&mut pair.end(Side::A)).as_deref(), Some(&b"back"[..]));
        assert_eq!(recv(&mut pair.end(Side::A)), None);
        assert_eq!(recv(&mut pair.end(Side::B)).as_deref(), Some(&b"one"[..]));
        assert_eq!(recv(&mut pair.end(Side::B)).as_deref(), Some(&b"two"[..]));
        assert_eq!(recv(&mut pair.end(Side::B)), None);
        assert_eq!(pair.counters(Side::A).frames, 2);
        assert_eq!(pair.counters(Side::B).frames, 1);
    }

    #[test]
    fn a_full_ring_refuses_and_wraps_around() {
        let mut pair = DevicePair::new(1500, 2);
        for round in 0u8..5 {
            assert!(send(&mut pair.end(Side::A), &[round; 10]));
            assert!(send(&mut pair.end(Side::A), &[round + 100; 20]));
            assert!(!send(&mut pair.end(Side::A), b"no room"));
            assert_eq!(pair.counters(Side::A).pending, 2);
            assert_eq!(recv(&mut pair.end(Side::B)), Some(vec![round; 10]));
            assert_eq!(recv(&mut pair.end(Side::B)), Some(vec![round + 100; 20]));
        }
        assert_eq!(pair.counters(Side::A).frames, 10);
    }

    #[test]
    fn a_reply_into_a_full_ring_is_dropped_and_counted() {
        let mut pair = DevicePair::new(1500, 1);
        assert!(send(&mut pair.end(Side::A), b"request"));
        assert!(send(&mut pair.end(Side::B), b"unread"));
        let mut b = pair.end(Side::B);
        let (rx, tx) = b.receive(Instant::ZERO).expect("the request waits");
        assert_eq!(rx.consume(|frame| frame.to_vec()), b"request");
        tx.consume(5, |buf| buf.copy_from_slice(b"reply"));
        let counters = pair.counters(Side::B);
        assert_eq!((counters.frames, counters.overflowed), (1, 1));
        assert_eq!(recv(&mut pair.end(Side::A)).as_deref(), Some(&b"unread"[..]));
        assert_eq!(recv(&mut pair.end(Side::A)), None);
    }

    #[test]
    fn oversized_frames_are_dropped_and_counted() {
        let mut pair = DevicePair::new(100, 4);
        assert!(send(&mut pair.end(Side::A), &[7; 200]));
        assert_eq!(recv(&mut pair.end(Side::B)), None);
        let counters = pair.counters(Side::A);
        assert_eq!((counters.frames, counters.oversized), (0, 1));
        // A frame of exactly MTU plus a tagged Ethernet header still fits.
        assert!(send(&mut pair.end(Side::A), &[8; 118]));
        assert_eq!(recv(&mut pair.end(Side::B)), Some(vec![8; 118]));
    }
}
