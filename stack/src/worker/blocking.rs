//! The blocking BSD-style API for ordinary threads: listeners, streams and UDP sockets
//! that behave like `std::net`'s, backed by requests to the workers. Each call is one
//! round trip over a lock-free channel; the worker answers when the socket can.

use core::net::SocketAddrV4;
use std::io;
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver};

use super::command::{Accepted, Command, Datagram, Reply};
use super::runtime::RuntimeHandle;
use crate::socket::{SocketError, SocketHandle};

/// How many accepted connections wait for `accept` before further ones are reset.
const ACCEPT_QUEUE: usize = 4096;
/// How many received datagrams wait for `recv_from` before further ones are dropped.
const DATAGRAM_QUEUE: usize = 4096;

fn call<T>(
    rt: &RuntimeHandle,
    worker: usize,
    make: impl FnOnce(Reply<T>) -> Command,
) -> Result<T, SocketError> {
    let (tx, rx) = bounded(1);
    rt.send(worker, make(tx))?;
    rx.recv().map_err(|_| SocketError::WorkerGone)?
}

fn io_error(err: SocketError) -> io::Error {
    let kind = match err {
        SocketError::WouldBlock => io::ErrorKind::WouldBlock,
        SocketError::AddressInUse(_) => io::ErrorKind::AddrInUse,
        SocketError::ConnectionRefused(_) => io::ErrorKind::ConnectionRefused,
        SocketError::ConnectionReset => io::ErrorKind::ConnectionReset,
        SocketError::TimedOut => io::ErrorKind::TimedOut,
        SocketError::NotConnected => io::ErrorKind::NotConnected,
        SocketError::HostUnreachable(_) => io::ErrorKind::HostUnreachable,
        SocketError::NetworkUnreachable(_) => io::ErrorKind::NetworkUnreachable,
        SocketError::WorkerGone => io::ErrorKind::BrokenPipe,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err)
}

/// A listening socket: every worker listens, and connections are accepted on the
/// worker their SYN reached.
pub struct TcpListener {
    rt: RuntimeHandle,
    local: SocketAddrV4,
    replicas: Vec<(usize, SocketHandle)>,
    accepted: Receiver<Accepted>,
}

impl TcpListener {
    pub fn bind(rt: &RuntimeHandle, addr: SocketAddrV4, backlog: usize) -> io::Result<TcpListener> {
        let (accepted_tx, accepted) = bounded(ACCEPT_QUEUE);
        let mut listener = TcpListener { rt: rt.clone(), local: addr, replicas: Vec::new(), accepted };
        for worker in 0..rt.workers() {
            let accepted = accepted_tx.clone();
            let handle = call(rt, worker, |reply| Command::Listen { addr, backlog, accepted, reply })
                .map_err(io_error)?;
            listener.replicas.push((worker, handle));
        }
        Ok(listener)
    }

    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    /// Waits for the next connection.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddrV4)> {
        let accepted = self.accepted.recv().map_err(|_| io_error(SocketError::WorkerGone))?;
        let stream = TcpStream::new(&self.rt, accepted.worker, accepted.handle);
        Ok((stream, accepted.peer))
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        for &(worker, handle) in &self.replicas {
            let _ = self.rt.send(worker, Command::Close { handle });
        }
    }
}

/// A TCP connection, usable with `std::io::Read` and `Write`. Dropping the last clone
/// closes it gracefully (queued data is still delivered). One thread may read while
/// another writes (`try_clone`), as with `std::net::TcpStream`.
pub struct TcpStream {
    rt: RuntimeHandle,
    worker: usize,
    handle: SocketHandle,
    owner: Arc<CloseOnDrop>,
}

/// Closes the connection when the last clone of a stream goes.
struct CloseOnDrop {
    rt: RuntimeHandle,
    worker: usize,
    handle: SocketHandle,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let _ = self.rt.send(self.worker, Command::Close { handle: self.handle });
    }
}

impl TcpStream {
    /// Opens a connection and waits for the handshake to complete.
    pub fn connect(rt: &RuntimeHandle, remote: SocketAddrV4) -> io::Result<TcpStream> {
        let worker = rt.pick_worker();
        let handle = call(rt, worker, |reply| Command::Connect { remote, reply }).map_err(io_error)?;
        Ok(TcpStream::new(rt, worker, handle))
    }

