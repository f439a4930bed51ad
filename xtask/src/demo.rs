//! `cargo xtask demo`: the tour of Sluice on a real link (issue 5, item 5). A veth lab comes
//! up, Sluice's HTTP echo answers curl on AF_XDP, wrk loads it and the same application on
//! the kernel stack for a few seconds each, the comparison table and the latency figures
//! follow, and the lab goes down. `cargo xtask demo --sim` runs the simulated demo instead
//! (`sluice demo` into a pcap, decoded with tshark), which needs no root.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::http_bench::{self, Mode, Plan, Session, Stack};
use crate::lab::{self, KernelAddress, Lab, Readiness, Server};
use crate::latency_chart;
use crate::netns;
use crate::perf::target_dir;
use crate::tools;

/// The demo lab's namespace prefix (`demo-a`, `demo-b`).
pub const NETNS_PREFIX: &str = "demo";

/// What the demo measures: short, one round, Sluice and the kernel stack.
fn plan() -> Plan {
    Plan {
        stacks: vec![Stack::Sluice, Stack::Kernel],
        modes: vec![Mode::KeepAlive(1), Mode::KeepAlive(64), Mode::Close(64)],
        rounds: 1,
        secs: 3.0,
        warmup: 1.0,
        body_size: 13,
    }
}

fn section(title: &str) {
    println!();
    println!("=== {title}");
}

pub fn run(root: &Path, netns_prefix: &str) -> Result<()> {
    if !tools::is_root()? {
        bail!(
            "`cargo xtask demo` needs root: it creates network namespaces and attaches Sluice's XDP \
             program (CAP_NET_ADMIN, CAP_BPF). Re-run it with sudo (`sudo -E env \"PATH=$PATH\" cargo \
             xtask demo`), or run the simulated demo, which needs neither: `cargo xtask demo --sim`"
        );
    }
    let plan = plan();
    section("build: sluice in release, and the tools (wrk, curl, iproute2) if missing");
    let (release, report_script) = http_bench::prepare(root, &plan)?;
    let logs = target_dir(root).join("demo");
    std::fs::create_dir_all(&logs).with_context(|| format!("could not create {}", logs.display()))?;

    section("namespaces up");
    let lab = Lab::up(netns_prefix)?;
    let session = Session {
        release,
        logs: logs.clone(),
        lab: &lab,
        report_script,
        progress: http_bench::progress_bar(),
    };

    section("Sluice's HTTP echo on AF_XDP, and the same app on the kernel stack, answer curl");
    let probes = session.probe(&plan)?;
    for probe in &probes {
        println!("{}:", probe.stack.label());
        println!("{}", probe.head.replace("\r\n", "\n"));
        println!();
        println!("{}", String::from_utf8_lossy(&probe.body).trim_end());
        println!();
    }

    section(&format!("wrk, {} s per server and load, server on core 0, wrk on core 1", plan.secs));
    let samples = session.measure(&plan, &probes[0])?;
    println!();
    print!("{}", http_bench::tables(&plan, &samples));

    section("latency");
    latency_chart(root, &session)?;

    drop(session);
    section("namespaces down");
    drop(lab);
    Ok(())
}

