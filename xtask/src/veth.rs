//! `cargo xtask veth up|down`: two network namespaces joined by a veth pair, the lab Sluice
//! runs in.
//!
//! ```text
//!  netns PREFIX-a                          netns PREFIX-b
//!  sl0 (Sluice: XDP + AF_XDP, 10.0.0.1) ── sl1 (kernel peer, 10.0.0.2/24)
//! ```
//!
//! The stack side gets no kernel IPv4 address: Sluice owns 10.0.0.1 there, and a kernel
//! address would make the kernel answer ARP for the same link too. IPv6 is disabled in both
//! namespaces so no router solicitations or DAD probes cross the link.
//!
//! TX checksum offload is switched off on the kernel peer: a veth sends frames with
//! partial TCP/UDP checksums (only the pseudo-header sum filled in, CHECKSUM_PARTIAL), which
//! the kernel on the other side accepts but an AF_XDP socket receives verbatim
//! (../shared/DESIGN.md, "Facts about this machine's kernel path"). With offload off the
//! peer computes full checksums, so Sluice can verify every one. Switching it off also
//! switches off TSO, so the peer never hands over segments larger than the MTU. The stack
//! side keeps its offloads: AF_XDP transmits frames Sluice built completely, and what the
//! stack namespace's kernel sends goes to the peer's kernel, which accepts partial checksums.

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::netns;
use crate::tools;

/// The default namespace prefix (`sluice-a`, `sluice-b`).
pub const DEFAULT_PREFIX: &str = "sluice";
/// The stack side of the pair, in the `-a` namespace.
pub const STACK_IF: &str = "sl0";
/// The kernel peer, in the `-b` namespace.
pub const PEER_IF: &str = "sl1";
/// The address Sluice is meant to own on the stack side.
pub const STACK_ADDR: &str = "10.0.0.1/24";
/// The kernel peer's address.
pub const PEER_ADDR: &str = "10.0.0.2/24";
/// Ethernet MTU on both ends; native XDP on veth needs a frame to fit one page.
pub const MTU: &str = "1500";

/// The two namespaces of one pair.
pub struct Topology {
    prefix: String,
}

impl Topology {
    pub fn new(prefix: &str) -> Result<Topology> {
        // Namespace names become file names under /run/netns.
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            bail!("--name {prefix:?}: use letters, digits, '-' and '_' only");
        }
        Ok(Topology { prefix: prefix.to_owned() })
    }

    /// The namespace holding the stack side (`sl0`).
    pub fn stack_ns(&self) -> String {
        format!("{}-a", self.prefix)
    }

    /// The namespace holding the kernel peer (`sl1`).
    pub fn peer_ns(&self) -> String {
        format!("{}-b", self.prefix)
    }

    fn namespaces(&self) -> [String; 2] {
        [self.stack_ns(), self.peer_ns()]
    }
}

/// `veth up`: creates the namespaces and the pair with `queues` RX and TX queues per end.
pub fn up(topology: &Topology, queues: u16) -> Result<()> {
    tools::require_root("veth up")?;
    for ns in topology.namespaces() {
        if netns::exists(&ns) {
            bail!(
                "network namespace {ns} exists already (an earlier `veth up`?); remove it with \
                 `cargo xtask veth down{}` first",
                name_flag(topology)
            );
        }
    }
    if let Err(err) = create(topology, queues) {
        // Leave nothing half made behind.
        if let Err(cleanup) = remove(topology) {
            eprintln!("warning: cleaning up after the failure failed too: {cleanup:#}");
        }
        return Err(err);
    }

    let (stack_ns, peer_ns) = (topology.stack_ns(), topology.peer_ns());
    let stack_ip = STACK_ADDR.split('/').next().expect("STACK_ADDR has a prefix length");
    let queue_word = if queues == 1 { "queue" } else { "queues" };
    println!();
    println!("created:");
    println!(
        "  netns {stack_ns}: {STACK_IF}, the stack side: no kernel IPv4 address (Sluice owns {stack_ip})"
    );
    println!("  netns {peer_ns}: {PEER_IF} {PEER_ADDR}, the kernel peer: TX checksum offload off");
    println!("  veth {STACK_IF} <-> {PEER_IF}: {queues} {queue_word} each way, MTU {MTU}, IPv6 disabled");
    println!();
    println!("next:");
    let netns_flag =
        if topology.prefix == DEFAULT_PREFIX { String::new() } else { format!(" --netns {stack_ns}") };
    println!(
        "  cargo xtask run{netns_flag} -- serve --iface {STACK_IF} --addr {STACK_ADDR} --queues {queues} echo"
    );
    println!("  ip netns exec {peer_ns} ping {stack_ip}");
    println!("  ip netns exec {peer_ns} nc {stack_ip} 7");
    println!("  cargo xtask veth down{}", name_flag(topology));
    Ok(())
}

