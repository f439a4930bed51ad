//! A sequence of timed steps with banners, and a summary table at the end.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

enum Outcome {
    Passed,
    Failed,
    Skipped(String),
}

struct Row {
    name: String,
    outcome: Outcome,
    elapsed: Duration,
}

pub struct Steps {
    started: Instant,
    rows: Vec<Row>,
    /// Printed after the summary table, where nobody misses them.
    warnings: Vec<String>,
}

impl Steps {
    pub fn new() -> Steps {
        Steps { started: Instant::now(), rows: Vec::new(), warnings: Vec::new() }
    }

    /// Runs one step: a banner, the step, then its outcome and time. A failure is printed
    /// and recorded, and the sequence goes on; `None` tells the caller it failed.
    pub fn run<T>(&mut self, name: &str, what: &str, step: impl FnOnce() -> Result<T>) -> Option<T> {
        println!();
        println!("==> {name}: {what}");
        let started = Instant::now();
        let result = step();
        let elapsed = started.elapsed();
        let (outcome, value) = match result {
            Ok(value) => {
                println!("<== {name}: ok in {}", format_duration(elapsed));
                (Outcome::Passed, Some(value))
            }
            Err(err) => {
                println!("<== {name}: FAILED after {}: {err:#}", format_duration(elapsed));
                (Outcome::Failed, None)
            }
        };
        self.rows.push(Row { name: name.to_owned(), outcome, elapsed });
        value
    }

    pub fn skip(&mut self, name: &str, reason: &str) {
        println!();
        println!("==> {name}: skipped ({reason})");
        self.rows.push(Row {
            name: name.to_owned(),
            outcome: Outcome::Skipped(reason.to_owned()),
            elapsed: Duration::ZERO,
        });
    }

    /// Records something the summary must repeat after its table (a skip that is not a pass).
    pub fn warn(&mut self, text: &str) {
        self.warnings.push(text.to_owned());
    }

    /// Prints the summary table and the warnings; fails if any step failed.
    pub fn finish(self) -> Result<()> {
        let total = self.started.elapsed();
        let failed: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed))
            .map(|r| r.name.as_str())
            .collect();
        let width = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max("total".len());
        println!();
        println!("==> summary");
        println!("  {:<width$}  {:<7}  {:>9}", "step", "result", "time");
        for row in &self.rows {
            let (result, time) = match &row.outcome {
                Outcome::Passed => ("ok", format_duration(row.elapsed)),
                Outcome::Failed => ("FAILED", format_duration(row.elapsed)),
                Outcome::Skipped(reason) => ("skipped", reason.clone()),
            };
            println!("  {:<width$}  {result:<7}  {time:>9}", row.name);
        }
        let result = if failed.is_empty() { "ok" } else { "FAILED" };
        println!("  {:<width$}  {result:<7}  {:>9}", "total", format_duration(total));
        if !self.warnings.is_empty() {
            println!();
            println!("{}", "!".repeat(78));
            for warning in &self.warnings {
                println!("!! {warning}");
            }
            println!("{}", "!".repeat(78));
        }
        if !failed.is_empty() {
            bail!("failed steps: {}", failed.join(", "));
        }
        Ok(())
    }
}

/// `12.3s`, or `4m05s` from a minute on.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}
