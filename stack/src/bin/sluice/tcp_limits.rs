//! The TCP limits a server sets on the command line (`serve`, `client`, `resolve`): how
//! listeners answer SYN floods, and the bounds on state a hostile peer can make us keep.

use clap::{Args, ValueEnum};
use sluice::tcp::{SynCookieMode, TcpConfig};

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
    }
}
