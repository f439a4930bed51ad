//! The send and receive sequence spaces (RFC 9293 §3.3.1, Figures 4 and 5): the variables
//! a connection keeps about the bytes it sends and the bytes it receives, and the checks
//! the RFC makes with them.

use crate::wire::SeqNumber;

/// The send sequence space: `SND.UNA`, `SND.NXT`, `SND.WND`, `SND.WL1`, `SND.WL2`, `ISS`,
/// and two variables later RFCs add (`SND.MAX`, `MAX.SND.WND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SendSequence {
    /// Initial send sequence number.
    pub iss: SeqNumber,
    /// Oldest unacknowledged sequence number.
    pub una: SeqNumber,
    /// Next sequence number to send (rewound by a retransmission timeout).
    pub nxt: SeqNumber,
    /// The highest sequence number sent.
    pub max: SeqNumber,
    /// The peer's window, scaled, in bytes.
    pub wnd: usize,
    /// The largest window the peer ever offered (RFC 9293 §3.8.6.2.1, RFC 5961 §5).
    pub max_wnd: usize,
    /// Sequence and acknowledgment numbers of the segment that last set the window.
    pub wl1: SeqNumber,
    pub wl2: SeqNumber,
}

/// Where an acknowledgment number falls (RFC 5961 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AckRange {
    /// Acknowledges something not yet sent: answered with an ACK, then dropped.
    Unsent,
    /// Older than SND.UNA less the largest window the peer offered: a challenge ACK.
    TooOld,
    /// Between the two: processed.
    Acceptable,
}

impl SendSequence {
    pub fn new(iss: SeqNumber) -> SendSequence {
        SendSequence { iss, una: iss, nxt: iss, max: iss, wnd: 0, max_wnd: 0, wl1: SeqNumber(0), wl2: iss }
    }

    /// Bytes sent and not acknowledged (SYN and FIN included).
    #[inline]
    pub fn in_flight(&self) -> usize {
        self.nxt - self.una
    }

    /// RFC 5961 §5.2: an ACK is acceptable between SND.UNA - MAX.SND.WND and SND.MAX.
    #[inline]
    pub fn ack_range(&self, ack: SeqNumber) -> AckRange {
        if ack.gt(self.max) {
            AckRange::Unsent
        } else if ack.lt(self.una - self.max_wnd.max(1)) {
            AckRange::TooOld
        } else {
            AckRange::Acceptable
        }
    }

    /// RFC 9293 §3.10.7.4, fifth check: the segment is newer than the one that last set
    /// the window (SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK).
    #[inline]
    pub fn updates_window(&self, seq: SeqNumber, ack: SeqNumber) -> bool {
        self.wl1.lt(seq) || (self.wl1 == seq && self.wl2.le(ack))
    }

    /// Takes the peer's window (scaled, in bytes) from the segment `seq`/`ack`.
    #[inline]
    pub fn set_window(&mut self, seq: SeqNumber, ack: SeqNumber, window: usize) {
        self.wnd = window;
        self.max_wnd = self.max_wnd.max(window);
        self.wl1 = seq;
        self.wl2 = ack;
    }
}

/// The receive sequence space: `RCV.NXT`, `IRS`, and the right edge of the window last
/// advertised (`RCV.NXT + RCV.WND` when it was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ReceiveSequence {
    /// Initial receive sequence number.
    pub irs: SeqNumber,
    /// Next sequence number expected.
    pub nxt: SeqNumber,
    /// The right edge of the window last advertised; it never moves left (RFC 9293 §3.8.6).
    pub adv: SeqNumber,
}

impl ReceiveSequence {
    pub fn new() -> ReceiveSequence {
        ReceiveSequence { irs: SeqNumber(0), nxt: SeqNumber(0), adv: SeqNumber(0) }
    }

    /// The peer's SYN arrived with sequence number `isn`: it occupies one number.
    pub fn synchronize(&mut self, isn: SeqNumber) {
        self.irs = isn;
        self.nxt = isn + 1;
        self.adv = self.nxt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_sorted_by_rfc_5961() {
        let mut snd = SendSequence::new(SeqNumber(1000));
        snd.una = SeqNumber(5000);
        snd.nxt = SeqNumber(9000);
        snd.max = SeqNumber(9000);
        snd.max_wnd = 2000;
        assert_eq!(snd.ack_range(SeqNumber(9001)), AckRange::Unsent);
        assert_eq!(snd.ack_range(SeqNumber(9000)), AckRange::Acceptable);
        assert_eq!(snd.ack_range(SeqNumber(3000)), AckRange::Acceptable);
        assert_eq!(snd.ack_range(SeqNumber(2999)), AckRange::TooOld);
        assert_eq!(snd.in_flight(), 4000);
    }

    #[test]
    fn only_a_newer_segment_moves_the_window() {
        let mut snd = SendSequence::new(SeqNumber(0));
        snd.set_window(SeqNumber(100), SeqNumber(50), 8000);
        assert!(!snd.updates_window(SeqNumber(99), SeqNumber(60)), "older sequence number");
        assert!(!snd.updates_window(SeqNumber(100), SeqNumber(49)), "same sequence, older ack");
        assert!(snd.updates_window(SeqNumber(100), SeqNumber(50)));
        assert!(snd.updates_window(SeqNumber(101), SeqNumber(0)));
        snd.set_window(SeqNumber(101), SeqNumber(60), 1000);
        assert_eq!((snd.wnd, snd.max_wnd), (1000, 8000), "the largest window is remembered");
    }
}
