//! IPv4 fragment reassembly (RFC 791 §3.2, with RFC 815's hole bookkeeping).
//!
//! Memory is bounded four ways: the datagrams in reassembly, the datagrams from any one
//! source, the bytes held by all of them together, and the disjoint ranges one datagram
//! may have. When a new fragment needs room past one of the first three bounds, the
//! oldest datagram (of its source, for the per-source bound) is evicted and counted
//! ([`ReassemblyEvictions`]) rather than the new one refused: a datagram still incomplete
//! after many newer ones arrived most likely lost a fragment, and refusing new ones would
//! let a flood of never-completed fragments block every real datagram for the whole
//! timeout. The per-source bound keeps one source (a flood of first fragments, say) from
//! evicting the datagrams of others. A fragment is refused (`fragment_no_memory`) only
//! when its datagram could not fit even alone.
//!
//! The bytes counted are what a datagram holds allocated: its payload buffer (sized to the
//! highest offset received so far) plus a fixed charge for its bookkeeping at its largest
//! (key, record and a range list of `max_ranges`), so the bound is on real memory.
//!
//! RFC 1122 §3.3.2: a datagram not complete within the timeout (30 s, as Linux's
//! `ipfrag_time`) is dropped; if its first fragment had arrived, the caller is handed what
//! it needs to send ICMP Time Exceeded, code 1 (RFC 792).
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
    /// RFC 1122 §3.3.2's reassembly timeout (Linux's `ipfrag_time`: 30 s).
    pub timeout: Duration,
    /// Datagrams in reassembly at once.
    pub max_datagrams: usize,
    /// Datagrams in reassembly from one source address at once.
    pub max_per_source: usize,
    /// Bytes held across all datagrams, payload buffers and bookkeeping (Linux's
    /// `ipfrag_high_thresh`: 4 MiB).
    pub max_bytes: usize,
    /// Disjoint received ranges per datagram; a datagram needing more is discarded.
    pub max_ranges: usize,
}

impl Default for ReassemblyConfig {
    /// A server's defaults: Linux's memory and time limits; 16 datagrams per source, so
    /// that one source at its limit holds at most a quarter of the memory (16 datagrams of
    /// 64 KiB) and a few thousand sources' worth of table.
    fn default() -> ReassemblyConfig {
        ReassemblyConfig {
            timeout: Duration::from_secs(30),
            max_datagrams: 1024,
            max_per_source: 16,
            max_bytes: 4 << 20,
            max_ranges: 32,
        }
    }
}

/// Datagrams given up to make room for newer ones, by the bound that was reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyEvictions {
    /// `max_datagrams` were in reassembly.
    pub table_full: u64,
    /// A fragment needed more than `max_bytes` allow.
    pub memory_full: u64,
    /// The fragment's source had `max_per_source` datagrams in reassembly.
    pub source_limit: u64,
}

/// Fragments belong together when source, destination, protocol and identification match.
/// Ordered by source first, so one source's datagrams are a range of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
}

#[derive(Debug)]
struct Datagram {
    /// Arrival order: the key of `Reassembler::by_age`.
    serial: u64,
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
    /// Every datagram by arrival, oldest first. Deadlines follow the same order, since
    /// each is its arrival plus the one timeout and time never runs back.
    by_age: BTreeMap<u64, Key>,
    next_serial: u64,
    bytes_held: usize,
}

impl Reassembler {
    pub fn new(config: ReassemblyConfig) -> Reassembler {
        Reassembler {
            config,
            datagrams: BTreeMap::new(),
            by_age: BTreeMap::new(),
            next_serial: 0,
            bytes_held: 0,
        }
    }

    /// The fixed charge of one datagram besides its payload buffer: its key and record,
    /// its range list at `max_ranges` (plus one, the moment before a surplus is found),
    /// and its entries in the two maps (an estimate of a B-tree's share per element).
    fn overhead(&self) -> usize {
        let ranges = (self.config.max_ranges + 1) * core::mem::size_of::<(usize, usize)>();
        let maps = 2 * (core::mem::size_of::<Key>() + core::mem::size_of::<Datagram>())
            + 2 * core::mem::size_of::<(u64, Key)>();
        ranges + maps
    }

