//! What the veth benchmarks share (`bench echo`, `bench http`, the demo, the HTTP smoke
//! test): a veth lab removed on drop, server processes stopped by PID, the kernel's hold on
//! Sluice's address for kernel-stack rounds, the cores servers and clients are pinned to.
//! What result files say is `report`'s; the echo servers under test are `echo_servers`'.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::netns;
use crate::tools::{AptTool, Provides};
use crate::veth::{self, Topology};

/// The core the servers (Sluice's worker, kernel servers, nginx) are pinned to.
pub const SERVER_CORE: &str = "0";
/// The core the load client is pinned to.
pub const CLIENT_CORE: &str = "1";
/// How long a server may take to become ready, and to exit after SIGTERM.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// Sluice's address on the stack side, without the prefix length.
pub fn stack_ip() -> &'static str {
    veth::STACK_ADDR.split('/').next().expect("STACK_ADDR has a prefix length")
}

/// A veth lab of one queue (`veth up --name PREFIX`), removed when dropped, whether the
/// task succeeded or not.
pub struct Lab {
    pub topology: Topology,
    prefix: String,
}

impl Lab {
    pub fn up(prefix: &str) -> Result<Lab> {
        let topology = Topology::new(prefix)?;
        veth::up(&topology, 1)?;
        Ok(Lab { topology, prefix: prefix.to_owned() })
    }

    /// The namespace holding the stack side (`sl0`).
    pub fn stack_ns(&self) -> String {
        self.topology.stack_ns()
    }

    /// The namespace holding the kernel peer (`sl1`), where load clients run.
    pub fn peer_ns(&self) -> String {
        self.topology.peer_ns()
    }

    /// A control socket of the lab's own for `sluice serve --control`: the default
    /// /run/sluice/sl0.sock may belong to another lab.
    pub fn control_socket(&self) -> String {
        format!("/run/sluice/{}-{}.sock", self.stack_ns(), veth::STACK_IF)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(err) = veth::down(&self.topology) {
            eprintln!(
                "warning: could not remove the veth lab: {err:#}; run `cargo xtask veth down --name {}`",
                self.prefix
            );
        }
    }
}

/// The kernel's hold on Sluice's address on the stack side, for a kernel round; released
/// when dropped so the next Sluice round finds the address free.
pub struct KernelAddress {
    ns: String,
}

impl KernelAddress {
    pub fn add(ns: &str) -> Result<KernelAddress> {
        Cmd::new("ip").args(["-n", ns, "addr", "add", veth::STACK_ADDR, "dev", veth::STACK_IF]).run()?;
        Ok(KernelAddress { ns: ns.to_owned() })
    }
}

impl Drop for KernelAddress {
    fn drop(&mut self) {
        let removed = Cmd::new("ip")
            .args(["-n", &self.ns, "addr", "del", veth::STACK_ADDR, "dev", veth::STACK_IF])
            .run();
        if let Err(err) = removed {
            eprintln!(
                "warning: could not take {} off {} in {}: {err:#}",
                veth::STACK_ADDR,
                veth::STACK_IF,
                self.ns
            );
        }
    }
}

/// How a server tells that it serves.
#[derive(Clone, Copy, Debug)]
pub enum Readiness {
    /// It prints a line `ready` on stdout (`sluice serve`, kernel_echo).
    PrintsReady,
    /// A TCP socket listens on this port in its namespace (`ss -ltn`, for nginx).
    Listens(u16),
}

