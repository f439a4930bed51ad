//! The HTTP/1.1 echo server on the in-worker event API: one instance per worker, one
//! [`HttpEchoConnection`] per connection (reused from a pool), responses written straight
//! into the send path.
//!
//! Received bytes are handed to the HTTP state machine in place (the receive buffer's
//! front, no copy); it takes no more than it can answer within its output limit, so a
//! client that pipelines faster than it reads is slowed by TCP's window, not by memory.

use core::net::SocketAddrV4;
use std::collections::HashMap;

use super::http::{HttpCounters, HttpEchoConfig, HttpEchoConnection};
use crate::socket::{SocketError, SocketHandle};
use crate::worker::{Ctx, Handler};

/// The default HTTP echo port.
pub const HTTP_ECHO_PORT: u16 = 8080;

/// Connections kept for reuse after they close.
const POOL: usize = 1024;

#[derive(Debug)]
pub struct HttpEchoService {
    port: u16,
    config: HttpEchoConfig,
    sessions: HashMap<SocketHandle, HttpEchoConnection>,
    pool: Vec<HttpEchoConnection>,
    /// Requests answered on this worker, by status, from connections already closed.
    pub counters: HttpCounters,
}

impl HttpEchoService {
    pub fn new(port: u16, config: HttpEchoConfig) -> HttpEchoService {
        HttpEchoService {
            port,
            config,
            sessions: HashMap::new(),
            pool: Vec::new(),
            counters: HttpCounters::default(),
        }
    }

    /// Sends pending responses, then feeds received bytes, until either side blocks.
    fn serve(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let Some(session) = self.sessions.get_mut(&conn) else { return };
        if drive(ctx, conn, session) == Drive::Close {
            self.finish(ctx, conn);
        }
    }

    /// Closes a connection and returns its state machine to the pool.
    fn finish(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        let _ = ctx.close(conn);
        if let Some(mut session) = self.sessions.remove(&conn) {
            self.counters += session.take_counters();
            if self.pool.len() < POOL {
                session.reset();
                self.pool.push(session);
            }
        }
    }
}

impl Handler for HttpEchoService {
    fn start(&mut self, ctx: &mut Ctx<'_>) -> Result<(), SocketError> {
        ctx.listen(self.port, 4096).map(|_| ())
    }

    fn on_accept(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle, _peer: SocketAddrV4) {
        let session = self.pool.pop().unwrap_or_else(|| HttpEchoConnection::new(self.config));
        self.sessions.insert(conn, session);
        let _ = ctx.set_nodelay(conn, true);
        self.serve(ctx, conn);
    }

    fn on_readable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        self.serve(ctx, conn);
    }

    fn on_writable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        self.serve(ctx, conn);
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        self.finish(ctx, conn);
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Drive {
    /// Waiting for the peer's bytes or for room in the send buffer.
    Wait,
    /// Done (or failed): close the connection.
    Close,
}

fn drive(ctx: &mut Ctx<'_>, conn: SocketHandle, session: &mut HttpEchoConnection) -> Drive {
    loop {
        // Output first: the state machine takes input only while it has room.
        while !session.output().is_empty() {
            match ctx.send(conn, session.output()) {
                Ok(n) => session.consume_output(n),
                Err(SocketError::WouldBlock) => return Drive::Wait,
                Err(_) => return Drive::Close,
            }
        }
        if session.should_close() {
            // Every response is in the send buffer: the FIN follows it.
            return Drive::Close;
        }
        if !session.wants_input() {
            return Drive::Wait;
        }
        let read = ctx.recv_in_place(conn, |data| {
            let taken = session.on_bytes(data);
            (taken, taken)
        });
        match read {
            // Took nothing while wanting input, with no output to send: nothing can move.
            Ok(Some(0)) if session.output().is_empty() => return Drive::Wait,
            Ok(Some(_)) => {}
            Ok(None) => session.on_eof(),
            Err(SocketError::WouldBlock) => return Drive::Wait,
            Err(_) => return Drive::Close,
        }
    }
}
