//! A simulated host running the real stack: an interface, its sockets and an application.

use super::device::SimDevice;
use super::host::Host;
use super::network::PortId;
use crate::apps::App;
use crate::iface::Interface;
use crate::socket::SocketSet;
use crate::time::Instant;

/// Interface and application polls per host poll, at most, before yielding the clock.
const MAX_ROUNDS: usize = 16;

/// A host on the simulated network, running exactly the code a real deployment runs.
#[derive(Debug)]
pub struct StackHost<A: App = ()> {
    port: PortId,
    pub iface: Interface,
    pub sockets: SocketSet,
    pub app: A,
}

impl<A: App> StackHost<A> {
    pub fn new(port: PortId, iface: Interface, mut sockets: SocketSet, app: A) -> StackHost<A> {
        iface.attach(&mut sockets);
        StackHost { port, iface, sockets, app }
    }
}

impl<A: App> Host for StackHost<A> {
    fn port(&self) -> PortId {
        self.port
    }

    /// Interface, then application, then the interface again to send what the
    /// application queued; repeated while frames keep arriving or leaving.
    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        for _ in 0..MAX_ROUNDS {
            let received = self.iface.poll(now, device, &mut self.sockets);
            self.app.poll(now, &mut self.sockets);
            let sent = self.iface.poll(now, device, &mut self.sockets);
            if !received && !sent {
                break;
            }
        }
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        [self.iface.poll_at(now, &self.sockets), self.app.poll_at(now)].into_iter().flatten().min()
    }
}
