//! The external tools the tasks need, installed on first use: Debian packages through
//! apt-get (root only) and cargo subcommands through `cargo install`.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;

/// Something a Debian package installs, and how to tell whether it is there.
pub enum Provides {
    /// A program on `PATH`.
    Program(&'static str),
    /// A file at a fixed path (headers and libraries of `-dev` packages).
    File(&'static str),
}

impl Provides {
    fn present(&self) -> bool {
        match self {
            Provides::Program(program) => on_path(program),
            Provides::File(path) => Path::new(path).exists(),
        }
    }

    fn shown(&self) -> &'static str {
        match self {
            Provides::Program(program) | Provides::File(program) => program,
        }
    }
}

/// A Debian package a task needs.
pub struct AptTool {
    pub package: &'static str,
    pub provides: Provides,
    /// Completes "`provides` is needed ...".
    pub why: &'static str,
}

impl AptTool {
    pub const fn program(program: &'static str, why: &'static str) -> AptTool {
        AptTool { package: program, provides: Provides::Program(program), why }
    }
}

pub const TSHARK: AptTool = AptTool::program("tshark", "to decode the simulator's pcaps");

pub const VALGRIND: AptTool = AptTool::program("valgrind", "to count instructions with callgrind");

/// What building the XDP program (stack/build.rs, clang `-target bpf`) and xsk-rs
/// (`use_cc_build` compiles libbpf and libxdp) need: the list the build's rustc wrapper
/// checks (stack/system-packages/build-packages.txt), so the two cannot drift apart.
pub fn build_deps() -> Vec<AptTool> {
    const LIST: &str = include_str!("../../stack/system-packages/build-packages.txt");
    LIST.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split_whitespace();
            let package = fields.next().expect("a non-empty line has a first field");
            let provides = fields.next().unwrap_or_else(|| panic!("no provides field in `{line}`"));
            let why = line[line.find(provides).expect("provides is in the line") + provides.len()..].trim();
            let provides = if provides.starts_with('/') {
                Provides::File(provides)
            } else {
                Provides::Program(provides)
            };
            AptTool { package, provides, why }
        })
        .collect()
}

/// What the veth integration tests (stack/tests/veth.rs) run in their namespaces.
pub const VETH_TEST_DEPS: &[AptTool] = &[
    AptTool {
        package: "iproute2",
        provides: Provides::Program("ip"),
        why: "to create namespaces, veth pairs and netem qdiscs",
    },
    AptTool::program("ethtool", "to switch TX checksum offload off on the kernel peer"),
    AptTool::program("arping", "to send ARP requests to Sluice"),
    AptTool::program("bpftool", "to list the bpf_links a killed process must not leave behind"),
    AptTool {
        package: "iputils-ping",
        provides: Provides::Program("ping"),
        why: "to send ICMP echo requests to Sluice",
    },
    AptTool {
        package: "dnsmasq-base",
        provides: Provides::Program("dnsmasq"),
        why: "to answer Sluice's DNS queries",
    },
    AptTool { package: "netcat-openbsd", provides: Provides::Program("nc"), why: "for kernel TCP clients" },
    AptTool::program("python3", "for the kernel TCP clients and servers"),
    AptTool::program("hping3", "to flood Sluice with spoofed SYNs"),
];

/// Installs the packages whose program or file is missing, with one `apt-get update`
/// before the install. Without root, fails naming the first missing package.
pub fn ensure_apt(tools: &[AptTool]) -> Result<()> {
    let missing: Vec<&AptTool> = tools.iter().filter(|tool| !tool.provides.present()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root()? {
        let tool = missing[0];
        bail!(
            "{} is needed {}; run as root or `apt-get install {}`",
            tool.provides.shown(),
            tool.why,
            tool.package
        );
    }
    Cmd::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive").run()?;
    Cmd::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(missing.iter().map(|tool| tool.package))
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    for tool in missing {
        if !tool.provides.present() {
            bail!("installed package {} but {} is still missing", tool.package, tool.provides.shown());
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

/// Fails with what to do unless running as root.
pub fn require_root(task: &str) -> Result<()> {
    if !is_root()? {
        bail!(
            "`cargo xtask {task}` needs root (network namespaces, XDP and AF_XDP need CAP_NET_ADMIN \
             and CAP_BPF); re-run it with sudo: `sudo -E env \"PATH=$PATH\" cargo xtask {task} ...`"
        );
    }
    Ok(())
}
