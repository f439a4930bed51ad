//! `cargo xtask run -- ARGS`: builds `sluice` in release and runs it inside the stack
//! namespace of `cargo xtask veth up`, as root.
//!
//! What can be checked before anything runs is checked here, each with what to do: root,
//! the namespace, the `--iface` interface, and a kernel address equal to `--addr` on that
//! interface (the kernel would answer ARP and ICMP for it alongside Sluice). An XDP attach
//! the kernel refuses is reported by `sluice` itself, with the kernel's reason.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{bail, Result};

use crate::build;
use crate::cmd::Cmd;
use crate::netns;
use crate::tools;
use crate::veth;

/// Where the binary runs.
pub enum Place {
    /// Inside this network namespace.
    Netns(String),
    /// In the caller's own namespace (a real NIC).
    Host,
}

/// `cwd` is where the user typed the command: relative paths among `args` (such as
/// `--control`) mean what they meant there.
pub fn run(root: &Path, cwd: &Path, place: &Place, args: &[OsString]) -> Result<()> {
    tools::require_root("run")?;
    let ns = match place {
        Place::Netns(ns) => {
            if !netns::exists(ns) {
                bail!("no network namespace {ns}: create it with `cargo xtask veth up` (or pass --host)");
            }
            Some(ns.as_str())
        }
        Place::Host => None,
    };
    let iface = flag_value(args, "--iface");
    if let Some(iface) = &iface {
        check_interface(ns, iface)?;
        if let Some(addr) = flag_value(args, "--addr") {
            check_address_free(ns, iface, &addr)?;
        }
    }

    build::run(true)?;
    let binary = build::sluice_binary(root, true);
    let cmd = match ns {
        Some(ns) => netns::exec(ns, &binary.to_string_lossy()),
        None => Cmd::new(&binary),
    };
    Err(cmd.args(args).current_dir(cwd).exec())
}

/// `ip [-n NS] ARGS`.
fn ip(ns: Option<&str>) -> Cmd {
    match ns {
        Some(ns) => Cmd::new("ip").args(["-n", ns]),
        None => Cmd::new("ip"),
    }
}

fn where_(ns: Option<&str>) -> String {
    ns.map_or_else(|| "this network namespace".to_owned(), |ns| format!("network namespace {ns}"))
}

fn check_interface(ns: Option<&str>, iface: &str) -> Result<()> {
    if !ip(ns).args(["link", "show", "dev", iface]).probe() {
        let list = match ns {
            Some(ns) => format!("ip -n {ns} link"),
            None => "ip link".to_owned(),
        };
        bail!("no interface {iface} in {}; `{list}` lists those there are", where_(ns));
    }
    Ok(())
}

/// Fails if the kernel has `addr`'s IPv4 address on `iface` (any prefix length).
fn check_address_free(ns: Option<&str>, iface: &str, addr: &str) -> Result<()> {
    let ours = addr.split('/').next().unwrap_or(addr);
    let listing = ip(ns).args(["-4", "-o", "addr", "show", "dev", iface]).read()?;
    let owned = listing.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        words.find(|w| *w == "inet")?;
        words.next().filter(|cidr| cidr.split('/').next() == Some(ours))
    });
    if let Some(cidr) = owned {
        let n = ns.map_or_else(String::new, |ns| format!("-n {ns} "));
        bail!(
            "the kernel already owns {ours} on {iface} in {}: it would answer ARP and ping for it \
             too. Remove it (`ip {n}addr del {cidr} dev {iface}`) or give Sluice another --addr \
             (`cargo xtask veth up` leaves {} without a kernel address for this reason)",
            where_(ns),
            veth::STACK_IF
        );
    }
    Ok(())
}

/// The value of `--flag VALUE` or `--flag=VALUE` among the arguments.
fn flag_value(args: &[OsString], flag: &str) -> Option<String> {
    let mut args = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == flag {
            return args.next().map(|v| v.into_owned());
        }
        if let Some(value) = arg.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')) {
            return Some(value.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::flag_value;

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        list.iter().map(Into::into).collect()
    }

    #[test]
    fn flag_value_reads_both_spellings() {
        let a = args(&["serve", "--iface", "sl0", "--addr=10.0.0.1/24", "echo"]);
        assert_eq!(flag_value(&a, "--iface").as_deref(), Some("sl0"));
        assert_eq!(flag_value(&a, "--addr").as_deref(), Some("10.0.0.1/24"));
        assert_eq!(flag_value(&a, "--gateway"), None);
        assert_eq!(flag_value(&args(&["serve", "--iface"]), "--iface"), None);
        assert_eq!(flag_value(&args(&["--ifaces", "x"]), "--iface"), None);
    }
}
