//! `sluice serve`: a service on AF_XDP until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use sluice::apps::http::{HttpEchoConfig, HttpLimits, HttpTimeouts};
use sluice::apps::{
    HttpEchoService, TcpService, TcpServiceKind, UdpEchoService, DISCARD_PORT, ECHO_PORT, HTTP_ECHO_PORT,
};

use crate::datapath::{block_stop_signals, wait_for_signal, Datapath, LinkOptions};

#[derive(Args, Debug)]
pub struct Options {
    #[command(flatten)]
    pub link: LinkOptions,
    /// The control socket for `sluice stat` and `sluice netstat`
    /// (default /run/sluice/IF.sock).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Which TCP/IP stack serves: Sluice on AF_XDP, or the same application on the
    /// kernel's stack (epoll, one thread per --cores entry, SO_REUSEPORT), for comparisons.
    /// With `kernel` the kernel must hold --addr.
    #[arg(long, value_enum, default_value_t = Stack::Sluice)]
    pub stack: Stack,
    #[command(subcommand)]
    pub app: App,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    Sluice,
    Kernel,
}

/// Options of the HTTP echo server.
#[derive(Args, Debug, Clone, Copy)]
pub struct HttpOptions {
    #[arg(long, default_value_t = HTTP_ECHO_PORT)]
    port: u16,
    /// Answer every request with N bytes of a fixed pattern instead of the echo.
    #[arg(long, value_name = "N")]
    body_size: Option<usize>,
    /// Largest request head (request line and headers) before 431.
    #[arg(long, value_name = "BYTES", default_value_t = HttpLimits::default().max_header_bytes)]
    max_header_bytes: usize,
    /// Largest request body before 413.
    #[arg(long, value_name = "BYTES", default_value_t = HttpLimits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Pipelined requests answered but not yet sent, before reading pauses.
    #[arg(long, value_name = "N", default_value_t = HttpLimits::default().max_pipelined)]
    max_pipelined: usize,
    /// Seconds a request head may take from its first byte (or the accept) before the
    /// connection is closed (nginx client_header_timeout).
    #[arg(long, value_name = "SECS", default_value_t = HttpTimeouts::DEFAULT.request_head.as_secs_f64())]
    header_timeout: f64,
    /// Seconds a connection may stay idle between requests before it is closed (nginx
    /// keepalive_timeout).
    #[arg(long, value_name = "SECS", default_value_t = HttpTimeouts::DEFAULT.keepalive.as_secs_f64())]
    keepalive_timeout: f64,
    /// After an error response or `Connection: close`, the server sends its FIN and
    /// reads and drops what the client still sends (so a RST does not destroy the
    /// response) for at most this many seconds (nginx lingering_time).
    #[arg(long, value_name = "SECS", default_value_t = HttpTimeouts::DEFAULT.lingering_time.as_secs_f64())]
    lingering_time: f64,
    /// ...and stops earlier when the client sends nothing for this many seconds (nginx
    /// lingering_timeout).
    #[arg(long, value_name = "SECS", default_value_t = HttpTimeouts::DEFAULT.lingering_timeout.as_secs_f64())]
    lingering_timeout: f64,
}

impl HttpOptions {
    fn config(&self) -> HttpEchoConfig {
        HttpEchoConfig {
            limits: HttpLimits {
                max_header_bytes: self.max_header_bytes,
                max_body_bytes: self.max_body_bytes,
                max_pipelined: self.max_pipelined,
                ..HttpLimits::default()
            },
            fixed_body: self.body_size,
        }
    }

    pub fn timeouts(&self) -> HttpTimeouts {
        HttpTimeouts {
            request_head: std::time::Duration::from_secs_f64(self.header_timeout.max(0.0)),
            keepalive: std::time::Duration::from_secs_f64(self.keepalive_timeout.max(0.0)),
            lingering_time: std::time::Duration::from_secs_f64(self.lingering_time.max(0.0)),
            lingering_timeout: std::time::Duration::from_secs_f64(self.lingering_timeout.max(0.0)),
        }
    }
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
    /// HTTP/1.1 echo: 200 with the request body (or `METHOD PATH` for a request without
    /// one); keep-alive, pipelining, chunked bodies; 400/413/431 for bad requests.
    HttpEcho(HttpOptions),
}

