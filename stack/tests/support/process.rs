//! A process started inside a network namespace (`ip netns exec NS ...`, which execs, so the
//! PID is the program's own): its stdout lines as they come, its stderr kept for failure
//! messages, stopped by PID, and killed when dropped so a failing test leaves nothing behind.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a wait for exit looks again.
const POLL: Duration = Duration::from_millis(20);

pub struct NsProcess {
    shown: String,
    child: Child,
    stdout_lines: Receiver<String>,
    /// The stdout lines taken so far.
    stdout_seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

/// How a process ended, with everything it printed.
pub struct Finished {
    pub shown: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl NsProcess {
    /// Starts `program args` inside `ns`; panics if it cannot start.
    pub fn spawn(ns: &str, program: &str, args: &[&str]) -> NsProcess {
        let shown = format!("ip netns exec {ns} {program} {}", args.join(" "));
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start `{shown}`: {err}"));

        let (line_tx, stdout_lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if line_tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr_sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr_pipe.read(&mut buf) {
                stderr_sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        NsProcess {
            shown,
            child,
            stdout_lines,
            stdout_seen: Vec::new(),
            stderr,
            readers: vec![stdout_reader, stderr_reader],
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the process has not exited yet.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the process has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the process prints the line `expected` on stdout; panics with its output
    /// if it exits first or `timeout` passes.
    pub fn wait_for_line(&mut self, expected: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.trim_end() == expected;
                    self.stdout_seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let output = self.output();
                    panic!("`{}` printed no line {expected:?} within {timeout:?}{output}", self.shown)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
                    let output = self.output();
                    panic!("`{}` ended ({status}) before printing {expected:?}{output}", self.shown)
                }
            }
        }
    }

    /// Sends `signal` (`TERM`, `INT`, ...) to the process by its PID.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap_or_else(|err| panic!("could not run `kill -s {signal} {pid}`: {err}"));
        assert!(status.success(), "`kill -s {signal} {pid}` ({}) failed: {status}", self.shown);
    }

    /// Asks the process to stop with `signal` and waits up to `grace`; one still running
    /// then is killed (SIGKILL). Returns how it ended. For helpers such as a flood
    /// generator, whose exit status the test does not judge.
    pub fn stop_within(mut self, signal: &str, grace: Duration) -> Finished {
        self.signal(signal);
        let deadline = Instant::now() + grace;
        while self.running() && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        if self.running() {
            let _ = self.child.kill();
        }
        self.finish(grace)
    }

    /// Waits for the process to exit and returns how, with all it printed; panics after
    /// `timeout` (the process is then killed by the drop).
    pub fn finish(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => {
                    let output = self.output();
                    panic!("`{}` did not exit within {timeout:?}{output}", self.shown)
                }
                Err(err) => panic!("could not wait for `{}`: {err}", self.shown),
            }
        };
        self.status = Some(status);
        for reader in self.readers.drain(..) {
            reader.join().expect("an output reader thread panicked");
        }
        self.stdout_seen.extend(self.stdout_lines.try_iter());
        let mut stdout = self.stdout_seen.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Finished { shown: self.shown.clone(), status, stdout, stderr: self.stderr() }
    }

    /// The output so far, for failure messages.
    fn output(&mut self) -> String {
        self.stdout_seen.extend(self.stdout_lines.try_iter());
        format!("\n--- stdout:\n{}\n--- stderr:\n{}", self.stdout_seen.join("\n"), self.stderr())
    }
}

impl Drop for NsProcess {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Ok(None) = self.child.try_wait() {
            // SIGKILL by PID (std's Child::kill).
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            let output = self.output();
            eprintln!("--- `{}` (killed when the test failed){output}", self.shown);
        }
    }
}

impl Finished {
    /// Panics with the output unless the process exited with status 0.
    pub fn assert_success(&self) {
        assert!(self.status.success(), "`{}` failed: {}{}", self.shown, self.status, self.text());
    }

    /// stdout and stderr, for failure messages.
    pub fn text(&self) -> String {
        format!("\n--- stdout:\n{}--- stderr:\n{}", self.stdout, self.stderr)
    }
}
