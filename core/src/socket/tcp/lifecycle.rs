//! Keeping the tables current after anything touched a connection: its timer entry, the
//! transmit list and events, the accept queue; the timers of every connection, the SYN
//! queue, orphans and TIME_WAIT; freeing finished connections.

use core::cmp::Reverse;

use super::{FourTuple, TcpSocket};
use crate::socket::output::Blocked;
use crate::socket::syn_queue::SynTimer;
use crate::socket::{Socket, SocketHandle, SocketSet, Transport};
use crate::tcp::TcpConfig;
use crate::time::Instant;
use crate::wire::{Ipv4Addr, TcpRepr};

impl SocketSet {
    /// Keeps the tables current after anything touched a connection: timers, the
    /// transmit list, events, the accept queue, and freeing finished connections.
    pub(super) fn tcp_changed(&mut self, handle: SocketHandle) {
        // One lookup of the slot serves the timer, the transmit list and the checks below.
        let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else {
            self.queue_event(handle);
            return;
        };
        let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else {
            self.queue_event(handle);
            return;
        };
        let wants_to_send = entry.conn.wants_to_send();
        let recycle = self.tcp.account(handle, entry);
        if let Some(deadline) = entry.conn.poll_at() {
            // An earlier deadline gets a heap entry; a later one waits for the current
            // entry to fire, which re-registers it (at most one live entry per connection).
            if entry.timer_at.is_none_or(|registered| deadline < registered) {
                entry.timer_at = Some(deadline);
                self.tcp.timers.push(Reverse((deadline, handle)));
            }
        }
        let finished = entry.conn.is_finished() && !wants_to_send;
        if wants_to_send && !slot.tx_ready {
            slot.tx_ready = true;
            self.tx_ready.push_back(handle);
        }
        if finished && entry.closed_by_app {
            self.free_connection(handle);
            return;
        }
        self.queue_event(handle);
        if recycle {
            self.recycle_time_wait();
        }
    }

    /// Frees the oldest TIME_WAIT connections while there are more than the limit.
    pub(super) fn recycle_time_wait(&mut self) {
        while self.tcp.time_wait.live > self.tcp.limits.max_time_wait {
            let Some((since, handle)) = self.tcp.time_wait.pop_front() else { break };
            if self.time_wait_since(handle) == Some(since) {
                self.tcp.stats.time_wait_recycled += 1;
                self.free_connection(handle);
            }
        }
    }

    pub(super) fn time_wait_since(&self, handle: SocketHandle) -> Option<Instant> {
        match self.tcp(handle) {
            Ok(TcpSocket::Connection(entry)) => entry.time_wait_since,
            _ => None,
        }
    }

    pub(super) fn orphan_since(&self, handle: SocketHandle) -> Option<Instant> {
        match self.tcp(handle) {
            Ok(TcpSocket::Connection(entry)) => entry.orphan_since,
            _ => None,
        }
    }

    /// Resets orphans that have been closing for longer than the limit.
    pub(super) fn expire_orphans(&mut self, now: Instant) {
        let timeout = self.tcp.limits.orphan_timeout;
        while let Some((since, handle)) = self.tcp.orphans.front() {
            if since + timeout > now {
                break;
            }
            self.tcp.orphans.pop_front();
            if self.orphan_since(handle) == Some(since) {
                self.tcp.stats.orphans_timed_out += 1;
                if let Ok(entry) = self.connection_mut(handle) {
                    entry.conn.abort();
                }
                self.tcp_changed(handle);
            }
        }
    }

