//! The SYN queue and SYN cookies (RFC 4987), frame by frame against a whole stack
//! (interface and socket set on an in-memory device, virtual clock): a flood of spoofed
//! SYNs fills only the compact SYN queue, cookies answer the rest, a returning cookie makes
//! the connection with the options the cookie carried, and forged ones are reset.

use core::net::SocketAddrV4;

use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::sim::{Host, LinkConfig, Network, SimDevice, StackHost};
use sluice_core::socket::{SocketHandle, SocketSet, SocketSetConfig};
use sluice_core::tcp::{State, SynCookieMode, TcpConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    IpProtocol, Ipv4Addr, Ipv4Cidr, Ipv4Packet, Ipv4Repr, SeqNumber, TcpFlags, TcpOptions, TcpPacket,
    TcpRepr,
};

const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PORT: u16 = 80;

/// A segment the server sent, with its payload copied out.
#[derive(Debug, Clone)]
struct Sent {
    dst: Ipv4Addr,
    flags: TcpFlags,
    seq: SeqNumber,
    ack: SeqNumber,
    window: u16,
    options: TcpOptions,
    payload: Vec<u8>,
}

/// A server stack whose wire the test plays: frames in, frames out.
struct Server {
    iface: Interface,
    sockets: SocketSet,
    device: SimDevice,
    now: Instant,
    listener: SocketHandle,
}

impl Server {
    fn new(backlog: usize, tcp: TcpConfig) -> Server {
        let iface =
            Interface::new(InterfaceConfig::new(SERVER_MAC, Ipv4Cidr::new(SERVER_IP, 24).unwrap())).unwrap();
        let mut sockets =
            SocketSet::new(SocketSetConfig { secret: [9; 16], tcp, ..SocketSetConfig::default() });
        let listener = sockets.tcp_socket().unwrap();
        sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).unwrap();
        sockets.listen(listener, backlog).unwrap();
        let mut server = Server {
            iface,
            sockets,
            device: SimDevice::new(SERVER_MAC, 1500),
            now: Instant::from_secs(1000),
            listener,
        };
        // The client announces itself (RFC 826: we are the target, so its address is
        // learned) and the server's gratuitous announcements are cleared away.
        server.inject(arp_request(CLIENT_MAC, CLIENT_IP, SERVER_IP));
        server.take();
        server
    }

    fn inject(&mut self, frame: Vec<u8>) {
        assert!(self.device.inject(frame));
        self.iface.poll(self.now, &mut self.device, &mut self.sockets);
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.iface.poll(self.now, &mut self.device, &mut self.sockets);
    }

    /// Every TCP segment sent since the last call.
    fn take(&mut self) -> Vec<Sent> {
        let mut sent = Vec::new();
        while let Some(frame) = self.device.take_transmitted() {
            let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
            if eth.ethertype() != EtherType::Ipv4 {
                continue;
            }
            let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
            let ip_repr = Ipv4Repr::parse(&ip, ChecksumMode::Verify).unwrap();
            if ip_repr.next_header != IpProtocol::Tcp {
                continue;
            }
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            let repr =
                TcpRepr::parse(&tcp, ip_repr.src_addr, ip_repr.dst_addr, ChecksumMode::Verify).unwrap();
            sent.push(Sent {
                dst: ip_repr.dst_addr,
                flags: repr.flags,
                seq: repr.seq_number,
                ack: repr.ack_number,
                window: repr.window_len,
                options: repr.options,
                payload: repr.payload.to_vec(),
            });
        }
        sent
    }

    fn take_one(&mut self) -> Sent {
        let mut sent = self.take();
        assert_eq!(sent.len(), 1, "expected one segment, got {sent:?}");
        sent.pop().unwrap()
    }

    fn stat(&self, name: &str) -> u64 {
        self.sockets.tcp_stats().iter().find(|(n, _)| *n == name).unwrap().1
    }
}

fn arp_request(mac: EthernetAddress, ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let arp = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress::UNSPECIFIED,
        target_protocol_addr: target,
    };
    let eth = EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EtherType::Arp,
        vlan_id: None,
    };
    let mut frame = vec![0; eth.buffer_len() + arp.buffer_len()];
    let mut view = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.emit(&mut view);
    arp.emit(&mut ArpPacket::new_unchecked(view.payload_mut()));
    frame
}