    fn charge(&self, datagram: &Datagram) -> usize {
        self.overhead() + datagram.payload.capacity()
    }

    /// Adds one fragment: `repr` is its header (`more_frags` or `frag_offset` set) and
    /// `payload` its data. Datagrams evicted to make room are counted in `evicted`.
    pub fn add(
        &mut self,
        now: Instant,
        repr: &Ipv4Repr,
        payload: &[u8],
        evicted: &mut ReassemblyEvictions,
    ) -> FragmentOutcome {
        let start = usize::from(repr.frag_offset);
        let end = start + payload.len();
        if repr.more_frags && (payload.is_empty() || !payload.len().is_multiple_of(8)) {
            return FragmentOutcome::Dropped(DropReason::FragmentMalformed);
        }
        if end > MAX_PAYLOAD {
            return FragmentOutcome::Dropped(DropReason::FragmentTooLarge);
        }
        if self.overhead() + end > self.config.max_bytes {
            // Its datagram could not be held even with the table to itself.
            return FragmentOutcome::Dropped(DropReason::FragmentNoMemory);
        }
        let key = Key {
            src: repr.src_addr,
            dst: repr.dst_addr,
            protocol: repr.next_header.into(),
            ident: repr.ident,
        };
        if !self.datagrams.contains_key(&key) {
            if let Err(reason) = self.make_room_for_datagram(key, evicted) {
                return FragmentOutcome::Dropped(reason);
            }
            let serial = self.next_serial;
            self.next_serial += 1;
            let datagram = Datagram {
                serial,
                deadline: now + self.config.timeout,
                payload: Vec::new(),
                ranges: Vec::new(),
                total_len: None,
                first_header: None,
            };
            self.bytes_held += self.charge(&datagram);
            self.by_age.insert(serial, key);
            self.datagrams.insert(key, datagram);
        }
        let capacity = match self.make_room_for_bytes(key, end, evicted) {
            Ok(capacity) => capacity,
            Err(reason) => {
                self.remove(&key);
                return FragmentOutcome::Dropped(reason);
            }
        };
        let before = self.datagrams.get(&key).map_or(0, |d| d.payload.capacity());
        let result = self.insert(key, repr, start, payload, capacity);
        if let Some(datagram) = self.datagrams.get(&key) {
            self.bytes_held = self.bytes_held - before + datagram.payload.capacity();
        }
        match result {
            Ok(true) => {
                let datagram = self.remove(&key).expect("datagram present");
                let mut header = datagram.first_header.expect("complete datagram has its first fragment");
                header.more_frags = false;
                header.frag_offset = 0;
                header.payload_len = datagram.payload.len();
                FragmentOutcome::Complete(Reassembled { repr: header, payload: datagram.payload })
            }
            Ok(false) => FragmentOutcome::Held,
            Err(reason) => {
                self.remove(&key);
                FragmentOutcome::Dropped(reason)
            }
        }
    }

    /// Room for one more datagram, `key`'s: its source's oldest goes if the source is at
    /// its limit, the oldest of all if the table is, then the oldest until the fixed
    /// charge fits.
    fn make_room_for_datagram(
        &mut self,
        key: Key,
        evicted: &mut ReassemblyEvictions,
    ) -> Result<(), DropReason> {
        if self.config.max_datagrams == 0 || self.config.max_per_source == 0 {
            return Err(DropReason::FragmentNoMemory);
        }
        let (count, oldest) = self.source_datagrams(key.src);
        if count >= self.config.max_per_source {
            if let Some(oldest) = oldest {
                self.remove(&oldest);
                evicted.source_limit += 1;
            }
        }
        while self.datagrams.len() >= self.config.max_datagrams {
            if !self.evict_oldest(None) {
                break;
            }
            evicted.table_full += 1;
        }
        while self.bytes_held + self.overhead() > self.config.max_bytes {
            if !self.evict_oldest(None) {
                return Err(DropReason::FragmentNoMemory);
            }
            evicted.memory_full += 1;
        }
        Ok(())
    }

