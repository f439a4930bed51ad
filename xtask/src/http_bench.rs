//! `cargo xtask bench http`: HTTP requests per second and latency under wrk, Sluice's HTTP
//! echo on AF_XDP against the same application on the kernel stack and against nginx, in
//! one run (issue 5, item 2).
//!
//! On a veth lab of its own, for each load (keep-alive at 1, 16, 64, 256 and 1024
//! connections, then `Connection: close` for connections per second), it alternates the
//! servers round by round (Sluice, kernel, nginx, Sluice, ...), each a fresh process pinned
//! to core 0; wrk runs in the peer namespace pinned to core 1, one thread
//! (../shared/DESIGN.md, "Measuring fairly on a 2-core machine"). Every server answers
//! with the same body: Sluice's `--body-size N` bytes, fetched once with curl before the
//! rounds and written into nginx's `return 200`. The table goes to stdout, and with the
//! machine, versions and every round to bench/results/http-DATE.md and .json.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::cmd::Cmd;
use crate::echo_bench;
use crate::lab::{self, KernelAddress, Lab, Readiness, Server, SERVER_CORE};
use crate::netns;
use crate::nginx;
use crate::perf::target_dir;
use crate::result_file::{self, shown_spread, Machine};
use crate::tools::{self, AptTool, Provides};
use crate::veth;
use crate::wrk::{self, Errors, Load};

/// Options of `cargo xtask bench http` besides the shared round options.
#[derive(Args, Debug)]
pub struct HttpOptions {
    /// http: keep-alive connection counts, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "1,16,64,256,1024",
          value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub connections: Vec<u32>,
    /// http: connections of the `Connection: close` run (connections per second); 0 leaves it out.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub close_connections: u32,
    /// http: bytes in every response body (`http-echo --body-size`).
    #[arg(long, value_name = "N", default_value_t = 13)]
    pub body_size: u32,
}

/// The HTTP port every server listens on.
pub const PORT: u16 = 8080;

/// What the HTTP benchmarks run besides cargo and the lab's tools.
pub const HTTP_TOOLS: &[AptTool] = &[
    AptTool { package: "curl", provides: Provides::Program("curl"), why: "to fetch each server's response" },
    wrk::WRK,
];

/// A server under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stack {
    /// `sluice serve http-echo`: AF_XDP, busy poll.
    Sluice,
    /// `sluice serve --stack kernel http-echo`: the same application on epoll.
    Kernel,
    /// nginx from Debian, one worker.
    Nginx,
}

impl Stack {
    pub fn label(self) -> &'static str {
        match self {
            Stack::Sluice => "Sluice (AF_XDP, busy poll)",
            Stack::Kernel => "Sluice's app, kernel stack",
            Stack::Nginx => "nginx",
        }
    }

    /// A short name for files and JSON.
    pub fn key(self) -> &'static str {
        match self {
            Stack::Sluice => "sluice",
            Stack::Kernel => "kernel",
            Stack::Nginx => "nginx",
        }
    }
}

/// How wrk loads a server.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// This many keep-alive connections.
    KeepAlive(u32),
    /// This many connections, each closed after one request (`Connection: close`).
    Close(u32),
}

impl Mode {
    pub fn connections(self) -> u32 {
        match self {
            Mode::KeepAlive(n) | Mode::Close(n) => n,
        }
    }

    fn close(self) -> bool {
        matches!(self, Mode::Close(_))
    }

    fn label(self) -> String {
        match self {
            Mode::KeepAlive(n) => n.to_string(),
            Mode::Close(n) => format!("{n}, close"),
        }
    }
}

/// What one run measures.
pub struct Plan {
    pub stacks: Vec<Stack>,
    pub modes: Vec<Mode>,
    pub rounds: u32,
    pub secs: f64,
    pub warmup: f64,
    pub body_size: u32,
}

/// One round: one server under one load.
pub struct Sample {
    pub stack: Stack,
    pub mode: Mode,
    pub round: u32,
    pub report: wrk::Report,
}

/// The response each server gave to `GET /`, fetched with curl before the rounds.
pub struct Probe {
    pub stack: Stack,
    /// Status line and header fields, as received.
    pub head: String,
    pub body: Vec<u8>,
}

