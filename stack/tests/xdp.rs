//! The AF_XDP datapath against real kernel peers on a veth pair (root only; `cargo xtask
//! test` runs them as root). Each test makes its own veth lab (`sluice-lab`): namespaces
//! `sluice-xdp-PID-N-a` for Sluice and `-b` for the kernel peer, joined by `sl0`/`sl1`;
//! guards remove them even when a test fails.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddrV4;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use sluice::iface::{Interface, InterfaceConfig};
use sluice::socket::{SocketSet, SocketSetConfig, UdpConfig};
use sluice::time::Instant;
use sluice::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};
use sluice::xdp::{
    PortProto, PortRegistry, XdpAttachMode, XdpProgram, XdpProgramConfig, XskBindMode, XskConfig, XskDevice,
};

#[allow(dead_code)] // the veth tests use the rest of the skip helpers
#[path = "support/skip.rs"]
mod skip;

/// Whether the test can run here: root, with the veth tools installed. Otherwise the test
/// is reported skipped, loudly, with the command that installs what is missing.
fn runnable() -> bool {
    skip::require_root() && skip::require_tools(skip::VETH_TOOLS)
}

/// Runs `program args`, failing the test with its output if it fails.
fn run(program: &str, args: &[&str]) -> Output {
    let output =
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "`{program} {}` failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The veth lab (`sluice-lab`, as `cargo xtask veth up` makes it), one per test, removed
/// when dropped: Sluice's side `sl0` has no kernel address, the peer `sl1` has 10.0.0.2/24
/// and TX checksum offload off (frames carry full checksums).
struct VethPair {
    lab: sluice_lab::Lab,
    stack_ns: String,
    peer_ns: String,
    stack_if: String,
    peer_if: String,
    stack_mac: EthernetAddress,
    stack_ip: Ipv4Addr,
    peer_ip: Ipv4Addr,
}

impl VethPair {
    fn new(n: u8) -> VethPair {
        let lab = sluice_lab::Lab::new(&format!("sluice-xdp-{}-{n}", std::process::id())).unwrap();
        lab.create(1).unwrap_or_else(|err| panic!("could not make the veth lab: {err}"));
        let mac = lab.stack_mac().unwrap_or_else(|err| panic!("{err}"));
        let octets: Vec<u8> = mac.split(':').filter_map(|hex| u8::from_str_radix(hex, 16).ok()).collect();
        let stack_mac =
            EthernetAddress(octets.try_into().unwrap_or_else(|_| panic!("a MAC address, not {mac:?}")));
        VethPair {
            stack_ns: lab.stack_ns(),
            peer_ns: lab.peer_ns(),
            stack_if: sluice_lab::STACK_IF.to_owned(),
            peer_if: sluice_lab::PEER_IF.to_owned(),
            stack_mac,
            stack_ip: sluice_lab::STACK_IP.parse().unwrap(),
            peer_ip: sluice_lab::PEER_IP.parse().unwrap(),
            lab,
        }
    }

    /// Runs `args` in the peer namespace.
    fn peer(&self, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.peer_ns]).args(args);
        command
    }

    /// `ip -d link show` of Sluice's interface, where an attached program shows as `xdp`.
    fn link_details(&self) -> String {
        let output = run("ip", &["-n", &self.stack_ns, "-d", "link", "show", "dev", &self.stack_if]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn has_xdp(&self) -> bool {
        sluice_lab::shows_xdp(&self.link_details())
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth end inside it, and with it the peer.
        if let Err(err) = self.lab.remove() {
            eprintln!("warning: {err}");
        }
    }
}

/// The calling thread inside a network namespace until dropped.
struct InNetns {
    original: File,
}

impl InNetns {
    fn enter(name: &str) -> InNetns {
        let original = File::open("/proc/thread-self/ns/net").expect("open this thread's netns");
        let target = File::open(format!("/run/netns/{name}")).expect("open the namespace");
        // SAFETY: setns on a valid namespace descriptor affects only this thread.
        let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns into {name}: {}", std::io::Error::last_os_error());
        InNetns { original }
    }
}

impl Drop for InNetns {
    fn drop(&mut self) {
        // SAFETY: as in `enter`, back to the namespace the thread came from.
        let rc = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            eprintln!("cannot return to the original netns: {}", std::io::Error::last_os_error());
        }
    }
}

