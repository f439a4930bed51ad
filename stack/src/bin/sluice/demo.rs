//! `sluice demo`: two simulated hosts, the real stack on each, every frame traced.
//!
//! Host A (10.0.0.1) pings host B (10.0.0.2), resolves `echo.sluice.test` through B's DNS
//! server, sends two datagrams to B's UDP echo service (one of 4,000 bytes, so it travels
//! in fragments and is reassembled on both sides), and finally sends to a closed port and
//! receives ICMP port unreachable. ARP resolves the addresses on the way.

use std::fmt::Write as _;
use std::fs::File;
use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use core::net::SocketAddrV4;
use pcap_file::pcap::PcapReader;

use sluice::apps::{Ctx, DnsServer, Handler, UdpEcho, ECHO_PORT};
use sluice::dns::{QueryHandle, Resolver, ResolverConfig};
use sluice::iface::{Interface, InterfaceConfig};
use sluice::sim::{LinkConfig, Network, StackHost};
use sluice::socket::{IcmpConfig, SocketError, SocketHandle, SocketSet, SocketSetConfig, UdpConfig};
use sluice::time::{Duration, Instant};
use sluice::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

pub struct Options {
    pub pcap: PathBuf,
    pub seed: u64,
    pub loss: f64,
    pub latency_us: u64,
}

const NAME: &str = "echo.sluice.test";
const A_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]);
const B_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0b]);
const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PINGS: u16 = 3;
const CLOSED_PORT: u16 = 9;
/// UDP has no retransmission of its own: the client resends what got no answer.
const RESEND_AFTER: Duration = Duration::from_secs(1);
const MAX_TRIES: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ping { next_seq: u16, replies: u16 },
    Resolve(QueryHandle),
    Echo { addr: Ipv4Addr, tries: u32 },
    ClosedPort { addr: Ipv4Addr, tries: u32 },
    Done,
}

/// Host A's script, run as an application on the stack.
struct DemoClient {
    ping: SocketHandle,
    udp: SocketHandle,
    resolver: Resolver,
    phase: Phase,
    /// When the current phase gives up.
    deadline: Instant,
    next_ping_at: Instant,
    sent_at: [Instant; PINGS as usize],
    datagrams: Vec<Vec<u8>>,
    echoed: Vec<bool>,
    log: Vec<(Instant, String)>,
    failure: Option<String>,
}

impl DemoClient {
    fn new(sockets: &mut SocketSet, seed: u64) -> Result<DemoClient> {
        let ping = sockets.icmp_socket(IcmpConfig::default())?;
        let udp = sockets.udp_socket(UdpConfig::default())?;
        let resolver = Resolver::new(sockets, ResolverConfig::new(vec![B_IP]), seed)?;
        let big: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        Ok(DemoClient {
            ping,
            udp,
            resolver,
            phase: Phase::Ping { next_seq: 0, replies: 0 },
            deadline: Instant::ZERO,
            next_ping_at: Instant::ZERO,
            sent_at: [Instant::ZERO; PINGS as usize],
            datagrams: vec![b"hello, sluice".to_vec(), big],
            echoed: vec![false; 2],
            log: Vec::new(),
            failure: None,
        })
    }

    fn note(&mut self, now: Instant, line: String) {
        self.log.push((now, line));
    }

    fn fail(&mut self, now: Instant, why: &str) {
        self.note(now, format!("FAILED: {why}"));
        self.failure = Some(why.to_string());
        self.phase = Phase::Done;
    }

