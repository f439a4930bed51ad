//! `cargo xtask bench latency`: echo request/response latency distributions, Sluice
//! against the kernel stack, in one run (issue 5, item 3).
//!
//! On a veth lab of its own, for each configuration (TCP closed loop with 1 and 16
//! connections, TCP open loop at 5k and 20k requests/s, UDP closed loop and open loop),
//! round by round it alternates the servers (Sluice, kernel, Sluice, kernel, ...): each a
//! fresh process pinned to core 0 (`sluice serve echo|udp-echo` on AF_XDP, or
//! `kernel_echo [--udp]`, a single-threaded epoll echo), with the `latency` client in the
//! peer namespace pinned to core 1 (../shared/DESIGN.md, "Measuring fairly on a 2-core
//! machine"). Every run writes an `.hgrm` file; every configuration gets one SVG chart
//! with the percentile distributions of all its runs; the results go to
//! `RESULTS/latency-DATE.{md,json}` and `RESULTS/latency-DATE/`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use plotters::style::RGBColor;
use serde_json::json;

use crate::cmd::Cmd;
use crate::echo_bench::Options;
use crate::echo_servers::{EchoApp, EchoStack, ECHO_PORT};
use crate::lab::{self, stack_ip, KernelAddress, Lab, Readiness, Server, CLIENT_CORE, SERVER_CORE};
use crate::latency_chart::{self, Point, Series};
use crate::netns;
use crate::perf::target_dir;
use crate::progress::{self, say};
use crate::result_file::{self, command_line, load_average, shown_spread, spread, Machine};
use crate::tools;

/// Bytes per request.
const MESSAGE_SIZE: u32 = 64;
/// The figures of the tables: JSON key of `latency`'s output and column title.
const PERCENTILES: [(&str, &str); 6] = [
    ("p50_us", "p50"),
    ("p90_us", "p90"),
    ("p99_us", "p99"),
    ("p999_us", "p99.9"),
    ("p9999_us", "p99.99"),
    ("max_us", "max"),
];

/// One way of loading the server.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// In file names.
    name: &'static str,
    /// On the chart and in the tables.
    title: &'static str,
    app: EchoApp,
    connections: u32,
    /// Requests per second for an open loop; `None` for a closed loop.
    rate: Option<u32>,
}

/// The full benchmark.
pub const FULL: &[Config] = &[
    Config {
        name: "tcp-closed-1",
        title: "TCP, closed loop, 1 connection",
        app: EchoApp::Tcp,
        connections: 1,
        rate: None,
    },
    Config {
        name: "tcp-closed-16",
        title: "TCP, closed loop, 16 connections",
        app: EchoApp::Tcp,
        connections: 16,
        rate: None,
    },
    Config {
        name: "tcp-open-5k",
        title: "TCP, open loop, 5000 requests/s, 1 connection",
        app: EchoApp::Tcp,
        connections: 1,
        rate: Some(5_000),
    },
    Config {
        name: "tcp-open-20k",
        title: "TCP, open loop, 20000 requests/s, 1 connection",
        app: EchoApp::Tcp,
        connections: 1,
        rate: Some(20_000),
    },
    Config {
        name: "udp-closed-1",
        title: "UDP, closed loop, 1 socket",
        app: EchoApp::Udp,
        connections: 1,
        rate: None,
    },
    Config {
        name: "udp-open-20k",
        title: "UDP, open loop, 20000 requests/s, 1 socket",
        app: EchoApp::Udp,
        connections: 1,
        rate: Some(20_000),
    },
];

/// The quick suite's share: one configuration.
pub const QUICK: &[Config] = &[FULL[0]];

/// One run's result, as `latency` printed it.
struct Sample {
    config: &'static str,
    stack: EchoStack,
    round: u32,
    hgrm: PathBuf,
    json: serde_json::Value,
}

impl Sample {
    fn figure(&self, key: &str) -> f64 {
        self.json.get(key).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN)
    }
}

