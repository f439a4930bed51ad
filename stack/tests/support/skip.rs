//! Skipping a test the machine cannot run, loudly: the line goes straight to the process's
//! stderr (libtest captures only `eprintln!`), and `cargo xtask test` lists every such line
//! in its summary, so a skip is never mistaken for a pass.

use std::io::Write;

/// The start of every skip line; `cargo xtask test` looks for it.
pub const SKIPPED: &str = "SKIPPED";

/// Set by `cargo xtask test` when running as root: a test that would skip for want of root
/// fails instead.
pub const REQUIRE_ROOT_ENV: &str = "SLUICE_REQUIRE_ROOT";

/// Writes `SKIPPED (<reason>): <test>` to stderr.
pub fn report(test: &str, reason: &str) {
    let line = format!("{SKIPPED} ({reason}): {test}\n");
    // Nothing sensible is left to do if stderr itself fails.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The name of the running test: libtest names each test's thread after it.
pub fn current_test() -> String {
    std::thread::current().name().unwrap_or("unnamed test").to_owned()
}

/// Whether the effective user is root, from the `Uid:` line of /proc/self/status (real,
/// effective, saved, filesystem).
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    effective == Some("0")
}

/// True when root. Otherwise reports the test skipped and returns false (the test then
/// returns), or panics when `SLUICE_REQUIRE_ROOT=1`.
pub fn require_root() -> bool {
    if is_root() {
        return true;
    }
    let test = current_test();
    if std::env::var_os(REQUIRE_ROOT_ENV).is_some_and(|v| v == "1") {
        panic!("{test} needs root ({REQUIRE_ROOT_ENV}=1 is set): run `cargo xtask test` as root");
    }
    report(&test, "needs root");
    false
}
