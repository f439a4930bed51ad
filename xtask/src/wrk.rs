//! The HTTP load client: wrk (https://github.com/wg/wrk, Debian's `wrk`), run from the
//! lab's peer namespace pinned to the client core, one thread, and its reports parsed.
//!
//! wrk's text report gives requests/s and the latency distribution (`--latency`: 50, 75,
//! 90, 99 %); the Lua scripts in bench/wrk/ add what it leaves out: p99.9 and every error
//! counter (report.lua), or a check of every response body (check.lua).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::cmd::Cmd;
use crate::lab::CLIENT_CORE;
use crate::netns;
use crate::tools::{AptTool, Provides};

pub const WRK: AptTool =
    AptTool { package: "wrk", provides: Provides::Program("wrk"), why: "to load HTTP servers" };

/// The script that prints p99.9 and the error counters, relative to the workspace root.
pub const REPORT_SCRIPT: &str = "bench/wrk/report.lua";
/// The script that checks every response, relative to the workspace root.
pub const CHECK_SCRIPT: &str = "bench/wrk/check.lua";

/// One wrk run.
pub struct Load<'a> {
    pub url: &'a str,
    pub connections: u32,
    /// Rounded up to whole seconds, which is what wrk takes.
    pub secs: f64,
    /// Send `Connection: close`: one request per connection (connections per second).
    pub close: bool,
    pub script: PathBuf,
    /// Arguments after `--`, for the script's `init`.
    pub script_args: Vec<String>,
}

impl Load<'_> {
    fn command(&self, peer_ns: &str) -> Cmd {
        // wrk takes whole seconds, minutes or hours (its scan_time): round up.
        let duration = format!("{}s", self.secs.ceil().max(1.0) as u64);
        let mut cmd = netns::exec(peer_ns, "taskset")
            .args(["-c", CLIENT_CORE, "wrk", "-t1", "--latency"])
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{duration}"))
            .arg("-s")
            .arg(&self.script);
        if self.close {
            cmd = cmd.args(["-H", "Connection: close"]);
        }
        cmd = cmd.arg(self.url);
        if !self.script_args.is_empty() {
            cmd = cmd.arg("--").args(&self.script_args);
        }
        cmd
    }

    /// Runs wrk and returns its report, failing if wrk fails.
    pub fn run(&self, peer_ns: &str) -> Result<Report> {
        let cmd = self.command(peer_ns);
        let shown = cmd.shown().to_owned();
        let text = cmd.read()?;
        Report::parse(&shown, text)
    }

    /// Runs wrk and returns its report, or what wrk said when it failed (for instance
    /// "unable to connect ... Connection timed out" when no connection opened at all).
    pub fn run_or_failure(&self, peer_ns: &str) -> Result<Report, String> {
        let cmd = self.command(peer_ns);
        let shown = cmd.shown().to_owned();
        let output = cmd.output().map_err(|e| format!("{e:#}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            let said: Vec<&str> =
                said.lines().chain(stdout.lines()).map(str::trim).filter(|l| !l.is_empty()).collect();
            return Err(format!("wrk exited with {}: {}", output.status, said.join("; ")));
        }
        Report::parse(&shown, stdout).map_err(|e| format!("{e:#}"))
    }

    /// The command line, as a shell would show it.
    pub fn shown(&self, peer_ns: &str) -> String {
        self.command(peer_ns).shown().to_owned()
    }
}

/// wrk's socket error counters and its count of responses with a status of 400 or above
/// (its "Non-2xx or 3xx responses").
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Errors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
    pub status: u64,
}

impl Errors {
    fn from_json(json: &Value, context: &str) -> Result<Errors> {
        let count = |key: &str| {
            json.get(key).and_then(Value::as_u64).with_context(|| format!("{context} has no count {key:?}"))
        };
        Ok(Errors {
            connect: count("connect_errors")?,
            read: count("read_errors")?,
            write: count("write_errors")?,
            timeout: count("timeouts")?,
            status: count("status_errors")?,
        })
    }

    /// Socket errors and timeouts, without the status count.
    pub fn socket(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }

    pub fn add(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.read += other.read;
        self.write += other.write;
        self.timeout += other.timeout;
        self.status += other.status;
    }
}

/// One wrk run's figures.
#[derive(Debug)]
pub struct Report {
    pub requests_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// From report.lua; `None` with other scripts.
    pub p999_us: Option<f64>,
    pub errors: Errors,
    /// The `wrk-json` or `wrk-check` line a script printed.
    pub script: Value,
}