/// Paths and settings one run shares.
struct Run<'a> {
    options: &'a Options,
    release: PathBuf,
    logs: PathBuf,
    /// Where the `.hgrm` files and charts go.
    files: PathBuf,
    stack_ns: String,
    peer_ns: String,
    control: String,
    progress: ProgressBar,
}

impl Run<'_> {
    fn round(&self, config: &Config, stack: EchoStack, round: u32) -> Result<Sample> {
        let run = format!("{}-{}-r{round}", config.name, stack.slug());
        let log = self.logs.join(format!("{run}.log"));
        let hgrm = self.files.join(format!("{run}.hgrm"));
        let (program, args) = stack.server(&self.release, &self.control, config.app);
        // Setting up prints commands: the bar steps aside meanwhile.
        let (address, server) = self.progress.suspend(|| -> Result<_> {
            let address = match stack {
                EchoStack::Kernel => Some(KernelAddress::add(&self.stack_ns)?),
                EchoStack::SluiceBusy | EchoStack::SluiceAdaptive => None,
            };
            let server = Server::start(&self.stack_ns, &program, &args, log.clone(), Readiness::PrintsReady)?;
            println!("$ {} 2> {}", server.shown(), log.display());
            Ok((address, server))
        })?;

        let mut client = netns::exec(&self.peer_ns, "taskset")
            .args(["-c", CLIENT_CORE])
            .arg(self.release.join("latency"))
            .args(["--server", &format!("{}:{ECHO_PORT}", stack_ip())])
            .args(["--protocol", if config.app == EchoApp::Udp { "udp" } else { "tcp" }])
            .args(["--connections", &config.connections.to_string(), "--size", &MESSAGE_SIZE.to_string()])
            .args(["--secs", &self.options.secs.to_string(), "--warmup", &self.options.warmup.to_string()])
            .arg("--hgrm")
            .arg(&hgrm);
        client = match config.rate {
            Some(rate) => client.args(["--mode", "open", "--rate", &rate.to_string()]),
            None => client.args(["--mode", "closed"]),
        };
        say(&self.progress, &format!("$ {}", client.shown()));
        let out = client.read()?;
        say(&self.progress, out.trim_end());
        let json: serde_json::Value =
            serde_json::from_str(out.trim()).with_context(|| format!("latency printed {out:?}, not JSON"))?;

        self.progress.suspend(|| -> Result<()> {
            server.stop()?;
            drop(address);
            Ok(())
        })?;
        Ok(Sample { config: config.name, stack, round, hgrm, json })
    }
}

/// Colours of the stacks on the charts.
fn color(stack: EchoStack) -> RGBColor {
    match stack {
        EchoStack::SluiceBusy => RGBColor(31, 119, 180),
        EchoStack::SluiceAdaptive => RGBColor(44, 160, 44),
        EchoStack::Kernel => RGBColor(214, 39, 40),
    }
}

