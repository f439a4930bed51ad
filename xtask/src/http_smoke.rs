//! The HTTP smoke test of `cargo xtask test` (issue 5, item 6): Sluice's HTTP echo on a
//! veth lab answers one curl POST with its body, then a few seconds of wrk at 1, 16 and 64
//! connections with every response checked (bench/wrk/check.lua): no socket errors, no
//! timeouts, every status 200 and every body the one sent. Then slowloris (issue 9, item
//! 6): bench/slowloris.py holds connections with a request head that never ends, one byte
//! a second each, while wrk loads 64 connections again; the request-head timeout must
//! close every slow connection, and wrk must keep at least half its rate (a ratio within
//! one run; the machine is shared).

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::http_bench::{self, Stack, PORT};
use crate::lab::{self, Lab, Readiness, Server};
use crate::netns;
use crate::perf::target_dir;
use crate::tools;
use crate::wrk::{self, Load};

/// The lab's namespace prefix (`smoke-a`, `smoke-b`).
pub const NETNS_PREFIX: &str = "smoke";
/// Connection counts loaded.
const CONNECTIONS: [u32; 3] = [1, 16, 64];
/// Seconds of wrk per connection count.
const SECS: f64 = 3.0;
/// The body every request carries and every response must echo.
const BODY: &str = "sluice http smoke: 0123456789 abcdefghijklmnopqrstuvwxyz\n";
/// The server's `--header-timeout`, seconds: short, so slowloris is closed within the step.
const HEADER_TIMEOUT_SECS: f64 = 3.0;
/// Connections slowloris holds.
const SLOW_CONNECTIONS: u32 = 256;
/// wrk's rate beside slowloris, as a fraction of its rate alone, at least.
const SLOWLORIS_MIN_RATIO: f64 = 0.5;

/// What the step says it does, for its banner.
pub fn describe() -> String {
    format!(
        "curl POST and {SECS} s of wrk at {} connections, every response checked, against \
         `sluice serve http-echo` on a veth lab",
        CONNECTIONS.map(|c| c.to_string()).join(", ")
    )
}

pub fn run(root: &Path) -> Result<()> {
    tools::require_root("test (its HTTP smoke step creates network namespaces and attaches XDP)")?;
    tools::ensure_apt(crate::lab::TOOLS)?;
    tools::ensure_apt(http_bench::HTTP_TOOLS)?;
    lab::raise_open_files(1024)?;
    let script = wrk::script(root, wrk::CHECK_SCRIPT)?;
    // The debug build the other steps made: correctness, not speed, is checked here.
    Cmd::cargo().args(["build", "-p", "sluice", "--bin", "sluice"]).run()?;
    let sluice = target_dir(root).join("debug").join("sluice");
    let logs = target_dir(root).join("http-smoke");
    std::fs::create_dir_all(&logs).with_context(|| format!("could not create {}", logs.display()))?;

    let lab = Lab::up(NETNS_PREFIX)?;
    let mut args = http_bench::sluice_args(Stack::Sluice, &lab, None);
    args.extend(["--header-timeout".to_owned(), HEADER_TIMEOUT_SECS.to_string()]);
    let log = logs.join("sluice.log");
    let shown_log = log.display().to_string();
    let mut server = Server::start(&lab.stack_ns(), &sluice, &args, log, Readiness::PrintsReady)?;
    println!("$ {} 2> {shown_log}", server.shown());
    let url = format!("http://{}:{PORT}/", lab::stack_ip());

    let echoed = netns::exec(&lab.peer_ns(), "curl")
        .args(["--silent", "--show-error", "--fail", "--max-time", "5"])
        .args(["--header", "Content-Type: application/octet-stream", "--data-binary", BODY])
        .arg(&url)
        .read()?;
    if echoed != BODY {
        bail!("curl POSTed {BODY:?} but Sluice answered {echoed:?}{}", server.log_tail());
    }
    println!("curl: POST echoed {} bytes", BODY.len());

    let mut alone = 0.0;
    for connections in CONNECTIONS {
        alone = checked_load(&lab, &url, &script, connections, &mut server)?;
    }
    slowloris(root, &sluice, &lab, &url, &script, alone, &mut server)?;
    server.stop()?;
    drop(lab);
    Ok(())
}

