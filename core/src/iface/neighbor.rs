//! The neighbour cache: IPv4 to Ethernet address resolution by ARP (RFC 826).
//!
//! An entry is *resolved* (a MAC address, valid until it expires), *incomplete*
//! (requests in flight, with a bounded queue of packets waiting for the answer) or
//! *failed*. An incomplete entry is re-requested every `retry_interval`; after
//! `max_requests` requests without an answer its queued packets are dropped and counted,
//! and the entry stays failed for `failed_hold`, so that senders learn at once that the
//! host is unreachable instead of each waiting out a resolution of its own (Linux's
//! NUD_FAILED plays the same part).
//!
//! The table holds at most `max_entries` entries. Which ARP packets may add one is RFC
//! 826's rule, applied by the interface: a known sender is merged from any packet, a new
//! one is learned only from a packet whose target is us; the cache adds entries of its own
//! only for addresses we ask for ([`NeighborCache::enqueue`]). When the table is full the
//! least recently used entry makes room ([`Evicted`]):
//! - recency is the creation of an entry and every packet sent through it
//!   ([`NeighborCache::touch`]). Learning from an ARP packet refreshes the address and the
//!   expiry, not the recency, so ARP traffic (a spoofer's included) keeps no entry alive
//!   that we do not use;
//! - resolved and failed entries go first, least recently used first; an entry we are
//!   still resolving goes only when every entry is being resolved (the oldest of them, with
//!   the packets waiting on it), so a flood of new addresses never refuses a resolution
//!   and never cancels one while an idle entry could go instead.
//!
//! Entries live in a `BTreeMap` and the recency orders in `BTreeSet`s, so that retries
//! and evictions run in a deterministic order (simulator runs stay repeatable) and every
//! operation is logarithmic in the table size, a full table included.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::time::{Duration, Instant};
use crate::wire::{EthernetAddress, Ipv4Addr};

/// Tunables of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborConfig {
    /// How long a resolved entry is trusted.
    pub reachable_time: Duration,
    /// Time between requests for an unresolved address.
    pub retry_interval: Duration,
    /// Requests sent before giving up on an address.
    pub max_requests: u8,
    /// Entries in the table, resolved, incomplete and failed together (Linux's
    /// `gc_thresh3` is the comparable hard limit, 1024 by default).
    pub max_entries: usize,
    /// Packets held per unresolved address (Linux's `unres_qlen` is comparable).
    pub max_queued_per_entry: usize,
    /// How long a failed resolution is remembered before the next attempt.
    pub failed_hold: Duration,
}

impl Default for NeighborConfig {
    fn default() -> NeighborConfig {
        NeighborConfig {
            reachable_time: Duration::from_secs(60),
            retry_interval: Duration::from_secs(1),
            max_requests: 3,
            max_entries: 1024,
            max_queued_per_entry: 16,
            failed_hold: Duration::from_secs(3),
        }
    }
}

#[derive(Debug)]
enum State {
    Resolved { mac: EthernetAddress, expires_at: Instant },
    Incomplete { requests_sent: u8, next_request_at: Instant, queue: VecDeque<Vec<u8>> },
    Failed { until: Instant },
}

impl State {
    fn is_incomplete(&self) -> bool {
        matches!(self, State::Incomplete { .. })
    }
}

#[derive(Debug)]
struct Entry {
    state: State,
    /// Creation, or the last packet sent through the entry: the key of the recency order.
    last_used: Instant,
}

/// What the cache knows of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighborState {
    Resolved(EthernetAddress),
    /// A request is in flight.
    Pending,
    /// Resolution failed recently; the host is unreachable.
    Failed,
    /// Nothing known: a resolution must start.
    Unknown,
}

/// The entry a full table gave up to make room for a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evicted {
    /// The table had room.
    Nothing,
    /// The least recently used resolved or failed entry.
    Idle(Ipv4Addr),
    /// Every entry was being resolved: the least recently used of them went, and the
    /// packets that waited on it (`dropped`) with it.
    Resolving { addr: Ipv4Addr, dropped: usize },
}

/// What `enqueue` did with a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued in a new entry; a request must be sent now (the first for this address).
    RequestNow(Evicted),
    /// Queued behind a request already in flight.
    Waiting,
    /// Queued, but the oldest waiting packet was pushed out to make room.
    DisplacedOldest,
}