impl Probe {
    pub fn content_type(&self) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type").then(|| value.trim())
        })
    }
}

/// The release binaries, the lab and the files one run shares.
pub struct Session<'a> {
    pub release: PathBuf,
    pub logs: PathBuf,
    pub lab: &'a Lab,
    pub report_script: PathBuf,
    pub progress: ProgressBar,
}

impl Session<'_> {
    /// Prints a line above the progress bar (or plainly when there is none).
    pub fn say(&self, text: &str) {
        if self.progress.is_hidden() {
            println!("{text}");
        } else {
            self.progress.println(text);
        }
    }

    fn url(&self) -> String {
        format!("http://{}:{PORT}/", lab::stack_ip())
    }

    fn start(&self, stack: Stack, plan: &Plan, body: Option<&Probe>, name: &str) -> Result<Server> {
        let log = self.logs.join(format!("{}-{name}.log", stack.key()));
        let shown_log = log.display().to_string();
        let server = match stack {
            Stack::Sluice | Stack::Kernel => {
                let args = sluice_args(stack, self.lab, Some(plan.body_size));
                let sluice = self.release.join("sluice");
                Server::start(&self.lab.stack_ns(), &sluice, &args, log, Readiness::PrintsReady)?
            }
            Stack::Nginx => {
                let sluice = body.context("nginx needs Sluice's response to copy")?;
                let content_type = sluice.content_type().context("Sluice's response has no Content-Type")?;
                let response = nginx::Response {
                    port: PORT,
                    body: &sluice.body,
                    content_type,
                    max_connections: plan.modes.iter().map(|m| m.connections()).max().unwrap_or(1) + 64,
                };
                nginx::start(&self.lab.stack_ns(), &self.logs.join("nginx"), &response, log)?
            }
        };
        println!("$ {} > {shown_log} 2>&1", server.shown());
        Ok(server)
    }

    /// Fetches `GET /` from each stack once; fails unless all send the same body.
    pub fn probe(&self, plan: &Plan) -> Result<Vec<Probe>> {
        let mut probes: Vec<Probe> = Vec::new();
        for &stack in &plan.stacks {
            let probe = self.progress.suspend(|| -> Result<Probe> {
                let _address = kernel_address(self.lab, stack)?;
                let server = self.start(stack, plan, probes.first(), "probe")?;
                let raw = netns::exec(&self.lab.peer_ns(), "curl")
                    .args(["--silent", "--show-error", "--include", "--max-time", "5"])
                    .arg(self.url())
                    .read()
                    .with_context(|| format!("{} did not answer GET /", stack.label()))?;
                server.stop()?;
                let (head, body) = raw
                    .split_once("\r\n\r\n")
                    .with_context(|| format!("{} sent no header end: {raw:?}", stack.label()))?;
                Ok(Probe { stack, head: head.to_owned(), body: body.as_bytes().to_vec() })
            })?;
            if let Some(first) = probes.first() {
                if probe.body != first.body {
                    bail!(
                        "{} answered the body {:?} but {} answered {:?}: the comparison would not be fair",
                        probe.stack.label(),
                        String::from_utf8_lossy(&probe.body),
                        first.stack.label(),
                        String::from_utf8_lossy(&first.body)
                    );
                }
            } else if probe.body.len() != plan.body_size as usize {
                bail!(
                    "{} answered a body of {} bytes to `--body-size {}`: {:?}",
                    probe.stack.label(),
                    probe.body.len(),
                    plan.body_size,
                    String::from_utf8_lossy(&probe.body)
                );
            }
            probes.push(probe);
        }
        Ok(probes)
    }

    fn load<'u>(&self, url: &'u str, mode: Mode, secs: f64) -> Load<'u> {
        Load {
            url,
            connections: mode.connections(),
            secs,
            close: mode.close(),
            script: self.report_script.clone(),
            script_args: Vec::new(),
        }
    }

    /// One round: a fresh server, `plan.warmup` s of load thrown away, `plan.secs` measured.
    fn round(&self, stack: Stack, mode: Mode, round: u32, plan: &Plan, sluice: &Probe) -> Result<Sample> {
        let name =
            format!("{}c{}-round{round}", mode.connections(), if mode.close() { "-close" } else { "" });
        let url = self.url();
        let (address, mut server) = self.progress.suspend(|| -> Result<_> {
            let address = kernel_address(self.lab, stack)?;
            let server = self.start(stack, plan, Some(sluice), &name)?;
            Ok((address, server))
        })?;
        self.progress.set_message(format!("{}, {} connections", stack.label(), mode.label()));
        if plan.warmup > 0.0 {
            self.load(&url, mode, plan.warmup).run(&self.lab.peer_ns())?;
        }
        let load = self.load(&url, mode, plan.secs);
        let report =
            load.run(&self.lab.peer_ns()).with_context(|| format!("wrk against {} failed", stack.label()))?;
        if server.exited() {
            bail!("{} exited during the round{}", stack.label(), server.log_tail());
        }
        self.progress.suspend(|| server.stop())?;
        drop(address);
        self.progress.inc(1);
        let p999 = report.p999_us.map_or_else(|| "–".to_owned(), |p| format!("{p:.0}"));
        self.say(&format!(
            "{:<28} {:>12} conns  round {round}/{}: {:>9.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  \
             p99.9 {p999:>6} µs  socket errors {}  non-2xx {}",
            stack.label(),
            mode.label(),
            plan.rounds,
            report.requests_per_sec,
            report.p50_us,
            report.p99_us,
            report.errors.socket(),
            report.errors.status,
        ));
        Ok(Sample { stack, mode, round, report })
    }

    /// Every round of the plan: per load, per round, the stacks in turn.
    pub fn measure(&self, plan: &Plan, sluice: &Probe) -> Result<Vec<Sample>> {
        self.progress.set_length(u64::from(plan.rounds) * (plan.modes.len() * plan.stacks.len()) as u64);
        let mut samples = Vec::new();
        for &mode in &plan.modes {
            for round in 1..=plan.rounds {
                for &stack in &plan.stacks {
                    samples.push(self.round(stack, mode, round, plan, sluice)?);
                }
            }
        }
        self.progress.finish_and_clear();
        Ok(samples)
    }
}

