//! The UDP echo service (RFC 862): every datagram is sent back to its sender.

use core::net::SocketAddrV4;

use crate::socket::{SocketError, SocketHandle, SocketSet, UdpConfig};
use crate::wire::Ipv4Addr;

/// The echo port (RFC 862).
pub const ECHO_PORT: u16 = 7;

#[derive(Debug)]
pub struct UdpEcho {
    socket: SocketHandle,
    buf: Box<[u8]>,
    /// Datagrams echoed.
    pub echoed: u64,
    /// Datagrams not echoed because the send buffer was full.
    pub dropped: u64,
}

impl UdpEcho {
    pub fn bind(sockets: &mut SocketSet, port: u16) -> Result<UdpEcho, SocketError> {
        let socket = sockets.udp_socket(UdpConfig::default())?;
        sockets.bind(socket, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
        Ok(UdpEcho {
            socket,
            buf: vec![0; crate::socket::udp::MAX_PAYLOAD].into_boxed_slice(),
            echoed: 0,
            dropped: 0,
        })
    }

    pub fn socket(&self) -> SocketHandle {
        self.socket
    }

    /// Echoes everything received so far.
    pub fn poll(&mut self, sockets: &mut SocketSet) {
        while let Ok((len, from)) = sockets.recv_from(self.socket, &mut self.buf) {
            match sockets.send_to(self.socket, &self.buf[..len], from) {
                Ok(_) => self.echoed += 1,
                Err(_) => self.dropped += 1,
            }
        }
    }
}

/// UDP echo on the in-worker event API: one [`UdpEcho`] per worker, all on the same port
/// (datagrams arrive on whichever worker the link's hash picks).
#[derive(Debug)]
pub struct UdpEchoService {
    port: u16,
    echo: Option<UdpEcho>,
}

impl UdpEchoService {
    pub fn new(port: u16) -> UdpEchoService {
        UdpEchoService { port, echo: None }
    }
}

impl crate::apps::Handler for UdpEchoService {
    fn start(&mut self, ctx: &mut crate::apps::Ctx<'_>) -> Result<(), SocketError> {
        self.echo = Some(UdpEcho::bind(ctx.sockets(), self.port)?);
        Ok(())
    }

    fn on_readable(&mut self, _ctx: &mut crate::apps::Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut crate::apps::Ctx<'_>) {
        if let Some(echo) = &mut self.echo {
            echo.poll(ctx.sockets());
        }
    }
}
