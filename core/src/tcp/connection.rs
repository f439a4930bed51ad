//! The transmission control block: everything the stack keeps about one connection.
//!
//! The seeds call this memory the socket's real entity: the peer's address and port, the
//! state, sequence and acknowledgment numbers, windows, buffers and timers. Segment
//! arrival is in `input.rs`, segment departure in `output.rs`, timers in `timer.rs`; this
//! file holds the block itself and the calls an application makes on it.

use core::net::SocketAddrV4;

use thiserror::Error;

use super::ack_schedule::{AckDue, AckSchedule};
use super::config::TcpConfig;
use super::congestion::{Congestion, CongestionControl};
use super::fast_recovery::FastRecovery;
use super::rack::Rack;
use super::recv_buffer::ReceiveBuffer;
use super::rtt::RttEstimator;
use super::scoreboard::Scoreboard;
use super::send_buffer::SendBuffer;
use super::sequence_space::{ReceiveSequence, SendSequence};
use super::state::State;
use super::timer_table::TimerTable;
use super::timestamps::Timestamps;
use super::tlp::LossProbe;
use super::window_scale::{window_scale_for, WindowScale};
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// RFC 9293 §3.7.1: the MSS assumed when the peer sends none.
pub const DEFAULT_MSS: usize = 536;
/// Out-of-order ranges the receive buffer tracks, and SACK ranges the sender tracks.
pub(super) const SACK_RANGES: usize = 64;
/// Send-buffer bytes per segment RACK remembers: room for segments of 512 bytes or more.
const RACK_BYTES_PER_SEGMENT: usize = 512;
/// RFC 9293 §3.8.6.1: the persist timer backs off up to this interval.
pub(super) const MAX_PERSIST: Duration = Duration::from_secs(60);

/// Errors an application sees on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TcpError {
    #[error("connection refused: the peer answered the SYN with RST (nothing listens on that port)")]
    ConnectionRefused,
    #[error("connection reset by peer")]
    ConnectionReset,
    #[error("connection timed out: the peer stopped answering")]
    TimedOut,
    #[error("operation would block; poll again when the socket is ready")]
    WouldBlock,
    #[error("not connected: the connection is not established or has been shut down for writing")]
    NotConnected,
    #[error("the connection is closed")]
    Closed,
}

/// A RST to send, with the fields RFC 9293 §3.10.7 prescribes for the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PendingRst {
    pub seq: SeqNumber,
    /// `Some` sets the ACK bit with this acknowledgment number.
    pub ack: Option<SeqNumber>,
}

#[derive(Debug)]
pub struct Connection {
    pub(super) state: State,
    pub(super) local: SocketAddrV4,
    pub(super) remote: SocketAddrV4,
    pub(super) config: TcpConfig,

    /// The send sequence space (RFC 9293 §3.3.1).
    pub(super) snd: SendSequence,
    /// The receive sequence space.
    pub(super) rcv: ReceiveSequence,

    // Negotiated options.
    /// The window scale option (RFC 7323 §2).
    pub(super) wscale: WindowScale,
    /// Largest payload per segment we send (options taken off).
    pub(super) smss: usize,
    /// The MSS we advertise (from the link MTU).
    pub(super) our_mss: usize,
    pub(super) sack_ok: bool,
    /// The timestamps option (RFC 7323): agreed or not, TS.Recent, our clock.
    pub(super) ts: Timestamps,

    pub(super) send: SendBuffer,
    /// Sequence number of the send buffer's first byte.
    pub(super) data_seq: SeqNumber,
    pub(super) recv: ReceiveBuffer,
    /// The application shut down writing: a FIN follows the data.
    pub(super) fin_queued: bool,
    /// The peer's FIN has been received (reads return end of stream once data is drained).
    pub(super) fin_received: bool,
    /// The application closed the socket: no more reads, the connection is orphaned.
    pub(super) orphaned: bool,

    pub(super) rtt: RttEstimator,
    /// Karn's rule without timestamps: the segment being timed, and when it left.
    pub(super) rtt_probe: Option<(SeqNumber, Instant)>,
    pub(super) cc: Congestion,
    pub(super) scoreboard: Scoreboard,
    /// Fast retransmit and recovery (RFC 5681 §3.2, RFC 6582, RFC 6675).
    pub(super) recovery: FastRecovery,
    /// Retransmissions of the current segment (for the data retry limit).
    pub(super) retries: u32,
    /// A FIN that arrived ahead of missing data, acted on once the gap fills.
    pub(super) pending_fin: Option<SeqNumber>,

