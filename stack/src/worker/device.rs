//! What a worker needs from the device of its queue beyond the token interface.

use std::os::fd::RawFd;

use crate::phy::Device;

/// The device of one receive/transmit queue, owned by one worker thread.
pub trait QueueDevice: Device + Send {
    /// Ends a loop iteration: pushes queued transmissions to the link (one kick per
    /// batch), reaps completed ones and refills the receive side.
    fn flush(&mut self);

    /// A descriptor that becomes readable when frames arrive, for a worker that sleeps
    /// when idle; `None` if the device cannot wake a sleeper (it is then polled).
    fn wake_fd(&self) -> Option<RawFd>;

    /// How the device moves frames, for listings ("copy", "zero-copy", "memory").
    fn mode(&self) -> &'static str;

    /// Device counters by name, for `sluice stat`.
    fn counters(&self, out: &mut Vec<(&'static str, u64)>);
}
