//! The HTTP/1.1 echo server (RFC 9110, RFC 9112), transport-independent: the same code
//! answers on Sluice's in-worker API and on the kernel stack.
//!
//! - [`HttpEchoConnection`]: one connection, bytes in, responses out.
//! - [`RequestHead`], [`find_head_end`]: the request head parser.
//! - [`ChunkedDecoder`]: the chunked transfer coding.
//! - [`HttpLimits`]: the per-connection bounds; [`HttpCounters`]: what was served.
//! - [`HttpTimeouts`]: request-head and keep-alive timeouts; [`DeadlineQueue`]: their order.

mod chunked;
mod connection;
mod counters;
mod deadline_queue;
mod error;
mod limits;
mod output;
mod parser;
mod response;
mod status;
mod timeouts;

pub use chunked::ChunkedDecoder;
pub use connection::{HttpEchoConfig, HttpEchoConnection};
pub use counters::HttpCounters;
pub use deadline_queue::DeadlineQueue;
pub use error::RequestError;
pub use limits::HttpLimits;
pub use parser::{find_head_end, BodyFraming, HeadEnd, RequestHead};
pub use response::{fixed_body, FIXED_BODY_PATTERN};
pub use status::Status;
pub use timeouts::{HttpTimeoutCounters, HttpTimeouts, HttpWait};