    /// RFC 8985 §6: transmit times of the segments in flight, for time-based loss detection.
    pub(super) rack: Rack,
    /// RFC 8985 §7: the tail loss probe.
    pub(super) tlp: LossProbe,

    pub(super) timers: TimerTable,
    pub(super) persist_backoff: u32,
    pub(super) keepalive_probes: u32,
    /// When we acknowledge (delayed ACK, quick ACKs, the invalid-ACK limit).
    pub(super) acks: AckSchedule,
    /// Last time anything was sent or received (for restart after idle and keepalive).
    pub(super) last_sent_at: Instant,
    pub(super) last_received_at: Instant,
    /// A window probe or keepalive probe is due on the next transmission.
    pub(super) probe_due: bool,
    pub(super) rst: Option<PendingRst>,
    pub(super) error: Option<TcpError>,
}

impl Connection {
    pub(super) fn new(
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        config: TcpConfig,
        iss: SeqNumber,
        ts_offset: u32,
        mtu: usize,
    ) -> Connection {
        let our_mss = mtu.saturating_sub(40).max(64);
        let offered_wscale = if config.window_scaling { window_scale_for(config.recv_buffer) } else { 0 };
        Connection {
            state: State::Closed,
            local,
            remote,
            snd: SendSequence::new(iss),
            rcv: ReceiveSequence::new(),
            wscale: WindowScale::new(offered_wscale),
            smss: DEFAULT_MSS.min(our_mss),
            our_mss,
            sack_ok: false,
            ts: Timestamps::new(now, ts_offset),
            send: SendBuffer::new(config.send_buffer),
            data_seq: iss + 1,
            recv: ReceiveBuffer::new(config.recv_buffer),
            fin_queued: false,
            fin_received: false,
            orphaned: false,
            rtt: RttEstimator::new(config.rtt),
            rtt_probe: None,
            cc: Congestion::new(config.congestion, DEFAULT_MSS, now),
            scoreboard: Scoreboard::new(SACK_RANGES),
            recovery: FastRecovery::new(iss),
            retries: 0,
            pending_fin: None,
            rack: Rack::new((config.send_buffer / RACK_BYTES_PER_SEGMENT).clamp(16, 4096)),
            tlp: LossProbe::default(),
            timers: TimerTable::default(),
            persist_backoff: 0,
            keepalive_probes: 0,
            acks: AckSchedule::new(),
            last_sent_at: now,
            last_received_at: now,
            probe_due: false,
            rst: None,
            error: None,
            config,
        }
    }

    /// Active open (RFC 9293 §3.10.1): a connection in SYN-SENT; the SYN goes out on the
    /// next transmission.
    pub fn connect(
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        config: TcpConfig,
        iss: SeqNumber,
        ts_offset: u32,
        mtu: usize,
    ) -> Connection {
        let mut conn = Connection::new(now, local, remote, config, iss, ts_offset, mtu);
        conn.state = State::SynSent;
        conn
    }

    /// Passive open: a listener received `syn`; the connection starts in SYN-RECEIVED and
    /// its SYN-ACK goes out on the next transmission (RFC 9293 §3.10.7.2).
    #[allow(clippy::too_many_arguments)] // the parts of a passive open, each needed
    pub fn accept(
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        syn: &crate::wire::TcpRepr<'_>,
        config: TcpConfig,
        iss: SeqNumber,
        ts_offset: u32,
        mtu: usize,
    ) -> Connection {
        let mut conn = Connection::new(now, local, remote, config, iss, ts_offset, mtu);
        conn.state = State::SynReceived;
        conn.rcv.synchronize(syn.seq_number);
        conn.negotiate(now, syn);
        // RFC 7323 §2.2: a SYN's window is never scaled.
        conn.snd.set_window(syn.seq_number, iss, usize::from(syn.window_len));
        conn
    }

    /// Applies the options of the peer's SYN (or SYN-ACK) to this connection.
    pub(super) fn negotiate(&mut self, now: Instant, syn: &crate::wire::TcpRepr<'_>) {
        let options = &syn.options;
        let ts_val = options.timestamps.map(|(tsval, _)| tsval);
        self.apply_peer_options(now, options.mss, options.window_scale, options.sack_permitted, ts_val);
    }

