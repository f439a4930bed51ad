//! The simulator's network card: a [`Device`] over two bounded queues of owned frames.
//!
//! The host side uses the [`Device`] trait (or [`SimDevice::send`] and [`SimDevice::recv`]);
//! the wire side, normally the [`Network`](super::Network), uses [`SimDevice::inject`] and
//! [`SimDevice::take_transmitted`]. A device works on its own too, as a loopback for tests
//! that script frames in and inspect frames out.

use std::collections::VecDeque;

use crate::phy::{Device, DeviceCaps, RxToken, TxToken};
use crate::time::Instant;
use crate::wire::EthernetAddress;

/// What a device counted since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceCounters {
    /// Frames handed to the host.
    pub rx_frames: u64,
    /// Frames accepted from the host for transmission.
    pub tx_frames: u64,
    /// Frames from the wire refused because the receive queue was full.
    pub rx_dropped: u64,
    /// Reply frames discarded because the transmit queue was full when the token was used.
    pub tx_dropped: u64,
}

/// A simulated Ethernet port with bounded receive and transmit queues.
#[derive(Debug, Clone)]
pub struct SimDevice {
    mac: EthernetAddress,
    mtu: usize,
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    rx_limit: usize,
    tx_limit: usize,
    counters: DeviceCounters,
}

impl SimDevice {
    /// Frames the transmit queue holds before `transmit` returns `None`.
    pub const DEFAULT_TX_LIMIT: usize = 1024;
    /// Frames the receive queue holds before further arrivals are dropped.
    pub const DEFAULT_RX_LIMIT: usize = 4096;

    /// A device with address `mac` on a link whose IP MTU is `mtu`.
    pub fn new(mac: EthernetAddress, mtu: usize) -> SimDevice {
        SimDevice {
            mac,
            mtu,
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            rx_limit: Self::DEFAULT_RX_LIMIT,
            tx_limit: Self::DEFAULT_TX_LIMIT,
            counters: DeviceCounters::default(),
        }
    }

    pub fn mac(&self) -> EthernetAddress {
        self.mac
    }

    pub fn counters(&self) -> DeviceCounters {
        self.counters
    }

    pub fn set_rx_limit(&mut self, frames: usize) {
        self.rx_limit = frames;
    }

    pub fn set_tx_limit(&mut self, frames: usize) {
        self.tx_limit = frames;
    }

    pub(crate) fn set_mtu(&mut self, mtu: usize) {
        self.mtu = mtu;
    }

    /// Frames received and not yet taken by the host.
    pub fn rx_pending(&self) -> usize {
        self.rx.len()
    }

    /// Frames queued by the host and not yet taken by the wire.
    pub fn tx_pending(&self) -> usize {
        self.tx.len()
    }

    /// The frames queued by the host and not yet taken by the wire, oldest first: lets a
    /// host see what it just sent without taking it off the queue.
    pub fn queued(&self) -> impl Iterator<Item = &[u8]> {
        self.tx.iter().map(Vec::as_slice)
    }

    /// Host side: queues a copy of `frame` for transmission; `false` if the queue is full.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        if self.tx.len() >= self.tx_limit {
            return false;
        }
        self.tx.push_back(frame.to_vec());
        self.counters.tx_frames += 1;
        true
    }

    /// Host side: takes the oldest received frame.
    pub fn recv(&mut self) -> Option<Vec<u8>> {
        let frame = self.rx.pop_front()?;
        self.counters.rx_frames += 1;
        Some(frame)
    }

    /// Wire side: a frame arrives; `false` (and counted) if the receive queue is full.
    pub fn inject(&mut self, frame: Vec<u8>) -> bool {
        if self.rx.len() >= self.rx_limit {
            self.counters.rx_dropped += 1;
            return false;
        }
        self.rx.push_back(frame);
        true
    }

    /// Wire side: takes the oldest frame the host queued for transmission.
    pub fn take_transmitted(&mut self) -> Option<Vec<u8>> {
        self.tx.pop_front()
    }
}

/// A received frame, owned by the token.
#[derive(Debug)]
pub struct SimRxToken {
    frame: Vec<u8>,
}

impl RxToken for SimRxToken {
    fn consume<R>(mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut self.frame)
    }
}

/// Room for one frame in a device's transmit queue.
///
/// A token from `transmit` always has room. The reply token that comes with a received
/// frame may find the queue full when it is used; the frame is then built, discarded and
/// counted in [`DeviceCounters::tx_dropped`].
#[derive(Debug)]
pub struct SimTxToken<'a> {
    tx: &'a mut VecDeque<Vec<u8>>,
    tx_limit: usize,
    counters: &'a mut DeviceCounters,
}

