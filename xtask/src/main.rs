//! Sluice's task runner: `cargo xtask <task>` (the alias is in .cargo/config.toml).
//!
//! Every task runs from the workspace root, whatever the caller's directory.

mod build;
mod cmd;
mod demo;
mod echo_bench;
mod echo_servers;
mod flood_bench;
mod fuzz;
mod http_bench;
mod http_smoke;
mod lab;
mod latency_bench;
mod latency_chart;
mod netns;
mod nginx;
mod perf;
mod progress;
mod result_file;
mod run;
mod steps;
mod test;
mod tools;
mod veth;
mod wrk;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::cmd::Cmd;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Sluice's build, veth lab, run, test, demo, benchmark and fuzzing tasks"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Installs the build dependencies if missing (apt, as root), then builds the sluice
    /// package: the XDP program, the stack and the `sluice` binary.
    Build {
        #[arg(long)]
        release: bool,
    },
    /// Creates or removes the veth lab: network namespaces PREFIX-a (the stack side sl0) and
    /// PREFIX-b (the kernel peer sl1, 10.0.0.2/24) joined by a veth pair. Needs root.
    Veth {
        #[command(subcommand)]
        action: VethAction,
    },
    /// Builds sluice in release and runs `sluice ARGS` as root inside the stack namespace
    /// (e.g. `cargo xtask run -- serve --iface sl0 --addr 10.0.0.1/24 echo`).
    Run {
        /// The network namespace to run in.
        #[arg(long, value_name = "NS", default_value = "sluice-a")]
        netns: String,
        /// Run in this network namespace instead (on a real NIC).
        #[arg(long, conflicts_with = "netns")]
        host: bool,
        /// The arguments of `sluice`, after `--`.
        #[arg(last = true, required = true)]
        args: Vec<OsString>,
    },
    /// The whole test suite, exactly what CI runs: tools, fmt, clippy, tests, bounded fuzzing.
    Test {
        /// Seconds each fuzz target runs.
        #[arg(long, value_name = "N", env = "SLUICE_FUZZ_SECS", default_value_t = 20,
              value_parser = clap::value_parser!(u64).range(1..))]
        fuzz_secs: u64,
        /// Leave out the fuzzing step (for quick local runs; CI fuzzes).
        #[arg(long)]
        skip_fuzz: bool,
    },
    /// The tour (root): a veth lab, Sluice's HTTP echo on AF_XDP, a short wrk against it and
    /// against the same app on the kernel stack, the comparison table and the latency chart,
    /// the lab removed. With --sim, the simulated demo into a pcap (no root needed).
    Demo {
        /// Run the simulated demo instead: `sluice demo` into a pcap, decoded with tshark.
        #[arg(long)]
        sim: bool,
        /// The veth lab's namespace prefix (PREFIX-a, PREFIX-b); must not exist yet.
        #[arg(long, value_name = "PREFIX", default_value = demo::NETNS_PREFIX, conflicts_with = "sim")]
        netns_prefix: String,
    },
    /// Runs the HTTP smoke test of `cargo xtask test` alone (root): curl and wrk against
    /// `sluice serve http-echo` on a veth lab, every response checked.
    SmokeHttp,
    /// Without NAME a quick suite (under two minutes once built): the criterion benchmarks
    /// with short measurement times, then (as root) 3-second latency and echo runs on veth,
    /// written to target/bench-quick/. With NAME one benchmark in full: `latency` (echo
    /// latency distributions and charts, Sluice against the kernel stack), `echo` (TCP echo
    /// round trips), `http` (wrk against Sluice's HTTP echo, its kernel-stack twin and
    /// nginx), `flood` (the same wrk under SYN floods, Sluice and nginx), `tcp-instructions` (instructions and ns per TCP transaction), or a criterion
    /// filter. The veth benchmarks need root.
    Bench {
        /// `latency` runs bench/src/bin/latency against `sluice serve echo|udp-echo` and
        /// kernel_echo, closed and open loop, writing bench/results/latency-DATE.{md,json}
        /// with .hgrm files and SVG charts; `echo` runs bench/src/bin/echo_load against the
        /// same servers, writing bench/results/echo-DATE.md; `http` runs wrk, writing
        /// bench/results/http-DATE.*; `flood` runs wrk against Sluice's HTTP echo and nginx
        /// without and under hping3 SYN floods, writing bench/results/flood-DATE.*;
        /// `tcp-instructions` runs bench/src/bin/tcp_perf natively
        /// and under callgrind; any other NAME runs the criterion benchmarks whose id contains
        /// it (e.g. `checksum`, `parse`, `tcp`).
        name: Option<String>,
        /// With `tcp-instructions`: record the instruction count as the baseline that
        /// `cargo xtask test` guards (bench/results/tcp-instructions-baseline.json).
        #[arg(long)]
        save_baseline: bool,
        #[command(flatten)]
        echo: echo_bench::Options,
        #[command(flatten)]
        http: http_bench::HttpOptions,
        #[command(flatten)]
        flood: flood_bench::FloodOptions,
    },
    /// Runs one fuzz target: until a crash or Ctrl-C, or for --secs seconds.
    Fuzz {
        /// A target declared in core/fuzz/Cargo.toml (e.g. `ethernet`).
        target: String,
        /// Corpus directories or single inputs to run instead of core/fuzz/corpus/TARGET
        /// (give a crash file from core/fuzz/artifacts/TARGET to reproduce it).
        inputs: Vec<PathBuf>,
        /// Stop after N seconds.
        #[arg(long, value_name = "N")]
        secs: Option<u64>,
        /// Build with AddressSanitizer (about 5x slower; for code that uses `unsafe`).
        #[arg(long)]
        asan: bool,
        /// Further libFuzzer options, after `--` (e.g. `-- -jobs=2`).
        #[arg(last = true)]
        fuzzer_args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum VethAction {
    /// Creates the namespaces and the pair; fails if either namespace exists.
    Up {
        /// RX and TX queues on each end (one AF_XDP socket and worker per queue).
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..=64))]
        queues: u16,
        /// Namespace prefix: the namespaces are PREFIX-a and PREFIX-b.
        #[arg(long, value_name = "PREFIX", default_value = veth::DEFAULT_PREFIX)]
        name: String,
    },
    /// Removes the namespaces and with them the pair; does nothing if they do not exist.
    Down {
        /// Namespace prefix given to `veth up`.
        #[arg(long, value_name = "PREFIX", default_value = veth::DEFAULT_PREFIX)]
        name: String,
    },
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits inside the workspace").to_path_buf()
}