    /// What the peer offered in its SYN, as far as our configuration agrees to it.
    pub(super) fn apply_peer_options(
        &mut self,
        now: Instant,
        peer_mss: Option<u16>,
        peer_wscale: Option<u8>,
        sack_permitted: bool,
        ts_val: Option<u32>,
    ) {
        self.wscale.negotiate(peer_wscale.filter(|_| self.config.window_scaling));
        self.sack_ok = self.config.sack && sack_permitted;
        self.ts.negotiate(now, ts_val.filter(|_| self.config.timestamps));
        let peer_mss = peer_mss.map_or(DEFAULT_MSS, usize::from);
        // RFC 9293 §3.7.1: the effective MSS, less the options every segment carries.
        let option_bytes = if self.ts.enabled { 12 } else { 0 };
        self.smss = (peer_mss.min(self.our_mss) - option_bytes.min(peer_mss / 2)).max(64);
        self.cc.set_mss(self.smss);
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn local(&self) -> SocketAddrV4 {
        self.local
    }

    pub fn remote(&self) -> SocketAddrV4 {
        self.remote
    }

    /// The send MSS in use.
    pub fn mss(&self) -> usize {
        self.smss
    }

    /// The peer's window scale, if both sides agreed to scale windows (RFC 7323 §2.2).
    pub fn peer_window_scale(&self) -> Option<u8> {
        self.wscale.agreed.then_some(self.wscale.snd)
    }

    /// Both sides agreed to SACK (RFC 2018 §2).
    pub fn sack_enabled(&self) -> bool {
        self.sack_ok
    }

    /// Both sides agreed to timestamps (RFC 7323 §3.2).
    pub fn timestamps_enabled(&self) -> bool {
        self.ts.enabled
    }

    pub fn config(&self) -> &TcpConfig {
        &self.config
    }

    /// Options that may change on a live connection (Nagle, keepalive).
    pub fn config_mut(&mut self) -> &mut TcpConfig {
        &mut self.config
    }

    /// The handshake completed at some point (for reporting after the close).
    pub fn was_established(&self) -> bool {
        self.rcv.irs != SeqNumber(0) || self.snd.una.gt(self.snd.iss)
    }

    /// RFC 6191 and Linux's TIME_WAIT reuse: a new SYN for this 4-tuple is accepted when
    /// its timestamp is newer than the last seen, or, without timestamps, its sequence
    /// number is beyond the old connection's.
    pub fn accepts_reuse(&self, syn: &crate::wire::TcpRepr<'_>) -> bool {
        match (self.ts.enabled, syn.options.timestamps) {
            (true, Some((tsval, _))) => self.ts.is_newer(tsval),
            _ => syn.seq_number.gt(self.rcv.nxt),
        }
    }

    /// The memory of the send and receive buffers, held or not.
    pub fn buffer_bytes(&self) -> usize {
        self.send.capacity() + self.recv.capacity()
    }

    /// RFC 1122 §4.2.2.13: the ISS of a new incarnation that takes this connection's
    /// 4-tuple out of TIME_WAIT lies beyond every sequence number this one used, so old
    /// duplicates cannot pass for new data (Linux: SND.NXT + 65535 + 2).
    pub fn successor_iss(&self) -> SeqNumber {
        self.snd.max + (0xffff + 2)
    }

    /// Bytes waiting in the send buffer (unsent and unacknowledged) and receive buffer.
    pub fn queued(&self) -> (usize, usize) {
        (self.send.len(), self.recv.readable())
    }

    pub fn rtt(&self) -> &RttEstimator {
        &self.rtt
    }

    pub fn cwnd(&self) -> usize {
        self.cc.cwnd()
    }

    pub fn ssthresh(&self) -> usize {
        self.cc.ssthresh()
    }

    pub fn error(&self) -> Option<TcpError> {
        self.error
    }

    // ------------------------------------------------------------ application calls

    /// `write()`: copies as much of `data` as the send buffer takes.
    pub fn send(&mut self, data: &[u8]) -> Result<usize, TcpError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.state {
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
                if !self.fin_queued => {}
            _ => return Err(TcpError::NotConnected),
        }
        if data.is_empty() {
            return Ok(0);
        }
        match self.send.write(data) {
            0 => Err(TcpError::WouldBlock),
            n => Ok(n),
        }
    }

