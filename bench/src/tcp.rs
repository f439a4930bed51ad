//! Two complete stacks joined by a [`DevicePair`], with one TCP connection between them:
//! the fixture of the TCP benchmarks (criterion's `tcp` bench and the `tcp_perf` binary
//! that callgrind counts).
//!
//! Everything both stacks do is inside the measured work: Ethernet, ARP lookups, IPv4,
//! TCP with checksums computed on transmit and verified on receive, the socket tables and
//! the application's reads and writes. The clock is virtual and moves by a fixed step per
//! round, so runs repeat exactly and no timer fires in steady state.

use core::net::SocketAddrV4;

use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::socket::{SocketError, SocketHandle, SocketSet, SocketSetConfig};
use sluice_core::tcp::{State, TcpConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

use crate::pair::{DevicePair, Side};

/// The IP MTU of the link: Ethernet's 1500.
pub const MTU: usize = 1500;
/// Size of the request and of the response in a request/response transaction.
pub const MESSAGE_LEN: usize = 64;
/// Frames each direction of the device pair holds.
const RING_SLOTS: usize = 1024;
/// Virtual time that passes per round of polls.
const STEP: Duration = Duration::from_micros(1);
/// Port the server listens on.
const PORT: u16 = 5001;
/// Rounds the handshake may take before setup gives up.
const SETUP_ROUNDS: usize = 1000;

/// The client side is 10.0.0.1, the server 10.0.0.2.
fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

/// One host: the stack every worker and simulated host runs, its sockets driven by the
/// benchmark between polls.
pub type Stack = sluice_core::stack::Stack<()>;

/// Host `n` of the pair.
fn host(n: u8, tcp: TcpConfig) -> Stack {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
    let mut config = InterfaceConfig::new(mac, Ipv4Cidr::new(ip(n), 24).expect("a /24 is valid"));
    config.announce = false;
    let iface = Interface::new(config).expect("a valid interface configuration");
    let mut secret = [0u8; 16];
    secret[0] = n;
    let sockets =
        SocketSet::new(SocketSetConfig { ephemeral_seed: u64::from(n), secret, tcp, ..Default::default() });
    let mut stack = Stack::new(0, iface, sockets, ());
    stack.start(Instant::ZERO).expect("nothing to start");
    stack
}

/// A client and a server stack with an established connection between them.
#[derive(Debug)]
pub struct TcpPair {
    pub link: DevicePair,
    pub client: Stack,
    pub server: Stack,
    /// The client's connected socket.
    pub client_conn: SocketHandle,
    /// The server's accepted socket.
    pub server_conn: SocketHandle,
    now: Instant,
    buf: Vec<u8>,
}

impl TcpPair {
    /// Both stacks with `tcp` as their socket options, connected: ARP resolved, handshake
    /// done, the server's socket accepted.
    pub fn connected(tcp: TcpConfig) -> TcpPair {
        let mut client = host(1, tcp);
        let mut server = host(2, tcp);
        let listener = server.sockets.tcp_socket().expect("room for a socket");
        server.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).expect("port is free");
        server.sockets.listen(listener, 1).expect("bound");
        let now = Instant::from_secs(1);
        let client_conn = client.sockets.tcp_socket().expect("room for a socket");
        client.sockets.connect(client_conn, SocketAddrV4::new(ip(2), PORT), now).expect("connect starts");
        let mut pair = TcpPair {
            link: DevicePair::new(MTU, RING_SLOTS),
            client,
            server,
            client_conn,
            server_conn: listener,
            now,
            buf: vec![0; 1 << 20],
        };
        for _ in 0..SETUP_ROUNDS {
            pair.poll_both();
            if let Ok((conn, _)) = pair.server.sockets.accept(listener) {
                pair.server_conn = conn;
                break;
            }
        }
        let client_state = pair.client.sockets.connection(client_conn).map(|c| c.state());
        assert_eq!(client_state, Ok(State::Established), "the client connects");
        assert_ne!(pair.server_conn, listener, "the server accepts");
        pair
    }

    /// The request/response fixture: default options (Nagle stays on; it never holds a
    /// request, as nothing is in flight when one is written), warmed up past the quick-ACK
    /// phase so every transaction is two segments: the request, and the response carrying
    /// the request's ACK (the response's ACK rides on the next request).
    pub fn request_response() -> TcpPair {
        let mut pair = TcpPair::connected(TcpConfig::default());
        for _ in 0..1000 {
            pair.transaction();
        }
        pair
    }

    /// The bulk fixture: 4 MB socket buffers on both ends (window scaling does the rest),
    /// and a first transfer so the congestion window has opened.
    pub fn bulk() -> TcpPair {
        let tcp = TcpConfig { send_buffer: 4 << 20, recv_buffer: 4 << 20, ..TcpConfig::default() };
        let mut pair = TcpPair::connected(tcp);
        pair.stream(64 << 20);
        pair
    }

    /// Polls the client, then the server, once each.
    fn poll_both(&mut self) {
        self.now += STEP;
        self.client.poll(self.now, &mut self.link.end(Side::A));
        self.server.poll(self.now, &mut self.link.end(Side::B));
    }

    /// One request/response transaction: the client writes 64 bytes and polls; the server
    /// polls, reads the 64 bytes, writes 64 back and polls; the client polls and reads them.
    pub fn transaction(&mut self) {
        let request = [0x51u8; MESSAGE_LEN];
        let response = [0x52u8; MESSAGE_LEN];
        self.now += STEP;
        let sent = self.client.sockets.send(self.client_conn, &request);
        assert_eq!(sent, Ok(MESSAGE_LEN), "the client's send buffer has room");
        self.client.poll(self.now, &mut self.link.end(Side::A));

        self.server.poll(self.now, &mut self.link.end(Side::B));
        let read = self.server.sockets.recv(self.server_conn, &mut self.buf[..MESSAGE_LEN]);
        assert_eq!(read, Ok(MESSAGE_LEN), "the request arrived whole");
        let sent = self.server.sockets.send(self.server_conn, &response);
        assert_eq!(sent, Ok(MESSAGE_LEN), "the server's send buffer has room");
        self.server.poll(self.now, &mut self.link.end(Side::B));

        self.client.poll(self.now, &mut self.link.end(Side::A));
        let read = self.client.sockets.recv(self.client_conn, &mut self.buf[..MESSAGE_LEN]);
        assert_eq!(read, Ok(MESSAGE_LEN), "the response arrived whole");
    }

    /// Streams `len` bytes from client to server, the server reading everything with
    /// `recv` as it arrives. Returns the polls of each side it took.
    pub fn stream(&mut self, len: usize) -> usize {
        let data = [0xa5u8; 64 * 1024];
        let mut sent = 0;
        let mut received = 0;
        let mut rounds = 0;
        while received < len {
            while sent < len {
                let chunk = (len - sent).min(data.len());
                match self.client.sockets.send(self.client_conn, &data[..chunk]) {
                    Ok(n) => sent += n,
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("send failed: {e}"),
                }
            }
            self.poll_both();
            loop {
                match self.server.sockets.recv(self.server_conn, &mut self.buf) {
                    Ok(0) => panic!("the stream ended early"),
                    Ok(n) => received += n,
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("recv failed: {e}"),
                }
            }
            rounds += 1;
            assert!(rounds < len, "the transfer stalled: {received} of {len} bytes after {rounds} rounds");
        }
        assert_eq!(received, len, "no more than was sent arrives");
        rounds
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }
}

