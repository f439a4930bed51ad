//! `cargo xtask bench echo`: TCP echo round trips per second and latency, Sluice against
//! the same application on the kernel stack, in one run (issue 4, "Performance").
//!
//! On a veth lab of its own (`veth up --name PREFIX`), for 1 and 64 connections, it
//! alternates the servers round by round (Sluice, kernel, Sluice, kernel, ...), each a fresh
//! process pinned to core 0; the load client `echo_load` runs in the peer namespace pinned
//! to core 1 (../shared/DESIGN.md, "Measuring fairly on a 2-core machine"). Sluice runs
//! `sluice serve echo` on AF_XDP; the kernel baseline is `kernel_echo`, a single-threaded
//! epoll echo, on the same interface with the kernel given Sluice's address for its round.
//! The table goes to stdout and to bench/results/echo-DATE.md.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::cmd::Cmd;
use crate::echo_servers::{EchoApp, EchoStack, ECHO_PORT};
use crate::lab::{self, KernelAddress, Lab, Readiness, Server, CLIENT_CORE, SERVER_CORE};
use crate::netns;
use crate::perf::target_dir;
use crate::result_file::{self, load_average, shown_spread};
use crate::tools;

/// Options of `cargo xtask bench echo`, shared with `bench latency` and (the first four)
/// `bench http` (ignored by the other benchmarks).
#[derive(Args, Debug)]
pub struct Options {
    /// echo, latency, http: the veth lab's namespace prefix (PREFIX-a, PREFIX-b); must not exist yet.
    #[arg(long, value_name = "PREFIX", default_value = "bench")]
    pub netns_prefix: String,
    /// echo, latency, http: rounds per server and configuration.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
    /// echo, latency, http: seconds measured per round.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub secs: f64,
    /// echo, latency, http: seconds of load before each round's measurement.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    pub warmup: f64,
    /// echo, latency: also run Sluice with `--poll adaptive` in every round.
    #[arg(long)]
    pub adaptive: bool,
}

/// Connection counts measured.
const CONNECTIONS: [u32; 2] = [1, 64];
/// Bytes per echo message.
const MESSAGE_SIZE: u32 = 64;

/// One round's result, as `echo_load` printed it.
struct Sample {
    stack: EchoStack,
    connections: u32,
    json: serde_json::Value,
    round_trips_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

impl Sample {
    fn parse(stack: EchoStack, connections: u32, line: &str) -> Result<Sample> {
        let json: serde_json::Value = serde_json::from_str(line.trim())
            .with_context(|| format!("echo_load printed {line:?}, not JSON"))?;
        let number = |key: &str| {
            json.get(key)
                .and_then(serde_json::Value::as_f64)
                .with_context(|| format!("echo_load's output {line:?} has no number {key:?}"))
        };
        Ok(Sample {
            stack,
            connections,
            round_trips_per_sec: number("round_trips_per_sec")?,
            p50_us: number("p50_us")?,
            p99_us: number("p99_us")?,
            errors: number("errors")? as u64,
            json,
        })
    }
}

/// Paths and settings one run shares.
struct Run<'a> {
    options: &'a Options,
    release: PathBuf,
    logs: PathBuf,
    stack_ns: String,
    peer_ns: String,
    control: String,
}

impl Run<'_> {
    fn start_server(&self, stack: EchoStack, round: u32, connections: u32) -> Result<Server> {
        let log = self.logs.join(format!("{stack:?}-{connections}c-round{round}.log").to_lowercase());
        let (program, args) = stack.server(&self.release, &self.control, EchoApp::Tcp);
        let shown_log = log.display().to_string();
        let server = Server::start(&self.stack_ns, &program, &args, log, Readiness::PrintsReady)?;
        println!("$ {} 2> {shown_log}", server.shown());
        Ok(server)
    }

    fn load(&self, stack: EchoStack, connections: u32) -> Result<Sample> {
        let stack_ip = lab::stack_ip();
        let out = netns::exec(&self.peer_ns, "taskset")
            .args(["-c", CLIENT_CORE])
            .arg(self.release.join("echo_load"))
            .arg("--server")
            .arg(format!("{stack_ip}:{ECHO_PORT}"))
            .args(["--connections", &connections.to_string(), "--size", &MESSAGE_SIZE.to_string()])
            .args(["--secs", &self.options.secs.to_string(), "--warmup", &self.options.warmup.to_string()])
            .read()?;
        print!("{out}");
        Sample::parse(stack, connections, &out)
    }

    fn round(&self, stack: EchoStack, round: u32, connections: u32) -> Result<Sample> {
        let _address = match stack {
            EchoStack::Kernel => Some(KernelAddress::add(&self.stack_ns)?),
            EchoStack::SluiceBusy | EchoStack::SluiceAdaptive => None,
        };
        let server = self.start_server(stack, round, connections)?;
        let sample = self.load(stack, connections)?;
        server.stop()?;
        Ok(sample)
    }
}

