//! IPv4 fragment reassembly (RFC 791 §3.2, with RFC 815's hole bookkeeping).
//!
//! Memory is bounded three ways: the number of datagrams in reassembly, the bytes held by
//! all of them together, and the number of disjoint ranges one datagram may have. A
//! datagram not complete within the timeout (30 s, as Linux's `ipfrag_time`) is dropped;
//! if its first fragment had arrived, the caller is handed what it needs to send ICMP Time
//! Exceeded, code 1 (RFC 792; RFC 1122 §3.3.2).
//!
//! Overlaps: a fragment wholly inside data already received is a duplicate and ignored;
//! one that overlaps partly makes the whole datagram suspect, and it is discarded, as Linux
//! has done since the FragmentSmack fixes (compare RFC 5722 for IPv6).

use std::collections::BTreeMap;

use super::stats::DropReason;
use crate::time::{Duration, Instant};
use crate::wire::{Ipv4Addr, Ipv4Repr};

/// The largest IPv4 payload: a 65,535-byte datagram less a minimal header.
const MAX_PAYLOAD: usize = 65_535 - 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    pub timeout: Duration,
    pub max_datagrams: usize,
    /// Bytes of payload held across all datagrams.
    pub max_bytes: usize,
    /// Disjoint received ranges per datagram; a datagram needing more is discarded.
    pub max_ranges: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> ReassemblyConfig {
        ReassemblyConfig {
            timeout: Duration::from_secs(30),
            max_datagrams: 64,
            max_bytes: 1 << 20,
            max_ranges: 32,
        }
    }
}

/// Fragments belong together when source, destination, protocol and identification match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
}

#[derive(Debug)]
struct Datagram {
    deadline: Instant,
    payload: Vec<u8>,
    /// Received byte ranges, sorted and disjoint (adjacent ones merged).
    ranges: Vec<(usize, usize)>,
    /// Known once the last fragment (MF clear) arrives.
    total_len: Option<usize>,
    /// The header of the fragment at offset 0, once it arrives.
    first_header: Option<Ipv4Repr>,
}

/// A complete datagram: its header (fragment fields cleared) and the whole payload.
#[derive(Debug, PartialEq, Eq)]
pub struct Reassembled {
    pub repr: Ipv4Repr,
    pub payload: Vec<u8>,
}

/// A datagram that timed out after its first fragment arrived: the material for ICMP
/// Time Exceeded (the original header and the first 8 bytes of its payload).
#[derive(Debug, PartialEq, Eq)]
pub struct Expired {
    pub header: Ipv4Repr,
    pub leading_bytes: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum FragmentOutcome {
    /// Held; the datagram is not complete yet (or the fragment was a duplicate).
    Held,
    Complete(Reassembled),
    Dropped(DropReason),
}

#[derive(Debug, Default)]
pub struct Reassembler {
    config: ReassemblyConfig,
    datagrams: BTreeMap<Key, Datagram>,
    bytes_held: usize,
}

impl Reassembler {
    pub fn new(config: ReassemblyConfig) -> Reassembler {
        Reassembler { config, datagrams: BTreeMap::new(), bytes_held: 0 }
    }

    /// Adds one fragment: `repr` is its header (`more_frags` or `frag_offset` set) and
    /// `payload` its data.
    pub fn add(&mut self, now: Instant, repr: &Ipv4Repr, payload: &[u8]) -> FragmentOutcome {
        let start = usize::from(repr.frag_offset);
        let end = start + payload.len();
        if repr.more_frags && (payload.is_empty() || !payload.len().is_multiple_of(8)) {
            return FragmentOutcome::Dropped(DropReason::FragmentMalformed);
        }
        if end > MAX_PAYLOAD {
            return FragmentOutcome::Dropped(DropReason::FragmentTooLarge);
        }
        let key = Key {
            src: repr.src_addr,
            dst: repr.dst_addr,
            protocol: repr.next_header.into(),
            ident: repr.ident,
        };
        if !self.datagrams.contains_key(&key) {
            if self.datagrams.len() >= self.config.max_datagrams {
                return FragmentOutcome::Dropped(DropReason::FragmentNoMemory);
            }
            let datagram = Datagram {
                deadline: now + self.config.timeout,
                payload: Vec::new(),
                ranges: Vec::new(),
                total_len: None,
                first_header: None,
            };
            self.datagrams.insert(key, datagram);
        }
        match self.insert(key, repr, start, payload) {
            Ok(true) => {
                let datagram = self.datagrams.remove(&key).expect("datagram present");
                self.bytes_held -= datagram.payload.len();
                let mut header = datagram.first_header.expect("complete datagram has its first fragment");
                header.more_frags = false;
                header.frag_offset = 0;
                header.payload_len = datagram.payload.len();
                FragmentOutcome::Complete(Reassembled { repr: header, payload: datagram.payload })
            }
            Ok(false) => FragmentOutcome::Held,
            Err(reason) => {
                self.discard(&key);
                FragmentOutcome::Dropped(reason)
            }
        }
    }

