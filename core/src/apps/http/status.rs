//! The status codes the server answers with (RFC 9110 §15).

use core::fmt;

/// A response status the echo server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// RFC 9110 §15.2.1: the client may send the body it announced with
    /// `Expect: 100-continue`. Interim: a final response follows.
    Continue,
    /// RFC 9110 §15.3.1.
    Ok,
    /// RFC 9110 §15.5.1: the request is malformed.
    BadRequest,
    /// RFC 9110 §15.5.14: the body exceeds [`HttpLimits::max_body_bytes`](super::HttpLimits).
    ContentTooLarge,
    /// RFC 6585 §5: the head exceeds [`HttpLimits::max_header_bytes`](super::HttpLimits).
    HeaderFieldsTooLarge,
    /// RFC 9110 §15.6.2: a transfer coding other than chunked (RFC 9112 §6.1).
    NotImplemented,
    /// RFC 9110 §15.6.6: an HTTP major version other than 1.
    VersionNotSupported,
}

impl Status {
    pub const fn code(self) -> u16 {
        match self {
            Status::Continue => 100,
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::ContentTooLarge => 413,
            Status::HeaderFieldsTooLarge => 431,
            Status::NotImplemented => 501,
            Status::VersionNotSupported => 505,
        }
    }

    pub const fn reason(self) -> &'static str {
        match self {
            Status::Continue => "Continue",
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::ContentTooLarge => "Content Too Large",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::NotImplemented => "Not Implemented",
            Status::VersionNotSupported => "HTTP Version Not Supported",
        }
    }

    /// The status line, CRLF included.
    pub(crate) const fn status_line(self) -> &'static [u8] {
        match self {
            Status::Continue => b"HTTP/1.1 100 Continue\r\n",
            Status::Ok => b"HTTP/1.1 200 OK\r\n",
            Status::BadRequest => b"HTTP/1.1 400 Bad Request\r\n",
            Status::ContentTooLarge => b"HTTP/1.1 413 Content Too Large\r\n",
            Status::HeaderFieldsTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            Status::NotImplemented => b"HTTP/1.1 501 Not Implemented\r\n",
            Status::VersionNotSupported => b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_match_code_and_reason() {
        let all = [
            Status::Continue,
            Status::Ok,
            Status::BadRequest,
            Status::ContentTooLarge,
            Status::HeaderFieldsTooLarge,
            Status::NotImplemented,
            Status::VersionNotSupported,
        ];
        for status in all {
            let line = format!("HTTP/1.1 {status}\r\n");
            assert_eq!(status.status_line(), line.as_bytes());
        }
    }
}