/// `sluice serve` with its HTTP echo on the lab, pinned to the server core: on AF_XDP with
/// busy polling, or (`Stack::Kernel`) the same application on the kernel stack. Without
/// `body_size`, it echoes request bodies.
pub fn sluice_args(stack: Stack, lab: &Lab, body_size: Option<u32>) -> Vec<String> {
    let mut args = vec!["serve".to_owned()];
    if stack == Stack::Kernel {
        args.extend(["--stack", "kernel"].map(str::to_owned));
    }
    args.extend(
        ["--iface", veth::STACK_IF, "--addr", veth::STACK_ADDR, "--cores", SERVER_CORE].map(str::to_owned),
    );
    if stack != Stack::Kernel {
        args.extend(["--poll".to_owned(), "busy".to_owned(), "--control".to_owned(), lab.control_socket()]);
    }
    args.extend(["http-echo", "--port", &PORT.to_string()].map(str::to_owned));
    if let Some(size) = body_size {
        args.extend(["--body-size".to_owned(), size.to_string()]);
    }
    args
}

/// The kernel holds Sluice's address while the kernel stack or nginx serves.
fn kernel_address(lab: &Lab, stack: Stack) -> Result<Option<KernelAddress>> {
    match stack {
        Stack::Sluice => Ok(None),
        Stack::Kernel | Stack::Nginx => KernelAddress::add(&lab.stack_ns()).map(Some),
    }
}

