//! `VethPair`: the veth lab (the `sluice-lab` crate, the same as `cargo xtask veth up`)
//! made for one test and removed when it is dropped, also when the test panics.
//!
//! ```text
//!  netns <id>-a                            netns <id>-b
//!  sl0 (Sluice: XDP + AF_XDP, 10.0.0.1) ── sl1 (kernel peer, 10.0.0.2/24, TX csum offload off)
//! ```
//!
//! Every test gets namespaces of its own (named from the PID, a counter and the test name),
//! so tests can run in parallel.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sluice_lab::Lab;
pub use sluice_lab::{PEER_IF, PEER_IP, STACK_IF};

use super::netns::run_in;
use super::skip;

/// The address Sluice serves on, with its prefix length.
pub const SLUICE_CIDR: &str = sluice_lab::STACK_CIDR;
pub const SLUICE_IP: &str = sluice_lab::STACK_IP;

/// Distinguishes the pairs of one test process.
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

pub struct VethPair {
    lab: Lab,
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
        let lab = Lab::new(&id).unwrap_or_else(|err| panic!("{err}"));
        lab.create(queues).unwrap_or_else(|err| panic!("could not make the veth lab: {err}"));
        VethPair { stack_ns: lab.stack_ns(), peer_ns: lab.peer_ns(), lab }
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
        // Only this test's processes live in its namespaces; they are killed by PID.
        for pid in self.lab.pids().unwrap_or_default() {
            let _ = Command::new("kill").args(["-s", "KILL", &pid.to_string()]).status();
        }
        // Deleting a namespace destroys its veth end, and with it the peer.
        if let Err(err) = self.lab.remove() {
            if !std::thread::panicking() {
                eprintln!("warning: could not remove the veth lab {}: {err}", self.lab.name());
            }
        }
        let _ = std::fs::remove_file(self.control_path());
    }
}

/// Whether `ip -d link show` lists an XDP program on the interface (`xdp`, `xdpgeneric`,
/// `xdpdrv` in the flags, `prog/xdp` below).
pub fn has_xdp(ns: &str, iface: &str) -> bool {
    sluice_lab::shows_xdp(&run_in(ns, "ip", &["-d", "link", "show", "dev", iface]))
}

/// Panics, showing the link, if an XDP program is attached to the interface.
pub fn assert_no_xdp(ns: &str, iface: &str) {
    let link = run_in(ns, "ip", &["-d", "link", "show", "dev", iface]);
    assert!(!sluice_lab::shows_xdp(&link), "an XDP program is still attached to {iface} in {ns}:\n{link}");
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
