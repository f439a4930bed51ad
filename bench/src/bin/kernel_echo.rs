//! Echo (RFC 862) on the kernel stack, the baseline of `cargo xtask bench echo` and
//! `cargo xtask bench latency`.
//!
//! The same applications as `sluice serve echo` and `sluice serve udp-echo`, written as a
//! kernel user would: one thread, one epoll loop (mio), non-blocking sockets. TCP (the
//! default) uses TCP_NODELAY and sends every byte back in order; a connection whose peer
//! does not read is not read either until its echo drains. With `--udp` every datagram
//! goes back to its sender as it came; one the socket buffer cannot take is dropped, as
//! UDP may. Prints `ready` on stdout once listening; exits with status 0 on SIGINT or
//! SIGTERM.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};

#[derive(Parser)]
#[command(about = "Single-threaded epoll TCP or UDP echo server on the kernel stack")]
struct Options {
    /// The address to listen on.
    #[arg(long, value_name = "IP:PORT")]
    listen: SocketAddr,
    /// Echo UDP datagrams instead of TCP streams.
    #[arg(long)]
    udp: bool,
}

const LISTENER: Token = Token(usize::MAX - 1);
const STOP: Token = Token(usize::MAX);
/// Bytes read from a connection at a time; also the largest datagram echoed whole.
const READ_CHUNK: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    /// Bytes received and not yet written back.
    pending: Vec<u8>,
}

/// What `serve` left the connection as.
enum State {
    Open,
    Closed,
}

/// Echoes until the socket would block either way; stops reading while an echo is pending.
fn serve(conn: &mut Conn, buf: &mut [u8]) -> std::io::Result<State> {
    loop {
        while !conn.pending.is_empty() {
            match conn.stream.write(&conn.pending) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    conn.pending.drain(..n);
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(State::Open),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        match conn.stream.read(buf) {
            Ok(0) => return Ok(State::Closed),
            Ok(n) => conn.pending.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(State::Open),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Echoes every datagram waiting on `socket` to its sender.
fn serve_datagrams(socket: &UdpSocket, buf: &mut [u8]) -> std::io::Result<()> {
    loop {
        let (n, peer) = match socket.recv_from(buf) {
            Ok(received) => received,
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        match socket.send_to(&buf[..n], peer) {
            Ok(_) => {}
            // Socket buffer full: the echo is dropped, as the network could drop it.
            Err(err) if err.kind() == ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            // The peer's port is gone (ICMP unreachable); others may still be there.
            Err(err) if err.kind() == ErrorKind::ConnectionRefused => {}
            Err(err) => return Err(err),
        }
    }
}

/// Blocks SIGINT and SIGTERM in this thread and every thread it starts afterwards, so
/// that only `sigwait` receives them.
fn stop_signals() -> libc::sigset_t {
    // SAFETY: a zeroed sigset_t is initialised by sigemptyset before use; the calls only read
    // and write the set and this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Tells the benchmark the server is listening.
fn ready() -> Result<()> {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready")?;
    stdout.flush()?;
    Ok(())
}

fn main() -> Result<()> {
    let options = Options::parse();
    let set = stop_signals();

    let mut poll = Poll::new().context("could not create an epoll instance")?;
    let waker = Arc::new(Waker::new(poll.registry(), STOP).context("could not create the stop waker")?);
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let (waker, stopping) = (Arc::clone(&waker), Arc::clone(&stopping));
        std::thread::spawn(move || {
            let mut signal = 0;
            // SAFETY: `set` is an initialised sigset_t and `signal` a live i32 sigwait writes.
            unsafe { libc::sigwait(&set, &mut signal) };
            stopping.store(true, Ordering::Release);
            if let Err(err) = waker.wake() {
                eprintln!("kernel_echo: could not wake the event loop to stop: {err}");
                std::process::exit(1);
            }
        });
    }

    let mut buf = vec![0u8; READ_CHUNK];
    let mut events = Events::with_capacity(1024);
    if options.udp {
        let mut socket = UdpSocket::bind(options.listen).with_context(|| {
            format!("could not bind UDP {}; does this namespace hold that address?", options.listen)
        })?;
        poll.registry().register(&mut socket, LISTENER, Interest::READABLE)?;
        ready()?;
        while !stopping.load(Ordering::Acquire) {
            match poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) => return Err(err).context("epoll_wait failed"),
            }
            if events.iter().any(|e| e.token() == LISTENER) {
                serve_datagrams(&socket, &mut buf).context("the UDP socket failed")?;
            }
        }
        return Ok(());
    }

    let mut listener = TcpListener::bind(options.listen).with_context(|| {
        format!("could not listen on {}; does this namespace hold that address?", options.listen)
    })?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    ready()?;

    while !stopping.load(Ordering::Acquire) {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("epoll_wait failed"),
        }
        for event in &events {
            match event.token() {
                STOP => {}
                LISTENER => loop {
                    let (mut stream, _) = match listener.accept() {
                        Ok(accepted) => accepted,
                        Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                        Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                        Err(err) => {
                            // Out of descriptors or the like: the listener stays, the
                            // connection waits in the backlog.
                            eprintln!("kernel_echo: accept failed: {err}");
                            break;
                        }
                    };
                    stream.set_nodelay(true).context("could not set TCP_NODELAY")?;
                    let index = free.pop().unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    poll.registry().register(
                        &mut stream,
                        Token(index),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conns[index] = Some(Conn { stream, pending: Vec::new() });
                },
                Token(index) => {
                    let Some(conn) = conns.get_mut(index).and_then(Option::as_mut) else { continue };
                    let close = match serve(conn, &mut buf) {
                        Ok(State::Open) => false,
                        Ok(State::Closed) => true,
                        // The load client closes with an echo in flight when its time is up.
                        Err(err) if err.kind() == ErrorKind::ConnectionReset => true,
                        Err(err) => {
                            eprintln!("kernel_echo: connection {index}: {err}");
                            true
                        }
                    };
                    if close {
                        if let Some(mut conn) = conns[index].take() {
                            poll.registry().deregister(&mut conn.stream)?;
                        }
                        free.push(index);
                    }
                }
            }
        }
    }
    Ok(())
}