/// A progress bar with the elapsed time, rounds done and an estimate of what is left;
/// hidden when stderr is not a terminal.
pub fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} rounds, about {eta} left: {msg}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Builds the release binaries, installs the tools, raises the open files limit and
/// checks the wrk scripts: what a run needs before the lab.
pub fn prepare(root: &Path, plan: &Plan) -> Result<(PathBuf, PathBuf)> {
    tools::ensure_apt(&tools::build_deps())?;
    tools::ensure_apt(lab::TOOLS)?;
    tools::ensure_apt(HTTP_TOOLS)?;
    if plan.stacks.contains(&Stack::Nginx) {
        tools::ensure_apt(&[nginx::NGINX])?;
    }
    let max_connections = plan.modes.iter().map(|m| m.connections()).max().unwrap_or(1);
    lab::raise_open_files(u64::from(max_connections) * 2 + 256)?;
    Cmd::cargo().args(["build", "--release", "-p", "sluice", "--bin", "sluice"]).run()?;
    let release = target_dir(root).join("release");
    if !release.join("sluice").is_file() {
        bail!("cargo built sluice in release but {} does not exist", release.join("sluice").display());
    }
    let script = wrk::script(root, wrk::REPORT_SCRIPT)?;
    Ok((release, script))
}

pub fn run(root: &Path, shared: &echo_bench::Options, options: &HttpOptions) -> Result<()> {
    tools::require_root("bench http (it creates network namespaces and attaches XDP)")?;
    if !(shared.secs > 0.0 && shared.warmup >= 0.0) {
        bail!("--secs must be > 0 and --warmup >= 0");
    }
    if options.connections.is_empty() && options.close_connections == 0 {
        bail!("nothing to measure: give --connections or a --close-connections above 0");
    }
    let mut modes: Vec<Mode> = options.connections.iter().map(|&n| Mode::KeepAlive(n)).collect();
    if options.close_connections > 0 {
        modes.push(Mode::Close(options.close_connections));
    }
    let plan = Plan {
        stacks: vec![Stack::Sluice, Stack::Kernel, Stack::Nginx],
        modes,
        rounds: shared.rounds,
        secs: shared.secs,
        warmup: shared.warmup,
        body_size: options.body_size,
    };
    let (release, report_script) = prepare(root, &plan)?;
    let logs = target_dir(root).join("http-bench");
    std::fs::create_dir_all(&logs).with_context(|| format!("could not create {}", logs.display()))?;

    let load_before = result_file::load_average();
    let lab = Lab::up(&shared.netns_prefix)?;
    let session = Session { release, logs, lab: &lab, report_script, progress: progress_bar() };
    let probes = session.probe(&plan)?;
    let samples = session.measure(&plan, &probes[0])?;
    drop(session);
    drop(lab);
    let load = format!("{load_before} before, {} after", result_file::load_average());

    let machine = Machine::describe(root)?;
    let versions = Versions::read();
    let markdown = markdown(&machine, &versions, &load, &plan, &probes, &samples);
    println!("\n{markdown}");
    let stem = result_file::results_dir(root)?.join(format!("http-{}", result_file::today()?));
    let md_path = stem.with_extension("md");
    std::fs::write(&md_path, &markdown).with_context(|| format!("could not write {}", md_path.display()))?;
    let json_path = stem.with_extension("json");
    let json = results_json(&machine, &versions, &load, &plan, &probes, &samples);
    let text = serde_json::to_string_pretty(&json).expect("a JSON value serialises");
    std::fs::write(&json_path, text + "\n")
        .with_context(|| format!("could not write {}", json_path.display()))?;
    println!("written to {} and {}", md_path.display(), json_path.display());
    Ok(())
}

/// The versions of what was measured.
struct Versions {
    nginx: String,
    wrk: String,
}

impl Versions {
    fn read() -> Versions {
        Versions { nginx: nginx::version(), wrk: wrk::version() }
    }
}

fn of(samples: &[Sample], stack: Stack, mode: Mode) -> impl Iterator<Item = &Sample> {
    samples.iter().filter(move |s| s.stack == stack && s.mode == mode)
}

/// `stack`'s figure over `base`'s, round by round (round i against round i, run back to
/// back): median (min–max); `–` when either stack was not measured.
fn ratio(samples: &[Sample], stack: Stack, base: Stack, mode: Mode, figure: fn(&Sample) -> f64) -> String {
    let ratios: Vec<f64> =
        of(samples, stack, mode).zip(of(samples, base, mode)).map(|(s, b)| figure(s) / figure(b)).collect();
    if ratios.is_empty() {
        return "–".to_owned();
    }
    format!("{}×", shown_spread(&ratios, 2))
}