    /// Gauges of the limited state: (name, value) for `sluice stat`.
    pub fn tcp_gauges(&self) -> [(&'static str, u64); 4] {
        [
            ("half_open_now", self.tcp.syn_queue.len() as u64),
            ("orphans_now", self.tcp.orphans.live as u64),
            ("time_wait_now", self.tcp.time_wait.live as u64),
            ("buffer_bytes_now", self.tcp.memory_used as u64),
        ]
    }

    /// Puts a socket on the event queue once; `take_events` reports what changed.
    #[inline]
    pub(super) fn queue_event(&mut self, handle: SocketHandle) {
        if let Ok(slot) = self.slot_mut(handle) {
            if !slot.event_queued {
                slot.event_queued = true;
                self.tcp.events.push_back(handle);
            }
        }
    }

    pub(super) fn free_connection(&mut self, handle: SocketHandle) {
        let tables = &mut self.tcp;
        if let Some(Some(slot)) = self.slots.get(handle.0 as usize) {
            if let Socket::Tcp(TcpSocket::Connection(entry)) = &*slot.socket {
                tables.memory_used -= entry.charged;
                if entry.orphan_since.is_some() {
                    tables.orphans.leave();
                }
                if entry.time_wait_since.is_some() {
                    tables.time_wait.leave();
                }
            }
        }
        self.unlink_connection(handle);
        self.free_slot(handle);
    }

    /// Removes a connection from the 4-tuple table and the port ledger, unless a newer
    /// connection holds its 4-tuple there (it was retired from TIME_WAIT).
    pub(super) fn unlink_connection(&mut self, handle: SocketHandle) {
        let Ok(entry) = self.connection_mut(handle) else { return };
        let tuple = FourTuple { local: entry.conn.local(), remote: entry.conn.remote() };
        if self.tcp.connections.get(&tuple) != Some(&handle) {
            return;
        }
        self.tcp.remove_connection(&tuple);
        self.ports.release(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            self.flow_changes.push((tuple, false));
        }
    }

    /// Takes a TIME_WAIT connection out of the 4-tuple table for a new incarnation. While
    /// the application still holds its descriptor, the descriptor stays, as a closed
    /// connection, until the application closes it (the new connection gets its own).
    pub(super) fn retire_time_wait(&mut self, handle: SocketHandle) {
        let held = self
            .tcp(handle)
            .is_ok_and(|socket| matches!(socket, TcpSocket::Connection(entry) if !entry.closed_by_app));
        if !held {
            self.free_connection(handle);
            return;
        }
        self.unlink_connection(handle);
        if let Ok(entry) = self.connection_mut(handle) {
            entry.conn.abort(); // in TIME_WAIT: closed, nothing sent
        }
        self.tcp_changed(handle);
    }

    /// Runs the timers of every connection due at `now`.
    pub(crate) fn tcp_poll_timers(&mut self, now: Instant) {
        self.tcp.clock = now;
        if self.tcp.syn_queue.next_deadline().is_some_and(|at| at <= now) {
            self.syn_queue_timers(now);
        }
        if self.tcp.orphans.front().is_some_and(|(since, _)| since + self.tcp.limits.orphan_timeout <= now) {
            self.expire_orphans(now);
        }
        if self.tcp.time_wait.len() > 2 * self.tcp.time_wait.live + 64 {
            let slots = &self.slots;
            self.tcp.time_wait.prune(|handle| match slots.get(handle.0 as usize) {
                Some(Some(slot)) => match &*slot.socket {
                    Socket::Tcp(TcpSocket::Connection(entry)) => entry.time_wait_since,
                    _ => None,
                },
                _ => None,
            });
        }
        while let Some(&Reverse((at, handle))) = self.tcp.timers.peek() {
            if at > now {
                break;
            }
            self.tcp.timers.pop();
            let stats = &mut self.tcp.stats;
            let Ok(Socket::Tcp(TcpSocket::Connection(entry))) = self
                .slots
                .get_mut(handle.0 as usize)
                .and_then(Option::as_mut)
                .map(|s| &mut *s.socket)
                .ok_or(())
            else {
                continue;
            };
            if entry.timer_at != Some(at) {
                continue; // superseded by an earlier registration, or the slot was reused
            }
            entry.timer_at = None;
            entry.conn.on_timers(now, stats);
            self.tcp_changed(handle);
        }
    }

    pub(crate) fn tcp_poll_at(&self) -> Option<Instant> {
        let connections = self.tcp.timers.peek().map(|Reverse((at, _))| *at);
        let orphans = self.tcp.orphans.front().map(|(since, _)| since + self.tcp.limits.orphan_timeout);
        [connections, self.tcp.syn_queue.next_deadline(), orphans].into_iter().flatten().min()
    }

    /// Runs the SYN queue's timers due at `now`: SYN-ACKs to send again (queued for
    /// `pop_tcp_control`) and handshakes that ran out of retries.
    pub(super) fn syn_queue_timers(&mut self, now: Instant) {
        while let Some(timer) = self.tcp.syn_queue.poll(now) {
            match timer {
                SynTimer::Retransmit(tuple) => {
                    let Some(record) = self.tcp.syn_queue.get(&tuple).copied() else { continue };
                    let Some((_, mtu)) = self.tcp.link else { continue };
                    let Some(config) = self.listener_config(record.listener) else { continue };
                    let synack = record.open.syn_ack(now, &config, mtu);
                    self.tcp.stats.synack_retransmits += 1;
                    self.tcp.stats.segments_out += 1;
                    self.tcp.control_out.push_back((*tuple.local.ip(), *tuple.remote.ip(), synack));
                }
                SynTimer::Expired { tuple, listener } => {
                    self.tcp.stats.half_open_expired += 1;
                    self.release_half_open(listener);
                    self.forget_half_open(tuple);
                }
            }
        }
    }

    /// A SYN-ACK the SYN queue's timers want sent: (source, destination, segment).
    pub(crate) fn pop_tcp_control(&mut self) -> Option<(Ipv4Addr, Ipv4Addr, TcpRepr<'static>)> {
        self.tcp.control_out.pop_front()
    }

    pub(crate) fn has_tcp_control(&self) -> bool {
        !self.tcp.control_out.is_empty()
    }

    pub(crate) fn set_link(&mut self, addr: Ipv4Addr, mtu: usize) {
        self.tcp.link = Some((addr, mtu));
    }

    pub(super) fn listener_config(&self, listener: SocketHandle) -> Option<TcpConfig> {
        match self.tcp(listener) {
            Ok(TcpSocket::Listener(l)) => Some(l.config),
            _ => None,
        }
    }

    /// One handshake of `listener` is over (completed, reset or expired).
    pub(super) fn release_half_open(&mut self, listener: SocketHandle) {
        if let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) {
            l.half_open = l.half_open.saturating_sub(1);
        }
    }

