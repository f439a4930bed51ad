//! `cargo xtask bench tcp-instructions`: the TCP figures of issue 3 in one table, and the
//! guard that keeps the instruction count from rising unseen.
//!
//! Runs the `tcp_perf` binary of bench/ three times: natively for wall-clock ns per
//! request/response transaction and bulk Gbit/s, then under callgrind, counting only
//! `measured_transactions` (`--toggle-collect`), for instructions per transaction. The
//! instruction count repeats exactly run to run, even on a busy machine; the times do not.
//! So the count alone is compared with the committed baseline ([`BASELINE`]): the bench
//! says by how much it moved, and `cargo xtask test` ([`guard`]) fails on a rise of more
//! than [`GUARD_THRESHOLD`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::tools;

/// Transactions timed natively (five batches; the median batch is reported).
const TIMED_TRANSACTIONS: &str = "500000";
/// Transactions counted under callgrind: the count per transaction is exact, so a few
/// thousand suffice.
const COUNTED_TRANSACTIONS: &str = "20000";
/// Megabytes streamed for the bulk figure.
const BULK_MEGABYTES: &str = "4096";

/// The committed instruction count per transaction, and the commit it was measured at.
pub const BASELINE: &str = "bench/results/tcp-instructions-baseline.json";
/// A rise of the instruction count beyond this fraction of the baseline fails the guard.
pub const GUARD_THRESHOLD: f64 = 0.03;

/// Where cargo puts build outputs: `CARGO_TARGET_DIR` if set, else `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The value of `key` in a line of `key=value` pairs printed by `tcp_perf`.
fn field(output: &str, key: &str) -> Result<f64> {
    let value = output
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
        .with_context(|| format!("tcp_perf printed no {key}= in {output:?}"))?;
    value.parse().with_context(|| format!("tcp_perf printed {key}={value}, not a number"))
}

/// The `totals:` (or `summary:`) line of a callgrind output file: instructions counted.
fn callgrind_total(out_file: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(out_file)
        .with_context(|| format!("could not read callgrind's output {}", out_file.display()))?;
    let total = text
        .lines()
        .find_map(|line| line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:")))
        .with_context(|| format!("no totals line in {}", out_file.display()))?;
    total.trim().parse().with_context(|| format!("bad totals line {total:?} in {}", out_file.display()))
}

/// The baseline: instructions per transaction, and where they were measured.
struct Baseline {
    instructions: f64,
    commit: String,
}

fn read_baseline(root: &Path) -> Result<Baseline> {
    let path = root.join(BASELINE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "could not read {}; record one with `cargo xtask bench tcp-instructions --save-baseline`",
            path.display()
        )
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let instructions = json["instructions_per_transaction"]
        .as_f64()
        .with_context(|| format!("{} has no instructions_per_transaction", path.display()))?;
    let commit = json["commit"].as_str().unwrap_or("an unknown commit").to_owned();
    Ok(Baseline { instructions, commit })
}

fn save_baseline(root: &Path, instructions: f64) -> Result<()> {
    let commit = crate::result_file::Machine::describe(root)?.commit;
    let json = serde_json::json!({
        "instructions_per_transaction": instructions.round() as u64,
        "commit": commit,
        "counted_transactions": COUNTED_TRANSACTIONS.parse::<u64>().expect("a number"),
        "measured_by": "cargo xtask bench tcp-instructions --save-baseline",
    });
    let path = root.join(BASELINE);
    std::fs::write(&path, format!("{json:#}\n"))
        .with_context(|| format!("could not write {}", path.display()))?;
    println!("saved {}: {instructions:.0} instructions per transaction at {commit}", path.display());
    Ok(())
}

/// `+1.2%` or `-0.4%`: how far `value` is from `base`.
fn change(value: f64, base: f64) -> String {
    format!("{:+.2}%", (value / base - 1.0) * 100.0)
}

/// Builds tcp_perf in release.
fn build_tcp_perf(root: &Path) -> Result<PathBuf> {
    Cmd::cargo().args(["build", "--release", "-p", "sluice-bench", "--bin", "tcp_perf"]).run()?;
    let binary = target_dir(root).join("release").join("tcp_perf");
    if !binary.is_file() {
        bail!("cargo built tcp_perf but {} does not exist", binary.display());
    }
    Ok(binary)
}

/// Instructions per request/response transaction, counted by callgrind, and the
/// callgrind output file.
fn count_instructions(root: &Path, binary: &Path) -> Result<(f64, PathBuf)> {
    let out_dir = target_dir(root).join("callgrind");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("could not create {}", out_dir.display()))?;
    let out_file = out_dir.join("tcp_rr.out");
    let counted = Cmd::new("valgrind")
        .args(["-q", "--tool=callgrind", "--toggle-collect=*measured_transactions*"])
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(binary)
        .args(["rr", COUNTED_TRANSACTIONS])
        .read()?;
    print!("{counted}");
    let transactions = field(&counted, "transactions")?;
    Ok((callgrind_total(&out_file)? as f64 / transactions, out_file))
}