    fn step(&mut self, now: Instant, sockets: &mut SocketSet) -> Result<(), SocketError> {
        match self.phase {
            Phase::Ping { next_seq, replies } => {
                let mut replies = replies;
                let mut buf = [0u8; 64];
                while let Ok(reply) = sockets.recv_echo(self.ping, &mut buf) {
                    let rtt = now - self.sent_at[usize::from(reply.seq_no) % self.sent_at.len()];
                    self.note(
                        now,
                        format!(
                            "app A: echo reply from {} seq {} time {} µs",
                            reply.from,
                            reply.seq_no,
                            rtt.as_micros()
                        ),
                    );
                    replies += 1;
                }
                let mut next_seq = next_seq;
                if next_seq < PINGS && now >= self.next_ping_at {
                    sockets.send_echo(self.ping, B_IP, next_seq, &[0x5a; 56])?;
                    self.sent_at[usize::from(next_seq)] = now;
                    self.note(now, format!("app A: ping {B_IP} seq {next_seq}, 56 data bytes"));
                    next_seq += 1;
                    self.next_ping_at = now + Duration::from_millis(100);
                    if next_seq == PINGS {
                        // Like ping(8): wait a while for the last replies, then report.
                        self.deadline = now + RESEND_AFTER;
                    }
                }
                self.phase = Phase::Ping { next_seq, replies };
                if replies == PINGS || (next_seq == PINGS && now >= self.deadline) {
                    let lost = 100 * u32::from(PINGS - replies) / u32::from(PINGS);
                    self.note(
                        now,
                        format!("app A: {PINGS} pings transmitted, {replies} received, {lost}% loss"),
                    );
                    let query = self.resolver.start(NAME).map_err(|_| SocketError::WouldBlock)?;
                    self.note(now, format!("app A: gethostbyname({NAME}) via {B_IP}"));
                    self.phase = Phase::Resolve(query);
                }
                return Ok(());
            }
            Phase::Resolve(query) => {
                self.resolver.poll(now, sockets);
                match self.resolver.take_result(query) {
                    None => {}
                    Some(Ok(addrs)) => {
                        self.note(now, format!("app A: {NAME} has address {}", addrs[0]));
                        self.phase = Phase::Echo { addr: addrs[0], tries: 0 };
                        self.deadline = now;
                    }
                    Some(Err(e)) => self.fail(now, &format!("lookup failed: {e}")),
                }
            }
            Phase::Echo { addr, tries } => {
                let mut buf = vec![0u8; 8192];
                while let Ok((len, from)) = sockets.recv_from(self.udp, &mut buf) {
                    let Some(index) = self.datagrams.iter().position(|d| d[..] == buf[..len]) else {
                        self.fail(now, "an echo differs from every datagram sent");
                        return Ok(());
                    };
                    self.note(
                        now,
                        format!("app A: {len} bytes echoed by {from}, identical to what was sent"),
                    );
                    self.echoed[index] = true;
                }
                if self.echoed.iter().all(|&e| e) {
                    self.phase = Phase::ClosedPort { addr, tries: 0 };
                    self.deadline = now;
                } else if now >= self.deadline {
                    if tries == MAX_TRIES {
                        self.fail(now, "datagrams were not echoed after every resend");
                        return Ok(());
                    }
                    for (datagram, _) in self.datagrams.iter().zip(&self.echoed).filter(|(_, &e)| !e) {
                        sockets.send_to(self.udp, datagram, SocketAddrV4::new(addr, ECHO_PORT))?;
                    }
                    let sizes: Vec<String> = self
                        .datagrams
                        .iter()
                        .zip(&self.echoed)
                        .filter(|(_, &e)| !e)
                        .map(|(d, _)| d.len().to_string())
                        .collect();
                    let verb = if tries == 0 { "sent" } else { "resent" };
                    self.note(
                        now,
                        format!(
                            "app A: {verb} datagrams of {} bytes to {addr}:{ECHO_PORT}",
                            sizes.join(" and ")
                        ),
                    );
                    self.phase = Phase::Echo { addr, tries: tries + 1 };
                    self.deadline = now + RESEND_AFTER;
                }
                return Ok(());
            }
            Phase::ClosedPort { addr, tries } => {
                if let Some(error) = sockets.take_error(self.udp)? {
                    self.note(now, format!("app A: socket error: {error}"));
                    self.phase = Phase::Done;
                } else if now >= self.deadline {
                    if tries == MAX_TRIES {
                        self.fail(now, "no ICMP error came back from the closed port");
                        return Ok(());
                    }
                    sockets.send_to(self.udp, b"anyone there?", SocketAddrV4::new(addr, CLOSED_PORT))?;
                    self.note(now, format!("app A: sent a datagram to closed port {addr}:{CLOSED_PORT}"));
                    self.phase = Phase::ClosedPort { addr, tries: tries + 1 };
                    self.deadline = now + RESEND_AFTER;
                }
                return Ok(());
            }
            Phase::Done => {}
        }
        Ok(())
    }
}

/// A polled application: each poll moves the demo on as far as it can.
impl Handler for DemoClient {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        if let Err(e) = self.step(now, ctx.sockets()) {
            self.fail(now, &format!("socket call failed: {e}"));
        }
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        match self.phase {
            Phase::Done => None,
            Phase::Ping { next_seq, .. } if next_seq < PINGS => Some(self.next_ping_at),
            Phase::Resolve(_) => self.resolver.poll_at(now),
            _ => Some(self.deadline),
        }
    }
}

/// Host B's services: UDP echo and a DNS server, both polled.
struct DemoServer {
    echo: UdpEcho,
    dns: DnsServer,
}

impl Handler for DemoServer {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        self.echo.poll(ctx.sockets());
        self.dns.poll(ctx.sockets());
    }
}

