//! The HTTP smoke test of `cargo xtask test` (issue 5, item 6): Sluice's HTTP echo on a
//! veth lab answers one curl POST with its body, then a few seconds of wrk at 1, 16 and 64
//! connections with every response checked (bench/wrk/check.lua): no socket errors, no
//! timeouts, every status 200 and every body the one sent. No speed thresholds.

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
    lab::raise_open_files(512)?;
    let script = wrk::script(root, wrk::CHECK_SCRIPT)?;
    // The debug build the other steps made: correctness, not speed, is checked here.
    Cmd::cargo().args(["build", "-p", "sluice", "--bin", "sluice"]).run()?;
    let sluice = target_dir(root).join("debug").join("sluice");
    let logs = target_dir(root).join("http-smoke");
    std::fs::create_dir_all(&logs).with_context(|| format!("could not create {}", logs.display()))?;

    let lab = Lab::up(NETNS_PREFIX)?;
    let args = http_bench::sluice_args(Stack::Sluice, &lab, None);
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

    for connections in CONNECTIONS {
        let load = Load {
            url: &url,
            connections,
            secs: SECS,
            close: false,
            script: script.clone(),
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
    }
    server.stop()?;
    drop(lab);
    Ok(())
}
