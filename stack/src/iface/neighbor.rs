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
//! Entries live in a `BTreeMap` so that retries run in a deterministic order, which keeps
//! simulator runs repeatable; the table is bounded by `max_entries`.

use std::collections::{BTreeMap, VecDeque};

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
    /// Entries in the table, resolved and incomplete together.
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
enum Entry {
    Resolved { mac: EthernetAddress, expires_at: Instant },
    Incomplete { requests_sent: u8, next_request_at: Instant, queue: VecDeque<Vec<u8>> },
    Failed { until: Instant },
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

/// What `enqueue` did with a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued; a request must be sent now (the first for this address).
    RequestNow,
    /// Queued behind a request already in flight.
    Waiting,
    /// Queued, but the oldest waiting packet was pushed out to make room.
    DisplacedOldest,
    /// Not queued: the table is full of addresses still being resolved.
    TableFull,
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
    incomplete: usize,
    /// Bumped by every change to the table, so callers can keep a lookup's result for
    /// as long as it stays the same.
    generation: u64,
}

impl NeighborCache {
    pub fn new(config: NeighborConfig) -> NeighborCache {
        NeighborCache { config, entries: BTreeMap::new(), incomplete: 0, generation: 0 }
    }

    /// Changes whenever the table changes (never while it stays as it is).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The MAC address of `addr` and when that entry expires, if resolved and not expired.
    pub fn lookup_with_expiry(&self, addr: Ipv4Addr, now: Instant) -> Option<(EthernetAddress, Instant)> {
        match self.entries.get(&addr) {
            Some(Entry::Resolved { mac, expires_at }) if now < *expires_at => Some((*mac, *expires_at)),
            _ => None,
        }
    }

    pub fn config(&self) -> &NeighborConfig {
        &self.config
    }

    /// The MAC address of `addr`, if resolved and not expired.
    pub fn lookup(&self, addr: Ipv4Addr, now: Instant) -> Option<EthernetAddress> {
        match self.entries.get(&addr) {
            Some(Entry::Resolved { mac, expires_at }) if now < *expires_at => Some(*mac),
            _ => None,
        }
    }

