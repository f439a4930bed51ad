//! Cross-worker handoff on a multi-queue link: frames that belong to another worker are
//! copied out (into reused buffers) for the worker loop to pass on, and frames handed in
//! are processed as if received here.

use std::sync::Arc;

use super::Interface;
use crate::iface::steering::{FlowDirectory, Handoff, HandoffTarget, Steering};
use crate::phy::{Device, TxToken};
use crate::socket::{FourTuple, SocketSet};
use crate::time::Instant;

/// How many emptied handoff buffers an interface keeps for reuse.
const SPARE_BUFFERS: usize = 256;

/// A reply token for a handed-in frame when the device has no room: the frame waits in
/// the interface's transmit queue.
struct SpillToken<'a>(&'a mut Vec<Vec<u8>>);

impl TxToken for SpillToken<'_> {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        self.0.push(frame);
        result
    }
}

impl Interface {
    /// Makes this interface one of `steering.workers` sharing a multi-queue link: frames
    /// that belong to another worker are set aside for `take_handoffs`. The socket set's
    /// ephemeral share must be the same worker's (`SocketSetConfig::ephemeral_share`).
    pub fn set_steering(&mut self, steering: Steering) {
        self.steering = Some(steering);
    }

    /// Names the directory of connections every worker shares, so that a segment of a
    /// connection another worker owns is handed to it.
    pub fn set_flow_directory(&mut self, flows: Arc<dyn FlowDirectory>) {
        self.flows = Some(flows);
    }

    /// The other worker that owns `tuple`, if this one does not have it.
    pub(super) fn stray_owner(&self, tuple: &FourTuple, sockets: &mut SocketSet) -> Option<u16> {
        let flows = self.flows.as_ref()?;
        if sockets.has_connection(tuple) {
            return None;
        }
        let owner = flows.owner(tuple)?;
        (Some(owner) != self.steering.map(|s| s.worker)).then_some(owner)
    }

    /// The frames received since the last call that belong to other workers.
    pub fn take_handoffs(&mut self) -> std::vec::Drain<'_, Handoff> {
        self.handoffs.drain(..)
    }

    /// Processes a frame another worker handed over, as if this worker had received it.
    /// Its buffer is kept for reuse.
    pub fn receive_handoff<D: Device>(
        &mut self,
        now: Instant,
        mut frame: Vec<u8>,
        device: &mut D,
        sockets: &mut SocketSet,
    ) {
        self.stats.handed_in += 1;
        match device.transmit(now) {
            Some(tx) => self.process_frame(now, &mut frame, tx, sockets),
            None => {
                let mut spilled = Vec::new();
                self.process_frame(now, &mut frame, SpillToken(&mut spilled), sockets);
                self.tx_queue.extend(spilled);
            }
        }
        self.recycle(frame);
    }

    /// Returns a handoff buffer for reuse.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.spare_buffers.len() < SPARE_BUFFERS {
            buffer.clear();
            self.spare_buffers.push(buffer);
        }
    }

    pub(super) fn hand_off(&mut self, to: HandoffTarget, frame: &[u8]) {
        self.stats.handed_off += 1;
        let mut buffer = self.spare_buffers.pop().unwrap_or_default();
        buffer.extend_from_slice(frame);
        self.handoffs.push(Handoff { to, frame: buffer });
    }
}
