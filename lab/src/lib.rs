//! The veth lab Sluice runs in, one implementation for `cargo xtask veth up|down`, the
//! benchmarks' labs and the veth tests:
//!
//! ```text
//!  netns <name>-a                          netns <name>-b
//!  sl0 (Sluice: XDP + AF_XDP, 10.0.0.1) ── sl1 (kernel peer, 10.0.0.2/24)
//! ```
//!
//! The stack side gets no kernel IPv4 address: Sluice owns 10.0.0.1 there, and a kernel
//! address would make the kernel answer ARP for the same link too. IPv6 is disabled in
//! both namespaces so no router solicitations or DAD probes cross the link.
//!
//! TX checksum offload is switched off on the kernel peer: a veth sends frames with
//! partial TCP/UDP checksums (only the pseudo-header sum filled in, CHECKSUM_PARTIAL),
//! which the kernel on the other side accepts but an AF_XDP socket receives verbatim.
//! With offload off the peer computes full checksums, so Sluice can verify every one.
//! Switching it off also switches off TSO, so the peer never hands over segments larger
//! than the MTU. The stack side keeps its offloads: AF_XDP transmits frames Sluice built
//! completely, and what the stack namespace's kernel sends goes to the peer's kernel,
//! which accepts partial checksums.
//!
//! The veth ends are created straight inside their namespaces, so the fixed names `sl0`
//! and `sl1` never meet in the caller's namespace and several labs can exist at once.

use std::path::Path;
use std::process::Command;

use thiserror::Error;

/// The stack side of the pair, in the `-a` namespace.
pub const STACK_IF: &str = "sl0";
/// The kernel peer, in the `-b` namespace.
pub const PEER_IF: &str = "sl1";
/// The address Sluice owns on the stack side, with its prefix length.
pub const STACK_CIDR: &str = "10.0.0.1/24";
pub const STACK_IP: &str = "10.0.0.1";
/// The kernel peer's address, with its prefix length.
pub const PEER_CIDR: &str = "10.0.0.2/24";
pub const PEER_IP: &str = "10.0.0.2";
/// Ethernet MTU on both ends; native XDP on veth needs a frame to fit one page.
pub const MTU: &str = "1500";

/// Where `ip netns add` bind-mounts named namespaces (ip-netns(8)).
const NETNS_DIR: &str = "/run/netns";

/// A lab step that failed, with what to do about it.
#[derive(Debug, Error)]
pub enum LabError {
    #[error("could not run `{command}`: {source}; is iproute2 installed (`apt-get install -y iproute2`)?")]
    Spawn { command: String, source: std::io::Error },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed { command: String, status: String, stderr: String },
    #[error("lab name {0:?}: use letters, digits, '-' and '_' only")]
    BadName(String),
}

/// The two namespaces of one lab: `<name>-a` holds the stack side, `<name>-b` the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lab {
    name: String,
}