/// A segment from `src:sport` to the server's port.
fn segment(src: Ipv4Addr, sport: u16, repr: TcpRepr<'_>) -> Vec<u8> {
    let repr = TcpRepr { src_port: sport, dst_port: PORT, ..repr };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: SERVER_IP,
        next_header: IpProtocol::Tcp,
        payload_len: repr.buffer_len(),
        hop_limit: 64,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        dscp_ecn: 0,
    };
    let eth = EthernetRepr {
        src_addr: CLIENT_MAC,
        dst_addr: SERVER_MAC,
        ethertype: EtherType::Ipv4,
        vlan_id: None,
    };
    let mut frame = vec![0; eth.buffer_len() + 20 + ip.payload_len];
    let mut view = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.emit(&mut view);
    let mut packet = Ipv4Packet::new_unchecked(view.payload_mut());
    ip.emit(&mut packet);
    repr.emit(&mut TcpPacket::new_unchecked(packet.payload_mut()), src, SERVER_IP);
    frame
}

fn syn(seq: u32, options: TcpOptions) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 0,
        dst_port: PORT,
        seq_number: SeqNumber(seq),
        ack_number: SeqNumber(0),
        flags: TcpFlags::SYN,
        window_len: 64240,
        urgent_pointer: 0,
        options,
        payload: &[],
    }
}

fn ack<'a>(seq: u32, ack: SeqNumber, tsecr: Option<(u32, u32)>, payload: &'a [u8]) -> TcpRepr<'a> {
    TcpRepr {
        seq_number: SeqNumber(seq),
        ack_number: ack,
        flags: if payload.is_empty() { TcpFlags::ACK } else { TcpFlags::ACK | TcpFlags::PSH },
        window_len: 1000,
        options: TcpOptions { timestamps: tsecr, ..TcpOptions::default() },
        payload,
        ..syn(0, TcpOptions::default())
    }
}

fn linux_options(tsval: u32) -> TcpOptions {
    TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some((tsval, 0)),
        ..TcpOptions::default()
    }
}

/// A spoofed source far off the server's subnet (so no ARP and no reply frame).
fn spoofed(n: u32) -> (Ipv4Addr, u16) {
    let x = n.wrapping_mul(2_654_435_761);
    (
        Ipv4Addr::new(100, 64 | (x >> 26) as u8 & 63, (x >> 16) as u8, (x >> 8) as u8),
        1024 + (x as u16 % 60000),
    )
}

fn accept_one(server: &mut Server) -> SocketHandle {
    let (conn, peer) = server.sockets.accept(server.listener).expect("a connection to accept");
    assert_eq!(*peer.ip(), CLIENT_IP);
    conn
}

