//! A passive open before the connection exists (RFC 9293 §3.10.7.2, RFC 4987 §3.1).
//!
//! A listener that receives a SYN settles everything the handshake decides (both initial
//! sequence numbers, the peer's MSS, window scale, SACK and timestamp options) and keeps
//! only that: a [`PassiveOpen`] of a few dozen bytes, with no buffers. The SYN-ACK is
//! built from it, and when the peer's ACK arrives the [`Connection`] with its buffers is
//! made from it. A SYN cookie carries the same record inside the SYN-ACK instead
//! (`syn_cookie.rs`).

use core::net::SocketAddrV4;

use super::config::TcpConfig;
use super::connection::{Connection, DEFAULT_MSS};
use super::state::State;
use super::syn_cookie::{self, CookieOptions};
use super::window_scale::window_scale_for;
use crate::time::Instant;
use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};

/// What a handshake in progress has settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassiveOpen {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// Our initial sequence number (a SYN cookie, for a cookie SYN-ACK).
    pub iss: SeqNumber,
    /// The peer's initial sequence number.
    pub irs: SeqNumber,
    /// The MSS option of the peer's SYN (RFC 9293 §3.7.1: 536 if absent).
    pub peer_mss: u16,
    /// The peer's window scale, if both sides scale windows (RFC 7323 §2.2).
    pub peer_wscale: Option<u8>,
    /// The window scale our SYN-ACK offers, fixed from the listener's receive buffer: a
    /// connection made with a smaller buffer (memory pressure) keeps it.
    pub our_wscale: Option<u8>,
    /// Both sides allow SACK (RFC 2018 §2).
    pub sack_permitted: bool,
    /// The peer's TSval (TS.Recent), if both sides use timestamps (RFC 7323 §3).
    pub ts_recent: Option<u32>,
    /// The window of the peer's SYN (never scaled, RFC 7323 §2.2).
    pub peer_window: u16,
    /// Added to our millisecond clock to make TSval (RFC 7323 §5.4).
    pub ts_offset: u32,
    /// The SYN-ACK carries a SYN cookie: its TSval encodes the peer's options.
    pub cookie: bool,
}

impl PassiveOpen {
    /// The record of a SYN a listener with `config` accepts, with our options agreed to
    /// only where the peer offered them.
    pub fn from_syn(
        local: SocketAddrV4,
        remote: SocketAddrV4,
        syn: &TcpRepr<'_>,
        config: &TcpConfig,
        iss: SeqNumber,
        ts_offset: u32,
    ) -> PassiveOpen {
        let options = &syn.options;
        PassiveOpen {
            local,
            remote,
            iss,
            irs: syn.seq_number,
            peer_mss: options.mss.unwrap_or(DEFAULT_MSS as u16),
            peer_wscale: options.window_scale.filter(|_| config.window_scaling),
            our_wscale: options
                .window_scale
                .filter(|_| config.window_scaling)
                .map(|_| window_scale_for(config.recv_buffer)),
            sack_permitted: options.sack_permitted && config.sack,
            ts_recent: options.timestamps.map(|(tsval, _)| tsval).filter(|_| config.timestamps),
            peer_window: syn.window_len,
            ts_offset,
            cookie: false,
        }
    }

    /// The record a valid cookie ACK stands for: the MSS from the cookie, window scale
    /// and SACK from the echoed timestamp, TS.Recent from the ACK's own TSval.
    pub fn from_cookie_ack(
        local: SocketAddrV4,
        remote: SocketAddrV4,
        ack: &TcpRepr<'_>,
        cookie: CookieOptions,
        config: &TcpConfig,
        ts_offset: u32,
    ) -> PassiveOpen {
        let peer_wscale = cookie.peer_wscale.filter(|_| config.window_scaling);
        PassiveOpen {
            local,
            remote,
            iss: ack.ack_number - 1,
            irs: ack.seq_number - 1,
            peer_mss: cookie.mss,
            peer_wscale,
            our_wscale: peer_wscale.map(|_| window_scale_for(config.recv_buffer)),
            sack_permitted: cookie.sack_permitted && config.sack,
            ts_recent: ack.options.timestamps.map(|(tsval, _)| tsval).filter(|_| config.timestamps),
            // The SYN's window is gone; the ACK's own window replaces it when the
            // connection takes the ACK.
            peer_window: 0,
            ts_offset,
            cookie: true,
        }
    }

    /// The TSval of a cookie SYN-ACK sent at `now`: the peer's options in its low bits.
    pub fn cookie_timestamp(&self, now: Instant) -> u32 {
        syn_cookie::encode_timestamp(self.ts_now(now), self.peer_wscale, self.sack_permitted)
    }

    fn ts_now(&self, now: Instant) -> u32 {
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// The SYN-ACK (RFC 9293 §3.10.7.2): our MSS from the link `mtu`, and only the
    /// options the peer offered (RFC 7323 §1.3, RFC 2018 §2). Its window is the whole
    /// receive buffer a connection will have, up to 65,535 (a SYN's window is never scaled).
    pub fn syn_ack(&self, now: Instant, config: &TcpConfig, mtu: usize) -> TcpRepr<'static> {
        let our_mss = mtu.saturating_sub(40).clamp(64, 0xffff) as u16;
        let mut options = TcpOptions { mss: Some(our_mss), ..TcpOptions::default() };
        options.window_scale = self.our_wscale;
        options.sack_permitted = self.sack_permitted;
        if let Some(ts_recent) = self.ts_recent {
            let tsval = if self.cookie { self.cookie_timestamp(now) } else { self.ts_now(now) };
            options.timestamps = Some((tsval, ts_recent));
        }
        TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: self.iss,
            ack_number: self.irs + 1,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window_len: config.recv_buffer.min(0xffff) as u16,
            urgent_pointer: 0,
            options,
            payload: &[],
        }
    }
}