    /// A half-open record left the SYN queue without becoming a connection.
    pub(super) fn forget_half_open(&mut self, tuple: FourTuple) {
        self.ports.release(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            self.flow_changes.push((tuple, false));
        }
    }

    /// Brings the tables up to date after a connection's dispatch. A connection waiting
    /// for its next hop is taken off the transmit list (the interface puts it back once
    /// the hop resolves); otherwise it is back on the list if it wants to send.
    pub(in crate::socket) fn tcp_dispatched(
        &mut self,
        handle: SocketHandle,
        sent: Result<(), Blocked>,
    ) -> Result<bool, Blocked> {
        if let Err(Blocked::Resolving { .. }) = sent {
            self.tcp_parked(handle);
        } else {
            self.tcp_changed(handle);
        }
        sent.map(|()| false)
    }

    /// `tcp_changed` for a connection parked behind address resolution: its timers and
    /// events are booked, but it stays off the transmit list until the hop resolves.
    #[cold]
    fn tcp_parked(&mut self, handle: SocketHandle) {
        // Marked as listed, so `tcp_changed` does not put it on the transmit list.
        if let Ok(slot) = self.slot_mut(handle) {
            slot.tx_ready = true;
        }
        self.tcp_changed(handle);
        if let Ok(slot) = self.slot_mut(handle) {
            slot.tx_ready = false;
        }
    }
}
