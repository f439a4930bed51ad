//! `cargo xtask build`: installs the build dependencies if missing, then builds the `sluice`
//! package (its build script compiles the XDP program from ebpf/).

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cmd::Cmd;
use crate::tools;

/// Builds `sluice` (library and binary), in release if asked.
pub fn run(release: bool) -> Result<()> {
    tools::ensure_apt(&tools::build_deps())?;
    let mut cmd = Cmd::cargo().args(["build", "-p", "sluice"]);
    if release {
        cmd = cmd.arg("--release");
    }
    cmd.run()
}

/// Where cargo puts the `sluice` binary of a profile: under `$CARGO_TARGET_DIR` when set
/// (relative to the workspace root, where tasks run), else `target/`.
pub fn sluice_binary(root: &Path, release: bool) -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir));
    target.join(if release { "release" } else { "debug" }).join("sluice")
}
