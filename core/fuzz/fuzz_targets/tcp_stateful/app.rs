//! The application on the stack: the descriptors it holds and what it has read from and
//! written to each. It writes `stream_byte(APP_STREAM, seq)` for the byte that will have
//! sequence number `seq` (ISS + 1 + offset), and checks every byte it reads against
//! `stream_byte(PEER_STREAM, IRS + 1 + offset)`: bytes must arrive in order and intact.

use sluice_core::socket::{SocketError, SocketHandle, SocketSet};
use sluice_core::wire::SeqNumber;

use crate::wire::{stream_byte, APP_STREAM, PEER_STREAM};

/// The most bytes one `send` or `recv` moves.
pub const MAX_CALL_BYTES: usize = 20_000;

#[derive(Debug)]
pub struct AppConn {
    pub handle: SocketHandle,
    /// Bytes read and written so far.
    pub read: usize,
    pub written: usize,
    /// A read returned end of stream.
    pub eof: bool,
}

impl AppConn {
    pub fn new(handle: SocketHandle) -> AppConn {
        AppConn { handle, read: 0, written: 0, eof: false }
    }

    /// `send()` of the next `len` bytes of the application's stream.
    pub fn send(&mut self, sockets: &mut SocketSet, len: usize) {
        let Ok(conn) = sockets.connection(self.handle) else { return };
        let first = conn.seq_snapshot().iss + 1 + self.written;
        let data: Vec<u8> =
            (0..len.min(MAX_CALL_BYTES)).map(|k| stream_byte(APP_STREAM, (first + k).0)).collect();
        let writable = sockets.readiness(self.handle).is_ok_and(|r| r.writable);
        match sockets.send(self.handle, &data) {
            Ok(n) => {
                assert!(n <= data.len(), "send took {n} of {} bytes", data.len());
                self.written += n;
            }
            Err(SocketError::WouldBlock) => {
                assert!(
                    !writable || data.is_empty(),
                    "{} reported writable, but send would block",
                    self.handle
                )
            }
            Err(_) => {}
        }
    }

    /// `recv()` of up to `len` bytes, by copy or in place; checks what it reads.
    pub fn recv(&mut self, sockets: &mut SocketSet, len: usize, in_place: bool) {
        let Ok(conn) = sockets.connection(self.handle) else { return };
        let irs = conn.seq_snapshot().irs;
        let len = len.clamp(1, MAX_CALL_BYTES);
        let read = self.read;
        let readable = sockets.readiness(self.handle).is_ok_and(|r| r.readable);
        if in_place {
            let result = sockets.recv_in_place(self.handle, |bytes| {
                let n = bytes.len().min(len);
                check_read(irs, read, &bytes[..n]);
                (n, n)
            });
            match result {
                Ok(Some(n)) => self.after_read(n),
                Ok(None) => self.eof = true,
                Err(SocketError::WouldBlock) => {
                    assert!(!readable, "{} reported readable, but recv would block", self.handle)
                }
                Err(_) => {}
            }
        } else {
            let mut buf = vec![0u8; len];
            match sockets.recv(self.handle, &mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    assert!(n <= len, "recv returned {n} bytes into a {len}-byte buffer");
                    check_read(irs, read, &buf[..n]);
                    self.after_read(n);
                }
                Err(SocketError::WouldBlock) => {
                    assert!(!readable, "{} reported readable, but recv would block", self.handle)
                }
                Err(_) => {}
            }
        }
    }

    fn after_read(&mut self, n: usize) {
        if n > 0 {
            assert!(!self.eof, "{n} bytes read after end of stream on {}", self.handle);
        }
        self.read += n;
    }
}

/// The bytes at stream offset `from` of a connection whose peer's ISN is `irs`.
fn check_read(irs: SeqNumber, from: usize, bytes: &[u8]) {
    let first = irs + 1 + from;
    for (k, &byte) in bytes.iter().enumerate() {
        let expected = stream_byte(PEER_STREAM, (first + k).0);
        assert_eq!(
            byte,
            expected,
            "the application read a wrong byte at stream offset {} (sequence number {})",
            from + k,
            (first + k).0
        );
    }
}
