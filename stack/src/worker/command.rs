//! What threads outside the workers ask of them: the requests behind the blocking
//! socket API, and inspection. Each request carries the channel its answer goes back on.

use core::net::SocketAddrV4;

use crossbeam_channel::Sender;

use super::view::WorkerView;
use crate::socket::{SocketError, SocketHandle};

/// A connection accepted on a listener of the blocking API, waiting for `accept`.
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    pub worker: usize,
    pub handle: SocketHandle,
    pub peer: SocketAddrV4,
}

/// A datagram received on a UDP socket of the blocking API.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub from: SocketAddrV4,
    pub data: Vec<u8>,
}

pub type Reply<T> = Sender<Result<T, SocketError>>;

pub enum Command {
    /// Listen on `addr` on this worker; accepted connections go to `accepted`.
    Listen {
        addr: SocketAddrV4,
        backlog: usize,
        accepted: Sender<Accepted>,
        reply: Reply<SocketHandle>,
    },
    /// Active open; the reply comes when the handshake completes or fails.
    Connect {
        remote: SocketAddrV4,
        reply: Reply<SocketHandle>,
    },
    /// Up to `max` bytes, as soon as at least one is there (empty: end of stream).
    Read {
        handle: SocketHandle,
        max: usize,
        reply: Reply<Vec<u8>>,
    },
    /// All of `data` into the send buffer; the reply comes when the last byte is in.
    Write {
        handle: SocketHandle,
        data: Vec<u8>,
        reply: Reply<usize>,
    },
    ShutdownWrite {
        handle: SocketHandle,
        reply: Reply<()>,
    },
    SetNodelay {
        handle: SocketHandle,
        nodelay: bool,
        reply: Reply<()>,
    },
    Close {
        handle: SocketHandle,
    },
    /// Bind a UDP socket; received datagrams go to `datagrams`.
    UdpBind {
        addr: SocketAddrV4,
        datagrams: Sender<Datagram>,
        reply: Reply<(SocketHandle, SocketAddrV4)>,
    },
    UdpSend {
        handle: SocketHandle,
        to: SocketAddrV4,
        data: Vec<u8>,
        reply: Reply<usize>,
    },
    /// Runs on the worker with a read-only view of its state (listings, counters).
    Inspect(Box<dyn FnOnce(&WorkerView<'_>) + Send>),
}
