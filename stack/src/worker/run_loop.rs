//! One worker: a run-to-completion loop on its own core over one queue.
//!
//! Each iteration: frames handed over by other workers and requests from threads, then
//! one [`Stack::poll`] (a receive batch, timers and transmissions, the application's
//! events, a second transmit pass for what it wrote: the loop the simulator runs too),
//! then the frames for other workers, then one flush of the device (one TX kick per
//! batch). The connections in this worker's socket set are touched by this thread alone.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::{Receiver, TryRecvError};

use super::command::Command;
use super::device::QueueDevice;
use super::runtime::{PollMode, Shared};
use super::view::WorkerView;
use super::wake::poll_readable;
use super::worker_handler::WorkerHandler;
use crate::apps::Handler;
use crate::iface::HandoffTarget;
use crate::socket::{FourTuple, PortChange};
use crate::stack::Stack;
use crate::time::{Duration, Instant};

/// Frames handed in, and requests, taken per iteration at most (the rest wait a turn,
/// so neither starves the receive ring).
const INBOX_BATCH: usize = 64;

/// Idle iterations per clock read.
const IDLE_CLOCK_READS: u32 = 8;

pub(super) struct Worker<D: QueueDevice, H: Handler> {
    pub index: usize,
    pub core: Option<usize>,
    pub device: D,
    /// The interface, the sockets, and the blocking API and application on them.
    pub stack: Stack<WorkerHandler<H>>,
    pub commands: Receiver<Command>,
    pub frames: Receiver<Vec<u8>>,
    pub shared: Arc<Shared>,
    pub port_changes: Vec<PortChange>,
    pub flow_changes: Vec<(FourTuple, bool)>,
    pub iterations: u64,
    pub idle_iterations: u64,
    pub busy: Duration,
}

impl<D: QueueDevice, H: Handler> Worker<D, H> {
    /// Starts the handler, then loops until the runtime stops.
    pub fn run(
        mut self,
        started: crossbeam_channel::Sender<(usize, Result<(), crate::socket::SocketError>)>,
    ) {
        let now = self.shared.clock.now();
        let result = self.stack.start(now);
        self.sync_ports();
        let failed = result.is_err();
        let _ = started.send((self.index, result));
        if failed {
            return;
        }
        let mut idle_since: Option<Instant> = None;
        let mut now = self.shared.clock.now();
        let mut idle_streak: u32 = 0;
        let mut busy_from: Option<Instant> = None;
        while !self.shared.stopping.load(Ordering::Relaxed) {
            // Reading the clock is a quarter of an idle iteration where it is not in the
            // vDSO (measured on this VM): idle spins reuse it for a few rounds, which
            // makes `now` at most a few microseconds old when work arrives.
            if idle_streak.is_multiple_of(IDLE_CLOCK_READS) {
                now = self.shared.clock.now();
            }
            // The iteration after a busy one always reads the clock: the busy one's
            // length costs no extra read.
            if let Some(from) = busy_from.take() {
                self.busy += now - from;
            }
            let busy = self.iterate(now);
            self.iterations += 1;
            if busy {
                busy_from = Some(now);
                idle_since = None;
                idle_streak = 0;
                continue;
            }
            idle_streak = idle_streak.wrapping_add(1);
            self.idle_iterations += 1;
            if let PollMode::Adaptive { spin } = self.shared.poll {
                let since = *idle_since.get_or_insert(now);
                if now - since >= spin {
                    self.sleep(now);
                    idle_since = None;
                }
            }
        }
    }

