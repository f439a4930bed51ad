//! The `sluice` binary under test (`CARGO_BIN_EXE_sluice`), run inside the stack namespace:
//! `serve` as a long-running process that must print `ready` and exit 0 on SIGTERM or
//! SIGINT, and the one-shot commands (`client`, `resolve`, `stat`, `netstat`).

use std::time::Duration;

use super::process::{Finished, NsProcess};

/// How long `sluice serve` may take to load XDP, bind its sockets and print `ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `sluice serve` may take to detach and exit after a signal.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub fn sluice_bin() -> &'static str {
    env!("CARGO_BIN_EXE_sluice")
}

/// A running `sluice serve`; killed when dropped without `stop`.
pub struct SluiceProcess {
    process: NsProcess,
}

/// Starts `sluice ARGS` inside `ns` and waits for its `ready` line.
pub fn spawn_sluice(ns: &str, args: &[&str]) -> SluiceProcess {
    let mut process = NsProcess::spawn(ns, sluice_bin(), args);
    process.wait_for_line("ready", READY_TIMEOUT);
    SluiceProcess { process }
}

/// Runs a one-shot `sluice ARGS` inside `ns` and returns how it ended.
pub fn run_sluice(ns: &str, args: &[&str], timeout: Duration) -> Finished {
    NsProcess::spawn(ns, sluice_bin(), args).finish(timeout)
}

impl SluiceProcess {
    /// Stops the process with SIGTERM and asserts a clean exit.
    pub fn stop(self) -> Finished {
        self.stop_with("TERM")
    }

    /// Stops the process with `signal` (`TERM` or `INT`), by PID, and asserts that it exits
    /// with status 0, having printed nothing on stdout but its one `ready` line.
    pub fn stop_with(self, signal: &str) -> Finished {
        self.process.signal(signal);
        let finished = self.process.finish(STOP_TIMEOUT);
        assert_eq!(
            finished.status.code(),
            Some(0),
            "`{}` did not exit cleanly on SIG{signal}: {}{}",
            finished.shown,
            finished.status,
            finished.text()
        );
        assert_eq!(finished.stdout, "ready\n", "`{}` must print exactly one line `ready`", finished.shown);
        finished
    }
}