/// `count` transactions, kept out of line so that callgrind can count exactly this
/// function (`--toggle-collect=*measured_transactions*`).
#[inline(never)]
pub fn measured_transactions(pair: &mut TcpPair, count: u64) {
    for _ in 0..count {
        pair.transaction();
    }
}

/// Streams `len` bytes, kept out of line for the same reason as [`measured_transactions`].
#[inline(never)]
pub fn measured_stream(pair: &mut TcpPair, len: usize) -> usize {
    pair.stream(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_take_two_segments_each() {
        let mut pair = TcpPair::request_response();
        let before = (pair.link.counters(Side::A).frames, pair.link.counters(Side::B).frames);
        measured_transactions(&mut pair, 100);
        let after = (pair.link.counters(Side::A).frames, pair.link.counters(Side::B).frames);
        assert_eq!((after.0 - before.0, after.1 - before.1), (100, 100));
        assert_eq!(pair.link.counters(Side::A).overflowed + pair.link.counters(Side::B).overflowed, 0);
    }

    #[test]
    fn bulk_stream_arrives_whole() {
        let mut pair = TcpPair::connected(TcpConfig {
            send_buffer: 1 << 20,
            recv_buffer: 1 << 20,
            ..TcpConfig::default()
        });
        pair.stream(8 << 20);
        pair.stream(3 << 20);
        let stats = pair.client.sockets.tcp_stats();
        assert_eq!(stats.retransmitted_segments, 0);
    }
}
