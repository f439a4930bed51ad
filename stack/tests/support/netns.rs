//! Commands run to completion inside a network namespace.

use std::time::Duration;

use super::process::{Finished, NsProcess};

/// How long a short command (ip, tc, ping) may take.
pub const SHORT: Duration = Duration::from_secs(60);

/// Runs `program args` inside `ns` and returns how it ended; panics if it runs past
/// `timeout`.
pub fn output_in(ns: &str, program: &str, args: &[&str], timeout: Duration) -> Finished {
    NsProcess::spawn(ns, program, args).finish(timeout)
}

/// Runs `program args` inside `ns`, panics with its output unless it succeeds within
/// `SHORT`, and returns its stdout.
pub fn run_in(ns: &str, program: &str, args: &[&str]) -> String {
    let finished = output_in(ns, program, args, SHORT);
    finished.assert_success();
    finished.stdout
}
