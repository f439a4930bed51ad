//! The stack under test (an `Interface` and a `SocketSet` on a simulated device, on a
//! virtual clock), the peer on the other end of the link and the application on top,
//! and the loop that runs one operation: act, then poll until the stack is quiet,
//! validating every frame it sends and checking the invariants after every poll.

use core::net::SocketAddrV4;

use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::sim::SimDevice;
use sluice_core::socket::{SocketHandle, SocketSet, SocketSetConfig};
use sluice_core::tcp::{KeepaliveConfig, SeqSnapshot, State, TcpConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{Ipv4Addr, Ipv4Cidr, SeqNumber, TcpFlags, TcpRepr};

use crate::app::AppConn;
use crate::checks::Invariants;
use crate::ops::{DataAt, Op, Setup, SynIsn, TimeUnit};
use crate::peer::{Outgoing, Peer, LISTEN_PORT, MAX_FLOWS, SERVICE_PORTS, SERVICE_PORT_BASE};
use crate::wire::{
    check_output, peer_arp_reply, peer_segment, peer_segment_raw_options, Output, MAX_PAYLOAD, MTU, OUR_IP,
    OUR_MAC, PEER_IP,
};

/// The socket table's size: every connection and listener counts.
pub const MAX_SOCKETS: usize = 12;
pub const BACKLOG: usize = 4;
/// Polls at one instant before the stack must have gone quiet.
const SETTLE_ROUNDS: usize = 64;
/// Timer deadlines one `Advance` stops at; after that the clock jumps to the target.
const MAX_TIMER_STOPS: usize = 256;
/// Segments per connection beyond what its send buffer explains that one step may send
/// (ACKs, FIN, window updates, probes, SYN-ACKs).
const CONTROL_SEGMENTS_PER_STEP: usize = 16;

fn trace_on() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("SLUICE_FUZZ_TRACE").is_some())
}

/// One line per segment, tcpdump-like.
fn describe(seg: &TcpRepr<'_>) -> String {
    format!(
        "{}>{} [{:?}] seq {} ack {} win {} len {} {:?}",
        seg.src_port,
        seg.dst_port,
        seg.flags,
        seg.seq_number.0,
        seg.ack_number.0,
        seg.window_len,
        seg.payload.len(),
        seg.options
    )
}

pub struct Harness {
    now: Instant,
    iface: Interface,
    device: SimDevice,
    sockets: SocketSet,
    config: TcpConfig,
    peer: Peer,
    conns: Vec<AppConn>,
    listener: Option<SocketHandle>,
    invariants: Invariants,
    /// Segments the stack sent in this step: per flow, resets to 4-tuples the peer does
    /// not know, and other segments of connections the peer does not track; and the
    /// frames the peer sent.
    sent_per_flow: [usize; MAX_FLOWS],
    resets_elsewhere: usize,
    sent_untracked: usize,
    injected: usize,
    trace: bool,
}

