//! TCP (RFC 9293) with window scaling and timestamps (RFC 7323), SACK (RFC 2018, 6675),
//! RACK-TLP loss detection (RFC 8985), NewReno and CUBIC (RFC 5681, 6582, 9438), RFC 5961's
//! protections and RFC 6528 ISNs.
//!
//! - [`Connection`]: the control block; `input.rs` takes segments in, `output.rs` sends
//!   them, `timer.rs` runs timers. Pure: it takes `now` and returns segments.
//! - [`SendBuffer`], [`ReceiveBuffer`]: the byte queues, with out-of-order reassembly.
//! - [`Scoreboard`]: the sender's SACK state; [`congestion`]: the window algorithms;
//!   [`RttEstimator`]: RFC 6298.
//! - [`PassiveOpen`]: a handshake in progress as a compact record; [`SynCookies`]: the
//!   same record carried in the SYN-ACK when the listener's queue is full (RFC 4987).
//! - [`ChallengeAckBudget`]: the stack-wide, randomized limit on challenge ACKs (RFC 5961
//!   §7, CVE-2016-5696).

mod ack_schedule;
pub mod challenge_ack_budget;
pub mod config;
pub mod congestion;
mod connection;
mod fast_recovery;
mod input;
pub mod isn;
mod output;
pub mod passive_open;
pub mod rack;
pub mod recv_buffer;
pub mod rtt;
pub mod scoreboard;
pub mod send_buffer;
mod seq_snapshot;
mod sequence_space;
mod state;
mod stats;
pub mod syn_cookie;
mod timer;
mod timer_table;
mod timestamps;
mod tlp;
mod window_scale;

pub use challenge_ack_budget::ChallengeAckBudget;
pub use config::{KeepaliveConfig, SynCookieMode, TcpConfig};
pub use connection::{Connection, TcpError, DEFAULT_MSS};
pub use input::InputContext;
pub use output::Segment;
pub use passive_open::PassiveOpen;
pub use rack::Rack;
pub use recv_buffer::ReceiveBuffer;
pub use rtt::RttEstimator;
pub use scoreboard::Scoreboard;
pub use send_buffer::SendBuffer;
#[doc(hidden)]
pub use seq_snapshot::SeqSnapshot;
pub use state::State;
pub use stats::TcpStats;
pub use syn_cookie::SynCookies;
pub use timer_table::{Timer, TimerTable};