    /// Places the fragment; true when the datagram is complete.
    fn insert(&mut self, key: Key, repr: &Ipv4Repr, start: usize, data: &[u8]) -> Result<bool, DropReason> {
        let max_ranges = self.config.max_ranges;
        let free = self.config.max_bytes.saturating_sub(self.bytes_held);
        let datagram = self.datagrams.get_mut(&key).expect("datagram present");
        let end = start + data.len();

        if !repr.more_frags {
            match datagram.total_len {
                Some(total) if total != end => return Err(DropReason::FragmentOverlap),
                _ => datagram.total_len = Some(end),
            }
        }
        if datagram.total_len.is_some_and(|total| end > total) {
            return Err(DropReason::FragmentOverlap);
        }

        // Find where the range goes; reject partial overlaps, ignore duplicates.
        let index = datagram.ranges.partition_point(|&(_, e)| e <= start);
        if let Some(&(s, e)) = datagram.ranges.get(index) {
            if s <= start && end <= e {
                return Ok(false);
            }
            if s < end {
                return Err(DropReason::FragmentOverlap);
            }
        }

        if end > datagram.payload.len() {
            let growth = end - datagram.payload.len();
            if growth > free {
                return Err(DropReason::FragmentNoMemory);
            }
            datagram.payload.resize(end, 0);
            self.bytes_held += growth;
        }
        datagram.payload[start..end].copy_from_slice(data);
        if start == 0 {
            datagram.first_header = Some(*repr);
        }

        // Insert and merge with neighbours that touch.
        datagram.ranges.insert(index, (start, end));
        if index + 1 < datagram.ranges.len() && datagram.ranges[index + 1].0 == end {
            datagram.ranges[index].1 = datagram.ranges[index + 1].1;
            datagram.ranges.remove(index + 1);
        }
        if index > 0 && datagram.ranges[index - 1].1 == start {
            datagram.ranges[index - 1].1 = datagram.ranges[index].1;
            datagram.ranges.remove(index);
        }
        if datagram.ranges.len() > max_ranges {
            return Err(DropReason::FragmentNoMemory);
        }

        Ok(matches!((datagram.total_len, datagram.ranges.as_slice()), (Some(total), [(0, e)]) if *e == total))
    }

    fn discard(&mut self, key: &Key) {
        if let Some(datagram) = self.datagrams.remove(key) {
            self.bytes_held -= datagram.payload.len();
        }
    }

    /// Drops the next datagram past its deadline, returning what ICMP Time Exceeded needs
    /// when its first fragment had arrived. Call until it returns `None`; `timed_out`
    /// counts every datagram dropped.
    pub fn poll(&mut self, now: Instant, timed_out: &mut u64) -> Option<Expired> {
        loop {
            let key = self.datagrams.iter().find(|(_, d)| d.deadline <= now).map(|(k, _)| *k)?;
            let datagram = self.datagrams.remove(&key).expect("datagram present");
            self.bytes_held -= datagram.payload.len();
            *timed_out += 1;
            if let Some(header) = datagram.first_header {
                let quoted = datagram.ranges.first().map_or(0, |&(_, e)| e.min(8));
                return Some(Expired { header, leading_bytes: datagram.payload[..quoted].to_vec() });
            }
        }
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.datagrams.values().map(|d| d.deadline).min()
    }

    pub fn datagrams_held(&self) -> usize {
        self.datagrams.len()
    }