fn main() {
    if let Err(err) = run(Cli::parse()) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = workspace_root();
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    // Paths the user typed are relative to where they typed them.
    let task = match cli.task {
        Task::Fuzz { target, inputs, secs, asan, fuzzer_args } => {
            let inputs = inputs
                .into_iter()
                .map(|p| std::path::absolute(&p).with_context(|| format!("bad path {}", p.display())))
                .collect::<Result<_>>()?;
            Task::Fuzz { target, inputs, secs, asan, fuzzer_args }
        }
        task => task,
    };
    std::env::set_current_dir(&root).with_context(|| format!("could not enter {}", root.display()))?;

    match task {
        Task::Build { release } => build::run(release),
        Task::Veth { action: VethAction::Up { queues, name } } => {
            veth::up(&veth::Topology::new(&name)?, queues)
        }
        Task::Veth { action: VethAction::Down { name } } => veth::down(&veth::Topology::new(&name)?),
        Task::Run { netns, host, args } => {
            let place = if host { run::Place::Host } else { run::Place::Netns(netns) };
            run::run(&root, &cwd, &place, &args)
        }
        Task::Test { fuzz_secs, skip_fuzz } => {
            test::run(&root, &test::Options { fuzz_secs: (!skip_fuzz).then_some(fuzz_secs) })
        }
        Task::Demo { sim: true, .. } => demo::simulated(&root),
        Task::Demo { sim: false, netns_prefix } => demo::run(&root, &netns_prefix),
        Task::SmokeHttp => http_smoke::run(&root),
        Task::Bench { name, save_baseline, echo, http, flood } => match name.as_deref().map(Benchmark::named)
        {
            None => quick_bench(&root, &echo),
            Some(Benchmark::TcpInstructions) => perf::tcp_figures(&root, save_baseline),
            Some(Benchmark::Echo) => echo_bench::run(&root, &echo, &result_file::results_dir(&root)?),
            Some(Benchmark::Latency) => {
                latency_bench::run(&root, &echo, latency_bench::FULL, &result_file::results_dir(&root)?)
            }
            Some(Benchmark::Http) => http_bench::run(&root, &echo, &http),
            Some(Benchmark::Flood) => flood_bench::run(&root, &echo, http.body_size, &flood),
            Some(Benchmark::Criterion(filter)) => bench(filter),
        },
        Task::Fuzz { target, inputs, secs, asan, fuzzer_args } => {
            tools::ensure_cargo_fuzz()?;
            let sanitizer = if asan { fuzz::Sanitizer::Address } else { fuzz::Sanitizer::None };
            fuzz::run_interactive(&target, secs, &inputs, sanitizer, &fuzzer_args)
        }
    }
}

