//! The external tools the tasks need, installed on first use: Debian packages through
//! apt-get (root only) and cargo subcommands through `cargo install`.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;

/// A program that comes from a Debian package.
pub struct AptTool {
    pub program: &'static str,
    pub package: &'static str,
    /// Completes "`program` is needed ...".
    pub why: &'static str,
}

pub const TSHARK: AptTool =
    AptTool { program: "tshark", package: "tshark", why: "to decode the simulator's pcaps" };

pub const VALGRIND: AptTool =
    AptTool { program: "valgrind", package: "valgrind", why: "to count instructions with callgrind" };

/// Installs the packages of the tools that are not on `PATH`, with one `apt-get update`
/// before the install. Without root, fails naming the first missing package.
pub fn ensure_apt(tools: &[AptTool]) -> Result<()> {
    let missing: Vec<&AptTool> = tools.iter().filter(|tool| !on_path(tool.program)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root()? {
        let tool = missing[0];
        bail!("{} is needed {}; run as root or `apt-get install {}`", tool.program, tool.why, tool.package);
    }
    Cmd::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive").run()?;
    Cmd::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(missing.iter().map(|tool| tool.package))
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    for tool in missing {
        if !on_path(tool.program) {
            bail!("installed package {} but `{}` is still not on PATH", tool.package, tool.program);
        }
    }
    Ok(())
}

/// Installs cargo-fuzz (`cargo install cargo-fuzz --locked`) unless `cargo fuzz` works.
pub fn ensure_cargo_fuzz() -> Result<()> {
    if Cmd::cargo().args(["fuzz", "--version"]).probe() {
        return Ok(());
    }
    Cmd::cargo().args(["install", "cargo-fuzz", "--locked"]).run()?;
    if !Cmd::cargo().args(["fuzz", "--version"]).probe() {
        bail!("`cargo install cargo-fuzz` succeeded but `cargo fuzz --version` still fails");
    }
    Ok(())
}

/// Fails unless the toolchain has the rustfmt and clippy components (they cannot be
/// installed from here: the toolchain is offline).
pub fn ensure_toolchain_components() -> Result<()> {
    for (subcommand, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        if !Cmd::cargo().args([subcommand, "--version"]).probe() {
            bail!(
                "`cargo {subcommand}` is missing: the Rust toolchain needs its {component} component \
                 (`rustup component add {component}`)"
            );
        }
    }
    Ok(())
}

/// Whether `program` names an executable file in a `PATH` directory.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// Whether the effective user is root, from the `Uid:` line of /proc/self/status
/// (real, effective, saved, filesystem).
pub fn is_root() -> Result<bool> {
    let status_path = Path::new("/proc/self/status");
    let status = std::fs::read_to_string(status_path)
        .with_context(|| format!("could not read {}", status_path.display()))?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .with_context(|| format!("no effective uid in {}", status_path.display()))?;
    Ok(effective == "0")
}
