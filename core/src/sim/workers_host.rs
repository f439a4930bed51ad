//! A simulated host with several workers on one multi-queue port, as the AF_XDP runtime
//! runs them: one [`Stack`] per queue, received frames spread over the queues by
//! receive-side scaling ([`rss_queue`]), frames that belong to another worker handed to
//! it, and connections recorded in a shared [`FlowTable`]. The handoff and the steering
//! run here on virtual time, deterministically, with the workers' own code; only the
//! queues between workers are direct calls instead of lock-free channels.

use std::sync::Arc;

use super::device::SimDevice;
use super::host::Host;
use super::network::PortId;
use crate::apps::Handler;
use crate::iface::{ConfigError, FlowTable, Handoff, HandoffTarget, InterfaceConfig};
use crate::phy::{rss_queue, Device};
use crate::socket::{FourTuple, SocketSetConfig};
use crate::stack::Stack;
use crate::time::Instant;

/// Rounds of worker polls per host poll, at most, before yielding the clock.
const MAX_ROUNDS: usize = 16;

/// What crossed between the workers and the port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkersCounters {
    /// Frames each worker's queue received from the port, by worker.
    pub received: [u64; MAX_WORKERS],
    /// Frames handed from one worker to another (a shared frame counts once per receiver).
    pub handed_off: u64,
    /// Received frames a worker's full queue had no room for.
    pub rx_dropped: u64,
}

/// Workers a host may run.
pub const MAX_WORKERS: usize = 8;

#[derive(Debug)]
pub struct WorkersHost<H: Handler> {
    port: PortId,
    pub workers: Vec<Stack<H>>,
    /// Each worker's receive and transmit queue.
    queues: Vec<SimDevice>,
    flows: Arc<FlowTable>,
    flow_changes: Vec<(FourTuple, bool)>,
    handoffs: Vec<(usize, Handoff)>,
    counters: WorkersCounters,
}

impl<H: Handler> WorkersHost<H> {
    /// `count` workers (at most [`MAX_WORKERS`]) of one interface on `port`, each with
    /// the handler `handler(index)` makes, set up as the runtime sets up its workers.
    pub fn new(
        port: PortId,
        count: usize,
        iface: InterfaceConfig,
        sockets: SocketSetConfig,
        mut handler: impl FnMut(usize) -> H,
    ) -> Result<WorkersHost<H>, ConfigError> {
        assert!((1..=MAX_WORKERS).contains(&count), "1 to {MAX_WORKERS} workers, not {count}");
        let flows = Arc::new(FlowTable::new());
        let workers = (0..count)
            .map(|index| Stack::for_worker(index, count, iface, sockets, &flows, handler(index)))
            .collect::<Result<Vec<_>, _>>()?;
        let queues = (0..count).map(|_| SimDevice::new(iface.mac, 1500)).collect();
        Ok(WorkersHost {
            port,
            workers,
            queues,
            flows,
            flow_changes: Vec::new(),
            handoffs: Vec::new(),
            counters: WorkersCounters::default(),
        })
    }

    pub fn counters(&self) -> WorkersCounters {
        self.counters
    }

    /// The shared directory of which worker owns each connection.
    pub fn flows(&self) -> &FlowTable {
        &self.flows
    }

    /// One worker's poll, then what it produced: its connections recorded, its frames
    /// for other workers collected, its transmitted frames moved to the port.
    fn poll_worker(&mut self, index: usize, now: Instant, port: &mut SimDevice) -> bool {
        let busy = self.workers[index].poll(now, &mut self.queues[index]);
        let worker = &mut self.workers[index];
        worker.sockets.take_flow_changes(&mut self.flow_changes);
        for (tuple, open) in self.flow_changes.drain(..) {
            self.flows.set(tuple, index as u16, open);
        }
        self.handoffs.extend(worker.iface.take_handoffs().map(|handoff| (index, handoff)));
        Self::move_to_port(&mut self.queues[index], port);
        busy
    }

    /// Moves a worker queue's transmitted frames to the port while it has room; the rest
    /// wait in the queue, whose own limit then pushes back on the worker's stack.
    fn move_to_port(queue: &mut SimDevice, port: &mut SimDevice) {
        loop {
            let Some(frame) = queue.queued().next().map(<[u8]>::to_vec) else { break };
            if !port.send(&frame) {
                break;
            }
            queue.take_transmitted();
        }
    }

    /// Gives the collected frames to the workers they belong to.
    fn pass_handoffs(&mut self, now: Instant) {
        let mut handoffs = std::mem::take(&mut self.handoffs);
        for (from, handoff) in handoffs.drain(..) {
            match handoff.to {
                HandoffTarget::Worker(to) => self.deliver(now, usize::from(to), handoff.frame),
                HandoffTarget::AllOthers => {
                    for to in (0..self.workers.len()).filter(|&to| to != from) {
                        self.deliver(now, to, handoff.frame.clone());
                    }
                    self.workers[from].iface.recycle(handoff.frame);
                }
            }
        }
        self.handoffs = handoffs;
    }

    fn deliver(&mut self, now: Instant, to: usize, frame: Vec<u8>) {
        let Some(Stack { iface, sockets, .. }) = self.workers.get_mut(to) else { return };
        self.counters.handed_off += 1;
        iface.receive_handoff(now, frame, &mut self.queues[to], sockets);
    }
}

impl<H: Handler> Host for WorkersHost<H> {
    fn port(&self) -> PortId {
        self.port
    }

    /// Spreads the received frames over the workers' queues, then polls the workers in
    /// turn, passing frames between them, while anything moves. The first poll starts
    /// every worker's handler (a failure panics: a test's setup error).
    fn poll(&mut self, now: Instant, device: &mut SimDevice) {
        for worker in &mut self.workers {
            if !worker.is_started() {
                if let Err(err) = worker.start(now) {
                    panic!("worker {}'s application failed to start: {err}", worker.worker());
                }
            }
        }
        let mtu = device.caps().mtu;
        for queue in &mut self.queues {
            queue.set_mtu(mtu);
        }
        let count = self.workers.len();
        while let Some(frame) = device.recv() {
            let queue = rss_queue(&frame, count);
            if self.queues[queue].inject(frame) {
                self.counters.received[queue] += 1;
            } else {
                self.counters.rx_dropped += 1;
            }
        }
        for _ in 0..MAX_ROUNDS {
            let mut busy = false;
            for index in 0..count {
                busy |= self.poll_worker(index, now, device);
            }
            if self.handoffs.is_empty() && !busy {
                break;
            }
            self.pass_handoffs(now);
        }
        // Replies written while taking handed-off frames leave now, not at the next poll.
        for queue in &mut self.queues {
            Self::move_to_port(queue, device);
        }
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        let waiting = self.queues.iter().any(|queue| queue.rx_pending() > 0 || queue.tx_pending() > 0);
        if waiting || self.workers.iter().any(|worker| !worker.is_started()) {
            return Some(now);
        }
        self.workers.iter().filter_map(|worker| worker.poll_at(now)).min()
    }
}
