//! Connection deadlines ordered by time, so expiry costs O(log n) per expired entry and
//! never a scan of every connection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::socket::SocketHandle;
use crate::time::Instant;

/// A min-heap of `(deadline, connection, generation)`.
///
/// Entries are never removed in place: the owner keeps each connection's true deadline
/// and generation, and an entry that no longer matches is dropped (or re-queued at the
/// later deadline) when it reaches the top. A connection therefore needs one entry at a
/// time; the heap is compacted when stale entries outnumber live connections, so its
/// memory stays proportional to the connections, and pushes stop allocating once the
/// heap has grown to its working size.
#[derive(Debug, Default)]
pub struct DeadlineQueue {
    heap: BinaryHeap<Reverse<(Instant, SocketHandle, u64)>>,
}

impl DeadlineQueue {
    pub fn push(&mut self, deadline: Instant, conn: SocketHandle, generation: u64) {
        self.heap.push(Reverse((deadline, conn, generation)));
    }

    /// The earliest queued deadline (possibly a stale one: waking early is harmless).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, SocketHandle, u64)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse(entry)| entry),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Keeps only the entries `live` accepts (in place, no allocation).
    pub fn retain(&mut self, mut live: impl FnMut(Instant, SocketHandle, u64) -> bool) {
        self.heap.retain(|Reverse((at, conn, generation))| live(*at, *conn, *generation));
    }
}