    pub fn bytes_held(&self) -> usize {
        self.bytes_held
    }
}

/// Whether a header describes a fragment rather than a whole datagram.
pub fn is_fragment(repr: &Ipv4Repr) -> bool {
    repr.more_frags || repr.frag_offset != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IpProtocol;
    use proptest::prelude::*;

    /// A fragment header as the peer 10.0.0.2 would send it.
    fn udp_header(ident: u16, offset: u16, more: bool, len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 2),
            dst_addr: Ipv4Addr::new(10, 0, 0, 1),
            next_header: IpProtocol::Udp,
            payload_len: len,
            hop_limit: 64,
            ident,
            dont_frag: false,
            more_frags: more,
            frag_offset: offset,
            dscp_ecn: 0,
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn feed(
        r: &mut Reassembler,
        now: Instant,
        ident: u16,
        whole: &[u8],
        pieces: &[(usize, usize)],
    ) -> FragmentOutcome {
        let mut last = FragmentOutcome::Held;
        for &(s, e) in pieces {
            let repr = udp_header(ident, s as u16, e != whole.len(), e - s);
            last = r.add(now, &repr, &whole[s..e]);
        }
        last
    }

    #[test]
    fn reassembles_in_any_order() {
        let whole = data(4000);
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let outcome = feed(&mut r, Instant::ZERO, 1, &whole, &[(2960, 4000), (0, 1480), (1480, 2960)]);
        let FragmentOutcome::Complete(done) = outcome else { panic!("not complete: {outcome:?}") };
        assert_eq!(done.payload, whole);
        assert_eq!(done.repr.payload_len, 4000);
        assert!(!done.repr.more_frags && done.repr.frag_offset == 0);
        assert_eq!(r.bytes_held(), 0);
        assert_eq!(r.datagrams_held(), 0);
    }

    #[test]
    fn duplicates_are_ignored_partial_overlaps_discard() {
        let whole = data(3000);
        let mut r = Reassembler::new(ReassemblyConfig::default());
        assert_eq!(feed(&mut r, Instant::ZERO, 1, &whole, &[(0, 1480), (0, 1480)]), FragmentOutcome::Held);
        assert_eq!(feed(&mut r, Instant::ZERO, 1, &whole, &[(8, 16)]), FragmentOutcome::Held);
        let overlapping = udp_header(1, 1472, true, 16);
        assert_eq!(
            r.add(Instant::ZERO, &overlapping, &whole[1472..1488]),
            FragmentOutcome::Dropped(DropReason::FragmentOverlap)
        );
        assert_eq!(r.datagrams_held(), 0);
        assert_eq!(r.bytes_held(), 0);
    }

    #[test]
    fn rejects_bad_fragments() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        // A non-final fragment must carry a multiple of 8 bytes.
        let odd = udp_header(1, 0, true, 13);
        assert_eq!(
            r.add(Instant::ZERO, &odd, &[0; 13]),
            FragmentOutcome::Dropped(DropReason::FragmentMalformed)
        );
        // Offset plus length past 65,515 bytes.
        let huge = udp_header(2, 65_528, false, 8);
        assert_eq!(
            r.add(Instant::ZERO, &huge, &[0; 8]),
            FragmentOutcome::Dropped(DropReason::FragmentTooLarge)
        );
        // Data past the end set by the last fragment.
        let last = udp_header(3, 8, false, 8);
        assert_eq!(r.add(Instant::ZERO, &last, &[0; 8]), FragmentOutcome::Held);
        let beyond = udp_header(3, 16, true, 8);
        assert_eq!(
            r.add(Instant::ZERO, &beyond, &[0; 8]),
            FragmentOutcome::Dropped(DropReason::FragmentOverlap)
        );
    }

    #[test]
    fn memory_is_bounded() {
        let config = ReassemblyConfig { max_datagrams: 2, max_bytes: 4096, ..ReassemblyConfig::default() };
        let mut r = Reassembler::new(config);
        let piece = udp_header(1, 0, true, 1480);
        assert_eq!(r.add(Instant::ZERO, &piece, &[0; 1480]), FragmentOutcome::Held);
        let piece = udp_header(2, 0, true, 1480);
        assert_eq!(r.add(Instant::ZERO, &piece, &[0; 1480]), FragmentOutcome::Held);
        let piece = udp_header(3, 0, true, 8);
        assert_eq!(
            r.add(Instant::ZERO, &piece, &[0; 8]),
            FragmentOutcome::Dropped(DropReason::FragmentNoMemory)
        );
        // A far-off fragment would need more bytes than the budget allows.
        let far = udp_header(2, 8000, true, 8);
        assert_eq!(
            r.add(Instant::ZERO, &far, &[0; 8]),
            FragmentOutcome::Dropped(DropReason::FragmentNoMemory)
        );
        assert_eq!(r.bytes_held(), 1480);
    }

