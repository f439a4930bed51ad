//! One UDP socket exchanging numbered request/response datagrams with an echo server
//! (RFC 862, UDP).
//!
//! Each request is one datagram carrying its sequence number ([`crate::echo_message`]); the
//! echo is matched to its request by that number, so reordering is harmless. A request
//! whose echo has not come back within the loss timeout counts as lost; an echo that comes
//! after that (or twice) counts as late and is not timed.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mio::net::UdpSocket;

use crate::echo_message;

/// A request sent and not yet echoed.
#[derive(Debug)]
struct Outstanding {
    sequence: u64,
    start: Instant,
    sent: Instant,
}

#[derive(Debug)]
pub struct EchoDatagram {
    socket: UdpSocket,
    size: usize,
    timeout: Duration,
    datagram: Vec<u8>,
    /// Oldest first (sequence numbers increase).
    outstanding: VecDeque<Outstanding>,
    next_sequence: u64,
    late: u64,
}

impl EchoDatagram {
    /// A socket connected to `server` (so only its datagrams arrive). `size` >= 8 holds
    /// the sequence number.
    pub fn connect(server: SocketAddr, size: usize, timeout: Duration) -> Result<EchoDatagram> {
        if size < 8 {
            bail!("UDP requests need at least 8 bytes for their sequence number, not {size}");
        }
        let any: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
        let socket = UdpSocket::bind(any).context("could not bind a UDP socket")?;
        socket.connect(server).with_context(|| format!("could not connect a UDP socket to {server}"))?;
        Ok(EchoDatagram {
            socket,
            size,
            timeout,
            datagram: vec![0; size.max(64 * 1024)],
            outstanding: VecDeque::new(),
            next_sequence: 1,
            late: 0,
        })
    }

    /// The socket, to register with a [`mio::Poll`].
    pub fn source(&mut self) -> &mut UdpSocket {
        &mut self.socket
    }

    /// Requests sent whose echo is still awaited.
    pub fn in_flight(&self) -> usize {
        self.outstanding.len()
    }

    /// Sends the next request, tagged with `start`. A full socket buffer drops it, as the
    /// network could: it will count as lost.
    pub fn send(&mut self, start: Instant, now: Instant) -> std::io::Result<()> {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        echo_message::fill(&mut self.datagram[..self.size], sequence);
        loop {
            match self.socket.send(&self.datagram[..self.size]) {
                Ok(n) if n == self.size => break,
                Ok(n) => {
                    return Err(std::io::Error::other(format!(
                        "the kernel sent {n} of a {}-byte datagram",
                        self.size
                    )))
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                // An ICMP port unreachable from an earlier datagram: the server is not
                // (yet, or any more) listening; the request counts as lost.
                Err(err) if err.kind() == ErrorKind::ConnectionRefused => break,
                Err(err) => return Err(err),
            }
        }
        self.outstanding.push_back(Outstanding { sequence, start, sent: now });
        Ok(())
    }

    /// Reads every echo that has arrived and pushes the start time of each request it
    /// answers onto `done`.
    pub fn receive(&mut self, done: &mut Vec<Instant>) -> std::io::Result<()> {
        loop {
            let n = match self.socket.recv(&mut self.datagram) {
                Ok(n) => n,
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) if err.kind() == ErrorKind::ConnectionRefused => continue,
                Err(err) => return Err(err),
            };
            let echo = &self.datagram[..n];
            let sequence = echo_message::sequence(echo).filter(|_| n == self.size);
            let Some(sequence) = sequence.filter(|&s| echo_message::matches(echo, s)) else {
                return Err(std::io::Error::new(
                    ErrorKind::InvalidData,
                    format!(
                        "a {n}-byte datagram came back that is not one of the {}-byte requests",
                        self.size
                    ),
                ));
            };
            match self.outstanding.iter().position(|o| o.sequence == sequence) {
                Some(index) => {
                    let answered = self.outstanding.remove(index).expect("the index was just found");
                    done.push(answered.start);
                }
                None if sequence < self.next_sequence => self.late += 1,
                None => {
                    return Err(std::io::Error::new(
                        ErrorKind::InvalidData,
                        format!("an echo of request {sequence} came back before it was sent"),
                    ))
                }
            }
        }
    }

    /// Gives up on requests sent more than the timeout before `now`, pushing their start
    /// times onto `lost`.
    pub fn expire(&mut self, now: Instant, lost: &mut Vec<Instant>) {
        while let Some(oldest) = self.outstanding.front() {
            if now.duration_since(oldest.sent) < self.timeout {
                break;
            }
            lost.push(oldest.start);
            self.outstanding.pop_front();
        }
    }

    /// When the oldest outstanding request will count as lost.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.outstanding.front().map(|o| o.sent + self.timeout)
    }

    /// Echoes that came too late or twice, so far.
    pub fn late(&self) -> u64 {
        self.late
    }
}