/// What `fill` did: the packets that waited for the address, and the entry that made
/// room for it when it was new to a full table.
#[derive(Debug, PartialEq, Eq)]
pub struct Learned {
    pub waiting: VecDeque<Vec<u8>>,
    pub evicted: Evicted,
}

/// A due retry, or an address given up on.
#[derive(Debug, PartialEq, Eq)]
pub enum NeighborEvent {
    /// Send (another) ARP request for this address.
    Request(Ipv4Addr),
    /// Resolution failed; this many queued packets were dropped.
    Failed { addr: Ipv4Addr, dropped: usize },
}

#[derive(Debug, Default)]
pub struct NeighborCache {
    config: NeighborConfig,
    entries: BTreeMap<Ipv4Addr, Entry>,
    /// Resolved and failed entries as (last use, address), least recently used first.
    settled: BTreeSet<(Instant, Ipv4Addr)>,
    /// Incomplete entries, likewise.
    resolving: BTreeSet<(Instant, Ipv4Addr)>,
    /// Bumped by every change to the table, so callers can keep a lookup's result for
    /// as long as it stays the same.
    generation: u64,
}

impl NeighborCache {
    pub fn new(config: NeighborConfig) -> NeighborCache {
        NeighborCache {
            config,
            entries: BTreeMap::new(),
            settled: BTreeSet::new(),
            resolving: BTreeSet::new(),
            generation: 0,
        }
    }

    /// Changes whenever the table changes (never while it stays as it is; `touch` does not
    /// count, as it changes no answer).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn changed(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// The MAC address of `addr` and when that entry expires, if resolved and not expired.
    pub fn lookup_with_expiry(&self, addr: Ipv4Addr, now: Instant) -> Option<(EthernetAddress, Instant)> {
        match self.entries.get(&addr).map(|e| &e.state) {
            Some(State::Resolved { mac, expires_at }) if now < *expires_at => Some((*mac, *expires_at)),
            _ => None,
        }
    }

    pub fn config(&self) -> &NeighborConfig {
        &self.config
    }

    /// The MAC address of `addr`, if resolved and not expired.
    pub fn lookup(&self, addr: Ipv4Addr, now: Instant) -> Option<EthernetAddress> {
        self.lookup_with_expiry(addr, now).map(|(mac, _)| mac)
    }

