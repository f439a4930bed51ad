//! Integration tests on a real veth pair: kernel peers (ping, arping, Python sockets,
//! dnsmasq) against the `sluice` binary attached with XDP and AF_XDP, and `sluice` clients
//! against kernel servers, over namespaces made per test (support/veth.rs).
//!
//! They need root, so they are `#[ignore]`d in a plain `cargo test`; `cargo xtask test` runs
//! them (`--include-ignored`) and reports each one that skipped, loudly. By hand:
//! `sudo -E env "PATH=$PATH" cargo test -p sluice --test veth -- --include-ignored`.

mod support;

use std::time::Duration;

use support::kernel_apps::{spawn_dnsmasq, spawn_tcp_echo_server, tcp_echo_client, udp_echo_client};
use support::netem::impair_both_ways;
use support::netns::run_in;
use support::skip;
use support::sluice::{run_sluice, spawn_sluice, SluiceProcess};
use support::veth::{VethPair, PEER_IP, SLUICE_CIDR, SLUICE_IP, STACK_IF};

/// 100 MB, the bulk transfers' size.
const BULK: u64 = 100_000_000;
/// A bulk transfer on a clean link.
const BULK_TIMEOUT: Duration = Duration::from_secs(300);
/// A bulk transfer through netem.
const NETEM_TIMEOUT: Duration = Duration::from_secs(600);
const SHORT_TIMEOUT: Duration = Duration::from_secs(60);
/// Loss and reordering on both directions of the link (tc-netem(8); reordering needs a
/// delay: 25% of packets, correlated 50%, go out at once, the rest 1 ms late).
const NETEM: &[&str] = &["loss", "1%", "reorder", "25%", "50%", "delay", "1ms"];

/// Starts `sluice serve` on the pair's stack side: `options` before the app, `app` last
/// (the app name and its own options).
/// Whether the test can run here: root, with the veth tools installed. Otherwise the test
/// is reported skipped, loudly, with the command that installs what is missing.
fn runnable() -> bool {
    skip::require_root() && skip::require_tools(skip::VETH_TOOLS)
}

fn serve(pair: &VethPair, options: &[&str], app: &[&str]) -> SluiceProcess {
    let control = pair.control_path();
    let mut args = vec!["serve", "--iface", STACK_IF, "--addr", SLUICE_CIDR, "--control", &control];
    args.extend(options);
    args.extend(app);
    spawn_sluice(pair.stack_ns(), &args)
}

/// Runs `sluice client` from the stack side against `target`, `connections` connections of
/// `bytes` bytes each, and checks its verdict.
fn sluice_client(
    pair: &VethPair,
    options: &[&str],
    target: &str,
    bytes: u64,
    connections: u32,
    timeout: Duration,
) {
    let (bytes, connections) = (bytes.to_string(), connections.to_string());
    let mut args = vec!["client", "--iface", STACK_IF, "--addr", SLUICE_CIDR];
    args.extend(options);
    args.extend(["--connect", target, "--bytes", &bytes, "--connections", &connections]);
    let finished = run_sluice(pair.stack_ns(), &args, timeout);
    finished.assert_success();
    assert_eq!(finished.stdout.trim_end(), format!("ok {connections} connections {bytes} bytes"));
}