/// Sluice on the pair: the XDP program, one AF_XDP socket on queue 0, an interface.
struct Stack {
    iface: Interface,
    sockets: SocketSet,
    device: XskDevice,
    program: XdpProgram,
    start: std::time::Instant,
}

impl Stack {
    fn new(pair: &VethPair) -> Stack {
        Stack::with(pair, false)
    }

    /// `share_address`: the program's share-address mode (TCP and UDP by registered port).
    fn with(pair: &VethPair, share_address: bool) -> Stack {
        let config = XdpProgramConfig {
            addrs: vec![pair.stack_ip],
            vlan_id: None,
            mode: XdpAttachMode::Auto,
            share_address,
        };
        let program = XdpProgram::attach(&pair.stack_if, &config).expect("attach the XDP program");
        let device = XskDevice::new(&pair.stack_if, 0, &XskConfig::default()).expect("bind an AF_XDP socket");
        program.register_socket(0, device.fd()).expect("register the socket");
        let iface =
            Interface::new(InterfaceConfig::new(pair.stack_mac, Ipv4Cidr::new(pair.stack_ip, 24).unwrap()))
                .expect("interface config");
        Stack {
            iface,
            sockets: SocketSet::new(SocketSetConfig::default()),
            device,
            program,
            start: std::time::Instant::now(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// One worker iteration; sleeps up to a millisecond in poll() when idle.
    fn poll(&mut self) {
        let now = self.now();
        let busy = self.iface.poll(now, &mut self.device, &mut self.sockets);
        self.device.flush().expect("flush");
        if !busy && self.iface.poll_at(now, &self.sockets) != Some(now) {
            self.device.poll_wait(Duration::from_millis(1)).expect("poll");
        }
    }

    /// Polls until `child` exits (at most `limit`), and returns its output.
    fn serve_until_exit(&mut self, mut child: Child, limit: Duration) -> Output {
        let deadline = std::time::Instant::now() + limit;
        loop {
            self.poll();
            if child.try_wait().expect("wait for the peer command").is_some() {
                return child.wait_with_output().expect("collect output");
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let output = child.wait_with_output().expect("collect output");
                panic!("peer command timed out: {}", String::from_utf8_lossy(&output.stdout));
            }
        }
    }

    /// Polls until `done` holds, at most `limit`; returns whether it held.
    fn serve_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Stack) -> bool) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            self.poll();
            if done(self) {
                return true;
            }
        }
        false
    }
}

fn spawn(mut command: Command) -> Child {
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn a peer command")
}

/// Sends one UDP datagram from the peer (bash's /dev/udp) and returns when it is sent.
fn send_udp(stack: &mut Stack, pair: &VethPair, port: u16, payload: &str) {
    let script = format!("printf '%s' '{payload}' > /dev/udp/{}/{port}", pair.stack_ip);
    let output = stack.serve_until_exit(spawn(pair.peer(&["bash", "-c", &script])), Duration::from_secs(5));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn kernel_peers_ping_arping_and_reach_every_port() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(1);
    let netns = InNetns::enter(&pair.stack_ns);
    let mut stack = Stack::new(&pair);
    assert!(pair.has_xdp(), "attached: {}", pair.link_details());
    assert_eq!(stack.device.mode(), XskBindMode::Copy, "veth has no zero-copy AF_XDP");

    // ping: ARP resolution, then three echo replies built in UMEM frames.
    let ping = stack.serve_until_exit(
        spawn(pair.peer(&["ping", "-c", "3", "-i", "0.2", "-W", "2", &pair.stack_ip.to_string()])),
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&ping.stdout);
    assert!(ping.status.success() && text.contains("3 received"), "ping: {text}");

    // arping (Habets): three requests, three replies.
    let arping = stack.serve_until_exit(
        spawn(pair.peer(&["arping", "-c", "3", "-i", &pair.peer_if, &pair.stack_ip.to_string()])),
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&arping.stdout);
    assert!(arping.status.success() && text.matches("bytes from").count() == 3, "arping: {text}");

    // Every port is the stack's: a datagram to a port nobody registered reaches its socket.
    let udp = stack.sockets.udp_socket(UdpConfig::default()).unwrap();
    stack.sockets.bind(udp, SocketAddrV4::new(pair.stack_ip, 7002)).unwrap();
    let before = stack.program.counters().unwrap();
    send_udp(&mut stack, &pair, 7002, "any-port");
    let mut buf = [0u8; 64];
    let mut received = None;
    assert!(
        stack.serve_until(Duration::from_secs(2), |s| {
            received = s.sockets.recv_from(udp, &mut buf).ok();
            received.is_some()
        }),
        "the datagram to an unregistered port never reached the socket"
    );
    assert_eq!(&buf[..received.unwrap().0], b"any-port");
    let after = stack.program.counters().unwrap();
    assert_eq!(after.passed_port, before.passed_port, "{after}");
    assert!(after.redirected > before.redirected, "{after}");

    let counters = stack.program.counters().unwrap();
    let device = stack.device.counters();
    eprintln!("xdp: {counters}\nxsk: {device:?}");
    // Three echo requests, three ARP requests (plus ping's own), one datagram.
    assert!(counters.redirected >= 7, "{counters}");
    assert!(device.rx_packets >= 7 && device.tx_packets >= 6, "{device:?}");
    assert_eq!(device.bad_descs, 0);
    stack.device.frames().check().unwrap();

    drop(stack);
    drop(netns);
    assert!(!pair.has_xdp(), "still attached after drop: {}", pair.link_details());
}

