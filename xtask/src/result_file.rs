//! What a result file says about its run: the spread of alternated rounds (../shared/
//! DESIGN.md, "Measuring fairly on a 2-core machine"), the machine, the load beside it, the
//! command line, and where results go.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd::Cmd;

/// The median, smallest and largest of `values` (not empty).
pub fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    (median, sorted[0], sorted[n - 1])
}

/// `median (min–max)` of `values`, with `decimals` decimals; `–` when there are none.
pub fn shown_spread(values: &[f64], decimals: usize) -> String {
    if values.is_empty() {
        return "–".to_owned();
    }
    let (median, min, max) = spread(values);
    if values.len() == 1 {
        return format!("{median:.decimals$}");
    }
    format!("{median:.decimals$} ({min:.decimals$}–{max:.decimals$})")
}

/// The 1, 5 and 15 minute load averages (proc(5), /proc/loadavg): on a shared machine, what
/// else competed for the two cores.
pub fn load_average() -> String {
    match std::fs::read_to_string("/proc/loadavg") {
        Ok(text) => text.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        Err(err) => format!("unknown ({err})"),
    }
}

/// The machine a result was measured on, for result files.
pub struct Machine {
    pub commit: String,
    pub kernel: String,
    pub cpus: usize,
    pub cpu_model: String,
}

impl Machine {
    pub fn describe(root: &Path) -> Result<Machine> {
        let commit = Cmd::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(root).read()?;
        let dirty = !Cmd::new("git").args(["diff", "--quiet", "HEAD"]).current_dir(root).probe();
        let kernel = Cmd::new("uname").arg("-r").read()?;
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|line| line.strip_prefix("model name"))
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        Ok(Machine {
            commit: format!("{}{}", commit.trim(), if dirty { " (with uncommitted changes)" } else { "" }),
            kernel: kernel.trim().to_owned(),
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
        })
    }
}

/// The command line as typed: `cargo xtask` passes its own arguments on unchanged.
pub fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}

/// Today's date (UTC), `YYYY-MM-DD`, for result file names.
pub fn today() -> Result<String> {
    Ok(Cmd::new("date").args(["-u", "+%F"]).read()?.trim().to_owned())
}

/// bench/results/, created if missing.
pub fn results_dir(root: &Path) -> Result<PathBuf> {
    let dir = root.join("bench").join("results");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    Ok(dir)
}
