//! Commands run inside a network namespace (`ip netns exec`, ip-netns(8)); making and
//! removing the lab's namespaces is the `sluice-lab` crate's.

use crate::cmd::Cmd;

/// Whether the named namespace exists.
pub fn exists(ns: &str) -> bool {
    sluice_lab::namespace_exists(ns)
}

/// `program` run inside the namespace (`ip netns exec NS program`).
pub fn exec(ns: &str, program: &str) -> Cmd {
    Cmd::new("ip").args(["netns", "exec", ns, program])
}
