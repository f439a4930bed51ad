//! The request head (RFC 9112 §2-§6): finding where it ends in a byte stream, then
//! parsing the request line and the header fields the server acts on.
//!
//! [`find_head_end`] scans line by line with `memchr`, so a head that arrives in pieces
//! is scanned once; [`RequestHead::parse`] then reads the complete head, borrowing the
//! method and target from it. Both reject rather than guess: bare LF, stray CR,
//! obs-fold, whitespace before the colon and conflicting framing are all errors.

use memchr::memchr;

use super::RequestError;

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// Neither Content-Length nor Transfer-Encoding: no body.
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head, borrowing method and target from the bytes it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    /// `HTTP/1.x`; a minor version above 1 is read as 1 (RFC 9110 §2.5).
    pub minor_version: u8,
    /// RFC 9112 §9.3: persistent unless `Connection: close`, or HTTP/1.0 without
    /// `Connection: keep-alive`.
    pub keep_alive: bool,
    pub framing: BodyFraming,
    /// `Expect: 100-continue` in an HTTP/1.1 request (RFC 9110 §10.1.1).
    pub expect_continue: bool,
}

/// Where the head ends, as far as the bytes scanned so far tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadEnd {
    /// The head is `buf[..n]`, its final empty line included.
    Complete(usize),
    /// No empty line yet; resume scanning at `line_start` (the start of the last,
    /// unfinished line) when more bytes arrive.
    Partial { line_start: usize },
    /// A line ends in a bare LF (RFC 9112 §2.2: we do not accept it as a terminator).
    BareLf,
}

/// Scans `buf` from `line_start`, which must be the start of a line, for the empty
/// line that ends the head.
pub fn find_head_end(buf: &[u8], mut line_start: usize) -> HeadEnd {
    while let Some(offset) = memchr(b'\n', &buf[line_start..]) {
        let lf = line_start + offset;
        if lf == line_start || buf[lf - 1] != b'\r' {
            return HeadEnd::BareLf;
        }
        if lf == line_start + 1 {
            return HeadEnd::Complete(lf + 1);
        }
        line_start = lf + 1;
    }
    HeadEnd::Partial { line_start }
}

impl<'a> RequestHead<'a> {
    /// Parses a complete head as delimited by [`find_head_end`] (the request line, the
    /// field lines and the final CRLF).
    pub fn parse(head: &'a [u8]) -> Result<RequestHead<'a>, RequestError> {
        let (request_line, mut rest) = split_line(head).ok_or(RequestError::RequestLine)?;
        let (method, target, minor_version) = parse_request_line(request_line)?;

        let mut fields = Fields::default();
        loop {
            let (line, next) = split_line(rest).ok_or(RequestError::FieldLine)?;
            if line.is_empty() {
                break;
            }
            fields.add(line)?;
            rest = next;
        }
        let framing = fields.framing(minor_version)?;
        if fields.hosts > 1 || (minor_version >= 1 && fields.hosts == 0) {
            return Err(RequestError::Host);
        }
        let keep_alive = !fields.close && (minor_version >= 1 || fields.keep_alive);
        let expect_continue = minor_version >= 1 && fields.expect_continue;
        Ok(RequestHead { method, target, minor_version, keep_alive, framing, expect_continue })
    }

    pub fn is_head(&self) -> bool {
        self.method == b"HEAD"
    }
}

/// The line before the first CRLF, and what follows it. A CR elsewhere in the line
/// is left for the callers' character checks to reject.
fn split_line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let lf = memchr(b'\n', buf)?;
    let line = buf[..lf].strip_suffix(b"\r")?;
    Some((line, &buf[lf + 1..]))
}

/// RFC 9112 §3: `method SP request-target SP HTTP-version`, single spaces.
fn parse_request_line(line: &[u8]) -> Result<(&[u8], &[u8], u8), RequestError> {
    let method_end = memchr(b' ', line).ok_or(RequestError::RequestLine)?;
    let method = &line[..method_end];
    let rest = &line[method_end + 1..];
    let target_end = memchr(b' ', rest).ok_or(RequestError::RequestLine)?;
    let target = &rest[..target_end];
    let version = &rest[target_end + 1..];

    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(RequestError::Method);
    }
    if target.is_empty() || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(RequestError::Target);
    }
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            if *major != b'1' {
                return Err(RequestError::UnsupportedVersion);
            }
            1
        }
        _ => return Err(RequestError::Version),
    };
    Ok((method, target, minor))
}

