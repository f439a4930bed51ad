//! `VethPair`: two network namespaces joined by a veth pair, made for one test and deleted
//! when it is dropped, also when the test panics. The same lab as `cargo xtask veth up`
//! (xtask/src/veth.rs explains each choice):
//!
//! ```text
//!  netns <id>-a                            netns <id>-b
//!  sl0 (Sluice: XDP + AF_XDP, 10.0.0.1) ── sl1 (kernel peer, 10.0.0.2/24, TX csum offload off)
//! ```
//!
//! Every test gets namespaces of its own (named from the PID, a counter and the test name),
//! and the veth ends are created straight inside them, so the fixed names `sl0` and `sl1`
//! never meet and tests can run in parallel.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::netns::run_in;
use super::skip;

/// The stack side, in the `-a` namespace.
pub const STACK_IF: &str = "sl0";
/// The kernel peer, in the `-b` namespace.
pub const PEER_IF: &str = "sl1";
/// The address Sluice serves on, with its prefix length.
pub const SLUICE_CIDR: &str = "10.0.0.1/24";
pub const SLUICE_IP: &str = "10.0.0.1";
/// The kernel peer's address, with its prefix length.
pub const PEER_CIDR: &str = "10.0.0.2/24";
pub const PEER_IP: &str = "10.0.0.2";

/// Distinguishes the pairs of one test process.
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

pub struct VethPair {
    stack_ns: String,
    peer_ns: String,
}

impl VethPair {
    /// Creates the pair with `queues` RX and TX queues on each end, for the running test;
    /// panics (after removing what was made) if any step fails.
    pub fn new(queues: u16) -> VethPair {
        let test: String = skip::current_test()
            .rsplit("::")
            .next()
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        let id = format!("sluice-{}-{}-{test}", std::process::id(), NEXT_ID.fetch_add(1, Ordering::Relaxed));
        // Built before anything exists, so a failing step below drops it and cleans up.
        let pair = VethPair { stack_ns: format!("{id}-a"), peer_ns: format!("{id}-b") };
        pair.create(queues);
        pair
    }

    fn create(&self, queues: u16) {
        let queues = queues.to_string();
        host_ip(&["netns", "add", &self.stack_ns]);
        host_ip(&["netns", "add", &self.peer_ns]);
        let end =
            |name, ns| [name, "netns", ns, "numtxqueues", &queues, "numrxqueues", &queues, "mtu", "1500"];
        let mut args = vec!["link", "add"];
        args.extend(end(STACK_IF, &self.stack_ns));
        args.extend(["type", "veth", "peer", "name"]);
        args.extend(end(PEER_IF, &self.peer_ns));
        host_ip(&args);
        for ns in [&self.stack_ns, &self.peer_ns] {
            run_in(
                ns,
                "sysctl",
                &["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
            );
            host_ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        host_ip(&["-n", &self.peer_ns, "addr", "add", PEER_CIDR, "dev", PEER_IF]);
        // Full checksums from the kernel peer: see xtask/src/veth.rs.
        run_in(&self.peer_ns, "ethtool", &["-K", PEER_IF, "tx", "off"]);
        host_ip(&["-n", &self.stack_ns, "link", "set", STACK_IF, "up"]);
        host_ip(&["-n", &self.peer_ns, "link", "set", PEER_IF, "up"]);
    }

    /// The namespace of the stack side `sl0`, where `sluice` runs.
    pub fn stack_ns(&self) -> &str {
        &self.stack_ns
    }

    /// The namespace of the kernel peer `sl1`.
    pub fn peer_ns(&self) -> &str {
        &self.peer_ns
    }

    /// A control socket path of this pair's own, for `sluice serve --control` (the default
    /// `/run/sluice/sl0.sock` would be shared by every test).
    pub fn control_path(&self) -> String {
        std::env::temp_dir().join(format!("{}.sock", self.stack_ns)).to_string_lossy().into_owned()
    }

    /// Gives the stack namespace's kernel an address of its own on `sl0` beside Sluice's.
    pub fn add_stack_kernel_address(&self, cidr: &str) {
        host_ip(&["-n", &self.stack_ns, "addr", "add", cidr, "dev", STACK_IF]);
    }

    /// Panics if an XDP program is attached to `sl0`.
    pub fn assert_no_xdp(&self) {
        assert_no_xdp(&self.stack_ns, STACK_IF);
    }

    /// Whether an XDP program is attached to `sl0`.
    pub fn has_xdp(&self) -> bool {
        has_xdp(&self.stack_ns, STACK_IF)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.stack_ns, &self.peer_ns] {
            // Only this test's processes live in its namespaces; they are killed by PID.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-s", "KILL", pid]).status();
                }
            }
            // Deleting a namespace destroys its veth end, and with it the peer.
            let deleted = Command::new("ip").args(["netns", "delete", ns]).output();
            if !deleted.is_ok_and(|out| out.status.success()) && !std::thread::panicking() {
                eprintln!(
                    "warning: could not delete network namespace {ns}; remove it with `ip netns delete {ns}`"
                );
            }
        }
        let _ = std::fs::remove_file(self.control_path());
    }
}

/// Whether `ip -d link show` lists an XDP program on the interface (`xdp`, `xdpgeneric`,
/// `xdpdrv` in the flags, `prog/xdp` below).
pub fn has_xdp(ns: &str, iface: &str) -> bool {
    shows_xdp(&run_in(ns, "ip", &["-d", "link", "show", "dev", iface]))
}

/// Whether `ip -d link show` output shows an attachment (`xdp`, `xdpgeneric`,
/// `prog/xdp id N`), as a word: a namespace name may contain "xdp" too.
fn shows_xdp(link: &str) -> bool {
    link.split_whitespace().any(|word| word.starts_with("xdp") || word.starts_with("prog/xdp"))
}

/// Panics, showing the link, if an XDP program is attached to the interface.
pub fn assert_no_xdp(ns: &str, iface: &str) {
    let link = run_in(ns, "ip", &["-d", "link", "show", "dev", iface]);
    assert!(!shows_xdp(&link), "an XDP program is still attached to {iface} in {ns}:\n{link}");
}

/// `ip ARGS` in the test's own namespace; panics with the output unless it succeeds.
fn host_ip(args: &[&str]) {
    let out =
        Command::new("ip").args(args).output().unwrap_or_else(|err| panic!("could not run `ip`: {err}"));
    assert!(
        out.status.success(),
        "`ip {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
