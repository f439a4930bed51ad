//! The HTTP/1.1 echo connection through its public API: known answers for real client
//! requests, every malformed case, pipelining and backpressure, and properties: a byte
//! stream split anywhere is answered exactly as in one piece, generated requests get
//! the responses a model predicts, and no input makes it panic.

use proptest::prelude::*;
use sluice_core::apps::http::{fixed_body, HttpCounters, HttpEchoConfig, HttpEchoConnection, HttpLimits};

/// `curl -v http://127.0.0.1:47321/index.html`, as curl 7.88.1 (Debian 12) sent it.
const CURL_GET: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:47321\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
/// `curl -X POST --data-binary 'hello=world' http://127.0.0.1:47322/echo` (curl 7.88.1).
const CURL_POST: &[u8] = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1:47322\r\nUser-Agent: curl/7.88.1\r\n\
    Accept: */*\r\nContent-Length: 11\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nhello=world";
/// `wrk -t1 -c1 -d1 http://127.0.0.1:47324/` (wrk 4.1.0, Debian 12), each request.
const WRK_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:47324\r\n\r\n";
const CHUNKED_POST: &[u8] = b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
    4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nExpires: never\r\n\r\n";

const TEXT: &str = "text/plain; charset=utf-8";
const OCTETS: &str = "application/octet-stream";

fn config() -> HttpEchoConfig {
    HttpEchoConfig::default()
}

fn limits(max_header_bytes: usize, max_body_bytes: usize, max_pipelined: usize) -> HttpEchoConfig {
    HttpEchoConfig {
        limits: HttpLimits { max_header_bytes, max_body_bytes, max_pipelined, ..HttpLimits::DEFAULT },
        fixed_body: None,
    }
}

/// The exact bytes of a response.
fn response(status: &str, content_type: &str, body: &[u8], connection: Option<&str>, head: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nServer: sluice\r\nContent-Length: {}\r\n", body.len());
    out += &format!("Content-Type: {content_type}\r\n");
    if let Some(connection) = connection {
        out += &format!("Connection: {connection}\r\n");
    }
    out += "\r\n";
    let mut out = out.into_bytes();
    if !head {
        out.extend_from_slice(body);
    }
    out
}

fn ok_text(body: &str) -> Vec<u8> {
    response("200 OK", TEXT, body.as_bytes(), None, false)
}

fn ok_echo(body: &[u8]) -> Vec<u8> {
    response("200 OK", OCTETS, body, None, false)
}

/// Feeds `segments` in order, the transport taking all output after every call (and
/// passing again what was not taken); returns everything sent.
fn feed(conn: &mut HttpEchoConnection, segments: &[&[u8]]) -> Vec<u8> {
    let mut sent = Vec::new();
    for segment in segments {
        let mut pos = 0;
        loop {
            pos += conn.on_bytes(&segment[pos..]);
            sent.extend_from_slice(conn.output());
            conn.consume_output(conn.output().len());
            if pos == segment.len() {
                break;
            }
            assert!(conn.wants_input(), "input left but the connection wants none with empty output");
        }
    }
    sent
}

fn serve(config: HttpEchoConfig, segments: &[&[u8]]) -> (Vec<u8>, HttpEchoConnection) {
    let mut conn = HttpEchoConnection::new(config);
    let sent = feed(&mut conn, segments);
    (sent, conn)
}

/// Answers `input` in one piece, at every split into two pieces, and one byte at a
/// time; all must agree. Returns the answer.
fn serve_every_split(config: HttpEchoConfig, input: &[u8]) -> Vec<u8> {
    let (whole, _) = serve(config, &[input]);
    for at in 0..=input.len() {
        let (split, _) = serve(config, &[&input[..at], &input[at..]]);
        assert_eq!(split, whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(serve(config, &bytes).0, whole, "one byte at a time");
    whole
}

fn error_text(status: &str, reason: &str) -> String {
    format!("{status}: {reason}\n")
}

/// A refused request: the error response, then closing; later bytes are dropped.
fn assert_refused(config: HttpEchoConfig, input: &[u8], status: &str) {
    let mut with_next = input.to_vec();
    with_next.extend_from_slice(WRK_GET);
    let sent = serve_every_split(config, &with_next);
    let text = String::from_utf8_lossy(&sent);
    let prefix = format!("HTTP/1.1 {status}\r\n");
    assert!(text.starts_with(&prefix), "{:?} answered {text:?}", String::from_utf8_lossy(input));
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
    assert_eq!(text.matches("\r\nServer: sluice\r\n").count(), 1, "answered after the error: {text:?}");
    let (_, conn) = serve(config, &[&with_next]);
    assert!(conn.is_closing() && conn.should_close());
    assert_eq!(conn.counters().errors(), 1);
}

#[test]
fn curl_get_known_answer() {
    assert_eq!(serve_every_split(config(), CURL_GET), ok_text("GET /index.html\n"));
}

#[test]
fn curl_post_is_echoed() {
    assert_eq!(serve_every_split(config(), CURL_POST), ok_echo(b"hello=world"));
}

#[test]
fn wrk_get_exact_bytes() {
    let expected = b"HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Length: 6\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nGET /\n";
    assert_eq!(serve_every_split(config(), WRK_GET), expected);
}

#[test]
fn chunked_body_is_decoded_and_echoed() {
    assert_eq!(serve_every_split(config(), CHUNKED_POST), ok_echo(b"Wikipedia"));
}

#[test]
fn empty_bodies_name_method_and_target() {
    let length = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(serve_every_split(config(), length), ok_text("POST /a\n"));
    let chunked = b"PUT /b?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(serve_every_split(config(), chunked), ok_text("PUT /b?x=1\n"));
}

#[test]
fn three_pipelined_requests_answered_in_order() {
    let input = [WRK_GET, CURL_POST, CHUNKED_POST].concat();
    let expected = [ok_text("GET /\n"), ok_echo(b"hello=world"), ok_echo(b"Wikipedia")].concat();
    assert_eq!(serve_every_split(config(), &input), expected);
    let (_, conn) = serve(config(), &[&input]);
    assert_eq!(*conn.counters(), HttpCounters { requests: 3, ok: 3, ..HttpCounters::default() },);
    assert!(!conn.is_closing());
}

#[test]
fn connection_close_is_honoured() {
    let close = b"GET /bye HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let input = [close.as_slice(), WRK_GET].concat();
    let expected = response("200 OK", TEXT, b"GET /bye\n", Some("close"), false);
    assert_eq!(serve_every_split(config(), &input), expected);
    let (_, conn) = serve(config(), &[&input]);
    assert!(conn.should_close());
}

#[test]
fn http_10_closes_unless_keep_alive() {
    let plain = b"GET /old HTTP/1.0\r\n\r\n";
    let expected = response("200 OK", TEXT, b"GET /old\n", Some("close"), false);
    assert_eq!(serve_every_split(config(), plain), expected);

    let keep = b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let input = [keep.as_slice(), plain].concat();
    let expected = [
        response("200 OK", TEXT, b"GET /ka\n", Some("keep-alive"), false),
        response("200 OK", TEXT, b"GET /old\n", Some("close"), false),
    ]
    .concat();
    assert_eq!(serve_every_split(config(), &input), expected);
}

#[test]
fn head_gets_the_head_only() {
    let head = b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(serve_every_split(config(), head), response("200 OK", TEXT, b"HEAD /h\n", None, true));
    let with_body = b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(serve_every_split(config(), with_body), response("200 OK", OCTETS, b"abc", None, true));
    let chunked = b"HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
    assert_eq!(serve_every_split(config(), chunked), response("200 OK", OCTETS, b"ab", None, true));
}

#[test]
fn fixed_body_answers_every_request_alike() {
    let fixed = HttpEchoConfig { fixed_body: Some(100), ..config() };
    let body = fixed_body(100);
    let input = [WRK_GET, CURL_POST, CHUNKED_POST, b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
    let ok = response("200 OK", TEXT, &body, None, false);
    let expected = [ok.clone(), ok.clone(), ok, response("200 OK", TEXT, &body, None, true)].concat();
    assert_eq!(serve_every_split(fixed, &input), expected);
    let empty = HttpEchoConfig { fixed_body: Some(0), ..config() };
    assert_eq!(serve_every_split(empty, WRK_GET), response("200 OK", TEXT, b"", None, false));
}

#[test]
fn expect_continue_gets_100_first() {
    let input = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi";
    let expected = [b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(), ok_echo(b"hi")].concat();
    assert_eq!(serve_every_split(config(), input), expected);
    // Too large: the final 413 instead of 100.
    let input = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 20\r\n\r\n";
    assert_refused(limits(8192, 10, 16), input, "413 Content Too Large");
}

#[test]
fn empty_lines_before_a_request_are_ignored() {
    let input = [b"\r\n\r\n".as_slice(), WRK_GET, b"\r\n", WRK_GET].concat();
    assert_eq!(serve_every_split(config(), &input), [ok_text("GET /\n"), ok_text("GET /\n")].concat());
    assert_refused(config(), b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", "400 Bad Request");
}

#[test]
fn malformed_requests_get_400_and_close() {
    let cases: &[&[u8]] = &[
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
        b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1\r\nHost: a\r\n\r\n",
        b"GET / http/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n  b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc0\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    for input in cases {
        assert_refused(config(), input, "400 Bad Request");
    }
}

#[test]
fn error_bodies_say_what_went_wrong() {
    let sent = serve_every_split(config(), b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n");
    let body = error_text("400 Bad Request", "line folding (obs-fold) is not accepted (RFC 9112 §5.2)");
    assert_eq!(sent, response("400 Bad Request", TEXT, body.as_bytes(), Some("close"), false));
}

#[test]
fn other_versions_and_codings() {
    assert_refused(config(), b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "505 HTTP Version Not Supported");
    let gzip = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
    assert_refused(config(), gzip, "501 Not Implemented");
}

#[test]
fn oversized_head_gets_431_at_the_limit() {
    let head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: 0123456789\r\n\r\n";
    let exact = limits(head.len(), 1024, 16);
    assert_eq!(serve_every_split(exact, head), ok_text("GET /\n"));
    let short = limits(head.len() - 1, 1024, 16);
    assert_refused(short, head, "431 Request Header Fields Too Large");
    // A head that never ends is refused once it reaches the limit.
    let (sent, conn) = serve(short, &[&[b'A'; 100]]);
    assert!(sent.starts_with(b"HTTP/1.1 431 ") && conn.should_close());
    let head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let trailers = [head.as_slice(), b"0\r\nX: ", &[b'y'; 64], b"\r\n\r\n"].concat();
    assert_refused(limits(64, 1024, 16), &trailers, "431 Request Header Fields Too Large");
}

#[test]
fn oversized_body_gets_413() {
    let length = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world";
    assert_refused(limits(8192, 10, 16), length, "413 Content Too Large");
    let at_limit = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhelloworld";
    assert_eq!(serve_every_split(limits(8192, 10, 16), at_limit), ok_echo(b"helloworld"));
    let chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n";
    assert_refused(limits(8192, 10, 16), chunked, "413 Content Too Large");
    let huge = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 123456789012345678901234567890\r\n\r\n";
    assert_refused(config(), huge, "413 Content Too Large");
}

#[test]
fn too_many_pipelined_waits_for_the_transport() {
    let input = [WRK_GET, WRK_GET, WRK_GET].concat();
    let mut conn = HttpEchoConnection::new(limits(8192, 1024, 2));
    let taken = conn.on_bytes(&input);
    assert_eq!(taken, 2 * WRK_GET.len(), "a third request is not read while two are in flight");
    assert!(!conn.wants_input());
    let one = ok_text("GET /\n");
    assert_eq!(conn.output(), [one.clone(), one.clone()].concat());
    assert_eq!(conn.on_bytes(&input[taken..]), 0);

    conn.consume_output(one.len() - 1);
    assert!(!conn.wants_input(), "the first response is not entirely sent");
    conn.consume_output(1);
    assert!(conn.wants_input());
    assert_eq!(conn.on_bytes(&input[taken..]), WRK_GET.len());
    assert_eq!(conn.output(), [one.clone(), one].concat());
    assert_eq!(conn.counters().ok, 3);
}

#[test]
fn echo_output_is_bounded() {
    let body: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut input =
        format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    input.extend_from_slice(&body);
    let config = HttpEchoConfig {
        limits: HttpLimits { max_output_bytes: 1000, ..HttpLimits::DEFAULT },
        fixed_body: None,
    };
    let mut conn = HttpEchoConnection::new(config);
    let mut pos = 0;
    let mut sent = Vec::new();
    while pos < input.len() {
        pos += conn.on_bytes(&input[pos..]);
        assert!(conn.output().len() <= 1000 + 128, "{} bytes pending", conn.output().len());
        assert!(!conn.wants_input() || pos == input.len());
        // A transport with little room.
        let n = conn.output().len().min(300);
        sent.extend_from_slice(&conn.output()[..n]);
        conn.consume_output(n);
    }
    sent.extend_from_slice(conn.output());
    assert_eq!(sent, ok_echo(&body));
}

#[test]
fn end_of_stream_mid_request_closes_without_answer() {
    let mut conn = HttpEchoConnection::new(config());
    assert_eq!(conn.on_bytes(&CURL_POST[..CURL_POST.len() - 3]), CURL_POST.len() - 3);
    conn.on_eof();
    assert!(conn.is_closing());
    // The echo began with the body: what arrived of it is sent, then the close.
    let text = String::from_utf8_lossy(conn.output()).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("hello=wo"), "{text:?}");
    conn.consume_output(usize::MAX);
    assert!(conn.should_close());

    let mut conn = HttpEchoConnection::new(config());
    conn.on_bytes(&WRK_GET[..10]);
    conn.on_eof();
    assert!(conn.should_close() && conn.output().is_empty());
    assert_eq!(conn.on_bytes(WRK_GET), WRK_GET.len(), "a closing connection drops input");
}

#[test]
fn reset_serves_a_new_connection() {
    let mut conn = HttpEchoConnection::new(config());
    conn.on_bytes(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert!(conn.is_closing());
    assert_eq!(conn.take_counters().ok, 1);
    assert_eq!(*conn.counters(), HttpCounters::default());
    conn.reset();
    assert!(!conn.is_closing() && conn.output().is_empty());
    assert_eq!(feed(&mut conn, &[WRK_GET]), ok_text("GET /\n"));
}

#[test]
fn counters_add_up() {
    let mut total = HttpCounters::default();
    for input in [[WRK_GET, WRK_GET].concat(), b"BAD\r\n\r\n".to_vec()] {
        let (_, mut conn) = serve(config(), &[&input]);
        total += conn.take_counters();
    }
    assert_eq!(total, HttpCounters { requests: 2, ok: 2, bad_request: 1, ..HttpCounters::default() });
    assert_eq!((total.responses(), total.errors()), (3, 1));
}

/// A request the model knows the answer to.
#[derive(Debug, Clone)]
struct Request {
    method: &'static str,
    target: String,
    http10: bool,
    close: bool,
    keep_alive: bool,
    extra: Vec<(String, String)>,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Length(Vec<u8>),
    /// The chunks, each with an extension or not, and trailer lines.
    Chunked(Vec<(Vec<u8>, bool)>, Vec<String>),
}

impl Request {
    fn bytes(&self) -> Vec<u8> {
        let version = if self.http10 { "1.0" } else { "1.1" };
        let mut head = format!("{} {} HTTP/{version}\r\nHost: example.com\r\n", self.method, self.target);
        for (name, value) in &self.extra {
            head += &format!("{name}:{value}\r\n");
        }
        if self.close {
            head += "Connection: close\r\n";
        } else if self.keep_alive {
            head += "Connection: keep-alive\r\n";
        }
        match &self.body {
            Body::None => {}
            Body::Length(body) => head += &format!("Content-Length: {}\r\n", body.len()),
            Body::Chunked(..) => head += "Transfer-Encoding: chunked\r\n",
        }
        head += "\r\n";
        let mut out = head.into_bytes();
        match &self.body {
            Body::None => {}
            Body::Length(body) => out.extend_from_slice(body),
            Body::Chunked(chunks, trailers) => {
                for (chunk, extension) in chunks {
                    out.extend_from_slice(format!("{:x}", chunk.len()).as_bytes());
                    if *extension {
                        out.extend_from_slice(b" ; name=\"va lue\"");
                    }
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                for trailer in trailers {
                    out.extend_from_slice(trailer.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    fn persistent(&self) -> bool {
        !self.close && (!self.http10 || self.keep_alive)
    }

    /// What the server must answer.
    fn response(&self) -> Vec<u8> {
        let connection = match (self.persistent(), self.http10) {
            (false, _) => Some("close"),
            (true, true) => Some("keep-alive"),
            (true, false) => None,
        };
        let head = self.method == "HEAD";
        let body = match &self.body {
            Body::None => Vec::new(),
            Body::Length(body) => body.clone(),
            Body::Chunked(chunks, _) => chunks.iter().flat_map(|(chunk, _)| chunk.clone()).collect(),
        };
        if body.is_empty() {
            let text = format!("{} {}\n", self.method, self.target);
            response("200 OK", TEXT, text.as_bytes(), connection, head)
        } else {
            response("200 OK", OCTETS, &body, connection, head)
        }
    }
}

fn request() -> impl Strategy<Value = Request> {
    let method = prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "X-CUSTOM"]);
    let target = "/[a-zA-Z0-9._~%/?=&-]{0,40}";
    let extra =
        prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ \t]?[ -~]{0,30}"), 0..4).prop_map(|fields| {
            fields
                .into_iter()
                .filter(|(name, _)| {
                    let name = name.to_ascii_lowercase();
                    !["host", "connection", "content-length", "transfer-encoding", "expect"]
                        .contains(&name.as_str())
                })
                .map(|(name, value)| (name, value.trim_end_matches([' ', '\t']).to_string()))
                .collect::<Vec<_>>()
        });
    let chunk = (prop::collection::vec(any::<u8>(), 1..50), any::<bool>());
    let body = prop_oneof![
        Just(Body::None),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Body::Length),
        (prop::collection::vec(chunk, 0..5), prop::collection::vec("X-[a-z]{1,8}: [a-z ]{0,10}", 0..3))
            .prop_map(|(chunks, trailers)| Body::Chunked(chunks, trailers)),
    ];
    (method, target, any::<bool>(), prop::bool::weighted(0.1), any::<bool>(), extra, body).prop_map(
        |(method, target, http10, close, keep_alive, extra, body)| {
            // HTTP/1.0 has no chunked coding (RFC 9112 §6.1).
            let body = match body {
                Body::Chunked(..) if http10 => Body::None,
                body => body,
            };
            Request { method, target, http10, close, keep_alive, extra, body }
        },
    )
}

/// Cuts `input` at the given points (taken modulo its length, sorted).
fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&cut| cut % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&input[start..cut]);
        start = cut;
    }
    pieces.push(&input[start..]);
    pieces
}

/// A connection limited enough that the limits are hit by generated input.
fn small_limits() -> HttpEchoConfig {
    HttpEchoConfig {
        limits: HttpLimits {
            max_header_bytes: 200,
            max_body_bytes: 150,
            max_pipelined: 2,
            max_output_bytes: 64,
        },
        fixed_body: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Generated requests, pipelined, split anywhere: exactly the model's responses,
    /// up to and including the first that closes.
    #[test]
    fn split_requests_get_the_model_answers(
        requests in prop::collection::vec(request(), 1..5),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let input: Vec<u8> = requests.iter().flat_map(Request::bytes).collect();
        let mut expected = Vec::new();
        let mut served = 0usize;
        for request in &requests {
            expected.extend(request.response());
            served += 1;
            if !request.persistent() {
                break;
            }
        }
        let (sent, conn) = serve(config(), &split_at(&input, &cuts));
        prop_assert_eq!(String::from_utf8_lossy(&sent), String::from_utf8_lossy(&expected));
        prop_assert_eq!(conn.counters().ok, served as u64);
        prop_assert_eq!(conn.is_closing(), !requests[served - 1].persistent());
    }

    /// Generated requests with one byte changed, under tight limits: split or whole,
    /// the same bytes are sent and the connection ends in the same state.
    #[test]
    fn corrupted_requests_answer_alike_split_or_whole(
        requests in prop::collection::vec(request(), 1..4),
        corruption in (any::<usize>(), any::<u8>()),
        cuts in prop::collection::vec(any::<usize>(), 1..8),
    ) {
        let mut input: Vec<u8> = requests.iter().flat_map(Request::bytes).collect();
        let at = corruption.0 % input.len();
        input[at] = corruption.1;
        for config in [config(), small_limits()] {
            let (whole, whole_conn) = serve(config, &[&input]);
            let (split, split_conn) = serve(config, &split_at(&input, &cuts));
            prop_assert_eq!(&split, &whole);
            prop_assert_eq!(split_conn.counters(), whole_conn.counters());
            prop_assert_eq!(split_conn.is_closing(), whole_conn.is_closing());
        }
    }

    /// Arbitrary bytes never panic, and are answered alike split or whole.
    #[test]
    fn arbitrary_bytes_answer_alike_split_or_whole(
        input in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 1..8),
    ) {
        for config in [config(), small_limits(), HttpEchoConfig { fixed_body: Some(10), ..small_limits() }] {
            let (whole, _) = serve(config, &[&input]);
            let (split, _) = serve(config, &split_at(&input, &cuts));
            prop_assert_eq!(split, whole);
        }
    }
}