fn median(samples: &[Sample], stack: Stack, mode: Mode, figure: fn(&Sample) -> f64) -> Option<f64> {
    let values: Vec<f64> = of(samples, stack, mode).map(figure).collect();
    (!values.is_empty()).then(|| result_file::spread(&values).0)
}

fn requests(s: &Sample) -> f64 {
    s.report.requests_per_sec
}

fn p99(s: &Sample) -> f64 {
    s.report.p99_us
}

/// The results table and the ratios, in markdown (shared with the demo).
pub fn tables(plan: &Plan, samples: &[Sample]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let w = &mut out;
    writeln!(
        w,
        "| stack | connections | requests/s | p50 µs | p99 µs | p99.9 µs | socket errors (connect/read/write/timeout) | non-2xx |"
    )
    .unwrap();
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for &mode in &plan.modes {
        for &stack in &plan.stacks {
            let rounds: Vec<&Sample> = of(samples, stack, mode).collect();
            let figure = |f: fn(&Sample) -> f64| rounds.iter().map(|s| f(s)).collect::<Vec<f64>>();
            let mut errors = Errors::default();
            rounds.iter().for_each(|s| errors.add(&s.report.errors));
            let p999: Vec<f64> = rounds.iter().filter_map(|s| s.report.p999_us).collect();
            writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {}/{}/{}/{} | {} |",
                stack.label(),
                mode.label(),
                shown_spread(&figure(requests), 0),
                shown_spread(&figure(|s| s.report.p50_us), 0),
                shown_spread(&figure(p99), 0),
                shown_spread(&p999, 0),
                errors.connect,
                errors.read,
                errors.write,
                errors.timeout,
                errors.status,
            )
            .unwrap();
        }
    }
    writeln!(w).unwrap();
    writeln!(
        w,
        "Ratios round by round, median (min–max): above 1 is better for requests/s, below 1 for p99."
    )
    .unwrap();
    writeln!(w).unwrap();
    let others: Vec<Stack> = plan.stacks.iter().copied().filter(|&s| s != Stack::Sluice).collect();
    let mut header = "| connections |".to_owned();
    let mut rule = "|---:|".to_owned();
    for figure in ["requests/s", "p99"] {
        for &other in &others {
            header.push_str(&format!(" {figure} Sluice/{} |", other.key()));
            rule.push_str("---:|");
        }
    }
    writeln!(w, "{header}").unwrap();
    writeln!(w, "{rule}").unwrap();
    for &mode in &plan.modes {
        let mut row = format!("| {} |", mode.label());
        for figure in [requests as fn(&Sample) -> f64, p99] {
            for &other in &others {
                row.push_str(&format!(" {} |", ratio(samples, Stack::Sluice, other, mode, figure)));
            }
        }
        writeln!(w, "{row}").unwrap();
    }
    out
}

/// Issue 5's targets, measured, not asserted: met or not, with the figures.
fn targets(plan: &Plan, samples: &[Sample]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut check =
        |what: &str, mode: Mode, base: Stack, figure: fn(&Sample) -> f64, goal: f64, above: bool| {
            let (Some(s), Some(b)) =
                (median(samples, Stack::Sluice, mode, figure), median(samples, base, mode, figure))
            else {
                lines.push(format!("- {what}: not measured in this run"));
                return;
            };
            let r = s / b;
            let met = if above { r >= goal } else { r <= goal };
            lines.push(format!(
                "- {what}: {} (Sluice {s:.0}, {} {b:.0}, ratio of medians {r:.2})",
                if met { "met" } else { "NOT met" },
                base.key()
            ));
        };
    let keep64 = Mode::KeepAlive(64);
    let keep1 = Mode::KeepAlive(1);
    check("64 connections: at least 2× nginx's requests/s", keep64, Stack::Nginx, requests, 2.0, true);
    check("1 connection: p99 at most half the kernel stack's", keep1, Stack::Kernel, p99, 0.5, false);
    if let Some(close) = plan.modes.iter().copied().find(|m| m.close()) {
        check("connections/s at least 3× the kernel stack's", close, Stack::Kernel, requests, 3.0, true);
    }
    lines
}

