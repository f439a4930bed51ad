//! cargo-fuzz on the stable toolchain.
//!
//! cargo-fuzz passes unstable `-Z` flags to rustc (sanitizer coverage), which stable
//! accepts only with `RUSTC_BOOTSTRAP=1`; that is set for the fuzz crate's builds alone,
//! which have their own workspace and target directory (core/fuzz).
//!
//! Sanitizer: AddressSanitizer works on stable too (its runtime ships with rust-std), but
//! measured on the ethernet target it runs about 5 times fewer inputs per second
//! (~63 k/s against ~340 k/s) and takes longer to build. The fuzzed code is the safe-Rust
//! parsing core, where the bugs to find are panics (bounds, overflow: debug assertions and
//! overflow checks stay on), so bounded runs use `--sanitizer none`; `cargo xtask fuzz
//! --asan` switches ASan on for code that gains `unsafe`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;

/// The cargo-fuzz project, relative to the workspace root.
pub const FUZZ_DIR: &str = "core/fuzz";

/// The sanitizer of `cargo xtask test`'s bounded runs (see the module doc).
pub const BOUNDED_SANITIZER: Sanitizer = Sanitizer::None;

/// libFuzzer's per-input time limit in bounded runs, so a hang fails the run instead of
/// stalling it (libFuzzer's default is 20 minutes).
const INPUT_TIMEOUT_SECS: u64 = 10;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sanitizer {
    None,
    Address,
}

impl Sanitizer {
    fn name(self) -> &'static str {
        match self {
            Sanitizer::None => "none",
            Sanitizer::Address => "address",
        }
    }
}

/// `cargo fuzz <subcommand>` on the Sluice fuzz crate, built the same way for every
/// subcommand so `run` after `build` reuses the build. ASan builds get their own target
/// directory, so switching sanitizers does not rebuild everything each time.
fn cargo_fuzz(subcommand: &str, sanitizer: Sanitizer) -> Cmd {
    let cmd = Cmd::cargo()
        .args(["fuzz", subcommand, "--fuzz-dir", FUZZ_DIR, "--sanitizer", sanitizer.name()])
        .env("RUSTC_BOOTSTRAP", "1");
    match sanitizer {
        Sanitizer::None => cmd,
        Sanitizer::Address => cmd.arg("--target-dir").arg(format!("{FUZZ_DIR}/target/asan")),
    }
}

/// The targets declared as `[[bin]]` in core/fuzz/Cargo.toml, as cargo-fuzz reads them.
pub fn targets() -> Result<Vec<String>> {
    let listed = Cmd::cargo().args(["fuzz", "list", "--fuzz-dir", FUZZ_DIR]).read()?;
    let targets: Vec<String> =
        listed.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if targets.is_empty() {
        bail!("{FUZZ_DIR}/Cargo.toml declares no fuzz targets");
    }
    Ok(targets)
}

/// Builds every fuzz target for bounded runs.
pub fn build_bounded() -> Result<()> {
    cargo_fuzz("build", BOUNDED_SANITIZER).run()
}

/// Fuzzes `target` for `duration` with its corpus in core/fuzz/corpus/<target>, output in
/// a log file; fails on any crash, leak, timeout or out-of-memory, showing the log's end.
pub fn run_bounded(root: &Path, target: &str, duration: Duration) -> Result<()> {
    let log_dir = root.join(FUZZ_DIR).join("target").join("logs");
    std::fs::create_dir_all(&log_dir).with_context(|| format!("could not create {}", log_dir.display()))?;
    let log = log_dir.join(format!("{target}.log"));
    let result = cargo_fuzz("run", BOUNDED_SANITIZER)
        .arg(target)
        .arg("--")
        .arg(format!("-max_total_time={}", duration.as_secs()))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .run_logged(&log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    match result {
        Ok(()) => {
            // libFuzzer's last status line: "#<runs> DONE cov: .. ft: .. corp: .. exec/s: ..".
            if let Some(done) = text.lines().rev().find(|line| line.contains("DONE")) {
                println!("{target}: {}", done.trim());
            }
            Ok(())
        }
        Err(err) => {
            print_failure(&log, &text);
            let artifacts = Path::new(FUZZ_DIR).join("artifacts").join(target);
            let inputs = newest_files(&root.join(&artifacts));
            if !inputs.is_empty() {
                println!("failing inputs (newest first) in {}; reproduce one with", artifacts.display());
                for input in inputs.iter().take(5) {
                    println!("  cargo xtask fuzz {target} {}", artifacts.join(input).display());
                }
            }
            Err(err.context(format!("fuzz target `{target}` failed")))
        }
    }
}

/// Runs `target` interactively: for `secs` seconds, or until a crash or Ctrl-C. `inputs`
/// are corpus directories or single inputs to run (such as a crash artifact).
pub fn run_interactive(
    target: &str,
    secs: Option<u64>,
    inputs: &[PathBuf],
    sanitizer: Sanitizer,
    fuzzer_args: &[String],
) -> Result<()> {
    let known = targets()?;
    if !known.iter().any(|t| t == target) {
        bail!("no fuzz target `{target}`; {FUZZ_DIR}/Cargo.toml declares: {}", known.join(", "));
    }
    let mut libfuzzer_args: Vec<String> =
        secs.map(|secs| format!("-max_total_time={secs}")).into_iter().collect();
    libfuzzer_args.extend_from_slice(fuzzer_args);
    let mut cmd = cargo_fuzz("run", sanitizer).arg(target).args(inputs);
    if !libfuzzer_args.is_empty() {
        cmd = cmd.arg("--").args(libfuzzer_args);
    }
    cmd.run()
}

/// Lines that start libFuzzer's, a sanitizer's or Rust's report of a failing input.
const FAILURE_MARKERS: [&str; 3] = ["panicked at", "ERROR: libFuzzer", "ERROR: AddressSanitizer"];

/// Prints the log from the first failure report on (the panic message comes before the
/// backtrace), or its last lines when there is no report.
fn print_failure(log: &Path, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| FAILURE_MARKERS.iter().any(|marker| line.contains(marker)))
        .unwrap_or(lines.len().saturating_sub(60));
    let end = lines.len().min(start + 150);
    println!("--- {} (lines {}-{} of {}) ---", log.display(), start + 1, end, lines.len());
    for line in &lines[start..end] {
        println!("{line}");
    }
    println!("---");
}

/// The names of the files in `dir`, newest first; empty if `dir` cannot be read.
fn newest_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, String)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((modified, entry.file_name().to_string_lossy().into_owned()))
        })
        .collect();
    files.sort_by(|a, b| b.cmp(a));
    files.into_iter().map(|(_, name)| name).collect()
}