/// What the field lines said about framing and the connection.
#[derive(Debug, Default)]
struct Fields {
    hosts: u32,
    content_length: Option<u64>,
    transfer_encoding: bool,
    /// The last transfer coding seen is chunked.
    chunked_last: bool,
    chunked_count: u32,
    /// A coding other than chunked appeared.
    other_coding: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl Fields {
    /// RFC 9112 §5: `field-name ":" OWS field-value OWS`.
    fn add(&mut self, line: &[u8]) -> Result<(), RequestError> {
        if matches!(line[0], b' ' | b'\t') {
            return Err(RequestError::ObsFold);
        }
        let colon = memchr(b':', line).ok_or(RequestError::FieldLine)?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(RequestError::FieldName);
        }
        let value = trim_ows(&line[colon + 1..]);
        if !value.iter().all(|&b| is_field_vchar(b)) {
            return Err(RequestError::FieldValue);
        }
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => self.hosts += 1,
            6 if name.eq_ignore_ascii_case(b"expect") => {
                self.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for option in list_elements(value) {
                    self.close |= option.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                // RFC 9110 §8.6: a list of identical values may be taken as one.
                for element in value.split(|&b| b == b',') {
                    let length = parse_content_length(trim_ows(element))?;
                    if self.content_length.is_some_and(|seen| seen != length) {
                        return Err(RequestError::ContentLength);
                    }
                    self.content_length = Some(length);
                }
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                self.transfer_encoding = true;
                for coding in list_elements(value) {
                    let name = trim_ows(coding.split(|&b| b == b';').next().unwrap_or(coding));
                    if name.eq_ignore_ascii_case(b"chunked") {
                        self.chunked_count += 1;
                        self.chunked_last = true;
                    } else {
                        self.other_coding = true;
                        self.chunked_last = false;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// RFC 9112 §6.1, §6.3.
    fn framing(&self, minor_version: u8) -> Result<BodyFraming, RequestError> {
        if self.transfer_encoding {
            if minor_version == 0 {
                return Err(RequestError::TransferEncodingInHttp10);
            }
            if self.content_length.is_some() {
                return Err(RequestError::LengthAndTransferEncoding);
            }
            if !self.chunked_last || self.chunked_count != 1 {
                return Err(RequestError::TransferEncoding);
            }
            if self.other_coding {
                return Err(RequestError::UnknownTransferCoding);
            }
            return Ok(BodyFraming::Chunked);
        }
        Ok(match self.content_length {
            Some(length) => BodyFraming::Length(length),
            None => BodyFraming::None,
        })
    }
}

/// `1*DIGIT`; a value too large for u64 saturates (it is refused as too large later).
fn parse_content_length(digits: &[u8]) -> Result<u64, RequestError> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(RequestError::ContentLength);
    }
    Ok(digits.iter().fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

/// RFC 9110 §5.6.1: comma-separated elements, empty ones ignored.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|element| !element.is_empty())
}

/// RFC 9110 §5.6.3: OWS is spaces and horizontal tabs.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// RFC 9110 §5.5: field-vchar, SP and HTAB (obs-text included).
fn is_field_vchar(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// RFC 9110 §5.6.2: tchar.
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.')
            || matches!(c, b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &str) -> Result<RequestHead<'_>, RequestError> {
        assert_eq!(find_head_end(head.as_bytes(), 0), HeadEnd::Complete(head.len()));
        RequestHead::parse(head.as_bytes())
    }

    #[test]
    fn tchar_table_matches_rfc_9110() {
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let mut expected: Vec<u8> = b"!#$%&'*+-.^_`|~".to_vec();
        expected.extend(b'0'..=b'9');
        expected.extend(b'A'..=b'Z');
        expected.extend(b'a'..=b'z');
        expected.sort();
        assert_eq!(tchars, expected);
    }

    #[test]
    fn head_end_is_found_line_by_line() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody";
        assert_eq!(find_head_end(head, 0), HeadEnd::Complete(27));
        assert_eq!(find_head_end(&head[..20], 0), HeadEnd::Partial { line_start: 16 });
        assert_eq!(find_head_end(&head[..27], 16), HeadEnd::Complete(27));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nHost: a\r\n\r\n", 0), HeadEnd::BareLf);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\n", 0), HeadEnd::BareLf);
    }

    #[test]
    fn typical_get() {
        let head = parse("GET /index.html HTTP/1.1\r\nHost: 10.0.0.2:8080\r\n\r\n").unwrap();
        assert_eq!(head.method, b"GET");
        assert_eq!(head.target, b"/index.html");
        assert_eq!(head.minor_version, 1);
        assert!(head.keep_alive && !head.expect_continue && !head.is_head());
        assert_eq!(head.framing, BodyFraming::None);
    }

    #[test]
    fn connection_options() {
        assert!(!parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").unwrap().keep_alive);
        assert!(!parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\n\r\n").unwrap().keep_alive);
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap().keep_alive);
        assert!(!parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").unwrap().keep_alive);
    }

    #[test]
    fn framing() {
        let length = parse("POST / HTTP/1.1\r\nHost: a\r\ncontent-length:  12 \r\n\r\n").unwrap();
        assert_eq!(length.framing, BodyFraming::Length(12));
        let same = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(same.unwrap().framing, BodyFraming::Length(5));
        let chunked = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n").unwrap();
        assert_eq!(chunked.framing, BodyFraming::Chunked);
        let huge = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n");
        assert_eq!(huge.unwrap().framing, BodyFraming::Length(u64::MAX));
    }

    #[test]
    fn expect_continue_only_in_http_11() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
        assert!(parse(head).unwrap().expect_continue);
        let head = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
        assert!(!parse(head).unwrap().expect_continue);
    }

    #[test]
    fn higher_minor_version_reads_as_11() {
        assert_eq!(parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n").unwrap().minor_version, 1);
    }

    #[test]
    fn malformed_heads() {
        use RequestError::*;
        let cases: &[(&str, RequestError)] = &[
            ("GET /\r\n\r\n", RequestLine),
            ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Method),
            ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", Version),
            ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", Version),
            ("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            ("GET / HTTP/1.x\r\nHost: a\r\n\r\n", Version),
            ("GET / HTTX/1.1\r\nHost: a\r\n\r\n", Version),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", UnsupportedVersion),
            ("GET / HTTP/1.1\r\n\r\n", Host),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Host),
            ("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", FieldLine),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", FieldName),
            ("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", FieldName),
            ("GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n", FieldName),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", FieldValue),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", FieldValue),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", ObsFold),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", ContentLength),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", ContentLength),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", ContentLength),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", ContentLength),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n", ContentLength),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                LengthAndTransferEncoding,
            ),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", TransferEncoding),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", TransferEncoding),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", TransferEncoding),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", UnknownTransferCoding),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TransferEncodingInHttp10),
        ];
        for (head, error) in cases {
            assert_eq!(parse(head), Err(*error), "{head:?}");
        }
    }
}
