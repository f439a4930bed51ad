//! `cargo xtask veth up|down`: the veth lab Sluice runs in (the `sluice-lab` crate, which
//! the tests and benchmarks use too, explains each choice).

use anyhow::{bail, Result};
pub use sluice_lab::{PEER_IF, STACK_IF};

use crate::tools;

/// The default lab name (namespaces `sluice-a`, `sluice-b`).
pub const DEFAULT_PREFIX: &str = "sluice";
/// The address Sluice is meant to own on the stack side.
pub const STACK_ADDR: &str = sluice_lab::STACK_CIDR;
/// The kernel peer's address.
pub const PEER_ADDR: &str = sluice_lab::PEER_CIDR;
/// Ethernet MTU on both ends.
pub const MTU: &str = sluice_lab::MTU;

/// The two namespaces of one lab.
pub struct Topology {
    lab: sluice_lab::Lab,
}

impl Topology {
    pub fn new(prefix: &str) -> Result<Topology> {
        let lab = sluice_lab::Lab::new(prefix)
            .map_err(|_| anyhow::anyhow!("--name {prefix:?}: use letters, digits, '-' and '_' only"))?;
        Ok(Topology { lab })
    }

    /// The namespace holding the stack side (`sl0`).
    pub fn stack_ns(&self) -> String {
        self.lab.stack_ns()
    }

    /// The namespace holding the kernel peer (`sl1`).
    pub fn peer_ns(&self) -> String {
        self.lab.peer_ns()
    }
}
/// `veth up`: creates the namespaces and the pair with `queues` RX and TX queues per end.
pub fn up(topology: &Topology, queues: u16) -> Result<()> {
    tools::require_root("veth up")?;
    for ns in topology.lab.namespaces() {
        if sluice_lab::namespace_exists(&ns) {
            bail!(
                "network namespace {ns} exists already (an earlier `veth up`?); remove it with \
                 `cargo xtask veth down{}` first",
                name_flag(topology)
            );
        }
    }
    // A failing step removes what was made before it.
    topology.lab.create(queues)?;

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
        if topology.lab.name() == DEFAULT_PREFIX { String::new() } else { format!(" --netns {stack_ns}") };
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
    if !topology.lab.exists() {
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

fn remove(topology: &Topology) -> Result<()> {
    let pids = topology.lab.pids()?;
    if !pids.is_empty() {
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        eprintln!(
            "warning: processes still run in the lab (PIDs {}); its namespaces and interfaces go \
             away when they exit",
            pids.join(" ")
        );
    }
    topology.lab.remove()?;
    Ok(())
}

fn name_flag(topology: &Topology) -> String {
    if topology.lab.name() == DEFAULT_PREFIX {
        String::new()
    } else {
        format!(" --name {}", topology.lab.name())
    }
}
