//! A stateful TCP target: the input is a sequence of operations against a whole Sluice
//! stack (an `Interface` and a `SocketSet` on a simulated link, virtual clock) with a
//! listener and one connection established by a real handshake. The peer sends SYNs,
//! ACKs, data in and out of window, overlapping and reordered, SACK blocks, RSTs, FINs,
//! options and timestamps with chosen values, and segments with chosen sequence and
//! acknowledgment numbers relative to the connection's real sequence space; time advances
//! by chosen amounts (RTO, delayed ACK, keepalive, TIME_WAIT, persist); the application
//! sends, receives, shuts down, closes, accepts and connects.
//!
//! After every poll: no panic; the socket table and every buffer within their limits, and
//! a bounded number of segments per step; SND.UNA <= SND.NXT <= SND.MAX, RCV.NXT and the
//! advertised window's right edge never moving back; bytes delivered to the application
//! in order and intact, and bytes the stack sends matching what the application wrote;
//! every frame the stack sends valid Ethernet/IPv4/TCP (or ARP, ICMP) with correct
//! checksums. Set `SLUICE_FUZZ_TRACE=1` to print every operation and segment.
#![no_main]

mod app;
mod checks;
mod harness;
mod ops;
mod peer;
mod wire;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

use harness::Harness;
use ops::{Op, Setup};

/// Operations one input runs at most (keeps each run short).
const MAX_OPS: usize = 200;

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut input) else { return };
    let mut harness = Harness::start(&setup);
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let Ok(op) = Op::arbitrary(&mut input) else { break };
        harness.run(&op);
    }
    harness.finish();
});