    /// One pass; returns whether anything happened.
    fn iterate(&mut self, now: Instant) -> bool {
        let mut busy = false;
        for _ in 0..INBOX_BATCH {
            match self.frames.try_recv() {
                Ok(frame) => {
                    let stack = &mut self.stack;
                    stack.iface.receive_handoff(now, frame, &mut self.device, &mut stack.sockets);
                    busy = true;
                }
                Err(_) => break,
            }
        }
        for _ in 0..INBOX_BATCH {
            match self.commands.try_recv() {
                Ok(command) => {
                    self.apply(now, command);
                    busy = true;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        busy |= self.stack.poll(now, &mut self.device);
        self.pass_handoffs();
        self.sync_ports();
        self.device.flush();
        busy
    }

    /// Sends frames that belong to other workers to them.
    fn pass_handoffs(&mut self) {
        let peers = &self.shared.peers;
        let mut recycled = Vec::new();
        for handoff in self.stack.iface.take_handoffs() {
            match handoff.to {
                HandoffTarget::Worker(to) => {
                    if let Some(peer) = peers.get(usize::from(to)) {
                        if let Err(err) = peer.frames.try_send(handoff.frame) {
                            self.shared.handoff_overflows.fetch_add(1, Ordering::Relaxed);
                            recycled.push(err.into_inner());
                        } else {
                            peer.waker.wake();
                        }
                    }
                }
                HandoffTarget::AllOthers => {
                    for (index, peer) in peers.iter().enumerate() {
                        if index != self.index && peer.frames.try_send(handoff.frame.clone()).is_ok() {
                            peer.waker.wake();
                        }
                    }
                    recycled.push(handoff.frame);
                }
            }
        }
        for buffer in recycled {
            self.stack.iface.recycle(buffer);
        }
    }

    fn apply(&mut self, now: Instant, command: Command) {
        let Stack { sockets, handler, .. } = &mut self.stack;
        let blocking = &mut handler.blocking;
        match command {
            Command::Listen { addr, backlog, accepted, reply } => {
                let result = sockets.tcp_socket().and_then(|handle| {
                    let bound = sockets.bind(handle, addr).and_then(|_| sockets.listen(handle, backlog));
                    match bound {
                        Ok(()) => Ok(handle),
                        Err(err) => {
                            let _ = sockets.close(handle);
                            Err(err)
                        }
                    }
                });
                if let Ok(handle) = result {
                    blocking.listen(handle, accepted);
                }
                let _ = reply.send(result);
            }
            Command::Connect { remote, reply } => match sockets.tcp_socket() {
                Ok(handle) => match sockets.connect(handle, remote, now) {
                    Ok(()) => blocking.connect(handle, reply),
                    Err(err) => {
                        let _ = sockets.close(handle);
                        let _ = reply.send(Err(err));
                    }
                },
                Err(err) => drop(reply.send(Err(err))),
            },
            Command::Read { handle, max, reply } => blocking.read(sockets, handle, max, reply),
            Command::Write { handle, data, reply } => blocking.write(sockets, handle, data, reply),
            Command::ShutdownWrite { handle, reply } => {
                let _ = reply.send(sockets.shutdown_write(handle));
            }
            Command::SetNodelay { handle, nodelay, reply } => {
                let _ = reply.send(sockets.set_nodelay(handle, nodelay));
            }
            Command::Close { handle } => {
                if blocking.owns(handle) {
                    blocking.forget(handle);
                    let _ = sockets.close(handle);
                }
            }
            Command::UdpBind { addr, datagrams, reply } => {
                let result = sockets.udp_socket(Default::default()).and_then(|handle| {
                    match sockets.bind(handle, addr) {
                        Ok(local) => Ok((handle, local)),
                        Err(err) => {
                            let _ = sockets.close(handle);
                            Err(err)
                        }
                    }
                });
                if let Ok((handle, _)) = result {
                    blocking.bind_udp(handle, datagrams);
                }
                let _ = reply.send(result);
            }
            Command::UdpSend { handle, to, data, reply } => {
                let result = if blocking.owns(handle) {
                    sockets.send_to(handle, &data, to).map(|_| data.len())
                } else {
                    Err(crate::socket::SocketError::BadDescriptor(handle))
                };
                let _ = reply.send(result);
            }
            Command::Inspect(inspect) => {
                let mut device_counters = Vec::new();
                self.device.counters(&mut device_counters);
                let mut app_counters = Vec::new();
                self.stack.handler.counters(&mut app_counters);
                inspect(&WorkerView {
                    worker: self.index,
                    core: self.core,
                    now,
                    iface: &self.stack.iface,
                    sockets: &self.stack.sockets,
                    device_mode: self.device.mode(),
                    device_counters,
                    iterations: self.iterations,
                    idle_iterations: self.idle_iterations,
                    busy: self.busy,
                    app_counters,
                });
            }
        }
    }

    /// Registers the ports that came into use with the filter in front of the stack,
    /// and withdraws those no longer used; records the connections that came and went
    /// in the shared flow directory. Runs before the flush, so a SYN-ACK leaves only
    /// once the other workers can find its connection.
    fn sync_ports(&mut self) {
        self.stack.sockets.take_port_changes(&mut self.port_changes);
        for change in self.port_changes.drain(..) {
            self.shared.ports.apply(change);
        }
        self.stack.sockets.take_flow_changes(&mut self.flow_changes);
        for (tuple, open) in self.flow_changes.drain(..) {
            self.shared.flows.set(tuple, self.index as u16, open);
        }
    }

    /// Sleeps in poll() until a frame, a request or the next timer.
    fn sleep(&mut self, now: Instant) {
        let waker = &self.shared.peers[self.index].waker;
        waker.prepare_sleep();
        // Look once more: work that arrived before the flag was set sent no wake-up.
        if !self.commands.is_empty() || !self.frames.is_empty() || self.shared.stopping.load(Ordering::SeqCst)
        {
            waker.woke();
            return;
        }
        let deadline = self.stack.poll_at(now);
        let timeout_ms = match deadline {
            Some(at) if at <= now => 0,
            Some(at) => ((at - now).as_micros().div_ceil(1000)).min(1000) as i32,
            None => 1000,
        };
        if timeout_ms > 0 {
            match self.device.wake_fd() {
                Some(fd) => poll_readable(&[waker.fd(), fd], timeout_ms),
                None => poll_readable(&[waker.fd()], timeout_ms.min(1)),
            }
        }
        waker.woke();
    }
}