/// How a count compares with the baseline, [`GUARD_THRESHOLD`] either way.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Regressed,
    Steady,
    Improved,
}

fn verdict(instructions: f64, baseline: f64) -> Verdict {
    if instructions > baseline * (1.0 + GUARD_THRESHOLD) {
        Verdict::Regressed
    } else if instructions < baseline * (1.0 - GUARD_THRESHOLD) {
        Verdict::Improved
    } else {
        Verdict::Steady
    }
}

/// `cargo xtask test`'s check: the instruction count per transaction may not rise more
/// than [`GUARD_THRESHOLD`] above the committed baseline.
pub fn guard(root: &Path) -> Result<()> {
    tools::ensure_apt(&[tools::VALGRIND])?;
    let baseline = read_baseline(root)?;
    let binary = build_tcp_perf(root)?;
    let (instructions, out_file) = count_instructions(root, &binary)?;
    let moved = change(instructions, baseline.instructions);
    println!(
        "instructions per transaction: {instructions:.0}, baseline {:.0} at {} ({moved})",
        baseline.instructions, baseline.commit
    );
    if verdict(instructions, baseline.instructions) == Verdict::Regressed {
        bail!(
            "instructions per transaction rose {moved} over the baseline ({:.0} -> {instructions:.0}), more \
             than the {:.0}% allowed: find what costs more (`callgrind_annotate --inclusive=yes {}`), or, \
             if the cost is intended, record it with `cargo xtask bench tcp-instructions --save-baseline` \
             and say why in the commit",
            baseline.instructions,
            GUARD_THRESHOLD * 100.0,
            out_file.display()
        );
    }
    if verdict(instructions, baseline.instructions) == Verdict::Improved {
        println!(
            "note: {moved} below the baseline; keep the gain guarded: `cargo xtask bench tcp-instructions \
             --save-baseline`"
        );
    }
    Ok(())
}

/// The figures, the instruction count's change against the baseline, and with
/// `save_baseline` the count recorded as the new baseline.
pub fn tcp_figures(root: &Path, save: bool) -> Result<()> {
    tools::ensure_apt(&[tools::VALGRIND])?;
    let binary = build_tcp_perf(root)?;

    let rr = Cmd::new(&binary).args(["rr", TIMED_TRANSACTIONS]).read()?;
    print!("{rr}");
    let ns = field(&rr, "ns_per_transaction")?;
    let best_ns = field(&rr, "best_ns_per_transaction")?;

    let bulk = Cmd::new(&binary).args(["bulk", BULK_MEGABYTES]).read()?;
    print!("{bulk}");
    let gbit = field(&bulk, "gbit_per_s")?;
    let best_gbit = field(&bulk, "best_gbit_per_s")?;

    let (instructions, out_file) = count_instructions(root, &binary)?;
    let baseline = match read_baseline(root) {
        Ok(baseline) => format!(
            "   (baseline {:.0} at {}: {})",
            baseline.instructions,
            baseline.commit,
            change(instructions, baseline.instructions)
        ),
        Err(err) => format!("   ({err:#})"),
    };
    println!();
    println!(
        "TCP between two in-memory stacks (64-byte request and response, 1500-byte MTU, both stacks counted)"
    );
    println!("  {:<34} {:>12}{baseline}", "instructions per transaction", format!("{instructions:.0}"));
    println!("  {:<34} {:>12}   (best batch {best_ns:.0})", "ns per transaction", format!("{ns:.0}"));
    println!("  {:<34} {:>12}   (best batch {best_gbit:.1})", "bulk Gbit/s", format!("{gbit:.1}"));
    println!();
    println!("Profile of the counted transactions:");
    println!("  callgrind_annotate --inclusive=yes {}", out_file.display());
    if save {
        save_baseline(root, instructions)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rise_over_three_percent_fails_and_a_fall_is_reported() {
        assert_eq!(verdict(9_012.0, 8_749.0), Verdict::Regressed, "+3.006%");
        assert_eq!(verdict(9_011.0, 8_749.0), Verdict::Steady, "+2.995%");
        assert_eq!(verdict(8_486.0, 8_749.0), Verdict::Improved);
        assert_eq!(verdict(8_487.0, 8_749.0), Verdict::Steady);
        assert_eq!(change(8_749.0 * 1.012, 8_749.0), "+1.20%");
    }
}