fn echo_target() -> String {
    format!("{SLUICE_IP}:7")
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn harness_kernel_peers_reach_each_other_and_leave_nothing_behind() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(2);
    let (stack_ns, peer_ns) = (pair.stack_ns().to_owned(), pair.peer_ns().to_owned());
    // No Sluice here: the stack side's kernel gets an address and answers itself.
    pair.add_stack_kernel_address("10.0.0.3/24");
    run_in(&peer_ns, "ping", &["-c", "2", "-W", "2", "10.0.0.3"]);
    run_in(&stack_ns, "ping", &["-c", "2", "-W", "2", PEER_IP]);
    let server = spawn_tcp_echo_server(&stack_ns, "10.0.0.3:7");
    tcp_echo_client(&peer_ns, "10.0.0.3:7", 1_000_000, 4, SHORT_TIMEOUT);
    pair.assert_no_xdp();
    drop(server);
    drop(pair);
    let list = std::process::Command::new("ip").args(["netns", "list"]).output().expect("ip netns list runs");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(!list.contains(&stack_ns) && !list.contains(&peer_ns), "namespaces left behind:\n{list}");
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn harness_netem_impairs_both_directions() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    pair.add_stack_kernel_address("10.0.0.3/24");
    if !impair_both_ways(&pair, NETEM) {
        return;
    }
    // 1 ms each way: a round trip takes at least 2 ms.
    let out = run_in(pair.peer_ns(), "ping", &["-c", "20", "-i", "0.05", "-W", "2", "10.0.0.3"]);
    let min_ms: f64 = out
        .lines()
        .find_map(|line| line.strip_prefix("rtt min/avg/max/mdev = "))
        .and_then(|values| values.split('/').next())
        .and_then(|min| min.parse().ok())
        .unwrap_or_else(|| panic!("no round-trip times in ping's output:\n{out}"));
    assert!(min_ms >= 1.9, "netem delays each direction by 1 ms, yet a round trip took {min_ms} ms");
    let _server = spawn_tcp_echo_server(pair.stack_ns(), "10.0.0.3:7");
    tcp_echo_client(pair.peer_ns(), "10.0.0.3:7", 1_000_000, 2, SHORT_TIMEOUT);
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn ping_from_the_kernel_peer_is_answered() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo"]);
    let out = run_in(pair.peer_ns(), "ping", &["-c", "3", "-W", "2", SLUICE_IP]);
    assert!(out.contains("3 received"), "not every echo request was answered:\n{out}");
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn arping_from_the_kernel_peer_is_answered() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo"]);
    // Debian's arping (Thomas Habets'): -i names the interface, exit 0 means answered.
    let out = run_in(pair.peer_ns(), "arping", &["-c", "3", "-i", support::veth::PEER_IF, SLUICE_IP]);
    let replies = out.lines().filter(|line| line.contains("from") && line.contains(SLUICE_IP)).count();
    assert_eq!(replies, 3, "expected 3 ARP replies from {SLUICE_IP}:\n{out}");
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn kernel_client_small_echo() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo"]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), 1, 1, SHORT_TIMEOUT);
    tcp_echo_client(pair.peer_ns(), &echo_target(), 100_000, 4, SHORT_TIMEOUT);
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn kernel_client_echo_on_another_port() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo", "--port", "7007"]);
    tcp_echo_client(pair.peer_ns(), &format!("{SLUICE_IP}:7007"), 100_000, 2, SHORT_TIMEOUT);
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn kernel_client_100mb_echo() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo"]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), BULK, 1, BULK_TIMEOUT);
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn sluice_client_100mb_to_a_kernel_echo_server() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let _server = spawn_tcp_echo_server(pair.peer_ns(), &format!("{PEER_IP}:7"));
    sluice_client(&pair, &[], &format!("{PEER_IP}:7"), BULK, 1, BULK_TIMEOUT);
    pair.assert_no_xdp();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn kernel_client_100mb_echo_through_loss_and_reordering() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    if !impair_both_ways(&pair, NETEM) {
        return;
    }
    let sluice = serve(&pair, &[], &["echo"]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), BULK, 1, NETEM_TIMEOUT);
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn sluice_client_100mb_through_loss_and_reordering() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    if !impair_both_ways(&pair, NETEM) {
        return;
    }
    let _server = spawn_tcp_echo_server(pair.peer_ns(), &format!("{PEER_IP}:7"));
    sluice_client(&pair, &[], &format!("{PEER_IP}:7"), BULK, 1, NETEM_TIMEOUT);
}