/// A server started by a benchmark, stopped by its PID: SIGTERM on `stop`, and on drop
/// (an error on the way) SIGTERM then SIGKILL, so nothing outlives the run.
pub struct Server {
    shown: String,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `program args` in `ns`, pinned to the server core (`ip netns exec` and
    /// `taskset` both exec, so the child's PID is the server's), with stderr (and stdout
    /// for servers that do not print `ready`) to `log`, and waits until it is ready.
    pub fn start(
        ns: &str,
        program: &Path,
        args: &[String],
        log: PathBuf,
        ready: Readiness,
    ) -> Result<Server> {
        let shown =
            format!("ip netns exec {ns} taskset -c {SERVER_CORE} {} {}", program.display(), args.join(" "));
        let stderr =
            std::fs::File::create(&log).with_context(|| format!("could not create {}", log.display()))?;
        let stdout = match ready {
            Readiness::PrintsReady => Stdio::piped(),
            Readiness::Listens(_) => Stdio::from(
                stderr.try_clone().with_context(|| format!("could not reopen {}", log.display()))?,
            ),
        };
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "taskset", "-c", SERVER_CORE])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;
        let mut server = Server { shown, child, log };
        match ready {
            Readiness::PrintsReady => server.await_ready_line()?,
            Readiness::Listens(port) => server.await_listener(ns, port)?,
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            bail!("`{}` exited ({status}) right after becoming ready{}", server.shown, server.log_tail());
        }
        Ok(server)
    }

    /// The command line, as a shell would show it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn await_ready_line(&mut self) -> Result<()> {
        let stdout = self.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if line.trim() == "ready" {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(SERVER_TIMEOUT).is_err() {
            bail!("`{}` did not print `ready` within {SERVER_TIMEOUT:?}{}", self.shown, self.log_tail());
        }
        Ok(())
    }

    fn await_listener(&mut self, ns: &str, port: u16) -> Result<()> {
        let deadline = Instant::now() + SERVER_TIMEOUT;
        let filter = format!("sport = :{port}");
        loop {
            let listening = netns::exec(ns, "ss").args(["-Hltn", &filter]).read()?;
            if !listening.trim().is_empty() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().context("could not poll the server")? {
                bail!(
                    "`{}` exited ({status}) before listening on port {port}{}",
                    self.shown,
                    self.log_tail()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "`{}` did not listen on port {port} within {SERVER_TIMEOUT:?}{}",
                    self.shown,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// The server's process ID (the program's own: `ip netns exec` and `taskset` exec).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote to its log, for error messages.
    pub fn log_tail(&self) -> String {
        match std::fs::read_to_string(&self.log) {
            Ok(text) if !text.trim().is_empty() => {
                format!("; its output ({}):\n{}", self.log.display(), text)
            }
            _ => String::new(),
        }
    }

    /// Whether the server has exited already.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the server to exit, up to `timeout`.
    fn wait(&mut self, timeout: Duration) -> Result<Option<std::process::ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) =
                self.child.try_wait().with_context(|| format!("could not wait for `{}`", self.shown))?
            {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM by PID; fails unless the server exits with status 0 in time.
    pub fn stop(mut self) -> Result<()> {
        Cmd::new("kill").args(["-s", "TERM", &self.pid()]).probe();
        match self.wait(SERVER_TIMEOUT)? {
            Some(status) if status.success() => Ok(()),
            Some(status) => bail!("`{}` ended with {status} on SIGTERM{}", self.shown, self.log_tail()),
            None => bail!("`{}` did not exit within {SERVER_TIMEOUT:?} of SIGTERM", self.shown),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited() {
            return;
        }
        // Sluice detaches its XDP program on SIGTERM; SIGKILL only if it hangs.
        let _ = Command::new("kill").args(["-s", "TERM", &self.pid()]).status();
        if !matches!(self.wait(SERVER_TIMEOUT), Ok(Some(_))) {
            eprintln!("warning: `{}` ignored SIGTERM; killing PID {}", self.shown, self.pid());
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Raises this process's soft limit on open files to its hard limit, so the load clients
/// and kernel servers it starts (which inherit it) can hold `needed` sockets; fails with
/// what to do when even the hard limit is too low (getrlimit(2)).
pub fn raise_open_files(needed: u64) -> Result<()> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error()).context("could not read the open files limit");
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: `raised` is a valid rlimit; a soft limit up to the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error()).context("could not raise the open files limit");
        }
        limit = raised;
    }
    if limit.rlim_cur < needed {
        bail!(
            "the open files limit is {} but {needed} sockets are needed; raise the hard limit \
             (`ulimit -Hn`, /etc/security/limits.conf) or measure fewer connections",
            limit.rlim_cur
        );
    }
    Ok(())
}

/// What every benchmark lab runs besides cargo: iproute2, ethtool (veth up) and taskset.
pub const TOOLS: &[AptTool] = &[
    AptTool { package: "iproute2", provides: Provides::Program("ip"), why: "to create the veth lab" },
    AptTool {
        package: "ethtool",
        provides: Provides::Program("ethtool"),
        why: "to switch TX checksum offload off on the kernel peer",
    },
    AptTool {
        package: "util-linux",
        provides: Provides::Program("taskset"),
        why: "to pin the servers and the client to their cores",
    },
];