/// Runs the benchmark and writes its table into `results` (bench/results/ for a full run).
pub fn run(root: &Path, options: &Options, results: &Path) -> Result<()> {
    tools::require_root("bench echo (it creates network namespaces and attaches XDP)")?;
    if !(options.secs > 0.0 && options.warmup >= 0.0) {
        bail!("--secs must be > 0 and --warmup >= 0");
    }
    tools::ensure_apt(&tools::build_deps())?;
    tools::ensure_apt(lab::TOOLS)?;
    Cmd::cargo().args(["build", "--release", "-p", "sluice", "-p", "sluice-bench", "--bins"]).run()?;
    let release = target_dir(root).join("release");
    for program in ["sluice", "kernel_echo", "echo_load"] {
        if !release.join(program).is_file() {
            bail!("cargo built the release binaries but {} does not exist", release.join(program).display());
        }
    }
    let logs = target_dir(root).join("echo-bench");
    std::fs::create_dir_all(&logs).with_context(|| format!("could not create {}", logs.display()))?;

    let load_before = load_average();
    let lab = Lab::up(&options.netns_prefix)?;
    let run = Run {
        options,
        release,
        logs,
        stack_ns: lab.stack_ns(),
        peer_ns: lab.peer_ns(),
        control: lab.control_socket(),
    };
    let mut stacks = vec![EchoStack::SluiceBusy, EchoStack::Kernel];
    if options.adaptive {
        stacks.push(EchoStack::SluiceAdaptive);
    }
    let mut samples = Vec::new();
    for connections in CONNECTIONS {
        for round in 1..=options.rounds {
            for &stack in &stacks {
                println!(
                    "\n== {} , {connections} connection(s), round {round}/{}",
                    stack.label(),
                    options.rounds
                );
                samples.push(run.round(stack, round, connections)?);
            }
        }
    }
    drop(lab);

    let load = format!("{load_before} before, {} after", load_average());
    let report = report(root, options, &load, &stacks, &samples)?;
    println!("\n{report}");
    std::fs::create_dir_all(results).with_context(|| format!("could not create {}", results.display()))?;
    let path = results.join(format!("echo-{}.md", result_file::today()?));
    std::fs::write(&path, report).with_context(|| format!("could not write {}", path.display()))?;
    println!("written to {}", path.display());
    Ok(())
}

fn of(samples: &[Sample], stack: EchoStack, connections: u32) -> impl Iterator<Item = &Sample> {
    samples.iter().filter(move |s| s.stack == stack && s.connections == connections)
}

/// Sluice's figure over the kernel's, round by round (round i of one against round i of
/// the other, run back to back): median (min–max).
fn ratio(samples: &[Sample], stack: EchoStack, connections: u32, figure: fn(&Sample) -> f64) -> String {
    let ratios: Vec<f64> = of(samples, stack, connections)
        .zip(of(samples, EchoStack::Kernel, connections))
        .map(|(s, k)| figure(s) / figure(k))
        .collect();
    format!("{}×", shown_spread(&ratios, 2))
}

fn report(
    root: &Path,
    options: &Options,
    load: &str,
    stacks: &[EchoStack],
    samples: &[Sample],
) -> Result<String> {
    use std::fmt::Write;
    let commit = Cmd::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(root).read()?;
    let kernel = Cmd::new("uname").arg("-r").read()?;
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# TCP echo: Sluice against the kernel stack").unwrap();
    writeln!(w).unwrap();
    // The command as typed: `cargo xtask` passes its own arguments on unchanged.
    let args: Vec<String> = std::env::args().skip(1).collect();
    writeln!(
        w,
        "`cargo xtask {}` (as root) at commit {}, Linux {}, {cpus} CPUs, load average {load}.",
        args.join(" "),
        commit.trim(),
        kernel.trim()
    )
    .unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "veth pair, 1 queue, MTU 1500; Sluice in copy mode (AF_XDP on veth). Servers pinned to core \
         {SERVER_CORE}, the load client (`echo_load`: one epoll thread, TCP_NODELAY) to core {CLIENT_CORE}. \
         Every connection keeps one {MESSAGE_SIZE}-byte message in flight. Servers alternate round by \
         round; each round: {} s warm-up, {} s measured, a fresh server process. Figures: median of \
         {} rounds (min–max).",
        options.warmup, options.secs, options.rounds
    )
    .unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| stack | connections | round trips/s | p50 µs | p99 µs | errors |").unwrap();
    writeln!(w, "|---|---:|---:|---:|---:|---:|").unwrap();
    for connections in CONNECTIONS {
        for &stack in stacks {
            let rounds: Vec<&Sample> = of(samples, stack, connections).collect();
            let figure = |f: fn(&Sample) -> f64| rounds.iter().map(|s| f(s)).collect::<Vec<f64>>();
            writeln!(
                w,
                "| {} | {connections} | {} | {} | {} | {} |",
                stack.label(),
                shown_spread(&figure(|s| s.round_trips_per_sec), 0),
                shown_spread(&figure(|s| s.p50_us), 1),
                shown_spread(&figure(|s| s.p99_us), 1),
                rounds.iter().map(|s| s.errors).sum::<u64>()
            )
            .unwrap();
        }
    }
    writeln!(w).unwrap();
    writeln!(w, "Sluice / kernel, round by round: median (min–max); above 1 is better for throughput, below 1 for latency.").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "| stack | round trips/s, 64 connections | p50, 1 connection | p99, 1 connection |").unwrap();
    writeln!(w, "|---|---:|---:|---:|").unwrap();
    for &stack in stacks.iter().filter(|&&s| s != EchoStack::Kernel) {
        writeln!(
            w,
            "| {} | {} | {} | {} |",
            stack.label(),
            ratio(samples, stack, 64, |s| s.round_trips_per_sec),
            ratio(samples, stack, 1, |s| s.p50_us),
            ratio(samples, stack, 1, |s| s.p99_us),
        )
        .unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "<details><summary>Every round, as echo_load printed it</summary>").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "```text").unwrap();
    for sample in samples {
        writeln!(w, "{:<24} {}", sample.stack.label(), sample.json).unwrap();
    }
    writeln!(w, "```").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "</details>").unwrap();
    Ok(out)
}