impl Connection {
    /// The connection of a handshake whose SYN-ACK has gone out: SYN-RECEIVED, with its
    /// buffers allocated now, waiting for the ACK the caller passes to `on_segment` next.
    /// `synack_sent` is when the first SYN-ACK left, for an RTT sample (Karn's rule: only
    /// if it was never retransmitted; `retries` SYN-ACKs were sent again).
    pub fn from_passive_open(
        now: Instant,
        open: &PassiveOpen,
        config: TcpConfig,
        mtu: usize,
        synack_sent: Option<Instant>,
        retries: u32,
    ) -> Connection {
        let mut conn = Connection::new(now, open.local, open.remote, config, open.iss, open.ts_offset, mtu);
        conn.state = State::SynReceived;
        if let Some(shift) = open.our_wscale {
            conn.wscale.offered = shift;
        }
        conn.rcv.synchronize(open.irs);
        conn.rcv.adv = conn.rcv.nxt + config.recv_buffer.min(0xffff);
        conn.apply_peer_options(
            now,
            Some(open.peer_mss),
            open.peer_wscale,
            open.sack_permitted,
            open.ts_recent,
        );
        conn.snd.set_window(open.irs, open.iss, usize::from(open.peer_window));
        // The SYN-ACK occupies ISS (RFC 9293 §3.4).
        conn.snd.nxt = open.iss + 1;
        conn.snd.max = open.iss + 1;
        conn.retries = retries;
        if retries == 0 {
            conn.rtt_probe = synack_sent.map(|at| (open.iss + 1, at));
        }
        conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::TcpStats;
    use crate::tcp::{ChallengeAckBudget, InputContext};
    use core::net::Ipv4Addr;

    const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
    const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40000);

    fn syn(options: TcpOptions) -> TcpRepr<'static> {
        TcpRepr {
            src_port: REMOTE.port(),
            dst_port: LOCAL.port(),
            seq_number: SeqNumber(1000),
            ack_number: SeqNumber(0),
            flags: TcpFlags::SYN,
            window_len: 64240,
            urgent_pointer: 0,
            options,
            payload: &[],
        }
    }

    fn full_options() -> TcpOptions {
        TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((555, 0)),
            ..TcpOptions::default()
        }
    }

    #[test]
    fn the_syn_ack_offers_only_what_the_peer_offered() {
        let config = TcpConfig::default();
        let open = PassiveOpen::from_syn(LOCAL, REMOTE, &syn(full_options()), &config, SeqNumber(7), 100);
        let synack = open.syn_ack(Instant::from_millis(50), &config, 1500);
        assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!((synack.seq_number, synack.ack_number), (SeqNumber(7), SeqNumber(1001)));
        assert_eq!(synack.options.mss, Some(1460));
        assert_eq!(synack.options.window_scale, Some(window_scale_for(config.recv_buffer)));
        assert!(synack.options.sack_permitted);
        assert_eq!(synack.options.timestamps, Some((150, 555)));

        let bare =
            PassiveOpen::from_syn(LOCAL, REMOTE, &syn(TcpOptions::default()), &config, SeqNumber(7), 100);
        let synack = bare.syn_ack(Instant::ZERO, &config, 1500);
        assert_eq!(synack.options.window_scale, None);
        assert!(!synack.options.sack_permitted);
        assert_eq!(synack.options.timestamps, None);
        assert_eq!(bare.peer_mss, 536, "RFC 9293 §3.7.1 default");
    }

    #[test]
    fn the_connection_completes_on_the_ack() {
        let config = TcpConfig::default();
        let open = PassiveOpen::from_syn(LOCAL, REMOTE, &syn(full_options()), &config, SeqNumber(7), 100);
        let mut conn =
            Connection::from_passive_open(Instant::ZERO, &open, config, 1500, Some(Instant::ZERO), 0);
        let ack = TcpRepr {
            seq_number: SeqNumber(1001),
            ack_number: SeqNumber(8),
            flags: TcpFlags::ACK,
            window_len: 500,
            options: TcpOptions { timestamps: Some((556, 100)), ..TcpOptions::default() },
            payload: b"hello",
            ..syn(TcpOptions::default())
        };
        let mut stats = TcpStats::default();
        let mut bucket = ChallengeAckBudget::new(10, [0; 16]);
        let mut ctx = InputContext { stats: &mut stats, challenge_acks: &mut bucket };
        conn.on_segment(Instant::from_millis(1), &ack, &mut ctx);
        assert_eq!(conn.state(), State::Established);
        assert_eq!(conn.queued(), (0, 5), "data on the ACK is received");
        assert_eq!(conn.snd.wnd, 500 << 7, "the ACK's window, scaled");
        assert_eq!(conn.smss, 1460 - 12);
    }
}
