//! A simulated host running the real stack: a [`Stack`] (interface, sockets and the
//! application handler) on one port of the simulated network, polled by the same loop
//! a worker runs.

use core::ops::{Deref, DerefMut};

use super::device::SimDevice;
use super::host::Host;
use super::network::PortId;
use crate::apps::Handler;
use crate::iface::Interface;
use crate::socket::SocketSet;
use crate::stack::Stack;
use crate::time::Instant;

/// Stack polls per host poll, at most, before yielding the clock.
const MAX_ROUNDS: usize = 16;

/// A host on the simulated network, running exactly the code a real deployment runs.
/// It derefs to its [`Stack`]: `host.iface`, `host.sockets`, `host.handler`.
#[derive(Debug)]
pub struct StackHost<H: Handler = ()> {
    port: PortId,
    pub stack: Stack<H>,
}

impl<H: Handler> StackHost<H> {
    pub fn new(port: PortId, iface: Interface, sockets: SocketSet, handler: H) -> StackHost<H> {
        StackHost { port, stack: Stack::new(0, iface, sockets, handler) }
    }
}

impl<H: Handler> Deref for StackHost<H> {
    type Target = Stack<H>;

    fn deref(&self) -> &Stack<H> {
        &self.stack
    }
}

impl<H: Handler> DerefMut for StackHost<H> {
    fn deref_mut(&mut self) -> &mut Stack<H> {
        &mut self.stack
    }
}

impl<H: Handler> Host for StackHost<H> {
    fn port(&self) -> PortId {
        self.port
    }

    /// The stack's poll, repeated while frames keep arriving or leaving. The first poll
    /// starts the handler (a failure panics: a test's setup error).
    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        if !self.stack.is_started() {
            if let Err(err) = self.stack.start(now) {
                panic!("the application failed to start: {err}");
            }
        }
        for _ in 0..MAX_ROUNDS {
            if !self.stack.poll(now, device) {
                break;
            }
        }
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        if !self.stack.is_started() {
            return Some(now);
        }
        self.stack.poll_at(now)
    }
}
