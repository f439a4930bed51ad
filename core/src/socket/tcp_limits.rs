//! Bounds on the TCP state a socket set keeps for peers that do not play along: TIME_WAIT
//! connections, orphans (closed by the application, not yet finished) and the memory of
//! every connection's buffers. Each limit has a defined behaviour when reached, and a
//! counter in `TcpStats`:
//!
//! - TIME_WAIT past `max_time_wait`: the oldest is recycled (freed early), as a
//!   TIME_WAIT socket yields to a new SYN (RFC 6191); Linux `tcp_max_tw_buckets`.
//! - Orphans past `max_orphans`: a newly closed connection is reset instead of closed
//!   gracefully; Linux `tcp_max_orphans`. An orphan not finished `orphan_timeout` after
//!   its close (a peer that stalls it with a zero window, or never acknowledges the FIN)
//!   is reset.
//! - Buffer memory past `memory_pressure`: new connections get `pressure_buffer` bytes
//!   each way (smaller windows); past `memory_limit` new connections are refused (SYNs
//!   dropped, `connect` fails). Linux `tcp_mem`.

use std::collections::VecDeque;

use super::SocketHandle;
use crate::tcp::TcpConfig;
use crate::time::{Duration, Instant};

/// The bounds, per socket set (that is, per worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// TIME_WAIT connections kept.
    pub max_time_wait: usize,
    /// Connections closed by the application and still closing (TIME_WAIT aside).
    pub max_orphans: usize,
    /// How long an orphan may take to finish closing.
    pub orphan_timeout: Duration,
    /// Send plus receive buffer bytes of all connections at which new ones get smaller
    /// buffers.
    pub memory_pressure: usize,
    /// Buffer bytes at which new connections are refused.
    pub memory_limit: usize,
    /// Each of the send and receive buffers of a connection made under pressure. At least
    /// 64 KiB, so a window a SYN-ACK already offered (at most 65,535) still fits.
    pub pressure_buffer: usize,
}

impl Default for TcpLimits {
    fn default() -> TcpLimits {
        TcpLimits {
            max_time_wait: 65_536,
            max_orphans: 16_384,
            orphan_timeout: Duration::from_secs(60),
            memory_pressure: 768 << 20,
            memory_limit: 1 << 30,
            pressure_buffer: 64 << 10,
        }
    }
}

/// What the memory budget allows a new connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Its configured buffers.
    Full(TcpConfig),
    /// Smaller buffers: the budget is under pressure.
    Reduced(TcpConfig),
    /// None: the budget is spent.
    Refused,
}

impl TcpLimits {
    /// The buffers a new connection with `config` gets while `used` bytes are taken.
    pub fn admit(&self, used: usize, mut config: TcpConfig) -> Admission {
        let wanted = config.send_buffer + config.recv_buffer;
        if used + wanted.min(2 * self.pressure_buffer) > self.memory_limit {
            return Admission::Refused;
        }
        if used + wanted > self.memory_pressure && wanted > 2 * self.pressure_buffer {
            config.send_buffer = config.send_buffer.min(self.pressure_buffer);
            config.recv_buffer = config.recv_buffer.min(self.pressure_buffer);
            return Admission::Reduced(config);
        }
        Admission::Full(config)
    }
}

/// Connections in one condition (orphaned, or in TIME_WAIT), oldest first, each with the
/// instant it entered the condition. An entry whose connection has since left the
/// condition (or whose slot now holds another connection) goes stale: it is recognised by
/// its instant and skipped.
#[derive(Debug, Default)]
pub(crate) struct AgeQueue {
    entries: VecDeque<(Instant, SocketHandle)>,
    /// Connections in the condition now.
    pub live: usize,
}

impl AgeQueue {
    pub fn push(&mut self, since: Instant, handle: SocketHandle) {
        self.entries.push_back((since, handle));
        self.live += 1;
    }

    /// A connection left the condition.
    pub fn leave(&mut self) {
        self.live = self.live.saturating_sub(1);
    }

    pub fn front(&self) -> Option<(Instant, SocketHandle)> {
        self.entries.front().copied()
    }

    pub fn pop_front(&mut self) -> Option<(Instant, SocketHandle)> {
        self.entries.pop_front()
    }

    /// Entries, stale ones included (bounded by `prune` and the callers' pops).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops stale entries from the front: `current(handle)` is the instant the connection
    /// in that slot entered the condition, if it is in it.
    pub fn prune(&mut self, current: impl Fn(SocketHandle) -> Option<Instant>) {
        while let Some(&(since, handle)) = self.entries.front() {
            if current(handle) == Some(since) {
                break;
            }
            self.entries.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_reduces_then_refuses() {
        let limits = TcpLimits {
            memory_pressure: 1000 << 10,
            memory_limit: 2000 << 10,
            pressure_buffer: 64 << 10,
            ..TcpLimits::default()
        };
        let config = TcpConfig { send_buffer: 256 << 10, recv_buffer: 256 << 10, ..TcpConfig::default() };
        assert_eq!(limits.admit(0, config), Admission::Full(config));
        let Admission::Reduced(small) = limits.admit(600 << 10, config) else { panic!("not reduced") };
        assert_eq!((small.send_buffer, small.recv_buffer), (64 << 10, 64 << 10));
        assert!(matches!(limits.admit(1850 << 10, config), Admission::Reduced(_)));
        assert_eq!(limits.admit(1950 << 10, config), Admission::Refused);
        // A connection that asks for little is not reduced further.
        let tiny = TcpConfig { send_buffer: 4096, recv_buffer: 4096, ..TcpConfig::default() };
        assert_eq!(limits.admit(1500 << 10, tiny), Admission::Full(tiny));
    }

    #[test]
    fn stale_entries_are_pruned_from_the_front() {
        let mut queue = AgeQueue::default();
        let t = |s| Instant::from_secs(s);
        queue.push(t(1), SocketHandle(1));
        queue.push(t(2), SocketHandle(2));
        queue.push(t(3), SocketHandle(3));
        // Slot 1 left; slot 2 is still in since t(2).
        queue.prune(|h| match h.0 {
            2 => Some(t(2)),
            3 => Some(t(3)),
            _ => None,
        });
        assert_eq!(queue.front(), Some((t(2), SocketHandle(2))));
        assert_eq!(queue.len(), 2);
    }
}