fn interface(mac: EthernetAddress, ip: Ipv4Addr, seed: u16) -> Result<Interface> {
    let mut config = InterfaceConfig::new(mac, Ipv4Cidr::new(ip, 24)?);
    config.ident_seed = seed;
    Ok(Interface::new(config)?)
}

pub fn run(options: &Options) -> Result<()> {
    ensure!(
        (0.0..1.0).contains(&options.loss),
        "--loss must be at least 0 and below 1, got {}",
        options.loss
    );
    let mut net = Network::new(options.seed);
    let link = LinkConfig::default()
        .with_latency(Duration::from_micros(options.latency_us))
        .with_bandwidth_bps(100_000_000)
        .with_loss(options.loss);
    let segment = net.add_segment(link);
    let port_a = net.add_port(segment, A_MAC);
    let port_b = net.add_port(segment, B_MAC);
    if let Some(dir) = options.pcap.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    net.capture_to_file(&options.pcap)
        .with_context(|| format!("cannot write the pcap to {}", options.pcap.display()))?;

    let mut sockets_a =
        SocketSet::new(SocketSetConfig { ephemeral_seed: options.seed, ..SocketSetConfig::default() });
    let client = DemoClient::new(&mut sockets_a, options.seed)?;
    let mut host_a = StackHost::new(port_a, interface(A_MAC, A_IP, 0x1000)?, sockets_a, client);

    let mut sockets_b = SocketSet::new(SocketSetConfig::default());
    let echo = UdpEcho::bind(&mut sockets_b, ECHO_PORT)?;
    let mut dns = DnsServer::bind(&mut sockets_b, 53)?;
    dns.insert(NAME, B_IP);
    let mut host_b =
        StackHost::new(port_b, interface(B_MAC, B_IP, 0x2000)?, sockets_b, DemoServer { echo, dns });

    println!("sluice demo: host A {A_IP} ({A_MAC}) and host B {B_IP} ({B_MAC}) on a simulated link");
    println!(
        "link: {} µs one way, 100 Mbit/s, MTU 1500, loss {:.1}%, seed {}\n",
        options.latency_us,
        options.loss * 100.0,
        options.seed
    );
    let limit = Instant::from_secs(120);
    while host_a.handler.phase != Phase::Done && net.now() < limit {
        if !net.step(&mut [&mut host_a, &mut host_b]) {
            break;
        }
    }
    // Let the last frames land so the capture is complete.
    let settle = net.now() + Duration::from_millis(50);
    net.run_until_idle(&mut [&mut host_a, &mut host_b], settle);
    net.finish_capture()?;

    let mut lines = read_trace(&options.pcap)?;
    lines.extend(host_a.handler.log.iter().map(|(t, l)| (*t, 0, l.clone())));
    lines.sort_by_key(|&(t, order, _)| (t, order));
    for (t, _, line) in &lines {
        println!("{t}  {line}");
    }

    let stats = net.stats(segment);
    let mut summary = String::new();
    writeln!(
        summary,
        "\nlink: {} frames sent, {} delivered, {} lost",
        stats.frames_sent, stats.frames_delivered, stats.lost
    )?;
    writeln!(summary, "host A: {}", host_a.iface.stats().to_string().trim_end().replace('\n', "\n        "))?;
    writeln!(summary, "host B: {}", host_b.iface.stats().to_string().trim_end().replace('\n', "\n        "))?;
    writeln!(
        summary,
        "host B served {} DNS answers and {} echoes",
        host_b.handler.dns.answered, host_b.handler.echo.echoed
    )?;
    writeln!(summary, "pcap: {} (open it in Wireshark, or `tshark -r` it)", options.pcap.display())?;
    print!("{summary}");
    if let Some(why) = &host_a.handler.failure {
        bail!("the demo did not complete: {why}");
    }
    if host_a.handler.phase != Phase::Done {
        bail!("the demo did not complete within {limit} s of virtual time");
    }
    println!("demo complete: ARP, ping, DNS, UDP echo with fragmentation, ICMP port unreachable");
    Ok(())
}

/// The frames of the capture, described one per line, with their virtual timestamps.
fn read_trace(path: &PathBuf) -> Result<Vec<(Instant, u8, String)>> {
    let file = File::open(path).with_context(|| format!("cannot read back {}", path.display()))?;
    let mut reader = PcapReader::new(file).context("the capture is not a pcap file")?;
    let mut lines = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.context("corrupt record in the capture")?;
        let t = Instant::from_micros(packet.timestamp.as_micros() as u64);
        lines.push((t, 1, format!("wire:  {}", sluice::trace::describe(&packet.data))));
    }
    Ok(lines)
}
