//! Bringing Sluice up on a real interface: the XDP program, one AF_XDP socket per queue,
//! and one worker per queue; shared by `serve`, `client` and `resolve`.

use std::net::Ipv4Addr as StdIpv4Addr;
use std::sync::Arc;

use crate::iface_limits::IfaceLimits;
use crate::tcp_limits::TcpLimits;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use sluice::control::{
    ControlServer, Snapshot, SnapshotSource, WorkerSnapshot, XdpCountersSnapshot, CONTROL_DIR,
};
use sluice::iface::InterfaceConfig;
use sluice::phy::faults::FaultRates;
use sluice::socket::Transport;
use sluice::time::Duration;
use sluice::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};
use sluice::worker::{
    Handler, ImpairedDevice, Impairment, PollMode, PortFilter, Runtime, RuntimeConfig, RuntimeHandle,
};
use sluice::xdp::{PortMap, PortProto, PortRegistry, XdpProgram, XdpProgramConfig, XskConfig, XskDevice};

/// Where and how the stack runs.
#[derive(Args, Debug, Clone)]
pub struct LinkOptions {
    /// The interface Sluice takes over (its queues; other traffic still reaches the kernel).
    #[arg(long, value_name = "IF")]
    pub iface: String,
    /// Sluice's own address and prefix, e.g. 10.0.0.1/24. The kernel must not hold it
    /// (unless --share-address).
    #[arg(long, value_name = "A/P")]
    pub addr: String,
    /// The kernel holds --addr too (a rare setup): only the TCP and UDP ports Sluice
    /// listens on, binds or connects from go to Sluice, every other port to the kernel,
    /// and ARP requests for the address are answered by the kernel. Without it, all TCP
    /// and UDP to --addr goes to Sluice, which answers closed ports (RST, ICMP port
    /// unreachable).
    #[arg(long)]
    pub share_address: bool,
    /// ICMP errors (port unreachable, ...) each worker sends per second at most, on
    /// average (RFC 1812 §4.3.2.8); those over the limit are counted as
    /// `icmp_rate_limited` drops.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub icmp_errors_per_sec: u32,
    /// ICMP errors sent back to back at most (the token bucket's depth).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub icmp_errors_burst: u32,
    /// RSTs answering segments no socket wants (closed ports) each worker sends per second
    /// at most; those over the limit are counted as `tcp_reset_rate_limited` drops.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub resets_per_sec: u32,
    /// Such RSTs sent back to back at most.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub resets_burst: u32,
    /// The default gateway, for destinations outside the prefix.
    #[arg(long, value_name = "G")]
    pub gateway: Option<StdIpv4Addr>,
    /// Receive queues to serve, from 0; one AF_XDP socket and one worker each.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub queues: u32,
    /// Cores to pin the workers to, in queue order (e.g. 0,1); unpinned if left out.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub cores: Vec<usize>,
    /// busy: spin on the rings (lowest latency, one core per worker); adaptive: sleep in
    /// poll() after an idle spell.
    #[arg(long, value_enum, default_value_t = Poll::Busy)]
    pub poll: Poll,
    /// Fault injection for recovery tests: the probability that a frame is lost, in each
    /// direction, at Sluice's side of the link (for kernels without the netem qdisc).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub impair_loss: f64,
    /// Fault injection: the probability that a frame is held back behind the next one.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub impair_reorder: f64,
    /// Fault injection: the probability that a frame is delivered twice.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub impair_duplicate: f64,
    /// Fault injection: the probability that a frame has one bit flipped.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub impair_corrupt: f64,
    /// Seed of the injected faults.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub impair_seed: u64,
    #[command(flatten)]
    pub tcp: TcpLimits,
    #[command(flatten)]
    pub tables: IfaceLimits,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    Busy,
    Adaptive,
}

/// The XDP program's port map, as the workers' port filter.
struct XdpPorts(Arc<PortMap>);

impl PortFilter for XdpPorts {
    fn set_port(&self, transport: Transport, port: u16, open: bool) -> Result<(), String> {
        let proto = match transport {
            Transport::Tcp => PortProto::Tcp,
            Transport::Udp => PortProto::Udp,
        };
        let result = if open { self.0.open(proto, port) } else { self.0.close(proto, port) };
        result.map_err(|err| err.to_string())
    }
}

/// Sluice running on an interface. Dropping it stops the workers, then detaches.
pub struct Datapath {
    pub runtime: Runtime,
    pub program: Arc<XdpProgram>,
    pub iface: String,
    pub queues: u32,
    pub mode: &'static str,
}

