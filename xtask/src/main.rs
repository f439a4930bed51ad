//! Sluice's task runner: `cargo xtask <task>` (the alias is in .cargo/config.toml).
//!
//! Every task runs from the workspace root, whatever the caller's directory.

mod build;
mod cmd;
mod echo_bench;
mod fuzz;
mod lab;
mod netns;
mod perf;
mod run;
mod steps;
mod test;
mod tools;
mod veth;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
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
    /// Builds sluice in release, runs its simulated demo into a pcap and decodes it with tshark.
    Demo,
    /// Runs the criterion benchmarks in bench/, or with NAME `tcp-instructions` the TCP
    /// figures: instructions (callgrind) and ns per request/response, bulk Gbit/s, or with
    /// NAME `echo` TCP echo on veth, Sluice against the kernel stack (root).
    Bench {
        /// Run only the benchmarks whose id contains NAME (e.g. `checksum`, `parse`, `tcp`);
        /// `tcp-instructions` runs bench/src/bin/tcp_perf natively and under callgrind;
        /// `echo` runs bench/src/bin/echo_load against `sluice serve echo` and kernel_echo,
        /// writing the table to bench/results/echo-DATE.md.
        name: Option<String>,
        #[command(flatten)]
        echo: echo_bench::Options,
    },
    /// Runs one fuzz target: until a crash or Ctrl-C, or for --secs seconds.
    Fuzz {
        /// A target declared in stack/fuzz/Cargo.toml (e.g. `ethernet`).
        target: String,
        /// Corpus directories or single inputs to run instead of stack/fuzz/corpus/TARGET
        /// (give a crash file from stack/fuzz/artifacts/TARGET to reproduce it).
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
        Task::Demo => demo(&root),
        Task::Bench { name, .. } if name.as_deref() == Some(TCP_FIGURES) => perf::tcp_figures(&root),
        Task::Bench { name, echo } if name.as_deref() == Some(ECHO) => echo_bench::run(&root, &echo),
        Task::Bench { name, .. } => bench(name.as_deref()),
        Task::Fuzz { target, inputs, secs, asan, fuzzer_args } => {
            tools::ensure_cargo_fuzz()?;
            let sanitizer = if asan { fuzz::Sanitizer::Address } else { fuzz::Sanitizer::None };
            fuzz::run_interactive(&target, secs, &inputs, sanitizer, &fuzzer_args)
        }
    }
}

/// The benchmark name `cargo xtask bench` treats as the TCP figures, not a criterion filter.
const TCP_FIGURES: &str = "tcp-instructions";
/// The benchmark name `cargo xtask bench` treats as the veth echo benchmark.
const ECHO: &str = "echo";

/// The pcap the demo writes, relative to the workspace root.
const DEMO_PCAP: &str = "target/demo/demo.pcap";

fn demo(root: &Path) -> Result<()> {
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

fn bench(name: Option<&str>) -> Result<()> {
    let mut cmd = Cmd::cargo().args(["bench", "-p", "sluice-bench"]);
    if let Some(name) = name {
        cmd = cmd.args(["--", name]);
    }
    cmd.run()
}
