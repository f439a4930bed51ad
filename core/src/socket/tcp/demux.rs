//! An arriving segment's way to its connection (by 4-tuple), to its handshake in the SYN
//! queue, to a listener (a SYN, or an ACK returning a SYN cookie, RFC 4987 §3.6), or to a
//! RST (RFC 9293 §3.10.7.1).

use core::net::SocketAddrV4;

use super::{reset_for, FourTuple, TcpConnection, TcpInput, TcpSocket};
use crate::socket::tcp_limits::Admission;
use crate::socket::{Socket, SocketHandle, SocketSet, Transport};
use crate::tcp::config::SynCookieMode;
use crate::tcp::syn_cookie::{self, CookieOptions};
use crate::tcp::{Connection, InputContext, PassiveOpen, State, TcpConfig, DEFAULT_MSS};
use crate::time::Instant;
use crate::wire::{Ipv4Addr, SeqNumber, TcpFlags, TcpRepr};

impl SocketSet {
    /// Hands an arriving segment to its connection, to its handshake in the SYN queue, or
    /// to a listener.
    pub(crate) fn tcp_input(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        seg: &TcpRepr<'_>,
    ) -> TcpInput {
        let tuple = FourTuple {
            local: SocketAddrV4::new(dst, seg.dst_port),
            remote: SocketAddrV4::new(src, seg.src_port),
        };
        self.tcp.clock = now;
        let mut min_iss = None;
        if let Some(handle) = self.tcp.find(&tuple) {
            if self.time_wait_reusable(handle, seg) {
                // RFC 6191 / Linux: a new SYN may take over a TIME_WAIT 4-tuple.
                self.tcp.stats.time_wait_reused += 1;
                min_iss = self.connection(handle).ok().map(Connection::successor_iss);
                self.retire_time_wait(handle);
            } else {
                let tables = &mut self.tcp;
                let Some(Some(slot)) = self.slots.get_mut(handle.0 as usize) else {
                    return TcpInput::Dropped;
                };
                let Socket::Tcp(TcpSocket::Connection(entry)) = &mut *slot.socket else {
                    return TcpInput::Dropped;
                };
                let mut ctx =
                    InputContext { stats: &mut tables.stats, challenge_acks: &mut tables.challenge_acks };
                entry.conn.on_segment(now, seg, &mut ctx);
                self.tcp_changed(handle);
                return TcpInput::Handled;
            }
        }
        if !self.tcp.syn_queue.is_empty() && self.tcp.syn_queue.contains(&tuple) {
            return self.half_open_input(now, tuple, seg);
        }
        let listener = self
            .tcp
            .listeners
            .get(&tuple.local)
            .or_else(|| self.tcp.listeners.get(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, seg.dst_port)))
            .copied();
        let Some(listener) = listener else {
            self.tcp.stats.no_listener += 1;
            return self.reset(seg);
        };
        self.listener_input(now, listener, tuple, seg, min_iss)
    }

    /// RFC 9293 §3.10.7.1: the RST answering `seg`, counted (none for a RST).
    pub(super) fn reset(&mut self, seg: &TcpRepr<'_>) -> TcpInput {
        match reset_for(seg) {
            Some(rst) => {
                self.tcp.stats.resets_sent += 1;
                TcpInput::Reset(rst)
            }
            None => TcpInput::Dropped,
        }
    }

    /// RFC 9293 §3.10.7.2: LISTEN. A SYN gets a SYN-ACK, from a record in the SYN queue or,
    /// when that is full, from a SYN cookie (RFC 4987 §3.6); an ACK may return a cookie.
    /// `min_iss` is set when the SYN takes a 4-tuple out of TIME_WAIT: the new ISS must lie
    /// beyond the old incarnation's (RFC 1122 §4.2.2.13), so such a SYN gets a record, not a
    /// cookie (whose ISS is not ours to choose), even when the queue is full.
    pub(super) fn listener_input(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        min_iss: Option<SeqNumber>,
    ) -> TcpInput {
        let flags = seg.flags;
        if flags.contains(TcpFlags::RST) {
            return TcpInput::Dropped;
        }
        if flags.contains(TcpFlags::ACK) {
            if !flags.contains(TcpFlags::SYN) {
                return self.cookie_ack(now, listener, tuple, seg);
            }
            return self.reset(seg);
        }
        if !flags.contains(TcpFlags::SYN) {
            return TcpInput::Dropped;
        }
        let Some((_, mtu)) = self.tcp.link else { return TcpInput::Dropped };
        let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) else { return TcpInput::Dropped };
        // Linux: a SYN is dropped (and counted) while the accept queue is full; the peer
        // retries. A full SYN queue answers with cookies instead, unless they are off.
        if l.accept_queue.len() >= l.backlog {
            self.tcp.stats.listen_overflows += 1;
            return TcpInput::Dropped;
        }
        let queue_full = l.half_open >= l.backlog;
        let config = l.config;
        if self.tcp.limits.admit(self.tcp.memory_used, config) == Admission::Refused {
            // No connection could be made for this SYN: promise none.
            self.tcp.stats.memory_refused += 1;
            return TcpInput::Dropped;
        }
        let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) else { return TcpInput::Dropped };
        let cookie = min_iss.is_none()
            && match config.syn_cookies {
                SynCookieMode::Always => true,
                SynCookieMode::OnOverflow => queue_full,
                SynCookieMode::Never => false,
            };
        if cookie {
            l.last_cookie_at = Some(now);
        } else if queue_full && min_iss.is_none() {
            self.tcp.stats.syn_queue_overflows += 1;
            return TcpInput::Dropped;
        }
        self.tcp.stats.segments_in += 1;
        self.tcp.stats.segments_out += 1;
        let ts_offset = self.tcp.isn.ts_offset(tuple.local, tuple.remote);
        if cookie {
            let peer_mss = seg.options.mss.unwrap_or(DEFAULT_MSS as u16);
            let iss = self.tcp.cookies.make(now, tuple.local, tuple.remote, seg.seq_number, peer_mss);
            let mut open = PassiveOpen::from_syn(tuple.local, tuple.remote, seg, &config, iss, ts_offset);
            open.cookie = true;
            if open.ts_recent.is_none() {
                // RFC 4987 §3.6: without timestamps the cookie has no room for these.
                open.peer_wscale = None;
                open.our_wscale = None;
                open.sack_permitted = false;
            }
            open.peer_mss = syn_cookie::SynCookies::mss_index(peer_mss).1;
            self.tcp.stats.syn_cookies_sent += 1;
            return TcpInput::SynAck(open.syn_ack(now, &config, mtu));
        }
        let iss = self.tcp.isn.isn(now, tuple.local, tuple.remote);
        let iss = min_iss.filter(|min| min.gt(iss)).unwrap_or(iss);
        let open = PassiveOpen::from_syn(tuple.local, tuple.remote, seg, &config, iss, ts_offset);
        if let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) {
            l.half_open += 1;
        }
        self.tcp.syn_queue.insert(now, open, listener, config.synack_retries);
        self.ports.acquire(Transport::Tcp, tuple.local.port());
        if self.config.track_flows {
            // Registered now, so a segment of the handshake that reaches another worker
            // is handed here.
            self.flow_changes.push((tuple, true));
        }
        self.tcp.stats.passive_opens += 1;
        TcpInput::SynAck(open.syn_ack(now, &config, mtu))
    }

    /// RFC 9293 §3.10.7.4 in SYN-RECEIVED, for a handshake held as a record.
    pub(super) fn half_open_input(&mut self, now: Instant, tuple: FourTuple, seg: &TcpRepr<'_>) -> TcpInput {
        let Some(record) = self.tcp.syn_queue.get(&tuple).copied() else { return TcpInput::Dropped };
        let Some(config) = self.listener_config(record.listener) else { return TcpInput::Dropped };
        let Some((_, mtu)) = self.tcp.link else { return TcpInput::Dropped };
        let open = record.open;
        self.tcp.stats.segments_in += 1;
        let flags = seg.flags;
        if flags.contains(TcpFlags::RST) {
            // RFC 5961 §3.2: only a RST at exactly RCV.NXT resets; others are ignored (a
            // record has no room for a challenge ACK's rate limit, and the peer retries).
            if seg.seq_number == open.irs + 1 {
                self.tcp.stats.resets_received += 1;
                self.tcp.syn_queue.remove(&tuple);
                self.release_half_open(record.listener);
                self.forget_half_open(tuple);
            } else {
                self.tcp.stats.out_of_window += 1;
            }
            return TcpInput::Dropped;
        }
        if flags.contains(TcpFlags::SYN) {
            // The peer's SYN again (our SYN-ACK was lost): send the SYN-ACK again, as
            // Linux's tcp_check_req does. Any other SYN is dropped.
            if !flags.contains(TcpFlags::ACK) && seg.seq_number == open.irs {
                self.tcp.stats.segments_out += 1;
                return TcpInput::SynAck(open.syn_ack(now, &config, mtu));
            }
            return TcpInput::Dropped;
        }
        if !flags.contains(TcpFlags::ACK) {
            return TcpInput::Dropped;
        }
        if seg.ack_number != open.iss + 1 {
            // RFC 9293 §3.10.7.4, fifth, SYN-RECEIVED: an unacceptable ACK gets
            // <SEQ=SEG.ACK><CTL=RST>.
            return self.reset(seg);
        }
        match self.complete_handshake(
            now,
            record.listener,
            &open,
            config,
            Some(record.first_sent),
            record.retries,
            seg,
        ) {
            Some(_) => {
                self.tcp.syn_queue.remove(&tuple);
                self.release_half_open(record.listener);
                // The port and flow stay with the connection now.
                self.ports.release(Transport::Tcp, tuple.local.port());
                TcpInput::Handled
            }
            None => TcpInput::Dropped,
        }
    }

    /// An ACK arriving at a listener (RFC 4987 §3.6): the return of a SYN cookie, which
    /// makes the connection, or an ACK for nothing, which gets a RST.
    pub(super) fn cookie_ack(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
    ) -> TcpInput {
        let Ok(TcpSocket::Listener(l)) = self.tcp(listener) else { return TcpInput::Dropped };
        let config = l.config;
        let cookies_recent = l.last_cookie_at.is_some_and(|at| {
            now.saturating_duration_since(at) <= syn_cookie::TICK * (syn_cookie::MAX_AGE + 1)
        });
        if !cookies_recent {
            return self.reset(seg);
        }
        let cookie =
            self.tcp.cookies.check(now, tuple.local, tuple.remote, seg.seq_number - 1, seg.ack_number - 1);
        let Some(mss) = cookie else {
            self.tcp.stats.syn_cookies_rejected += 1;
            return self.reset(seg);
        };
        let (peer_wscale, sack_permitted) = match seg.options.timestamps {
            Some((_, tsecr)) if config.timestamps => syn_cookie::decode_timestamp(tsecr),
            _ => (None, false),
        };
        let options = CookieOptions { mss, peer_wscale, sack_permitted };
        let ts_offset = self.tcp.isn.ts_offset(tuple.local, tuple.remote);
        let open = PassiveOpen::from_cookie_ack(tuple.local, tuple.remote, seg, options, &config, ts_offset);
        // The echoed timestamp carries the cookie's option bits, not a time we can take an
        // RTT sample from.
        let mut ack = *seg;
        if let Some((tsval, _)) = ack.options.timestamps {
            ack.options.timestamps = Some((tsval, 0));
        }
        self.tcp.stats.segments_in += 1;
        match self.complete_handshake(now, listener, &open, config, None, 0, &ack) {
            Some(_) => {
                self.tcp.stats.syn_cookies_accepted += 1;
                if self.config.track_flows {
                    self.flow_changes.push((tuple, true));
                }
                TcpInput::Handled
            }
            None => TcpInput::Dropped,
        }
    }

    /// The handshake of `open` completes with `ack`: the connection is made, with its
    /// buffers, takes the ACK (and any data on it) and joins the accept queue. `None` when
    /// the accept queue or the socket table is full (the peer's next segment retries) or
    /// the ACK did not establish the connection.
    #[allow(clippy::too_many_arguments)] // the parts of a completed handshake, each needed
    pub(super) fn complete_handshake(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        open: &PassiveOpen,
        config: TcpConfig,
        first_sent: Option<Instant>,
        retries: u32,
        ack: &TcpRepr<'_>,
    ) -> Option<SocketHandle> {
        let (_, mtu) = self.tcp.link?;
        let Ok(TcpSocket::Listener(l)) = self.tcp(listener) else { return None };
        if l.accept_queue.len() >= l.backlog {
            self.tcp.stats.listen_overflows += 1;
            return None;
        }
        let config = self.tcp.admit(config)?;
        let mut conn = Connection::from_passive_open(now, open, config, mtu, first_sent, retries);
        let tables = &mut self.tcp;
        let mut ctx = InputContext { stats: &mut tables.stats, challenge_acks: &mut tables.challenge_acks };
        // `on_segment` counts the segment again.
        ctx.stats.segments_in -= 1;
        conn.on_segment(now, ack, &mut ctx);
        if !matches!(conn.state(), State::Established | State::CloseWait) {
            return None;
        }
        let entry = TcpConnection::new(conn, false);
        let Ok(handle) = self.add(Socket::Tcp(TcpSocket::Connection(Box::new(entry)))) else {
            self.tcp.stats.listen_overflows += 1;
            return None;
        };
        let tuple = FourTuple { local: open.local, remote: open.remote };
        self.tcp.insert_connection(tuple, handle);
        self.ports.acquire(Transport::Tcp, tuple.local.port());
        if let Ok(TcpSocket::Listener(l)) = self.tcp_mut(listener) {
            l.accept_queue.push_back(handle);
        }
        self.queue_event(listener);
        self.tcp_changed(handle);
        Some(handle)
    }

    /// A TIME_WAIT connection yields to a SYN with a higher sequence number or timestamp.
    pub(super) fn time_wait_reusable(&self, handle: SocketHandle, seg: &TcpRepr<'_>) -> bool {
        let Ok(conn) = self.connection(handle) else { return false };
        if conn.state() != State::TimeWait
            || !seg.flags.contains(TcpFlags::SYN)
            || seg.flags.contains(TcpFlags::ACK)
        {
            return false;
        }
        conn.accepts_reuse(seg)
    }
}