/// `veth down`: deletes both namespaces, which destroys the pair; does nothing for the
/// ones that do not exist.
pub fn down(topology: &Topology) -> Result<()> {
    tools::require_root("veth down")?;
    if topology.namespaces().iter().all(|ns| !netns::exists(ns)) {
        println!("nothing to remove: no network namespace {} or {}", topology.stack_ns(), topology.peer_ns());
        return Ok(());
    }
    remove(topology)?;
    println!(
        "removed network namespaces {} and {} and the veth pair",
        topology.stack_ns(),
        topology.peer_ns()
    );
    Ok(())
}

fn create(topology: &Topology, queues: u16) -> Result<()> {
    let (stack_ns, peer_ns) = (topology.stack_ns(), topology.peer_ns());
    let queues = queues.to_string();
    for ns in [&stack_ns, &peer_ns] {
        netns::add(ns)?;
    }
    // Created straight inside the namespaces: the names never meet in the caller's.
    let end = |name: &str, ns: &str| {
        [name, "netns", ns, "numtxqueues", &queues, "numrxqueues", &queues, "mtu", MTU].map(str::to_owned)
    };
    Cmd::new("ip")
        .args(["link", "add"])
        .args(end(STACK_IF, &stack_ns))
        .args(["type", "veth", "peer", "name"])
        .args(end(PEER_IF, &peer_ns))
        .run()?;
    for ns in [&stack_ns, &peer_ns] {
        // `all` reaches the interfaces that exist, `default` any made later.
        netns::exec(ns, "sysctl")
            .args(["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
            .run()?;
        Cmd::new("ip").args(["-n", ns, "link", "set", "lo", "up"]).run()?;
    }
    Cmd::new("ip").args(["-n", &peer_ns, "addr", "add", PEER_ADDR, "dev", PEER_IF]).run()?;
    netns::exec(&peer_ns, "ethtool").args(["-K", PEER_IF, "tx", "off"]).run()?;
    Cmd::new("ip").args(["-n", &stack_ns, "link", "set", STACK_IF, "up"]).run()?;
    Cmd::new("ip").args(["-n", &peer_ns, "link", "set", PEER_IF, "up"]).run()?;
    Ok(())
}

fn remove(topology: &Topology) -> Result<()> {
    for ns in topology.namespaces() {
        if !netns::exists(&ns) {
            continue;
        }
        let pids = netns::pids(&ns).with_context(|| format!("could not list the processes in {ns}"))?;
        if !pids.is_empty() {
            let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
            eprintln!(
                "warning: processes still run in {ns} (PIDs {}); the namespace and its interfaces \
                 go away when they exit",
                pids.join(" ")
            );
        }
        netns::delete(&ns)?;
    }
    Ok(())
}

fn name_flag(topology: &Topology) -> String {
    if topology.prefix == DEFAULT_PREFIX {
        String::new()
    } else {
        format!(" --name {}", topology.prefix)
    }
}
