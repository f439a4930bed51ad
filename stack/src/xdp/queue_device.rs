//! The AF_XDP socket as a worker's queue device.

use std::os::fd::RawFd;

use super::xsk::{XskBindMode, XskDevice};
use crate::worker::QueueDevice;

impl QueueDevice for XskDevice {
    fn flush(&mut self) {
        if let Err(err) = XskDevice::flush(self) {
            // A kick the kernel refused is retried on the next iteration; the frames
            // stay accounted for in the rings.
            tracing::debug!(queue = self.queue(), "AF_XDP flush: {err}");
        }
    }

    fn wake_fd(&self) -> Option<RawFd> {
        Some(self.fd())
    }

    fn mode(&self) -> &'static str {
        match XskDevice::mode(self) {
            XskBindMode::ZeroCopy => "zero-copy",
            XskBindMode::Copy | XskBindMode::Auto => "copy",
        }
    }

    fn counters(&self, out: &mut Vec<(&'static str, u64)>) {
        let c = XskDevice::counters(self);
        out.extend([
            ("rx_packets", c.rx_packets),
            ("rx_bytes", c.rx_bytes),
            ("tx_packets", c.tx_packets),
            ("tx_bytes", c.tx_bytes),
            ("rx_empty_polls", c.rx_empty_polls),
            ("fill_starved", c.fill_starved),
            ("tx_ring_full", c.tx_ring_full),
            ("tx_dropped", c.tx_dropped),
            ("kicks", c.kicks),
            ("rx_wakeups", c.rx_wakeups),
            ("bad_descs", c.bad_descs),
        ]);
        if let Some(drops) = self.kernel_drops() {
            out.extend(drops);
        }
    }
}
