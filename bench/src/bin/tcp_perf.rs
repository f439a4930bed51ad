//! TCP figures of merit between two in-memory stacks, in a form callgrind can count.
//!
//! ```text
//! tcp_perf rr [TRANSACTIONS]   request/response: 64-byte request, 64-byte response
//! tcp_perf bulk [MEGABYTES]    one-way stream with 4 MB socket buffers
//! ```
//!
//! Both set up and warm up first, then run the measured work inside
//! `measured_transactions` / `measured_stream`, so that
//! `valgrind --tool=callgrind --toggle-collect='*measured_transactions*'` counts exactly
//! the transactions (`cargo xtask bench tcp-instructions` does this). Each prints one line
//! of `key=value` pairs with the wall-clock figures (the median of five batches).

use std::process::ExitCode;
use std::time::Instant;

use sluice_bench::tcp::{measured_stream, measured_transactions, TcpPair};

const BATCHES: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn request_response(transactions: u64) {
    let mut pair = TcpPair::request_response();
    let batch = transactions.div_ceil(BATCHES as u64).max(1);
    let mut ns = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        measured_transactions(&mut pair, batch);
        ns.push(start.elapsed().as_nanos() as f64 / batch as f64);
    }
    let best = ns.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "transactions={} ns_per_transaction={:.1} best_ns_per_transaction={:.1}",
        batch * BATCHES as u64,
        median(ns),
        best
    );
}

fn bulk(megabytes: usize) {
    let mut pair = TcpPair::bulk();
    let len = megabytes << 20;
    let batch = len.div_ceil(BATCHES).max(1);
    let mut gbits = Vec::with_capacity(BATCHES);
    let mut rounds = 0;
    for _ in 0..BATCHES {
        let start = Instant::now();
        rounds += measured_stream(&mut pair, batch);
        gbits.push(batch as f64 * 8.0 / start.elapsed().as_nanos() as f64);
    }
    let best = gbits.iter().copied().fold(0.0, f64::max);
    println!(
        "bytes={} rounds={rounds} gbit_per_s={:.2} best_gbit_per_s={:.2}",
        batch * BATCHES,
        median(gbits),
        best
    );
}

fn usage() -> ExitCode {
    eprintln!("usage: tcp_perf rr [TRANSACTIONS] | tcp_perf bulk [MEGABYTES]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |default: u64| -> Option<u64> {
        match args.get(1) {
            None => Some(default),
            Some(text) => text.parse().ok().filter(|&n| n > 0),
        }
    };
    match args.first().map(String::as_str) {
        Some("rr") if args.len() <= 2 => match count(200_000) {
            Some(n) => request_response(n),
            None => return usage(),
        },
        Some("bulk") if args.len() <= 2 => match count(2048) {
            Some(n) => bulk(n as usize),
            None => return usage(),
        },
        _ => return usage(),
    }
    ExitCode::SUCCESS
}
