//! One HTTP/1.1 echo connection as a pure state machine: received bytes in, response
//! bytes out, no socket and no clock, so the in-worker server on Sluice and the
//! kernel-stack server run the same code and send the same bytes.
//!
//! The transport loop:
//! 1. while [`HttpEchoConnection::wants_input`], pass received bytes to
//!    [`on_bytes`](HttpEchoConnection::on_bytes) and drop from the receive buffer as
//!    many as it returns;
//! 2. send from [`output`](HttpEchoConnection::output) and report what was sent with
//!    [`consume_output`](HttpEchoConnection::consume_output);
//! 3. on end of stream call [`on_eof`](HttpEchoConnection::on_eof);
//! 4. once [`should_close`](HttpEchoConnection::should_close), shut down the write side
//!    and close. RFC 9112 §9.6: to keep the peer's TCP from resetting away the last
//!    response, keep reading (a closing connection consumes and drops everything it is
//!    given) until the peer closes too, or a timeout.
//!
//! Responses leave in request order. The connection stops taking input while
//! [`HttpLimits::max_pipelined`] responses are in flight or
//! [`HttpLimits::max_output_bytes`] are pending, so a client that does not read its
//! responses is slowed down by TCP flow control, and memory stays bounded.

use super::chunked::ChunkedDecoder;
use super::output::OutputBuffer;
use super::parser::{find_head_end, BodyFraming, HeadEnd, RequestHead};
use super::response::{write_continue, write_fixed_body, write_head, ContentType, Persistence};
use super::{HttpCounters, HttpLimits, HttpWait, RequestError, Status};

/// How the echo server answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpEchoConfig {
    pub limits: HttpLimits,
    /// Answer every request with this many bytes of
    /// [`FIXED_BODY_PATTERN`](super::FIXED_BODY_PATTERN) (`--body-size N`), whatever it
    /// sent.
    pub fixed_body: Option<usize>,
}

/// What happens to the bytes of a Content-Length body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LengthBody {
    /// Appended to the response already begun: the echo.
    Echo,
    /// Dropped; the response already begun (to HEAD: its head only) ends with the body.
    Drop,
    /// Dropped; the fixed-size response is written when the body ends.
    DropThenFixed,
}

#[derive(Debug, Clone)]
enum Phase {
    /// Reading a request head.
    Head,
    /// Reading a Content-Length body with this many bytes left (never 0).
    Length { left: u64, body: LengthBody },
    /// Reading a chunked body.
    Chunked(ChunkedDecoder),
    /// No more requests: the last response is written (or the peer left); input is
    /// dropped.
    Closing,
}

/// The request being served, once its head is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exchange {
    is_head: bool,
    persistence: Persistence,
}

/// One connection of the HTTP/1.1 echo server (RFC 9112).
///
/// It answers `200 OK` echoing the request body; a request without a body gets a small
/// text body naming method and target (`GET /index.html\n`); HEAD gets the head only.
/// Malformed requests get 400, oversized heads 431, oversized bodies 413, transfer
/// codings other than chunked 501, HTTP major versions other than 1 505, each followed
/// by closing the connection.
#[derive(Debug)]
pub struct HttpEchoConnection {
    config: HttpEchoConfig,
    phase: Phase,
    /// A head that arrived in pieces (the head of one segment is parsed in place).
    head_buf: Vec<u8>,
    /// Where [`find_head_end`] resumes in `head_buf`.
    head_scan: usize,
    /// A CR before a request line, possibly the start of an empty line to ignore.
    leading_cr: bool,
    exchange: Exchange,
    /// A chunked body being echoed (at most `max_body_bytes`).
    body: Vec<u8>,
    /// `method SP target` of the chunked request, for its answer if its body is empty.
    request_line: Vec<u8>,
    output: OutputBuffer,
    counters: HttpCounters,
}

