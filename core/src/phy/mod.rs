//! The link abstraction: one trait that the simulator, the benchmarks and the AF_XDP
//! datapath all implement, so every one of them drives identical protocol code.
//!
//! A device lends frames through tokens (the shape smoltcp uses): `receive` yields one
//! received frame together with a token to transmit one reply in the same step, and
//! `transmit` yields a token whenever the device has room for another frame. A token is
//! consumed at most once; dropping it unused releases the buffer. Batching is the device's
//! business: an AF_XDP device takes a batch of descriptors from its ring and hands them
//! out one token at a time.

use crate::time::Instant;

/// What the link offers the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCaps {
    /// The largest IP packet the link carries (the IP MTU, 1500 on Ethernet).
    pub mtu: usize,
    /// Whether received frames may carry checksums the stack must not verify
    /// (partial checksums left by a sender's transmit offload).
    pub rx_checksums_unverified: bool,
}

impl Default for DeviceCaps {
    fn default() -> DeviceCaps {
        DeviceCaps { mtu: 1500, rx_checksums_unverified: false }
    }
}

/// A received frame, lent for the duration of `consume`.
pub trait RxToken {
    fn consume<R>(self, f: impl FnOnce(&mut [u8]) -> R) -> R;
}

/// Room for one frame to transmit; `consume` fills exactly `len` bytes and sends them.
pub trait TxToken {
    fn consume<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R;
}

/// A network link as the protocol core sees it.
pub trait Device {
    type RxToken<'a>: RxToken
    where
        Self: 'a;
    type TxToken<'a>: TxToken
    where
        Self: 'a;

    /// The next received frame and room for one reply, or `None` when nothing waits.
    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)>;

    /// Room for one frame, or `None` when the transmit queue is full.
    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>>;

    fn caps(&self) -> DeviceCaps;
}
