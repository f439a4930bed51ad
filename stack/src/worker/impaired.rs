//! Fault injection at the device: loss, duplication, reordering and corruption of frames
//! in both directions, for testing recovery against real kernel peers where the kernel
//! has no netem qdisc. The fault model is the simulator's (`phy::faults`); only how long a
//! reordered frame waits differs: here it is held back and released after the frame that
//! follows it (netem's "reorder" the other way round: the held frame arrives late).
//!
//! Received frames are copied out of the inner device so they can be dropped or held
//! back; transmitted frames wait in a list until `flush`.

use std::collections::VecDeque;
use std::os::fd::RawFd;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::device::QueueDevice;
use crate::phy::faults::{self, FaultRates, FrameFate};
use crate::phy::{self, Device, DeviceCaps, RxToken as _, TxToken as _};
use crate::time::Instant;

/// The faults to inject, and the seed of their draws.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    pub rates: FaultRates,
    pub seed: u64,
}

impl Impairment {
    pub fn is_none(&self) -> bool {
        self.rates.is_none()
    }
}

/// One direction's faults.
struct Faults {
    held: Option<Vec<u8>>,
    out: VecDeque<Vec<u8>>,
    dropped: u64,
    duplicated: u64,
    reordered: u64,
    corrupted: u64,
}

impl Faults {
    fn new() -> Faults {
        Faults { held: None, out: VecDeque::new(), dropped: 0, duplicated: 0, reordered: 0, corrupted: 0 }
    }

    /// Passes `frame` through the faults into `out`. One frame is held back at a time: a
    /// copy drawn for reordering while another is held goes out in order.
    fn pass(&mut self, frame: Vec<u8>, rates: &FaultRates, rng: &mut ChaCha8Rng) {
        let FrameFate::Delivered { copies, count } = faults::draw(rng, rates, frame.len()) else {
            self.dropped += 1;
            return;
        };
        if count == 2 {
            self.duplicated += 1;
        }
        for fate in &copies[..count] {
            let mut copy = frame.clone();
            if let Some(bit) = fate.corrupt_bit {
                faults::flip_bit(&mut copy, bit);
                self.corrupted += 1;
            }
            if fate.reordered && self.held.is_none() {
                self.reordered += 1;
                self.held = Some(copy);
                continue;
            }
            self.out.push_back(copy);
            if let Some(held) = self.held.take() {
                self.out.push_back(held);
            }
        }
    }

    /// Releases a held frame once nothing followed it within a flush.
    fn release(&mut self) {
        if let Some(held) = self.held.take() {
            self.out.push_back(held);
        }
    }
}

/// A device with loss and reordering injected in both directions.
pub struct ImpairedDevice<D: QueueDevice> {
    inner: D,
    impairment: Impairment,
    rng: ChaCha8Rng,
    rx: Faults,
    /// Frames the stack built, before the faults.
    built: VecDeque<Vec<u8>>,
    tx: Faults,
    idle_flushes: u32,
    last_now: Instant,
}

impl<D: QueueDevice> ImpairedDevice<D> {
    pub fn new(inner: D, impairment: Impairment) -> ImpairedDevice<D> {
        ImpairedDevice {
            inner,
            rng: ChaCha8Rng::seed_from_u64(impairment.seed),
            impairment,
            rx: Faults::new(),
            built: VecDeque::new(),
            tx: Faults::new(),
            idle_flushes: 0,
            last_now: Instant::ZERO,
        }
    }
}

pub struct OwnedRx(Vec<u8>);

impl phy::RxToken for OwnedRx {
    fn consume<R>(mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut self.0)
    }
}

pub struct QueuedTx<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::TxToken for QueuedTx<'_> {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        self.0.push_back(frame);
        result
    }
}

impl<D: QueueDevice> Device for ImpairedDevice<D> {
    type RxToken<'a>
        = OwnedRx
    where
        Self: 'a;
    type TxToken<'a>
        = QueuedTx<'a>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(OwnedRx, QueuedTx<'_>)> {
        self.last_now = now;
        while self.rx.out.is_empty() {
            let (token, _reply) = self.inner.receive(now)?;
            let frame = token.consume(|frame| frame.to_vec());
            self.rx.pass(frame, &self.impairment.rates, &mut self.rng);
        }
        let frame = self.rx.out.pop_front()?;
        Some((OwnedRx(frame), QueuedTx(&mut self.built)))
    }

    fn transmit(&mut self, now: Instant) -> Option<QueuedTx<'_>> {
        self.last_now = now;
        Some(QueuedTx(&mut self.built))
    }

    fn caps(&self) -> DeviceCaps {
        self.inner.caps()
    }
}

impl<D: QueueDevice> QueueDevice for ImpairedDevice<D> {
    fn flush(&mut self) {
        // What the stack built this iteration goes through the faults, then to the link;
        // a held frame goes out after the next one, or after a few idle flushes.
        if self.built.is_empty() {
            self.idle_flushes += 1;
            if self.idle_flushes > 2 {
                self.tx.release();
            }
        } else {
            self.idle_flushes = 0;
        }
        while let Some(frame) = self.built.pop_front() {
            self.tx.pass(frame, &self.impairment.rates, &mut self.rng);
        }
        while let Some(frame) = self.tx.out.pop_front() {
            let Some(token) = self.inner.transmit(self.last_now) else {
                self.tx.dropped += 1;
                continue;
            };
            token.consume(frame.len(), |buf| buf.copy_from_slice(&frame));
        }
        if self.rx.out.is_empty() {
            self.rx.release();
        }
        self.inner.flush();
    }

    fn wake_fd(&self) -> Option<RawFd> {
        self.inner.wake_fd()
    }

    fn mode(&self) -> &'static str {
        self.inner.mode()
    }

    fn counters(&self, out: &mut Vec<(&'static str, u64)>) {
        self.inner.counters(out);
        let (rx, tx) = (&self.rx, &self.tx);
        out.extend([
            ("impaired_rx_dropped", rx.dropped),
            ("impaired_rx_duplicated", rx.duplicated),
            ("impaired_rx_reordered", rx.reordered),
            ("impaired_rx_corrupted", rx.corrupted),
            ("impaired_tx_dropped", tx.dropped),
            ("impaired_tx_duplicated", tx.duplicated),
            ("impaired_tx_reordered", tx.reordered),
            ("impaired_tx_corrupted", tx.corrupted),
        ]);
    }
}
