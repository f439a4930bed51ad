//! `cargo xtask bench flood`: HTTP under a SYN flood (issue 9). wrk with 64 keep-alive
//! connections against Sluice's HTTP echo and against nginx, each without a flood and
//! under `hping3 -S --flood` from the peer namespace, from one fixed spoofed source and
//! from random spoofed sources (`--rand-source`).
//!
//! One server is alive at a time, a fresh process per round, pinned to core 0; wrk and
//! hping3 both run on core 1 (the machine has two), so under a flood wrk shares its core
//! with hping3: "kept" compares each server with itself, flood against no flood. Both
//! servers route replies through the peer (Sluice `--gateway`, the kernel a default route),
//! as a server on the internet sends SYN-ACKs to spoofed sources towards its router; the
//! peer does not forward, so they go nowhere. Per configuration: requests/s and the ratio
//! to no flood, wrk's errors, the server's RSS (VmRSS) before, at the end and at its peak,
//! SYN cookies sent (Sluice: `syn_cookies_sent` from `sluice stat --json`, "n/a" when the
//! counter does not exist; nginx: the kernel's TcpExtSyncookiesSent from `nstat` in the
//! server namespace), and hping3's packets sent. Markdown and JSON go to
//! bench/results/flood-DATE.{md,json}.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use crate::cmd::Cmd;
use crate::echo_bench;
use crate::http_bench::{self, Mode, Probe, Session, Stack, PORT};
use crate::lab::{self, KernelAddress, Lab, Readiness, Server, CLIENT_CORE, SERVER_CORE};
use crate::netns;
use crate::nginx;
use crate::perf::target_dir;
use crate::result_file::{self, shown_spread, Machine};
use crate::tools::{self, AptTool};
use crate::veth;
use crate::wrk::{self, Errors, Load};

/// Options of `cargo xtask bench flood` besides the shared round options.
#[derive(Args, Debug)]
pub struct FloodOptions {
    /// flood: wrk's keep-alive connections.
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub flood_connections: u32,
    /// flood: seconds the flood runs before wrk starts.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    pub flood_lead: f64,
    /// flood: pace hping3 with `-i uN` (one SYN every N microseconds) instead of
    /// `--flood`, so both servers face the same SYN rate; by default hping3 sends as fast
    /// as its core allows, which depends on how much kernel work each server's SYNs cause
    /// on that core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub flood_interval_us: Option<u32>,
}

pub const HPING3: AptTool = AptTool::program("hping3", "to flood the servers with spoofed SYNs");

/// The fixed spoofed source (TEST-NET-2, RFC 5737): off-link, so replies go to the gateway.
const FIXED_SOURCE: &str = "198.51.100.7";

/// The kernel peer's address: the servers' gateway during the benchmark.
fn peer_ip() -> &'static str {
    veth::PEER_ADDR.split('/').next().expect("PEER_ADDR has a prefix length")
}

/// What hping3 sends while wrk measures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flood {
    None,
    /// `hping3 -S --flood -a FIXED_SOURCE`.
    FixedSource,
    /// `hping3 -S --flood --rand-source`.
    RandomSource,
}

impl Flood {
    const ALL: [Flood; 3] = [Flood::None, Flood::FixedSource, Flood::RandomSource];

    fn label(self) -> &'static str {
        match self {
            Flood::None => "no flood",
            Flood::FixedSource => "SYN flood, fixed source",
            Flood::RandomSource => "SYN flood, random sources",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Flood::None => "none",
            Flood::FixedSource => "fixed-source",
            Flood::RandomSource => "random-source",
        }
    }

    /// hping3's arguments, `None` for no flood: `--flood`, or one SYN every
    /// `interval_us` microseconds.
    fn hping3_args(self, interval_us: Option<u32>) -> Option<Vec<String>> {
        let source: &[&str] = match self {
            Flood::None => return None,
            Flood::FixedSource => &["-a", FIXED_SOURCE],
            Flood::RandomSource => &["--rand-source"],
        };
        let pace = interval_us
            .map_or_else(|| vec!["--flood".to_owned()], |us| vec!["-i".to_owned(), format!("u{us}")]);
        let mut args: Vec<String> = vec!["-S".to_owned()];
        args.extend(pace);
        args.extend(["-p".to_owned(), PORT.to_string()]);
        args.extend(source.iter().map(|s| (*s).to_owned()));
        args.push(lab::stack_ip().to_owned());
        Some(args)
    }
}

