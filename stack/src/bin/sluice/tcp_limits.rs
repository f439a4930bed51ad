//! The TCP limits a server sets on the command line (`serve`, `client`, `resolve`): how
//! listeners answer SYN floods, and the bounds on state a hostile peer can make us keep.

use clap::{Args, ValueEnum};
use sluice::tcp::{SynCookieMode, TcpConfig};
use sluice::time::Duration;

use crate::sim::parse_duration;

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
