//! A bounded ring of datagrams stored back to back in one buffer allocated up front.
//!
//! Socket buffers for UDP and ICMP use it, so that queueing a datagram never allocates.
//! Each datagram is contiguous; when one does not fit at the end of the storage the tail
//! is skipped (and accounted) and it is written at the start.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
struct Slot<M> {
    meta: M,
    offset: usize,
    len: usize,
    /// Bytes skipped at the end of storage before this datagram (freed with it).
    padding: usize,
}

#[derive(Debug)]
pub struct DatagramRing<M> {
    slots: VecDeque<Slot<M>>,
    max_datagrams: usize,
    storage: Box<[u8]>,
    /// Where the oldest datagram starts.
    read: usize,
    /// Where the next datagram goes.
    write: usize,
    /// Bytes in use, padding included.
    used: usize,
}

impl<M: Copy> DatagramRing<M> {
    pub fn new(max_datagrams: usize, capacity_bytes: usize) -> DatagramRing<M> {
        DatagramRing {
            slots: VecDeque::with_capacity(max_datagrams),
            max_datagrams,
            storage: vec![0; capacity_bytes].into_boxed_slice(),
            read: 0,
            write: 0,
            used: 0,
        }
    }

    pub fn capacity_bytes(&self) -> usize {
        self.storage.len()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes of payload queued (padding excluded).
    pub fn queued_bytes(&self) -> usize {
        self.slots.iter().map(|s| s.len).sum()
    }

    /// Whether a datagram of `len` bytes would fit now.
    pub fn can_push(&self, len: usize) -> bool {
        self.place(len).is_some()
    }

    /// Where a datagram of `len` bytes would go: (offset, padding).
    fn place(&self, len: usize) -> Option<(usize, usize)> {
        let cap = self.storage.len();
        if self.slots.len() >= self.max_datagrams || len > cap {
            return None;
        }
        if self.slots.is_empty() {
            return Some((0, 0));
        }
        if self.write > self.read || (self.write == self.read && self.used == 0) {
            // Data occupies [read, write): room at the end, else at the start.
            if len <= cap - self.write {
                Some((self.write, 0))
            } else if len <= self.read {
                Some((0, cap - self.write))
            } else {
                None
            }
        } else {
            // Wrapped: data occupies [read, cap) and [0, write).
            (len <= self.read - self.write).then_some((self.write, 0))
        }
    }

    /// Reserves room for a datagram and returns it to be filled, or `None` when full.
    pub fn push(&mut self, meta: M, len: usize) -> Option<&mut [u8]> {
        let (offset, padding) = self.place(len)?;
        if self.slots.is_empty() {
            self.read = 0;
        }
        self.slots.push_back(Slot { meta, offset, len, padding });
        self.write = offset + len;
        self.used += padding + len;
        Some(&mut self.storage[offset..offset + len])
    }

    /// Copies `data` in as one datagram; false when full.
    pub fn push_slice(&mut self, meta: M, data: &[u8]) -> bool {
        match self.push(meta, data.len()) {
            Some(room) => {
                room.copy_from_slice(data);
                true
            }
            None => false,
        }
    }

    /// The oldest datagram, without removing it.
    pub fn peek(&self) -> Option<(M, &[u8])> {
        self.slots.front().map(|s| (s.meta, &self.storage[s.offset..s.offset + s.len]))
    }

    /// Removes the oldest datagram, handing it to `f` first.
    pub fn pop_with<R>(&mut self, f: impl FnOnce(M, &[u8]) -> R) -> Option<R> {
        let slot = self.slots.pop_front()?;
        let result = f(slot.meta, &self.storage[slot.offset..slot.offset + slot.len]);
        self.used -= slot.padding + slot.len;
        self.read = slot.offset + slot.len;
        if self.slots.is_empty() {
            self.read = 0;
            self.write = 0;
            self.used = 0;
        }
        Some(result)
    }

    /// Drops every datagram.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.read = 0;
        self.write = 0;
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn wraps_and_keeps_order() {
        let mut ring = DatagramRing::new(8, 10);
        assert!(ring.push_slice(1, &[1; 4]));
        assert!(ring.push_slice(2, &[2; 4]));
        assert!(!ring.push_slice(3, &[3; 4]), "only 2 bytes left at the end and none at the start");
        assert_eq!(ring.pop_with(|m, d| (m, d.to_vec())), Some((1, vec![1; 4])));
        // 2 bytes at the end are skipped; the datagram goes to the start.
        assert!(ring.push_slice(3, &[3; 4]));
        assert!(!ring.push_slice(4, &[4; 1]), "wrapped: no room between write and read");
        assert_eq!(ring.pop_with(|m, d| (m, d.to_vec())), Some((2, vec![2; 4])));
        assert_eq!(ring.pop_with(|m, d| (m, d.to_vec())), Some((3, vec![3; 4])));
        assert!(ring.is_empty());
        assert!(ring.push_slice(5, &[5; 10]));
    }

    #[test]
    fn bounded_by_count_and_size() {
        let mut ring = DatagramRing::new(2, 100);
        assert!(ring.push_slice((), &[]));
        assert!(ring.push_slice((), &[0; 3]));
        assert!(!ring.push_slice((), &[]));
        let mut ring: DatagramRing<()> = DatagramRing::new(2, 100);
        assert!(ring.push((), 101).is_none());
    }

    proptest! {
        /// The ring behaves like an unbounded queue, except that it refuses when full.
        #[test]
        fn matches_model(ops in proptest::collection::vec((any::<bool>(), 0usize..40), 0..300)) {
            let mut ring = DatagramRing::new(6, 64);
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for (i, (push, len)) in ops.into_iter().enumerate() {
                if push {
                    let data = vec![i as u8; len];
                    if ring.push_slice(i, &data) {
                        model.push_back(data);
                    } else {
                        // An empty ring takes any datagram up to its capacity.
                        prop_assert!(!model.is_empty());
                    }
                } else {
                    let got = ring.pop_with(|_, d| d.to_vec());
                    prop_assert_eq!(got, model.pop_front());
                }
                prop_assert_eq!(ring.len(), model.len());
                prop_assert_eq!(ring.queued_bytes(), model.iter().map(Vec::len).sum::<usize>());
            }
        }
    }
}