/// One round: one server under one flood.
struct Sample {
    stack: Stack,
    flood: Flood,
    round: u32,
    /// wrk's report, or why there is none.
    report: Result<wrk::Report, String>,
    rss_before_kib: Option<u64>,
    rss_after_kib: Option<u64>,
    rss_peak_kib: Option<u64>,
    /// SYN cookies sent during the round; `None` when the server has no such counter.
    syn_cookies: Option<u64>,
    /// hping3's count of packets sent, from its statistics, and their rate.
    flood_packets: Option<(u64, f64)>,
    /// The server was gone at the end of the round.
    server_exited: bool,
    /// How long wrk ran: far beyond `-d` when no connection opens (it then waits out the
    /// kernel's SYN retries, about 130 s).
    wrk_secs: f64,
    /// The CPU wrk used (user + system, which includes the softirq work its sends caused
    /// on its core) per second it ran, in cores: how much of the client core the flood
    /// left it.
    wrk_cpu: Option<f64>,
    /// Sluice: the share of its worker's time spent in loop iterations that did work.
    server_busy: Option<f64>,
}

impl Sample {
    fn requests_per_sec(&self) -> f64 {
        self.report.as_ref().map_or(0.0, |r| r.requests_per_sec)
    }

    fn errors(&self) -> Errors {
        self.report.as_ref().map_or_else(|_| Errors::default(), |r| r.errors)
    }
}

/// hping3 in the peer namespace on the client core, stopped by PID: SIGINT on `stop` (it
/// then prints its statistics), SIGKILL on drop.
struct Flooder {
    child: Child,
    log: PathBuf,
    shown: String,
    started: std::time::Instant,
}

impl Flooder {
    fn start(ns: &str, args: &[String], log: PathBuf) -> Result<Flooder> {
        let shown = format!("ip netns exec {ns} taskset -c {CLIENT_CORE} hping3 {}", args.join(" "));
        let file =
            std::fs::File::create(&log).with_context(|| format!("could not create {}", log.display()))?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "taskset", "-c", CLIENT_CORE, "hping3"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().context("could not reopen the hping3 log")?))
            .stderr(Stdio::from(file))
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;
        let mut flooder = Flooder { child, log, shown, started: std::time::Instant::now() };
        std::thread::sleep(Duration::from_millis(200));
        if let Some(status) = flooder.child.try_wait()? {
            bail!("`{}` exited at once ({status}): {}", flooder.shown, flooder.output());
        }
        Ok(flooder)
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGINT, then hping3's "N packets transmitted" and the packets per second.
    fn stop(mut self) -> Result<Option<(u64, f64)>> {
        let secs = self.started.elapsed().as_secs_f64();
        Cmd::new("kill").args(["-s", "INT", &self.child.id().to_string()]).probe();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.child.try_wait()?.is_none() {
            if std::time::Instant::now() > deadline {
                bail!("`{}` did not exit within 10 s of SIGINT", self.shown);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(packets_transmitted(&self.output()).map(|packets| (packets, packets as f64 / secs)))
    }
}

impl Drop for Flooder {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The count in hping3's `N packets transmitted, M packets received, ...` line.
fn packets_transmitted(text: &str) -> Option<u64> {
    text.lines().find_map(|line| line.split_once(" packets transmitted")?.0.trim().parse().ok())
}

/// CPU seconds (user + system) of this process's reaped children (getrusage(2),
/// RUSAGE_CHILDREN).
fn children_cpu_secs() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage we own; it was zeroed, a valid value, before.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) != 0 {
            return None;
        }
        usage.assume_init()
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// A process's resident set size in KiB (proc(5), the `VmRSS:` line of /proc/PID/status).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()
}

/// Samples a process's RSS every 50 ms until dropped, keeping the largest.
struct RssPeak {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssPeak {
    fn watch(pid: u32) -> RssPeak {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = std::thread::spawn({
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
            move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        });
        RssPeak { stop, peak, thread: Some(thread) }
    }

