//! The link abstraction: one trait that the simulator, the benchmarks and the AF_XDP
//! datapath all implement, so every one of them drives identical protocol code.
//!
//! A device lends frames through tokens (the shape smoltcp uses): `receive` yields one
//! received frame together with a token to transmit one reply in the same step, and
//! `transmit` yields a token whenever the device has room for another frame. A token is
//! consumed at most once; dropping it unused releases the buffer. Batching is the device's
//! business: an AF_XDP device takes a batch of descriptors from its ring and hands them
//! out one token at a time.

pub mod faults;

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

/// The receive queue a NIC's receive-side scaling picks for `frame` among `queues`: a
/// hash of the IPv4 addresses and ports (queue 0 for anything else). Like a real NIC's,
/// the hash is not symmetric, so the reply to an active open may land on another queue
/// than the one that sent the SYN: the case the workers' handoff exists for. The
/// in-memory devices (the simulator's multi-worker host, the workers' `MemoryWire`)
/// spread frames with it.
pub fn rss_queue(frame: &[u8], queues: usize) -> usize {
    if queues <= 1 || frame.len() < 38 || frame[12..14] != [0x08, 0x00] {
        return 0;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let ports = frame.get(14 + ihl..14 + ihl + 4).unwrap_or(&[0; 4]);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in frame[26..34].iter().chain(ports) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    (hash % queues as u64) as usize
}
