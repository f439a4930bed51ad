//! Integration tests on a real veth pair: kernel peers (ping, arping, Python sockets,
//! dnsmasq) against the `sluice` binary attached with XDP and AF_XDP, and `sluice` clients
//! against kernel servers, over namespaces made per test (support/veth.rs).
//!
//! They need root, so they are `#[ignore]`d in a plain `cargo test`; `cargo xtask test` runs
//! them (`--include-ignored`) and reports each one that skipped, loudly. By hand:
//! `sudo -E env "PATH=$PATH" cargo test -p sluice --test veth -- --include-ignored`.

mod support;

use std::time::Duration;

use support::kernel_apps::{
    expect_refused, spawn_dnsmasq, spawn_tcp_echo_server, tcp_echo_client, udp_echo_client,
};
use support::netem::impair_both_ways;
use support::netns::run_in;
use support::process::NsProcess;
use support::skip;
use support::sluice::{run_sluice, spawn_sluice, SluiceProcess};
use support::veth::{VethPair, PEER_IF, PEER_IP, SLUICE_CIDR, SLUICE_IP, STACK_IF};

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

/// Duplicated and corrupted frames (the simulator's fault model at the device): every
/// corrupted frame Sluice receives fails a checksum and is dropped, counted; duplicates
/// are absorbed by TCP; the echo still arrives byte for byte.
#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn kernel_client_echo_through_injected_duplication_and_corruption() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let faults = ["--impair-duplicate", "0.02", "--impair-corrupt", "0.01", "--impair-seed", "11"];
    let sluice = serve(&pair, &faults, &["echo"]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), 20_000_000, 1, NETEM_TIMEOUT);
    let stat = stat_json(&pair);
    let corrupted = json_counter(&stat.stdout, "impaired_rx_corrupted");
    let rejected =
        ["ipv4_bad_checksum", "tcp_bad_checksum", "ethernet_not_for_us", "ipv4_malformed", "tcp_malformed"]
            .iter()
            .map(|name| json_counter(&stat.stdout, name))
            .sum::<u64>();
    assert!(corrupted > 0, "some received frames were corrupted{}", stat.text());
    assert!(json_counter(&stat.stdout, "impaired_tx_duplicated") > 0, "{}", stat.text());
    assert!(rejected > 0, "corrupted frames were dropped by a check{}", stat.text());
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

/// Issue 9, item 8: a peer that leaves UDP checksums to a TX offload (a veth's default)
/// has its datagrams dropped as `partial_checksum`, and Sluice says once, on stderr,
/// which command fixes it.
#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn partial_checksums_are_counted_and_explained() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["udp-echo"]);
    run_in(pair.peer_ns(), "ethtool", &["-K", PEER_IF, "tx", "on"]);
    let send = format!("for i in 1 2 3; do echo partial > /dev/udp/{SLUICE_IP}/7; done");
    run_in(pair.peer_ns(), "bash", &["-c", &send]);
    std::thread::sleep(Duration::from_millis(300));
    let stat = stat_json(&pair);
    assert_eq!(json_counter(&stat.stdout, "partial_checksum"), 3, "{}", stat.text());
    let finished = sluice.stop();
    let warnings = finished.stderr.matches("ethtool -K PEER tx off").count();
    assert_eq!(warnings, 1, "one warning naming the fix expected on stderr{}", finished.text());
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