fn read_all(server: &mut Server, conn: SocketHandle) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = server.sockets.recv(conn, &mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn a_syn_flood_fills_only_the_syn_queue_and_a_real_client_still_connects() {
    let mut server = Server::new(64, TcpConfig::default());
    let sockets_before = server.sockets.iter().count();
    for n in 0..20_000 {
        let (src, sport) = spoofed(n);
        server.inject(segment(src, sport, syn(n, linux_options(n))));
    }
    // Only the SYN queue holds state: 64 compact records; no connection and no buffer was
    // made for a spoofed SYN.
    assert_eq!(server.sockets.tcp_half_open(), 64);
    assert_eq!(server.sockets.iter().count(), sockets_before);
    assert_eq!(server.stat("syn_cookies_sent"), 20_000 - 64);
    assert_eq!(server.stat("passive_opens"), 64);
    server.take();

    // A real client during the flood gets a cookie and connects with its first ACK.
    server.inject(segment(CLIENT_IP, 40000, syn(5000, linux_options(77))));
    let synack = server.take_one();
    assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(synack.ack, SeqNumber(5001));
    let (tsval, tsecr) = synack.options.timestamps.unwrap();
    assert_eq!(tsecr, 77);
    server.advance(Duration::from_millis(1));
    server.inject(segment(
        CLIENT_IP,
        40000,
        ack(5001, synack.seq + 1, Some((78, tsval)), b"GET / HTTP/1.1\r\n"),
    ));
    assert_eq!(server.stat("syn_cookies_accepted"), 1);
    let conn = accept_one(&mut server);
    assert_eq!(server.sockets.connection(conn).unwrap().state(), State::Established);
    assert_eq!(read_all(&mut server, conn), b"GET / HTTP/1.1\r\n");
    server.sockets.send(conn, b"HTTP/1.1 200 OK\r\n").unwrap();
    server.advance(Duration::from_millis(1));
    let reply = server.take().into_iter().find(|s| !s.payload.is_empty()).expect("the response");
    assert_eq!(reply.dst, CLIENT_IP);
    assert_eq!(reply.seq, synack.seq + 1);
    assert_eq!(reply.payload, b"HTTP/1.1 200 OK\r\n");
}

#[test]
fn a_cookie_ack_restores_mss_window_scale_and_sack_from_the_timestamp() {
    let config = TcpConfig { syn_cookies: SynCookieMode::Always, ..TcpConfig::default() };
    let mut server = Server::new(64, config);
    let options = TcpOptions {
        mss: Some(1400),
        window_scale: Some(9),
        sack_permitted: true,
        timestamps: Some((1_000_000, 0)),
        ..TcpOptions::default()
    };
    server.inject(segment(CLIENT_IP, 40001, syn(777, options)));
    assert_eq!(server.sockets.tcp_half_open(), 0, "Always keeps no record");
    let synack = server.take_one();
    assert_eq!(synack.options.window_scale, Some(3), "ours, for a 256 KiB buffer");
    assert_eq!(synack.window, 65535, "a SYN's window is never scaled: the buffer, up to 65,535");
    assert!(synack.options.sack_permitted);
    let (tsval, _) = synack.options.timestamps.unwrap();
    assert_eq!(tsval & 0x3f, 9 | 1 << 4, "window scale 9 and SACK in the low bits");
    server.inject(segment(CLIENT_IP, 40001, ack(778, synack.seq + 1, Some((1_000_001, tsval)), b"")));
    let conn = accept_one(&mut server);
    let c = server.sockets.connection(conn).unwrap();
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.mss(), 1300 - 12, "the table MSS below 1400, less the timestamp option");
    assert_eq!(c.peer_window_scale(), Some(9));
    assert!(c.sack_enabled());
    assert!(c.timestamps_enabled());
    assert_eq!(server.stat("syn_cookies_sent"), 1);
    assert_eq!(server.stat("syn_cookies_accepted"), 1);
}

#[test]
fn without_timestamps_a_cookie_connection_has_no_window_scale_or_sack() {
    let config = TcpConfig { syn_cookies: SynCookieMode::Always, ..TcpConfig::default() };
    let mut server = Server::new(64, config);
    let options =
        TcpOptions { mss: Some(1460), window_scale: Some(7), sack_permitted: true, ..TcpOptions::default() };
    server.inject(segment(CLIENT_IP, 40002, syn(1, options)));
    let synack = server.take_one();
    assert_eq!(synack.options.window_scale, None, "a cookie cannot carry it without timestamps");
    assert!(!synack.options.sack_permitted);
    assert_eq!(synack.options.timestamps, None);
    server.inject(segment(CLIENT_IP, 40002, ack(2, synack.seq + 1, None, b"x")));
    let conn = accept_one(&mut server);
    let c = server.sockets.connection(conn).unwrap();
    assert_eq!((c.peer_window_scale(), c.sack_enabled(), c.timestamps_enabled()), (None, false, false));
    assert_eq!(c.mss(), 1460);
}

#[test]
fn forged_and_stale_cookie_acks_are_reset_and_counted() {
    let config = TcpConfig { syn_cookies: SynCookieMode::Always, ..TcpConfig::default() };
    let mut server = Server::new(64, config);

    // No cookie sent yet: an ACK at the listener is plainly reset, not checked.
    server.inject(segment(CLIENT_IP, 40003, ack(10, SeqNumber(12345), None, b"")));
    let rst = server.take_one();
    assert_eq!((rst.flags, rst.seq), (TcpFlags::RST, SeqNumber(12345)));
    assert_eq!(server.stat("syn_cookies_rejected"), 0);

    server.inject(segment(
        CLIENT_IP,
        40003,
        syn(10, TcpOptions { mss: Some(1460), ..TcpOptions::default() }),
    ));
    let synack = server.take_one();
    // A guessed acknowledgment number, the right one on another port, and the right one
    // for a wrong sequence number: all reset, none makes a connection.
    for (sport, seq, ackno) in
        [(40003, 11, synack.seq + 2), (40004, 11, synack.seq + 1), (40003, 11 + (1 << 20), synack.seq + 1)]
    {
        server.inject(segment(CLIENT_IP, sport, ack(seq, ackno, None, b"")));
        let rst = server.take_one();
        assert_eq!(rst.flags, TcpFlags::RST);
    }
    assert_eq!(server.stat("syn_cookies_rejected"), 3);
    assert!(server.sockets.accept(server.listener).is_err());

    // The real cookie, too late: cookies live two to three minutes.
    server.advance(Duration::from_secs(200));
    // (The client's neighbour entry has aged out meanwhile: it announces itself again.)
    server.inject(arp_request(CLIENT_MAC, CLIENT_IP, SERVER_IP));
    server.inject(segment(CLIENT_IP, 40003, ack(11, synack.seq + 1, None, b"")));
    assert_eq!(server.take_one().flags, TcpFlags::RST);
    assert_eq!(server.stat("syn_cookies_rejected"), 3, "no cookie sent for minutes: not even checked");
    // With cookies being sent again (another client), the old one is checked and fails.
    server.inject(segment(CLIENT_IP, 40009, syn(10, TcpOptions::default())));
    server.take();
    server.inject(segment(CLIENT_IP, 40003, ack(11, synack.seq + 1, None, b"")));
    assert_eq!(server.take_one().flags, TcpFlags::RST);
    assert_eq!(server.stat("syn_cookies_rejected"), 4);
    assert!(server.sockets.accept(server.listener).is_err());
}