/// Loss and reordering injected at Sluice's side of the link, both directions: runs on
/// kernels without netem (like the CI machines), where the netem tests above skip.
const INJECTED: &[&str] = &["--impair-loss", "0.01", "--impair-reorder", "0.05", "--impair-seed", "7"];

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn kernel_client_100mb_echo_through_injected_loss_and_reordering() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, INJECTED, &["echo"]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), BULK, 1, NETEM_TIMEOUT);
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn sluice_client_100mb_through_injected_loss_and_reordering() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let _server = spawn_tcp_echo_server(pair.peer_ns(), &format!("{PEER_IP}:7"));
    sluice_client(&pair, INJECTED, &format!("{PEER_IP}:7"), BULK, 1, NETEM_TIMEOUT);
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn two_queues_two_workers_many_connections_both_ways() {
    if !runnable() {
        return;
    }
    const CONNECTIONS: u32 = 64;
    const BYTES: u64 = 512 * 1024;
    let pair = VethPair::new(2);

    // Passive opens: the kernel peer's flows hash onto both queues.
    let sluice = serve(&pair, &["--queues", "2", "--cores", "0,1"], &["echo"]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), BYTES, CONNECTIONS, BULK_TIMEOUT);
    sluice.stop();

    // Active opens: replies land on whichever queue the peer's hash picks, often not the
    // opening worker's.
    let _server = spawn_tcp_echo_server(pair.peer_ns(), &format!("{PEER_IP}:7"));
    sluice_client(&pair, &["--queues", "2"], &format!("{PEER_IP}:7"), BYTES, CONNECTIONS, BULK_TIMEOUT);
    pair.assert_no_xdp();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn udp_echo_from_the_kernel_peer() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["udp-echo"]);
    udp_echo_client(pair.peer_ns(), &echo_target(), 100, 1000);
    udp_echo_client(pair.peer_ns(), &echo_target(), 10, 1472);
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn dns_lookup_answered_by_dnsmasq_on_the_peer() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let _dnsmasq = spawn_dnsmasq(pair.peer_ns(), PEER_IP, "/sluice.test/10.0.0.99");
    let args = ["resolve", "sluice.test", "--server", PEER_IP, "--iface", STACK_IF, "--addr", SLUICE_CIDR];
    let finished = run_sluice(pair.stack_ns(), &args, SHORT_TIMEOUT);
    finished.assert_success();
    assert_eq!(finished.stdout, "10.0.0.99\n", "unexpected answer{}", finished.text());
    pair.assert_no_xdp();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn kernel_keeps_its_other_addresses_and_ports() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    // The stack namespace's kernel owns 10.0.0.3 on the same veth, with listeners on
    // Sluice's port and on another one.
    pair.add_stack_kernel_address("10.0.0.3/24");
    let _same_port = spawn_tcp_echo_server(pair.stack_ns(), "10.0.0.3:7");
    let _other_port = spawn_tcp_echo_server(pair.stack_ns(), "10.0.0.3:2222");
    let sluice = serve(&pair, &[], &["echo"]);

    run_in(pair.peer_ns(), "ping", &["-c", "3", "-W", "2", "10.0.0.3"]);
    tcp_echo_client(pair.peer_ns(), "10.0.0.3:7", 100_000, 2, SHORT_TIMEOUT);
    tcp_echo_client(pair.peer_ns(), "10.0.0.3:2222", 100_000, 2, SHORT_TIMEOUT);
    // And Sluice still serves its own address beside them.
    tcp_echo_client(pair.peer_ns(), &echo_target(), 100_000, 2, SHORT_TIMEOUT);
    run_in(pair.peer_ns(), "ping", &["-c", "3", "-W", "2", SLUICE_IP]);
    sluice.stop();
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn sigterm_and_sigint_detach_the_xdp_program() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    pair.assert_no_xdp();
    for signal in ["TERM", "INT"] {
        let sluice = serve(&pair, &[], &["echo"]);
        assert!(pair.has_xdp(), "`sluice serve` printed ready, but no XDP program is attached to {STACK_IF}");
        sluice.stop_with(signal);
        pair.assert_no_xdp();
    }
    // The kernel has the link back: with an address of its own, it answers again.
    pair.add_stack_kernel_address(SLUICE_CIDR);
    run_in(pair.peer_ns(), "ping", &["-c", "2", "-W", "2", SLUICE_IP]);
}

#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn stat_and_netstat_show_the_listener_and_counters() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo"]);
    run_in(pair.peer_ns(), "ping", &["-c", "5", "-i", "0.2", "-W", "2", SLUICE_IP]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), 100_000, 2, SHORT_TIMEOUT);

    let control = pair.control_path();
    let netstat = run_sluice(pair.stack_ns(), &["netstat", "--control", &control], SHORT_TIMEOUT);
    netstat.assert_success();
    let listener = netstat.stdout.lines().any(|line| {
        line.to_ascii_uppercase().contains("LISTEN") && line.split_whitespace().any(|w| w.ends_with(":7"))
    });
    assert!(listener, "`sluice netstat` lists no listener on port 7{}", netstat.text());

    let stat = run_sluice(
        pair.stack_ns(),
        &["stat", "--control", &control, "--count", "2", "--interval", "0.5"],
        SHORT_TIMEOUT,
    );
    stat.assert_success();
    for counter in ["rx", "tx"] {
        assert!(
            has_positive_counter(&stat.stdout, counter),
            "`sluice stat` shows no non-zero {counter} counter after pings and an echo{}",
            stat.text()
        );
    }
    sluice.stop();
}

/// Whether a line mentioning `name` (any case) holds a number above zero.
fn has_positive_counter(text: &str, name: &str) -> bool {
    text.lines().filter(|line| line.to_ascii_lowercase().contains(name)).any(|line| {
        line.split(|c: char| !c.is_ascii_digit()).any(|word| word.parse::<u64>().is_ok_and(|n| n > 0))
    })
}

#[test]
fn positive_counters_are_found_by_name() {
    assert!(has_positive_counter("worker 0\n  rx packets 12\n  tx packets 0\n", "rx"));
    assert!(!has_positive_counter("worker 0\n  rx packets 12\n  tx packets 0\n", "tx"));
    assert!(has_positive_counter("RX: 0 packets, 3 bytes", "rx"));
    assert!(!has_positive_counter("no such line", "rx"));
}
