//! `cargo xtask test`: the whole test suite, exactly what CI runs (.ci/run).
//!
//! Tests build in the debug profile: measured cold on this 2-core machine, `cargo test
//! --workspace` took 1m26s against 3m31s with `--release` (thin LTO, one codegen unit),
//! and the tests themselves ran no faster in release (about 4 s either way).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::cmd::Cmd;
use crate::fuzz;
use crate::steps::Steps;
use crate::tools;

pub struct Options {
    /// Seconds each fuzz target runs; `None` skips fuzzing.
    pub fuzz_secs: Option<u64>,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let mut steps = Steps::new();
    let fuzzing = options.fuzz_secs.is_some();

    let needed = if fuzzing { "tshark, rustfmt, clippy, cargo-fuzz" } else { "tshark, rustfmt, clippy" };
    let tools_ok = steps
        .run("tools", &format!("{needed}; install what is missing"), || {
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
    // Tools the tests use (tshark) were installed above: a test that finds one missing
    // must fail rather than skip.
    command_step(
        &mut steps,
        "test",
        Cmd::cargo().args(["test", "--workspace"]).env("SLUICE_REQUIRE_TOOLS", "1"),
    );

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

fn command_step(steps: &mut Steps, name: &str, cmd: Cmd) {
    let shown = cmd.shown().to_owned();
    steps.run(name, &shown, || cmd.run());
}
