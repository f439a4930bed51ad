//! A read-only look at one worker's state, for `sluice stat` and `sluice netstat`.

use crate::iface::Interface;
use crate::socket::SocketSet;
use crate::time::{Duration, Instant};

pub struct WorkerView<'a> {
    pub worker: usize,
    pub core: Option<usize>,
    pub now: Instant,
    pub iface: &'a Interface,
    pub sockets: &'a SocketSet,
    /// How the device moves frames ("copy", "zero-copy", "memory").
    pub device_mode: &'static str,
    pub device_counters: Vec<(&'static str, u64)>,
    /// Loop iterations, and those that found nothing to do.
    pub iterations: u64,
    pub idle_iterations: u64,
    /// Time spent in iterations that did work.
    pub busy: Duration,
    /// The handler's counters ([`Handler::counters`](super::Handler::counters)).
    pub app_counters: Vec<(&'static str, u64)>,
}
