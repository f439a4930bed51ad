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

/// Set by `cargo xtask test` after it installed every tool the tests use: a test that
/// finds one missing fails instead of skipping.
pub const REQUIRE_TOOLS_ENV: &str = "SLUICE_REQUIRE_TOOLS";

/// A program a test runs, and the Debian package that installs it.
pub struct Tool {
    pub program: &'static str,
    pub package: &'static str,
}

/// What the veth and XDP tests run: namespaces and links, the peer's offload switch, and
/// the kernel clients that talk to Sluice.
pub const VETH_TOOLS: &[Tool] = &[
    Tool { program: "ip", package: "iproute2" },
    Tool { program: "ethtool", package: "ethtool" },
    Tool { program: "ping", package: "iputils-ping" },
    Tool { program: "arping", package: "arping" },
    Tool { program: "bpftool", package: "bpftool" },
];

/// What the SYN flood test runs besides [`VETH_TOOLS`].
pub const FLOOD_TOOLS: &[Tool] = &[Tool { program: "hping3", package: "hping3" }];

/// True when every tool is on PATH. Otherwise reports the test skipped with the command
/// that installs the missing ones and returns false, or panics when
/// `SLUICE_REQUIRE_TOOLS` is set (`cargo xtask test` installed them, so one missing is a bug).
pub fn require_tools(tools: &[Tool]) -> bool {
    let missing: Vec<&Tool> = tools.iter().filter(|tool| !on_path(tool.program)).collect();
    if missing.is_empty() {
        return true;
    }
    let programs: Vec<&str> = missing.iter().map(|tool| tool.program).collect();
    let packages: Vec<&str> = missing.iter().map(|tool| tool.package).collect();
    let test = current_test();
    let fix = format!("install with `apt-get install -y {}` or run `cargo xtask test`", packages.join(" "));
    if std::env::var_os(REQUIRE_TOOLS_ENV).is_some() {
        panic!("{test} needs {} ({REQUIRE_TOOLS_ENV} is set): {fix}", programs.join(", "));
    }
    report(&test, &format!("{} missing; {fix}", programs.join(", ")));
    false
}

/// Whether `program` names an executable file in a `PATH` directory.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}
