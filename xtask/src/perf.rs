//! `cargo xtask bench tcp-instructions`: the TCP figures of issue 3 in one table.
//!
//! Runs the `tcp_perf` binary of bench/ three times: natively for wall-clock ns per
//! request/response transaction and bulk Gbit/s, then under callgrind, counting only
//! `measured_transactions` (`--toggle-collect`), for instructions per transaction. The
//! instruction count repeats exactly run to run, even on a busy machine; the times do not.

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

pub fn tcp_figures(root: &Path) -> Result<()> {
    tools::ensure_apt(&[tools::VALGRIND])?;
    Cmd::cargo().args(["build", "--release", "-p", "sluice-bench", "--bin", "tcp_perf"]).run()?;
    let binary = target_dir(root).join("release").join("tcp_perf");
    if !binary.is_file() {
        bail!("cargo built tcp_perf but {} does not exist", binary.display());
    }

    let rr = Cmd::new(&binary).args(["rr", TIMED_TRANSACTIONS]).read()?;
    print!("{rr}");
    let ns = field(&rr, "ns_per_transaction")?;
    let best_ns = field(&rr, "best_ns_per_transaction")?;

    let bulk = Cmd::new(&binary).args(["bulk", BULK_MEGABYTES]).read()?;
    print!("{bulk}");
    let gbit = field(&bulk, "gbit_per_s")?;
    let best_gbit = field(&bulk, "best_gbit_per_s")?;

    let out_dir = target_dir(root).join("callgrind");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("could not create {}", out_dir.display()))?;
    let out_file = out_dir.join("tcp_rr.out");
    let counted = Cmd::new("valgrind")
        .args(["-q", "--tool=callgrind", "--toggle-collect=*measured_transactions*"])
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&binary)
        .args(["rr", COUNTED_TRANSACTIONS])
        .read()?;
    print!("{counted}");
    let transactions = field(&counted, "transactions")?;
    let instructions = callgrind_total(&out_file)? as f64 / transactions;

    println!();
    println!(
        "TCP between two in-memory stacks (64-byte request and response, 1500-byte MTU, both stacks counted)"
    );
    println!("  {:<34} {:>12}", "instructions per transaction", format!("{instructions:.0}"));
    println!("  {:<34} {:>12}   (best batch {best_ns:.0})", "ns per transaction", format!("{ns:.0}"));
    println!("  {:<34} {:>12}   (best batch {best_gbit:.1})", "bulk Gbit/s", format!("{gbit:.1}"));
    println!();
    println!("Profile of the counted transactions:");
    println!("  callgrind_annotate --inclusive=yes {}", out_file.display());
    Ok(())
}