/// wrk at `connections` for [`SECS`], every response checked; its requests/s.
fn checked_load(lab: &Lab, url: &str, script: &Path, connections: u32, server: &mut Server) -> Result<f64> {
    let load = Load {
        url,
        connections,
        secs: SECS,
        close: false,
        script: script.to_owned(),
        script_args: vec![BODY.to_owned()],
    };
    println!("$ {}", load.shown(&lab.peer_ns()));
    let report = load.run(&lab.peer_ns())?;
    let check = &report.script;
    println!("{connections:>4} connections: {:.0} requests/s, {check}", report.requests_per_sec);
    let count = |key: &str| check.get(key).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let errors = report.errors;
    if errors.socket() > 0 || errors.status > 0 || count("wrong") > 0 {
        bail!(
            "at {connections} connections wrk saw {} connect, {} read, {} write errors, {} timeouts, \
             {} error statuses and {} wrong responses (first: {}){}",
            errors.connect,
            errors.read,
            errors.write,
            errors.timeout,
            errors.status,
            count("wrong"),
            check.get("first_wrong").and_then(serde_json::Value::as_str).unwrap_or(""),
            server.log_tail()
        );
    }
    if count("responses") == 0 {
        bail!("at {connections} connections wrk got no response in {SECS} s{}", server.log_tail());
    }
    if server.exited() {
        bail!("Sluice exited during the load{}", server.log_tail());
    }
    Ok(report.requests_per_sec)
}

/// Slowloris beside wrk at 64 connections: every slow connection closed by the
/// request-head timeout (and counted in `sluice stat`), wrk at `alone`'s rate or close.
fn slowloris(
    root: &Path,
    sluice: &Path,
    lab: &Lab,
    url: &str,
    script: &Path,
    alone: f64,
    server: &mut Server,
) -> Result<()> {
    let slow_script = root.join("bench").join("slowloris.py");
    let target = format!("{}:{PORT}", lab::stack_ip());
    let slow = netns::exec(&lab.peer_ns(), "python3")
        .arg(&slow_script)
        .args(["--connect", &target, "--connections", &SLOW_CONNECTIONS.to_string()])
        .args(["--interval", "1", "--duration", &(HEADER_TIMEOUT_SECS + SECS + 6.0).to_string()]);
    println!("$ {} &", slow.shown());
    let slow = std::thread::spawn(move || slow.read());
    // Let the slow connections open before wrk starts.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let beside = checked_load(lab, url, script, 64, server)?;
    let report = slow.join().map_err(|_| anyhow::anyhow!("the slowloris thread panicked"))??;
    let report: serde_json::Value = serde_json::from_str(report.trim())
        .with_context(|| format!("bench/slowloris.py printed {report:?}, not JSON"))?;
    println!("slowloris: {report}");
    let field = |key: &str| report.get(key).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    let closed = field("closed") as u32;
    if closed != SLOW_CONNECTIONS {
        bail!(
            "the request-head timeout ({HEADER_TIMEOUT_SECS} s) closed {closed} of {SLOW_CONNECTIONS} slowloris \
             connections{}",
            server.log_tail()
        );
    }
    let last = field("last_close_s");
    if last > HEADER_TIMEOUT_SECS + 2.0 {
        bail!("the last slowloris connection was closed after {last:.1} s, the head timeout is {HEADER_TIMEOUT_SECS} s");
    }
    let timeouts = http_counter(sluice, lab, "http_request_head_timeouts")?;
    if timeouts < u64::from(SLOW_CONNECTIONS) {
        bail!("`sluice stat` counts {timeouts} http_request_head_timeouts after {SLOW_CONNECTIONS} slowloris connections");
    }
    let ratio = beside / alone;
    println!(
        "wrk at 64 connections: {alone:.0} requests/s alone, {beside:.0} beside {SLOW_CONNECTIONS} slowloris \
         connections ({ratio:.2}x); {timeouts} request-head timeouts in sluice stat"
    );
    if ratio < SLOWLORIS_MIN_RATIO {
        bail!("wrk kept only {ratio:.2}x of its rate beside slowloris (at least {SLOWLORIS_MIN_RATIO}x expected)");
    }
    Ok(())
}

/// An APP counter of the HTTP echo, summed over workers, from `sluice stat --json`.
fn http_counter(sluice: &Path, lab: &Lab, name: &str) -> Result<u64> {
    let text = Cmd::new(sluice)
        .args(["stat", "--control", &lab.control_socket(), "--count", "1", "--json"])
        .read()?;
    let snapshot: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("`sluice stat --json` printed {text:?}, not JSON"))?;
    let workers = snapshot.get("workers").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
    let sum = workers
        .iter()
        .flat_map(|w| w.get("app").and_then(serde_json::Value::as_array).cloned().unwrap_or_default())
        .filter(|pair| pair.get(0).and_then(serde_json::Value::as_str) == Some(name))
        .filter_map(|pair| pair.get(1).and_then(serde_json::Value::as_u64))
        .sum();
    Ok(sum)
}
