//! Starting and stopping the workers, and the handle threads use to reach them.

use core::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};
use thiserror::Error;

use super::clock::Clock;
use super::command::Command;
use super::device::QueueDevice;
use super::ports::{PortFilter, PortRegistrar};
use super::run_loop::Worker;
use super::view::WorkerView;
use super::wake::Waker;
use super::worker_handler::WorkerHandler;
use crate::apps::Handler;
use crate::iface::{ConfigError, FlowTable, InterfaceConfig};
use crate::socket::{PortShare, SocketError, SocketSetConfig};
use crate::stack::Stack;
use crate::time::Duration;

/// How a worker waits for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// Spin on the rings: lowest latency, one core fully used per worker.
    Busy,
    /// Spin while there is work, then after `spin` of idleness sleep in poll() until a
    /// frame, a request or a timer (for machines that cannot spare a core).
    Adaptive { spin: Duration },
}

#[derive(Clone)]
pub struct RuntimeConfig {
    pub iface: InterfaceConfig,
    pub sockets: SocketSetConfig,
    pub poll: PollMode,
    /// The core of each worker, by index; workers beyond the list are not pinned.
    pub cores: Vec<usize>,
    /// Told of every port the stack starts or stops using (the XDP port map).
    pub ports: Option<Arc<dyn PortFilter>>,
    /// Frames one worker may have waiting for another before further ones are dropped.
    pub handoff_queue: usize,
}

impl RuntimeConfig {
    pub fn new(iface: InterfaceConfig) -> RuntimeConfig {
        RuntimeConfig {
            iface,
            sockets: SocketSetConfig::default(),
            poll: PollMode::Busy,
            cores: Vec::new(),
            ports: None,
            handoff_queue: 4096,
        }
    }
}

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("no devices: a runtime needs one device per queue")]
    NoDevices,
    #[error("invalid interface configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("worker {worker} could not start its application: {error}")]
    HandlerStart { worker: usize, error: SocketError },
    #[error("worker {worker} could not be started: {error}")]
    Spawn { worker: usize, error: std::io::Error },
    #[error("core {core} for worker {worker} does not exist on this machine ({available} cores); pass cores that exist")]
    NoSuchCore { worker: usize, core: usize, available: usize },
}

pub(super) struct Peer {
    pub commands: Sender<Command>,
    pub frames: Sender<Vec<u8>>,
    pub waker: Arc<Waker>,
}

/// What every worker and every handle shares.
pub(super) struct Shared {
    pub clock: Clock,
    pub poll: PollMode,
    pub stopping: AtomicBool,
    pub peers: Vec<Peer>,
    pub ports: PortRegistrar,
    pub flows: Arc<FlowTable>,
    pub handoff_overflows: AtomicU64,
    next_worker: AtomicUsize,
}

/// The running workers. Dropping it stops them.
pub struct Runtime {
    handle: RuntimeHandle,
    threads: Vec<JoinHandle<()>>,
}

/// A cheap, cloneable way to reach the workers from any thread (the blocking API).
#[derive(Clone)]
pub struct RuntimeHandle {
    shared: Arc<Shared>,
}