impl Lab {
    pub fn new(name: &str) -> Result<Lab, LabError> {
        // Namespace names become file names under /run/netns.
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(LabError::BadName(name.to_owned()));
        }
        Ok(Lab { name: name.to_owned() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace holding the stack side (`sl0`).
    pub fn stack_ns(&self) -> String {
        format!("{}-a", self.name)
    }

    /// The namespace holding the kernel peer (`sl1`).
    pub fn peer_ns(&self) -> String {
        format!("{}-b", self.name)
    }

    pub fn namespaces(&self) -> [String; 2] {
        [self.stack_ns(), self.peer_ns()]
    }

    /// Whether either namespace exists.
    pub fn exists(&self) -> bool {
        self.namespaces().iter().any(|ns| namespace_exists(ns))
    }

    /// Creates the namespaces and the pair with `queues` RX and TX queues per end. On a
    /// failure, what was made is removed again before the error returns.
    pub fn create(&self, queues: u16) -> Result<(), LabError> {
        let made = self.create_steps(queues);
        if made.is_err() {
            let _ = self.remove();
        }
        made
    }

    fn create_steps(&self, queues: u16) -> Result<(), LabError> {
        let (stack_ns, peer_ns) = (self.stack_ns(), self.peer_ns());
        let queues = queues.to_string();
        for ns in [&stack_ns, &peer_ns] {
            run("ip", &["netns", "add", ns])?;
        }
        let end = |name, ns| [name, "netns", ns, "numtxqueues", &queues, "numrxqueues", &queues, "mtu", MTU];
        let mut args = vec!["link", "add"];
        args.extend(end(STACK_IF, &stack_ns));
        args.extend(["type", "veth", "peer", "name"]);
        args.extend(end(PEER_IF, &peer_ns));
        run("ip", &args)?;
        for ns in [&stack_ns, &peer_ns] {
            // `all` reaches the interfaces that exist, `default` any made later.
            let sysctl = ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"];
            run_in(ns, "sysctl", &sysctl)?;
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        }
        run("ip", &["-n", &peer_ns, "addr", "add", PEER_CIDR, "dev", PEER_IF])?;
        run_in(&peer_ns, "ethtool", &["-K", PEER_IF, "tx", "off"])?;
        run("ip", &["-n", &stack_ns, "link", "set", STACK_IF, "up"])?;
        run("ip", &["-n", &peer_ns, "link", "set", PEER_IF, "up"])?;
        Ok(())
    }

    /// Deletes both namespaces, which destroys the pair; skips those that do not exist.
    /// Processes still inside keep a namespace alive until they exit: the caller decides
    /// whether to end them first ([`Lab::pids`]).
    pub fn remove(&self) -> Result<(), LabError> {
        for ns in self.namespaces() {
            if namespace_exists(&ns) {
                run("ip", &["netns", "delete", &ns])?;
            }
        }
        Ok(())
    }

    /// The processes running in either namespace (`ip netns pids`).
    pub fn pids(&self) -> Result<Vec<u32>, LabError> {
        let mut pids = Vec::new();
        for ns in self.namespaces() {
            if namespace_exists(&ns) {
                pids.extend(namespace_pids(&ns)?);
            }
        }
        Ok(pids)
    }

    /// Whether an XDP program is attached to `sl0`.
    pub fn has_xdp(&self) -> Result<bool, LabError> {
        let link = output("ip", &["-n", &self.stack_ns(), "-d", "link", "show", "dev", STACK_IF])?;
        Ok(shows_xdp(&link))
    }

    /// The MAC address of `sl0` (the kernel picked it), as `aa:bb:cc:dd:ee:ff`.
    pub fn stack_mac(&self) -> Result<String, LabError> {
        let link = output("ip", &["-n", &self.stack_ns(), "-br", "link", "show", "dev", STACK_IF])?;
        // `sl0@if2  UP  aa:bb:cc:dd:ee:ff <BROADCAST,...>`
        Ok(link.split_whitespace().nth(2).unwrap_or_default().to_owned())
    }

    /// `ip -d link show` of `sl0`, for messages.
    pub fn stack_link(&self) -> Result<String, LabError> {
        output("ip", &["-n", &self.stack_ns(), "-d", "link", "show", "dev", STACK_IF])
    }
}

/// Whether the named namespace exists.
pub fn namespace_exists(ns: &str) -> bool {
    Path::new(NETNS_DIR).join(ns).exists()
}

/// The processes running inside the namespace (`ip netns pids`).
pub fn namespace_pids(ns: &str) -> Result<Vec<u32>, LabError> {
    let out = output("ip", &["netns", "pids", ns])?;
    Ok(out.split_whitespace().filter_map(|pid| pid.parse().ok()).collect())
}

/// Whether `ip -d link show` output shows an XDP attachment (`xdp`, `xdpgeneric`,
/// `prog/xdp id N`), as a word: a namespace name may contain "xdp" too.
pub fn shows_xdp(link: &str) -> bool {
    link.split_whitespace().any(|word| word.starts_with("xdp") || word.starts_with("prog/xdp"))
}

/// Runs `program args`; fails with its stderr unless it succeeds.
fn run(program: &str, args: &[&str]) -> Result<(), LabError> {
    output(program, args).map(drop)
}

/// Runs `program args` inside `ns`.
fn run_in(ns: &str, program: &str, args: &[&str]) -> Result<(), LabError> {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend(args);
    run("ip", &all)
}

/// Runs `program args` and returns its stdout, or fails with its stderr.
fn output(program: &str, args: &[&str]) -> Result<String, LabError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| LabError::Spawn { command: command.clone(), source })?;
    if !out.status.success() {
        return Err(LabError::Failed {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_namespace_names() {
        let lab = Lab::new("sluice").unwrap();
        assert_eq!(lab.namespaces(), ["sluice-a".to_owned(), "sluice-b".to_owned()]);
        assert!(matches!(Lab::new("a/b"), Err(LabError::BadName(_))));
        assert!(matches!(Lab::new(""), Err(LabError::BadName(_))));
    }

    #[test]
    fn xdp_attachments_are_recognised_as_words() {
        assert!(shows_xdp("2: sl0@if3: <BROADCAST> mtu 1500 xdpgeneric qdisc noqueue\n prog/xdp id 7"));
        assert!(!shows_xdp("2: sl0@if3: <BROADCAST> mtu 1500 qdisc noqueue link-netns sluice-xdp-b"));
    }
}