/// What `cargo xtask bench NAME` runs: one of the named benchmarks, or else the criterion
/// benchmarks whose id contains NAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Benchmark<'a> {
    /// `tcp-instructions`: instructions and ns per TCP transaction (callgrind).
    TcpInstructions,
    /// `echo`: TCP echo round trips on veth.
    Echo,
    /// `latency`: echo latency distributions and charts on veth.
    Latency,
    /// `http`: wrk against Sluice's HTTP echo, its kernel-stack twin and nginx.
    Http,
    /// `flood`: the same wrk under SYN floods.
    Flood,
    /// Any other name: a criterion filter.
    Criterion(&'a str),
}

impl Benchmark<'_> {
    fn named(name: &str) -> Benchmark<'_> {
        match name {
            "tcp-instructions" => Benchmark::TcpInstructions,
            "echo" => Benchmark::Echo,
            "latency" => Benchmark::Latency,
            "http" => Benchmark::Http,
            "flood" => Benchmark::Flood,
            filter => Benchmark::Criterion(filter),
        }
    }
}

/// Where the quick suite writes its results, under the target directory: a quick run's
/// numbers are a smoke check, not results to keep.
const QUICK_RESULTS: &str = "bench-quick";
/// Seconds measured per run in the quick suite, and the warm-up before.
const QUICK_SECS: f64 = 3.0;
const QUICK_WARMUP: f64 = 0.5;
/// Criterion settings of the quick suite, in seconds.
const QUICK_CRITERION: [&str; 4] = ["--warm-up-time", "0.3", "--measurement-time", "1"];

fn bench(name: &str) -> Result<()> {
    Cmd::cargo().args(["bench", "-p", "sluice-bench", "--", name]).run()
}

/// `cargo xtask bench` without a name: every criterion benchmark briefly, then one round
/// each of the latency (TCP, closed loop, 1 connection) and echo benchmarks for
/// `QUICK_SECS` seconds. The veth part needs root; without it, it is left out with a note.
fn quick_bench(root: &Path, lab: &echo_bench::Options) -> Result<()> {
    let started = std::time::Instant::now();
    // Only the bench targets (`--benches` takes the library too, whose test harness would
    // not understand criterion's options).
    Cmd::cargo().args(["bench", "-p", "sluice-bench", "--bench", "*", "--"]).args(QUICK_CRITERION).run()?;
    if !tools::is_root()? {
        println!(
            "\nnote: the veth latency and echo runs need root; run `sudo -E env \"PATH=$PATH\" cargo xtask \
             bench` for them"
        );
        return Ok(());
    }
    let quick = echo_bench::Options {
        netns_prefix: lab.netns_prefix.clone(),
        rounds: 1,
        secs: QUICK_SECS,
        warmup: QUICK_WARMUP,
        adaptive: false,
    };
    let results = perf::target_dir(root).join(QUICK_RESULTS);
    latency_bench::run(root, &quick, latency_bench::QUICK, &results)?;
    echo_bench::run(root, &quick, &results)?;
    println!(
        "\nquick suite done in {:.0} s; for full runs: `cargo xtask bench latency`, `cargo xtask bench echo`, \
         `cargo xtask bench http`, `cargo xtask bench tcp-instructions`",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn benchmark_names_pick_their_benchmark_and_the_rest_filter_criterion() {
        use super::Benchmark;
        assert_eq!(Benchmark::named("tcp-instructions"), Benchmark::TcpInstructions);
        assert_eq!(Benchmark::named("http"), Benchmark::Http);
        assert_eq!(Benchmark::named("checksum"), Benchmark::Criterion("checksum"));
    }
}