impl Report {
    fn parse(shown: &str, text: String) -> Result<Report> {
        let context = || format!("`{shown}` printed:\n{text}");
        let requests_per_sec = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
            .with_context(|| format!("no `Requests/sec:` line; {}", context()))?
            .trim()
            .parse::<f64>()
            .with_context(context)?;
        let percentile = |label: &str| -> Result<f64> {
            let value = text
                .lines()
                .skip_while(|line| line.trim() != "Latency Distribution")
                .find_map(|line| line.trim().strip_prefix(label))
                .with_context(|| format!("no {label} line in the latency distribution; {}", context()))?;
            parse_duration_us(value.trim()).with_context(context)
        };
        let (p50_us, p99_us) = (percentile("50%")?, percentile("99%")?);
        let script_line = text
            .lines()
            .find_map(|line| line.strip_prefix("wrk-json ").or_else(|| line.strip_prefix("wrk-check ")))
            .with_context(|| {
                format!("the Lua script printed no `wrk-json` or `wrk-check` line; {}", context())
            })?;
        let script: Value = serde_json::from_str(script_line)
            .with_context(|| format!("the Lua script printed {script_line:?}, not JSON"))?;
        let errors = Errors::from_json(&script, "the Lua script's line")?;
        let p999_us = script.get("p999_us").and_then(Value::as_f64);
        Ok(Report { requests_per_sec, p50_us, p99_us, p999_us, errors, script })
    }
}

/// A duration as wrk prints it (`123.45us`, `1.20ms`, `2.00s`, `1.50m`), in microseconds.
fn parse_duration_us(text: &str) -> Result<f64> {
    let split =
        text.find(|c: char| c.is_ascii_alphabetic()).with_context(|| format!("no unit in {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().with_context(|| format!("bad number in {text:?}"))?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => bail!("unknown unit {unit:?} in {text:?}"),
    };
    Ok(number * scale)
}

/// wrk's version line (`wrk -v` prints it, then its usage, and exits 1).
pub fn version() -> String {
    let output = std::process::Command::new("wrk").arg("-v").output();
    match output {
        Ok(output) => String::from_utf8_lossy(&output.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&output.stderr).lines())
            .find(|line| line.starts_with("wrk "))
            .map_or_else(|| "wrk (unknown version)".to_owned(), str::to_owned),
        Err(err) => format!("wrk (could not run: {err})"),
    }
}

/// A script under bench/wrk/, as an absolute path (wrk runs in another namespace but the
/// same file system), failing if it is missing.
pub fn script(root: &Path, relative: &str) -> Result<PathBuf> {
    let path = root.join(relative);
    if !path.is_file() {
        bail!("the wrk script {} is missing from the checkout", path.display());
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 2s test @ http://10.0.0.1:8080/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   110.50us   30.10us   2.01ms   90.00%
    Req/Sec   120.00k     3.00k  130.00k    70.00%
  Latency Distribution
     50%  100.00us
     75%  120.00us
     90%  150.00us
     99%    1.20ms
  240000 requests in 2.00s, 30.00MB read
Requests/sec: 119999.50
Transfer/sec:     15.00MB
wrk-json {\"requests\":240000,\"duration_us\":2000000,\"bytes\":31457280,\"connect_errors\":0,\
\"read_errors\":1,\"write_errors\":0,\"timeouts\":2,\"status_errors\":3,\"p50_us\":100,\"p90_us\":150,\
\"p99_us\":1200,\"p999_us\":1900,\"max_us\":2010,\"mean_us\":110.50}
";

    #[test]
    fn parses_the_text_report_and_the_script_line() {
        let report = Report::parse("wrk", OUTPUT.to_owned()).unwrap();
        assert_eq!(report.requests_per_sec, 119999.5);
        assert_eq!(report.p50_us, 100.0);
        assert_eq!(report.p99_us, 1200.0);
        assert_eq!(report.p999_us, Some(1900.0));
        assert_eq!(report.errors, Errors { connect: 0, read: 1, write: 0, timeout: 2, status: 3 });
        assert_eq!(report.errors.socket(), 3);
    }

    #[test]
    fn a_report_without_the_script_line_is_an_error() {
        let text = OUTPUT.lines().filter(|l| !l.starts_with("wrk-json")).collect::<Vec<_>>().join("\n");
        let err = Report::parse("wrk", text).unwrap_err();
        assert!(format!("{err:#}").contains("wrk-json"), "{err:#}");
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration_us("64.00us").unwrap(), 64.0);
        assert_eq!(parse_duration_us("1.50ms").unwrap(), 1500.0);
        assert_eq!(parse_duration_us("2.00s").unwrap(), 2e6);
        assert_eq!(parse_duration_us("1.00m").unwrap(), 60e6);
        assert!(parse_duration_us("12.0").is_err());
        assert!(parse_duration_us("12.0xs").is_err());
    }
}
