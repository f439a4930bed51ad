//! Link faults with netem (tc-netem(8)) at the kernel peer. Egress of `sl1` delays, drops
//! and reorders what the peer sends; an ifb device (`sl1-in`, ifb(4)) that `sl1`'s ingress
//! is redirected to does the same to what Sluice sends, since AF_XDP transmits bypass the
//! qdiscs of `sl0`.

use super::netns::{output_in, run_in, SHORT};
use super::skip;
use super::veth::{VethPair, PEER_IF};

/// The ifb device carrying the peer's ingress.
const PEER_INGRESS_IFB: &str = "sl1-in";

/// Adds a root netem qdisc with `spec` to `iface` in `ns`. Returns false, having reported
/// the test skipped, if the kernel has no netem (CONFIG_NET_SCH_NETEM); panics on any other
/// failure.
pub fn add_netem(ns: &str, iface: &str, spec: &[&str]) -> bool {
    let mut args = vec!["qdisc", "add", "dev", iface, "root", "netem"];
    args.extend(spec);
    let finished = output_in(ns, "tc", &args, SHORT);
    if !finished.status.success() && finished.stderr.contains("qdisc kind is unknown") {
        skip::report(&skip::current_test(), "the kernel has no netem qdisc, CONFIG_NET_SCH_NETEM");
        return false;
    }
    finished.assert_success();
    true
}

/// Applies netem `spec` to both directions of the pair's link. Returns false, having
/// reported the test skipped, if the kernel has no netem.
pub fn impair_both_ways(pair: &VethPair, spec: &[&str]) -> bool {
    let ns = pair.peer_ns();
    if !add_netem(ns, PEER_IF, spec) {
        return false;
    }
    run_in(ns, "ip", &["link", "add", PEER_INGRESS_IFB, "type", "ifb"]);
    run_in(ns, "ip", &["link", "set", PEER_INGRESS_IFB, "up"]);
    run_in(ns, "tc", &["qdisc", "add", "dev", PEER_IF, "handle", "ffff:", "ingress"]);
    let redirect = format!(
        "filter add dev {PEER_IF} parent ffff: protocol all u32 match u32 0 0 \
         action mirred egress redirect dev {PEER_INGRESS_IFB}"
    );
    run_in(ns, "tc", &redirect.split_whitespace().collect::<Vec<_>>());
    add_netem(ns, PEER_INGRESS_IFB, spec)
}