impl HttpEchoConnection {
    pub fn new(config: HttpEchoConfig) -> HttpEchoConnection {
        HttpEchoConnection {
            config,
            phase: Phase::Head,
            head_buf: Vec::new(),
            head_scan: 0,
            leading_cr: false,
            exchange: Exchange { is_head: false, persistence: Persistence::KeepImplicit },
            body: Vec::new(),
            request_line: Vec::new(),
            output: OutputBuffer::default(),
            counters: HttpCounters::default(),
        }
    }

    /// Makes this a fresh connection again, keeping the buffers' memory (for a pool of
    /// connections). Counters restart from zero: take them first.
    pub fn reset(&mut self) {
        self.phase = Phase::Head;
        self.head_buf.clear();
        self.head_scan = 0;
        self.leading_cr = false;
        self.body.clear();
        self.request_line.clear();
        self.output.clear();
        self.counters = HttpCounters::default();
    }

    /// Consumes received bytes, appending responses to [`output`](Self::output); returns
    /// how many bytes of `input` it took. It takes fewer than all when it must wait for
    /// the transport to take output (see [`wants_input`](Self::wants_input)); the rest
    /// must be passed again later. A closing connection takes and drops everything.
    pub fn on_bytes(&mut self, input: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            if matches!(self.phase, Phase::Closing) {
                return input.len();
            }
            if pos == input.len() || !self.wants_input() {
                return pos;
            }
            let rest = &input[pos..];
            pos += match self.phase {
                Phase::Head => self.read_head(rest),
                Phase::Length { left, body } => self.read_length_body(rest, left, body),
                Phase::Chunked(_) => self.read_chunked_body(rest),
                Phase::Closing => 0,
            };
        }
    }

    /// The peer will send nothing more. A request it left unfinished is not answered
    /// (RFC 9112 §8); the connection closes once the output is taken.
    pub fn on_eof(&mut self) {
        self.phase = Phase::Closing;
    }

    /// Whether [`on_bytes`](Self::on_bytes) would take input now: false while the
    /// pipelining or output limit is reached, until the transport takes output.
    pub fn wants_input(&self) -> bool {
        let limits = &self.config.limits;
        let output_room =
            self.output.pending_len() == 0 || self.output.pending_len() < limits.max_output_bytes;
        match self.phase {
            Phase::Head => output_room && self.output.in_flight() < limits.max_pipelined.max(1),
            Phase::Length { body: LengthBody::Echo, .. } => output_room,
            Phase::Length { .. } | Phase::Chunked(_) | Phase::Closing => true,
        }
    }

    /// Response bytes waiting to be sent, in order.
    pub fn output(&self) -> &[u8] {
        self.output.pending()
    }

    /// The transport sent the first `n` bytes of [`output`](Self::output).
    pub fn consume_output(&mut self, n: usize) {
        self.output.consume(n);
    }

    /// No further request will be read: after the pending output, close.
    pub fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing)
    }

    /// Closing and every response sent: shut the connection down now.
    pub fn should_close(&self) -> bool {
        self.is_closing() && self.output.pending_len() == 0
    }

    /// Which timeout applies now: a partial head runs the request-head timeout, a
    /// connection with nothing received and nothing left to send is idle (keep-alive).
    pub fn wait(&self) -> HttpWait {
        match self.phase {
            Phase::Head if self.output.pending_len() > 0 => HttpWait::Busy,
            Phase::Head if self.head_buf.is_empty() && !self.leading_cr => HttpWait::Keepalive,
            Phase::Head => HttpWait::RequestHead,
            _ => HttpWait::Busy,
        }
    }

    pub fn counters(&self) -> &HttpCounters {
        &self.counters
    }

    /// The counters so far, leaving zeros (to fold them into a worker's totals).
    pub fn take_counters(&mut self) -> HttpCounters {
        core::mem::take(&mut self.counters)
    }

    /// Accumulates a head and serves it once complete; returns the bytes taken.
    fn read_head(&mut self, input: &[u8]) -> usize {
        let mut pos = 0;
        if self.head_buf.is_empty() {
            // RFC 9112 §2.2: empty lines before a request line are ignored.
            loop {
                if self.leading_cr {
                    match input.get(pos) {
                        None => return pos,
                        Some(b'\n') => {
                            self.leading_cr = false;
                            pos += 1;
                            continue;
                        }
                        Some(_) => {
                            // Not an empty line: the CR starts the request line (and spoils it).
                            self.leading_cr = false;
                            self.head_buf.push(b'\r');
                            break;
                        }
                    }
                }
                if input.get(pos) == Some(&b'\r') {
                    self.leading_cr = true;
                    pos += 1;
                } else {
                    break;
                }
            }
        }
        let input = &input[pos..];
        if input.is_empty() {
            return pos;
        }
        let max = self.config.limits.max_header_bytes;

        if self.head_buf.is_empty() {
            // The common case: the whole head in one segment, parsed where it lies.
            let window = &input[..input.len().min(max)];
            match find_head_end(window, 0) {
                HeadEnd::Complete(end) => {
                    self.serve_head(&input[..end]);
                    pos + end
                }
                HeadEnd::BareLf => self.fail(RequestError::LineEnding),
                HeadEnd::Partial { .. } if window.len() >= max => self.fail(RequestError::HeadTooLarge),
                HeadEnd::Partial { line_start } => {
                    self.head_buf.extend_from_slice(input);
                    self.head_scan = line_start;
                    pos + input.len()
                }
            }
        } else {
            let old = self.head_buf.len();
            let take = input.len().min(max.saturating_sub(old));
            self.head_buf.extend_from_slice(&input[..take]);
            match find_head_end(&self.head_buf, self.head_scan) {
                HeadEnd::Complete(end) => {
                    let head = core::mem::take(&mut self.head_buf);
                    self.serve_head(&head[..end]);
                    self.head_buf = head;
                    self.head_buf.clear();
                    self.head_scan = 0;
                    pos + (end - old)
                }
                HeadEnd::BareLf => self.fail(RequestError::LineEnding),
                HeadEnd::Partial { .. } if self.head_buf.len() >= max => {
                    self.fail(RequestError::HeadTooLarge)
                }
                HeadEnd::Partial { line_start } => {
                    self.head_scan = line_start;
                    pos + take
                }
            }
        }
    }

    /// Answers a complete head, or sets up reading its body.
    fn serve_head(&mut self, bytes: &[u8]) {
        let head = match RequestHead::parse(bytes) {
            Ok(head) => head,
            Err(error) => {
                self.fail(error);
                return;
            }
        };
        self.counters.requests += 1;
        self.exchange = Exchange {
            is_head: head.is_head(),
            persistence: match (head.keep_alive, head.minor_version) {
                (false, _) => Persistence::Close,
                (true, 0) => Persistence::KeepAlive,
                (true, _) => Persistence::KeepImplicit,
            },
        };
        let max_body = self.config.limits.max_body_bytes as u64;
        match head.framing {
            BodyFraming::None | BodyFraming::Length(0) => {
                match self.config.fixed_body {
                    Some(len) => self.respond_fixed(len),
                    None => self.respond_text(&[head.method, b" ", head.target, b"\n"]),
                }
                self.finish_exchange();
            }
            BodyFraming::Length(len) if len > max_body => {
                self.fail(RequestError::BodyTooLarge);
            }
            BodyFraming::Length(left) => {
                if head.expect_continue {
                    self.respond_continue();
                }
                let body = if self.config.fixed_body.is_some() {
                    LengthBody::DropThenFixed
                } else {
                    self.begin_response(Status::Ok, left, ContentType::OctetStream);
                    self.output.open_response();
                    if self.exchange.is_head {
                        LengthBody::Drop
                    } else {
                        LengthBody::Echo
                    }
                };
                self.phase = Phase::Length { left, body };
            }
            BodyFraming::Chunked => {
                if head.expect_continue {
                    self.respond_continue();
                }
                self.body.clear();
                self.request_line.clear();
                self.request_line.extend_from_slice(head.method);
                self.request_line.push(b' ');
                self.request_line.extend_from_slice(head.target);
                let limits = &self.config.limits;
                self.phase = Phase::Chunked(ChunkedDecoder::new(max_body, limits.max_header_bytes));
            }
        }
    }

    fn read_length_body(&mut self, input: &[u8], left: u64, body: LengthBody) -> usize {
        let mut take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
        if body == LengthBody::Echo {
            let room = self.config.limits.max_output_bytes.saturating_sub(self.output.pending_len());
            take = take.min(room.max(1));
            self.output.writer().extend_from_slice(&input[..take]);
        }
        let left = left - take as u64;
        if left > 0 {
            self.phase = Phase::Length { left, body };
            return take;
        }
        match body {
            LengthBody::Echo | LengthBody::Drop => self.output.end_response(),
            LengthBody::DropThenFixed => self.respond_fixed(self.config.fixed_body.unwrap_or(0)),
        }
        self.finish_exchange();
        take
    }

    fn read_chunked_body(&mut self, input: &[u8]) -> usize {
        let Phase::Chunked(decoder) = &mut self.phase else { return 0 };
        let keep = self.config.fixed_body.is_none() && !self.exchange.is_head;
        let body = &mut self.body;
        let result = decoder.decode(input, |data| {
            if keep {
                body.extend_from_slice(data);
            }
        });
        let taken = match result {
            Ok(taken) => taken,
            Err(error) => return self.fail(error),
        };
        if !decoder.is_done() {
            return taken;
        }
        let len = decoder.body_len();
        match self.config.fixed_body {
            Some(fixed) => self.respond_fixed(fixed),
            None if len == 0 => {
                let line = core::mem::take(&mut self.request_line);
                self.respond_text(&[&line, b"\n"]);
                self.request_line = line;
            }
            None => {
                self.begin_response(Status::Ok, len, ContentType::OctetStream);
                if !self.exchange.is_head {
                    self.output.writer().extend_from_slice(&self.body);
                }
                self.output.end_response();
                self.body.clear();
            }
        }
        self.finish_exchange();
        taken
    }

    /// After the response to a request: the next request, or closing.
    fn finish_exchange(&mut self) {
        self.phase = match self.exchange.persistence {
            Persistence::Close => Phase::Closing,
            Persistence::KeepAlive | Persistence::KeepImplicit => Phase::Head,
        };
    }

    /// Writes a response head (HEAD's response stops there) and counts the response.
    fn begin_response(&mut self, status: Status, content_length: u64, content_type: ContentType) {
        self.counters.count_response(status);
        let persistence = self.exchange.persistence;
        write_head(self.output.writer(), status, content_length, content_type, persistence);
    }

    /// A complete text response made of `parts`.
    fn respond_text(&mut self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        self.begin_response(Status::Ok, len as u64, ContentType::Text);
        if !self.exchange.is_head {
            let out = self.output.writer();
            for part in parts {
                out.extend_from_slice(part);
            }
        }
        self.output.end_response();
    }

    fn respond_fixed(&mut self, len: usize) {
        self.begin_response(Status::Ok, len as u64, ContentType::Text);
        if !self.exchange.is_head {
            write_fixed_body(self.output.writer(), len);
        }
        self.output.end_response();
    }

    fn respond_continue(&mut self) {
        self.counters.count_response(Status::Continue);
        write_continue(self.output.writer());
    }

    /// Answers a refused request with its status and reason, then closes; returns 0
    /// (the caller's count of bytes taken no longer matters: a closing connection
    /// takes everything).
    fn fail(&mut self, error: RequestError) -> usize {
        debug_assert!(!matches!(self.phase, Phase::Length { .. }), "a response is open");
        let status = error.status();
        self.body.clear();
        // Formatting into the reused body buffer cannot fail.
        let _ = std::io::Write::write_fmt(&mut self.body, format_args!("{status}: {error}\n"));
        self.exchange = Exchange { is_head: false, persistence: Persistence::Close };
        self.begin_response(status, self.body.len() as u64, ContentType::Text);
        self.output.writer().extend_from_slice(&self.body);
        self.output.end_response();
        self.body.clear();
        self.phase = Phase::Closing;
        0
    }
}