impl Harness {
    /// The stack with a listener, and the first connection through a real handshake.
    pub fn start(setup: &Setup) -> Harness {
        let config = TcpConfig {
            send_buffer: setup.send_buffer.bytes(),
            recv_buffer: setup.recv_buffer.bytes(),
            nodelay: setup.nodelay,
            keepalive: setup.keepalive.then_some(KeepaliveConfig {
                idle: Duration::from_secs(20),
                interval: Duration::from_secs(1),
                count: 3,
            }),
            ..TcpConfig::default()
        };
        let addr = Ipv4Cidr::new(OUR_IP, 24).expect("a valid prefix");
        let iface = Interface::new(InterfaceConfig::new(OUR_MAC, addr)).expect("a valid interface");
        let mut device = SimDevice::new(OUR_MAC, MTU);
        // Never full: what the stack sends is measured, not what a small ring lets through.
        device.set_tx_limit(1 << 20);
        let sockets = SocketSet::new(SocketSetConfig {
            max_sockets: MAX_SOCKETS,
            ephemeral_seed: u64::from(setup.secret),
            secret: [setup.secret; 16],
            tcp: config,
            ..SocketSetConfig::default()
        });
        let mut h = Harness {
            now: Instant::ZERO,
            iface,
            device,
            sockets,
            config,
            peer: Peer::new(setup.peer_isn.wrapping_add(0x1000_0000)),
            conns: Vec::new(),
            listener: None,
            invariants: Invariants::default(),
            sent_per_flow: [0; MAX_FLOWS],
            resets_elsewhere: 0,
            sent_untracked: 0,
            injected: 0,
            trace: trace_on(),
        };
        h.iface.attach(&mut h.sockets);
        h.open_listener();
        h.settle();

        let flow = h.peer.open_flow(setup.window);
        h.begin_step();
        let syn = h.peer.syn(flow, Some(SeqNumber(setup.peer_isn)), &setup.syn, setup.window, h.now);
        h.send_peer(flow, syn);
        h.settle();
        assert!(h.peer.flows[flow].stack_iss.is_some(), "no SYN-ACK for a SYN to the listener");
        h.begin_step();
        let ack = h.peer.pure_ack(flow, 0, setup.window, &[], h.now);
        h.send_peer(flow, ack);
        h.settle();
        let listener = h.listener.expect("opened above");
        let (handle, remote) = h.sockets.accept(listener).expect("the handshake completed");
        assert_eq!(remote, SocketAddrV4::new(PEER_IP, h.peer.flows[flow].peer_port));
        h.conns.push(AppConn::new(handle));
        h
    }

