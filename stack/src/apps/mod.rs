//! Small applications on the socket API, and the trait that lets a host run them; the
//! TCP services run on the workers' in-worker event API.

mod dns_server;
pub mod http;
mod http_echo;
mod tcp_echo;
mod udp_echo;

pub use dns_server::DnsServer;
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
