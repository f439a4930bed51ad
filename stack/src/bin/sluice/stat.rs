//! `sluice stat`: live counters of a running `sluice serve`, read through its control
//! socket ([`sluice::control`]): per worker packets, bytes and rates, drops by reason,
//! TCP counters (retransmissions...), AF_XDP socket counters and the XDP program's.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use sluice::control::{discover, fetch, render_stat, Snapshot, CONTROL_DIR};

/// Which running process to read.
#[derive(Args, Debug)]
pub struct Target {
    /// The control socket of the process (default: /run/sluice/<IF>.sock).
    #[arg(long, value_name = "PATH", conflicts_with = "iface")]
    control: Option<PathBuf>,
    /// The interface the process serves (default: the only one running).
    #[arg(long, value_name = "IF")]
    iface: Option<String>,
}

impl Target {
    /// The control socket path to connect to.
    pub fn resolve(&self) -> Result<PathBuf> {
        Ok(discover(Path::new(CONTROL_DIR), self.control.as_deref(), self.iface.as_deref())?)
    }
}

#[derive(Args, Debug)]
pub struct Options {
    #[command(flatten)]
    target: Target,
    /// Seconds between readings; rates are over this interval (the first reading's are
    /// averages since the process started).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_interval)]
    interval: Duration,
    /// Stop after this many readings (default: until interrupted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Print each reading as one line of JSON (the raw snapshot) instead of tables.
    #[arg(long)]
    json: bool,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.01..=86_400.0).contains(&seconds) {
        return Err(format!("the interval must be between 0.01 and 86400 seconds, not {seconds}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub fn run(options: &Options) -> Result<()> {
    let path = options.target.resolve()?;
    let stdout = io::stdout();
    // A screen that refreshes in place on a terminal; readings one after another in a pipe.
    let redraw = !options.json && stdout.is_terminal();
    let mut out = stdout.lock();
    let mut prev: Option<Snapshot> = None;
    let mut next = Instant::now();
    for taken in 1u64.. {
        let snapshot = fetch(&path)?;
        let written = write_reading(&mut out, options.json, redraw, taken, prev.as_ref(), &snapshot);
        match written {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            other => other.context("cannot write to standard output")?,
        }
        if options.count.is_some_and(|count| taken >= count) {
            break;
        }
        prev = Some(snapshot);
        next += options.interval;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    Ok(())
}

fn write_reading(
    out: &mut impl Write,
    json: bool,
    redraw: bool,
    taken: u64,
    prev: Option<&Snapshot>,
    snapshot: &Snapshot,
) -> io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, snapshot)?;
        writeln!(out)?;
    } else {
        if redraw {
            // ANSI: cursor home, clear screen.
            out.write_all(b"\x1b[H\x1b[2J")?;
        } else if taken > 1 {
            writeln!(out)?;
        }
        out.write_all(render_stat(prev, snapshot).as_bytes())?;
    }
    out.flush()
}