#[test]
fn share_address_mode_steers_registered_ports_only() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(5);
    let netns = InNetns::enter(&pair.stack_ns);
    // The stack side's kernel holds the address too.
    let cidr = format!("{}/24", pair.stack_ip);
    run("ip", &["-n", &pair.stack_ns, "addr", "add", &cidr, "dev", &pair.stack_if]);
    let mut stack = Stack::with(&pair, true);

    // An ARP request for the shared address is the kernel's to answer.
    let before = stack.program.counters().unwrap();
    let arping = stack.serve_until_exit(
        spawn(pair.peer(&["arping", "-c", "1", "-i", &pair.peer_if, &pair.stack_ip.to_string()])),
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&arping.stdout);
    assert!(arping.status.success() && text.matches("bytes from").count() == 1, "arping: {text}");
    let after = stack.program.counters().unwrap();
    assert_eq!(after.passed_shared_arp, before.passed_shared_arp + 1, "{after}");
    assert_eq!(stack.iface.stats().arp_replies_sent, 0, "the stack saw no ARP request");

    // A registered UDP port reaches the stack's socket.
    let udp = stack.sockets.udp_socket(UdpConfig::default()).unwrap();
    stack.sockets.bind(udp, SocketAddrV4::new(pair.stack_ip, 7000)).unwrap();
    let ports = stack.program.ports();
    ports.open(PortProto::Udp, 7000).unwrap();
    assert!(ports.contains(PortProto::Udp, 7000));
    send_udp(&mut stack, &pair, 7000, "to-the-stack");
    let mut buf = [0u8; 64];
    let mut received = None;
    assert!(
        stack.serve_until(Duration::from_secs(2), |s| {
            received = s.sockets.recv_from(udp, &mut buf).ok();
            received.is_some()
        }),
        "the datagram to the registered port never reached the socket"
    );
    let (n, from) = received.unwrap();
    assert_eq!(&buf[..n], b"to-the-stack");
    assert_eq!(*from.ip(), pair.peer_ip);

    // An unregistered port is passed to the kernel.
    let before = stack.program.counters().unwrap();
    send_udp(&mut stack, &pair, 7001, "to-the-kernel");
    stack.serve_until(Duration::from_millis(200), |_| false);
    let after = stack.program.counters().unwrap();
    assert_eq!(after.passed_port, before.passed_port + 1, "{after}");
    assert_eq!(after.redirected, before.redirected, "{after}");

    // Closing the port hands its traffic back to the kernel.
    ports.close(PortProto::Udp, 7000).unwrap();
    assert!(!ports.contains(PortProto::Udp, 7000));
    send_udp(&mut stack, &pair, 7000, "after-close");
    stack.serve_until(Duration::from_millis(200), |_| false);
    assert_eq!(stack.program.counters().unwrap().passed_port, after.passed_port + 1);
    assert!(stack.sockets.recv_from(udp, &mut buf).is_err(), "nothing more reached the socket");

    stack.device.frames().check().unwrap();
    drop(stack);
    drop(netns);
    assert!(!pair.has_xdp(), "still attached after drop: {}", pair.link_details());
}