pub fn run(options: &Options) -> Result<()> {
    block_stop_signals();
    if options.stack == Stack::Kernel {
        return run_on_kernel(options);
    }
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
        App::HttpEcho(http) => Datapath::start(&options.link, |_| {
            AnyService::Http(Box::new(HttpEchoService::with_timeouts(
                http.port,
                http.config(),
                http.timeouts(),
            )))
        }),
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

/// `--stack kernel`: the HTTP echo on the kernel's stack until a signal.
fn run_on_kernel(options: &Options) -> Result<()> {
    let App::HttpEcho(http) = options.app else {
        anyhow::bail!(
            "--stack kernel runs http-echo only; the kernel-stack TCP echo baseline is \
             bench's `kernel_echo` (cargo xtask bench echo)"
        );
    };
    let cidr = crate::datapath::parse_cidr(&options.link.addr)?;
    let addr = std::net::SocketAddr::from((cidr.address().octets(), http.port));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let (stop, cores) = (stop.clone(), options.link.cores.clone());
        std::thread::spawn(move || {
            crate::kernel_stack::serve_http(addr, &cores, http.config(), stop, || {
                eprintln!("sluice: serving http-echo on the kernel stack at {addr}");
                println!("ready");
                let _ = std::io::stdout().flush();
            })
        })
    };
    let watcher = stop.clone();
    std::thread::spawn(move || {
        wait_for_signal();
        watcher.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    server.join().map_err(|_| anyhow::anyhow!("the kernel-stack server panicked"))?
}

/// The services `serve` runs, as one handler type.
enum AnyService {
    Tcp(TcpService),
    Udp(UdpEchoService),
    Http(Box<HttpEchoService>),
}

impl sluice::worker::Handler for AnyService {
    fn start(&mut self, ctx: &mut sluice::worker::Ctx<'_>) -> Result<(), sluice::socket::SocketError> {
        match self {
            AnyService::Tcp(s) => s.start(ctx),
            AnyService::Udp(s) => s.start(ctx),
            AnyService::Http(s) => s.start(ctx),
        }
    }

    fn on_accept(
        &mut self,
        ctx: &mut sluice::worker::Ctx<'_>,
        conn: sluice::socket::SocketHandle,
        peer: core::net::SocketAddrV4,
    ) {
        match self {
            AnyService::Tcp(s) => s.on_accept(ctx, conn, peer),
            AnyService::Http(s) => s.on_accept(ctx, conn, peer),
            AnyService::Udp(_) => {}
        }
    }

    fn on_readable(&mut self, ctx: &mut sluice::worker::Ctx<'_>, conn: sluice::socket::SocketHandle) {
        match self {
            AnyService::Tcp(s) => s.on_readable(ctx, conn),
            AnyService::Http(s) => s.on_readable(ctx, conn),
            AnyService::Udp(_) => {}
        }
    }

    fn on_writable(&mut self, ctx: &mut sluice::worker::Ctx<'_>, conn: sluice::socket::SocketHandle) {
        match self {
            AnyService::Tcp(s) => s.on_writable(ctx, conn),
            AnyService::Http(s) => s.on_writable(ctx, conn),
            AnyService::Udp(_) => {}
        }
    }

    fn on_closed(&mut self, ctx: &mut sluice::worker::Ctx<'_>, conn: sluice::socket::SocketHandle) {
        match self {
            AnyService::Http(s) => s.on_closed(ctx, conn),
            _ => {
                let _ = ctx.close(conn);
            }
        }
    }

    fn poll(&mut self, ctx: &mut sluice::worker::Ctx<'_>) {
        match self {
            AnyService::Udp(s) => s.poll(ctx),
            AnyService::Http(s) => s.poll(ctx),
            AnyService::Tcp(_) => {}
        }
    }

    fn poll_at(&self, now: sluice::time::Instant) -> Option<sluice::time::Instant> {
        match self {
            AnyService::Udp(s) => s.poll_at(now),
            AnyService::Http(s) => s.poll_at(now),
            AnyService::Tcp(_) => None,
        }
    }

    fn counters(&self, out: &mut Vec<(&'static str, u64)>) {
        match self {
            AnyService::Tcp(s) => s.counters(out),
            AnyService::Udp(s) => s.counters(out),
            AnyService::Http(s) => s.counters(out),
        }
    }
}