fn interface_mac(iface: &str) -> Result<EthernetAddress> {
    let path = format!("/sys/class/net/{iface}/address");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no interface {iface:?} here (reading {path}); list them with `ip link`"))?;
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|part| u8::from_str_radix(part, 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{path} holds {text:?}, not a MAC address"))?;
    let mac: [u8; 6] = bytes.try_into().map_err(|_| anyhow::anyhow!("{path}: not a 6-byte MAC address"))?;
    Ok(EthernetAddress(mac))
}

pub fn parse_cidr(text: &str) -> Result<Ipv4Cidr> {
    let (addr, prefix) =
        text.split_once('/').with_context(|| format!("--addr {text:?}: expected A.B.C.D/P"))?;
    let addr: StdIpv4Addr = addr.parse().with_context(|| format!("--addr {text:?}: bad address"))?;
    let prefix: u8 = prefix.parse().with_context(|| format!("--addr {text:?}: bad prefix length"))?;
    Ipv4Cidr::new(Ipv4Addr::from(addr.octets()), prefix)
        .map_err(|err| anyhow::anyhow!("--addr {text:?}: {err}"))
}

/// Whether the kernel holds `addr` on any interface of this namespace.
fn kernel_holds(addr: Ipv4Addr) -> bool {
    let Ok(output) = std::process::Command::new("ip").args(["-4", "-o", "addr", "show"]).output() else {
        return false;
    };
    let needle = format!(" {addr}/");
    String::from_utf8_lossy(&output.stdout).contains(&needle)
}

impl Datapath {
    pub fn start<H: Handler + 'static>(
        link: &LinkOptions,
        handler: impl FnMut(usize) -> H,
    ) -> Result<Datapath> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            bail!(
                "sluice needs root for XDP and AF_XDP; run it with sudo, or through `cargo xtask run -- ...`"
            );
        }
        let cidr = parse_cidr(&link.addr)?;
        match (kernel_holds(cidr.address()), link.share_address) {
            (true, false) => bail!(
                "the kernel already owns {} here; Sluice needs an address of its own \
                 (remove it with `ip addr del {} dev {}` or pick another), or pass --share-address \
                 to leave every port Sluice does not use to the kernel",
                cidr.address(),
                link.addr,
                link.iface
            ),
            (false, true) => tracing::warn!(
                addr = %cidr.address(),
                "--share-address, but the kernel does not hold the address: segments to ports Sluice \
                 does not use go to a kernel that drops them silently"
            ),
            _ => {}
        }
        let mac = interface_mac(&link.iface)?;
        let mut iface = InterfaceConfig::new(mac, cidr);
        iface.icmp_errors_per_sec = link.icmp_errors_per_sec;
        iface.icmp_errors_burst = link.icmp_errors_burst;
        iface.resets_per_sec = link.resets_per_sec;
        iface.resets_burst = link.resets_burst;
        if let Some(gateway) = link.gateway {
            iface = iface.with_gateway(Ipv4Addr::from(gateway.octets()));
        }
        link.tables.apply(&mut iface);
        let program = XdpProgram::attach(
            &link.iface,
            &XdpProgramConfig {
                addrs: vec![cidr.address()],
                share_address: link.share_address,
                ..XdpProgramConfig::default()
            },
        )
        .with_context(|| format!("attaching the XDP program to {}", link.iface))?;
        let program = Arc::new(program);
        let mut devices = Vec::new();
        for queue in 0..link.queues {
            let device = XskDevice::new(&link.iface, queue, &XskConfig::default())
                .with_context(|| format!("opening an AF_XDP socket on {} queue {queue}", link.iface))?;
            program.register_socket(queue, device.fd())?;
            devices.push(device);
        }
        let mode = devices.first().map_or("copy", |d| sluice::worker::QueueDevice::mode(d));
        tracing::info!(iface = %link.iface, queues = link.queues, mode, "AF_XDP sockets bound");

        let mut config = RuntimeConfig::new(iface);
        let mut secret = [0u8; 16];
        getrandom(&mut secret);
        config.sockets.secret = secret;
        config.sockets.ephemeral_seed = u64::from_le_bytes(secret[..8].try_into().expect("8 bytes"));
        link.tcp.apply(&mut config.sockets.tcp);
        config.sockets.tcp_limits = link.tcp.limits()?;
        config.cores = link.cores.clone();
        config.poll = match link.poll {
            Poll::Busy => PollMode::Busy,
            Poll::Adaptive => PollMode::Adaptive { spin: Duration::from_micros(200) },
        };
        // Only share-address mode steers by port; otherwise every port is already ours.
        if link.share_address {
            config.ports = Some(Arc::new(XdpPorts(program.ports())));
        }
        let rates = FaultRates {
            loss: link.impair_loss,
            duplicate: link.impair_duplicate,
            reorder: link.impair_reorder,
            corrupt: link.impair_corrupt,
        };
        if let Some((name, p)) = rates.invalid() {
            bail!("--impair-{name} is a probability between 0 and 1, not {p}");
        }
        let impairment = Impairment { rates, seed: link.impair_seed };
        let runtime = if impairment.is_none() {
            Runtime::start(config, devices, handler)?
        } else {
            tracing::warn!(?impairment, "injecting faults into the link");
            let devices = devices.into_iter().map(|d| ImpairedDevice::new(d, impairment)).collect();
            Runtime::start(config, devices, handler)?
        };
        Ok(Datapath { runtime, program, iface: link.iface.clone(), queues: link.queues, mode })
    }

    pub fn handle(&self) -> RuntimeHandle {
        self.runtime.handle()
    }

    /// Starts the control socket `sluice stat` and `sluice netstat` read.
    pub fn control(&self, path: Option<std::path::PathBuf>) -> Result<ControlServer> {
        let path =
            path.unwrap_or_else(|| std::path::Path::new(CONTROL_DIR).join(format!("{}.sock", self.iface)));
        let source = Arc::new(Snapshots {
            handle: self.handle(),
            program: self.program.clone(),
            iface: self.iface.clone(),
            started_unix_ms: unix_ms(),
            started: std::time::Instant::now(),
        });
        Ok(ControlServer::start(path, source)?)
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Secrets for ISNs and hashing, from the kernel's generator.
fn getrandom(buf: &mut [u8]) {
    // SAFETY: writes at most `buf.len()` bytes into `buf`.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n != buf.len() as isize {
        // Never expected; the time keeps keys distinct across runs in any case.
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = (nanos >> ((i % 16) * 8)) as u8;
        }
    }
}

