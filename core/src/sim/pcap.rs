//! Packet capture of a simulated network: a pcap file (LINKTYPE_ETHERNET, nanosecond
//! timestamps in virtual time, little-endian) holding every frame as it leaves its sender.
//!
//! Frames are recorded when their serialisation starts. Because a busy port starts a frame
//! later than it was queued, records wait in a heap ordered by (departure, sequence) and are
//! written once virtual time has passed their departure, so the file is in time order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use crate::time::Duration;

/// The largest number of bytes recorded per frame (tcpdump's maximum snapshot length);
/// longer frames are truncated in the file and keep their original length.
pub const SNAPLEN: u32 = 262_144;

/// A clonable in-memory capture target: give one clone to
/// [`Network::capture`](super::Network::capture) and read the bytes through another.
#[derive(Debug, Clone, Default)]
pub struct CaptureBuffer {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl CaptureBuffer {
    pub fn new() -> CaptureBuffer {
        CaptureBuffer::default()
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.bytes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Write for CaptureBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    departure_ns: u64,
    seq: u64,
    frame: Vec<u8>,
}

/// An open capture.
pub(crate) struct Capture {
    writer: PcapWriter<Box<dyn Write + Send>>,
    pending: BinaryHeap<Reverse<Record>>,
    error: Option<io::Error>,
}

impl core::fmt::Debug for Capture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Capture").field("pending", &self.pending.len()).field("error", &self.error).finish()
    }
}

fn io_error(err: PcapError) -> io::Error {
    match err {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

impl Capture {
    /// Writes the file header.
    pub(crate) fn new(writer: Box<dyn Write + Send>) -> io::Result<Capture> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::Little,
        };
        let writer = PcapWriter::with_header(writer, header).map_err(io_error)?;
        Ok(Capture { writer, pending: BinaryHeap::new(), error: None })
    }

    /// Records a frame that starts serialisation at `departure_ns`; `seq` orders equal times.
    pub(crate) fn record(&mut self, departure_ns: u64, seq: u64, frame: &[u8]) {
        if self.error.is_none() {
            self.pending.push(Reverse(Record { departure_ns, seq, frame: frame.to_vec() }));
        }
    }

    /// Writes every record departing at or before `ns`: no later call to `record` can
    /// carry an earlier departure.
    pub(crate) fn write_until(&mut self, ns: u64) {
        while self.pending.peek().is_some_and(|Reverse(r)| r.departure_ns <= ns) {
            if let Some(Reverse(record)) = self.pending.pop() {
                self.write(&record);
            }
        }
    }

    fn write(&mut self, record: &Record) {
        if self.error.is_some() {
            return;
        }
        let orig_len = u32::try_from(record.frame.len()).unwrap_or(u32::MAX);
        let kept = record.frame.len().min(SNAPLEN as usize);
        let packet =
            PcapPacket::new(Duration::from_nanos(record.departure_ns), orig_len, &record.frame[..kept]);
        if let Err(err) = self.writer.write_packet(&packet) {
            self.error = Some(io_error(err));
            self.pending.clear();
        }
    }

    /// Writes every pending record, flushes the writer and reports the first error.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.write_until(u64::MAX);
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        self.writer.into_writer().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;

    #[test]
    fn writes_in_departure_order() {
        let buffer = CaptureBuffer::new();
        let mut capture = Capture::new(Box::new(buffer.clone())).unwrap();
        capture.record(2_000, 0, &[0xaa; 20]);
        capture.record(1_000, 1, &[0xbb; 30]);
        capture.record(2_000, 2, &[0xcc; 40]);
        capture.write_until(1_999);
        // The header (24 bytes) and the 1 µs record (16 + 30 bytes).
        assert_eq!(buffer.contents().len(), 24 + 16 + 30);
        capture.finish().unwrap();

        let bytes = buffer.contents();
        assert_eq!(&bytes[..4], &0xa1b2_3c4du32.to_le_bytes());
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.header().datalink, DataLink::ETHERNET);
        assert_eq!(reader.header().ts_resolution, TsResolution::NanoSecond);
        let mut seen = Vec::new();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.unwrap();
            seen.push((packet.timestamp.as_nanos(), packet.orig_len, packet.data[0]));
        }
        assert_eq!(seen, [(1_000, 30, 0xbb), (2_000, 20, 0xaa), (2_000, 40, 0xcc)]);
    }

    #[test]
    fn truncates_to_snaplen() {
        let buffer = CaptureBuffer::new();
        let mut capture = Capture::new(Box::new(buffer.clone())).unwrap();
        capture.record(0, 0, &vec![1; SNAPLEN as usize + 10]);
        capture.finish().unwrap();
        // pcap-file's reader refuses orig_len > snaplen, so read the record header by hand:
        // ts_sec, ts_nsec, incl_len, orig_len.
        let bytes = buffer.contents();
        let word = |i: usize| u32::from_le_bytes(bytes[24 + 4 * i..28 + 4 * i].try_into().unwrap());
        assert_eq!((word(2), word(3)), (SNAPLEN, SNAPLEN + 10));
        assert_eq!(bytes.len(), 24 + 16 + SNAPLEN as usize);
    }

    /// Accepts `room` bytes, then fails.
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.room {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.room -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reports_write_errors() {
        assert!(Capture::new(Box::new(FullDisk { room: 10 })).is_err());
        let mut capture = Capture::new(Box::new(FullDisk { room: 24 })).unwrap();
        capture.record(0, 0, &[1; 60]);
        capture.record(1, 1, &[1; 60]);
        capture.write_until(5);
        assert!(capture.pending.is_empty());
        assert_eq!(capture.finish().unwrap_err().kind(), io::ErrorKind::StorageFull);
    }
}
