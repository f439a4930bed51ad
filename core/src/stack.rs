//! One stack: an interface, its socket table and the application handler on them, driven
//! sans-I/O (as quinn-proto is): the caller brings the time and a device, [`Stack::poll`]
//! takes the frames that arrived and writes the frames to send, and [`Stack::poll_at`]
//! says when it next needs a poll. The AF_XDP worker, the simulator's hosts and the
//! in-memory benchmarks all run this same loop; only the device and the clock differ.

use crate::apps::{Ctx, Handler};
use crate::iface::Interface;
use crate::phy::Device;
use crate::socket::{Readiness, SocketError, SocketHandle, SocketSet};
use crate::time::Instant;

/// An interface, its sockets and the application that uses them.
#[derive(Debug)]
pub struct Stack<H: Handler> {
    pub iface: Interface,
    pub sockets: SocketSet,
    pub handler: H,
    /// The index of the worker this stack is (0 outside a multi-worker runtime).
    worker: usize,
    started: bool,
    events: Vec<(SocketHandle, Readiness)>,
    /// Active opens whose `on_connected` is still due.
    connecting: Vec<SocketHandle>,
    /// Closed during this round of events: no further callbacks for them.
    closed_now: Vec<SocketHandle>,
}

impl<H: Handler> Stack<H> {
    pub fn new(worker: usize, iface: Interface, mut sockets: SocketSet, handler: H) -> Stack<H> {
        iface.attach(&mut sockets);
        Stack {
            iface,
            sockets,
            handler,
            worker,
            started: false,
            events: Vec::new(),
            connecting: Vec::new(),
            closed_now: Vec::new(),
        }
    }

    /// Starts the handler (its `start` opens listeners), once, before the first `poll`.
    pub fn start(&mut self, now: Instant) -> Result<(), SocketError> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let mut ctx =
            Ctx::new(&mut self.sockets, now, self.worker, &mut self.connecting, &mut self.closed_now);
        self.handler.start(&mut ctx)
    }

    /// One pass: received frames, timers and queued output; then the application's
    /// events and its own poll; then a second transmit pass, so what the application
    /// just wrote leaves in this pass's batch. Returns whether anything happened.
    pub fn poll<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        debug_assert!(self.started, "Stack::start comes before the first poll");
        let mut busy = self.iface.poll(now, device, &mut self.sockets);
        if H::EVENTS {
            busy |= self.dispatch_events(now);
        }
        let mut ctx =
            Ctx::new(&mut self.sockets, now, self.worker, &mut self.connecting, &mut self.closed_now);
        self.handler.poll(&mut ctx);
        if self.sockets.has_tx_ready() {
            busy |= self.iface.poll(now, device, &mut self.sockets);
        }
        busy
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// When `poll` next has work even if no frame arrives.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        [self.iface.poll_at(now, &self.sockets), self.handler.poll_at(now)].into_iter().flatten().min()
    }

    /// What the application's callbacks get, for a call made outside them.
    pub fn ctx(&mut self, now: Instant) -> Ctx<'_> {
        Ctx::new(&mut self.sockets, now, self.worker, &mut self.connecting, &mut self.closed_now)
    }

    /// Tells the handler what changed on its sockets. Returns whether anything did.
    fn dispatch_events(&mut self, now: Instant) -> bool {
        self.sockets.take_events(&mut self.events);
        if self.events.is_empty() {
            return false;
        }
        let mut ctx =
            Ctx::new(&mut self.sockets, now, self.worker, &mut self.connecting, &mut self.closed_now);
        for (handle, readiness) in self.events.drain(..) {
            self.handler.event(&mut ctx, handle, readiness);
        }
        self.closed_now.clear();
        true
    }
}