    /// Whether the table knows `addr` at all (resolved, being resolved or failed).
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.entries.contains_key(&addr)
    }

    pub fn state(&self, addr: Ipv4Addr, now: Instant) -> NeighborState {
        match self.entries.get(&addr) {
            Some(Entry::Resolved { mac, expires_at }) if now < *expires_at => NeighborState::Resolved(*mac),
            Some(Entry::Incomplete { .. }) => NeighborState::Pending,
            Some(Entry::Failed { until }) if now < *until => NeighborState::Failed,
            _ => NeighborState::Unknown,
        }
    }

    /// Records `addr` at `mac` and returns the packets that were waiting for it.
    ///
    /// RFC 826's merge: callers learn from every ARP packet whose sender is already in the
    /// table, and create entries only from packets addressed to us.
    pub fn fill(&mut self, addr: Ipv4Addr, mac: EthernetAddress, now: Instant) -> VecDeque<Vec<u8>> {
        self.generation = self.generation.wrapping_add(1);
        let expires_at = now + self.config.reachable_time;
        if !self.entries.contains_key(&addr) {
            self.make_room(now);
        }
        let previous = self.entries.insert(addr, Entry::Resolved { mac, expires_at });
        match previous {
            Some(Entry::Incomplete { queue, .. }) => {
                self.incomplete -= 1;
                queue
            }
            _ => VecDeque::new(),
        }
    }

    /// Holds `packet` (an IPv4 packet without link header) until `addr` resolves.
    pub fn enqueue(&mut self, addr: Ipv4Addr, packet: Vec<u8>, now: Instant) -> Enqueued {
        self.generation = self.generation.wrapping_add(1);
        let limit = self.config.max_queued_per_entry.max(1);
        let stale = match self.entries.get(&addr) {
            Some(Entry::Resolved { expires_at, .. }) => now >= *expires_at,
            Some(Entry::Failed { .. }) => true,
            _ => false,
        };
        if stale {
            self.entries.remove(&addr);
        }
        match self.entries.get_mut(&addr) {
            Some(Entry::Incomplete { queue, .. }) => {
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
            Some(Entry::Resolved { .. } | Entry::Failed { .. }) => {
                unreachable!("stale entries were removed above and fresh ones are not queued on")
            }
            None => {
                if !self.make_room(now) {
                    return Enqueued::TableFull;
                }
                let mut queue = VecDeque::with_capacity(limit.min(4));
                queue.push_back(packet);
                let next_request_at = now + self.config.retry_interval;
                self.entries.insert(addr, Entry::Incomplete { requests_sent: 1, next_request_at, queue });
                self.incomplete += 1;
                Enqueued::RequestNow
            }
        }
    }

    /// Makes room for one entry: expired and failed entries go first, then the resolved
    /// entry closest to expiry. Incomplete entries are never evicted. Returns false if the
    /// table is full.
    fn make_room(&mut self, now: Instant) -> bool {
        self.generation = self.generation.wrapping_add(1);
        if self.entries.len() < self.config.max_entries {
            return true;
        }
        self.entries.retain(|_, e| match e {
            Entry::Resolved { expires_at, .. } => now < *expires_at,
            Entry::Incomplete { .. } => true,
            Entry::Failed { .. } => false,
        });
        if self.entries.len() < self.config.max_entries {
            return true;
        }
        let victim = self
            .entries
            .iter()
            .filter_map(|(addr, e)| match e {
                Entry::Resolved { expires_at, .. } => Some((*expires_at, *addr)),
                Entry::Incomplete { .. } | Entry::Failed { .. } => None,
            })
            .min();
        match victim {
            Some((_, addr)) => {
                self.entries.remove(&addr);
                true
            }
            None => false,
        }
    }

    /// The next retry or failure due at `now`, if any; call until it returns `None`.
    pub fn poll(&mut self, now: Instant) -> Option<NeighborEvent> {
        self.generation = self.generation.wrapping_add(1);
        if self.incomplete == 0 {
            return None;
        }
        let (addr, requests_sent) = self.entries.iter().find_map(|(addr, e)| match e {
            Entry::Incomplete { requests_sent, next_request_at, .. } if *next_request_at <= now => {
                Some((*addr, *requests_sent))
            }
            _ => None,
        })?;
        if requests_sent >= self.config.max_requests {
            let until = now + self.config.failed_hold;
            let Some(Entry::Incomplete { queue, .. }) = self.entries.insert(addr, Entry::Failed { until })
            else {
                unreachable!("entry found incomplete above");
            };
            self.incomplete -= 1;
            return Some(NeighborEvent::Failed { addr, dropped: queue.len() });
        }
        if let Some(Entry::Incomplete { requests_sent, next_request_at, .. }) = self.entries.get_mut(&addr) {
            *requests_sent += 1;
            *next_request_at = now + self.config.retry_interval;
        }
        Some(NeighborEvent::Request(addr))
    }

    /// Whether any address is being resolved (else `poll` has nothing to do).
    pub fn has_incomplete(&self) -> bool {
        self.incomplete != 0
    }

    /// When `poll` next has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.incomplete == 0 {
            return None;
        }
        self.entries
            .values()
            .filter_map(|e| match e {
                Entry::Incomplete { next_request_at, .. } => Some(*next_request_at),
                Entry::Resolved { .. } | Entry::Failed { .. } => None,
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
        self.entries.iter().filter_map(|(addr, e)| match e {
            Entry::Resolved { mac, expires_at } => Some((*addr, *mac, *expires_at)),
            Entry::Incomplete { .. } | Entry::Failed { .. } => None,
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

    #[test]
    fn resolves_and_flushes_queue_in_order() {
        let mut cache = NeighborCache::new(NeighborConfig::default());
        assert_eq!(cache.enqueue(A, vec![1], t(0)), Enqueued::RequestNow);
        assert_eq!(cache.enqueue(A, vec![2], t(1)), Enqueued::Waiting);
        assert_eq!(cache.lookup(A, t(2)), None);
        let queued = cache.fill(A, MAC, t(3));
        assert_eq!(queued, VecDeque::from(vec![vec![1], vec![2]]));
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
        assert_eq!(cache.generation(), unchanged, "lookups change nothing");
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
        assert_eq!(cache.enqueue(A, vec![1], t(60_000)), Enqueued::RequestNow);
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
        // The failure is remembered for a while, then a new resolution may start.
        assert_eq!(cache.state(A, t(5999)), NeighborState::Failed);
        assert_eq!(cache.state(A, t(6000)), NeighborState::Unknown);
        assert_eq!(cache.enqueue(A, vec![3], t(6000)), Enqueued::RequestNow);
        assert_eq!(cache.state(A, t(6000)), NeighborState::Pending);
    }

    #[test]
    fn queue_is_bounded() {
        let config = NeighborConfig { max_queued_per_entry: 2, ..NeighborConfig::default() };
        let mut cache = NeighborCache::new(config);
        cache.enqueue(A, vec![1], t(0));
        cache.enqueue(A, vec![2], t(0));
        assert_eq!(cache.enqueue(A, vec![3], t(0)), Enqueued::DisplacedOldest);
        assert_eq!(cache.fill(A, MAC, t(1)), VecDeque::from(vec![vec![2], vec![3]]));
    }

    #[test]
    fn table_is_bounded() {
        let config = NeighborConfig { max_entries: 2, ..NeighborConfig::default() };
        let mut cache = NeighborCache::new(config);
        cache.fill(Ipv4Addr::new(10, 0, 0, 1), MAC, t(0));
        cache.fill(Ipv4Addr::new(10, 0, 0, 2), MAC, t(10));
        // A third resolved entry evicts the one closest to expiry.
        cache.fill(Ipv4Addr::new(10, 0, 0, 3), MAC, t(20));
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains(Ipv4Addr::new(10, 0, 0, 1)));
        // Incomplete entries are never evicted: a table full of them refuses more.
        let mut cache = NeighborCache::new(config);
        cache.enqueue(Ipv4Addr::new(10, 0, 0, 1), vec![], t(0));
        cache.enqueue(Ipv4Addr::new(10, 0, 0, 2), vec![], t(0));
        assert_eq!(cache.enqueue(Ipv4Addr::new(10, 0, 0, 3), vec![], t(0)), Enqueued::TableFull);
    }
}
