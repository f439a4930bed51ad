//! The TCP limits a server sets on the command line (`serve`, `client`, `resolve`): how
//! listeners answer SYN floods, and the bounds on state a hostile peer can make us keep.

use clap::{Args, ValueEnum};
use sluice::socket::TcpLimits as Limits;
use sluice::tcp::{SynCookieMode, TcpConfig};
use sluice::time::Duration;

use crate::sim::{parse_duration, parse_size};

#[derive(Args, Debug, Clone)]
pub struct TcpLimits {
    /// When listeners answer SYNs with SYN cookies (RFC 4987) instead of keeping a record:
    /// `on-overflow` once a listener's SYN queue (its backlog) is full, as Linux does;
    /// `always`; or `never` (a SYN that finds the queue full is dropped).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = SynCookies::OnOverflow)]
    pub syn_cookies: SynCookies,
    /// SYN-ACK retransmissions before a half-open connection is dropped (Linux
    /// `tcp_synack_retries`).
    #[arg(long, value_name = "N", default_value_t = TcpConfig::default().synack_retries)]
    pub synack_retries: u32,
    /// TIME_WAIT connections kept per worker; past it the oldest is freed early (Linux
    /// `tcp_max_tw_buckets`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_time_wait)]
    pub max_time_wait: usize,
    /// Connections closed by the application and still closing, per worker; past it a
    /// close resets instead (Linux `tcp_max_orphans`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_orphans)]
    pub max_orphans: usize,
    /// How long a closed connection may take to finish closing (a peer stalling it with a
    /// zero window, or never acknowledging the FIN) before it is reset.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    pub orphan_timeout: Duration,
    /// Buffer memory of a worker's connections at which new connections get
    /// --tcp-pressure-buffer bytes each way (Linux `tcp_mem` pressure).
    #[arg(long, value_name = "BYTES", default_value = "768Mi", value_parser = parse_size)]
    pub tcp_memory_pressure: u64,
    /// Buffer memory of a worker's connections at which new connections are refused.
    #[arg(long, value_name = "BYTES", default_value = "1Gi", value_parser = parse_size)]
    pub tcp_memory_limit: u64,
    /// Send and receive buffer of each connection made under memory pressure (64 KiB or
    /// more).
    #[arg(long, value_name = "BYTES", default_value = "64Ki", value_parser = parse_size)]
    pub tcp_pressure_buffer: u64,
    /// At most one ACK per this interval per connection in reply to segments outside the
    /// window, failing PAWS or acknowledging data never sent, and challenge ACKs (RFC 5961),
    /// so two stacks that disagree cannot ACK-loop (Linux `tcp_invalid_ratelimit`); 0: off.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    pub invalid_ack_interval: Duration,
    /// Challenge ACKs per second across the stack on average (RFC 5961 §7); each second's
    /// budget is random between half and one and a half times this (CVE-2016-5696). 0: none.
    #[arg(long, value_name = "N", default_value_t = TcpConfig::default().challenge_acks_per_sec)]
    pub challenge_ack_limit: u32,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynCookies {
    Never,
    OnOverflow,
    Always,
}

impl TcpLimits {
    /// The limits of each worker's socket set; fails on inconsistent values.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        if self.tcp_pressure_buffer < 64 << 10 {
            anyhow::bail!(
                "--tcp-pressure-buffer {} is below 64Ki: a SYN-ACK may already have offered a 65,535-byte window",
                self.tcp_pressure_buffer
            );
        }
        if self.tcp_memory_pressure > self.tcp_memory_limit {
            anyhow::bail!("--tcp-memory-pressure must not exceed --tcp-memory-limit");
        }
        Ok(Limits {
            max_time_wait: self.max_time_wait,
            max_orphans: self.max_orphans,
            orphan_timeout: self.orphan_timeout,
            memory_pressure: self.tcp_memory_pressure as usize,
            memory_limit: self.tcp_memory_limit as usize,
            pressure_buffer: self.tcp_pressure_buffer as usize,
        })
    }

    /// Applies the limits to the options new sockets start with.
    pub fn apply(&self, tcp: &mut TcpConfig) {
        tcp.syn_cookies = match self.syn_cookies {
            SynCookies::Never => SynCookieMode::Never,
            SynCookies::OnOverflow => SynCookieMode::OnOverflow,
            SynCookies::Always => SynCookieMode::Always,
        };
        tcp.synack_retries = self.synack_retries;
        tcp.invalid_ack_interval = self.invalid_ack_interval;
        tcp.challenge_acks_per_sec = self.challenge_ack_limit;
    }
}