    /// Whether the table knows `addr` at all (resolved, being resolved or failed).
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.entries.contains_key(&addr)
    }

    pub fn state(&self, addr: Ipv4Addr, now: Instant) -> NeighborState {
        match self.entries.get(&addr).map(|e| &e.state) {
            Some(State::Resolved { mac, expires_at }) if now < *expires_at => NeighborState::Resolved(*mac),
            Some(State::Incomplete { .. }) => NeighborState::Pending,
            Some(State::Failed { until }) if now < *until => NeighborState::Failed,
            _ => NeighborState::Unknown,
        }
    }

    /// The recency order an entry in `state` belongs to.
    fn order(&mut self, state: &State) -> &mut BTreeSet<(Instant, Ipv4Addr)> {
        if state.is_incomplete() {
            &mut self.resolving
        } else {
            &mut self.settled
        }
    }

    fn insert_entry(&mut self, addr: Ipv4Addr, entry: Entry) {
        self.order(&entry.state).insert((entry.last_used, addr));
        self.entries.insert(addr, entry);
    }

    fn remove_entry(&mut self, addr: Ipv4Addr) -> Option<Entry> {
        let entry = self.entries.remove(&addr)?;
        self.order(&entry.state).remove(&(entry.last_used, addr));
        Some(entry)
    }

    /// Replaces the state of an existing entry, keeping its recency; returns the old state.
    fn replace_state(&mut self, addr: Ipv4Addr, state: State) -> Option<State> {
        let entry = self.remove_entry(addr)?;
        self.insert_entry(addr, Entry { state, last_used: entry.last_used });
        Some(entry.state)
    }

    /// Records that a packet was sent to `addr` now, making it the most recently used
    /// entry. Changes no lookup, so the generation stays.
    pub fn touch(&mut self, addr: Ipv4Addr, now: Instant) {
        let Some(entry) = self.entries.get_mut(&addr) else { return };
        if entry.last_used >= now {
            return;
        }
        let previous = core::mem::replace(&mut entry.last_used, now);
        let order = if entry.state.is_incomplete() { &mut self.resolving } else { &mut self.settled };
        order.remove(&(previous, addr));
        order.insert((now, addr));
    }

    /// Records `addr` at `mac` and returns the packets that were waiting for it.
    ///
    /// RFC 826's merge: callers learn from every ARP packet whose sender is already in the
    /// table, and create entries only from packets addressed to us. A merge refreshes the
    /// address and the expiry but not the recency (see the module doc).
    pub fn fill(&mut self, addr: Ipv4Addr, mac: EthernetAddress, now: Instant) -> Learned {
        self.changed();
        let resolved = State::Resolved { mac, expires_at: now + self.config.reachable_time };
        match self.replace_state(addr, resolved) {
            Some(State::Incomplete { queue, .. }) => Learned { waiting: queue, evicted: Evicted::Nothing },
            Some(State::Resolved { .. } | State::Failed { .. }) => {
                Learned { waiting: VecDeque::new(), evicted: Evicted::Nothing }
            }
            None => {
                let evicted = self.make_room();
                let state = State::Resolved { mac, expires_at: now + self.config.reachable_time };
                self.insert_entry(addr, Entry { state, last_used: now });
                Learned { waiting: VecDeque::new(), evicted }
            }
        }
    }

    /// Holds `packet` (an IPv4 packet without link header) until `addr` resolves. Callers
    /// ask only for addresses that are not resolved (and not failed, or they would send
    /// into a known failure).
    pub fn enqueue(&mut self, addr: Ipv4Addr, packet: Vec<u8>, now: Instant) -> Enqueued {
        self.changed();
        let limit = self.config.max_queued_per_entry.max(1);
        let stale = match self.entries.get(&addr).map(|e| &e.state) {
            Some(State::Resolved { expires_at, .. }) => now >= *expires_at,
            Some(State::Failed { .. }) => true,
            Some(State::Incomplete { .. }) | None => false,
        };
        if stale {
            self.remove_entry(addr);
        }
        self.touch(addr, now);
        match self.entries.get_mut(&addr).map(|e| &mut e.state) {
            Some(State::Incomplete { queue, .. }) => {
                let displaced = queue.len() >= limit;
                if displaced {
                    queue.pop_front();
                }
                queue.push_back(packet);
                if displaced {
                    Enqueued::DisplacedOldest
                } else {
                    Enqueued::Waiting
                }
            }
            Some(State::Resolved { .. } | State::Failed { .. }) => {
                unreachable!("stale entries were removed above and fresh ones are not queued on")
            }
            None => {
                let evicted = self.make_room();
                let mut queue = VecDeque::with_capacity(limit.min(4));
                queue.push_back(packet);
                let next_request_at = now + self.config.retry_interval;
                let state = State::Incomplete { requests_sent: 1, next_request_at, queue };
                self.insert_entry(addr, Entry { state, last_used: now });
                Enqueued::RequestNow(evicted)
            }
        }
    }

    /// Makes room for one new entry: the least recently used resolved or failed entry
    /// goes, or when every entry is being resolved, the least recently used of those.
    fn make_room(&mut self) -> Evicted {
        if self.entries.len() < self.config.max_entries.max(1) {
            return Evicted::Nothing;
        }
        self.changed();
        if let Some(&(_, addr)) = self.settled.first() {
            self.remove_entry(addr);
            return Evicted::Idle(addr);
        }
        let Some(&(_, addr)) = self.resolving.first() else {
            unreachable!("a full table has entries");
        };
        let dropped = match self.remove_entry(addr).map(|e| e.state) {
            Some(State::Incomplete { queue, .. }) => queue.len(),
            _ => 0,
        };
        Evicted::Resolving { addr, dropped }
    }

    /// The next retry or failure due at `now`, if any; call until it returns `None`.
    pub fn poll(&mut self, now: Instant) -> Option<NeighborEvent> {
        let (addr, requests_sent) =
            self.resolving.iter().find_map(|&(_, addr)| match self.entries.get(&addr).map(|e| &e.state) {
                Some(State::Incomplete { requests_sent, next_request_at, .. }) if *next_request_at <= now => {
                    Some((addr, *requests_sent))
                }
                _ => None,
            })?;
        self.changed();
        if requests_sent >= self.config.max_requests {
            let until = now + self.config.failed_hold;
            let Some(State::Incomplete { queue, .. }) = self.replace_state(addr, State::Failed { until })
            else {
                unreachable!("entry found incomplete above");
            };
            return Some(NeighborEvent::Failed { addr, dropped: queue.len() });
        }
        if let Some(State::Incomplete { requests_sent, next_request_at, .. }) =
            self.entries.get_mut(&addr).map(|e| &mut e.state)
        {
            *requests_sent += 1;
            *next_request_at = now + self.config.retry_interval;
        }
        Some(NeighborEvent::Request(addr))
    }

    /// Whether any address is being resolved (else `poll` has nothing to do).
    pub fn has_incomplete(&self) -> bool {
        !self.resolving.is_empty()
    }

    /// When `poll` next has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        self.resolving
            .iter()
            .filter_map(|(_, addr)| match self.entries.get(addr).map(|e| &e.state) {
                Some(State::Incomplete { next_request_at, .. }) => Some(*next_request_at),
                _ => None,
            })
            .min()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Resolved entries as (address, MAC, expiry), for listings such as `arp -n`.
    pub fn resolved(&self) -> impl Iterator<Item = (Ipv4Addr, EthernetAddress, Instant)> + '_ {
        self.entries.iter().filter_map(|(addr, e)| match e.state {
            State::Resolved { mac, expires_at } => Some((*addr, mac, expires_at)),
            State::Incomplete { .. } | State::Failed { .. } => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn host(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, n)
    }

    fn small(max_entries: usize) -> NeighborCache {
        NeighborCache::new(NeighborConfig { max_entries, ..NeighborConfig::default() })
    }

    #[test]
    fn resolves_and_flushes_queue_in_order() {
        let mut cache = NeighborCache::new(NeighborConfig::default());
        assert_eq!(cache.enqueue(A, vec![1], t(0)), Enqueued::RequestNow(Evicted::Nothing));
        assert_eq!(cache.enqueue(A, vec![2], t(1)), Enqueued::Waiting);
        assert_eq!(cache.lookup(A, t(2)), None);
        let learned = cache.fill(A, MAC, t(3));
        assert_eq!(learned.waiting, VecDeque::from(vec![vec![1], vec![2]]));
        assert_eq!(learned.evicted, Evicted::Nothing);
        assert_eq!(cache.lookup(A, t(4)), Some(MAC));
        assert_eq!(cache.poll_at(), None);
    }

    #[test]
    fn every_change_moves_the_generation() {
        let mut cache = NeighborCache::new(NeighborConfig::default());
        let mut seen = vec![cache.generation()];
        cache.enqueue(A, vec![1], t(0));
        seen.push(cache.generation());
        cache.poll(t(5000));
        seen.push(cache.generation());
        cache.fill(A, MAC, t(6000));
        seen.push(cache.generation());
        let unchanged = cache.generation();
        assert_eq!(cache.lookup_with_expiry(A, t(6000)), Some((MAC, t(66_000))));
        assert_eq!(cache.state(A, t(6000)), NeighborState::Resolved(MAC));
        cache.touch(A, t(6001));
        assert_eq!(cache.poll(t(7000)), None);
        assert_eq!(cache.generation(), unchanged, "lookups, uses and idle polls change nothing");
        seen.dedup();
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn entries_expire() {
        let mut cache = NeighborCache::new(NeighborConfig::default());
        cache.fill(A, MAC, t(0));
        assert_eq!(cache.lookup(A, t(59_999)), Some(MAC));
        assert_eq!(cache.lookup(A, t(60_000)), None);
        // An expired entry starts a new resolution.
        assert_eq!(cache.enqueue(A, vec![1], t(60_000)), Enqueued::RequestNow(Evicted::Nothing));
    }

    #[test]
    fn retries_then_fails_dropping_queue() {
        let mut cache = NeighborCache::new(NeighborConfig::default());
        cache.enqueue(A, vec![1], t(0));
        cache.enqueue(A, vec![2], t(0));
        assert_eq!(cache.poll(t(999)), None);
        assert_eq!(cache.poll_at(), Some(t(1000)));
        assert_eq!(cache.poll(t(1000)), Some(NeighborEvent::Request(A)));
        assert_eq!(cache.poll(t(1000)), None);
        assert_eq!(cache.poll(t(2000)), Some(NeighborEvent::Request(A)));
        assert_eq!(cache.poll(t(3000)), Some(NeighborEvent::Failed { addr: A, dropped: 2 }));
        assert_eq!(cache.poll_at(), None);
        assert!(!cache.has_incomplete());
        // The failure is remembered for a while, then a new resolution may start.
        assert_eq!(cache.state(A, t(5999)), NeighborState::Failed);
        assert_eq!(cache.state(A, t(6000)), NeighborState::Unknown);
        assert_eq!(cache.enqueue(A, vec![3], t(6000)), Enqueued::RequestNow(Evicted::Nothing));
        assert_eq!(cache.state(A, t(6000)), NeighborState::Pending);
    }

    #[test]
    fn queue_is_bounded() {
        let config = NeighborConfig { max_queued_per_entry: 2, ..NeighborConfig::default() };
        let mut cache = NeighborCache::new(config);
        cache.enqueue(A, vec![1], t(0));
        cache.enqueue(A, vec![2], t(0));
        assert_eq!(cache.enqueue(A, vec![3], t(0)), Enqueued::DisplacedOldest);
        assert_eq!(cache.fill(A, MAC, t(1)).waiting, VecDeque::from(vec![vec![2], vec![3]]));
    }

    #[test]
    fn full_table_evicts_the_least_recently_used() {
        let mut cache = small(3);
        for n in 1..=3 {
            assert_eq!(cache.fill(host(n), MAC, t(u64::from(n))).evicted, Evicted::Nothing);
        }
        // Sending to host 1 makes it the most recently used, so host 2 goes first.
        cache.touch(host(1), t(10));
        assert_eq!(cache.fill(host(4), MAC, t(11)).evicted, Evicted::Idle(host(2)));
        assert_eq!(cache.fill(host(5), MAC, t(12)).evicted, Evicted::Idle(host(3)));
        assert_eq!(cache.fill(host(6), MAC, t(13)).evicted, Evicted::Idle(host(1)));
        assert_eq!(cache.len(), 3);
        let held: Vec<_> = cache.resolved().map(|(addr, _, _)| addr).collect();
        assert_eq!(held, vec![host(4), host(5), host(6)]);
    }

    #[test]
    fn learning_again_does_not_make_an_entry_recent() {
        let mut cache = small(2);
        cache.fill(host(1), MAC, t(0));
        cache.fill(host(2), MAC, t(1));
        // Host 1 (or someone spoofing it) sends ARP again: address and expiry refresh...
        let other = EthernetAddress([2, 0, 0, 0, 0, 9]);
        assert_eq!(cache.fill(host(1), other, t(2)).evicted, Evicted::Nothing);
        assert_eq!(cache.lookup_with_expiry(host(1), t(2)), Some((other, t(60_002))));
        // ...but only use counts: host 1 is still the least recently used.
        assert_eq!(cache.fill(host(3), MAC, t(3)).evicted, Evicted::Idle(host(1)));
    }

    #[test]
    fn entries_being_resolved_go_last() {
        let mut cache = small(2);
        cache.fill(host(1), MAC, t(0));
        assert_eq!(cache.enqueue(host(2), vec![2], t(1)), Enqueued::RequestNow(Evicted::Nothing));
        // Host 1 was used after host 2's resolution started, yet the idle-or-resolved entry
        // makes room rather than the resolution in flight.
        cache.touch(host(1), t(5));
        assert_eq!(cache.enqueue(host(3), vec![3], t(6)), Enqueued::RequestNow(Evicted::Idle(host(1))));
        // Now every entry is being resolved: a new one replaces the oldest resolution,
        // whose waiting packet is lost with it.
        assert_eq!(cache.fill(host(4), MAC, t(7)).evicted, Evicted::Resolving { addr: host(2), dropped: 1 });
        assert_eq!(cache.state(host(2), t(7)), NeighborState::Unknown);
        assert_eq!(cache.state(host(3), t(7)), NeighborState::Pending);
        assert_eq!(cache.poll_at(), Some(t(1006)));
        // Retries run for the entry that is left, and only for it.
        assert_eq!(cache.poll(t(1006)), Some(NeighborEvent::Request(host(3))));
        assert_eq!(cache.poll(t(1006)), None);
    }

    #[test]
    fn the_bound_holds_for_any_mix() {
        let mut cache = small(16);
        let mut x = 12345u32;
        for step in 0..10_000u64 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let addr = Ipv4Addr::new(10, 1, (x >> 16) as u8, (x >> 24) as u8);
            let now = t(step);
            match x % 4 {
                0 => {
                    cache.fill(addr, MAC, now);
                }
                1 if cache.state(addr, now) == NeighborState::Unknown => {
                    cache.enqueue(addr, vec![0; 8], now);
                }
                2 => cache.touch(addr, now),
                _ => while cache.poll(now).is_some() {},
            }
            assert!(cache.len() <= 16);
            assert_eq!(cache.settled.len() + cache.resolving.len(), cache.len(), "orders match the table");
        }
    }
}
