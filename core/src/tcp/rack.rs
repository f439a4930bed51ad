//! RACK (RFC 8985 §6): loss detection by time instead of by counting duplicate ACKs.
//!
//! Every data segment in flight is remembered with the time it was (last) sent. When an
//! ACK or SACK delivers a segment, any segment sent before it by more than the RTT plus a
//! reordering window, and still neither acknowledged nor SACKed, is deemed lost; a segment
//! sent before it but within that time gets a reordering timer instead. Losses therefore
//! show up without three duplicate ACKs, which a short flight (a request or a response)
//! never produces, and a lost retransmission is seen like any other loss.
//!
//! Bounds. The segments live in a ring allocated once by [`Rack::new`]. When it is full, a
//! new segment is merged into the newest one (taking the later transmit time), so a huge
//! flight of tiny segments costs precision at its tail, never memory: a merged segment is
//! deemed lost later, not sooner.

use std::collections::VecDeque;

use crate::time::{Duration, Instant};
use crate::wire::tcp::SackBlocks;
use crate::wire::SeqNumber;

/// RFC 8985 §6.2: DupThresh, the SACKed segments that make the reordering window zero
/// while no reordering has been seen.
const DUP_THRESH: u32 = 3;
/// RFC 8985 §6.2 step 4: loss recoveries the reordering window stays widened after a
/// D-SACK.
const REO_WND_PERSIST: u32 = 16;

/// One data segment sent and not yet cumulatively acknowledged.
#[derive(Clone, Copy, Debug)]
struct SentSegment {
    start: SeqNumber,
    end: SeqNumber,
    /// When it was last sent.
    xmit_ts: Instant,
    /// Sent more than once: an ACK for it is ambiguous (Karn).
    retransmitted: bool,
    sacked: bool,
    /// Deemed lost and not sent again since.
    lost: bool,
}

/// RFC 8985 §6.1: `RACK_sent_after(t1, seq1, t2, seq2)`.
fn sent_after(t1: Instant, seq1: SeqNumber, t2: Instant, seq2: SeqNumber) -> bool {
    t1 > t2 || (t1 == t2 && seq1.gt(seq2))
}

/// What [`Rack::detect_loss`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Detection {
    /// Segments newly deemed lost.
    pub newly_lost: u32,
    /// The end of the highest segment deemed lost that was sent only once: every unSACKed
    /// octet below it is lost.
    pub lost_below: Option<SeqNumber>,
    /// When to look again (the reordering timer), if a segment is within the window.
    pub recheck_at: Option<Instant>,
}

/// The RACK state of one connection (RFC 8985 §6.1) and its segments in flight.
#[derive(Clone, Debug)]
pub struct Rack {
    segments: VecDeque<SentSegment>,
    capacity: usize,
    /// RACK.xmit_ts and RACK.end_seq: the most recently sent segment delivered so far.
    xmit_ts: Option<Instant>,
    end_seq: SeqNumber,
    /// RACK.rtt: the RTT of that segment.
    rtt: Duration,
    /// RACK.fack: the highest end of any delivered segment.
    fack: Option<SeqNumber>,
    /// RACK.segs_sacked.
    segs_sacked: u32,
    reordering_seen: bool,
    /// RACK.reo_wnd_mult, RACK.reo_wnd_persist and RACK.dsack_round (§6.2 step 4).
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
    dsack_round: Option<SeqNumber>,
}

impl Rack {
    /// Remembers up to `capacity` segments (at least one); this is its only allocation.
    pub fn new(capacity: usize) -> Rack {
        let capacity = capacity.max(1);
        Rack {
            segments: VecDeque::with_capacity(capacity),
            capacity,
            xmit_ts: None,
            end_seq: SeqNumber(0),
            rtt: Duration::ZERO,
            fack: None,
            segs_sacked: 0,
            reordering_seen: false,
            reo_wnd_mult: 1,
            reo_wnd_persist: 0,
            dsack_round: None,
        }
    }

    /// Whether reordering has been observed on this connection (RFC 8985 §6.2 step 3).
    pub fn reordering_seen(&self) -> bool {
        self.reordering_seen
    }

    /// Segments remembered.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Records that `start..end` left at `now`; `snd_max` is SND.MAX before it left. The
    /// part below `snd_max` is a retransmission, the rest new data.
    pub fn on_sent(&mut self, now: Instant, start: SeqNumber, end: SeqNumber, snd_max: SeqNumber) {
        if start.lt(snd_max) {
            let resent_end = if end.lt(snd_max) { end } else { snd_max };
            self.on_retransmitted(now, start, resent_end);
        }
        let new_start = if start.lt(snd_max) { snd_max } else { start };
        if !new_start.lt(end) {
            return;
        }
        let segment = SentSegment {
            start: new_start,
            end,
            xmit_ts: now,
            retransmitted: false,
            sacked: false,
            lost: false,
        };
        if self.segments.len() < self.capacity {
            self.segments.push_back(segment);
        } else if let Some(last) = self.segments.back_mut() {
            last.end = end;
            last.xmit_ts = now;
        }
    }

