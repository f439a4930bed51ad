//! The tables TCP keeps for a socket set: connections by 4-tuple (with the last one
//! found remembered), listeners, port users, the timer heap, the SYN queue, ISN and
//! cookie secrets, the challenge-ACK budget, memory and the orphan and TIME_WAIT queues.

use core::cmp::Reverse;
use core::net::SocketAddrV4;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use super::{FourTuple, TcpConnection};
use crate::socket::syn_queue::SynQueue;
use crate::socket::tcp_limits::{Admission, AgeQueue, TcpLimits};
use crate::socket::SocketHandle;
use crate::tcp::isn::IsnGenerator;
use crate::tcp::{ChallengeAckBudget, State, SynCookies, TcpConfig, TcpStats};
use crate::time::Instant;
use crate::wire::{Ipv4Addr, TcpRepr};

/// TCP state shared by all sockets of a set.
#[derive(Debug)]
pub(crate) struct TcpTables {
    pub connections: HashMap<FourTuple, SocketHandle, ahash::RandomState>,
    /// The last 4-tuple found in `connections`: segments come in runs for one
    /// connection, and this saves hashing the tuple for each. Cleared whenever
    /// `connections` changes.
    pub(super) last_found: Option<(FourTuple, SocketHandle)>,
    pub listeners: HashMap<SocketAddrV4, SocketHandle, ahash::RandomState>,
    /// Sockets using each local port (listeners and bound idle sockets).
    pub port_users: HashMap<u16, u32, ahash::RandomState>,
    pub(super) timers: BinaryHeap<Reverse<(Instant, SocketHandle)>>,
    /// Handshakes in progress, as compact records (no connection, no buffers).
    pub syn_queue: SynQueue,
    /// SYN-ACKs retransmitted by the SYN queue's timers, for the interface to send:
    /// (source, destination, segment).
    pub(super) control_out: VecDeque<(Ipv4Addr, Ipv4Addr, TcpRepr<'static>)>,
    pub(super) isn: IsnGenerator,
    pub(super) cookies: SynCookies,
    /// RFC 5961 §7: the stack-wide challenge ACK budget, randomized from the secret.
    pub(super) challenge_acks: ChallengeAckBudget,
    pub stats: TcpStats,
    pub(super) events: VecDeque<SocketHandle>,
    pub default_config: TcpConfig,
    /// The interface's address and MTU, set by the interface at every poll.
    pub link: Option<(Ipv4Addr, usize)>,
    pub limits: TcpLimits,
    /// Buffer bytes of every connection (send plus receive capacity).
    pub(super) memory_used: usize,
    pub(super) orphans: AgeQueue,
    pub(super) time_wait: AgeQueue,
    /// The latest `now` the set was given: application calls, which have none, use it.
    pub(super) clock: Instant,
}

impl TcpTables {
    pub fn new(secret: [u8; 16], default_config: TcpConfig, limits: TcpLimits) -> TcpTables {
        let k = u64::from_le_bytes(secret[..8].try_into().expect("8 bytes"));
        let hasher =
            || ahash::RandomState::with_seeds(k, k.rotate_left(17), k.rotate_left(31), k.rotate_left(47));
        TcpTables {
            connections: HashMap::with_hasher(hasher()),
            last_found: None,
            listeners: HashMap::with_hasher(hasher()),
            port_users: HashMap::with_hasher(hasher()),
            timers: BinaryHeap::new(),
            syn_queue: SynQueue::new(hasher()),
            control_out: VecDeque::new(),
            isn: IsnGenerator::new(secret),
            cookies: SynCookies::new(secret),
            challenge_acks: ChallengeAckBudget::new(default_config.challenge_acks_per_sec, secret),
            stats: TcpStats::default(),
            events: VecDeque::new(),
            default_config,
            link: None,
            limits,
            memory_used: 0,
            orphans: AgeQueue::default(),
            time_wait: AgeQueue::default(),
            clock: Instant::ZERO,
        }
    }
}

impl TcpTables {
    /// The buffers the memory budget gives a new connection with `config` (counted when
    /// smaller than asked); `None` when it is spent.
    pub(super) fn admit(&mut self, config: TcpConfig) -> Option<TcpConfig> {
        match self.limits.admit(self.memory_used, config) {
            Admission::Full(config) => Some(config),
            Admission::Reduced(config) => {
                self.stats.memory_pressure_reduced += 1;
                Some(config)
            }
            Admission::Refused => {
                self.stats.memory_refused += 1;
                None
            }
        }
    }

    /// Brings the memory budget and the orphan and TIME_WAIT queues up to date with a
    /// connection that may have changed; says whether TIME_WAIT is now over its limit.
    #[inline]
    pub(super) fn account(&mut self, handle: SocketHandle, entry: &mut TcpConnection) -> bool {
        let bytes = entry.conn.buffer_bytes();
        if bytes != entry.charged {
            self.memory_used = self.memory_used - entry.charged + bytes;
            entry.charged = bytes;
        }
        if !entry.closed_by_app {
            return false;
        }
        let state = entry.conn.state();
        let orphan = !matches!(state, State::Closed | State::TimeWait);
        if orphan != entry.orphan_since.is_some() {
            if orphan {
                entry.orphan_since = Some(self.clock);
                self.orphans.push(self.clock, handle);
            } else {
                entry.orphan_since = None;
                self.orphans.leave();
            }
        }
        let time_wait = state == State::TimeWait;
        if time_wait != entry.time_wait_since.is_some() {
            if time_wait {
                entry.time_wait_since = Some(self.clock);
                self.time_wait.push(self.clock, handle);
                return self.time_wait.live > self.limits.max_time_wait;
            }
            entry.time_wait_since = None;
            self.time_wait.leave();
        }
        false
    }

    /// The connection of `tuple`, if any.
    pub(super) fn find(&mut self, tuple: &FourTuple) -> Option<SocketHandle> {
        if let Some((last, handle)) = self.last_found {
            if last == *tuple {
                return Some(handle);
            }
        }
        let handle = *self.connections.get(tuple)?;
        self.last_found = Some((*tuple, handle));
        Some(handle)
    }

    pub(super) fn insert_connection(&mut self, tuple: FourTuple, handle: SocketHandle) {
        self.last_found = None;
        self.connections.insert(tuple, handle);
    }

    pub(super) fn remove_connection(&mut self, tuple: &FourTuple) {
        self.last_found = None;
        self.connections.remove(tuple);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Ipv4Addr;

    #[test]
    fn remembered_lookup_follows_the_table() {
        let mut tables = TcpTables::new([7; 16], TcpConfig::default(), TcpLimits::default());
        let addr = |n: u8, port: u16| SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, n), port);
        let one = FourTuple { local: addr(1, 80), remote: addr(2, 40000) };
        let two = FourTuple { local: addr(1, 80), remote: addr(2, 40001) };
        tables.insert_connection(one, SocketHandle(1));
        assert_eq!(tables.find(&one), Some(SocketHandle(1)));
        assert_eq!(tables.find(&one), Some(SocketHandle(1)));
        assert_eq!(tables.find(&two), None);
        assert_eq!(tables.find(&one), Some(SocketHandle(1)));
        tables.remove_connection(&one);
        assert_eq!(tables.find(&one), None);
        // The same 4-tuple, reused by a new connection (after TIME_WAIT, say).
        tables.insert_connection(one, SocketHandle(7));
        assert_eq!(tables.find(&one), Some(SocketHandle(7)));
    }
}