impl Runtime {
    /// Starts one worker per device; `handler(i)` makes worker `i`'s in-worker
    /// application. Returns once every worker has started its application.
    pub fn start<D, H>(
        config: RuntimeConfig,
        devices: Vec<D>,
        mut handler: impl FnMut(usize) -> H,
    ) -> Result<Runtime, RuntimeError>
    where
        D: QueueDevice + 'static,
        H: Handler + 'static,
    {
        if devices.is_empty() {
            return Err(RuntimeError::NoDevices);
        }
        config.iface.validate()?;
        let count = devices.len();
        let available = core_affinity::get_core_ids().map_or(0, |ids| ids.len());
        for (worker, &core) in config.cores.iter().enumerate().take(count) {
            if core >= available {
                return Err(RuntimeError::NoSuchCore { worker, core, available });
            }
        }
        let mut inboxes: Vec<(Receiver<Command>, Receiver<Vec<u8>>)> = Vec::new();
        let mut peers = Vec::new();
        for _ in 0..count {
            let (commands, command_rx) = crossbeam_channel::unbounded();
            let (frames, frame_rx) = bounded(config.handoff_queue.max(1));
            let waker = Arc::new(Waker::new().map_err(|error| RuntimeError::Spawn { worker: 0, error })?);
            peers.push(Peer { commands, frames, waker });
            inboxes.push((command_rx, frame_rx));
        }
        let shared = Arc::new(Shared {
            clock: Clock::new(),
            poll: config.poll,
            stopping: AtomicBool::new(false),
            peers,
            ports: PortRegistrar::new(config.ports.clone()),
            flows: Arc::new(FlowTable::new()),
            handoff_overflows: AtomicU64::new(0),
            next_worker: AtomicUsize::new(0),
        });
        let mut runtime = Runtime { handle: RuntimeHandle { shared: shared.clone() }, threads: Vec::new() };
        let (started_tx, started_rx) = bounded(count);
        for (index, (device, (commands, frames))) in devices.into_iter().zip(inboxes).enumerate() {
            let handler = WorkerHandler::new(handler(index));
            let stack =
                Stack::for_worker(index, count, config.iface, config.sockets, &shared.flows, handler)?;
            let core = config.cores.get(index).copied();
            let worker = Worker {
                index,
                core,
                device,
                stack,
                commands,
                frames,
                shared: shared.clone(),
                port_changes: Vec::new(),
                flow_changes: Vec::new(),
                iterations: 0,
                idle_iterations: 0,
                busy: Duration::ZERO,
            };
            let started = started_tx.clone();
            let thread = std::thread::Builder::new()
                .name(format!("sluice-worker-{index}"))
                .spawn(move || {
                    if let Some(id) = core {
                        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
                            tracing::warn!(worker = index, core = id, "could not pin the worker to its core");
                        }
                    }
                    worker.run(started);
                })
                .map_err(|error| RuntimeError::Spawn { worker: index, error })?;
            runtime.threads.push(thread);
        }
        for _ in 0..count {
            match started_rx.recv() {
                Ok((_, Ok(()))) => {}
                Ok((worker, Err(error))) => return Err(RuntimeError::HandlerStart { worker, error }),
                Err(_) => {
                    let error = std::io::Error::other("a worker thread ended before starting");
                    return Err(RuntimeError::Spawn { worker: 0, error });
                }
            }
        }
        Ok(runtime)
    }

    pub fn handle(&self) -> RuntimeHandle {
        self.handle.clone()
    }

    /// Stops every worker and waits for them.
    pub fn stop(mut self) {
        self.stop_workers();
    }

    fn stop_workers(&mut self) {
        self.handle.shared.stopping.store(true, Ordering::SeqCst);
        for peer in &self.handle.shared.peers {
            peer.waker.wake();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_workers();
    }
}

impl RuntimeHandle {
    pub fn workers(&self) -> usize {
        self.shared.peers.len()
    }

    /// Sends a request to a worker and wakes it if it sleeps.
    pub(super) fn send(&self, worker: usize, command: Command) -> Result<(), SocketError> {
        let peer = self.shared.peers.get(worker).ok_or(SocketError::WorkerGone)?;
        if self.shared.stopping.load(Ordering::Relaxed) {
            return Err(SocketError::WorkerGone);
        }
        peer.commands.send(command).map_err(|_| SocketError::WorkerGone)?;
        peer.waker.wake();
        Ok(())
    }

    /// The worker for a new active open: round robin.
    pub(super) fn pick_worker(&self) -> usize {
        self.shared.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers()
    }

    /// The worker that owns the ephemeral port `port`.
    pub(super) fn owner_of(&self, local: SocketAddrV4) -> usize {
        usize::from(PortShare::owner_of(local.port(), self.workers() as u16))
    }

    /// Runs `inspect` on every worker with a view of its state; the answers in worker
    /// order (a stopped worker is left out).
    pub fn inspect<T: Send + 'static>(
        &self,
        inspect: impl Fn(&WorkerView<'_>) -> T + Send + Sync + 'static,
    ) -> Vec<T> {
        let inspect = Arc::new(inspect);
        let mut answers = Vec::new();
        for worker in 0..self.workers() {
            let (tx, rx) = bounded(1);
            let inspect = inspect.clone();
            let command = Command::Inspect(Box::new(move |view| {
                let _ = tx.send(inspect(view));
            }));
            if self.send(worker, command).is_ok() {
                if let Ok(answer) = rx.recv() {
                    answers.push(answer);
                }
            }
        }
        answers
    }

    /// The ports registered with the filter now.
    pub fn registered_ports(&self) -> Vec<(crate::socket::Transport, u16)> {
        self.shared.ports.registered()
    }

    /// Frames dropped because a worker's handoff queue was full.
    pub fn handoff_overflows(&self) -> u64 {
        self.shared.handoff_overflows.load(Ordering::Relaxed)
    }
}
