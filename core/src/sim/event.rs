//! The log of what the simulator did to individual frames: impairments and drops.

use core::fmt;

use super::network::{PortId, SegmentId};
use crate::time::Instant;

/// What happened to one frame (or one copy of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimEventKind {
    /// The copy for this receiving port was lost.
    Lost,
    /// The copy for this receiving port was delivered twice.
    Duplicated,
    /// The copy for this receiving port was held back.
    Reordered,
    /// The copy for this receiving port had bit `bit` (counted from the first byte's
    /// most significant bit) flipped.
    Corrupted { bit: usize },
    /// The frame exceeded the segment's MTU and was dropped at the sending port.
    DroppedMtu,
    /// The sending port's queue was full.
    DroppedQueue,
    /// The frame was shorter than an Ethernet header and was dropped at the sending port.
    DroppedRunt,
    /// The receiving port's queue was full on arrival.
    DroppedRx,
}

/// One entry of the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimEvent {
    /// When the frame left the sender's transmit queue (for `DroppedRx`: when it arrived).
    pub time: Instant,
    pub segment: SegmentId,
    /// The receiving port for per-copy events, the sending port for drops at the sender.
    pub port: PortId,
    /// The port that sent the frame.
    pub sender: PortId,
    /// Which frame of its sender: frames are numbered from 0 in the order the sender's
    /// host queued them on its device, so a host that notes what it sends can tell which
    /// of its frames this event befell.
    pub frame: u64,
    /// The frame's length in bytes.
    pub len: usize,
    pub kind: SimEventKind,
}

impl fmt::Display for SimEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} len {} (frame {} of {}) ",
            self.time, self.segment, self.port, self.len, self.frame, self.sender
        )?;
        match self.kind {
            SimEventKind::Lost => write!(f, "lost"),
            SimEventKind::Duplicated => write!(f, "duplicated"),
            SimEventKind::Reordered => write!(f, "reordered"),
            SimEventKind::Corrupted { bit } => write!(f, "corrupted bit {bit}"),
            SimEventKind::DroppedMtu => write!(f, "dropped: exceeds MTU"),
            SimEventKind::DroppedQueue => write!(f, "dropped: sender queue full"),
            SimEventKind::DroppedRunt => write!(f, "dropped: runt"),
            SimEventKind::DroppedRx => write!(f, "dropped: receive queue full"),
        }
    }
}

/// A bounded log keeping the most recent events. When full, the oldest half is discarded
/// at once (amortised O(1) per event, and the kept events stay one contiguous slice).
#[derive(Debug, Clone)]
pub(crate) struct EventLog {
    events: Vec<SimEvent>,
    capacity: usize,
    discarded: u64,
}

impl EventLog {
    pub(crate) fn new(capacity: usize) -> EventLog {
        EventLog { events: Vec::new(), capacity: capacity.max(2), discarded: 0 }
    }

    pub(crate) fn push(&mut self, event: SimEvent) {
        if self.events.len() >= self.capacity {
            let half = self.capacity / 2;
            self.events.drain(..half);
            self.discarded += half as u64;
        }
        self.events.push(event);
    }

    pub(crate) fn events(&self) -> &[SimEvent] {
        &self.events
    }

    pub(crate) fn discarded(&self) -> u64 {
        self.discarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> SimEvent {
        SimEvent {
            time: Instant::from_micros(n),
            segment: SegmentId(0),
            port: PortId(1),
            sender: PortId(0),
            frame: n,
            len: 60,
            kind: SimEventKind::Lost,
        }
    }

    #[test]
    fn keeps_most_recent_and_counts_discarded() {
        let mut log = EventLog::new(4);
        for n in 0..7 {
            log.push(event(n));
        }
        let times: Vec<u64> = log.events().iter().map(|e| e.time.total_micros()).collect();
        assert_eq!(times, [4, 5, 6]);
        assert_eq!(log.discarded(), 4);
    }

    #[test]
    fn displays() {
        let e = SimEvent { kind: SimEventKind::Corrupted { bit: 17 }, frame: 7, ..event(1_500_000) };
        assert_eq!(e.to_string(), "1.500000 segment 0 port 1 len 60 (frame 7 of port 0) corrupted bit 17");
    }
}
