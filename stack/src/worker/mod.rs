//! Workers: one pinned thread per queue running the stack to completion, and the two
//! ways applications use them.
//!
//! - [`Runtime`]: starts one worker (`run_loop`) per [`QueueDevice`], each running its
//!   own [`Stack`](crate::stack::Stack) (shared-nothing: a connection belongs to one
//!   worker), and stops them. Frames that reach the wrong worker are handed to their owner
//!   through bounded queues (see `iface::Steering`).
//! - [`Handler`]: the application model, the fast path (defined in the core's `apps`,
//!   re-exported here).
//! - [`TcpListener`], [`TcpStream`], [`UdpSocket`]: the blocking API for threads, itself
//!   an owner of sockets inside each worker's handler (`worker_handler`).
//! - [`MemoryDevice`]: an in-memory queue device, for tests and benchmarks without a NIC.
//! - [`ImpairedDevice`]: loss, duplication, reordering and corruption injected at a
//!   device (the simulator's fault model, `phy::faults`), for recovery tests.

mod blocking;
mod blocking_state;
mod clock;
mod command;
mod device;
mod impaired;
mod memory;
mod ports;
mod run_loop;
mod runtime;
mod view;
mod wake;
mod worker_handler;

pub use crate::iface::FlowTable;
pub use blocking::{TcpListener, TcpStream, UdpSocket};
pub use clock::Clock;
pub use command::{Accepted, Datagram};
pub use device::QueueDevice;
pub use impaired::{ImpairedDevice, Impairment};
pub use memory::{MemoryDevice, MemoryWire};
pub use ports::{PortFilter, PortRegistrar};
pub use runtime::{PollMode, Runtime, RuntimeConfig, RuntimeError, RuntimeHandle};
pub use sluice_core::apps::{Ctx, Handler, NoHandler};
pub use view::WorkerView;
