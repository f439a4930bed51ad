//! Writing responses: deterministic headers (no Date, RFC 9110 §6.6.1 lets a server
//! without a clock omit it), so every run and every stack sends identical bytes.
//!
//! A response is `HTTP/1.1 <status>`, `Server: sluice`, `Content-Length`, `Content-Type`,
//! then `Connection: close` when the server closes after it, or `Connection: keep-alive`
//! to an HTTP/1.0 client it keeps (RFC 9112 §9.3).

use super::Status;

/// The body of `--body-size N` responses is this pattern repeated: byte `i` is
/// `FIXED_BODY_PATTERN[i % 64]`. A peer server (nginx) serving the same file sends the
/// same bytes.
pub const FIXED_BODY_PATTERN: &[u8; 64] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-\n";

/// The fixed-size body of `len` bytes, for tools that must send or check the same bytes.
pub fn fixed_body(len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(len);
    write_fixed_body(&mut body, len);
    body
}

/// Appends `len` bytes of [`FIXED_BODY_PATTERN`].
pub(crate) fn write_fixed_body(out: &mut Vec<u8>, len: usize) {
    out.reserve(len);
    let mut left = len;
    while left > 0 {
        let take = left.min(FIXED_BODY_PATTERN.len());
        out.extend_from_slice(&FIXED_BODY_PATTERN[..take]);
        left -= take;
    }
}

/// The media type of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// An echoed request body: arbitrary bytes.
    OctetStream,
    /// The method-and-target line, error explanations and the fixed pattern.
    Text,
}

impl ContentType {
    fn field_line(self) -> &'static [u8] {
        match self {
            ContentType::OctetStream => b"Content-Type: application/octet-stream\r\n",
            ContentType::Text => b"Content-Type: text/plain; charset=utf-8\r\n",
        }
    }
}

/// What the `Connection` field says (RFC 9112 §9.3, §9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// HTTP/1.1 keeps the connection without saying so.
    KeepImplicit,
    /// An HTTP/1.0 client asked to keep it: `Connection: keep-alive`.
    KeepAlive,
    /// `Connection: close`: the server closes after this response.
    Close,
}

/// Appends a response head announcing `content_length` body bytes.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    status: Status,
    content_length: u64,
    content_type: ContentType,
    persistence: Persistence,
) {
    out.extend_from_slice(status.status_line());
    out.extend_from_slice(b"Server: sluice\r\nContent-Length: ");
    let mut digits = [0u8; 20];
    out.extend_from_slice(format_decimal(content_length, &mut digits));
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(content_type.field_line());
    match persistence {
        Persistence::KeepImplicit => {}
        Persistence::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        Persistence::Close => out.extend_from_slice(b"Connection: close\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 9110 §15.2.1: `100 Continue`, an interim response without fields.
pub(crate) fn write_continue(out: &mut Vec<u8>) {
    out.extend_from_slice(Status::Continue.status_line());
    out.extend_from_slice(b"\r\n");
}

/// `n` in decimal, in the tail of `buf`.
fn format_decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        let mut buf = [0; 20];
        for n in [0, 7, 10, 99, 1234567, u64::MAX] {
            assert_eq!(format_decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn head_bytes() {
        let mut out = Vec::new();
        write_head(&mut out, Status::Ok, 6, ContentType::Text, Persistence::KeepImplicit);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Length: 6\r\n\
              Content-Type: text/plain; charset=utf-8\r\n\r\n"
        );
        out.clear();
        write_head(&mut out, Status::BadRequest, 0, ContentType::OctetStream, Persistence::Close);
        assert_eq!(
            out,
            b"HTTP/1.1 400 Bad Request\r\nServer: sluice\r\nContent-Length: 0\r\n\
              Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn fixed_body_repeats_the_pattern() {
        assert!(fixed_body(0).is_empty());
        let body = fixed_body(200);
        assert_eq!(body.len(), 200);
        assert!(body.iter().enumerate().all(|(i, &b)| b == FIXED_BODY_PATTERN[i % 64]));
    }
}
