//! IPv4 input (RFC 1122 §3.2.1): validation, reassembly, and the demultiplexing of
//! datagrams to ICMP, UDP and TCP.

use super::icmp::IcmpError;
use super::Interface;
use crate::iface::fragment::{is_fragment, FragmentOutcome};
use crate::iface::stats::DropReason;
use crate::phy::{Device, TxToken};
use crate::socket::SocketSet;
use crate::time::Instant;
use crate::wire::icmpv4::{DstUnreachable, TimeExceeded};
use crate::wire::{self, IpProtocol, Ipv4Addr, Ipv4Packet, Ipv4Repr};

/// A datagram for us, as the transports receive it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Received<'a> {
    pub ip: &'a Ipv4Repr,
    /// The transport header and payload.
    pub payload: &'a [u8],
    /// Sent to a broadcast address: never answered with an error (RFC 1122 §3.2.2).
    pub broadcast: bool,
}

impl Interface {
    /// RFC 1122 §3.2.1: validate, then reassemble or deliver.
    pub(super) fn process_ipv4<T: TxToken>(
        &mut self,
        now: Instant,
        payload: &[u8],
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let packet = Ipv4Packet::new_checked(payload).map_err(|e| match e {
            wire::Error::Truncated => DropReason::Ipv4Truncated,
            _ => DropReason::Ipv4Malformed,
        })?;
        let repr = Ipv4Repr::parse(&packet, self.rx_checksums).map_err(|e| match e {
            wire::Error::Checksum => DropReason::Ipv4BadChecksum,
            wire::Error::Truncated => DropReason::Ipv4Truncated,
            _ => DropReason::Ipv4Malformed,
        })?;
        let src = repr.src_addr;
        if src.is_broadcast()
            || src.is_multicast()
            || src.is_unspecified()
            || Some(src) == self.config.addr.broadcast()
        {
            return Err(DropReason::Ipv4BadSource);
        }
        if src == self.ipv4_addr() {
            return Err(DropReason::Ipv4BadSource);
        }
        let broadcast = self.is_broadcast(repr.dst_addr);
        if repr.dst_addr != self.ipv4_addr() && !broadcast {
            return Err(DropReason::Ipv4NotOurs);
        }
        // RFC 1122 §3.2.1.7 forbids dropping for a TTL below 2; a TTL of 0 means a router
        // forwarded what it must not have.
        if repr.hop_limit == 0 {
            return Err(DropReason::Ipv4TtlExpired);
        }
        if is_fragment(&repr) {
            self.stats.fragments_received += 1;
            return match self.fragments.add(now, &repr, packet.payload(), &mut self.stats.fragment_evictions)
            {
                FragmentOutcome::Held => Ok(()),
                FragmentOutcome::Dropped(reason) => Err(reason),
                FragmentOutcome::Complete(datagram) => {
                    self.stats.datagrams_reassembled += 1;
                    let datagram = Received { ip: &datagram.repr, payload: &datagram.payload, broadcast };
                    self.process_transport(now, datagram, tx, sockets)
                }
            };
        }
        self.process_transport(now, Received { ip: &repr, payload: packet.payload(), broadcast }, tx, sockets)
    }

    pub(super) fn is_broadcast(&self, addr: Ipv4Addr) -> bool {
        addr.is_broadcast() || Some(addr) == self.config.addr.broadcast()
    }

    /// RFC 1122 §3.2.1.6 (Protocol): the datagram goes to its transport.
    fn process_transport<T: TxToken>(
        &mut self,
        now: Instant,
        datagram: Received<'_>,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        match datagram.ip.next_header {
            IpProtocol::Icmp => self.process_icmp(now, datagram, tx, sockets),
            IpProtocol::Udp => self.process_udp(now, datagram, tx, sockets),
            IpProtocol::Tcp => self.process_tcp(now, datagram, tx, sockets),
            IpProtocol::Unknown(_) => {
                // RFC 1122 §3.2.2.1: protocol unreachable.
                let error = IcmpError::Unreachable(DstUnreachable::ProtoUnreachable);
                self.send_icmp_error(now, tx, datagram, error);
                Err(DropReason::Ipv4UnknownProtocol)
            }
        }
    }

    /// RFC 1122 §3.3.2: a datagram whose reassembly timed out is dropped, and its source
    /// told with Time Exceeded if the first fragment had arrived.
    pub(super) fn expire_reassemblies<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        progress: &mut bool,
    ) {
        if self.fragments.datagrams_held() == 0 {
            return;
        }
        let mut timed_out = 0;
        while let Some(expired) = self.fragments.poll(now, &mut timed_out) {
            *progress = true;
            let Some(token) = device.transmit(now) else { break };
            let error = IcmpError::TimeExceeded(TimeExceeded::FragReassemblyExpired);
            let datagram =
                Received { ip: &expired.header, payload: &expired.leading_bytes, broadcast: false };
            self.send_icmp_error(now, token, datagram, error);
        }
        for _ in 0..timed_out {
            self.stats.count_drop(DropReason::FragmentTimeout);
        }
    }
}
