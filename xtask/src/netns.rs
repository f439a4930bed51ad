//! Network namespaces through iproute2 (`ip netns`, ip-netns(8)): which exist, what runs
//! in them, and commands run inside them.

use std::path::Path;

use anyhow::{Context, Result};

use crate::cmd::Cmd;

/// Where `ip netns add` bind-mounts named namespaces (ip-netns(8)).
const NETNS_DIR: &str = "/run/netns";

/// Whether the named namespace exists.
pub fn exists(ns: &str) -> bool {
    Path::new(NETNS_DIR).join(ns).exists()
}

pub fn add(ns: &str) -> Result<()> {
    Cmd::new("ip").args(["netns", "add", ns]).run()
}

pub fn delete(ns: &str) -> Result<()> {
    Cmd::new("ip").args(["netns", "delete", ns]).run()
}

/// The processes running inside the namespace (`ip netns pids`).
pub fn pids(ns: &str) -> Result<Vec<u32>> {
    let out = Cmd::new("ip").args(["netns", "pids", ns]).read()?;
    out.split_whitespace()
        .map(|pid| pid.parse().with_context(|| format!("`ip netns pids {ns}` printed {pid:?}, not a PID")))
        .collect()
}

/// `program` run inside the namespace (`ip netns exec NS program`).
pub fn exec(ns: &str, program: &str) -> Cmd {
    Cmd::new("ip").args(["netns", "exec", ns, program])
}
