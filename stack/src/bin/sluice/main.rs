//! The `sluice` command.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod client;
mod datapath;
mod demo;
mod iface_limits;
mod kernel_stack;
mod netstat;
mod resolve;
mod serve;
mod sim;
mod stat;
mod tcp_limits;

#[derive(Parser)]
#[command(name = "sluice", version, about = "A userspace TCP/IP stack on AF_XDP kernel bypass")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Two simulated hosts exchange ARP, ping, a DNS lookup and UDP echo; prints the wire
    /// trace and writes a pcap. Needs no root and no network.
    Demo {
        /// Where to write the pcap of everything on the simulated wire.
        #[arg(long, default_value = "sluice-demo.pcap")]
        pcap: PathBuf,
        /// Seed of the simulator's random choices (loss, reordering).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Probability that the link loses a frame (0.0 to 1.0).
        #[arg(long, default_value_t = 0.0)]
        loss: f64,
        /// One-way link latency in microseconds.
        #[arg(long, default_value_t = 500)]
        latency_us: u64,
    },
    /// Two simulated hosts run a TCP transfer over a link with the given RTT, bandwidth,
    /// MTU, loss, reordering and buffers; prints the segments (--trace), a summary and RTT/RTO
    /// over time, and writes the pcap. Fails unless every byte arrived intact.
    Sim(sim::Options),
    /// Serves an application on an interface through AF_XDP kernel bypass until Ctrl-C or
    /// SIGTERM (needs root). Prints `ready` on stdout once serving.
    Serve(serve::Options),
    /// Connections through Sluice to an echo server: each sends --bytes deterministic bytes
    /// and verifies every byte echoed back (needs root).
    Client(client::Options),
    /// Looks a name up through Sluice's DNS resolver on AF_XDP (needs root).
    Resolve(resolve::Options),
    /// Live counters of a running `sluice serve`: per worker packets, bytes and rates, drops
    /// by reason, TCP counters and retransmissions, XDP program counters.
    Stat(stat::Options),
    /// The sockets of a running `sluice serve`, like `netstat -ano`: protocol, local and
    /// foreign address, state, send and receive queues, owning worker.
    Netstat(netstat::Options),
}

/// The environment variable that sets what is logged (tracing's filter syntax, e.g.
/// `info` or `sluice=debug`); warnings and errors by default.
const LOG_ENV: &str = "SLUICE_LOG";

fn main() -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { pcap, seed, loss, latency_us } => {
            demo::run(&demo::Options { pcap, seed, loss, latency_us })
        }
        Command::Sim(options) => sim::run(&options),
        Command::Serve(options) => serve::run(&options),
        Command::Client(options) => client::run(&options),
        Command::Resolve(options) => resolve::run(&options),
        Command::Stat(options) => stat::run(&options),
        Command::Netstat(options) => netstat::run(&options),
    }
}
