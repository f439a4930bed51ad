//! The SYN queue: handshakes in progress under the listeners of a socket set, as compact
//! records with no buffers (RFC 4987 §3.1's "reducing the TCB size"; Linux's request
//! sockets). A record holds the [`PassiveOpen`], its listener and its SYN-ACK timer; the
//! connection and its buffers are made only when the peer's ACK completes the handshake.
//!
//! SYN-ACKs are retransmitted with exponential backoff from an initial 1 s (RFC 6298 §2.1),
//! `synack_retries` times, then the record is dropped. Timers sit in a heap keyed by
//! deadline with at most one live entry per record, so expiry never scans the queue.

use core::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::tcp::FourTuple;
use super::SocketHandle;
use crate::tcp::PassiveOpen;
use crate::time::{Duration, Instant};

/// RFC 6298 §2.1: the first SYN-ACK's retransmission timeout.
pub const INITIAL_SYNACK_RTO: Duration = Duration::from_secs(1);
/// The backoff stops doubling here (Linux `TCP_RTO_MAX`).
const MAX_SYNACK_RTO: Duration = Duration::from_secs(120);

/// One handshake in progress.
#[derive(Debug, Clone, Copy)]
pub struct HalfOpen {
    pub open: PassiveOpen,
    pub listener: SocketHandle,
    /// When the first SYN-ACK left (the RTT sample of the handshake).
    pub first_sent: Instant,
    /// SYN-ACKs sent again so far, and the most that will be (the listener's
    /// `synack_retries`).
    pub retries: u32,
    pub max_retries: u32,
    /// When the SYN-ACK is next sent again (or the record dropped).
    pub deadline: Instant,
}

/// What a due timer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynTimer {
    /// Send the SYN-ACK of this record again.
    Retransmit(FourTuple),
    /// The retries are spent: the record was removed.
    Expired { tuple: FourTuple, listener: SocketHandle },
}

#[derive(Debug)]
pub struct SynQueue {
    records: HashMap<FourTuple, HalfOpen, ahash::RandomState>,
    timers: BinaryHeap<Reverse<(Instant, FourTuple)>>,
}

impl SynQueue {
    pub fn new(hasher: ahash::RandomState) -> SynQueue {
        SynQueue { records: HashMap::with_hasher(hasher), timers: BinaryHeap::new() }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn get(&self, tuple: &FourTuple) -> Option<&HalfOpen> {
        self.records.get(tuple)
    }

    pub fn contains(&self, tuple: &FourTuple) -> bool {
        self.records.contains_key(tuple)
    }

    /// Queues a handshake whose first SYN-ACK leaves at `now`, to be sent again at most
    /// `max_retries` times.
    pub fn insert(&mut self, now: Instant, open: PassiveOpen, listener: SocketHandle, max_retries: u32) {
        let tuple = FourTuple { local: open.local, remote: open.remote };
        let deadline = now + INITIAL_SYNACK_RTO;
        let record = HalfOpen { open, listener, first_sent: now, retries: 0, max_retries, deadline };
        self.records.insert(tuple, record);
        self.timers.push(Reverse((deadline, tuple)));
    }

    pub fn remove(&mut self, tuple: &FourTuple) -> Option<HalfOpen> {
        // The heap entry goes stale and is skipped when it comes due.
        self.records.remove(tuple)
    }

    /// Removes every record of `listener` (it was closed), returning their 4-tuples.
    pub fn remove_listener(&mut self, listener: SocketHandle) -> Vec<FourTuple> {
        let tuples: Vec<FourTuple> =
            self.records.iter().filter(|(_, r)| r.listener == listener).map(|(t, _)| *t).collect();
        for tuple in &tuples {
            self.records.remove(tuple);
        }
        tuples
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// The next timer due at `now`: a SYN-ACK to send again (its backoff doubled), or a
    /// record past its retransmissions, removed.
    pub fn poll(&mut self, now: Instant) -> Option<SynTimer> {
        while let Some(&Reverse((at, tuple))) = self.timers.peek() {
            if at > now {
                return None;
            }
            self.timers.pop();
            let Some(record) = self.records.get_mut(&tuple) else { continue };
            if record.deadline != at {
                continue; // stale: the record was replaced
            }
            if record.retries >= record.max_retries {
                let listener = record.listener;
                self.records.remove(&tuple);
                return Some(SynTimer::Expired { tuple, listener });
            }
            record.retries += 1;
            let backoff = INITIAL_SYNACK_RTO.saturating_mul(1 << record.retries.min(16)).min(MAX_SYNACK_RTO);
            record.deadline = now + backoff;
            self.timers.push(Reverse((record.deadline, tuple)));
            return Some(SynTimer::Retransmit(tuple));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, SocketAddrV4};

    use crate::tcp::TcpConfig;
    use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};

    fn open(port: u16) -> PassiveOpen {
        let local = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
        let remote = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), port);
        let syn = TcpRepr {
            src_port: port,
            dst_port: 80,
            seq_number: SeqNumber(1),
            ack_number: SeqNumber(0),
            flags: TcpFlags::SYN,
            window_len: 1000,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        PassiveOpen::from_syn(local, remote, &syn, &TcpConfig::default(), SeqNumber(9), 0)
    }

    fn tuple(open: &PassiveOpen) -> FourTuple {
        FourTuple { local: open.local, remote: open.remote }
    }

    #[test]
    fn synacks_back_off_then_the_record_expires() {
        let mut queue = SynQueue::new(ahash::RandomState::with_seeds(1, 2, 3, 4));
        let record = open(4000);
        queue.insert(Instant::ZERO, record, SocketHandle(3), 3);
        let mut sent_at = Vec::new();
        let mut now;
        let expired = loop {
            now = queue.next_deadline().expect("a timer while the record lives");
            match queue.poll(now).expect("due") {
                SynTimer::Retransmit(t) => {
                    assert_eq!(t, tuple(&record));
                    sent_at.push(now.total_millis() / 1000);
                }
                SynTimer::Expired { tuple: t, listener } => break (t, listener),
            }
        };
        assert_eq!(sent_at, [1, 3, 7], "1 s, then doubling");
        assert_eq!(now.total_millis(), 15_000);
        assert_eq!(expired, (tuple(&record), SocketHandle(3)));
        assert!(queue.is_empty());
        assert_eq!(queue.poll(Instant::from_secs(1000)), None);
    }

    #[test]
    fn removed_records_leave_no_live_timer() {
        let mut queue = SynQueue::new(ahash::RandomState::with_seeds(1, 2, 3, 4));
        let (a, b) = (open(4000), open(4001));
        queue.insert(Instant::ZERO, a, SocketHandle(1), 5);
        queue.insert(Instant::ZERO, b, SocketHandle(2), 5);
        assert!(queue.remove(&tuple(&a)).is_some());
        assert_eq!(queue.poll(Instant::from_secs(1)), Some(SynTimer::Retransmit(tuple(&b))));
        assert_eq!(queue.poll(Instant::from_secs(1)), None);
        assert_eq!(queue.remove_listener(SocketHandle(2)), vec![tuple(&b)]);
        assert!(queue.is_empty());
    }
}
