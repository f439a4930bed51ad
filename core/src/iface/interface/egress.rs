//! The send scheduler: what `poll` sends after the received batch, in order: ARP
//! announcements and requests, expired reassemblies, frames waiting for the device, TCP
//! timers and control segments, then the sockets on the ready list, a batch at a time.
//! Sockets whose next hop is still resolving are parked with their data in place.

use super::ipv4_output::LinkDestination;
use super::{Interface, TX_BATCH};
use crate::iface::neighbor::NeighborState;
use crate::iface::stats::DropReason;
use crate::phy::{Device, TxToken};
use crate::socket::{Socket, SocketError, SocketHandle, SocketSet};
use crate::time::Instant;
use crate::wire::Ipv4Addr;

/// The device has no room for another frame; try again on the next poll.
pub(super) struct DeviceFull;

/// What became of a socket's oldest datagram.
pub(super) enum SocketSend {
    /// Sent, queued behind resolution or dropped (and counted); `more` if others wait.
    Done { more: bool },
    /// Left in the socket until the next hop resolves.
    Parked,
}

impl Interface {
    /// Sends what is due, in order. Returns whether anything happened.
    pub(super) fn egress<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet,
    ) -> bool {
        let mut progress = false;
        // A step that finds the device full ends this poll's output; the rest waits for
        // the next poll, in the same order.
        let _ = self.send_in_order(now, device, sockets, &mut progress);
        progress
    }

    fn send_in_order<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet,
        progress: &mut bool,
    ) -> Result<(), DeviceFull> {
        self.send_announcement(now, device, progress)?;
        self.send_neighbor_requests(now, device, progress)?;
        self.expire_reassemblies(now, device, progress);
        if !self.tx_queue.is_empty() {
            *progress |= self.flush_tx_queue(now, device);
            if !self.tx_queue.is_empty() {
                return Err(DeviceFull);
            }
        }
        self.send_tcp_control(now, device, sockets, progress)?;
        if !self.parked.is_empty() {
            self.unpark(now, sockets);
        }
        self.send_ready_sockets(now, device, sockets, progress);
        Ok(())
    }

    /// Up to [`TX_BATCH`] sockets from the ready list, each sending what it has (a
    /// datagram, or a connection's segments).
    fn send_ready_sockets<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet,
        progress: &mut bool,
    ) {
        for _ in 0..TX_BATCH {
            let Some(handle) = sockets.pop_tx_ready() else { break };
            *progress = true;
            match self.send_from_socket(now, device, sockets, handle) {
                Ok(SocketSend::Done { more: true }) => sockets.requeue_tx(handle, false),
                Ok(SocketSend::Done { more: false } | SocketSend::Parked) => {}
                Err(DeviceFull) => {
                    sockets.requeue_tx(handle, true);
                    break;
                }
            }
            if !self.tx_queue.is_empty() {
                *progress |= self.flush_tx_queue(now, device);
            }
        }
    }

    /// Parks `handle` until `next_hop` resolves.
    pub(super) fn park(&mut self, next_hop: Ipv4Addr, handle: SocketHandle) {
        if !self.parked.contains(&(next_hop, handle)) {
            self.parked.push((next_hop, handle));
        }
    }

    /// Puts parked sockets whose next hop resolved (or failed) back on the ready list.
    fn unpark(&mut self, now: Instant, sockets: &mut SocketSet) {
        let neighbors = &self.neighbors;
        self.parked.retain(|&(hop, handle)| {
            let waiting = neighbors.state(hop, now) == NeighborState::Pending;
            if !waiting {
                sockets.requeue_tx(handle, false);
            }
            waiting
        });
    }

    /// Sends, parks or drops the oldest datagram queued on `handle`.
    fn send_from_socket<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet,
        handle: SocketHandle,
    ) -> Result<SocketSend, DeviceFull> {
        let dst = match sockets.get(handle) {
            Ok(Socket::Udp(socket)) => socket.tx.peek().map(|(meta, _)| *meta.remote.ip()),
            Ok(Socket::Icmp(socket)) => socket.tx.peek().map(|(meta, _)| meta.addr),
            Ok(Socket::Tcp(_)) => return self.send_from_connection(now, device, sockets, handle),
            Err(_) => None,
        };
        let Some(dst) = dst else { return Ok(SocketSend::Done { more: false }) };
        let outcome = match self.link_destination(now, dst) {
            Ok(LinkDestination::Resolve { next_hop, pending: true }) => {
                self.park(next_hop, handle);
                return Ok(SocketSend::Parked);
            }
            Ok(destination) => {
                let Some(token) = device.transmit(now) else { return Err(DeviceFull) };
                match sockets.get(handle) {
                    Ok(Socket::Udp(socket)) => self.send_udp_datagram(now, token, destination, socket),
                    Ok(Socket::Icmp(socket)) => self.send_echo_request(now, token, destination, socket),
                    Ok(Socket::Tcp(_)) | Err(_) => Ok(()),
                }
            }
            Err(reason) => {
                self.stats.count_drop(reason);
                Err(reason)
            }
        };
        let error = match outcome {
            Err(DropReason::NoRoute) => Some(SocketError::NetworkUnreachable(dst)),
            Err(DropReason::ArpUnresolved) => Some(SocketError::HostUnreachable(dst)),
            _ => None,
        };
        let more = match sockets.get(handle) {
            Ok(Socket::Udp(_)) => {
                let socket = sockets.udp_mut(handle).expect("checked above");
                socket.tx.pop_with(|_, _| ());
                if error.is_some() {
                    socket.error = error;
                }
                !socket.tx.is_empty()
            }
            Ok(Socket::Icmp(_)) => {
                let socket = sockets.icmp_mut(handle).expect("checked above");
                socket.tx.pop_with(|_, _| ());
                !socket.tx.is_empty()
            }
            Ok(Socket::Tcp(_)) | Err(_) => false,
        };
        Ok(SocketSend::Done { more })
    }

    fn flush_tx_queue<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        let mut progress = false;
        while let Some(frame) = self.tx_queue.front() {
            let Some(token) = device.transmit(now) else { break };
            let len = frame.len();
            token.consume(len, |buf| buf.copy_from_slice(frame));
            self.stats.tx_frames += 1;
            self.stats.tx_bytes += len as u64;
            self.tx_queue.pop_front();
            progress = true;
        }
        progress
    }
}
