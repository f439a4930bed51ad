//! How long an HTTP connection may keep a slot without progress (the slowloris bounds).

use crate::time::Duration;

/// Per-connection timeouts of the HTTP/1.1 server, as nginx's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// From a request head's first byte (or from the accept) until the head is complete,
    /// not reset by each byte, so one byte every few seconds cannot hold the connection
    /// (nginx `client_header_timeout`, 60 s).
    pub request_head: Duration,
    /// Idle between requests: every response sent, nothing of the next request received
    /// (nginx `keepalive_timeout`, 75 s).
    pub keepalive: Duration,
    /// A lingering close (the server closed first, so it sent its FIN and reads and
    /// drops what the client still sends) ends after this long at most (nginx
    /// `lingering_time`, 30 s)...
    pub lingering_time: Duration,
    /// ...or after this long without a byte from the client (nginx
    /// `lingering_timeout`, 5 s).
    pub lingering_timeout: Duration,
}

impl HttpTimeouts {
    pub const DEFAULT: HttpTimeouts = HttpTimeouts {
        request_head: Duration::from_secs(60),
        keepalive: Duration::from_secs(75),
        lingering_time: Duration::from_secs(30),
        lingering_timeout: Duration::from_secs(5),
    };
}

impl Default for HttpTimeouts {
    fn default() -> HttpTimeouts {
        HttpTimeouts::DEFAULT
    }
}

/// Which timeout a connection is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpWait {
    /// Waiting for (the rest of) a request head.
    RequestHead,
    /// Idle between requests.
    Keepalive,
    /// Reading a body or sending responses: no timeout of this module applies.
    Busy,
    /// The server closed first and drains the client's last bytes (only the server
    /// enters this state; a connection's own state machine never reports it).
    Lingering,
}

/// Connections closed by a timeout, by kind, and lingering closes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpTimeoutCounters {
    pub request_head: u64,
    pub keepalive: u64,
    /// Closes the server began (after an error response or `Connection: close`) with a
    /// lingering drain.
    pub lingering_closes: u64,
    /// Lingering drains cut short by `lingering_time` or `lingering_timeout` (the
    /// connection is then closed with whatever the client still sends unread).
    pub lingering_expired: u64,
}