#[test]
fn a_ping_flood_is_answered_without_losing_frames() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(3);
    let _netns = InNetns::enter(&pair.stack_ns);
    let mut stack = Stack::new(&pair);
    let count: u32 = 20_000;
    let started = std::time::Instant::now();
    let flood = stack.serve_until_exit(
        spawn(pair.peer(&[
            "ping",
            "-f",
            "-q",
            "-c",
            &count.to_string(),
            "-W",
            "1",
            &pair.stack_ip.to_string(),
        ])),
        Duration::from_secs(60),
    );
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&flood.stdout);
    assert!(text.contains(&format!("{count} received")), "ping -f: {text}");
    let device = stack.device.counters();
    eprintln!(
        "ping -f: {count} round trips in {elapsed:?} ({:.0}/s), poll()-sleeping worker; xsk: {device:?}",
        f64::from(count) / elapsed.as_secs_f64()
    );
    // Every frame is back where it belongs: none lent out, none lost.
    stack.device.flush().unwrap();
    let frames = stack.device.frames();
    frames.check().unwrap();
    assert_eq!(frames.count(sluice::xdp::FrameState::Rx), 0);
    assert_eq!(device.bad_descs, 0);
    assert!(device.rx_packets >= u64::from(count) && device.tx_packets >= u64::from(count));
}

/// Name of the environment variable that turns the helper test into the crashing process.
const CRASH_HELPER_IFACE: &str = "SLUICE_HX_CRASH_HELPER_IFACE";
/// What the helper prints once attached (libtest may print its own text before it).
const ATTACHED_MARKER: &str = "sluice-xdp-helper-attached";

#[test]
fn a_killed_process_leaves_no_program_attached() {
    if !runnable() {
        return;
    }
    let pair = VethPair::new(2);
    // The helper below, run in a child process inside the stack namespace.
    let mut child = KillOnDrop(
        Command::new("ip")
            .args(["netns", "exec", &pair.stack_ns])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_helper_attaches_and_waits",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CRASH_HELPER_IFACE, &pair.stack_if)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let attached = lines.by_ref().map_while(Result::ok).any(|line| line.contains(ATTACHED_MARKER));
    assert!(attached, "the helper did not attach");
    let details = pair.link_details();
    let program_id = details
        .split("prog/xdp id ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no XDP program attached: {details}"));
    // `bpftool link show` lists bpf_links as `ID: xdp  prog PROG_ID`.
    let links = String::from_utf8_lossy(&run("bpftool", &["link", "show"]).stdout).into_owned();
    let via_link =
        links.lines().any(|l| l.contains(": xdp") && l.split_whitespace().last() == Some(program_id));
    assert!(via_link, "program {program_id} is not attached through a bpf_link:\n{links}");

    // SAFETY: kill on the pid of our own child (`ip netns exec` execs the test binary).
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGKILL) }, 0);
    child.0.wait().unwrap();
    // The kernel releases the link when the last descriptor closes, as the process exits.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pair.has_xdp() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!pair.has_xdp(), "still attached after SIGKILL: {}", pair.link_details());
}

/// Kills the child (by its pid) if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Run only by `a_killed_process_leaves_no_program_attached`, in a child it kills.
#[test]
#[ignore = "the crash test's child process; runs only with its environment"]
fn crash_helper_attaches_and_waits() {
    let ifname =
        std::env::var(CRASH_HELPER_IFACE).expect("run by a_killed_process_leaves_no_program_attached");
    let addr = sluice_lab::STACK_IP.parse().unwrap();
    let config = XdpProgramConfig { addrs: vec![addr], ..XdpProgramConfig::default() };
    let program = XdpProgram::attach(&ifname, &config).expect("attach");
    program.ports().open(PortProto::Tcp, 80).unwrap();
    println!("{ATTACHED_MARKER}");
    // Wait to be killed; never detach by itself.
    std::thread::sleep(Duration::from_secs(60));
    panic!("the crash test should have killed this process");
}

#[test]
fn attach_errors_say_what_to_do() {
    if !runnable() {
        return;
    }
    let error = XdpProgram::attach("hx-absent", &XdpProgramConfig::default()).unwrap_err();
    assert!(error.to_string().contains("no network interface named `hx-absent`"), "{error}");
    let error = XskDevice::new("hx-absent", 0, &XskConfig::default()).unwrap_err();
    assert!(error.to_string().contains("hx-absent"), "{error}");
    let many = XdpProgramConfig { addrs: vec![Ipv4Addr::new(10, 0, 0, 1); 9], ..XdpProgramConfig::default() };
    let error = XdpProgram::attach("lo", &many).unwrap_err();
    assert!(error.to_string().contains("at most 8"), "{error}");
}