    fn finish(mut self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Some(self.peak.load(Ordering::Relaxed)).filter(|&kib| kib > 0)
    }
}

impl Drop for RssPeak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The kernel's default route through the peer in the server namespace, for nginx's
/// rounds; removed when dropped (before the address it depends on).
struct KernelRoute {
    ns: String,
}

impl KernelRoute {
    fn add(ns: &str) -> Result<KernelRoute> {
        Cmd::new("ip")
            .args(["-n", ns, "route", "add", "default", "via", peer_ip(), "dev", veth::STACK_IF])
            .run()?;
        Ok(KernelRoute { ns: ns.to_owned() })
    }
}

impl Drop for KernelRoute {
    fn drop(&mut self) {
        // The route goes with the address in any case; this only keeps the order clean.
        let _ = Command::new("ip").args(["-n", &self.ns, "route", "del", "default"]).status();
    }
}

/// A server's counters at one moment.
#[derive(Clone, Copy, Default)]
struct Reading {
    /// SYN cookies sent so far; `None` when the server has no such counter.
    syn_cookies: Option<u64>,
    /// Sluice: microseconds its worker loops spent in iterations that did work.
    busy_us: Option<u64>,
}

/// SYN cookies a server has sent so far: Sluice's `syn_cookies_sent` summed over workers
/// (`None` if its `sluice stat --json` has no such counter), or the kernel's
/// TcpExtSyncookiesSent in the server namespace; and Sluice's loop `busy_us`.
fn read_counters(stack: Stack, release: &Path, lab: &Lab) -> Result<Reading> {
    match stack {
        Stack::Sluice => {
            let control = lab.control_socket();
            let text = Cmd::new(release.join("sluice"))
                .args(["stat", "--control", &control, "--count", "1", "--json"])
                .read()?;
            let snapshot: Value = serde_json::from_str(text.trim())
                .with_context(|| format!("`sluice stat --json` printed {text:?}, not JSON"))?;
            Ok(Reading {
                syn_cookies: sluice_counter(&snapshot, "tcp", "syn_cookies_sent"),
                busy_us: sluice_counter(&snapshot, "worker_loop", "busy_us"),
            })
        }
        Stack::Kernel | Stack::Nginx => {
            let text = netns::exec(&lab.stack_ns(), "nstat").args(["-asz", "TcpExtSyncookiesSent"]).read()?;
            let count = text
                .lines()
                .find_map(|line| line.strip_prefix("TcpExtSyncookiesSent"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok());
            Ok(Reading { syn_cookies: Some(count.unwrap_or(0)), busy_us: None })
        }
    }
}

/// A counter of one section (`tcp`, `worker_loop`...) of a `sluice stat --json` snapshot
/// summed over its workers, `None` when no worker has it.
fn sluice_counter(snapshot: &Value, section: &str, name: &str) -> Option<u64> {
    let workers = snapshot.get("workers")?.as_array()?;
    let mut found = None;
    for worker in workers {
        for pair in worker.get(section).and_then(Value::as_array).into_iter().flatten() {
            if pair.get(0).and_then(Value::as_str) == Some(name) {
                *found.get_or_insert(0) += pair.get(1).and_then(Value::as_u64).unwrap_or(0);
            }
        }
    }
    found
}

struct Bench<'a> {
    session: Session<'a>,
    release: PathBuf,
    plan: http_bench::Plan,
    options: &'a FloodOptions,
    /// Sluice's answer, which nginx copies.
    sluice: Probe,
}

impl Bench<'_> {
    fn lab(&self) -> &Lab {
        self.session.lab
    }

    fn start(&self, stack: Stack, name: &str) -> Result<Server> {
        let log = self.session.logs.join(format!("{}-{name}.log", stack.key()));
        let server = match stack {
            Stack::Sluice | Stack::Kernel => {
                let mut args = http_bench::sluice_args(stack, self.lab(), Some(self.plan.body_size));
                let app = args.iter().position(|a| a == "http-echo").context("sluice_args names the app")?;
                args.splice(app..app, ["--gateway".to_owned(), peer_ip().to_owned()]);
                Server::start(
                    &self.lab().stack_ns(),
                    &self.release.join("sluice"),
                    &args,
                    log,
                    Readiness::PrintsReady,
                )?
            }
            Stack::Nginx => {
                let content_type =
                    self.sluice.content_type().context("Sluice's response has no Content-Type")?;
                let response = nginx::Response {
                    port: PORT,
                    body: &self.sluice.body,
                    content_type,
                    max_connections: self.options.flood_connections + 64,
                };
                nginx::start(&self.lab().stack_ns(), &self.session.logs.join("nginx"), &response, log)?
            }
        };
        self.session.say(&format!("$ {}", server.shown()));
        Ok(server)
    }