#[test]
fn a_half_open_record_retransmits_its_syn_ack_then_expires() {
    let config = TcpConfig { synack_retries: 2, ..TcpConfig::default() };
    let mut server = Server::new(8, config);
    server.inject(segment(CLIENT_IP, 40005, syn(100, linux_options(5))));
    let first = server.take_one();
    assert_eq!(server.sockets.tcp_half_open(), 1);
    // RFC 6298 §2.1: 1 s, then doubling.
    server.advance(Duration::from_millis(999));
    assert!(server.take().is_empty());
    server.advance(Duration::from_millis(1));
    let again = server.take_one();
    assert_eq!((again.flags, again.seq, again.ack), (first.flags, first.seq, first.ack));
    server.advance(Duration::from_secs(2));
    assert_eq!(server.take_one().seq, first.seq);
    assert_eq!(server.stat("synack_retransmits"), 2);
    server.advance(Duration::from_secs(4));
    assert!(server.take().is_empty());
    assert_eq!(server.sockets.tcp_half_open(), 0);
    assert_eq!(server.stat("half_open_expired"), 1);
    // The late ACK finds nothing: reset.
    server.inject(segment(CLIENT_IP, 40005, ack(101, first.seq + 1, None, b"")));
    assert_eq!(server.take_one().flags, TcpFlags::RST);
}

#[test]
fn a_record_completes_on_the_ack_after_a_retransmission_and_a_repeated_syn() {
    let mut server = Server::new(8, TcpConfig::default());
    server.inject(segment(CLIENT_IP, 40006, syn(100, linux_options(5))));
    let first = server.take_one();
    // The peer's SYN again: the same SYN-ACK again, still one record.
    server.inject(segment(CLIENT_IP, 40006, syn(100, linux_options(6))));
    assert_eq!(server.take_one().seq, first.seq);
    assert_eq!(server.sockets.tcp_half_open(), 1);
    // A wrong acknowledgment number is reset (RFC 9293 §3.10.7.4) and leaves the record.
    server.inject(segment(CLIENT_IP, 40006, ack(101, first.seq + 5, None, b"")));
    assert_eq!(server.take_one().flags, TcpFlags::RST);
    assert_eq!(server.sockets.tcp_half_open(), 1);
    let tsval = first.options.timestamps.unwrap().0;
    server.advance(Duration::from_millis(3));
    server.inject(segment(CLIENT_IP, 40006, ack(101, first.seq + 1, Some((7, tsval)), b"hi")));
    assert_eq!(server.sockets.tcp_half_open(), 0);
    let conn = accept_one(&mut server);
    assert_eq!(read_all(&mut server, conn), b"hi");
    let c = server.sockets.connection(conn).unwrap();
    assert_eq!((c.peer_window_scale(), c.sack_enabled(), c.mss()), (Some(7), true, 1460 - 12));
    assert_eq!(c.rtt().srtt(), Some(Duration::from_millis(3)), "sampled from the echoed timestamp");
    assert_eq!(server.stat("syn_cookies_sent"), 0);
}