    fn open_listener(&mut self) {
        let Ok(handle) = self.sockets.tcp_socket() else { return };
        let bound = self.sockets.bind(handle, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, LISTEN_PORT));
        if bound.is_err() || self.sockets.listen(handle, BACKLOG).is_err() {
            let _ = self.sockets.close(handle);
            return;
        }
        self.listener = Some(handle);
    }

    /// The connection `conn` picks among those the application holds.
    fn conn_index(&self, conn: u8) -> Option<usize> {
        let len = self.conns.len();
        (len > 0).then(|| usize::from(conn) % len)
    }

    fn conn_handle(&self, conn: u8) -> Option<SocketHandle> {
        self.conn_index(conn).map(|i| self.conns[i].handle)
    }

    /// The shift the stack applies to the windows it advertises on a 4-tuple, from the
    /// connection itself.
    fn rcv_wscale(&self, stack_port: u16, peer_port: u16) -> Option<u8> {
        self.connection_seq(stack_port, peer_port).map(|s| s.rcv_wscale)
    }

    /// The sequence variables of the live connection on a 4-tuple (the one most recently
    /// opened, if an old one lingers closed under a descriptor).
    fn connection_seq(&self, stack_port: u16, peer_port: u16) -> Option<SeqSnapshot> {
        self.sockets
            .iter()
            .filter_map(|(handle, _)| {
                let conn = self.sockets.connection(handle).ok()?;
                (conn.local().port() == stack_port && conn.remote().port() == peer_port)
                    .then(|| conn.seq_snapshot())
            })
            // A closed connection the application still holds no longer speaks for its
            // 4-tuple: a SYN may have retired it from TIME_WAIT (RFC 6191) for a new
            // incarnation that lives in the SYN queue, with no connection yet.
            .find(|s| s.state != State::Closed)
    }

    /// The stack's last window on flow `i`, in bytes.
    fn window_bytes(&self, i: usize) -> usize {
        let flow = &self.peer.flows[i];
        let shift = self.rcv_wscale(flow.stack_port, flow.peer_port).unwrap_or(0);
        usize::from(flow.stack_window_field) << shift
    }

    fn begin_step(&mut self) {
        self.sent_per_flow = [0; MAX_FLOWS];
        self.resets_elsewhere = 0;
        self.sent_untracked = 0;
        self.injected = 0;
    }

    fn send_peer(&mut self, i: usize, out: Outgoing) {
        let repr = TcpRepr { payload: &out.payload, ..out.repr };
        if self.trace {
            eprintln!("{} peer  {}", self.now, describe(&repr));
        }
        let frame = match &out.raw_options {
            Some(options) => peer_segment_raw_options(&repr, options),
            None => peer_segment(&repr),
        };
        self.device.inject(frame);
        self.injected += 1;
        self.peer.sent(i, &out);
    }

    /// Polls until the stack has nothing more to do at this instant.
    fn settle(&mut self) {
        for _ in 0..SETTLE_ROUNDS {
            let progress = self.iface.poll(self.now, &mut self.device, &mut self.sockets);
            let mut sent = false;
            while let Some(frame) = self.device.take_transmitted() {
                sent = true;
                self.on_output(&frame);
            }
            self.invariants.check(&self.sockets, MAX_SOCKETS);
            self.check_step_bounds();
            if !progress && !sent && self.device.rx_pending() == 0 {
                if let Some(at) = self.iface.poll_at(self.now, &self.sockets) {
                    assert!(
                        at > self.now,
                        "the stack asks to be polled at {at}, but polling at {} does nothing",
                        self.now
                    );
                }
                return;
            }
        }
        panic!("the stack is still busy after {SETTLE_ROUNDS} polls at {} without new input", self.now);
    }

    /// Validates a frame the stack sent and shows it to the peer (which answers ARP).
    fn on_output(&mut self, frame: &[u8]) {
        match check_output(frame) {
            Output::ArpForPeer => {
                self.device.inject(peer_arp_reply());
            }
            Output::OtherArp | Output::Icmp => {}
            Output::Tcp(seg) => {
                if self.trace {
                    eprintln!("{} stack {}", self.now, describe(&seg));
                }
                match self.peer.received(&seg) {
                    Some(i) => {
                        self.sent_per_flow[i] += 1;
                        self.check_window_edge(i, &seg);
                        self.check_ack_sent(i, &seg);
                    }
                    None if seg.flags.contains(TcpFlags::RST) => self.resets_elsewhere += 1,
                    None => self.sent_untracked += 1,
                }
            }
        }
    }

    /// RFC 9293 §3.8.6: the right edge of the window the stack offers never moves left.
    /// The field is the window rounded down to a multiple of 2^scale (RFC 7323 §2.3), so
    /// an edge may fall short of the furthest one by less than one unit.
    fn check_window_edge(&mut self, i: usize, seg: &TcpRepr<'_>) {
        if seg.flags.intersects(TcpFlags::SYN | TcpFlags::RST) {
            // A connection ends with a RST and starts with a SYN, possibly one with the
            // same sequence numbers as before (the peer repeated its SYN after a reset):
            // the SYN-ACK's window is where a new incarnation starts.
            let flow = &mut self.peer.flows[i];
            flow.edge = seg
                .flags
                .contains(TcpFlags::SYN | TcpFlags::ACK)
                .then(|| seg.ack_number + usize::from(seg.window_len));
            return;
        }
        if !seg.flags.contains(TcpFlags::ACK) {
            return;
        }
        let Some(shift) = self.rcv_wscale(seg.src_port, seg.dst_port) else { return };
        let edge = seg.ack_number + (usize::from(seg.window_len) << shift);
        let flow = &mut self.peer.flows[i];
        match flow.edge {
            Some(furthest) => {
                let slack = (1usize << shift) - 1;
                assert!(
                    (edge + slack).ge(furthest),
                    "the stack's window edge moved left from {} to {} on {}>{} (RFC 9293 §3.8.6)",
                    furthest.0,
                    edge.0,
                    seg.src_port,
                    seg.dst_port
                );
                flow.edge = Some(furthest.max(edge));
            }
            None => flow.edge = Some(edge),
        }
    }

    /// The stack acknowledges only sequence numbers the peer sent.
    fn check_ack_sent(&self, i: usize, seg: &TcpRepr<'_>) {
        if !seg.flags.contains(TcpFlags::ACK) || seg.flags.contains(TcpFlags::RST) {
            return;
        }
        if seg.flags.contains(TcpFlags::SYN) {
            // A SYN-ACK, from a connection or a SYN-queue record, acknowledges exactly a
            // SYN the peer sent (RFC 9293 §3.5).
            let flow = &self.peer.flows[i];
            let remembered = !flow.forgot_syns;
            assert!(
                !remembered || flow.sent_after(seg.ack_number - 1).is_some(),
                "the stack's SYN-ACK on {}>{} acknowledges {}, which no SYN of the peer's ends at",
                seg.src_port,
                seg.dst_port,
                seg.ack_number.0
            );
            return;
        }
        let Some(irs) = self.connection_seq(seg.src_port, seg.dst_port).map(|s| s.irs) else { return };
        let Some(high) = self.peer.flows[i].sent_after(irs) else { return };
        assert!(
            seg.ack_number.le(high),
            "the stack acknowledged {} on {}>{}, beyond everything the peer sent after its SYN {} ({})",
            seg.ack_number.0,
            seg.src_port,
            seg.dst_port,
            irs.0,
            high.0
        );
    }

    /// One step sends no more than the connections' buffers and control explain, and no
    /// more than one reset per frame the peer sent to a 4-tuple with no connection.
    fn check_step_bounds(&self) {
        let per_flow = self.config.send_buffer / 64 + CONTROL_SEGMENTS_PER_STEP;
        for (i, &sent) in self.sent_per_flow.iter().enumerate() {
            assert!(sent <= per_flow, "{sent} segments on flow {i} in one step (bound {per_flow})");
        }
        assert!(
            self.resets_elsewhere <= self.injected,
            "{} resets to unknown 4-tuples for {} frames received",
            self.resets_elsewhere,
            self.injected
        );
        assert!(
            self.sent_untracked <= per_flow * MAX_SOCKETS,
            "{} segments of untracked connections in one step",
            self.sent_untracked
        );
    }

    /// Time passes to `now + by`, stopping at every deadline on the way.
    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        self.settle();
        for _ in 0..MAX_TIMER_STOPS {
            match self.iface.poll_at(self.now, &self.sockets) {
                Some(at) if at <= target && at > self.now => {
                    self.now = at;
                    self.begin_step();
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = target;
        self.begin_step();
        self.settle();
    }

    /// Runs one operation and polls until the stack is quiet.
    pub fn run(&mut self, op: &Op) {
        if self.trace {
            eprintln!("{} op    {op:?}", self.now);
        }
        self.begin_step();
        let now = self.now;
        let payload_len = |len: u16| usize::from(len) % (MAX_PAYLOAD + 1);
        match *op {
            Op::Data { flow, at, len, fin } => {
                let i = self.peer.pick(flow);
                let f = &self.peer.flows[i];
                let seq = match at {
                    DataAt::Next => f.peer_nxt,
                    DataAt::Retransmit => f.stack_ack.unwrap_or(f.peer_nxt),
                    DataAt::Ahead(k) => f.peer_nxt + usize::from(k),
                    DataAt::Behind(k) => f.peer_nxt - usize::from(k),
                };
                let out = self.peer.data(i, seq, payload_len(len), fin, now);
                self.send_peer(i, out);
            }
            Op::Ack { flow, behind, window, sack } => {
                let i = self.peer.pick(flow);
                let out = self.peer.pure_ack(i, behind, window, &sack, now);
                self.send_peer(i, out);
            }
            Op::Syn { flow, isn, options, window } => {
                let i = match flow {
                    None => self.peer.open_flow(window),
                    Some(flow) => self.peer.pick(flow),
                };
                let f = &self.peer.flows[i];
                let isn = match isn {
                    SynIsn::Retransmit => Some(f.peer_iss),
                    SynIsn::Fresh => None,
                    SynIsn::AboveOld => Some(f.peer_nxt + 100_000),
                    SynIsn::Raw(v) => Some(SeqNumber(v)),
                };
                let out = self.peer.syn(i, isn, &options, window, now);
                self.send_peer(i, out);
            }
            Op::Rst { flow, seq, with_ack } => {
                let i = self.peer.pick(flow);
                let seq = self.peer.seq(i, seq, self.window_bytes(i));
                let out = self.peer.rst(i, seq, with_ack);
                self.send_peer(i, out);
            }
            Op::Segment(ref spec) => {
                let i = self.peer.pick(spec.flow);
                let seq = self.peer.seq(i, spec.seq, self.window_bytes(i));
                let ack = self.peer.ack(i, spec.ack);
                let out = self.peer.segment(
                    i,
                    TcpFlags(spec.flags),
                    seq,
                    ack,
                    spec.window,
                    payload_len(spec.len),
                    spec.urgent,
                    spec.timestamp,
                    &spec.sack,
                    &spec.syn_options,
                    now,
                );
                self.send_peer(i, out);
            }
            Op::RawOptions { flow, seq, ack, flags, ref options, words, len } => {
                let i = self.peer.pick(flow);
                let seq = self.peer.seq(i, seq, self.window_bytes(i));
                let ack = self.peer.ack(i, ack);
                let none = crate::ops::SynOptions {
                    mss: None,
                    window_scale: None,
                    sack_permitted: false,
                    timestamps: false,
                };
                let mut out = self.peer.segment(
                    i,
                    TcpFlags(flags),
                    seq,
                    ack,
                    self.peer.flows[i].peer_window,
                    payload_len(len),
                    0,
                    crate::ops::Timestamp::Omit,
                    &[],
                    &none,
                    now,
                );
                out.raw_options = Some(options[..4 * (usize::from(words) % 11)].to_vec());
                self.send_peer(i, out);
            }
            Op::Advance { amount, unit } => {
                let ms = u64::from(amount)
                    * match unit {
                        TimeUnit::Millis => 1,
                        TimeUnit::TenMillis => 10,
                        TimeUnit::Seconds => 1000,
                        TimeUnit::Minutes => 60_000,
                    };
                self.advance(Duration::from_millis(ms));
            }
            Op::NextTimer => {
                if let Some(at) = self.iface.poll_at(now, &self.sockets) {
                    self.advance(at.saturating_duration_since(now));
                }
            }
            Op::Send { conn, len } => {
                if let Some(i) = self.conn_index(conn) {
                    self.conns[i].send(&mut self.sockets, usize::from(len));
                }
            }
            Op::Recv { conn, len, in_place } => {
                if let Some(i) = self.conn_index(conn) {
                    self.conns[i].recv(&mut self.sockets, usize::from(len), in_place);
                }
            }
            Op::ShutdownWrite { conn } => {
                if let Some(handle) = self.conn_handle(conn) {
                    let _ = self.sockets.shutdown_write(handle);
                }
            }
            Op::Close { conn, linger_zero } => {
                if !self.conns.is_empty() {
                    let c = self.conns.remove(usize::from(conn) % self.conns.len());
                    if linger_zero {
                        let _ = self.sockets.set_linger_zero(c.handle, true);
                    }
                    let _ = self.sockets.close(c.handle);
                }
            }
            Op::Accept => {
                if let Some(listener) = self.listener {
                    if let Ok((handle, _)) = self.sockets.accept(listener) {
                        self.conns.push(AppConn::new(handle));
                    }
                }
            }
            Op::Connect { port } => {
                if let Ok(handle) = self.sockets.tcp_socket() {
                    let remote =
                        SocketAddrV4::new(PEER_IP, SERVICE_PORT_BASE + u16::from(port) % SERVICE_PORTS);
                    match self.sockets.connect(handle, remote, now) {
                        Ok(()) => self.conns.push(AppConn::new(handle)),
                        Err(_) => {
                            let _ = self.sockets.close(handle);
                        }
                    }
                }
            }
            Op::SetNodelay { conn, on } => {
                if let Some(handle) = self.conn_handle(conn) {
                    let _ = self.sockets.set_nodelay(handle, on);
                }
            }
            Op::SetKeepalive { conn, idle_secs } => {
                if let Some(handle) = self.conn_handle(conn) {
                    let keepalive = (idle_secs > 0).then_some(KeepaliveConfig {
                        idle: Duration::from_secs(u64::from(idle_secs)),
                        interval: Duration::from_secs(1),
                        count: 3,
                    });
                    let _ = self.sockets.set_keepalive(handle, keepalive, now);
                }
            }
            Op::ToggleListener => match self.listener.take() {
                Some(listener) => {
                    let _ = self.sockets.close(listener);
                }
                None => self.open_listener(),
            },
        }
        self.settle();
        let mut events = Vec::new();
        self.sockets.take_events(&mut events);
    }

    /// The application closes everything and an hour passes: every timer runs out.
    pub fn finish(&mut self) {
        for c in core::mem::take(&mut self.conns) {
            let _ = self.sockets.close(c.handle);
        }
        self.advance(Duration::from_secs(3600));
    }
}