    fn load<'u>(&self, url: &'u str, secs: f64) -> Load<'u> {
        Load {
            url,
            connections: self.options.flood_connections,
            secs,
            close: false,
            script: self.session.report_script.clone(),
            script_args: Vec::new(),
        }
    }

    fn round(&self, stack: Stack, flood: Flood, round: u32) -> Result<Sample> {
        let ns = self.lab().stack_ns();
        let kernel = matches!(stack, Stack::Kernel | Stack::Nginx);
        // Declared in this order, dropped in the reverse: the route goes before the address.
        let _address = if kernel { Some(KernelAddress::add(&ns)?) } else { None };
        let _route = if kernel { Some(KernelRoute::add(&ns)?) } else { None };
        let name = format!("{}-round{round}", flood.key());
        let mut server = self.start(stack, &name)?;
        let url = format!("http://{}:{PORT}/", lab::stack_ip());
        if self.plan.warmup > 0.0 {
            self.load(&url, self.plan.warmup).run(&self.lab().peer_ns())?;
        }
        let pid = server.id();
        let rss_before_kib = rss_kib(pid);
        let before = read_counters(stack, &self.release, self.lab())?;
        let counted_from = std::time::Instant::now();
        let peak = RssPeak::watch(pid);
        let flooder = match flood.hping3_args(self.options.flood_interval_us) {
            Some(args) => {
                let log = self.session.logs.join(format!("hping3-{}-{name}.log", stack.key()));
                let flooder = Flooder::start(&self.lab().peer_ns(), &args, log)?;
                if round == 1 {
                    self.session.say(&format!("$ {}", flooder.shown));
                }
                std::thread::sleep(Duration::from_secs_f64(self.options.flood_lead));
                Some(flooder)
            }
            None => None,
        };
        let wrk_started = std::time::Instant::now();
        let cpu_before = children_cpu_secs();
        let report = self.load(&url, self.plan.secs).run_or_failure(&self.lab().peer_ns());
        let wrk_secs = wrk_started.elapsed().as_secs_f64();
        // hping3, the only other child still running, is not yet reaped: the difference
        // is wrk's (`ip netns exec` and `taskset` exec into it).
        let wrk_cpu = children_cpu_secs().zip(cpu_before).map(|(after, before)| (after - before) / wrk_secs);
        let server_exited = server.exited();
        let rss_after_kib = rss_kib(pid);
        // Stopped before the counters are read: a server drowning in the flood may take
        // long to answer `sluice stat`, which must not stretch the flood.
        let flood_packets = match flooder {
            Some(flooder) => flooder.stop()?,
            None => None,
        };
        let counted_secs = counted_from.elapsed().as_secs_f64();
        let after = if server_exited {
            Reading::default()
        } else {
            read_counters(stack, &self.release, self.lab()).unwrap_or_default()
        };
        let rss_peak_kib = peak.finish();
        if server_exited {
            self.session.say(&format!("{} exited during the round{}", stack.label(), server.log_tail()));
        } else {
            server.stop()?;
        }
        let syn_cookies = match (before.syn_cookies, after.syn_cookies) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        let server_busy = match (before.busy_us, after.busy_us) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before) as f64 / 1e6 / counted_secs),
            _ => None,
        };
        let sample = Sample {
            stack,
            flood,
            round,
            report,
            rss_before_kib,
            rss_after_kib,
            rss_peak_kib,
            syn_cookies,
            flood_packets,
            server_exited,
            wrk_secs,
            wrk_cpu,
            server_busy,
        };
        let errors = sample.errors();
        self.session.say(&format!(
            "{:<28} {:<26} round {round}/{}: {:>9.0} req/s  errors c/r/w/t {}/{}/{}/{}  RSS {} -> {} MiB (peak {})  \
             cookies {}{}",
            stack.label(),
            flood.label(),
            self.plan.rounds,
            sample.requests_per_sec(),
            errors.connect,
            errors.read,
            errors.write,
            errors.timeout,
            mib(sample.rss_before_kib),
            mib(sample.rss_after_kib),
            mib(sample.rss_peak_kib),
            sample.syn_cookies.map_or_else(|| "n/a".to_owned(), |n| n.to_string()),
            sample.report.as_ref().err().map_or_else(String::new, |e| format!("  wrk failed: {e}")),
        ));
        Ok(sample)
    }

    fn measure(&self) -> Result<Vec<Sample>> {
        let mut samples = Vec::new();
        for round in 1..=self.plan.rounds {
            for flood in Flood::ALL {
                for &stack in &self.plan.stacks {
                    samples.push(self.round(stack, flood, round)?);
                }
            }
        }
        Ok(samples)
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "–".to_owned(), |k| format!("{:.0}", k as f64 / 1024.0))
}

