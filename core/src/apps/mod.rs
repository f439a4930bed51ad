//! Applications: the in-worker event API ([`Handler`], lent a [`Ctx`] per callback) that
//! the services and the blocking API are built on, the older polled [`App`] trait the
//! simulator runs, and [`HandlerApp`], which runs a handler as an app so the services the
//! workers run can be tested on virtual time.

mod dns_server;
mod handler;
mod handler_app;
pub mod http;
mod http_echo;
mod tcp_echo;
mod udp_echo;

pub use dns_server::DnsServer;
pub use handler::{dispatch_event, Ctx, Handler, NoHandler};
pub use handler_app::HandlerApp;
pub use http_echo::{HttpEchoService, HTTP_ECHO_PORT};
pub use tcp_echo::{TcpService, TcpServiceKind, DISCARD_PORT};
pub use udp_echo::{UdpEcho, UdpEchoService, ECHO_PORT};

use crate::dns::Resolver;
use crate::socket::SocketSet;
use crate::time::Instant;

/// Application logic driven alongside an interface: polled after each interface poll,
/// it reads and writes its sockets and says when it next needs time.
pub trait App {
    fn poll(&mut self, now: Instant, sockets: &mut SocketSet);

    fn poll_at(&self, _now: Instant) -> Option<Instant> {
        None
    }
}

/// A host without applications.
impl App for () {
    fn poll(&mut self, _now: Instant, _sockets: &mut SocketSet) {}
}

impl<A: App, B: App> App for (A, B) {
    fn poll(&mut self, now: Instant, sockets: &mut SocketSet) {
        self.0.poll(now, sockets);
        self.1.poll(now, sockets);
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        [self.0.poll_at(now), self.1.poll_at(now)].into_iter().flatten().min()
    }
}

impl App for UdpEcho {
    fn poll(&mut self, _now: Instant, sockets: &mut SocketSet) {
        UdpEcho::poll(self, sockets);
    }
}

impl App for DnsServer {
    fn poll(&mut self, _now: Instant, sockets: &mut SocketSet) {
        DnsServer::poll(self, sockets);
    }
}

impl App for Resolver {
    fn poll(&mut self, now: Instant, sockets: &mut SocketSet) {
        Resolver::poll(self, now, sockets);
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        Resolver::poll_at(self, now)
    }
}