struct Snapshots {
    handle: RuntimeHandle,
    program: Arc<XdpProgram>,
    iface: String,
    started_unix_ms: u64,
    started: std::time::Instant,
}

impl SnapshotSource for Snapshots {
    fn snapshot(&self) -> Snapshot {
        let workers = self.handle.inspect(|view| {
            let mut worker = WorkerSnapshot::from_stack(
                view.worker,
                view.worker as u32,
                view.core,
                view.device_mode,
                view.iface.stats(),
                view.sockets,
            );
            worker.iface = WorkerSnapshot::iface_from(view.iface.stats(), &view.iface.table_gauges());
            worker.xsk = view.device_counters.iter().map(|&(name, n)| (name.to_owned(), n)).collect();
            worker.worker_loop = vec![
                ("iterations".to_owned(), view.iterations),
                ("idle_iterations".to_owned(), view.idle_iterations),
                ("busy_us".to_owned(), view.busy.as_micros() as u64),
            ];
            worker.app = view.app_counters.iter().map(|&(name, n)| (name.to_owned(), n)).collect();
            worker
        });
        let xdp = self.program.counters().ok().map(|counters| XdpCountersSnapshot {
            counters: counters.named().iter().map(|&(name, n)| (name.to_owned(), n)).collect(),
        });
        Snapshot {
            pid: std::process::id(),
            iface: self.iface.clone(),
            started_unix_ms: self.started_unix_ms,
            taken_unix_ms: unix_ms(),
            uptime_us: self.started.elapsed().as_micros() as u64,
            workers,
            xdp,
        }
    }
}

/// Blocks SIGINT and SIGTERM in this thread and every thread it starts from now on, so
/// that `wait_for_signal` receives them instead of the default action killing the process
/// with the program attached.
pub fn block_stop_signals() {
    // SAFETY: a zeroed sigset_t is filled by sigemptyset before use; the calls only read
    // and write the set and this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Waits for SIGINT or SIGTERM (blocked beforehand by `block_stop_signals`).
pub fn wait_for_signal() -> i32 {
    // SAFETY: as above; sigwait writes the signal number into a live i32.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let mut signal = 0;
        libc::sigwait(&set, &mut signal);
        signal
    }
}
