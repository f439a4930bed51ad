//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally.
//!
//! Chunk data is handed out in place as it arrives; only the framing is walked byte by
//! byte. Extensions and trailer fields are checked for shape, bounded, and ignored
//! (RFC 9112 §7.1.1, §7.1.2).

use super::RequestError;

/// Where the decoder is in the chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting the first hex digit of a chunk size.
    SizeStart,
    /// Inside the chunk size's hex digits.
    Size,
    /// After the size: BWS before `;` (RFC 9112 §7.1.1).
    SizeSpace,
    /// Inside chunk extensions, up to the CR.
    Extension,
    /// The LF that ends the chunk-size line.
    SizeLf,
    /// Chunk data, with this many bytes left.
    Data(u64),
    DataCr,
    DataLf,
    /// At the start of a trailer field line or the final empty line.
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    TrailerLf,
    /// The LF of the final empty line.
    EndLf,
    Done,
}

/// Decodes one chunked body, bounding its data, extensions and trailers.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    /// Data bytes so far.
    total: u64,
    max_body: u64,
    /// Extension bytes on the current size line, or trailer section bytes so far.
    line_bytes: usize,
    max_line: usize,
}

impl ChunkedDecoder {
    /// At most `max_body` bytes of data, `max_line` bytes of extensions per chunk and
    /// of trailer section.
    pub fn new(max_body: u64, max_line: usize) -> ChunkedDecoder {
        ChunkedDecoder { state: State::SizeStart, size: 0, total: 0, max_body, line_bytes: 0, max_line }
    }

    /// Data bytes decoded so far.
    pub fn body_len(&self) -> u64 {
        self.total
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes framing and data from `input`, passing data to `data`; returns how many
    /// bytes were consumed. Stops right after the last byte of the body: the rest of
    /// `input` belongs to the next message.
    pub fn decode(&mut self, input: &[u8], mut data: impl FnMut(&[u8])) -> Result<usize, RequestError> {
        let mut pos = 0;
        while pos < input.len() {
            if let State::Data(left) = self.state {
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len() - pos);
                data(&input[pos..pos + take]);
                pos += take;
                let left = left - take as u64;
                self.state = if left == 0 { State::DataCr } else { State::Data(left) };
                continue;
            }
            if self.state == State::Done {
                break;
            }
            self.step(input[pos])?;
            pos += 1;
        }
        Ok(pos)
    }

