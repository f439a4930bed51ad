//! `sluice serve`: a service on AF_XDP until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use sluice::apps::{TcpService, TcpServiceKind, UdpEchoService, DISCARD_PORT, ECHO_PORT};

use crate::datapath::{block_stop_signals, wait_for_signal, Datapath, LinkOptions};

#[derive(Args, Debug)]
pub struct Options {
    #[command(flatten)]
    pub link: LinkOptions,
    /// The control socket for `sluice stat` and `sluice netstat`
    /// (default /run/sluice/IF.sock).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    #[command(subcommand)]
    pub app: App,
}

#[derive(Subcommand, Debug, Clone, Copy)]
pub enum App {
    /// TCP echo (RFC 862): sends back every byte it receives.
    Echo {
        #[arg(long, default_value_t = ECHO_PORT)]
        port: u16,
    },
    /// TCP discard (RFC 863): reads and drops every byte.
    Discard {
        #[arg(long, default_value_t = DISCARD_PORT)]
        port: u16,
    },
    /// UDP echo (RFC 862): sends every datagram back to its sender.
    UdpEcho {
        #[arg(long, default_value_t = ECHO_PORT)]
        port: u16,
    },
}

pub fn run(options: &Options) -> Result<()> {
    block_stop_signals();
    let datapath = match options.app {
        App::Echo { port } => {
            Datapath::start(&options.link, |_| AnyService::Tcp(TcpService::new(TcpServiceKind::Echo, port)))
        }
        App::Discard { port } => Datapath::start(&options.link, |_| {
            AnyService::Tcp(TcpService::new(TcpServiceKind::Discard, port))
        }),
        App::UdpEcho { port } => {
            Datapath::start(&options.link, |_| AnyService::Udp(UdpEchoService::new(port)))
        }
    }?;
    let control = datapath.control(options.control.clone())?;
    eprintln!(
        "sluice: serving {:?} on {} ({} queue(s), {} mode); control socket {}",
        options.app,
        options.link.addr,
        datapath.queues,
        datapath.mode,
        control.path().display()
    );
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready")?;
    stdout.flush()?;
    let signal = wait_for_signal();
    eprintln!("sluice: signal {signal}: stopping the workers and detaching from {}", datapath.iface);
    drop(control);
    drop(datapath);
    Ok(())
}

/// The services `serve` runs, as one handler type.
enum AnyService {
    Tcp(TcpService),
    Udp(UdpEchoService),
}

impl sluice::worker::Handler for AnyService {
    fn start(&mut self, ctx: &mut sluice::worker::Ctx<'_>) -> Result<(), sluice::socket::SocketError> {
        match self {
            AnyService::Tcp(s) => s.start(ctx),
            AnyService::Udp(s) => s.start(ctx),
        }
    }

    fn on_accept(
        &mut self,
        ctx: &mut sluice::worker::Ctx<'_>,
        conn: sluice::socket::SocketHandle,
        peer: core::net::SocketAddrV4,
    ) {
        if let AnyService::Tcp(s) = self {
            s.on_accept(ctx, conn, peer);
        }
    }

    fn on_readable(&mut self, ctx: &mut sluice::worker::Ctx<'_>, conn: sluice::socket::SocketHandle) {
        if let AnyService::Tcp(s) = self {
            s.on_readable(ctx, conn);
        }
    }

    fn on_writable(&mut self, ctx: &mut sluice::worker::Ctx<'_>, conn: sluice::socket::SocketHandle) {
        if let AnyService::Tcp(s) = self {
            s.on_writable(ctx, conn);
        }
    }

    fn poll(&mut self, ctx: &mut sluice::worker::Ctx<'_>) {
        if let AnyService::Udp(s) = self {
            s.poll(ctx);
        }
    }
}
