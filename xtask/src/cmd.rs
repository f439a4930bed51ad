//! Running external commands: echo the command line, and turn a failure into an error that
//! names the command and how it ended.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{bail, Context, Result};

/// A command together with the text it is shown as in logs and errors.
pub struct Cmd {
    command: Command,
    shown: String,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        let program = program.as_ref();
        Cmd { command: Command::new(program), shown: program.to_string_lossy().into_owned() }
    }

    /// The cargo that runs this xtask (`$CARGO`), so nested builds use the same toolchain.
    pub fn cargo() -> Cmd {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Cmd::new(cargo);
        cmd.shown = "cargo".to_owned();
        cmd
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        let arg = arg.as_ref();
        self.shown.push(' ');
        self.shown.push_str(&arg.to_string_lossy());
        self.command.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(self, args: I) -> Cmd {
        args.into_iter().fold(self, Cmd::arg)
    }

    /// Sets an environment variable, shown before the command as in a shell.
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.shown = format!("{key}={value} {}", self.shown);
        self.command.env(key, value);
        self
    }

    /// Runs the command in `dir` instead of the current directory.
    pub fn current_dir(mut self, dir: &Path) -> Cmd {
        self.command.current_dir(dir);
        self
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs with inherited stdio; fails unless the command exits with status 0.
    pub fn run(mut self) -> Result<()> {
        println!("$ {}", self.shown);
        let status = self.command.status().with_context(|| format!("could not start `{}`", self.shown))?;
        check(&self.shown, status)
    }

    /// Runs with stdout and stderr written to `log`; fails unless the exit status is 0.
    pub fn run_logged(mut self, log: &Path) -> Result<()> {
        println!("$ {} > {} 2>&1", self.shown, log.display());
        let file = File::create(log).with_context(|| format!("could not create {}", log.display()))?;
        let status = self
            .command
            .stdout(file.try_clone()?)
            .stderr(file)
            .status()
            .with_context(|| format!("could not start `{}`", self.shown))?;
        check(&self.shown, status)
    }

    /// Replaces this process with the command (execvp), so signals such as Ctrl-C reach it
    /// directly and its exit status becomes this process's; returns only on failure.
    pub fn exec(mut self) -> anyhow::Error {
        use std::os::unix::process::CommandExt;
        println!("$ {}", self.shown);
        let err = self.command.exec();
        anyhow::Error::new(err).context(format!("could not start `{}`", self.shown))
    }

    /// Runs with stdout inherited and stderr passed through line by line; returns the
    /// stderr lines `keep` selects, whether or not the command succeeds, beside its result.
    pub fn run_keeping_stderr(mut self, keep: impl Fn(&str) -> bool) -> (Result<()>, Vec<String>) {
        use std::io::{BufRead, BufReader, Write};
        println!("$ {}", self.shown);
        let mut child = match self.command.stderr(Stdio::piped()).spawn() {
            Ok(child) => child,
            Err(err) => {
                return (
                    Err(anyhow::Error::new(err).context(format!("could not start `{}`", self.shown))),
                    Vec::new(),
                )
            }
        };
        let mut kept = Vec::new();
        let stderr = child.stderr.take().expect("stderr is piped");
        for line in BufReader::new(stderr).split(b'\n') {
            let Ok(line) = line else { break };
            let mut out = std::io::stderr().lock();
            // The caller's terminal going away must not stop the command.
            let _ = out.write_all(&line).and_then(|()| out.write_all(b"\n"));
            let text = String::from_utf8_lossy(&line);
            if keep(&text) {
                kept.push(text.into_owned());
            }
        }
        let result = child
            .wait()
            .with_context(|| format!("could not wait for `{}`", self.shown))
            .and_then(|status| check(&self.shown, status));
        (result, kept)
    }

    /// Runs silently and tells whether the command started and exited with status 0.
    pub fn probe(mut self) -> bool {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Runs and returns its status, stdout and stderr, whatever the status.
    pub fn output(mut self) -> Result<std::process::Output> {
        self.command
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("could not start `{}`", self.shown))
    }

    /// Runs and returns stdout; stderr is passed through.
    pub fn read(mut self) -> Result<String> {
        let output = self
            .command
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("could not start `{}`", self.shown))?;
        check(&self.shown, output.status)?;
        String::from_utf8(output.stdout).with_context(|| format!("`{}` printed non-UTF-8 text", self.shown))
    }
}

fn check(shown: &str, status: ExitStatus) -> Result<()> {
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(code), _) => bail!("`{shown}` failed with exit code {code}"),
        (None, Some(signal)) => bail!("`{shown}` was killed by signal {signal}"),
        (None, None) => bail!("`{shown}` failed: {status}"),
    }
}
