//! The in-worker event API: an application handler that runs on the worker's core, is
//! told of accepts, readable data, writability and closes, and writes its responses
//! straight into the send path. No channel, no copy to another thread: the fastest way
//! to serve from Sluice (the HTTP echo server uses it).
//!
//! Events are edge-triggered, as with epoll's EPOLLET: a handler told a connection is
//! readable should read until `WouldBlock` or end of stream, or it hears nothing more
//! until new data arrives.

use core::net::SocketAddrV4;

use crate::socket::{Readiness, SocketError, SocketHandle, SocketSet};
use crate::time::Instant;
use crate::wire::Ipv4Addr;

/// What a handler may do, lent to it for the duration of one callback.
pub struct Ctx<'a> {
    pub(crate) sockets: &'a mut SocketSet,
    pub(crate) now: Instant,
    pub(crate) worker: usize,
    /// Active opens whose `on_connected` is still due.
    pub(crate) connecting: &'a mut Vec<SocketHandle>,
    /// Closed during this round of events: no further callbacks for them.
    pub(crate) closed_now: &'a mut Vec<SocketHandle>,
}

impl<'a> Ctx<'a> {
    /// What a loop that drives handlers lends them for one callback: `connecting` and
    /// `closed_now` are the loop's own lists, kept across callbacks.
    pub fn new(
        sockets: &'a mut SocketSet,
        now: Instant,
        worker: usize,
        connecting: &'a mut Vec<SocketHandle>,
        closed_now: &'a mut Vec<SocketHandle>,
    ) -> Ctx<'a> {
        Ctx { sockets, now, worker, connecting, closed_now }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// The index of the worker this handler runs on.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// `socket` + `bind` + `listen` on `port` of every local address. Every worker
    /// listens on the port; connections are accepted where their SYN lands.
    pub fn listen(&mut self, port: u16, backlog: usize) -> Result<SocketHandle, SocketError> {
        let handle = self.sockets.tcp_socket()?;
        let result = self
            .sockets
            .bind(handle, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
            .and_then(|_| self.sockets.listen(handle, backlog));
        if let Err(err) = result {
            let _ = self.sockets.close(handle);
            return Err(err);
        }
        Ok(handle)
    }

    /// An active open; `on_connected` (or `on_closed` with an error) follows.
    pub fn connect(&mut self, remote: SocketAddrV4) -> Result<SocketHandle, SocketError> {
        let handle = self.sockets.tcp_socket()?;
        if let Err(err) = self.sockets.connect(handle, remote, self.now) {
            let _ = self.sockets.close(handle);
            return Err(err);
        }
        self.connecting.push(handle);
        Ok(handle)
    }

    /// Queues bytes for sending; returns how many fit in the send buffer.
    pub fn send(&mut self, conn: SocketHandle, data: &[u8]) -> Result<usize, SocketError> {
        self.sockets.send(conn, data)
    }

    /// Copies received bytes out; `Ok(0)` is end of stream.
    pub fn recv(&mut self, conn: SocketHandle, buf: &mut [u8]) -> Result<usize, SocketError> {
        self.sockets.recv(conn, buf)
    }

    /// Lends the received bytes in place (the contiguous front of the receive buffer,
    /// no copy); `f` returns how many it consumed. `Ok(None)` is end of stream,
    /// `Err(WouldBlock)` means nothing has arrived yet.
    pub fn recv_in_place<R>(
        &mut self,
        conn: SocketHandle,
        f: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<Option<R>, SocketError> {
        self.sockets.recv_in_place(conn, f)
    }

    /// Room left in the send buffer.
    pub fn send_capacity(&self, conn: SocketHandle) -> Result<usize, SocketError> {
        self.sockets.send_capacity(conn)
    }

    pub fn shutdown_write(&mut self, conn: SocketHandle) -> Result<(), SocketError> {
        self.sockets.shutdown_write(conn)
    }

    pub fn set_nodelay(&mut self, conn: SocketHandle, nodelay: bool) -> Result<(), SocketError> {
        self.sockets.set_nodelay(conn, nodelay)
    }

    /// Closes gracefully (queued data is still delivered, then FIN).
    pub fn close(&mut self, conn: SocketHandle) -> Result<(), SocketError> {
        self.closed_now.push(conn);
        self.sockets.close(conn)
    }

    /// The whole socket set, for what the calls above do not cover (UDP, options).
    pub fn sockets(&mut self) -> &mut SocketSet {
        self.sockets
    }
}

/// An application on a [`Stack`](crate::stack::Stack): the one application model, run
/// by the workers, the simulator's hosts and the blocking API alike. One instance runs on
/// each worker; every callback has default no-op behaviour except `on_readable`.
///
/// A handler is told of its sockets' events (edge-triggered, see the module docs), or,
/// with [`EVENTS`](Handler::EVENTS) false, is a polled application that reads and writes
/// its sockets in [`poll`](Handler::poll) and leaves their events queued.
pub trait Handler: Send {
    /// Whether the stack hands this handler its sockets' events.
    const EVENTS: bool = true;

    /// One socket's event; by default, the callbacks below in the order a worker makes
    /// them ([`dispatch_event`]). A handler that shares the stack with other owners of
    /// sockets (the blocking API) looks here first.
    fn event(&mut self, ctx: &mut Ctx<'_>, handle: SocketHandle, readiness: Readiness) {
        dispatch_event(self, ctx, handle, readiness);
    }

    /// Once, on the worker thread, before the first packet: open listeners here.
    fn start(&mut self, _ctx: &mut Ctx<'_>) -> Result<(), SocketError> {
        Ok(())
    }

    /// A connection was accepted on one of this handler's listeners.
    fn on_accept(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle, _peer: SocketAddrV4) {}

    /// An active open completed its handshake.
    fn on_connected(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    /// Data or end of stream (read until `WouldBlock` or `Ok(0)`).
    fn on_readable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle);

    /// Room appeared in the send buffer.
    fn on_writable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    /// The connection is over: both directions closed, reset, or failed (then
    /// `ctx.sockets().tcp_error(conn)` says why). The handler should `close` it.
    fn on_closed(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let _ = ctx.close(conn);
    }

    /// Once per loop iteration, after the events (for work not driven by a socket,
    /// e.g. UDP services or timers).
    fn poll(&mut self, _ctx: &mut Ctx<'_>) {}

    /// When `poll` next needs to run, if the worker may sleep.
    fn poll_at(&self, _now: Instant) -> Option<Instant> {
        None
    }

    /// Appends the application's counters, for `sluice stat` (its APP section).
    fn counters(&self, _out: &mut Vec<(&'static str, u64)>) {}
}

/// Tells `handler` what changed on `handle`, in the order a worker does: accepts on a
/// listener, then connected, readable, writable and closed; nothing for a connection
/// the handler closed earlier in this round.
pub fn dispatch_event<H: Handler + ?Sized>(
    handler: &mut H,
    ctx: &mut Ctx<'_>,
    handle: SocketHandle,
    readiness: Readiness,
) {
    if ctx.closed_now.contains(&handle) {
        return;
    }
    if ctx.sockets.is_listener(handle) {
        while let Ok((conn, peer)) = ctx.sockets.accept(handle) {
            handler.on_accept(ctx, conn, peer);
        }
        return;
    }
    if readiness.connected {
        if let Some(at) = ctx.connecting.iter().position(|&h| h == handle) {
            ctx.connecting.swap_remove(at);
            handler.on_connected(ctx, handle);
        }
    }
    if readiness.readable && !ctx.closed_now.contains(&handle) {
        handler.on_readable(ctx, handle);
    }
    if readiness.writable && !ctx.closed_now.contains(&handle) {
        handler.on_writable(ctx, handle);
    }
    if (readiness.closed || readiness.error) && !ctx.closed_now.contains(&handle) {
        ctx.connecting.retain(|&h| h != handle);
        handler.on_closed(ctx, handle);
    }
}

/// A stack whose sockets the caller drives itself, between polls (tests, scripted
/// hosts): nothing runs inside, and events stay queued for the caller's `take_events`.
impl Handler for () {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}
}

/// A worker without an in-worker application (threads use the blocking API).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHandler;

impl Handler for NoHandler {
    fn on_readable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        // Never reached: only a handler's own sockets are reported to it.
        let _ = ctx.close(conn);
    }
}