    /// The segments overlapping `start..end` were sent again at `now`.
    fn on_retransmitted(&mut self, now: Instant, start: SeqNumber, end: SeqNumber) {
        let first = self.segments.partition_point(|s| s.end.le(start));
        for segment in self.segments.range_mut(first..) {
            if !segment.start.lt(end) {
                break;
            }
            segment.xmit_ts = now;
            segment.retransmitted = true;
            segment.lost = false;
        }
    }

    /// RFC 8985 §6.2 steps 2-4 for an ACK: every segment it cumulatively acknowledges
    /// (below `ack`) or newly SACKs (within one of `blocks`) updates RACK.xmit_ts,
    /// RACK.end_seq and RACK.rtt, except retransmitted ones whose ACK may answer an earlier
    /// transmission: those the timestamp echo (`sent_before_echo` false) or an RTT below
    /// `min_rtt` shows ambiguous. `dsack` widens the reordering window once per round
    /// trip; `snd_max` marks the end of that round.
    #[allow(clippy::too_many_arguments)] // the parts of one ACK, each needed
    pub fn on_ack(
        &mut self,
        now: Instant,
        ack: SeqNumber,
        blocks: &SackBlocks,
        dsack: bool,
        snd_max: SeqNumber,
        min_rtt: Option<Duration>,
        sent_before_echo: impl Fn(Instant) -> bool,
    ) {
        let update = |rack: &mut Rack, segment: SentSegment| {
            rack.on_delivered(now, segment, min_rtt, &sent_before_echo);
        };
        while let Some(&front) = self.segments.front() {
            if front.end.le(ack) {
                self.segments.pop_front();
                if front.sacked {
                    self.segs_sacked = self.segs_sacked.saturating_sub(1);
                } else {
                    update(self, front);
                }
            } else {
                if front.start.lt(ack) {
                    // Partly acknowledged: what is left is still in flight.
                    if let Some(front) = self.segments.front_mut() {
                        front.start = ack;
                    }
                }
                break;
            }
        }
        for &(left, right) in blocks.iter() {
            if !left.lt(right) || left.lt(ack) {
                continue;
            }
            let first = self.segments.partition_point(|s| s.start.lt(left));
            let mut index = first;
            while let Some(segment) = self.segments.get_mut(index) {
                if right.lt(segment.end) {
                    break;
                }
                index += 1;
                if segment.sacked {
                    continue;
                }
                segment.sacked = true;
                let delivered = *segment;
                self.segs_sacked += 1;
                update(self, delivered);
            }
        }
        // §6.2 step 4: a D-SACK means a retransmission was spurious; widen the window,
        // at most once per round trip.
        if self.dsack_round.is_some_and(|round| ack.ge(round)) {
            self.dsack_round = None;
        }
        if dsack && self.dsack_round.is_none() {
            self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1);
            self.dsack_round = Some(snd_max);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// §6.2 steps 2 and 3 for one delivered segment.
    fn on_delivered(
        &mut self,
        now: Instant,
        segment: SentSegment,
        min_rtt: Option<Duration>,
        sent_before_echo: &impl Fn(Instant) -> bool,
    ) {
        let rtt = now - segment.xmit_ts;
        if segment.retransmitted
            && (!sent_before_echo(segment.xmit_ts) || min_rtt.is_some_and(|min| rtt < min))
        {
            // The ACK may answer an earlier transmission: no information.
            return;
        }
        self.rtt = rtt;
        let newer = self.xmit_ts.is_none_or(|ts| sent_after(segment.xmit_ts, segment.end, ts, self.end_seq));
        if newer {
            self.xmit_ts = Some(segment.xmit_ts);
            self.end_seq = segment.end;
        }
        match self.fack {
            Some(fack) if !segment.end.gt(fack) => {
                if segment.end.lt(fack) && !segment.retransmitted {
                    self.reordering_seen = true;
                }
            }
            _ => self.fack = Some(segment.end),
        }
    }

    /// §6.2 step 4: a loss recovery ended; after enough of them a widened reordering
    /// window returns to its base.
    pub fn on_recovery_exit(&mut self) {
        if self.reo_wnd_persist > 0 {
            self.reo_wnd_persist -= 1;
            if self.reo_wnd_persist == 0 {
                self.reo_wnd_mult = 1;
            }
        }
    }

    /// §6.2 step 4, `RACK_update_reo_wnd`: zero while no reordering was seen and a loss is
    /// already evident (in recovery, or DupThresh segments SACKed); otherwise a quarter of
    /// the minimum RTT per multiple, at most SRTT.
    pub fn reo_wnd(&self, in_recovery: bool, srtt: Option<Duration>, min_rtt: Option<Duration>) -> Duration {
        if !self.reordering_seen && (in_recovery || self.segs_sacked >= DUP_THRESH) {
            return Duration::ZERO;
        }
        let Some(min_rtt) = min_rtt else { return Duration::ZERO };
        let wnd = (min_rtt / 4).saturating_mul(self.reo_wnd_mult);
        srtt.map_or(wnd, |srtt| wnd.min(srtt))
    }

    /// §6.2 step 5, `RACK_detect_loss`: marks lost every unacknowledged, unSACKed segment
    /// sent before RACK's segment by more than RACK.rtt + the reordering window, and says
    /// when the earliest segment still within that time would be.
    pub fn detect_loss(&mut self, now: Instant, reo_wnd: Duration) -> Detection {
        let mut detection = Detection::default();
        let Some(rack_ts) = self.xmit_ts else { return detection };
        let (rack_end, wait) = (self.end_seq, self.rtt + reo_wnd);
        for segment in self.segments.iter_mut() {
            if !sent_after(rack_ts, rack_end, segment.xmit_ts, segment.end) {
                if !segment.retransmitted {
                    // Segments sent only once leave in sequence order: all later ones
                    // were sent after RACK's segment too.
                    break;
                }
                continue;
            }
            if segment.sacked || segment.lost {
                continue;
            }
            let deadline = segment.xmit_ts + wait;
            if deadline <= now {
                segment.lost = true;
                detection.newly_lost += 1;
                if !segment.retransmitted {
                    detection.lost_below = Some(segment.end);
                }
            } else {
                detection.recheck_at = Some(detection.recheck_at.map_or(deadline, |at| at.max(deadline)));
            }
        }
        detection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn sack(blocks: &[(u32, u32)]) -> SackBlocks {
        let blocks: Vec<_> = blocks.iter().map(|&(l, r)| (SeqNumber(l), SeqNumber(r))).collect();
        SackBlocks::from_slice(&blocks)
    }

    /// Four 100-byte segments from 1000, sent 1 ms apart from t = 0.
    fn four_segments() -> Rack {
        let mut rack = Rack::new(16);
        for i in 0..4u32 {
            let start = SeqNumber(1000 + 100 * i);
            rack.on_sent(at(u64::from(i)), start, start + 100, start);
        }
        rack
    }

    #[test]
    fn a_later_segment_sacked_marks_the_earlier_lost_after_rtt_and_window() {
        let mut rack = four_segments();
        // The second segment SACKed at 10 ms: RACK.rtt = 9 ms.
        rack.on_ack(at(10), SeqNumber(1000), &sack(&[(1100, 1200)]), false, SeqNumber(1400), None, |_| true);
        assert!(!rack.reordering_seen());
        let reo = rack.reo_wnd(false, Some(10 * MS), Some(8 * MS));
        assert_eq!(reo, 2 * MS);
        // The first left at 0: lost at 0 + 9 + 2 ms; until then, a timer.
        let detection = rack.detect_loss(at(10), reo);
        assert_eq!(detection, Detection { newly_lost: 0, lost_below: None, recheck_at: Some(at(11)) });
        let detection = rack.detect_loss(at(11), reo);
        assert_eq!(detection.newly_lost, 1);
        assert_eq!(detection.lost_below, Some(SeqNumber(1100)));
        // Reported once.
        assert_eq!(rack.detect_loss(at(12), reo).newly_lost, 0);
    }

    #[test]
    fn a_hole_filled_late_is_reordering() {
        let mut rack = four_segments();
        rack.on_ack(at(10), SeqNumber(1000), &sack(&[(1100, 1200)]), false, SeqNumber(1400), None, |_| true);
        rack.on_ack(at(10), SeqNumber(1200), &SackBlocks::new(), false, SeqNumber(1400), None, |_| true);
        assert!(rack.reordering_seen());
        assert_eq!(rack.len(), 2);
        assert_eq!(rack.detect_loss(at(50), Duration::ZERO).newly_lost, 0);
    }

    #[test]
    fn an_ambiguous_retransmission_is_not_a_reference() {
        let mut rack = four_segments();
        rack.on_sent(at(5), SeqNumber(1000), SeqNumber(1100), SeqNumber(1400));
        // The echo says the ACK answers the first transmission.
        rack.on_ack(at(6), SeqNumber(1100), &SackBlocks::new(), false, SeqNumber(1400), None, |_| false);
        assert_eq!(rack.detect_loss(at(100), Duration::ZERO), Detection::default());
    }

    #[test]
    fn a_full_ring_merges_into_the_newest_segment() {
        let mut rack = Rack::new(2);
        for i in 0..4u32 {
            let start = SeqNumber(100 * i);
            rack.on_sent(at(u64::from(i)), start, start + 100, start);
        }
        assert_eq!(rack.len(), 2);
        rack.on_ack(at(9), SeqNumber(400), &SackBlocks::new(), false, SeqNumber(400), None, |_| true);
        assert!(rack.is_empty());
    }

    #[test]
    fn a_dsack_widens_the_window_until_recoveries_pass() {
        let mut rack = four_segments();
        rack.on_ack(at(10), SeqNumber(1100), &SackBlocks::new(), true, SeqNumber(1400), None, |_| true);
        assert_eq!(rack.reo_wnd(false, Some(100 * MS), Some(8 * MS)), 4 * MS);
        for _ in 0..REO_WND_PERSIST {
            rack.on_recovery_exit();
        }
        assert_eq!(rack.reo_wnd(false, Some(100 * MS), Some(8 * MS)), 2 * MS);
    }
}
