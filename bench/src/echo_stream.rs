//! One TCP connection to an echo server (RFC 862), carrying numbered messages.
//!
//! Messages are pipelined: [`EchoStream::send`] queues one whatever is still in flight, and
//! as the echo comes back in order each message is checked byte for byte against the one
//! at the head of the queue. A closed-loop client sends the next message only after the
//! echo of the last; an open-loop client sends on its schedule. Each message carries an
//! opaque start time which comes back with its echo.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::net::TcpStream;

use crate::echo_message;

/// A message sent and not yet echoed.
#[derive(Debug)]
struct InFlight {
    sequence: u64,
    start: Instant,
}

#[derive(Debug)]
pub struct EchoStream {
    stream: TcpStream,
    size: usize,
    /// Bytes queued for the socket; `out[..written]` are already written.
    out: Vec<u8>,
    written: usize,
    /// Echo bytes of the head message received so far.
    echo: Vec<u8>,
    in_flight: VecDeque<InFlight>,
    next_sequence: u64,
}

impl EchoStream {
    /// Connects (blocking, up to `timeout`) with TCP_NODELAY, then makes the socket
    /// non-blocking for a mio event loop.
    pub fn connect(server: SocketAddr, timeout: Duration, size: usize) -> Result<EchoStream> {
        let stream = StdTcpStream::connect_timeout(&server, timeout)
            .with_context(|| format!("could not connect to {server}; is the echo server running?"))?;
        stream.set_nodelay(true).context("could not set TCP_NODELAY")?;
        stream.set_nonblocking(true).context("could not make the socket non-blocking")?;
        Ok(EchoStream {
            stream: TcpStream::from_std(stream),
            size,
            out: Vec::with_capacity(size),
            written: 0,
            echo: Vec::with_capacity(size),
            in_flight: VecDeque::new(),
            next_sequence: 1,
        })
    }

    /// The socket, to register with a [`mio::Poll`].
    pub fn source(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Messages sent whose echo has not come back completely.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Queues the next message, tagged with `start`, and writes what the socket takes.
    pub fn send(&mut self, start: Instant) -> std::io::Result<()> {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let at = self.out.len();
        self.out.resize(at + self.size, 0);
        echo_message::fill(&mut self.out[at..], sequence);
        self.in_flight.push_back(InFlight { sequence, start });
        self.flush()
    }

    /// Writes queued bytes until done or the socket is full (not an error).
    pub fn flush(&mut self) -> std::io::Result<()> {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
        }
        Ok(())
    }

    /// Reads what has arrived, using `buf` as scratch, and pushes the start time of every
    /// message whose whole echo is now in onto `done`, oldest first.
    pub fn receive(&mut self, buf: &mut [u8], done: &mut Vec<Instant>) -> std::io::Result<()> {
        loop {
            let n = match self.stream.read(buf) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            let mut bytes = &buf[..n];
            while !bytes.is_empty() {
                let Some(head) = self.in_flight.front() else {
                    return Err(std::io::Error::new(
                        ErrorKind::InvalidData,
                        "the server sent bytes beyond every message in flight",
                    ));
                };
                let take = (self.size - self.echo.len()).min(bytes.len());
                self.echo.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if self.echo.len() < self.size {
                    break;
                }
                if !echo_message::matches(&self.echo, head.sequence) {
                    return Err(std::io::Error::new(
                        ErrorKind::InvalidData,
                        format!("the echo of message {} differs from what was sent", head.sequence),
                    ));
                }
                done.push(head.start);
                self.in_flight.pop_front();
                self.echo.clear();
            }
        }
    }
}
