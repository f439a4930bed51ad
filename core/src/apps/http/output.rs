//! The response bytes a connection has produced and the transport has not yet taken,
//! with the boundaries between responses, so that pipelining can be bounded by the
//! number of responses still in flight.

use std::collections::VecDeque;

/// Pending response bytes; the buffers are kept and reused across requests.
#[derive(Debug, Default)]
pub(crate) struct OutputBuffer {
    buf: Vec<u8>,
    /// `buf[start..]` is pending.
    start: usize,
    /// Bytes taken by the transport since the connection began.
    taken: u64,
    /// Stream offsets at which the complete responses not yet fully taken end.
    ends: VecDeque<u64>,
    /// A response whose end is not known yet (its body is still arriving).
    open: bool,
}

impl OutputBuffer {
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Responses produced and not yet entirely taken.
    pub(crate) fn in_flight(&self) -> usize {
        self.ends.len() + usize::from(self.open)
    }

    /// The transport took the first `n` pending bytes (at most all of them).
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.pending_len());
        self.start += n;
        self.taken += n as u64;
        while self.ends.front().is_some_and(|&end| end <= self.taken) {
            self.ends.pop_front();
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// The buffer to append a response's bytes to. Taken bytes are dropped first, so
    /// the buffer only grows with what is pending.
    pub(crate) fn writer(&mut self) -> &mut Vec<u8> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        &mut self.buf
    }

    /// A response has begun whose body will be appended as it arrives.
    pub(crate) fn open_response(&mut self) {
        debug_assert!(!self.open, "one response at a time");
        self.open = true;
    }

    /// The response being written is complete.
    pub(crate) fn end_response(&mut self) {
        self.open = false;
        self.ends.push_back(self.taken + self.pending_len() as u64);
    }

    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.taken = 0;
        self.ends.clear();
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_leave_flight_when_fully_taken() {
        let mut out = OutputBuffer::default();
        out.writer().extend_from_slice(b"first");
        out.end_response();
        out.writer().extend_from_slice(b"second");
        out.end_response();
        out.open_response();
        out.writer().extend_from_slice(b"thi");
        assert_eq!(out.in_flight(), 3);
        out.consume(4);
        assert_eq!((out.in_flight(), out.pending()), (3, &b"tsecondthi"[..]));
        out.consume(1);
        assert_eq!(out.in_flight(), 2);
        out.writer().extend_from_slice(b"rd");
        out.end_response();
        out.consume(100);
        assert_eq!((out.in_flight(), out.pending_len()), (0, 0));
    }
}