#[test]
fn a_reset_at_rcv_nxt_removes_the_record_and_others_do_not() {
    let mut server = Server::new(8, TcpConfig::default());
    server.inject(segment(CLIENT_IP, 40007, syn(100, linux_options(5))));
    server.take();
    let rst = |seq| TcpRepr { flags: TcpFlags::RST, ..ack(seq, SeqNumber(0), None, b"") };
    server.inject(segment(CLIENT_IP, 40007, rst(5000)));
    assert_eq!(server.sockets.tcp_half_open(), 1, "RFC 5961 §3.2: not exactly RCV.NXT");
    server.inject(segment(CLIENT_IP, 40007, rst(101)));
    assert_eq!(server.sockets.tcp_half_open(), 0);
    assert!(server.take().is_empty(), "a RST is never answered");
}

#[test]
fn with_cookies_off_a_full_syn_queue_drops_and_counts() {
    let config = TcpConfig { syn_cookies: SynCookieMode::Never, ..TcpConfig::default() };
    let mut server = Server::new(4, config);
    for n in 0..10 {
        server.inject(segment(CLIENT_IP, 41000 + n, syn(u32::from(n), linux_options(1))));
    }
    assert_eq!(server.take().len(), 4);
    assert_eq!(server.sockets.tcp_half_open(), 4);
    assert_eq!(server.stat("syn_queue_overflows"), 6);
    assert_eq!(server.stat("syn_cookies_sent"), 0);
}

/// Two whole stacks in the simulator: a listener with room for two handshakes and two
/// waiting connections, five clients that connect at once and write first. Two complete
/// from records, three from cookies; those find the accept queue full at first, and their
/// data segment (which returns the cookie too) completes them once there is room.
#[test]
fn cookie_clients_complete_when_the_accept_queue_has_room() {
    let mut net = Network::new(5);
    let seg = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(200)));
    let mut host = |n: u8| {
        let mac = EthernetAddress([0x02, 0, 0, 0, 0, n]);
        let port = net.add_port(seg, mac);
        let ip = Ipv4Addr::new(10, 0, 0, n);
        let iface = Interface::new(InterfaceConfig::new(mac, Ipv4Cidr::new(ip, 24).unwrap())).unwrap();
        let sockets = SocketSet::new(SocketSetConfig {
            ephemeral_seed: u64::from(n),
            secret: [n; 16],
            ..SocketSetConfig::default()
        });
        StackHost::new(port, iface, sockets, ())
    };
    let mut client = host(1);
    let mut server = host(2);
    let listener = server.sockets.tcp_socket().unwrap();
    server.sockets.bind(listener, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).unwrap();
    server.sockets.listen(listener, 2).unwrap();
    let target = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), PORT);
    let clients: Vec<SocketHandle> = (0..5)
        .map(|_| {
            let c = client.sockets.tcp_socket().unwrap();
            client.sockets.connect(c, target, net.now()).unwrap();
            c
        })
        .collect();
    let run = |net: &mut Network, client: &mut StackHost<()>, server: &mut StackHost<()>, d: Duration| {
        let deadline = net.now() + d;
        net.run_until(&mut [client as &mut dyn Host, server as &mut dyn Host], deadline, |_| false);
    };
    run(&mut net, &mut client, &mut server, Duration::from_millis(50));
    for &c in &clients {
        assert_eq!(client.sockets.connection(c).unwrap().state(), State::Established);
    }
    assert_eq!(server.sockets.tcp_stats().syn_cookies_sent, 3);
    assert_eq!(server.sockets.tcp_stats().listen_overflows, 3, "three cookie ACKs met a full accept queue");
    for (i, &c) in clients.iter().enumerate() {
        client.sockets.send(c, format!("client {i}").as_bytes()).unwrap();
    }
    let mut received = Vec::new();
    for _ in 0..40 {
        run(&mut net, &mut client, &mut server, Duration::from_millis(250));
        while let Ok((conn, _)) = server.sockets.accept(listener) {
            received.push(conn);
        }
        if received.len() == 5 {
            break;
        }
    }
    assert_eq!(received.len(), 5, "every client got in");
    run(&mut net, &mut client, &mut server, Duration::from_millis(50));
    let mut texts: Vec<String> = received
        .iter()
        .map(|&conn| {
            let mut buf = [0u8; 64];
            let n = server.sockets.recv(conn, &mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        })
        .collect();
    texts.sort();
    assert_eq!(texts, (0..5).map(|i| format!("client {i}")).collect::<Vec<_>>());
    assert_eq!(server.sockets.tcp_stats().syn_cookies_accepted, 3);
}