/// Runs `configs` and writes the results under `results` (bench/results/ for a full run).
pub fn run(root: &Path, options: &Options, configs: &[Config], results: &Path) -> Result<()> {
    tools::require_root("bench latency (it creates network namespaces and attaches XDP)")?;
    if !(options.secs > 0.0 && options.warmup >= 0.0) {
        bail!("--secs must be > 0 and --warmup >= 0");
    }
    tools::ensure_apt(&tools::build_deps())?;
    tools::ensure_apt(lab::TOOLS)?;
    Cmd::cargo().args(["build", "--release", "-p", "sluice", "-p", "sluice-bench", "--bins"]).run()?;
    let release = target_dir(root).join("release");
    for program in ["sluice", "kernel_echo", "latency"] {
        if !release.join(program).is_file() {
            bail!("cargo built the release binaries but {} does not exist", release.join(program).display());
        }
    }
    let stem = format!("latency-{}", result_file::today()?);
    let files = results.join(&stem);
    let logs = target_dir(root).join("latency-bench");
    for dir in [&files, &logs] {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }

    let mut stacks = vec![EchoStack::SluiceBusy, EchoStack::Kernel];
    if options.adaptive {
        stacks.push(EchoStack::SluiceAdaptive);
    }
    let runs = configs.len() * stacks.len() * options.rounds as usize;
    let progress = progress::bar(runs);

    let load_before = load_average();
    let lab = Lab::up(&options.netns_prefix)?;
    let run = Run {
        options,
        release,
        logs,
        files: files.clone(),
        stack_ns: lab.stack_ns(),
        peer_ns: lab.peer_ns(),
        control: lab.control_socket(),
        progress: progress.clone(),
    };
    let mut samples = Vec::new();
    for config in configs {
        for round in 1..=options.rounds {
            for &stack in &stacks {
                progress.set_message(format!(
                    "{}, {}, round {round}/{}",
                    config.title,
                    stack.label(),
                    options.rounds
                ));
                samples.push(run.round(config, stack, round)?);
                progress.inc(1);
            }
        }
    }
    drop(lab);
    progress.finish_with_message("done");
    let load = format!("{load_before} before, {} after", load_average());

    let mut charts = Vec::new();
    for config in configs {
        let chart = files.join(format!("{}.svg", config.name));
        chart_of(config, &samples, &chart)?;
        charts.push(chart);
    }
    let machine = Machine::describe(root)?;
    let header = format!(
        "`{}` (as root) at commit {}, Linux {}, {} CPUs ({}), load average {load}.",
        command_line(),
        machine.commit,
        machine.kernel,
        machine.cpus,
        machine.cpu_model
    );
    let report = report(&header, options, configs, &stacks, &samples, results, &charts);
    println!("\n{report}");
    let md = results.join(format!("{stem}.md"));
    std::fs::write(&md, report).with_context(|| format!("could not write {}", md.display()))?;
    let json_path = results.join(format!("{stem}.json"));
    let json = json!({
        "command": command_line(),
        "commit": machine.commit,
        "kernel": machine.kernel,
        "cpus": machine.cpus,
        "cpu_model": machine.cpu_model,
        "load_average": load,
        "server_core": SERVER_CORE,
        "client_core": CLIENT_CORE,
        "message_size": MESSAGE_SIZE,
        "secs": options.secs,
        "warmup": options.warmup,
        "runs": samples.iter().map(|s| json!({
            "config": s.config,
            "stack": s.stack.slug(),
            "round": s.round,
            "hgrm": relative(&s.hgrm, results),
            "result": s.json,
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&json).expect("a JSON value serialises");
    std::fs::write(&json_path, text + "\n")
        .with_context(|| format!("could not write {}", json_path.display()))?;
    println!(
        "written: {}, {}, charts and .hgrm files in {}",
        md.display(),
        json_path.display(),
        files.display()
    );
    Ok(())
}

/// `path` relative to `base` when inside it, for links in the summary.
fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// One chart with every run of `config`: one line per run, one colour per stack.
fn chart_of(config: &Config, samples: &[Sample], path: &Path) -> Result<()> {
    let runs: Vec<(&Sample, Vec<Point>)> = samples
        .iter()
        .filter(|s| s.config == config.name)
        .map(|s| {
            let text = std::fs::read_to_string(&s.hgrm)
                .with_context(|| format!("could not read {}", s.hgrm.display()))?;
            let points =
                latency_chart::parse_hgrm(&text).with_context(|| format!("in {}", s.hgrm.display()))?;
            Ok((s, points))
        })
        .collect::<Result<_>>()?;
    let series: Vec<Series<'_>> = runs
        .iter()
        .filter(|(_, points)| !points.is_empty())
        .map(|(s, points)| Series { label: s.stack.label(), color: color(s.stack), points })
        .collect();
    let title = format!("Echo latency by percentile: {}, {MESSAGE_SIZE} B", config.title);
    latency_chart::draw(path, &title, &series)
}

/// The markdown summary.
fn report(
    header: &str,
    options: &Options,
    configs: &[Config],
    stacks: &[EchoStack],
    samples: &[Sample],
    results: &Path,
    charts: &[PathBuf],
) -> String {
    use std::fmt::Write;
    let of = |config: &str, stack: EchoStack| -> Vec<&Sample> {
        samples.iter().filter(|s| s.config == config && s.stack == stack).collect()
    };
    let mut out = String::new();
    let w = &mut out;
    // Writing into a String cannot fail.
    writeln!(w, "# Echo latency: Sluice against the kernel stack\n").unwrap();
    writeln!(w, "{header}\n").unwrap();
    writeln!(
        w,
        "veth pair, 1 queue, MTU 1500; Sluice in copy mode (AF_XDP on veth) with `--poll busy`; the \
         kernel baseline is `kernel_echo` (one epoll thread). Servers pinned to core {SERVER_CORE}, the \
         client (`latency`: one epoll thread, {MESSAGE_SIZE}-byte requests) to core {CLIENT_CORE}. \
         Servers alternate round by round; each run: a fresh server, {} s warm-up, {} s measured. \
         Closed loop: each connection sends its next request when the echo is back. Open loop: \
         requests on a fixed timeline, latency from each request's scheduled time (coordinated \
         omission corrected). Figures in µs: median of {} rounds (min–max).\n",
        options.warmup, options.secs, options.rounds
    )
    .unwrap();
    for (config, chart) in configs.iter().zip(charts) {
        writeln!(w, "## {}\n", config.title).unwrap();
        writeln!(w, "![{}]({})\n", config.title, relative(chart, results)).unwrap();
        write!(w, "| stack |").unwrap();
        for (_, title) in PERCENTILES {
            write!(w, " {title} |").unwrap();
        }
        writeln!(w, " responses/s | errors | lost |").unwrap();
        writeln!(w, "|---|{}", "---:|".repeat(PERCENTILES.len() + 3)).unwrap();
        for &stack in stacks {
            let runs = of(config.name, stack);
            let figures = |key: &str| runs.iter().map(|s| s.figure(key)).collect::<Vec<f64>>();
            write!(w, "| {} |", stack.label()).unwrap();
            for (key, _) in PERCENTILES {
                write!(w, " {} |", shown_spread(&figures(key), 1)).unwrap();
            }
            let total = |key: &str| figures(key).iter().sum::<f64>();
            writeln!(
                w,
                " {} | {} | {} |",
                shown_spread(&figures("responses_per_sec"), 0),
                total("errors"),
                total("lost")
            )
            .unwrap();
        }
        for &stack in stacks.iter().filter(|&&s| s != EchoStack::Kernel) {
            write!(w, "| **{} / kernel** |", stack.label()).unwrap();
            for (key, _) in PERCENTILES {
                // Round i of one against round i of the other, run back to back.
                let ratios: Vec<f64> = of(config.name, stack)
                    .iter()
                    .zip(of(config.name, EchoStack::Kernel))
                    .map(|(s, k)| s.figure(key) / k.figure(key))
                    .collect();
                let (median, min, max) = spread(&ratios);
                write!(w, " **{median:.2}×** ({min:.2}–{max:.2}) |").unwrap();
            }
            writeln!(w, " | | |").unwrap();
        }
        writeln!(w).unwrap();
    }
    writeln!(w, "Ratios below 1 mean Sluice answered faster at that percentile.\n").unwrap();
    writeln!(w, "<details><summary>Every run, as `latency` printed it</summary>\n").unwrap();
    writeln!(w, "```text").unwrap();
    for s in samples {
        writeln!(w, "{:<14} {:<24} r{} {}", s.config, s.stack.label(), s.round, s.json).unwrap();
    }
    writeln!(w, "```\n\n</details>").unwrap();
    out
}