impl TxToken for SimTxToken<'_> {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        if self.tx.len() < self.tx_limit {
            self.tx.push_back(frame);
            self.counters.tx_frames += 1;
        } else {
            self.counters.tx_dropped += 1;
        }
        result
    }
}

impl Device for SimDevice {
    type RxToken<'a> = SimRxToken;
    type TxToken<'a> = SimTxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(SimRxToken, SimTxToken<'_>)> {
        let frame = self.rx.pop_front()?;
        self.counters.rx_frames += 1;
        let tx = SimTxToken { tx: &mut self.tx, tx_limit: self.tx_limit, counters: &mut self.counters };
        Some((SimRxToken { frame }, tx))
    }

    fn transmit(&mut self, _now: Instant) -> Option<SimTxToken<'_>> {
        if self.tx.len() >= self.tx_limit {
            return None;
        }
        Some(SimTxToken { tx: &mut self.tx, tx_limit: self.tx_limit, counters: &mut self.counters })
    }

    fn caps(&self) -> DeviceCaps {
        DeviceCaps { mtu: self.mtu, rx_checksums_unverified: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);

    #[test]
    fn caps_report_mtu() {
        let dev = SimDevice::new(MAC, 9000);
        assert_eq!(dev.caps(), DeviceCaps { mtu: 9000, rx_checksums_unverified: false });
        assert_eq!(dev.mac(), MAC);
    }

    #[test]
    fn transmit_fills_queue_until_limit() {
        let mut dev = SimDevice::new(MAC, 1500);
        assert_eq!(SimDevice::DEFAULT_TX_LIMIT, 1024);
        dev.set_tx_limit(2);
        for i in 0..2u8 {
            let token = dev.transmit(Instant::ZERO).expect("room");
            let r = token.consume(3, |buf| {
                assert_eq!(buf, [0, 0, 0]);
                buf.fill(i);
                i * 10
            });
            assert_eq!(r, i * 10);
        }
        assert!(dev.transmit(Instant::ZERO).is_none());
        assert!(!dev.send(&[9]));
        assert_eq!(dev.tx_pending(), 2);
        assert_eq!(dev.queued().collect::<Vec<_>>(), [[0, 0, 0], [1, 1, 1]]);
        assert_eq!(dev.take_transmitted(), Some(vec![0, 0, 0]));
        assert_eq!(dev.take_transmitted(), Some(vec![1, 1, 1]));
        assert_eq!(dev.take_transmitted(), None);
        assert_eq!(dev.counters().tx_frames, 2);
    }

    #[test]
    fn dropping_a_token_sends_nothing() {
        let mut dev = SimDevice::new(MAC, 1500);
        assert!(dev.transmit(Instant::ZERO).is_some());
        assert_eq!(dev.tx_pending(), 0);
        assert_eq!(dev.counters(), DeviceCounters::default());
    }

    #[test]
    fn receive_lends_frame_and_reply_token() {
        let mut dev = SimDevice::new(MAC, 1500);
        assert!(dev.receive(Instant::ZERO).is_none());
        assert!(dev.inject(vec![1, 2, 3]));
        assert!(dev.inject(vec![4]));
        let (rx, tx) = dev.receive(Instant::ZERO).unwrap();
        let echoed = rx.consume(|frame| {
            frame[0] = 7;
            frame.to_vec()
        });
        assert_eq!(echoed, [7, 2, 3]);
        tx.consume(echoed.len(), |buf| buf.copy_from_slice(&echoed));
        assert_eq!(dev.take_transmitted(), Some(vec![7, 2, 3]));
        assert_eq!(dev.recv(), Some(vec![4]));
        assert_eq!(dev.recv(), None);
        assert_eq!(dev.counters().rx_frames, 2);
    }

    #[test]
    fn reply_into_full_queue_is_counted() {
        let mut dev = SimDevice::new(MAC, 1500);
        dev.set_tx_limit(1);
        assert!(dev.send(&[1]));
        dev.inject(vec![2]);
        let (rx, tx) = dev.receive(Instant::ZERO).unwrap();
        rx.consume(|_| ());
        let built = tx.consume(4, |buf| buf.len());
        assert_eq!(built, 4);
        assert_eq!(dev.tx_pending(), 1);
        assert_eq!(dev.counters().tx_dropped, 1);
    }

    #[test]
    fn full_receive_queue_drops_and_counts() {
        let mut dev = SimDevice::new(MAC, 1500);
        dev.set_rx_limit(1);
        assert!(dev.inject(vec![1]));
        assert!(!dev.inject(vec![2]));
        assert_eq!(dev.counters().rx_dropped, 1);
        assert_eq!(dev.rx_pending(), 1);
    }
}
