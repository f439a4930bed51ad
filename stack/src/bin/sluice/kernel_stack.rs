//! `sluice serve --stack kernel`: the same application code on the kernel's TCP stack, for
//! like-for-like comparisons. One thread per listed core, each with its own epoll loop
//! (mio) and its own SO_REUSEPORT listener, so the kernel spreads connections over them.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use sluice::apps::http::{HttpEchoConfig, HttpEchoConnection};

const LISTENER: Token = Token(usize::MAX);

struct Connection {
    stream: TcpStream,
    session: HttpEchoConnection,
    /// Bytes read but not yet taken by the session (it was waiting for output to drain):
    /// at most one read's worth.
    unfed: Vec<u8>,
}

/// One thread's server.
struct Server {
    poll: Poll,
    listener: TcpListener,
    connections: Vec<Option<Connection>>,
    free: Vec<usize>,
    pool: Vec<HttpEchoConnection>,
    config: HttpEchoConfig,
    buf: Box<[u8]>,
}

fn reuseport_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(TcpListener::from_std(socket.into()))
}

impl Server {
    fn new(addr: SocketAddr, config: HttpEchoConfig) -> Result<Server> {
        let poll = Poll::new()?;
        let mut listener = reuseport_listener(addr).with_context(|| {
            format!("listening on {addr} on the kernel stack (does the kernel hold that address?)")
        })?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Server {
            poll,
            listener,
            connections: Vec::new(),
            free: Vec::new(),
            pool: Vec::new(),
            config,
            buf: vec![0; 64 * 1024].into(),
        })
    }

    fn run(&mut self, stop: &AtomicBool) -> Result<()> {
        let mut events = Events::with_capacity(1024);
        while !stop.load(Ordering::Relaxed) {
            match self.poll.poll(&mut events, Some(Duration::from_millis(100))) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err.into()),
            }
            for event in &events {
                if event.token() == LISTENER {
                    self.accept_all()?;
                } else {
                    self.serve(event.token().0);
                }
            }
        }
        Ok(())
    }

    fn accept_all(&mut self) -> Result<()> {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // Out of descriptors or an aborted handshake: try again on the next event.
                Err(_) => return Ok(()),
            };
            let _ = stream.set_nodelay(true);
            let index = self.free.pop().unwrap_or_else(|| {
                self.connections.push(None);
                self.connections.len() - 1
            });
            self.poll.registry().register(
                &mut stream,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            let session = self.pool.pop().unwrap_or_else(|| HttpEchoConnection::new(self.config));
            self.connections[index] = Some(Connection { stream, session, unfed: Vec::new() });
            self.serve(index);
        }
    }

    /// Writes pending responses and reads requests until the socket blocks (epoll is
    /// edge-triggered), or closes the connection.
    fn serve(&mut self, index: usize) {
        let Some(Some(conn)) = self.connections.get_mut(index) else { return };
        let close = loop {
            let mut failed = false;
            while !conn.session.output().is_empty() {
                match conn.stream.write(conn.session.output()) {
                    Ok(n) => conn.session.consume_output(n),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if failed || conn.session.should_close() {
                break true;
            }
            if !conn.session.output().is_empty() {
                // The writable edge resumes this connection.
                break false;
            }
            if !conn.unfed.is_empty() {
                let taken = conn.session.on_bytes(&conn.unfed);
                conn.unfed.drain(..taken);
                if taken == 0 && conn.session.output().is_empty() {
                    // Neither input nor output can move: never expected; do not spin.
                    break true;
                }
                continue;
            }
            match conn.stream.read(&mut self.buf) {
                Ok(0) => conn.session.on_eof(),
                Ok(n) => {
                    let taken = conn.session.on_bytes(&self.buf[..n]);
                    conn.unfed.extend_from_slice(&self.buf[taken..n]);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        if close {
            if let Some(mut conn) = self.connections[index].take() {
                let _ = conn.stream.shutdown(std::net::Shutdown::Write);
                let _ = self.poll.registry().deregister(&mut conn.stream);
                conn.session.reset();
                self.pool.push(conn.session);
                self.free.push(index);
            }
        }
    }
}

/// Serves `config` on `addr` with one thread per core until `stop` is set; `ready` is
/// called once every thread listens.
pub fn serve_http(
    addr: SocketAddr,
    cores: &[usize],
    config: HttpEchoConfig,
    stop: Arc<AtomicBool>,
    ready: impl FnOnce(),
) -> Result<()> {
    let cores: Vec<Option<usize>> =
        if cores.is_empty() { vec![None] } else { cores.iter().map(|&c| Some(c)).collect() };
    let mut servers = Vec::new();
    for _ in &cores {
        servers.push(Server::new(addr, config)?);
    }
    let threads: Vec<_> = servers
        .into_iter()
        .zip(cores)
        .map(|(mut server, core)| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                if let Some(id) = core {
                    core_affinity::set_for_current(core_affinity::CoreId { id });
                }
                server.run(&stop)
            })
        })
        .collect();
    ready();
    for thread in threads {
        thread.join().map_err(|_| anyhow::anyhow!("a kernel-stack server thread panicked"))??;
    }
    Ok(())
}
