//! The echo servers the echo and latency benchmarks measure (RFC 862): Sluice busy- or
//! adaptive-polling, and the kernel stack's epoll server.

use std::path::{Path, PathBuf};

use crate::lab::{stack_ip, SERVER_CORE};
use crate::veth;

/// The echo port (RFC 862).
pub const ECHO_PORT: u16 = 7;

/// The echo application a server runs (RFC 862).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EchoApp {
    Tcp,
    Udp,
}

/// An echo server under test (the echo and latency benchmarks).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EchoStack {
    SluiceBusy,
    SluiceAdaptive,
    Kernel,
}

impl EchoStack {
    pub fn label(self) -> &'static str {
        match self {
            EchoStack::SluiceBusy => "Sluice (busy poll)",
            EchoStack::SluiceAdaptive => "Sluice (adaptive poll)",
            EchoStack::Kernel => "kernel (epoll)",
        }
    }

    /// The stack's name in file names.
    pub fn slug(self) -> &'static str {
        match self {
            EchoStack::SluiceBusy => "sluice",
            EchoStack::SluiceAdaptive => "sluice-adaptive",
            EchoStack::Kernel => "kernel",
        }
    }

    /// The program and arguments serving `app` on this stack, `control` being Sluice's
    /// control socket.
    pub fn server(self, release: &Path, control: &str, app: EchoApp) -> (PathBuf, Vec<String>) {
        match self {
            EchoStack::SluiceBusy | EchoStack::SluiceAdaptive => {
                let poll = if self == EchoStack::SluiceBusy { "busy" } else { "adaptive" };
                let app = match app {
                    EchoApp::Tcp => "echo",
                    EchoApp::Udp => "udp-echo",
                };
                let args = [
                    "serve",
                    "--iface",
                    veth::STACK_IF,
                    "--addr",
                    veth::STACK_ADDR,
                    "--cores",
                    SERVER_CORE,
                    "--poll",
                    poll,
                    "--control",
                    control,
                    app,
                    "--port",
                    &ECHO_PORT.to_string(),
                ];
                (release.join("sluice"), args.map(str::to_owned).to_vec())
            }
            EchoStack::Kernel => {
                let mut args = vec!["--listen".to_owned(), format!("{}:{ECHO_PORT}", stack_ip())];
                if app == EchoApp::Udp {
                    args.push("--udp".to_owned());
                }
                (release.join("kernel_echo"), args)
            }
        }
    }
}