pub fn run(root: &Path, shared: &echo_bench::Options, body_size: u32, options: &FloodOptions) -> Result<()> {
    tools::require_root("bench flood (it creates network namespaces and attaches XDP)")?;
    if !(shared.secs > 0.0 && shared.warmup >= 0.0 && options.flood_lead >= 0.0) {
        bail!("--secs must be > 0, --warmup and --flood-lead >= 0");
    }
    let plan = http_bench::Plan {
        stacks: vec![Stack::Sluice, Stack::Nginx],
        modes: vec![Mode::KeepAlive(options.flood_connections)],
        rounds: shared.rounds,
        secs: shared.secs,
        warmup: shared.warmup,
        body_size,
    };
    let (release, report_script) = http_bench::prepare(root, &plan)?;
    tools::ensure_apt(&[HPING3])?;
    let logs = target_dir(root).join("flood-bench");
    std::fs::create_dir_all(&logs).with_context(|| format!("could not create {}", logs.display()))?;

    let load_before = result_file::load_average();
    let lab = Lab::up(&shared.netns_prefix)?;
    let progress = indicatif::ProgressBar::hidden();
    let session = Session { release: release.clone(), logs, lab: &lab, report_script, progress };
    let sluice = session.probe(&plan)?.into_iter().next().context("Sluice was probed first")?;
    let bench = Bench { session, release, plan, options, sluice };
    let samples = bench.measure()?;
    let Bench { plan, session, .. } = bench;
    drop(session);
    drop(lab);
    let load = format!("{load_before} before, {} after", result_file::load_average());

    let machine = Machine::describe(root)?;
    let hping3 = hping3_version();
    let markdown = markdown(&machine, &load, &plan, options, &hping3, &samples);
    println!("\n{markdown}");
    let stem = result_file::results_dir(root)?.join(format!("flood-{}", result_file::today()?));
    let md_path = stem.with_extension("md");
    std::fs::write(&md_path, &markdown).with_context(|| format!("could not write {}", md_path.display()))?;
    let json_path = stem.with_extension("json");
    let json = results_json(&machine, &load, &plan, options, &hping3, &samples);
    let text = serde_json::to_string_pretty(&json).expect("a JSON value serialises");
    std::fs::write(&json_path, text + "\n")
        .with_context(|| format!("could not write {}", json_path.display()))?;
    println!("written to {} and {}", md_path.display(), json_path.display());
    Ok(())
}

/// `hping3 --version`'s first line.
fn hping3_version() -> String {
    match Command::new("hping3").arg("--version").output() {
        Ok(output) => {
            String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or("hping3").trim().to_owned()
        }
        Err(err) => format!("hping3 (could not run: {err})"),
    }
}

fn of(samples: &[Sample], stack: Stack, flood: Flood) -> impl Iterator<Item = &Sample> {
    samples.iter().filter(move |s| s.stack == stack && s.flood == flood)
}

/// Requests/s under `flood` over requests/s without, round by round.
fn kept(samples: &[Sample], stack: Stack, flood: Flood) -> Vec<f64> {
    of(samples, stack, flood)
        .zip(of(samples, stack, Flood::None))
        .filter(|(_, calm)| calm.requests_per_sec() > 0.0)
        .map(|(s, calm)| s.requests_per_sec() / calm.requests_per_sec())
        .collect()
}

fn shown_mib(values: &[u64]) -> String {
    let mib: Vec<f64> = values.iter().map(|&k| k as f64 / 1024.0).collect();
    shown_spread(&mib, 0)
}

