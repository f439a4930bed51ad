//! The narrow context sockets send through. The interface makes one dispatch call per
//! ready socket (`SocketSet::dispatch`); the socket writes
//! its packets one at a time through [`IpOutput::send`], which knows the route, the next
//! hop and the device's room, and nothing about sockets (smoltcp's `dispatch(cx, emit)`,
//! netstack3's `send_ip`).

use super::SocketError;
use crate::wire::{Icmpv4Repr, Ipv4Addr, TcpRepr, UdpRepr};

/// Packets one connection sends per dispatch, so one busy connection cannot hold the
/// device while others wait.
pub const DISPATCH_BATCH: usize = 64;

/// A transport header and payload, ready to be written after an IPv4 header.
#[derive(Debug, Clone, Copy)]
pub enum IpPayload<'a> {
    Icmp(Icmpv4Repr<'a>),
    Udp {
        repr: UdpRepr,
        data: &'a [u8],
    },
    /// A TCP header and its payload, in up to two pieces (the send buffer is a ring).
    Tcp {
        repr: TcpRepr<'a>,
        data: (&'a [u8], &'a [u8]),
    },
}

/// One packet a socket sends: what goes in the IPv4 header besides the destination.
#[derive(Debug, Clone, Copy)]
pub struct OutboundPacket<'a> {
    /// The source address; unspecified for the interface's own.
    pub src: Ipv4Addr,
    /// The time to live; `None` for the interface's default.
    pub ttl: Option<u8>,
    /// Don't Fragment: TCP sizes its segments to the path itself.
    pub dont_frag: bool,
    pub payload: IpPayload<'a>,
}

/// Why a socket's packet cannot leave now. Nothing was taken from the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// The device has no room for another frame: the socket goes first on the next poll.
    DeviceFull,
    /// The next hop is being resolved: the socket waits, data in place, until it is.
    Resolving { next_hop: Ipv4Addr },
}

/// What became of a packet the output asked the socket for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Written to the device, or queued behind address resolution.
    Out,
    /// The socket had nothing to send after all.
    Nothing,
    /// Taken from the socket but dropped (and counted by the interface); `error` is what
    /// a datagram socket reports for it (no route, an unresolvable neighbour).
    Dropped { error: Option<SocketError> },
}

/// The interface's IPv4 output as a socket sees it.
pub trait IpOutput {
    /// Sends one packet to `dst`. `packet` is called only once the packet can leave (or
    /// is certain to be dropped), so a socket commits to having sent it, and takes it off
    /// its queue, only then; it returns `None` when it has nothing to send.
    fn send<'p>(
        &mut self,
        dst: Ipv4Addr,
        packet: impl FnOnce() -> Option<OutboundPacket<'p>>,
    ) -> Result<Sent, Blocked>;
}
