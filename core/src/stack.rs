//! One stack: an interface, its socket table and the application handler on them, driven
//! sans-I/O (as quinn-proto is): the caller brings the time and a device, [`Stack::poll`]
//! takes the frames that arrived and writes the frames to send, and [`Stack::poll_at`]
//! says when it next needs a poll. The AF_XDP worker, the simulator's hosts and the
//! in-memory benchmarks all run this same loop; only the device and the clock differ.

use std::sync::Arc;

use crate::apps::{Ctx, Handler};
use crate::iface::{ConfigError, FlowTable, Interface, InterfaceConfig, Steering};
use crate::phy::Device;
use crate::socket::{PortShare, Readiness, SocketError, SocketHandle, SocketSet, SocketSetConfig};
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

    /// Worker `index` of `count` on one multi-queue link: with several, its interface
    /// hands frames that belong to other workers to them (by ephemeral port, ARP replies
    /// to all, strays by the shared `flows` directory), and its sockets take ephemeral
    /// ports from their own residue class and report their connections to `flows`.
    pub fn for_worker(
        index: usize,
        count: usize,
        mut iface: InterfaceConfig,
        sockets: SocketSetConfig,
        flows: &Arc<FlowTable>,
        handler: H,
    ) -> Result<Stack<H>, ConfigError> {
        // Distinct IPv4 identification sequences, so fragments of two workers never mix.
        iface.ident_seed = iface.ident_seed.wrapping_add((index as u16).wrapping_mul(0x9e37));
        let mut iface = Interface::new(iface)?;
        let share = PortShare { index: index as u16, of: count as u16 };
        if count > 1 {
            iface.set_steering(Steering { worker: share.index, workers: share.of });
            iface.set_flow_directory(flows.clone());
        }
        let sockets = SocketSet::new(SocketSetConfig {
            ephemeral_share: share,
            track_flows: count > 1,
            ephemeral_seed: sockets.ephemeral_seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ..sockets
        });
        Ok(Stack::new(index, iface, sockets, handler))
    }

    /// This stack's worker index.
    pub fn worker(&self) -> usize {
        self.worker
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
