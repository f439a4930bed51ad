//! Kernel-stack programs the tests talk to Sluice with: the Python socket scripts in this
//! directory and dnsmasq.

use std::time::{Duration, Instant};

use super::netns::output_in;
use super::process::NsProcess;

/// The directory of the Python scripts.
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support");

/// How long a kernel server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn script(name: &str) -> String {
    format!("{SCRIPTS}/{name}")
}

/// Runs tcp_echo_client.py in `ns` against the echo server at `target` (IP:PORT):
/// `connections` connections each send `bytes` seeded random bytes and verify the echo by
/// SHA-256. Panics with the script's output unless it succeeds within `timeout`.
pub fn tcp_echo_client(ns: &str, target: &str, bytes: u64, connections: u32, timeout: Duration) {
    let (bytes, connections) = (bytes.to_string(), connections.to_string());
    let client = script("tcp_echo_client.py");
    let args = ["-u", &client, "--connect", target, "--bytes", &bytes, "--connections", &connections];
    let finished = output_in(ns, "python3", &args, timeout);
    finished.assert_success();
    assert_eq!(finished.stdout.trim_end(), format!("ok {connections} connections {bytes} bytes"));
}

/// Runs closed_port_client.py in `ns`: `protocol` ("tcp" or "udp") to `target`, where
/// nothing listens, must be refused (RST, or ICMP port unreachable) within `within`.
/// Returns how long the refusal took; panics with the script's output otherwise.
pub fn expect_refused(ns: &str, protocol: &str, target: &str, within: Duration) -> Duration {
    let client = script("closed_port_client.py");
    let timeout = format!("{}", within.as_secs_f64());
    let args = ["-u", &client, protocol, "--connect", target, "--timeout", &timeout];
    let finished = output_in(ns, "python3", &args, within + Duration::from_secs(10));
    finished.assert_success();
    let ms: u64 = finished
        .stdout
        .trim_end()
        .strip_prefix(&format!("refused {protocol} in "))
        .and_then(|rest| rest.strip_suffix(" ms"))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output of closed_port_client.py{}", finished.text()));
    Duration::from_millis(ms)
}

/// Runs udp_echo_client.py in `ns` against the UDP echo server at `target`.
pub fn udp_echo_client(ns: &str, target: &str, datagrams: u32, size: usize) {
    let (count, size) = (datagrams.to_string(), size.to_string());
    let client = script("udp_echo_client.py");
    let args = ["-u", &client, "--connect", target, "--datagrams", &count, "--size", &size];
    let finished = output_in(ns, "python3", &args, Duration::from_secs(60));
    finished.assert_success();
    assert_eq!(finished.stdout.trim_end(), format!("ok {count} datagrams"));
}

/// Starts tcp_echo_server.py in `ns` listening on `listen` (IP:PORT), once it listens.
pub fn spawn_tcp_echo_server(ns: &str, listen: &str) -> NsProcess {
    let server = script("tcp_echo_server.py");
    let mut process = NsProcess::spawn(ns, "python3", &["-u", &server, "--listen", listen]);
    process.wait_for_line("ready", START_TIMEOUT);
    process
}

/// Starts dnsmasq in `ns` as an authoritative-only server on `listen_ip`:53 that answers
/// `address_rule` (dnsmasq's `--address=/NAME/IP`) and forwards nothing, once it serves.
pub fn spawn_dnsmasq(ns: &str, listen_ip: &str, address_rule: &str) -> NsProcess {
    let listen = format!("--listen-address={listen_ip}");
    let address = format!("--address={address_rule}");
    let args = [
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--pid-file",
        "--bind-interfaces",
        "--log-facility=-",
        "--log-queries",
        &listen,
        &address,
    ];
    let mut process = NsProcess::spawn(ns, "dnsmasq", &args);
    // dnsmasq logs "started, version ..." once its sockets are bound.
    let deadline = Instant::now() + START_TIMEOUT;
    while !process.stderr().contains("started, version") {
        assert!(process.running(), "`{}` exited at start:\n{}", process.shown(), process.stderr());
        assert!(
            Instant::now() < deadline,
            "dnsmasq did not start within {START_TIMEOUT:?}:\n{}",
            process.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    process
}
