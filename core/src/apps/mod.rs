//! Applications: the one application model, [`Handler`] (lent a [`Ctx`] per callback),
//! which the services, the blocking API and the simulator's applications are built on,
//! and the services themselves.

mod dns_server;
mod handler;
pub mod http;
mod http_echo;
mod tcp_echo;
mod udp_echo;

pub use dns_server::DnsServer;
pub use handler::{dispatch_event, Ctx, Handler, NoHandler};
pub use http_echo::{HttpEchoService, HTTP_ECHO_PORT};
pub use tcp_echo::{TcpService, TcpServiceKind, DISCARD_PORT};
pub use udp_echo::{UdpEcho, UdpEchoService, ECHO_PORT};

use crate::dns::Resolver;
use crate::socket::SocketHandle;
use crate::time::Instant;

/// The polled services: each reads and writes its sockets in `poll`.
impl Handler for UdpEcho {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        UdpEcho::poll(self, ctx.sockets());
    }
}

impl Handler for DnsServer {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        DnsServer::poll(self, ctx.sockets());
    }
}

impl Handler for Resolver {
    const EVENTS: bool = false;

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        Resolver::poll(self, now, ctx.sockets());
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        Resolver::poll_at(self, now)
    }
}
