//! `cargo xtask test`: the whole test suite, exactly what CI runs (.ci/run).
//!
//! Tests build in the debug profile: measured cold on this 2-core machine, `cargo test
//! --workspace` took 1m26s against 3m31s with `--release` (thin LTO, one codegen unit),
//! and the tests themselves ran no faster in release (about 4 s either way).
//!
//! The veth integration tests (stack/tests/veth.rs) need root: they are `#[ignore]`d in the
//! workspace run and run in a step of their own, one at a time (each runs `sluice` pinned
//! to cores and moves 100 MB; in parallel on two cores they would measure contention, not
//! Sluice). Without root that step is skipped and the summary says so in capitals; a test
//! that skips for another reason (a kernel without netem) is listed there too. The HTTP
//! smoke test (http_smoke.rs: wrk and curl against Sluice's HTTP echo) needs root as well
//! and is skipped the same way.
//!
//! The `tcp instructions` step counts the instructions of a TCP request/response
//! transaction under callgrind (exact run to run, however busy the machine) and fails if
//! the count rose more than 3% above the committed baseline (perf.rs).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::cmd::Cmd;
use crate::fuzz;
use crate::http_smoke;
use crate::perf;
use crate::steps::Steps;
use crate::tools;

pub struct Options {
    /// Seconds each fuzz target runs; `None` skips fuzzing.
    pub fuzz_secs: Option<u64>,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let mut steps = Steps::new();
    let fuzzing = options.fuzz_secs.is_some();

    let needed = "build dependencies (clang, libbpf, libxdp's), tshark, rustfmt, clippy";
    let needed = if fuzzing { format!("{needed}, cargo-fuzz") } else { needed.to_owned() };
    let tools_ok = steps
        .run("tools", &format!("{needed}; install what is missing"), || {
            tools::ensure_apt(&tools::build_deps())?;
            tools::ensure_apt(&[tools::TSHARK])?;
            tools::ensure_toolchain_components()?;
            if fuzzing {
                tools::ensure_cargo_fuzz()?;
            }
            Ok(())
        })
        .is_some();
    if !tools_ok {
        // Every later step needs these tools; stop here with the reason above.
        return steps.finish();
    }

    command_step(&mut steps, "fmt", Cmd::cargo().args(["fmt", "--all", "--", "--check"]));
    command_step(
        &mut steps,
        "clippy",
        Cmd::cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    );
    // The workspace tests include the XDP tests of stack/tests/xdp.rs, which run as root
    // with the veth tools (ethtool, ping, arping, bpftool): install those first.
    let veth_tools_ok = veth_tools(&mut steps)?;
    // Tools the tests use were installed above: a test that finds one missing must fail
    // rather than skip.
    command_step(
        &mut steps,
        "test",
        Cmd::cargo().args(["test", "--workspace"]).env("SLUICE_REQUIRE_TOOLS", "1"),
    );

    veth_tests(&mut steps, veth_tools_ok)?;
    http_smoke(&mut steps, root)?;
    let guard = format!(
        "callgrind count of a TCP transaction against {}, at most {:.0}% above",
        perf::BASELINE,
        perf::GUARD_THRESHOLD * 100.0
    );
    steps.run("tcp instructions", &guard, || perf::guard(root));

    match options.fuzz_secs {
        None => steps.skip("fuzz", "--skip-fuzz"),
        Some(secs) => {
            let what = format!("build every target in {}/Cargo.toml", fuzz::FUZZ_DIR);
            if let Some(targets) = steps.run("fuzz build", &what, || {
                let targets = fuzz::targets()?;
                println!("targets: {}", targets.join(", "));
                fuzz::build_bounded()?;
                Ok(targets)
            }) {
                for target in &targets {
                    let name = format!("fuzz {target}");
                    let what = format!("{secs} s, corpus {}/corpus/{target}", fuzz::FUZZ_DIR);
                    steps.run(&name, &what, || fuzz::run_bounded(root, target, Duration::from_secs(secs)));
                }
            }
        }
    }

    steps.finish()
}

/// Said before the veth step and again after the summary when not root.
const VETH_SKIPPED: &str = "VETH INTEGRATION TESTS SKIPPED: not root (run `cargo xtask test` as root)";

/// Installs the tools of the veth and XDP tests as root; says whether they are there.
/// Without root there is nothing to install: those tests skip loudly.
fn veth_tools(steps: &mut Steps) -> Result<bool> {
    if !tools::is_root()? {
        return Ok(false);
    }
    let packages: Vec<&str> = tools::VETH_TEST_DEPS.iter().map(|tool| tool.package).collect();
    let what = format!("{}; install what is missing", packages.join(", "));
    Ok(steps.run("veth tools", &what, || tools::ensure_apt(tools::VETH_TEST_DEPS)).is_some())
}

/// The veth integration tests as root, with their tools; a loud skip otherwise.
fn veth_tests(steps: &mut Steps, tools_ok: bool) -> Result<()> {
    if !tools::is_root()? {
        println!();
        println!("{}", "!".repeat(78));
        println!("!! {VETH_SKIPPED}");
        println!("{}", "!".repeat(78));
        steps.skip("veth", "not root");
        steps.warn(VETH_SKIPPED);
        return Ok(());
    }
    if !tools_ok {
        steps.skip("veth", "its tools are missing");
        return Ok(());
    }
    let cmd = Cmd::cargo()
        .args(["test", "-p", "sluice", "--test", "veth", "--", "--include-ignored", "--test-threads=1"])
        .env(VETH_REQUIRE_ROOT_ENV, "1");
    let shown = cmd.shown().to_owned();
    let mut skipped = Vec::new();
    steps.run("veth", &shown, || {
        let (result, lines) = cmd.run_keeping_stderr(|line| line.starts_with(VETH_SKIP_MARK));
        skipped = lines;
        result
    });
    for line in &skipped {
        steps.warn(&format!("veth test {line}"));
    }
    Ok(())
}

/// Said before the HTTP smoke step and again after the summary when not root.
const HTTP_SMOKE_SKIPPED: &str = "HTTP SMOKE TEST SKIPPED: not root (run `cargo xtask test` as root)";

/// wrk and curl against Sluice's HTTP echo on a veth lab as root; a loud skip otherwise.
fn http_smoke(steps: &mut Steps, root: &Path) -> Result<()> {
    if !tools::is_root()? {
        println!();
        println!("{}", "!".repeat(78));
        println!("!! {HTTP_SMOKE_SKIPPED}");
        println!("{}", "!".repeat(78));
        steps.skip("http smoke", "not root");
        steps.warn(HTTP_SMOKE_SKIPPED);
        return Ok(());
    }
    steps.run("http smoke", &http_smoke::describe(), || http_smoke::run(root));
    Ok(())
}

/// Makes a veth test that finds itself without root fail rather than skip
/// (stack/tests/support/skip.rs).
const VETH_REQUIRE_ROOT_ENV: &str = "SLUICE_REQUIRE_ROOT";

/// How a veth test that skipped starts its line on stderr (stack/tests/support/skip.rs).
const VETH_SKIP_MARK: &str = "SKIPPED (";

fn command_step(steps: &mut Steps, name: &str, cmd: Cmd) {
    let shown = cmd.shown().to_owned();
    steps.run(name, &shown, || cmd.run());
}
