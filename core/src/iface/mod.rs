//! The interface layer: what sits between the link and the transports.
//!
//! - [`Interface`]: Ethernet in and out, ARP, IPv4 validation and output, fragment
//!   reassembly and fragmentation, the ICMP echo responder and ICMP errors, UDP delivery.
//! - [`NeighborCache`]: ARP resolution with a bounded queue of waiting packets.
//! - [`Reassembler`]: IPv4 fragment reassembly in bounded memory.
//! - [`Steering`]: which worker a frame belongs to when there are several queues.
//! - [`Stats`] and [`DropReason`]: every drop counted with its reason.
//! - `partial_checksum`: TCP/UDP checksums a sender left to an offload, told apart and explained.

mod config;
mod flow_table;
mod fragment;
mod interface;
mod neighbor;
mod partial_checksum;
mod rate_limit;
mod stats;
mod steering;

pub use config::{ConfigError, InterfaceConfig};
pub use flow_table::FlowTable;
pub use fragment::{Reassembler, ReassemblyConfig, ReassemblyEvictions};
pub use interface::Interface;
pub use neighbor::{Evicted, NeighborCache, NeighborConfig};
pub use rate_limit::TokenBucket;
pub use stats::{DropReason, Stats};
pub use steering::{FlowDirectory, Handoff, HandoffTarget, Steering, Verdict};
