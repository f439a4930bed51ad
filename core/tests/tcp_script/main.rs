//! Segment-script tests of one TCP endpoint on a virtual clock: the peer sends this
//! segment at time t, we must emit exactly these segments (issue 3).
//!
//! Every transition of the RFC 9293 state diagram (Figure 5), every timer (retransmission,
//! persist, delayed ACK, keepalive, FIN_WAIT_2, TIME_WAIT) and every option (MSS, window
//! scale, SACK, timestamps) has a script here, written against the public
//! [`sluice_core::tcp::Connection`] API as the socket layer drives it. See `harness.rs` for the
//! event loop and the segment templates.

mod harness;

mod data;
mod handshake;
mod keepalive;
mod loss;
mod options;
mod rate_limits;
mod robustness;
mod teardown;
