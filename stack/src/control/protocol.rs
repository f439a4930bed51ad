//! The control socket's wire format: newline-delimited JSON, one request and one
//! response per line.
//!
//! ```text
//! → {"get":"snapshot"}
//! ← {"snapshot":{"pid":4242,"iface":"veth0",...}}
//! ← {"error":"request is not valid JSON: ..."}
//! ```

use std::io::{self, BufRead};

use serde::{Deserialize, Serialize};

use super::Snapshot;

/// The longest request line a server reads; longer ones are refused.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// The longest response line a client reads (a snapshot with about a million sockets).
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// What a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub get: Resource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// The whole [`Snapshot`].
    Snapshot,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Snapshot(Snapshot),
    /// The request could not be served; the text says why.
    Error(String),
}

/// A line read by [`read_line`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its newline.
    Complete(Vec<u8>),
    /// The peer closed the stream before sending anything more.
    End,
    /// More than the limit arrived without a newline.
    TooLong,
}

/// Reads one newline-terminated line of at most `max` bytes (newline excluded). A final
/// line without a newline counts as complete.
pub fn read_line(reader: &mut impl BufRead, max: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(if line.is_empty() { Line::End } else { Line::Complete(line) });
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if line.len() + take > max {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&chunk[..take]);
        reader.consume(if done { take + 1 } else { take });
        if done {
            return Ok(Line::Complete(line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spelled_as_documented() {
        let request = Request { get: Resource::Snapshot };
        assert_eq!(serde_json::to_string(&request).unwrap(), r#"{"get":"snapshot"}"#);
        assert!(serde_json::from_str::<Request>(r#"{"get":"snapshot","extra":1}"#).is_err());
        assert_eq!(serde_json::to_string(&Response::Error("no".into())).unwrap(), r#"{"error":"no"}"#);
    }

    #[test]
    fn lines_are_bounded() {
        let mut input = &b"abc\ndefgh\nxy"[..];
        assert_eq!(read_line(&mut input, 4).unwrap(), Line::Complete(b"abc".to_vec()));
        assert_eq!(read_line(&mut input, 4).unwrap(), Line::TooLong);
        let mut input = &b"xy"[..];
        assert_eq!(read_line(&mut input, 4).unwrap(), Line::Complete(b"xy".to_vec()));
        assert_eq!(read_line(&mut input, 4).unwrap(), Line::End);
    }
}
