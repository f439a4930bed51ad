//! The worker's side of the blocking API: requests from threads wait here until the
//! socket can satisfy them, and are answered from the worker loop.

use std::collections::HashMap;

use crossbeam_channel::Sender;

use super::command::{Accepted, Datagram, Reply};
use crate::socket::{Readiness, SocketError, SocketHandle, SocketSet};

/// How many bytes one read answer carries at most.
const MAX_READ: usize = 256 * 1024;

#[derive(Default)]
struct Stream {
    connect: Option<Reply<SocketHandle>>,
    read: Option<(usize, Reply<Vec<u8>>)>,
    write: Option<(Vec<u8>, usize, Reply<usize>)>,
}

/// The sockets of this worker that belong to threads.
#[derive(Default)]
pub struct BlockingSockets {
    streams: HashMap<SocketHandle, Stream>,
    listeners: HashMap<SocketHandle, Sender<Accepted>>,
    udp: HashMap<SocketHandle, Sender<Datagram>>,
    /// Datagrams dropped because the thread's queue was full.
    pub udp_overflows: u64,
}

impl BlockingSockets {
    pub fn owns(&self, handle: SocketHandle) -> bool {
        self.streams.contains_key(&handle)
            || self.listeners.contains_key(&handle)
            || self.udp.contains_key(&handle)
    }

    pub fn listen(&mut self, handle: SocketHandle, accepted: Sender<Accepted>) {
        self.listeners.insert(handle, accepted);
    }

    pub fn connect(&mut self, handle: SocketHandle, reply: Reply<SocketHandle>) {
        self.streams.insert(handle, Stream { connect: Some(reply), ..Stream::default() });
    }

    pub fn bind_udp(&mut self, handle: SocketHandle, datagrams: Sender<Datagram>) {
        self.udp.insert(handle, datagrams);
    }

    pub fn read(&mut self, sockets: &mut SocketSet, handle: SocketHandle, max: usize, reply: Reply<Vec<u8>>) {
        match self.streams.get_mut(&handle) {
            Some(stream) if stream.read.is_none() => {
                stream.read = Some((max.clamp(1, MAX_READ), reply));
                self.progress(sockets, handle);
            }
            Some(_) => drop(reply.send(Err(SocketError::Busy(handle)))),
            None => drop(reply.send(Err(SocketError::BadDescriptor(handle)))),
        }
    }

    pub fn write(
        &mut self,
        sockets: &mut SocketSet,
        handle: SocketHandle,
        data: Vec<u8>,
        reply: Reply<usize>,
    ) {
        match self.streams.get_mut(&handle) {
            Some(stream) if stream.write.is_none() => {
                stream.write = Some((data, 0, reply));
                self.progress(sockets, handle);
            }
            Some(_) => drop(reply.send(Err(SocketError::Busy(handle)))),
            None => drop(reply.send(Err(SocketError::BadDescriptor(handle)))),
        }
    }

    /// Forgets a socket the thread closed; requests still waiting are dropped, which
    /// wakes their threads with a disconnect.
    pub fn forget(&mut self, handle: SocketHandle) {
        self.streams.remove(&handle);
        self.listeners.remove(&handle);
        self.udp.remove(&handle);
    }

    /// Handles a readiness change of one of our sockets. Returns false if the socket is
    /// not ours.
    pub fn on_event(&mut self, sockets: &mut SocketSet, worker: usize, handle: SocketHandle) -> bool {
        if let Some(accepted) = self.listeners.get(&handle) {
            let accepted = accepted.clone();
            while let Ok((conn, peer)) = sockets.accept(handle) {
                self.streams.insert(conn, Stream::default());
                if accepted.send(Accepted { worker, handle: conn, peer }).is_err() {
                    // The listener was dropped meanwhile: nobody will take it.
                    self.streams.remove(&conn);
                    let _ = sockets.close(conn);
                }
            }
            return true;
        }
        if self.streams.contains_key(&handle) {
            self.progress(sockets, handle);
            return true;
        }
        false
    }

    /// Moves received datagrams of every blocking UDP socket to its thread.
    pub fn poll_udp(&mut self, sockets: &mut SocketSet, buf: &mut [u8]) {
        for (&handle, datagrams) in &self.udp {
            while let Ok((len, from)) = sockets.recv_from(handle, buf) {
                if datagrams.try_send(Datagram { from, data: buf[..len].to_vec() }).is_err() {
                    self.udp_overflows += 1;
                }
            }
        }
    }

    /// Answers what the socket can answer now.
    fn progress(&mut self, sockets: &mut SocketSet, handle: SocketHandle) {
        let Some(stream) = self.streams.get_mut(&handle) else { return };
        let readiness =
            sockets.readiness(handle).unwrap_or(Readiness { closed: true, ..Readiness::default() });
        if let Some(reply) = stream.connect.take() {
            if readiness.connected {
                let _ = reply.send(Ok(handle));
            } else if readiness.error || readiness.closed {
                let error = sockets.tcp_error(handle).ok().flatten().unwrap_or(SocketError::ConnectionReset);
                let _ = reply.send(Err(error));
            } else {
                stream.connect = Some(reply);
            }
        }
        if let Some((max, reply)) = stream.read.take() {
            let mut buf = vec![0; max];
            match sockets.recv(handle, &mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    let _ = reply.send(Ok(buf));
                }
                Err(SocketError::WouldBlock) => stream.read = Some((max, reply)),
                Err(err) => drop(reply.send(Err(err))),
            }
        }
        if let Some((data, mut done, reply)) = stream.write.take() {
            loop {
                match sockets.send(handle, &data[done..]) {
                    Ok(n) => {
                        done += n;
                        if done == data.len() {
                            let _ = reply.send(Ok(done));
                            break;
                        }
                    }
                    Err(SocketError::WouldBlock) => {
                        stream.write = Some((data, done, reply));
                        break;
                    }
                    Err(err) => {
                        let _ = reply.send(Err(err));
                        break;
                    }
                }
            }
        }
    }
}
