//! Tunables of TCP connections; the defaults follow Linux where the RFCs leave room.

use super::congestion::Algorithm;
use super::rtt::RttConfig;
use crate::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeepaliveConfig {
    /// Idle time before the first probe (Linux `tcp_keepalive_time`: 2 h).
    pub idle: Duration,
    /// Time between unanswered probes (Linux: 75 s).
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead (Linux: 9).
    pub count: u32,
}

impl Default for KeepaliveConfig {
    fn default() -> KeepaliveConfig {
        KeepaliveConfig { idle: Duration::from_secs(7200), interval: Duration::from_secs(75), count: 9 }
    }
}

/// When a listener answers SYNs with cookies (RFC 4987 §3.6; Linux `tcp_syncookies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SynCookieMode {
    /// Never: a SYN that finds the SYN queue full is dropped.
    Never,
    /// When the SYN queue is full (Linux's default, `tcp_syncookies = 1`).
    #[default]
    OnOverflow,
    /// For every SYN: no half-open state at all (`tcp_syncookies = 2`).
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TcpConfig {
    pub send_buffer: usize,
    pub recv_buffer: usize,
    /// Send segments at once instead of coalescing small writes (RFC 896's Nagle off).
    pub nodelay: bool,
    /// `None`: keepalive off (the default, as on every BSD socket).
    pub keepalive: Option<KeepaliveConfig>,
    /// RFC 7323 window scaling.
    pub window_scaling: bool,
    /// RFC 7323 timestamps.
    pub timestamps: bool,
    /// RFC 2018 selective acknowledgments.
    pub sack: bool,
    pub congestion: Algorithm,
    pub rtt: RttConfig,
    /// RFC 9293 §3.8.6.3: at most 500 ms; Linux uses 40 ms minimum, up to 200 ms.
    pub delayed_ack: Duration,
    /// SYN transmissions before `connect` fails with "timed out" (Linux `tcp_syn_retries`: 6).
    pub syn_retries: u32,
    /// SYN-ACK retransmissions of a half-open connection (Linux `tcp_synack_retries`: 5).
    pub synack_retries: u32,
    /// Data retransmissions before the connection is aborted (Linux `tcp_retries2`: 15).
    pub data_retries: u32,
    /// Maximum segment lifetime; TIME_WAIT lasts 2 MSL (RFC 9293 §3.4.2; Linux: 60 s in all).
    pub msl: Duration,
    /// How long an orphaned connection waits in FIN_WAIT_2 (Linux `tcp_fin_timeout`: 60 s).
    pub fin_wait_2_timeout: Duration,
    /// RFC 5961 §7: challenge ACKs per second across the stack, on average: each second's
    /// budget is drawn at random between half and one and a half times this
    /// (CVE-2016-5696; Linux `tcp_challenge_ack_limit`: 1000). 0: no challenge ACKs.
    pub challenge_acks_per_sec: u32,
    /// At most one ACK per this interval per connection in reply to segments that fail a
    /// check: outside the window (RFC 9293 §3.10.7.4), failing PAWS (RFC 7323 §5),
    /// acknowledging data never sent (RFC 5961 §5.2), and challenge ACKs (RFC 5961 §3.2,
    /// §4.2, §5.2), so two stacks that disagree cannot ACK each other in a loop (Linux
    /// `tcp_invalid_ratelimit`: 500 ms). Zero: no limit.
    pub invalid_ack_interval: Duration,
    /// SYN cookies for a listener whose SYN queue (its backlog of handshakes) is full.
    pub syn_cookies: SynCookieMode,
}

impl Default for TcpConfig {
    fn default() -> TcpConfig {
        TcpConfig {
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            nodelay: false,
            keepalive: None,
            window_scaling: true,
            timestamps: true,
            sack: true,
            congestion: Algorithm::default(),
            rtt: RttConfig::default(),
            delayed_ack: Duration::from_millis(40),
            syn_retries: 6,
            synack_retries: 5,
            data_retries: 15,
            msl: Duration::from_secs(30),
            fin_wait_2_timeout: Duration::from_secs(60),
            challenge_acks_per_sec: 1000,
            invalid_ack_interval: Duration::from_millis(500),
            syn_cookies: SynCookieMode::OnOverflow,
        }
    }
}
