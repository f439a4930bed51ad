//! A deterministic network simulator: virtual time, switched Ethernet segments with
//! configurable latency, bandwidth, MTU, queueing and impairments (loss, duplication,
//! reordering, corruption), pcap capture and a tshark check of the capture.
//!
//! The same seed and the same inputs give byte-identical captures and identical
//! statistics: all randomness comes from one seeded ChaCha8 generator, every collection is
//! walked in a fixed order, and no wall clock is read.
//!
//! - [`Network`] owns segments ([`LinkConfig`], [`LinkStats`]), ports and their
//!   [`SimDevice`]s, the clock and the frames in flight; [`Network::advance`] moves time.
//! - [`Host`] is anything that drives a device; [`Network::step`] and
//!   [`Network::run_until`] poll hosts and jump time from event to event.
//! - [`Network::capture`] writes pcap; [`tshark::analyze`] decodes a capture file.
//! - [`StackHost`] is a host running one [`Stack`](crate::stack::Stack); [`WorkersHost`]
//!   runs several on one multi-queue port, with the workers' steering and handoff.
//! - [`TransferScenario`] runs a TCP transfer between two hosts running the whole stack
//!   and reports what happened; [`SegmentLog`] holds the segments each side sent.
//!
//! ```
//! use sluice_core::sim::{LinkConfig, Network};
//! use sluice_core::time::{Duration, Instant};
//! use sluice_core::wire::EthernetAddress;
//!
//! let mut net = Network::new(7);
//! let lan = net.add_segment(LinkConfig::default().with_latency(Duration::from_micros(50)));
//! let a = net.add_port(lan, EthernetAddress([2, 0, 0, 0, 0, 1]));
//! let b = net.add_port(lan, EthernetAddress([2, 0, 0, 0, 0, 2]));
//!
//! let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5];
//! frame.extend_from_slice(b"hello");
//! assert!(net.device(a).send(&frame));
//! net.advance(Instant::from_micros(100));
//! assert_eq!(net.device(b).recv(), Some(frame));
//! assert_eq!(net.stats(lan).frames_delivered, 1);
//! ```

mod device;
mod event;
mod host;
mod link;
mod network;
mod pcap;
pub mod segment_log;
mod stack_host;
pub mod tcp_scenario;
pub mod tshark;
mod workers_host;

#[cfg(test)]
mod testkit;

pub use device::{DeviceCounters, SimDevice, SimRxToken, SimTxToken};
pub use event::{SimEvent, SimEventKind};
pub use host::{Host, MAX_ZERO_TIME_ROUNDS};
pub use link::{InvalidLinkConfig, LinkConfig, LinkStats, FRAME_OVERHEAD, MIN_MTU};
pub use network::{Network, PortId, SegmentId, EVENT_LOG_CAPACITY};
pub use pcap::{CaptureBuffer, SNAPLEN};
pub use segment_log::{SegmentLog, Side};
pub use stack_host::StackHost;
pub use tcp_scenario::{TransferReport, TransferScenario, Workload};
pub use tshark::TsharkReport;
pub use workers_host::{WorkersCounters, WorkersHost, MAX_WORKERS};