    /// Room for `key`'s payload to reach `end` bytes, evicting older datagrams while the
    /// memory bound is in the way. Returns the capacity to give the payload buffer: `end`,
    /// or more (the whole datagram when its length is known, else twice the buffer) when
    /// that fits without evicting, so that in-order fragments do not copy the buffer at
    /// every step.
    fn make_room_for_bytes(
        &mut self,
        key: Key,
        end: usize,
        evicted: &mut ReassemblyEvictions,
    ) -> Result<usize, DropReason> {
        let datagram = self.datagrams.get(&key).expect("datagram present");
        let capacity = datagram.payload.capacity();
        if end <= capacity {
            return Ok(capacity);
        }
        let generous = datagram.total_len.unwrap_or((2 * capacity).min(MAX_PAYLOAD)).max(end);
        while self.bytes_held + (end - capacity) > self.config.max_bytes {
            if !self.evict_oldest(Some(key)) {
                return Err(DropReason::FragmentNoMemory);
            }
            evicted.memory_full += 1;
        }
        if self.bytes_held + (generous - capacity) <= self.config.max_bytes {
            Ok(generous)
        } else {
            Ok(end)
        }
    }

    /// How many datagrams `src` has in reassembly, and its oldest.
    fn source_datagrams(&self, src: Ipv4Addr) -> (usize, Option<Key>) {
        let low = Key { src, dst: Ipv4Addr::UNSPECIFIED, protocol: 0, ident: 0 };
        let high = Key { src, dst: Ipv4Addr::BROADCAST, protocol: u8::MAX, ident: u16::MAX };
        let mut count = 0;
        let mut oldest: Option<(u64, Key)> = None;
        for (key, datagram) in self.datagrams.range(low..=high) {
            count += 1;
            if oldest.is_none_or(|(serial, _)| datagram.serial < serial) {
                oldest = Some((datagram.serial, *key));
            }
        }
        (count, oldest.map(|(_, key)| key))
    }

    /// Evicts the oldest datagram other than `keep`; false if there is none.
    fn evict_oldest(&mut self, keep: Option<Key>) -> bool {
        let Some(victim) = self.by_age.values().find(|k| Some(**k) != keep).copied() else {
            return false;
        };
        self.remove(&victim);
        true
    }

    fn remove(&mut self, key: &Key) -> Option<Datagram> {
        let datagram = self.datagrams.remove(key)?;
        self.by_age.remove(&datagram.serial);
        self.bytes_held -= self.charge(&datagram);
        Some(datagram)
    }