    fn new(rt: &RuntimeHandle, worker: usize, handle: SocketHandle) -> TcpStream {
        let owner = Arc::new(CloseOnDrop { rt: rt.clone(), worker, handle });
        TcpStream { rt: rt.clone(), worker, handle, owner }
    }

    /// Another handle to the same connection, for reading and writing from two threads.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            rt: self.rt.clone(),
            worker: self.worker,
            handle: self.handle,
            owner: self.owner.clone(),
        })
    }

    /// The worker that owns this connection.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// `shutdown(SHUT_WR)`: a FIN follows the data written so far; reading goes on.
    pub fn shutdown_write(&self) -> io::Result<()> {
        let handle = self.handle;
        call(&self.rt, self.worker, |reply| Command::ShutdownWrite { handle, reply }).map_err(io_error)
    }

    /// TCP_NODELAY.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        let handle = self.handle;
        call(&self.rt, self.worker, |reply| Command::SetNodelay { handle, nodelay, reply }).map_err(io_error)
    }
}

impl io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let (handle, max) = (self.handle, buf.len());
        let data =
            call(&self.rt, self.worker, |reply| Command::Read { handle, max, reply }).map_err(io_error)?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

impl io::Write for TcpStream {
    /// Blocks until all of `buf` is in the send buffer, as a blocking socket does.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let (handle, data) = (self.handle, buf.to_vec());
        call(&self.rt, self.worker, |reply| Command::Write { handle, data, reply }).map_err(io_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A UDP socket. A socket bound to a fixed port is bound on every worker (datagrams
/// arrive wherever the link's hash puts them); one bound to port 0 lives on one worker,
/// whose ephemeral share its port comes from.
pub struct UdpSocket {
    rt: RuntimeHandle,
    local: SocketAddrV4,
    replicas: Vec<(usize, SocketHandle)>,
    datagrams: Receiver<Datagram>,
}

impl UdpSocket {
    pub fn bind(rt: &RuntimeHandle, addr: SocketAddrV4) -> io::Result<UdpSocket> {
        let (datagrams_tx, datagrams) = bounded(DATAGRAM_QUEUE);
        let workers: Vec<usize> =
            if addr.port() == 0 { vec![rt.pick_worker()] } else { (0..rt.workers()).collect() };
        let mut socket = UdpSocket { rt: rt.clone(), local: addr, replicas: Vec::new(), datagrams };
        for worker in workers {
            let datagrams = datagrams_tx.clone();
            let (handle, local) =
                call(rt, worker, |reply| Command::UdpBind { addr, datagrams, reply }).map_err(io_error)?;
            socket.local = local;
            socket.replicas.push((worker, handle));
        }
        debug_assert!(addr.port() != 0 || rt.owner_of(socket.local) == socket.replicas[0].0);
        Ok(socket)
    }

    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    pub fn send_to(&self, data: &[u8], to: SocketAddrV4) -> io::Result<usize> {
        let (worker, handle) = self.replicas[0];
        let data = data.to_vec();
        call(&self.rt, worker, |reply| Command::UdpSend { handle, to, data, reply }).map_err(io_error)
    }

    /// Waits for the next datagram; a datagram longer than `buf` is truncated.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddrV4)> {
        let datagram = self.datagrams.recv().map_err(|_| io_error(SocketError::WorkerGone))?;
        let n = datagram.data.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram.data[..n]);
        Ok((n, datagram.from))
    }

    /// Like `recv_from`, giving up after `timeout`.
    pub fn recv_from_timeout(
        &self,
        buf: &mut [u8],
        timeout: std::time::Duration,
    ) -> io::Result<(usize, SocketAddrV4)> {
        let datagram = self.datagrams.recv_timeout(timeout).map_err(|err| match err {
            crossbeam_channel::RecvTimeoutError::Timeout => io::Error::from(io::ErrorKind::TimedOut),
            crossbeam_channel::RecvTimeoutError::Disconnected => io_error(SocketError::WorkerGone),
        })?;
        let n = datagram.data.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram.data[..n]);
        Ok((n, datagram.from))
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        for &(worker, handle) in &self.replicas {
            let _ = self.rt.send(worker, Command::Close { handle });
        }
    }
}