fn markdown(
    machine: &Machine,
    load: &str,
    plan: &http_bench::Plan,
    options: &FloodOptions,
    hping3: &str,
    samples: &[Sample],
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# HTTP under a SYN flood: Sluice against nginx").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "`{}` (as root) at commit {}.", result_file::command_line(), machine.commit).unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "- Machine: {}, {} CPUs, Linux {}, load average {load}.",
        machine.cpu_model, machine.cpus, machine.kernel
    )
    .unwrap();
    writeln!(w, "- {}; {}; {hping3}.", nginx::version(), wrk::version()).unwrap();
    writeln!(
        w,
        "- veth pair, 1 queue; Sluice in copy mode (AF_XDP on veth), HTTP echo with a {}-byte body, nginx \
         `return 200` with the same bytes. Server pinned to core {SERVER_CORE}, one alive at a time, a fresh \
         process per round; wrk (`-t1 -c{}`, keep-alive) and hping3 both on core {CLIENT_CORE}. Each round: {} s \
         of wrk without a flood thrown away, then the flood starts, {} s later {} s of wrk are measured.",
        plan.body_size, options.flood_connections, plan.warmup, options.flood_lead, plan.secs
    )
    .unwrap();
    writeln!(
        w,
        "- Floods: `hping3 -S {pace} -p {PORT} -a {FIXED_SOURCE}` (fixed spoofed source) and `hping3 -S {pace} \
         -p {PORT} --rand-source`. Both servers route replies via the peer {} (Sluice `--gateway`, the kernel \
         a default route), which does not forward: SYN-ACKs to spoofed sources leave the server and are lost.",
        peer_ip(),
        pace = options.flood_interval_us.map_or_else(|| "--flood".to_owned(), |us| format!("-i u{us}")),
    )
    .unwrap();
    writeln!(
        w,
        "- SYN cookies: Sluice's `syn_cookies_sent` (`sluice stat --json`; n/a: this build has no such counter), \
         nginx's from the kernel's TcpExtSyncookiesSent (`nstat` in the server namespace). RSS: VmRSS of the \
         server process before the flood, at the end of the measurement, and the largest seen (sampled every \
         50 ms). Figures are medians of {} rounds (min–max); errors, cookies and flood packets summed over \
         rounds. On veth the receiving side's kernel work (XDP and the copy to AF_XDP for Sluice, the whole \
         TCP SYN path for nginx) runs in the softirq of the sending core, core {CLIENT_CORE}: hping3 reaches \
         a different rate against each server, shown as flood packets/s, and competes with wrk for that core. \
         `wrk CPU` is the CPU wrk used per second it ran (getrusage of the reaped child, user + system), \
         in cores: what the flood left it of core {CLIENT_CORE}. `server busy` is, for Sluice, the share of \
         its busy-polling worker's time spent in loop iterations that did work (`busy_us` in `sluice stat`), \
         from before the flood to the end of the flood: below 1, the server had time to spare. When no connection opens, wrk runs until \
         the kernel gives up its SYN retries (about 130 s, `wrk ran s`), and the flood lasts as long.",
        plan.rounds
    )
    .unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "| server | flood | requests/s | kept (vs no flood) | wrk errors connect/read/write/timeout | RSS before MiB | RSS after MiB | RSS peak MiB | SYN cookies sent | flood packets sent | flood packets/s | wrk CPU | server busy | wrk ran s |"
    )
    .unwrap();
    writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    let mut failures: Vec<String> = Vec::new();
    for &stack in &plan.stacks {
        for flood in Flood::ALL {
            let rounds: Vec<&Sample> = of(samples, stack, flood).collect();
            if rounds.is_empty() {
                continue;
            }
            let rps: Vec<f64> = rounds.iter().map(|s| s.requests_per_sec()).collect();
            let mut errors = Errors::default();
            rounds.iter().for_each(|s| errors.add(&s.errors()));
            let kept = if flood == Flood::None {
                "1".to_owned()
            } else {
                let k = kept(samples, stack, flood);
                if k.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{}×", shown_spread(&k, 2))
                }
            };
            let collect =
                |f: fn(&Sample) -> Option<u64>| rounds.iter().filter_map(|s| f(s)).collect::<Vec<u64>>();
            let cookies = if rounds.iter().any(|s| s.syn_cookies.is_none()) {
                "n/a".to_owned()
            } else {
                rounds.iter().filter_map(|s| s.syn_cookies).sum::<u64>().to_string()
            };
            let sent: Vec<(u64, f64)> = rounds.iter().filter_map(|s| s.flood_packets).collect();
            let (packets, rate) = if flood == Flood::None || sent.is_empty() {
                ("–".to_owned(), "–".to_owned())
            } else {
                let rates: Vec<f64> = sent.iter().map(|&(_, rate)| rate).collect();
                (sent.iter().map(|&(n, _)| n).sum::<u64>().to_string(), shown_spread(&rates, 0))
            };
            for sample in &rounds {
                if let Err(why) = &sample.report {
                    failures.push(format!(
                        "- {}, {}, round {}: {why}",
                        stack.label(),
                        flood.label(),
                        sample.round
                    ));
                }
            }
            let exited = rounds.iter().filter(|s| s.server_exited).count();
            let failed = rounds.iter().filter(|s| s.report.is_err()).count();
            let mut notes = String::new();
            if exited > 0 {
                notes.push_str(&format!(" (server exited in {exited} round(s))"));
            }
            if failed > 0 {
                notes.push_str(&format!(
                    " (wrk failed in {failed} of {} round(s), counted as 0)",
                    rounds.len()
                ));
            }
            let errors = if failed == rounds.len() {
                "wrk failed, see below".to_owned()
            } else {
                format!("{}/{}/{}/{}", errors.connect, errors.read, errors.write, errors.timeout)
            };
            writeln!(
                w,
                "| {} | {} | {}{notes} | {kept} | {errors} | {} | {} | {} | {cookies} | {packets} | {rate} | {} | {} | {} |",
                stack.label(),
                flood.label(),
                shown_spread(&rps, 0),
                shown_mib(&collect(|s| s.rss_before_kib)),
                shown_mib(&collect(|s| s.rss_after_kib)),
                shown_mib(&collect(|s| s.rss_peak_kib)),
                shown_spread(&rounds.iter().filter_map(|s| s.wrk_cpu).collect::<Vec<_>>(), 2),
                shown_spread(&rounds.iter().filter_map(|s| s.server_busy).collect::<Vec<_>>(), 2),
                shown_spread(&rounds.iter().map(|s| s.wrk_secs).collect::<Vec<_>>(), 0),
            )
            .unwrap();
        }
    }
    writeln!(w).unwrap();
    if !failures.is_empty() {
        writeln!(w, "Rounds where wrk gave no report (its own words):").unwrap();
        writeln!(w).unwrap();
        for line in &failures {
            writeln!(w, "{line}").unwrap();
        }
        writeln!(w).unwrap();
    }
    writeln!(w, "Goal (issue 9), measured, not asserted:").unwrap();
    writeln!(w).unwrap();
    for line in goals(plan, samples) {
        writeln!(w, "{line}").unwrap();
    }
    writeln!(w).unwrap();
    writeln!(w, "Every round is in the JSON file of the same name; logs in target/flood-bench/.").unwrap();
    out
}