/// The latency step: sluice-bench's closed-loop `latency` client (issue 5, item 3), one
/// connection, against Sluice's TCP echo and the kernel's, each distribution written as an
/// `.hgrm` file into target/demo/, its percentiles printed, and both drawn into one chart
/// (target/demo/latency.svg, HdrHistogram's percentile axis). Skipped, saying so, in a
/// checkout without bench/src/bin/latency.rs.
fn latency_chart(root: &Path, session: &Session) -> Result<Vec<PathBuf>> {
    if !root.join("bench/src/bin/latency.rs").is_file() {
        println!("skipped: this checkout has no latency client (bench/src/bin/latency.rs)");
        return Ok(Vec::new());
    }
    Cmd::cargo()
        .args(["build", "--release", "-p", "sluice-bench", "--bin", "latency", "--bin", "kernel_echo"])
        .run()?;
    let lab = session.lab;
    let server_addr = format!("{}:7", lab::stack_ip());
    let mut written = Vec::new();
    for stack in [Stack::Sluice, Stack::Kernel] {
        let _address = match stack {
            Stack::Sluice => None,
            Stack::Kernel | Stack::Nginx => Some(KernelAddress::add(&lab.stack_ns())?),
        };
        let (program, args) = match stack {
            Stack::Sluice => {
                let mut args = http_bench::sluice_args(Stack::Sluice, lab, None);
                let app = args.iter().position(|a| a == "http-echo").expect("sluice_args names the app");
                args.truncate(app);
                args.extend(["echo", "--port", "7"].map(str::to_owned));
                ("sluice", args)
            }
            Stack::Kernel | Stack::Nginx => ("kernel_echo", vec!["--listen".to_owned(), server_addr.clone()]),
        };
        let log = session.logs.join(format!("latency-{}.log", stack.key()));
        let server = Server::start(
            &lab.stack_ns(),
            &session.release.join(program),
            &args,
            log,
            Readiness::PrintsReady,
        )?;
        println!("$ {}", server.shown());
        let hgrm = session.logs.join(format!("latency-{}.hgrm", stack.key()));
        let out = netns::exec(&lab.peer_ns(), "taskset")
            .args(["-c", lab::CLIENT_CORE])
            .arg(session.release.join("latency"))
            .args(["--server", &server_addr, "--connections", "1", "--secs", "3", "--warmup", "0.5"])
            .arg("--hgrm")
            .arg(&hgrm)
            .read()?;
        server.stop()?;
        println!("{:<28} {}", latency_label(stack), out.trim());
        written.push((stack, hgrm));
    }
    let runs: Vec<(Stack, Vec<latency_chart::Point>)> = written
        .iter()
        .map(|(stack, hgrm)| {
            let text = std::fs::read_to_string(hgrm)
                .with_context(|| format!("could not read {}", hgrm.display()))?;
            Ok((*stack, latency_chart::parse_hgrm(&text).with_context(|| format!("in {}", hgrm.display()))?))
        })
        .collect::<Result<_>>()?;
    let series: Vec<latency_chart::Series<'_>> = runs
        .iter()
        .map(|(stack, points)| latency_chart::Series {
            label: latency_label(*stack),
            color: if *stack == Stack::Sluice { plotters::style::RED } else { plotters::style::BLUE },
            points,
        })
        .collect();
    let chart = session.logs.join("latency.svg");
    latency_chart::draw(&chart, "TCP echo latency by percentile, 1 connection, 64 B", &series)?;
    let mut paths: Vec<PathBuf> = written.into_iter().map(|(_, hgrm)| hgrm).collect();
    paths.push(chart);
    for path in &paths {
        println!("written {}", path.display());
    }
    Ok(paths)
}

/// The latency step's servers: Sluice's TCP echo, and bench's epoll echo on the kernel.
fn latency_label(stack: Stack) -> &'static str {
    match stack {
        Stack::Sluice => "Sluice TCP echo (AF_XDP, busy poll)",
        Stack::Kernel | Stack::Nginx => "kernel stack (kernel_echo, epoll)",
    }
}

/// The pcap the simulated demo writes, relative to the workspace root.
const DEMO_PCAP: &str = "target/demo/demo.pcap";

/// `cargo xtask demo --sim`: `sluice demo` (two simulated hosts) into a pcap, decoded with
/// tshark when it can be installed.
pub fn simulated(root: &Path) -> Result<()> {
    // tshark only decodes the result: without root to install it, the demo still runs.
    let tshark = match tools::ensure_apt(&[tools::TSHARK]) {
        Ok(()) => true,
        Err(err) => {
            eprintln!("note: {err:#}; the pcap will not be decoded");
            false
        }
    };
    Cmd::cargo().args(["build", "--release", "-p", "sluice", "--bin", "sluice"]).run()?;

    let pcap = root.join(DEMO_PCAP);
    let dir = pcap.parent().expect("the pcap path has a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    match std::fs::remove_file(&pcap) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("could not remove the old {}", pcap.display())),
    }
    Cmd::cargo()
        .args(["run", "--quiet", "--release", "-p", "sluice", "--bin", "sluice", "--"])
        .args(["demo", "--pcap", DEMO_PCAP])
        .run()?;
    if !pcap.is_file() {
        bail!("`sluice demo` exited successfully but wrote no {}", pcap.display());
    }

    if tshark {
        println!();
        Cmd::new("tshark").args(["-r", DEMO_PCAP]).run()?;
    }
    Ok(())
}
