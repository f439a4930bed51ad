//! TCP delivery: segments handed to the socket set (connections, listeners, SYN
//! cookies), RSTs for closed ports rate limited (RFC 9293 §3.10.7.1), SYN-ACKs and
//! retransmitted control segments. A connection's own segments leave through its dispatch
//! (see `egress`).

use super::egress::DeviceFull;
use super::ipv4::Received;
use super::ipv4_output::IpPayload;
use super::Interface;
use crate::iface::partial_checksum;
use crate::iface::stats::DropReason;
use crate::phy::{Device, TxToken};
use crate::socket::tcp::TcpInput;
use crate::socket::SocketSet;
use crate::time::Instant;
use crate::wire::{self, IpProtocol, Ipv4Addr, TcpPacket, TcpRepr};

impl Interface {
    /// TCP segments go to their connection or listener; segments for closed ports are
    /// answered with RST here, through the received frame's token.
    pub(super) fn process_tcp<T: TxToken>(
        &mut self,
        now: Instant,
        datagram: Received<'_>,
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let Received { ip, payload, broadcast } = datagram;
        if broadcast {
            return Err(DropReason::TcpBroadcast);
        }
        let packet = TcpPacket::new_checked(payload).map_err(|_| DropReason::TcpMalformed)?;
        let repr =
            TcpRepr::parse(&packet, ip.src_addr, ip.dst_addr, self.rx_checksums).map_err(|e| match e {
                wire::Error::Checksum => {
                    // An IPv4 payload is below 64 KiB.
                    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
                    let field = packet.checksum();
                    partial_checksum::drop_reason(field, ip, IpProtocol::Tcp, len, DropReason::TcpBadChecksum)
                }
                _ => DropReason::TcpMalformed,
            })?;
        match sockets.tcp_input(now, ip.src_addr, ip.dst_addr, &repr) {
            TcpInput::Handled | TcpInput::Dropped => Ok(()),
            TcpInput::Reset(rst) => {
                // RFC 9293 §3.10.7.1 asks for the RST; the limit keeps a flood of spoofed
                // segments to closed ports from being reflected one for one.
                if self.reset_limit.try_take(now) {
                    self.reply_ip(now, tx, ip.src_addr, IpPayload::Tcp { repr: rst, data: (&[], &[]) });
                } else {
                    self.stats.count_drop(DropReason::TcpResetRateLimited);
                }
                Err(DropReason::TcpNoSocket)
            }
            TcpInput::SynAck(synack) => {
                let mut reply =
                    self.ip_header(ip.dst_addr, ip.src_addr, IpProtocol::Tcp, self.config.default_ttl);
                reply.dont_frag = true;
                let payload = IpPayload::Tcp { repr: synack, data: (&[], &[]) };
                match self.link_destination(now, ip.src_addr) {
                    Ok(destination) => {
                        let _ = self.send_ip_to(now, tx, destination, reply, payload);
                    }
                    Err(reason) => self.stats.count_drop(reason),
                }
                Ok(())
            }
        }
    }

    /// Runs the TCP timers that are due, then sends the segments that belong to no
    /// connection (SYN-ACKs the SYN queue sends again).
    pub(super) fn send_tcp_control<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet,
        progress: &mut bool,
    ) -> Result<(), DeviceFull> {
        if sockets.tcp_poll_at().is_some_and(|at| at <= now) {
            sockets.tcp_poll_timers(now);
        }
        while sockets.has_tcp_control() {
            let token = device.transmit(now).ok_or(DeviceFull)?;
            let Some(segment) = sockets.pop_tcp_control() else { break };
            *progress = true;
            self.send_control_segment(now, token, segment);
        }
        Ok(())
    }

    fn send_control_segment<T: TxToken>(
        &mut self,
        now: Instant,
        token: T,
        segment: (Ipv4Addr, Ipv4Addr, TcpRepr<'static>),
    ) {
        let (src, dst, repr) = segment;
        match self.link_destination(now, dst) {
            Ok(destination) => {
                let mut ip = self.ip_header(src, dst, IpProtocol::Tcp, self.config.default_ttl);
                ip.dont_frag = true;
                let _ =
                    self.send_ip_to(now, token, destination, ip, IpPayload::Tcp { repr, data: (&[], &[]) });
            }
            Err(reason) => self.stats.count_drop(reason),
        }
    }
}