    /// One byte of framing.
    fn step(&mut self, byte: u8) -> Result<(), RequestError> {
        self.state = match (self.state, byte) {
            (State::SizeStart | State::Size, _) if byte.is_ascii_hexdigit() => {
                let digit = u64::from((byte as char).to_digit(16).unwrap_or(0));
                // Refused as soon as the body would exceed the limit, before it could overflow.
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|size| size.checked_add(digit))
                    .filter(|&size| size <= self.max_body - self.total)
                    .ok_or(RequestError::BodyTooLarge)?;
                State::Size
            }
            (State::SizeStart, _) => return Err(RequestError::ChunkSize),
            (State::Size | State::SizeSpace, b' ' | b'\t') => State::SizeSpace,
            (State::Size | State::SizeSpace, b';') => {
                self.line_bytes = 1;
                State::Extension
            }
            (State::Size | State::SizeSpace | State::Extension, b'\r') => State::SizeLf,
            (State::Size | State::SizeSpace, _) => return Err(RequestError::ChunkSize),
            (State::Extension, _) => {
                self.line_bytes += 1;
                if self.line_bytes > self.max_line
                    || !(byte == b'\t' || (b' '..=b'~').contains(&byte) || byte >= 0x80)
                {
                    return Err(RequestError::ChunkExtension);
                }
                State::Extension
            }
            (State::SizeLf, b'\n') => {
                let size = core::mem::take(&mut self.size);
                if size == 0 {
                    self.line_bytes = 0;
                    State::TrailerStart
                } else {
                    self.total += size;
                    State::Data(size)
                }
            }
            (State::SizeLf, _) => return Err(RequestError::ChunkSize),
            (State::Data(_), _) => unreachable!("chunk data is consumed in bulk by `decode`"),
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::SizeStart,
            (State::DataCr | State::DataLf, _) => return Err(RequestError::ChunkDataEnd),
            (State::TrailerStart | State::Trailer | State::TrailerLf | State::EndLf, _)
                if self.line_bytes >= self.max_line =>
            {
                return Err(RequestError::TrailersTooLarge);
            }
            (State::TrailerStart, b'\r') => State::EndLf,
            (State::TrailerStart | State::Trailer, b'\n') => return Err(RequestError::LineEnding),
            (State::Trailer, b'\r') => State::TrailerLf,
            (State::TrailerStart | State::Trailer, _) => State::Trailer,
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::EndLf, b'\n') => State::Done,
            (State::TrailerLf | State::EndLf, _) => return Err(RequestError::LineEnding),
            (State::Done, _) => unreachable!("`decode` stops at the end of the body"),
        };
        if matches!(self.state, State::TrailerStart | State::Trailer | State::TrailerLf | State::EndLf) {
            self.line_bytes += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `piece` bytes; returns the data and the bytes consumed.
    fn decode(input: &[u8], piece: usize) -> Result<(Vec<u8>, usize), RequestError> {
        let mut decoder = ChunkedDecoder::new(1000, 64);
        let mut body = Vec::new();
        let mut pos = 0;
        while pos < input.len() && !decoder.is_done() {
            let end = (pos + piece).min(input.len());
            pos += decoder.decode(&input[pos..end], |data| body.extend_from_slice(data))?;
        }
        assert!(decoder.is_done(), "body incomplete");
        assert_eq!(decoder.body_len(), body.len() as u64);
        Ok((body, pos))
    }

    #[test]
    fn chunks_in_any_pieces() {
        let input = b"4\r\nWiki\r\n5;name=value;x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nNEXT";
        for piece in 1..input.len() {
            let (body, consumed) = decode(input, piece).unwrap();
            assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.");
            assert_eq!(consumed, input.len() - 4);
        }
    }

    #[test]
    fn trailers_are_ignored() {
        let (body, _) = decode(b"3\r\nabc\r\n0\r\nExpires: never\r\nX: y\r\n\r\n", 7).unwrap();
        assert_eq!(body, b"abc");
    }

    #[test]
    fn size_spaces_and_leading_zeros() {
        assert_eq!(decode(b"003 ;a\r\nabc\r\n000\r\n\r\n", 100).unwrap().0, b"abc");
        assert_eq!(decode(b"a\r\n0123456789\r\n0\r\n\r\n", 100).unwrap().0, b"0123456789");
    }

    #[test]
    fn malformed_framing() {
        use RequestError::*;
        let cases: &[(&[u8], RequestError)] = &[
            (b"x\r\n", ChunkSize),
            (b"\r\n", ChunkSize),
            (b"3 x\r\n", ChunkSize),
            (b"3\rx", ChunkSize),
            (b"3\nabc", ChunkSize),
            (b"3\r\nabcX\r\n", ChunkDataEnd),
            (b"3\r\nabc\rX", ChunkDataEnd),
            (b"3;a\x01\r\n", ChunkExtension),
            (
                b"1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                ChunkExtension,
            ),
            (b"3e9\r\n", BodyTooLarge),
            (b"ffffffffffffffffffffffff\r\n", BodyTooLarge),
            (b"0\r\nX: y\n", LineEnding),
            (b"0\r\n\rX", LineEnding),
            (
                b"0\r\nX: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n\r\n",
                TrailersTooLarge,
            ),
        ];
        for (input, error) in cases {
            assert_eq!(decode(input, 1).err(), Some(*error), "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn body_limit_counts_all_chunks() {
        let mut decoder = ChunkedDecoder::new(5, 64);
        assert_eq!(decoder.decode(b"3\r\nabc\r\n", |_| {}), Ok(8));
        assert_eq!(decoder.decode(b"2\r\nde\r\n", |_| {}), Ok(7));
        assert_eq!(decoder.decode(b"1\r\n", |_| {}), Err(RequestError::BodyTooLarge));
    }
}
