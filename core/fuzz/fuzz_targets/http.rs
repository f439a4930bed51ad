#![no_main]
//! The HTTP/1.1 echo connection on arbitrary bytes: the first two input bytes choose
//! the limits, a valid request start to put before the rest (so bodies and field lines
//! are reached often) and where to split; the stream is served in one piece, in two, and
//! in pieces of a fuzz-chosen size, with a transport that takes output in small bites.
//! Every run must send the same bytes and end in the same state, and none may panic.

use libfuzzer_sys::fuzz_target;
use sluice_core::apps::http::{HttpEchoConfig, HttpEchoConnection, HttpLimits};

/// Feeds `pieces` in order; the transport takes at most `bite` output bytes per turn.
fn serve(config: HttpEchoConfig, pieces: &[&[u8]], bite: usize) -> (Vec<u8>, HttpEchoConnection) {
    let mut conn = HttpEchoConnection::new(config);
    let mut sent = Vec::new();
    for piece in pieces {
        let mut pos = 0;
        while pos < piece.len() {
            pos += conn.on_bytes(&piece[pos..]);
            let n = conn.output().len().min(bite);
            sent.extend_from_slice(&conn.output()[..n]);
            conn.consume_output(n);
        }
    }
    conn.on_eof();
    while !conn.output().is_empty() {
        let n = conn.output().len().min(bite);
        sent.extend_from_slice(&conn.output()[..n]);
        conn.consume_output(n);
    }
    assert!(conn.should_close());
    (sent, conn)
}

fuzz_target!(|data: &[u8]| {
    let [mode, split, input @ ..] = data else { return };
    let limits = if mode & 1 == 0 {
        HttpLimits::DEFAULT
    } else {
        HttpLimits { max_header_bytes: 64, max_body_bytes: 32, max_pipelined: 2, max_output_bytes: 48 }
    };
    let fixed_body = (mode & 2 != 0).then_some(usize::from(mode >> 4));
    let config = HttpEchoConfig { limits, fixed_body };
    let prefix: &[u8] = match (mode >> 2) & 3 {
        0 => b"",
        1 => b"GET / HTTP/1.1\r\n",
        2 => b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        _ => b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
    };
    let input = &[prefix, input].concat()[..];
    let at = usize::from(*split) * input.len() / 255;
    let piece = usize::from(split % 7) + 1;

    let (whole, whole_conn) = serve(config, &[input], usize::MAX);
    let (two, two_conn) = serve(config, &[&input[..at], &input[at..]], 17);
    let pieces: Vec<&[u8]> = input.chunks(piece).collect();
    let (many, many_conn) = serve(config, &pieces, 5);
    assert_eq!(two, whole);
    assert_eq!(many, whole);
    assert_eq!(two_conn.counters(), whole_conn.counters());
    assert_eq!(many_conn.counters(), whole_conn.counters());
});