/// Issue 9's goal under each flood: Sluice at least 1.5× nginx's requests/s, no wrk
/// errors, RSS growing by less than 64 MiB.
fn goals(plan: &http_bench::Plan, samples: &[Sample]) -> Vec<String> {
    let median = |stack, flood| {
        let values: Vec<f64> = of(samples, stack, flood).map(Sample::requests_per_sec).collect();
        (!values.is_empty()).then(|| result_file::spread(&values).0)
    };
    let mut lines = Vec::new();
    if !(plan.stacks.contains(&Stack::Sluice) && plan.stacks.contains(&Stack::Nginx)) {
        return lines;
    }
    for flood in [Flood::FixedSource, Flood::RandomSource] {
        let (Some(s), Some(n)) = (median(Stack::Sluice, flood), median(Stack::Nginx, flood)) else {
            continue;
        };
        let ratio = if n > 0.0 { s / n } else { f64::INFINITY };
        let mut errors = Errors::default();
        of(samples, Stack::Sluice, flood).for_each(|x| errors.add(&x.errors()));
        let growth_mib = of(samples, Stack::Sluice, flood)
            .filter_map(|x| Some(x.rss_peak_kib?.saturating_sub(x.rss_before_kib?)))
            .max()
            .map(|kib| kib as f64 / 1024.0);
        let failed = of(samples, Stack::Sluice, flood).filter(|x| x.report.is_err()).count();
        let met = ratio >= 1.5 && errors.socket() == 0 && failed == 0 && growth_mib.is_some_and(|g| g < 64.0);
        let errors = if failed > 0 {
            format!("{} (and wrk failed outright in {failed} round(s))", errors.socket())
        } else {
            errors.socket().to_string()
        };
        lines.push(format!(
            "- {}: {} (Sluice {s:.0} req/s, nginx {n:.0}, ratio {ratio:.2}, goal 1.5; Sluice's wrk socket errors {errors}, \
             goal 0; its RSS grew by at most {} MiB, goal < 64)",
            flood.label(),
            if met { "met" } else { "NOT met" },
            growth_mib.map_or_else(|| "–".to_owned(), |g| format!("{g:.0}")),
        ));
    }
    lines
}