fn markdown(
    machine: &Machine,
    versions: &Versions,
    load: &str,
    plan: &Plan,
    probes: &[Probe],
    samples: &[Sample],
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# HTTP: Sluice against its app on the kernel stack and nginx").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "`{}` (as root) at commit {}.", result_file::command_line(), machine.commit).unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "- Machine: {}, {} CPUs, Linux {}, load average {load}.",
        machine.cpu_model, machine.cpus, machine.kernel
    )
    .unwrap();
    writeln!(w, "- {}; {}.", versions.nginx, versions.wrk).unwrap();
    writeln!(
        w,
        "- veth pair, 1 queue, MTU 1500; Sluice in copy mode (AF_XDP on veth). Servers pinned to core \
         {SERVER_CORE}, wrk (`-t1 --latency`, bench/wrk/report.lua) to core {}. Servers alternate round \
         by round, a fresh process each round: {} s of wrk thrown away, then {} s measured. Figures: \
         median of {} rounds (min–max); errors summed over the rounds.",
        lab::CLIENT_CORE,
        plan.warmup,
        plan.secs,
        plan.rounds
    )
    .unwrap();
    writeln!(w).unwrap();
    w.push_str(&tables(plan, samples));
    writeln!(w).unwrap();
    writeln!(w, "Targets (issue 5):").unwrap();
    writeln!(w).unwrap();
    for line in targets(plan, samples) {
        writeln!(w, "{line}").unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "Each server's answer to `GET /` (the body is the same {} bytes):", plan.body_size).unwrap();
    writeln!(w).unwrap();
    for probe in probes {
        let size = probe.head.len() + 4 + probe.body.len();
        writeln!(w, "{} ({size} bytes):", probe.stack.label()).unwrap();
        writeln!(w).unwrap();
        writeln!(w, "```http").unwrap();
        writeln!(w, "{}", probe.head.replace("\r\n", "\n")).unwrap();
        writeln!(w, "```").unwrap();
        writeln!(w).unwrap();
    }
    writeln!(w, "Every round is in the JSON file of the same name.").unwrap();
    out
}

fn errors_json(errors: &Errors) -> Value {
    json!({
        "connect": errors.connect,
        "read": errors.read,
        "write": errors.write,
        "timeout": errors.timeout,
        "status": errors.status,
    })
}

fn results_json(
    machine: &Machine,
    versions: &Versions,
    load: &str,
    plan: &Plan,
    probes: &[Probe],
    samples: &[Sample],
) -> Value {
    let mode_json = |mode: Mode| json!({ "connections": mode.connections(), "close": mode.close() });
    json!({
        "benchmark": "http",
        "command": result_file::command_line(),
        "machine": {
            "commit": machine.commit,
            "kernel": machine.kernel,
            "cpus": machine.cpus,
            "cpu_model": machine.cpu_model,
            "load_average": load,
        },
        "versions": { "nginx": versions.nginx, "wrk": versions.wrk },
        "plan": {
            "server_core": SERVER_CORE,
            "client_core": lab::CLIENT_CORE,
            "rounds": plan.rounds,
            "secs": plan.secs,
            "warmup_secs": plan.warmup,
            "body_size": plan.body_size,
            "stacks": plan.stacks.iter().map(|s| s.key()).collect::<Vec<_>>(),
            "modes": plan.modes.iter().map(|&m| mode_json(m)).collect::<Vec<_>>(),
        },
        "responses": probes.iter().map(|p| json!({
            "stack": p.stack.key(),
            "head": p.head,
            "body": String::from_utf8_lossy(&p.body),
        })).collect::<Vec<_>>(),
        "samples": samples.iter().map(|s| json!({
            "stack": s.stack.key(),
            "connections": s.mode.connections(),
            "close": s.mode.close(),
            "round": s.round,
            "requests_per_sec": s.report.requests_per_sec,
            "p50_us": s.report.p50_us,
            "p99_us": s.report.p99_us,
            "p999_us": s.report.p999_us,
            "errors": errors_json(&s.report.errors),
            "wrk_script": s.report.script,
        })).collect::<Vec<_>>(),
    })
}
