//! The bounds that keep one HTTP connection's memory and pipelining finite.

/// Per-connection limits of the HTTP/1.1 server.
///
/// Memory per connection stays below about `max_header_bytes + max_body_bytes +
/// max_output_bytes` plus one response, whatever the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// The request line and header section, both CRLFs of the empty line included;
    /// longer heads get 431 (RFC 6585 §5). Also bounds a chunked body's trailer section.
    pub max_header_bytes: usize,
    /// A request body (Content-Length or the sum of its chunks); larger gets 413
    /// (RFC 9110 §15.5.14).
    pub max_body_bytes: usize,
    /// Responses produced but not yet taken by the transport; at this many the
    /// connection stops reading requests until the transport drains some.
    pub max_pipelined: usize,
    /// Pending response bytes at which the connection stops reading requests (the
    /// transport's send buffer is full; TCP flow control slows the client down).
    pub max_output_bytes: usize,
}

impl HttpLimits {
    pub const DEFAULT: HttpLimits = HttpLimits {
        max_header_bytes: 8 * 1024,
        max_body_bytes: 1024 * 1024,
        max_pipelined: 16,
        max_output_bytes: 64 * 1024,
    };
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits::DEFAULT
    }
}