/// A closed port of Sluice's address is answered (all TCP and UDP for it reach Sluice):
/// the kernel client sees "connection refused" at once instead of waiting for a timeout.
#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn closed_ports_are_refused_at_once() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo"]);
    let closed = format!("{SLUICE_IP}:4444");
    // RFC 9293 §3.10.7.1: a RST for the SYN. Within a second: the kernel's first SYN
    // retransmission would come after one.
    let tcp = expect_refused(pair.peer_ns(), "tcp", &closed, Duration::from_secs(5));
    assert!(tcp < Duration::from_secs(1), "the connection was refused only after {tcp:?}");
    // RFC 1122 §4.1.3.1: ICMP port unreachable, seen as ECONNREFUSED on a connected socket.
    let udp = expect_refused(pair.peer_ns(), "udp", &closed, Duration::from_secs(5));
    assert!(udp < Duration::from_secs(1), "the datagram was refused only after {udp:?}");
    // The open port still serves.
    tcp_echo_client(pair.peer_ns(), &echo_target(), 10_000, 1, SHORT_TIMEOUT);

    let stat = stat_json(&pair);
    for counter in ["no_listener", "resets_sent", "udp_no_socket"] {
        assert!(
            json_counter(&stat.stdout, counter) >= 1,
            "`sluice stat --json`: {counter} is 0{}",
            stat.text()
        );
    }
    sluice.stop();
}

/// Share-address mode: the kernel holds Sluice's address too and keeps every port Sluice
/// does not use, on the same address; Sluice still serves its own.
#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn share_address_leaves_other_ports_to_the_kernel() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    pair.add_stack_kernel_address(SLUICE_CIDR);
    let _kernel = spawn_tcp_echo_server(pair.stack_ns(), &format!("{SLUICE_IP}:2222"));
    let sluice = serve(&pair, &["--share-address"], &["echo"]);

    tcp_echo_client(pair.peer_ns(), &format!("{SLUICE_IP}:2222"), 100_000, 2, SHORT_TIMEOUT);
    tcp_echo_client(pair.peer_ns(), &echo_target(), 100_000, 2, SHORT_TIMEOUT);
    // A port neither uses: the kernel refuses it.
    expect_refused(pair.peer_ns(), "tcp", &format!("{SLUICE_IP}:4444"), Duration::from_secs(5));
    run_in(pair.peer_ns(), "ping", &["-c", "2", "-W", "2", SLUICE_IP]);

    let stat = stat_json(&pair);
    assert!(json_counter(&stat.stdout, "passed_port") >= 1, "no segment passed to the kernel{}", stat.text());
    assert_eq!(json_counter(&stat.stdout, "no_listener"), 0, "Sluice saw the kernel's ports{}", stat.text());
    sluice.stop();
}

/// Without --share-address, Sluice refuses to start on an address the kernel holds.
#[test]
#[ignore = "needs root: run by `cargo xtask test`"]
fn an_address_the_kernel_holds_needs_share_address() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    pair.add_stack_kernel_address(SLUICE_CIDR);
    let control = pair.control_path();
    let args = ["serve", "--iface", STACK_IF, "--addr", SLUICE_CIDR, "--control", &control, "echo"];
    let finished = run_sluice(pair.stack_ns(), &args, SHORT_TIMEOUT);
    assert!(!finished.status.success(), "started on an address the kernel holds{}", finished.text());
    assert!(finished.stderr.contains("--share-address"), "the error names the flag{}", finished.text());
    pair.assert_no_xdp();
}

/// How long the SYN flood runs while a kernel client connects.
const FLOOD: Duration = Duration::from_secs(4);