fn results_json(
    machine: &Machine,
    load: &str,
    plan: &http_bench::Plan,
    options: &FloodOptions,
    hping3: &str,
    samples: &[Sample],
) -> Value {
    json!({
        "benchmark": "flood",
        "command": result_file::command_line(),
        "machine": {
            "commit": machine.commit,
            "kernel": machine.kernel,
            "cpus": machine.cpus,
            "cpu_model": machine.cpu_model,
            "load_average": load,
        },
        "versions": { "nginx": nginx::version(), "wrk": wrk::version(), "hping3": hping3 },
        "plan": {
            "server_core": SERVER_CORE,
            "client_core": CLIENT_CORE,
            "rounds": plan.rounds,
            "secs": plan.secs,
            "warmup_secs": plan.warmup,
            "flood_lead_secs": options.flood_lead,
            "flood_interval_us": options.flood_interval_us,
            "connections": options.flood_connections,
            "body_size": plan.body_size,
            "port": PORT,
            "fixed_source": FIXED_SOURCE,
            "gateway": peer_ip(),
            "stacks": plan.stacks.iter().map(|s| s.key()).collect::<Vec<_>>(),
            "floods": Flood::ALL.iter().map(|f| json!({
                "key": f.key(),
                "hping3": f.hping3_args(options.flood_interval_us),
            })).collect::<Vec<_>>(),
        },
        "samples": samples.iter().map(|s| {
            let report = s.report.as_ref();
            json!({
                "stack": s.stack.key(),
                "flood": s.flood.key(),
                "round": s.round,
                "requests_per_sec": s.requests_per_sec(),
                "p50_us": report.ok().map(|r| r.p50_us),
                "p99_us": report.ok().map(|r| r.p99_us),
                "errors": errors_json(&s.errors()),
                "wrk_error": report.err(),
                "rss_before_kib": s.rss_before_kib,
                "rss_after_kib": s.rss_after_kib,
                "rss_peak_kib": s.rss_peak_kib,
                "syn_cookies_sent": s.syn_cookies,
                "flood_packets_sent": s.flood_packets.map(|(n, _)| n),
                "flood_packets_per_sec": s.flood_packets.map(|(_, rate)| rate),
                "server_exited": s.server_exited,
                "wrk_secs": s.wrk_secs,
                "wrk_cpu_cores": s.wrk_cpu,
                "server_busy": s.server_busy,
            })
        }).collect::<Vec<_>>(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hping3_statistics_give_the_packets_sent() {
        let text = "HPING 10.0.0.1 (sl1 10.0.0.1): S set, 40 headers + 0 data bytes\n\
                    hping in flood mode, no replies will be shown\n\n\
                    --- 10.0.0.1 hping statistic ---\n\
                    1234567 packets transmitted, 0 packets received, 100% packet loss\n\
                    round-trip min/avg/max = 0.0/0.0/0.0 ms\n";
        assert_eq!(packets_transmitted(text), Some(1_234_567));
        assert_eq!(packets_transmitted("hping in flood mode"), None);
    }

    #[test]
    fn a_counter_sums_over_workers_and_is_none_when_absent() {
        let snapshot = json!({"workers": [
            {"tcp": [["segments_in", 5], ["syn_cookies_sent", 3]]},
            {"tcp": [["syn_cookies_sent", 4]]},
        ]});
        assert_eq!(sluice_counter(&snapshot, "tcp", "syn_cookies_sent"), Some(7));
        assert_eq!(sluice_counter(&snapshot, "tcp", "segments_in"), Some(5));
        assert_eq!(sluice_counter(&snapshot, "tcp", "no_such_counter"), None);
        assert_eq!(sluice_counter(&snapshot, "worker_loop", "segments_in"), None);
    }

    #[test]
    fn floods_name_their_sources() {
        assert_eq!(Flood::None.hping3_args(None), None);
        let fixed = Flood::FixedSource.hping3_args(None).unwrap().join(" ");
        assert_eq!(fixed, format!("-S --flood -p {PORT} -a {FIXED_SOURCE} 10.0.0.1"));
        let random = Flood::RandomSource.hping3_args(None).unwrap().join(" ");
        assert_eq!(random, format!("-S --flood -p {PORT} --rand-source 10.0.0.1"));
        let paced = Flood::FixedSource.hping3_args(Some(20)).unwrap().join(" ");
        assert_eq!(paced, format!("-S -i u20 -p {PORT} -a {FIXED_SOURCE} 10.0.0.1"));
    }
}