    /// Places the fragment, growing the payload buffer to `capacity` if it must grow;
    /// true when the datagram is complete.
    fn insert(
        &mut self,
        key: Key,
        repr: &Ipv4Repr,
        start: usize,
        data: &[u8],
        capacity: usize,
    ) -> Result<bool, DropReason> {
        let max_ranges = self.config.max_ranges;
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
            let len = datagram.payload.len();
            datagram.payload.reserve_exact(capacity.max(end) - len);
            datagram.payload.resize(end, 0);
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

    /// Drops the next datagram past its deadline, returning what ICMP Time Exceeded needs
    /// when its first fragment had arrived. Call until it returns `None`; `timed_out`
    /// counts every datagram dropped.
    pub fn poll(&mut self, now: Instant, timed_out: &mut u64) -> Option<Expired> {
        loop {
            let key = *self.by_age.values().next()?;
            if self.datagrams.get(&key).is_some_and(|d| d.deadline > now) {
                return None;
            }
            let datagram = self.remove(&key).expect("datagram present");
            *timed_out += 1;
            if let Some(header) = datagram.first_header {
                let quoted = datagram.ranges.first().map_or(0, |&(_, e)| e.min(8));
                return Some(Expired { header, leading_bytes: datagram.payload[..quoted].to_vec() });
            }
        }
    }

    pub fn poll_at(&self) -> Option<Instant> {
        let key = self.by_age.values().next()?;
        self.datagrams.get(key).map(|d| d.deadline)
    }

    pub fn config(&self) -> &ReassemblyConfig {
        &self.config
    }

    pub fn datagrams_held(&self) -> usize {
        self.datagrams.len()
    }

    /// Datagrams in reassembly from `src`.
    pub fn datagrams_from(&self, src: Ipv4Addr) -> usize {
        self.source_datagrams(src).0
    }

    /// Memory held, as the bound counts it: payload buffers and bookkeeping.
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

    const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// A fragment header from `src` to 10.0.0.1.
    fn header_from(src: Ipv4Addr, ident: u16, offset: u16, more: bool, len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: src,
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

    /// A fragment header as the peer 10.0.0.2 would send it.
    fn udp_header(ident: u16, offset: u16, more: bool, len: usize) -> Ipv4Repr {
        header_from(PEER, ident, offset, more, len)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    /// Adds a fragment, ignoring evictions.
    fn add(r: &mut Reassembler, now: Instant, repr: &Ipv4Repr, payload: &[u8]) -> FragmentOutcome {
        r.add(now, repr, payload, &mut ReassemblyEvictions::default())
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
            last = add(r, now, &repr, &whole[s..e]);
        }
        last
    }

    /// The byte count agrees with what the datagrams hold, and stays within the bound.
    fn assert_accounting(r: &Reassembler) {
        let held: usize = r.datagrams.values().map(|d| r.charge(d)).sum();
        assert_eq!(r.bytes_held(), held, "accounting matches the buffers");
        assert!(r.bytes_held() <= r.config.max_bytes, "{} > {}", r.bytes_held(), r.config.max_bytes);
        assert!(r.datagrams_held() <= r.config.max_datagrams);
        assert_eq!(r.by_age.len(), r.datagrams.len());
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
            add(&mut r, Instant::ZERO, &overlapping, &whole[1472..1488]),
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
            add(&mut r, Instant::ZERO, &odd, &[0; 13]),
            FragmentOutcome::Dropped(DropReason::FragmentMalformed)
        );
        // Offset plus length past 65,515 bytes.
        let huge = udp_header(2, 65_528, false, 8);
        assert_eq!(
            add(&mut r, Instant::ZERO, &huge, &[0; 8]),
            FragmentOutcome::Dropped(DropReason::FragmentTooLarge)
        );
        // Data past the end set by the last fragment.
        let last = udp_header(3, 8, false, 8);
        assert_eq!(add(&mut r, Instant::ZERO, &last, &[0; 8]), FragmentOutcome::Held);
        let beyond = udp_header(3, 16, true, 8);
        assert_eq!(
            add(&mut r, Instant::ZERO, &beyond, &[0; 8]),
            FragmentOutcome::Dropped(DropReason::FragmentOverlap)
        );
    }

    #[test]
    fn full_table_evicts_the_oldest_and_the_newest_completes() {
        let config = ReassemblyConfig { max_datagrams: 4, max_per_source: 4, ..ReassemblyConfig::default() };
        let mut r = Reassembler::new(config);
        let mut evicted = ReassemblyEvictions::default();
        let whole = data(3000);
        // Four first fragments from different sources, whose rest never comes.
        for n in 0..4u8 {
            let src = Ipv4Addr::new(10, 0, 1, n);
            let first = header_from(src, 7, 0, true, 1480);
            assert_eq!(
                r.add(Instant::from_millis(u64::from(n)), &first, &whole[..1480], &mut evicted),
                FragmentOutcome::Held
            );
        }
        // A new datagram arrives in two fragments: each may push out the oldest.
        let t = Instant::from_millis(10);
        let second = udp_header(9, 1480, false, 1520);
        assert_eq!(r.add(t, &second, &whole[1480..], &mut evicted), FragmentOutcome::Held);
        assert_eq!(evicted, ReassemblyEvictions { table_full: 1, ..ReassemblyEvictions::default() });
        let first = udp_header(9, 0, true, 1480);
        let FragmentOutcome::Complete(done) = r.add(t, &first, &whole[..1480], &mut evicted) else {
            panic!("the newest datagram must complete");
        };
        assert_eq!(done.payload, whole);
        assert_eq!(evicted.table_full, 1, "completing needed no more room");
        // The oldest (source 10.0.1.0) went; the others are still there.
        assert_eq!(r.source_datagrams(Ipv4Addr::new(10, 0, 1, 0)).0, 0);
        assert_eq!(r.source_datagrams(Ipv4Addr::new(10, 0, 1, 1)).0, 1);
        assert_eq!(r.datagrams_held(), 3);
        assert_accounting(&r);
    }

    #[test]
    fn one_source_is_held_to_its_limit_and_others_reassemble() {
        let config = ReassemblyConfig { max_datagrams: 64, max_per_source: 4, ..ReassemblyConfig::default() };
        let mut r = Reassembler::new(config);
        let mut evicted = ReassemblyEvictions::default();
        let whole = data(3000);
        // Another source's datagram begins...
        let first = udp_header(1, 0, true, 1480);
        assert_eq!(r.add(Instant::ZERO, &first, &whole[..1480], &mut evicted), FragmentOutcome::Held);
        // ...while one source floods first fragments of datagrams it never finishes.
        let flooder = Ipv4Addr::new(10, 0, 0, 66);
        for ident in 0..1000u16 {
            let piece = header_from(flooder, ident, 0, true, 8);
            assert_eq!(
                r.add(Instant::from_micros(u64::from(ident)), &piece, &[0; 8], &mut evicted),
                FragmentOutcome::Held
            );
            assert!(r.source_datagrams(flooder).0 <= 4);
        }
        assert_eq!(evicted, ReassemblyEvictions { source_limit: 996, ..ReassemblyEvictions::default() });
        // The flooder's newest datagrams are the ones kept.
        let (count, oldest) = r.source_datagrams(flooder);
        assert_eq!((count, oldest.map(|k| k.ident)), (4, Some(996)));
        let rest = udp_header(1, 1480, false, 1520);
        let FragmentOutcome::Complete(done) =
            r.add(Instant::from_millis(5), &rest, &whole[1480..], &mut evicted)
        else {
            panic!("the other source's datagram must complete");
        };
        assert_eq!(done.payload, whole);
        assert_accounting(&r);
    }

    #[test]
    fn memory_pressure_evicts_the_oldest() {
        let config = ReassemblyConfig { max_bytes: 64 * 1024, ..ReassemblyConfig::default() };
        let mut r = Reassembler::new(config);
        let mut evicted = ReassemblyEvictions::default();
        // Sources that each send one fragment far into a datagram: 30 KB buffers each.
        for n in 0..10u8 {
            let src = Ipv4Addr::new(10, 0, 2, n);
            let far = header_from(src, 1, 30_000, true, 8);
            assert_eq!(
                r.add(Instant::from_millis(u64::from(n)), &far, &[0; 8], &mut evicted),
                FragmentOutcome::Held
            );
            assert_accounting(&r);
        }
        // Two fit in 64 KiB; every later one pushed out the oldest.
        assert_eq!(r.datagrams_held(), 2);
        assert_eq!(evicted, ReassemblyEvictions { memory_full: 8, ..ReassemblyEvictions::default() });
        assert_eq!(r.source_datagrams(Ipv4Addr::new(10, 0, 2, 9)).0, 1);
        assert_eq!(r.source_datagrams(Ipv4Addr::new(10, 0, 2, 8)).0, 1);
        // A whole datagram of 40 KB still reassembles, evicting what it must.
        let whole = data(40_000);
        let pieces: Vec<(usize, usize)> =
            (0..40_000).step_by(1480).map(|s| (s, (s + 1480).min(40_000))).collect();
        let mut last = FragmentOutcome::Held;
        for &(s, e) in &pieces {
            let repr = udp_header(5, s as u16, e != whole.len(), e - s);
            last = r.add(Instant::from_millis(20), &repr, &whole[s..e], &mut evicted);
            assert_accounting(&r);
        }
        let FragmentOutcome::Complete(done) = last else { panic!("not complete: {last:?}") };
        assert_eq!(done.payload, whole);
        // A datagram that cannot fit even alone is refused without evicting anything.
        let tiny = ReassemblyConfig { max_bytes: 16 * 1024, ..ReassemblyConfig::default() };
        let mut r = Reassembler::new(tiny);
        let near = udp_header(1, 8, true, 8);
        assert_eq!(r.add(Instant::ZERO, &near, &[0; 8], &mut evicted), FragmentOutcome::Held);
        let far = udp_header(2, 30_000, true, 8);
        assert_eq!(
            r.add(Instant::ZERO, &far, &[0; 8], &mut evicted),
            FragmentOutcome::Dropped(DropReason::FragmentNoMemory)
        );
        assert_eq!(r.datagrams_held(), 1);
        assert_accounting(&r);
    }

    #[test]
    fn too_many_ranges_discard() {
        let config = ReassemblyConfig { max_ranges: 3, ..ReassemblyConfig::default() };
        let mut r = Reassembler::new(config);
        for (i, offset) in [0u16, 16, 32].iter().enumerate() {
            let piece = udp_header(1, *offset, true, 8);
            assert_eq!(add(&mut r, Instant::ZERO, &piece, &[i as u8; 8]), FragmentOutcome::Held);
        }
        let piece = udp_header(1, 48, true, 8);
        assert_eq!(
            add(&mut r, Instant::ZERO, &piece, &[0; 8]),
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
        feed(&mut r, t0 + Duration::from_secs(1), 2, &whole, &[(1480, 2960)]);
        assert_eq!(r.poll_at(), Some(t0 + Duration::from_secs(30)));
        let mut timed_out = 0;
        assert_eq!(r.poll(t0 + Duration::from_secs(29), &mut timed_out), None);
        let expired = r.poll(t0 + Duration::from_secs(30), &mut timed_out).expect("first fragment held");
        assert_eq!(expired.header.ident, 1);
        assert_eq!(expired.leading_bytes, whole[..8]);
        assert_eq!(r.poll(t0 + Duration::from_secs(30), &mut timed_out), None, "the other is not due");
        assert_eq!(r.poll_at(), Some(t0 + Duration::from_secs(31)));
        // The datagram without its first fragment is dropped silently (no ICMP possible).
        assert_eq!(r.poll(t0 + Duration::from_secs(31), &mut timed_out), None);
        assert_eq!(timed_out, 2);
        assert_eq!(r.bytes_held(), 0);
        assert_eq!(r.poll_at(), None);
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
                if let FragmentOutcome::Complete(done) = add(&mut r, Instant::ZERO, &repr, &whole[s..e]) {
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

        /// Arbitrary fragments from a few sources never panic, never exceed any bound, and
        /// the byte accounting always matches the buffers held.
        #[test]
        fn junk_is_bounded(frags in proptest::collection::vec(
            (0u8..6, any::<u16>(), 0u16..8191, any::<bool>(), 0usize..1500), 0..300)) {
            let config = ReassemblyConfig {
                max_bytes: 128 * 1024,
                max_datagrams: 12,
                max_per_source: 3,
                ..ReassemblyConfig::default()
            };
            let mut r = Reassembler::new(config);
            let mut evicted = ReassemblyEvictions::default();
            for (i, (source, ident, offset8, more, len)) in frags.into_iter().enumerate() {
                let src = Ipv4Addr::new(10, 0, 3, source);
                let repr = header_from(src, ident % 8, offset8 * 8, more, len);
                let _ = r.add(Instant::from_millis(i as u64), &repr, &vec![0; len], &mut evicted);
                assert_accounting(&r);
                for source in 0..6 {
                    prop_assert!(r.source_datagrams(Ipv4Addr::new(10, 0, 3, source)).0 <= 3);
                }
            }
        }
    }
}