/// A flood of SYNs from random spoofed sources at Sluice's echo port: a kernel client
/// must still connect and get a correct echo during it (the SYN queue fills with spoofed
/// handshakes; SYN cookies answer the rest, the client's among them).
///
/// The flood is paced (hping3 `-i u1`, about 12,000 SYNs a second here: the 1,024-entry
/// SYN queue is full within 0.1 s and stays full), so the test checks the cookie path, not
/// how fast this build is: unpaced (`--flood`, over 500,000 a second) the debug build's
/// worker cannot drain its ring and the kernel drops half the frames, the client's among
/// them, so whether its transfers finish in time measures the machine. The unpaced flood
/// is the flood benchmark's (`cargo xtask bench flood`, release build).
#[test]
#[ignore = "needs root; `cargo xtask test` runs it"]
fn a_kernel_client_connects_during_a_syn_flood() {
    if !runnable() || !skip::require_tools(skip::FLOOD_TOOLS) {
        return;
    }
    let pair = VethPair::new(1);
    let sluice = serve(&pair, &[], &["echo"]);
    tcp_echo_client(pair.peer_ns(), &echo_target(), 10_000, 1, SHORT_TIMEOUT);

    let flood_args = ["-S", "-i", "u1", "--rand-source", "-p", "7", SLUICE_IP];
    let mut flood = NsProcess::spawn(pair.peer_ns(), "hping3", &flood_args);
    // Let the flood fill whatever it fills before the client tries.
    std::thread::sleep(Duration::from_secs(1));
    assert!(flood.running(), "hping3 stopped at once: {}", flood.stderr());
    // Each connection gets 5 s for a socket call: the kernel client retries its SYN at
    // 1 s and 3 s, so an unanswered SYN queue shows as a timeout.
    let client = std::thread::spawn({
        let ns = pair.peer_ns().to_owned();
        move || {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/tcp_echo_client.py");
            let args = [
                "-u",
                script,
                "--connect",
                "10.0.0.1:7",
                "--bytes",
                "100000",
                "--connections",
                "4",
                "--timeout",
                "5",
            ];
            support::netns::output_in(&ns, "python3", &args, FLOOD + Duration::from_secs(30))
        }
    });
    let started = std::time::Instant::now();
    let finished = client.join().expect("the client thread");
    let took = started.elapsed();
    let flood_end = flood.stop_within("INT", Duration::from_secs(5));
    finished.assert_success();
    assert_eq!(finished.stdout.trim_end(), "ok 4 connections 100000 bytes", "{}", finished.text());
    assert!(took < FLOOD + Duration::from_secs(1), "the echo took {took:?} under the flood");
    let stat = stat_json(&pair);
    assert!(
        json_counter(&stat.stdout, "syn_cookies_accepted") >= 4,
        "the client's connections were made from SYN cookies (the queue was full){}",
        stat.text()
    );
    eprintln!("hping3: {}", flood_end.stderr.trim_end());
    // And after the flood, as before.
    tcp_echo_client(pair.peer_ns(), &echo_target(), 10_000, 1, SHORT_TIMEOUT);
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

/// The sum of every `["name",N]` pair in `sluice stat --json` output (over workers).
/// One `sluice stat --json` snapshot of the server on `pair`; fails the test unless it
/// succeeds.
fn stat_json(pair: &VethPair) -> support::process::Finished {
    let control = pair.control_path();
    let stat = run_sluice(
        pair.stack_ns(),
        &["stat", "--control", &control, "--count", "1", "--json"],
        SHORT_TIMEOUT,
    );
    stat.assert_success();
    stat
}

fn json_counter(json: &str, name: &str) -> u64 {
    let key = format!("[\"{name}\",");
    json.match_indices(&key)
        .filter_map(|(at, _)| {
            let digits: String = json[at + key.len()..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .sum()
}

#[test]
fn json_counters_are_summed_over_workers() {
    let json = r#"{"workers":[{"tcp":[["resets_sent",2],["no_listener",1]]},{"tcp":[["resets_sent",3]]}]}"#;
    assert_eq!(json_counter(json, "resets_sent"), 5);
    assert_eq!(json_counter(json, "no_listener"), 1);
    assert_eq!(json_counter(json, "absent"), 0);
}

#[test]
fn positive_counters_are_found_by_name() {
    assert!(has_positive_counter("worker 0\n  rx packets 12\n  tx packets 0\n", "rx"));
    assert!(!has_positive_counter("worker 0\n  rx packets 12\n  tx packets 0\n", "tx"));
    assert!(has_positive_counter("RX: 0 packets, 3 bytes", "rx"));
    assert!(!has_positive_counter("no such line", "rx"));
}