    /// `read()`: `Ok(0)` is end of stream (the peer's FIN, all data read).
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, TcpError> {
        let n = self.recv.read(buf);
        if n > 0 {
            self.after_read();
            return Ok(n);
        }
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.fin_received || self.state == State::Closed {
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        match self.state {
            State::Listen | State::Closed => Err(TcpError::NotConnected),
            _ => Err(TcpError::WouldBlock),
        }
    }

    /// Free room in the send buffer.
    pub fn send_capacity(&self) -> usize {
        self.send.free()
    }

    /// The readable bytes as up to two slices, for zero-copy consumers; `consume` then.
    pub fn peek(&self) -> (&[u8], &[u8]) {
        self.recv.peek()
    }

    /// Marks `n` peeked bytes as read.
    pub fn consume(&mut self, n: usize) {
        self.recv.consume(n);
        self.after_read();
    }

    /// RFC 9293 §3.8.6.2.2: tell the peer when reading opened the window enough to matter,
    /// measured against the window last advertised (not the one before this read: many
    /// small reads add up).
    fn after_read(&mut self) {
        let now_window = self.window_to_advertise();
        let advertised = if self.rcv.adv.gt(self.rcv.nxt) { self.rcv.adv - self.rcv.nxt } else { 0 };
        let threshold = (self.config.recv_buffer / 2).min(2 * self.smss).max(1);
        if self.state.can_receive() && now_window >= advertised + threshold {
            self.acks.due = AckDue::Now;
        }
    }

    /// `shutdown(SHUT_WR)`: a FIN follows the queued data; reads go on. During the
    /// handshake the FIN waits for it to complete.
    pub fn shutdown_write(&mut self) {
        if let State::SynSent | State::SynReceived | State::Established | State::CloseWait = self.state {
            self.fin_queued = true;
        }
    }

    /// `close()`: shuts down writing and gives up reading; unread data is discarded and,
    /// if any was pending, the connection is reset (RFC 9293 §3.10.4, as Linux does).
    pub fn close(&mut self) {
        self.orphaned = true;
        if self.state == State::SynSent {
            // RFC 9293 §3.10.4: closing before the handshake completes deletes the TCB.
            self.enter_closed(None);
            return;
        }
        if self.recv.readable() > 0 {
            self.abort();
            return;
        }
        self.shutdown_write();
    }

    /// `close()` with linger 0, or any abort: a RST goes out and the connection is gone.
    ///
    /// The RST carries SND.NXT (RFC 9293 §3.10.5), unless that lies past the peer's
    /// window (a window probe outstanding against a zero window): then the window's right
    /// edge, which the peer accepts (Linux `tcp_acceptable_seq`), since RFC 5961 §3.2 makes
    /// it drop a RST outside the window.
    pub fn abort(&mut self) {
        match self.state {
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait => {
                let edge = self.snd.una + self.snd.wnd;
                let seq = if self.snd.nxt.gt(edge) { edge } else { self.snd.nxt };
                self.rst = Some(PendingRst { seq, ack: None });
            }
            _ => {}
        }
        self.enter_closed(None);
    }

    pub(super) fn enter_closed(&mut self, error: Option<TcpError>) {
        self.state = State::Closed;
        if error.is_some() {
            self.error = error;
        }
        self.timers.clear_all();
        self.tlp.due = false;
        self.acks.due = AckDue::None;
        // A window or keepalive probe cannot be sent any more.
        self.probe_due = false;
    }

    // ------------------------------------------------------------ readiness

    /// Data (or end of stream, or an error) is waiting for `read`.
    pub fn is_readable(&self) -> bool {
        self.recv.readable() > 0 || self.fin_received || self.error.is_some()
    }

    /// `write` would take at least some bytes.
    pub fn is_writable(&self) -> bool {
        self.state.can_send() && !self.fin_queued && self.send.free() > 0
    }

    /// The handshake completed (the connection may have been closed since).
    pub fn is_established(&self) -> bool {
        self.state.is_synchronized()
    }

    /// The control block can be freed: closed with nothing left to send.
    pub fn is_finished(&self) -> bool {
        self.state == State::Closed && self.rst.is_none()
    }

    // ------------------------------------------------------------ shared helpers

    /// Our millisecond timestamp clock (RFC 7323 §5.4), offset per connection.
    pub(super) fn ts_now(&self, now: Instant) -> u32 {
        self.ts.value_at(now)
    }

    /// Free receive space, as a window to offer.
    pub(super) fn window_to_advertise(&self) -> usize {
        let max = 0xffff << self.wscale.rcv;
        self.recv.window().min(max)
    }

    /// Data bytes in flight (sent, not acknowledged), SYN and FIN excluded.
    pub(super) fn bytes_in_flight(&self) -> usize {
        self.snd.in_flight()
    }

    /// The sequence number just past the last data byte queued: the FIN's, if one is sent.
    pub(super) fn data_end(&self) -> SeqNumber {
        self.data_seq + self.send.len()
    }

    /// When this connection next needs time, whether or not segments arrive.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Whether `next_segment` has something to send right now, or must be called to
    /// start a timer an application call made due (persist, orphaned FIN-WAIT-2).
    #[inline]
    pub fn wants_to_send(&self) -> bool {
        self.rst.is_some()
            || self.acks.due == AckDue::Now
            || self.probe_due
            || self.tlp.due
            || self.has_sendable()
            || self.timers_to_start()
    }
}