    #[test]
    fn too_many_ranges_discard() {
        let config = ReassemblyConfig { max_ranges: 3, ..ReassemblyConfig::default() };
        let mut r = Reassembler::new(config);
        for (i, offset) in [0u16, 16, 32].iter().enumerate() {
            let piece = udp_header(1, *offset, true, 8);
            assert_eq!(r.add(Instant::ZERO, &piece, &[i as u8; 8]), FragmentOutcome::Held);
        }
        let piece = udp_header(1, 48, true, 8);
        assert_eq!(
            r.add(Instant::ZERO, &piece, &[0; 8]),
            FragmentOutcome::Dropped(DropReason::FragmentNoMemory)
        );
        assert_eq!(r.bytes_held(), 0);
    }

    #[test]
    fn times_out_after_thirty_seconds() {
        let whole = data(3000);
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let t0 = Instant::from_secs(1);
        feed(&mut r, t0, 1, &whole, &[(0, 1480)]);
        feed(&mut r, t0, 2, &whole, &[(1480, 2960)]);
        assert_eq!(r.poll_at(), Some(t0 + Duration::from_secs(30)));
        let mut timed_out = 0;
        assert_eq!(r.poll(t0 + Duration::from_secs(29), &mut timed_out), None);
        let expired = r.poll(t0 + Duration::from_secs(30), &mut timed_out).expect("first fragment held");
        assert_eq!(expired.header.ident, 1);
        assert_eq!(expired.leading_bytes, whole[..8]);
        // The datagram without its first fragment is dropped silently (no ICMP possible).
        assert_eq!(r.poll(t0 + Duration::from_secs(30), &mut timed_out), None);
        assert_eq!(timed_out, 2);
        assert_eq!(r.bytes_held(), 0);
    }

    proptest! {
        /// Any order, with duplicates, reassembles exactly; memory returns to zero.
        #[test]
        fn any_order_with_duplicates(len in 1usize..6000, piece in 1usize..200, seed in any::<u64>()) {
            let whole = data(len);
            let step = piece * 8;
            let mut pieces: Vec<(usize, usize)> = (0..len).step_by(step).map(|s| (s, (s + step).min(len))).collect();
            let dup = pieces[(seed as usize) % pieces.len()];
            pieces.push(dup);
            let n = pieces.len();
            for i in 0..n {
                pieces.swap(i, (seed.rotate_left(i as u32) as usize) % n);
            }
            // Enough ranges for the worst interleaving of up to 750 pieces.
            let mut r = Reassembler::new(ReassemblyConfig { max_ranges: 1024, ..ReassemblyConfig::default() });
            let mut complete = None;
            for &(s, e) in &pieces {
                let repr = udp_header(9, s as u16, e != len, e - s);
                if let FragmentOutcome::Complete(done) = r.add(Instant::ZERO, &repr, &whole[s..e]) {
                    complete = Some(done);
                }
            }
            let done = complete.expect("complete");
            prop_assert_eq!(done.payload, whole);
            // A duplicate arriving after completion starts a new datagram, which expires.
            let mut timed_out = 0;
            while r.poll(Instant::ZERO + Duration::from_secs(30), &mut timed_out).is_some() {}
            prop_assert_eq!(r.bytes_held(), 0);
            prop_assert!(timed_out <= 1);
        }

        /// Arbitrary fragment headers never panic and never exceed the memory bound.
        #[test]
        fn junk_is_bounded(frags in proptest::collection::vec((any::<u16>(), 0u16..8191, any::<bool>(), 0usize..1500), 0..200)) {
            let config = ReassemblyConfig { max_bytes: 64 * 1024, ..ReassemblyConfig::default() };
            let mut r = Reassembler::new(config);
            for (ident, offset8, more, len) in frags {
                let repr = udp_header(ident % 4, offset8 * 8, more, len);
                let _ = r.add(Instant::ZERO, &repr, &vec![0; len]);
                prop_assert!(r.bytes_held() <= 64 * 1024);
                prop_assert!(r.datagrams_held() <= config.max_datagrams);
            }
        }
    }
}
