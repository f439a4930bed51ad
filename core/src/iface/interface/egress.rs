//! The send scheduler: what `poll` sends after the received batch, in order: ARP
//! announcements and requests, expired reassemblies, frames waiting for the device, TCP
//! timers and control segments, then the sockets on the ready list, a batch at a time:
//! one dispatch call per socket, which writes its packets through a [`DispatchOutput`].
//! Sockets whose next hop is still resolving are parked with their data in place.

use super::ipv4_output::LinkDestination;
use super::{Interface, TX_BATCH};
use crate::iface::neighbor::NeighborState;
use crate::iface::stats::DropReason;
use crate::phy::{Device, TxToken};
use crate::socket::output::{Blocked, IpOutput, OutboundPacket, Sent};
use crate::socket::{SocketError, SocketHandle, SocketSet};
use crate::time::Instant;
use crate::wire::{EthernetAddress, Ipv4Addr};

/// The device has no room for another frame; try again on the next poll.
pub(super) struct DeviceFull;

/// The interface's IPv4 output as one socket's dispatch sees it: the route, the next hop
/// and the device's room.
struct DispatchOutput<'a, D> {
    iface: &'a mut Interface,
    device: &'a mut D,
    now: Instant,
    /// A destination found resolved stays resolved for the whole dispatch: nothing here
    /// changes the neighbour cache but a resolution starting, which is looked up again.
    resolved: Option<(Ipv4Addr, EthernetAddress)>,
}

impl<D: Device> IpOutput for DispatchOutput<'_, D> {
    fn send<'p>(
        &mut self,
        dst: Ipv4Addr,
        packet: impl FnOnce() -> Option<OutboundPacket<'p>>,
    ) -> Result<Sent, Blocked> {
        let destination = match self.resolved {
            Some((resolved, mac)) if resolved == dst => LinkDestination::Mac(mac),
            _ => match self.iface.link_destination(self.now, dst) {
                Ok(LinkDestination::Resolve { next_hop, pending: true }) => {
                    return Err(Blocked::Resolving { next_hop });
                }
                Ok(destination) => {
                    if let LinkDestination::Mac(mac) = destination {
                        self.resolved = Some((dst, mac));
                    }
                    destination
                }
                Err(reason) => {
                    // Unroutable: the packet is lost like any other (TCP retransmits and
                    // eventually gives up, reporting the error).
                    if packet().is_none() {
                        return Ok(Sent::Nothing);
                    }
                    self.iface.stats.count_drop(reason);
                    return Ok(Sent::Dropped { error: unreachable(reason, dst) });
                }
            },
        };
        let Some(token) = self.device.transmit(self.now) else { return Err(Blocked::DeviceFull) };
        let Some(packet) = packet() else { return Ok(Sent::Nothing) };
        let iface = &mut *self.iface;
        let src = if packet.src.is_unspecified() { iface.ipv4_addr() } else { packet.src };
        let ttl = packet.ttl.unwrap_or(iface.config.default_ttl);
        let mut ip = iface.ip_header(src, dst, packet.payload.protocol(), ttl);
        ip.dont_frag = packet.dont_frag;
        match iface.send_ip_to(self.now, token, destination, ip, packet.payload) {
            Ok(()) => Ok(Sent::Out),
            Err(reason) => Ok(Sent::Dropped { error: unreachable(reason, dst) }),
        }
    }
}

/// The error a datagram socket reports for a packet dropped for `reason`.
fn unreachable(reason: DropReason, dst: Ipv4Addr) -> Option<SocketError> {
    match reason {
        DropReason::NoRoute => Some(SocketError::NetworkUnreachable(dst)),
        DropReason::ArpUnresolved => Some(SocketError::HostUnreachable(dst)),
        _ => None,
    }
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
            let mut out = DispatchOutput { iface: self, device: &mut *device, now, resolved: None };
            match sockets.dispatch(handle, now, &mut out) {
                Ok(true) => sockets.requeue_tx(handle, false),
                Ok(false) => {}
                Err(Blocked::Resolving { next_hop }) => self.park(next_hop, handle),
                Err(Blocked::DeviceFull) => {
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
