//! The sender's SACK scoreboard for loss recovery (RFC 6675).
//!
//! The scoreboard covers the send sequence space `[SND.UNA, SND.NXT)`. It holds:
//! - the SACKed ranges (RFC 6675 §3 "Update()"), sorted, disjoint and never adjacent, at
//!   most `capacity` of them;
//! - the ranges retransmitted in the current recovery episode, at most `capacity` of them;
//! - HighRxt, RescueRxt and RecoveryPoint (RFC 6675 §2); HighACK is the `snd_una` the
//!   caller passes in;
//! - the losses time-based detection found (RACK, RFC 8985 §6), as a point below which
//!   every unSACKed octet is lost, on top of IsLost's DupThresh rule.
//!
//! All right edges are exclusive, as on the wire: a range `(a, b)` covers `a..b`, and
//! where RFC 6675 names the highest octet of something (HighRxt, RescueRxt, HighData,
//! RecoveryPoint), this module keeps that octet plus one.
//!
//! Bounds. Both lists are allocated once by [`Scoreboard::new`] and never grow. When a
//! SACK block would create one range more than the capacity, the highest range is
//! forgotten (the lowest ranges matter most: they decide which holes are lost and get
//! retransmitted first). Coverage then degrades gracefully: forgotten SACKed data is
//! treated as not SACKed, so at worst it is retransmitted needlessly, never skipped. When
//! the retransmitted list is full, the two neighbouring ranges with the smallest gap
//! between them are merged: the gap is then counted as in flight, which errs on the side
//! of sending less.
//!
//! Every method is total: no input makes it panic or allocate, and queries clip what they
//! read to the `[snd_una, snd_nxt)` they are given.

use crate::wire::tcp::{SackBlocks, SeqNumber};

/// RFC 6675 §2: DupThresh, the number of discontiguous SACKed ranges (or `DupThresh - 1`
/// full segments of SACKed data, plus one byte) above a hole that declare it lost.
pub const DUP_THRESH: usize = 3;

/// A capacity that holds the ranges of a few dozen losses in one window.
pub const DEFAULT_CAPACITY: usize = 64;

/// Sequence comparisons are only meaningful for numbers less than 2^31 apart (RFC 9293
/// §3.4), so no range may be longer than this.
const MAX_SPAN: usize = (1 << 31) - 1;

/// What one ACK changed in the scoreboard ([`Scoreboard::on_ack`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AckInfo {
    /// Octets SACKed by this ACK that were not SACKed before. RFC 6675 §2: an ACK that
    /// SACKs new octets counts as a duplicate acknowledgment (DupAcks).
    pub newly_sacked: usize,
    /// RFC 2883 §4: the first SACK block reports duplicate data (a D-SACK).
    pub dsack: bool,
}

/// The next segment to send during loss recovery ([`Scoreboard::next_seg`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NextSeg {
    /// RFC 6675 §4 NextSeg rules (1) and (3): retransmit `len` octets at `seq`, then call
    /// [`Scoreboard::mark_retransmitted`].
    Retransmit { seq: SeqNumber, len: usize },
    /// Rule (2): send up to one SMSS of new data from SND.NXT.
    New,
    /// Rule (4): the episode's one rescue retransmission of `len` octets at `seq`, ending
    /// at the highest unSACKed octet; call [`Scoreboard::mark_retransmitted`] after it.
    Rescue { seq: SeqNumber, len: usize },
}

/// A range of sequence numbers, `start..end`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Span {
    start: SeqNumber,
    end: SeqNumber,
}

/// A SACKed range and how many of its octets the ACK being processed added.
#[derive(Clone, Copy, Debug)]
struct SackedSpan {
    span: Span,
    fresh: u32,
}

/// The RFC 6675 scoreboard of one connection. See the module documentation.
#[derive(Clone, Debug)]
pub struct Scoreboard {
    /// Sorted by sequence number from `origin`, disjoint, never adjacent.
    sacked: Vec<SackedSpan>,
    /// Sorted from `origin`, disjoint, never adjacent.
    retransmitted: Vec<Span>,
    capacity: usize,
    /// The point both lists are ordered from: SND.UNA at the last ACK, or, before any ACK,
    /// 2^30 below the first retransmitted sequence number.
    origin: Option<SeqNumber>,
    /// RFC 6675 HighRxt plus one; `None` when no octet at or above SND.UNA was
    /// retransmitted in this episode.
    high_rxt: Option<SeqNumber>,
    /// RFC 6675 RescueRxt plus one; `None` while undefined.
    rescue_rxt: Option<SeqNumber>,
    /// RFC 6675 RecoveryPoint plus one (HighData plus one, i.e. SND.NXT at entry).
    recovery_point: Option<SeqNumber>,
    /// RFC 6675 §5 step (4.3): the first retransmission of an episode also sets RescueRxt.
    first_retransmission_pending: bool,
    /// RFC 8985 §6.2 step 5: every unSACKed octet below this one was deemed lost by RACK.
    rack_lost: Option<SeqNumber>,
}

impl Default for Scoreboard {
    fn default() -> Scoreboard {
        Scoreboard::new(DEFAULT_CAPACITY)
    }
}

impl Scoreboard {
    /// An empty scoreboard holding up to `capacity` SACKed ranges and as many retransmitted
    /// ranges (at least one of each). This is its only allocation.
    pub fn new(capacity: usize) -> Scoreboard {
        let capacity = capacity.max(1);
        Scoreboard {
            sacked: Vec::with_capacity(capacity),
            retransmitted: Vec::with_capacity(capacity),
            capacity,
            origin: None,
            high_rxt: None,
            rescue_rxt: None,
            recovery_point: None,
            first_retransmission_pending: false,
            rack_lost: None,
        }
    }

    /// Forgets everything: SACKed and retransmitted ranges and the recovery state (RFC 2018
    /// §8: after a retransmission timeout the sender should turn off the SACKed bits).
    pub fn clear(&mut self) {
        self.sacked.clear();
        self.retransmitted.clear();
        self.origin = None;
        self.high_rxt = None;
        self.rescue_rxt = None;
        self.recovery_point = None;
        self.first_retransmission_pending = false;
        self.rack_lost = None;
    }

    /// The most ranges each list holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// RFC 6675 §3 Update(): processes an ACK. `snd_una` is the ACK's acknowledgment
    /// number (SND.UNA after it, or less for an old ACK) and `snd_nxt` is SND.NXT.
    ///
    /// Drops every range below `snd_una`. Merges each SACK block lying within
    /// `[snd_una, snd_nxt]`; other blocks are ignored (RFC 2018 §8, RFC 6675 §5: a block
    /// outside the window is stale or bogus). Reports a D-SACK (RFC 2883 §4) when the
    /// first block lies below `snd_una` or within the second block.
    ///
    /// SND.UNA never moves backwards: an old ACK (below the `snd_una` of an earlier call,
    /// still within the window) is judged for D-SACK against its own acknowledgment
    /// number but changes the window from the newer one.
    pub fn on_ack(&mut self, snd_una: SeqNumber, snd_nxt: SeqNumber, blocks: &SackBlocks) -> AckInfo {
        let dsack = is_dsack(snd_una, blocks.as_slice());
        let Some(wnd) = window(snd_una, snd_nxt) else {
            self.sacked.clear();
            self.retransmitted.clear();
            self.origin = Some(snd_una);
            return AckInfo { newly_sacked: 0, dsack };
        };
        let snd_una = match self.origin {
            Some(newer) if newer.gt(snd_una) && newer - snd_una <= wnd => newer,
            _ => snd_una,
        };
        let wnd = snd_nxt - snd_una;
        self.origin = Some(snd_una);
        // Once SND.UNA has passed them, HighRxt and RescueRxt constrain nothing; forgetting
        // them keeps stale values from wrapping around 2^32 into false comparisons.
        self.high_rxt = self.high_rxt.filter(|h| h.gt(snd_una));
        self.rescue_rxt = self.rescue_rxt.filter(|r| !snd_una.gt(*r));
        self.rack_lost = self.rack_lost.filter(|l| l.gt(snd_una));

        if blocks.is_empty() && self.sacked.is_empty() && self.retransmitted.is_empty() {
            // The common case without loss: nothing to clip, merge or count.
            return AckInfo { newly_sacked: 0, dsack };
        }
        self.sacked.retain_mut(|range| match clip(range.span, snd_una, wnd) {
            Some((start, end)) => {
                *range = SackedSpan { span: span_at(snd_una, start, end), fresh: 0 };
                true
            }
            None => false,
        });
        self.retransmitted.retain_mut(|span| match clip(*span, snd_una, wnd) {
            Some((start, end)) => {
                *span = span_at(snd_una, start, end);
                true
            }
            None => false,
        });

        for &(left, right) in blocks.iter() {
            let (start, end) = (left - snd_una, right - snd_una);
            if start < end && end <= wnd {
                self.insert_sacked(snd_una, start, end);
            }
        }
        let mut newly_sacked = 0;
        for range in &mut self.sacked {
            newly_sacked += range.fresh as usize;
            range.fresh = 0;
        }
        AckInfo { newly_sacked, dsack }
    }

    /// Whether octet `seq` has been SACKed.
    pub fn is_sacked(&self, seq: SeqNumber) -> bool {
        let Some(origin) = self.origin else { return false };
        let at = seq - origin;
        let index = self.sacked.partition_point(|r| r.span.end - origin <= at);
        self.sacked.get(index).is_some_and(|r| r.span.start - origin <= at)
    }

    /// The number of SACKed octets.
    pub fn sacked_bytes(&self) -> usize {
        self.sacked.iter().map(|r| r.span.end - r.span.start).sum()
    }

    /// The right edge of the highest SACKed range: one past the highest SACKed octet.
    pub fn highest_sacked(&self) -> Option<SeqNumber> {
        self.sacked.last().map(|r| r.span.end)
    }

    /// The SACKed ranges `(left, right)`, lowest first.
    pub fn sacked_ranges(&self) -> impl DoubleEndedIterator<Item = (SeqNumber, SeqNumber)> + '_ {
        self.sacked.iter().map(|r| (r.span.start, r.span.end))
    }

    /// The ranges retransmitted in this episode `(left, right)`, lowest first.
    pub fn retransmitted_ranges(&self) -> impl DoubleEndedIterator<Item = (SeqNumber, SeqNumber)> + '_ {
        self.retransmitted.iter().map(|s| (s.start, s.end))
    }

    /// RFC 6675 §4 IsLost(SeqNum): whether the unSACKed octet `seq` is deemed lost, because
    /// at least DupThresh discontiguous SACKed ranges lie above it, or more than
    /// `(DupThresh - 1) * smss` SACKed octets, or because RACK marked it lost
    /// ([`mark_lost`](Self::mark_lost)). A SACKed octet is not lost.
    pub fn is_lost(&self, seq: SeqNumber, smss: usize) -> bool {
        let Some(origin) = self.origin else { return false };
        if self.is_sacked(seq) {
            return false;
        }
        if self.rack_lost.is_some_and(|lost| seq.lt(lost) && !seq.lt(origin)) {
            return true;
        }
        let at = seq - origin;
        let threshold = loss_threshold(smss);
        let (mut ranges, mut bytes) = (0, 0);
        for range in self.sacked.iter().rev().take_while(|r| r.span.start - origin > at) {
            ranges += 1;
            bytes += range.span.end - range.span.start;
            if ranges >= DUP_THRESH || bytes > threshold {
                return true;
            }
        }
        false
    }

    /// RFC 6675 §4 SetPipe(): the octets deemed in flight in `[snd_una, snd_nxt)`. Each
    /// unSACKed octet counts once if it is not lost and once more if it was retransmitted
    /// in this episode (so a retransmission of data not yet deemed lost counts twice, as
    /// RFC 6675 says of rule (3)). Unlike RFC 6675, which counts only octets up to HighRxt,
    /// the rescue retransmission is counted too, for as long as it is outstanding: it is in
    /// the network.
    pub fn pipe(&self, snd_una: SeqNumber, snd_nxt: SeqNumber, smss: usize) -> usize {
        let Some(wnd) = window(snd_una, snd_nxt) else { return 0 };
        let lost_end = self.lost_boundary(snd_una, wnd, smss);
        let (mut sacked, mut sacked_below_lost) = (0, 0);
        for (start, end) in self.sacked_offsets(snd_una, wnd) {
            sacked += end - start;
            sacked_below_lost += end.min(lost_end).saturating_sub(start);
        }
        let lost = lost_end.saturating_sub(sacked_below_lost);
        let retransmitted = self.retransmitted_unsacked(snd_una, wnd);
        wnd.saturating_sub(sacked).saturating_sub(lost).saturating_add(retransmitted)
    }

    /// RFC 6675 §4 NextSeg(): what to send next during loss recovery, if anything. This
    /// is a query: the caller reports what it then sends with
    /// [`mark_retransmitted`](Self::mark_retransmitted), which does the bookkeeping (HighRxt,
    /// and RescueRxt for rule 4).
    ///
    /// 1. The lowest octet above HighRxt, below the highest SACKed octet, neither SACKed
    ///    nor already retransmitted, if it is lost: [`NextSeg::Retransmit`] of up to `smss`
    ///    octets, ending where the hole ends.
    /// 2. Otherwise, if `can_send_new` (unsent data and a window that allows it):
    ///    [`NextSeg::New`].
    /// 3. Otherwise the octet of rule 1 even if not deemed lost: [`NextSeg::Retransmit`].
    /// 4. Otherwise, once per episode (when RescueRxt is undefined or below SND.UNA), up to
    ///    `smss` octets ending at the highest unSACKed octet: [`NextSeg::Rescue`].
    ///
    /// Outside recovery ([`in_recovery`](Self::in_recovery) false) only rule 2 applies:
    /// retransmitting there would bypass the congestion response of entering recovery.
    pub fn next_seg(
        &self,
        snd_una: SeqNumber,
        snd_nxt: SeqNumber,
        smss: usize,
        can_send_new: bool,
    ) -> Option<NextSeg> {
        let new = can_send_new.then_some(NextSeg::New);
        let Some(wnd) = window(snd_una, snd_nxt) else { return new };
        if !self.in_recovery(snd_una) {
            return new;
        }
        let smss = smss.max(1);
        let highest_sacked = self.sacked_offsets(snd_una, wnd).next_back().map_or(0, |(_, end)| end);
        let from = self.high_rxt.map_or(0, |h| offset_within(h, snd_una, wnd));
        let hole = self.first_hole(snd_una, wnd, from, highest_sacked, smss);
        let retransmit =
            |(start, end): (usize, usize)| NextSeg::Retransmit { seq: snd_una + start, len: end - start };
        // Rule 1. Lost-ness only grows towards SND.UNA, so the lowest candidate is lost if
        // any is.
        if let Some(hole) = hole.filter(|&(start, _)| start < self.lost_boundary(snd_una, wnd, smss)) {
            return Some(retransmit(hole));
        }
        // Rule 2.
        if new.is_some() {
            return new;
        }
        // Rule 3.
        if let Some(hole) = hole {
            return Some(retransmit(hole));
        }
        // Rule 4.
        if self.rescue_rxt.is_some_and(|r| !snd_una.gt(r)) {
            return None;
        }
        let (start, end) = self.highest_unsacked(snd_una, wnd, smss)?;
        Some(NextSeg::Rescue { seq: snd_una + start, len: end - start })
    }

    /// Records that `len` octets from `seq` were retransmitted (RFC 6675 §5 step (C.2)).
    ///
    /// - The first retransmission after [`enter_recovery`](Self::enter_recovery) sets
    ///   HighRxt and RescueRxt to its end (§5 step (4.3)).
    /// - During recovery, a retransmission that NextSeg rules (1) and (3) could not have
    ///   chosen (it starts below HighRxt, at or above the highest SACKed octet, or on data
    ///   already retransmitted) is the rule (4) rescue: RescueRxt becomes RecoveryPoint and
    ///   HighRxt does not move (§4 rule (4): "HighRxt MUST NOT be updated").
    /// - Any other retransmission moves HighRxt to its end.
    pub fn mark_retransmitted(&mut self, seq: SeqNumber, len: usize) {
        let len = len.min(MAX_SPAN);
        if len == 0 {
            return;
        }
        // Before any ACK, order from well below `seq`, so that lower marks still fit.
        let origin = *self.origin.get_or_insert(seq - (1 << 30));
        let Some((start, end)) = clip(Span { start: seq, end: seq + len }, origin, MAX_SPAN) else {
            return;
        };
        let rescue = self.recovery_point.is_some()
            && !self.first_retransmission_pending
            && !self.may_retransmit_by_rule_one_or_three(origin, start);
        self.insert_retransmitted(origin, start, end);
        if rescue {
            self.rescue_rxt = self.recovery_point;
            return;
        }
        let end = origin + end;
        self.high_rxt = Some(self.high_rxt.map_or(end, |h| h.max(end)));
        if core::mem::take(&mut self.first_retransmission_pending) {
            self.rescue_rxt = Some(end);
        }
    }

    /// RFC 6675 §5 step (4.1): enters loss recovery with RecoveryPoint at HighData, given
    /// as `snd_nxt`, and starts a new episode: no retransmission marks, HighRxt and
    /// RescueRxt undefined until the first retransmission (step (4.3)), which the caller
    /// sends at SND.UNA and reports with [`mark_retransmitted`](Self::mark_retransmitted).
    pub fn enter_recovery(&mut self, snd_nxt: SeqNumber) {
        self.recovery_point = Some(snd_nxt);
        self.retransmitted.clear();
        self.high_rxt = None;
        self.rescue_rxt = None;
        self.first_retransmission_pending = true;
    }

    /// RFC 8985 §6.2 step 5: RACK deemed lost the segments ending at `end` and below; their
    /// unSACKed octets are lost from now on (for NextSeg and SetPipe), until the cumulative
    /// ACK passes `end`.
    pub fn mark_lost(&mut self, end: SeqNumber) {
        self.rack_lost = Some(self.rack_lost.map_or(end, |lost| if end.gt(lost) { end } else { lost }));
    }

    /// RFC 6675 RecoveryPoint plus one: SND.NXT when recovery was entered.
    pub fn recovery_point(&self) -> Option<SeqNumber> {
        self.recovery_point
    }

    /// RFC 6675 §5: recovery lasts until the cumulative ACK covers RecoveryPoint. When this
    /// turns false, the caller ends recovery with [`exit_recovery`](Self::exit_recovery).
    pub fn in_recovery(&self, snd_una: SeqNumber) -> bool {
        self.recovery_point.is_some_and(|point| point.gt(snd_una))
    }

    /// Ends the recovery episode: forgets RecoveryPoint, HighRxt, RescueRxt and the
    /// retransmission marks. SACKed ranges stay.
    pub fn exit_recovery(&mut self) {
        self.recovery_point = None;
        self.retransmitted.clear();
        self.high_rxt = None;
        self.rescue_rxt = None;
        self.first_retransmission_pending = false;
    }

    /// RFC 6675 HighRxt plus one: the end of the highest retransmission of this episode
    /// still above SND.UNA.
    pub fn high_rxt(&self) -> Option<SeqNumber> {
        self.high_rxt
    }

    /// RFC 6675 RescueRxt plus one, while defined and not yet passed by SND.UNA.
    pub fn rescue_rxt(&self) -> Option<SeqNumber> {
        self.rescue_rxt
    }

    /// Whether NextSeg rule (1) or (3) may pick the octet at offset `at` from `origin`: at
    /// or above HighRxt, below the highest SACKed octet, neither SACKed nor retransmitted.
    fn may_retransmit_by_rule_one_or_three(&self, origin: SeqNumber, at: usize) -> bool {
        let covers = |span: Span| span.start - origin <= at && at < span.end - origin;
        self.high_rxt.is_none_or(|h| offset_within(h, origin, MAX_SPAN) <= at)
            && self.sacked.last().is_some_and(|r| at < r.span.end - origin)
            && !self.sacked.iter().any(|r| covers(r.span))
            && !self.retransmitted.iter().copied().any(covers)
    }

    /// Merges `start..end` (offsets from `snd_una`, within the window) into the SACKed
    /// ranges, counting the octets it adds in the `fresh` of the range that holds them.
    fn insert_sacked(&mut self, snd_una: SeqNumber, start: usize, end: usize) {
        let offset = |seq: SeqNumber| seq - snd_una;
        // Ranges[first..past] overlap or touch start..end.
        let first = self.sacked.partition_point(|r| offset(r.span.end) < start);
        let past = self.sacked.partition_point(|r| offset(r.span.start) <= end);
        if first < past {
            let (mut covered, mut fresh) = (0, 0);
            for range in &self.sacked[first..past] {
                let (s, e) = (offset(range.span.start), offset(range.span.end));
                covered += e.min(end).saturating_sub(s.max(start));
                fresh += range.fresh as usize;
            }
            let added = (end - start).saturating_sub(covered);
            let merged_start = start.min(offset(self.sacked[first].span.start));
            let merged_end = end.max(offset(self.sacked[past - 1].span.end));
            self.sacked[first] = SackedSpan {
                span: span_at(snd_una, merged_start, merged_end),
                fresh: (fresh + added) as u32,
            };
            self.sacked.drain(first + 1..past);
            return;
        }
        let range = SackedSpan { span: span_at(snd_una, start, end), fresh: (end - start) as u32 };
        if self.sacked.len() < self.capacity {
            self.sacked.insert(first, range);
        } else if first < self.sacked.len() {
            // Full: keep the lowest ranges, forget the highest.
            self.sacked.pop();
            self.sacked.insert(first, range);
        }
        // Otherwise the new range would be the highest of a full list: it is not kept.
    }

    /// Merges `start..end` (offsets from `origin`) into the retransmitted ranges; when the
    /// list is full, merges the two neighbours with the smallest gap between them.
    fn insert_retransmitted(&mut self, origin: SeqNumber, start: usize, end: usize) {
        let offset = |seq: SeqNumber| seq - origin;
        let list = &mut self.retransmitted;
        let first = list.partition_point(|s| offset(s.end) < start);
        let past = list.partition_point(|s| offset(s.start) <= end);
        if first < past {
            let merged_start = start.min(offset(list[first].start));
            let merged_end = end.max(offset(list[past - 1].end));
            list[first] = span_at(origin, merged_start, merged_end);
            list.drain(first + 1..past);
            return;
        }
        let new = span_at(origin, start, end);
        if list.len() < self.capacity {
            list.insert(first, new);
            return;
        }
        // Full. Consider the list with `new` at index `first`, and merge the closest pair.
        let virtual_at = |k: usize| match k.cmp(&first) {
            core::cmp::Ordering::Less => list[k],
            core::cmp::Ordering::Equal => new,
            core::cmp::Ordering::Greater => list[k - 1],
        };
        let closest = (0..list.len())
            .min_by_key(|&k| offset(virtual_at(k + 1).start).saturating_sub(offset(virtual_at(k).end)))
            .unwrap_or(0);
        if closest + 1 == first {
            list[first - 1].end = new.end;
        } else if closest == first {
            list[first].start = new.start;
        } else {
            // A pair of existing ranges, at `k` and `k + 1` of the real list.
            let k = if closest < first { closest } else { closest - 1 };
            list[k].end = list[k + 1].end;
            list.remove(k + 1);
            list.insert(if k < first { first - 1 } else { first }, new);
        }
    }

    /// The SACKed ranges clipped to the window `[snd_una, snd_una + wnd)`, as offsets.
    fn sacked_offsets(
        &self,
        snd_una: SeqNumber,
        wnd: usize,
    ) -> impl DoubleEndedIterator<Item = (usize, usize)> + '_ {
        self.sacked.iter().filter_map(move |r| clip(r.span, snd_una, wnd))
    }

    /// The retransmitted ranges clipped to the window, as offsets.
    fn retransmitted_offsets(
        &self,
        snd_una: SeqNumber,
        wnd: usize,
    ) -> impl DoubleEndedIterator<Item = (usize, usize)> + '_ {
        self.retransmitted.iter().filter_map(move |s| clip(*s, snd_una, wnd))
    }

    /// The offset below which every unSACKed octet is lost (RFC 6675 IsLost, or RACK's
    /// mark), 0 if none is.
    fn lost_boundary(&self, snd_una: SeqNumber, wnd: usize, smss: usize) -> usize {
        let rack = self.rack_lost.map_or(0, |lost| offset_within(lost, snd_una, wnd));
        rack.max(self.dup_thresh_boundary(snd_una, wnd, smss))
    }

    /// The lost boundary of IsLost's DupThresh rule alone.
    ///
    /// Every octet of a hole sees the same SACKed ranges above it, so the boundary is the
    /// start of the highest range at which, counting down from the top, DupThresh ranges
    /// or more than `(DupThresh - 1) * smss` octets have accumulated.
    fn dup_thresh_boundary(&self, snd_una: SeqNumber, wnd: usize, smss: usize) -> usize {
        let threshold = loss_threshold(smss);
        let (mut ranges, mut bytes) = (0, 0);
        for (start, end) in self.sacked_offsets(snd_una, wnd).rev() {
            ranges += 1;
            bytes += end - start;
            if ranges >= DUP_THRESH || bytes > threshold {
                return start;
            }
        }
        0
    }

    /// The number of retransmitted octets in the window that are not SACKed.
    fn retransmitted_unsacked(&self, snd_una: SeqNumber, wnd: usize) -> usize {
        let mut sacked = self.sacked_offsets(snd_una, wnd).peekable();
        let mut total = 0;
        for (start, end) in self.retransmitted_offsets(snd_una, wnd) {
            let mut overlap = 0;
            while let Some(&(s, e)) = sacked.peek() {
                if e <= start {
                    sacked.next();
                    continue;
                }
                if s >= end {
                    break;
                }
                overlap += e.min(end) - s.max(start);
                if e > end {
                    break;
                }
                sacked.next();
            }
            total += (end - start).saturating_sub(overlap);
        }
        total
    }

    /// The lowest run of octets at or above offset `from` and below `limit` that are
    /// neither SACKed nor retransmitted, at most `smss` long.
    fn first_hole(
        &self,
        snd_una: SeqNumber,
        wnd: usize,
        from: usize,
        limit: usize,
        smss: usize,
    ) -> Option<(usize, usize)> {
        let mut sacked = self.sacked_offsets(snd_una, wnd).peekable();
        let mut retransmitted = self.retransmitted_offsets(snd_una, wnd).peekable();
        let mut at = from;
        loop {
            while sacked.next_if(|&(_, end)| end <= at).is_some() {}
            while retransmitted.next_if(|&(_, end)| end <= at).is_some() {}
            if at >= limit {
                return None;
            }
            let covering = [sacked.peek(), retransmitted.peek()]
                .into_iter()
                .flatten()
                .find(|&&(start, _)| start <= at)
                .map(|&(_, end)| end);
            match covering {
                Some(end) => at = end,
                None => break,
            }
        }
        let mut end = at.saturating_add(smss).min(limit);
        for &(start, _) in [sacked.peek(), retransmitted.peek()].into_iter().flatten() {
            end = end.min(start);
        }
        (end > at).then_some((at, end))
    }

    /// Up to `smss` octets ending at the highest unSACKed octet of the window, within its
    /// hole, as offsets.
    fn highest_unsacked(&self, snd_una: SeqNumber, wnd: usize, smss: usize) -> Option<(usize, usize)> {
        let (mut hole_start, mut hole_end) = (0, wnd);
        for (start, end) in self.sacked_offsets(snd_una, wnd).rev() {
            if end < hole_end {
                hole_start = end;
                break;
            }
            hole_end = hole_end.min(start);
        }
        let start = hole_start.max(hole_end.saturating_sub(smss));
        (hole_end > start).then_some((start, hole_end))
    }
}

/// RFC 2883 §4: the first block is a D-SACK when it lies below the cumulative ACK, or
/// within the second block.
fn is_dsack(snd_una: SeqNumber, blocks: &[(SeqNumber, SeqNumber)]) -> bool {
    match blocks {
        [(left, right), rest @ ..] if right.gt(*left) => {
            snd_una.ge(*right)
                || rest.first().is_some_and(|&(left2, right2)| left.ge(left2) && right2.ge(*right))
        }
        _ => false,
    }
}

/// RFC 6675 IsLost: more than this many SACKed octets above a hole make it lost.
fn loss_threshold(smss: usize) -> usize {
    (DUP_THRESH - 1).saturating_mul(smss.max(1))
}

/// The length of `[snd_una, snd_nxt)`, or `None` if `snd_nxt` is not within 2^31 after
/// `snd_una`.
fn window(snd_una: SeqNumber, snd_nxt: SeqNumber) -> Option<usize> {
    snd_nxt.ge(snd_una).then(|| snd_nxt - snd_una)
}

/// The span `start..end` of offsets from `base`.
fn span_at(base: SeqNumber, start: usize, end: usize) -> Span {
    Span { start: base + start, end: base + end }
}

/// `seq` as an offset from `snd_una`, clamped to `0..=wnd`.
fn offset_within(seq: SeqNumber, snd_una: SeqNumber, wnd: usize) -> usize {
    usize::try_from(seq.wrapping_sub(snd_una)).map_or(0, |offset| offset.min(wnd))
}

/// The part of `span` inside `[base, base + wnd)` as offsets from `base`, if not empty.
///
/// Both arcs are shorter than 2^31 on the circle of 2^32 sequence numbers, so their
/// intersection is one arc or nothing.
fn clip(span: Span, base: SeqNumber, wnd: usize) -> Option<(usize, usize)> {
    let len = span.end - span.start;
    let start = span.start - base;
    let (start, end) = if start < wnd {
        (start, start.saturating_add(len).min(wnd))
    } else {
        let before = base - span.start;
        if before >= len {
            return None;
        }
        (0, (len - before).min(wnd))
    };
    (end > start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMSS: usize = 1000;
    /// A start far from the wrap and one that crosses 2^32 within the first few segments.
    const BASES: [u32; 2] = [1000, u32::MAX - 2499];

    /// `base + offset`, modulo 2^32.
    fn at(base: u32, offset: usize) -> SeqNumber {
        SeqNumber(base) + offset
    }

    /// SACK blocks as offsets from some base.
    type Blocks = &'static [(usize, usize)];

    /// SACK blocks given as offsets from `base`.
    fn sack(base: u32, blocks: &[(usize, usize)]) -> SackBlocks {
        let blocks: Vec<_> = blocks.iter().map(|&(l, r)| (at(base, l), at(base, r))).collect();
        SackBlocks::from_slice(&blocks)
    }

    /// The SACKed ranges as offsets from `base`.
    fn ranges(sb: &Scoreboard, base: u32) -> Vec<(usize, usize)> {
        let base = SeqNumber(base);
        sb.sacked_ranges().map(|(l, r)| (l - base, r - base)).collect()
    }

    fn retransmitted(sb: &Scoreboard, base: u32) -> Vec<(usize, usize)> {
        let base = SeqNumber(base);
        sb.retransmitted_ranges().map(|(l, r)| (l - base, r - base)).collect()
    }

    fn rexmit(base: u32, offset: usize, len: usize) -> Option<NextSeg> {
        Some(NextSeg::Retransmit { seq: at(base, offset), len })
    }

    /// RFC 6675 §5: ten segments sent, the first lost; each of three duplicate ACKs SACKs
    /// one more segment. The third makes the hole lost; NextSeg returns it, and after its
    /// retransmission nothing is left to retransmit.
    #[test]
    fn single_loss_three_sacks() {
        for base in BASES {
            let (una, nxt) = (at(base, 0), at(base, 10 * SMSS));
            let mut sb = Scoreboard::new(DEFAULT_CAPACITY);
            let info = sb.on_ack(una, nxt, &sack(base, &[(1000, 2000)]));
            assert_eq!(info, AckInfo { newly_sacked: 1000, dsack: false });
            assert!(!sb.is_lost(una, SMSS));
            sb.on_ack(una, nxt, &sack(base, &[(1000, 3000)]));
            assert!(!sb.is_lost(una, SMSS), "2 SMSS SACKed above is not more than (DupThresh-1)*SMSS");
            let info = sb.on_ack(una, nxt, &sack(base, &[(1000, 4000)]));
            assert_eq!(info.newly_sacked, 1000);
            assert!(sb.is_lost(una, SMSS));
            assert!(sb.is_lost(at(base, 999), SMSS));
            assert!(!sb.is_lost(at(base, 1000), SMSS), "SACKed");
            assert!(!sb.is_lost(at(base, 4000), SMSS), "nothing SACKed above");
            assert_eq!(ranges(&sb, base), [(1000, 4000)]);
            assert_eq!(sb.sacked_bytes(), 3000);
            assert_eq!(sb.highest_sacked(), Some(at(base, 4000)));
            assert!(sb.is_sacked(at(base, 1000)) && sb.is_sacked(at(base, 3999)));
            assert!(!sb.is_sacked(at(base, 999)) && !sb.is_sacked(at(base, 4000)));

            // Not yet in recovery: only new data.
            assert_eq!(sb.next_seg(una, nxt, SMSS, false), None);
            assert_eq!(sb.next_seg(una, nxt, SMSS, true), Some(NextSeg::New));

            sb.enter_recovery(nxt);
            assert!(sb.in_recovery(una));
            assert_eq!(sb.recovery_point(), Some(nxt));
            // Pipe before the retransmission: 6 segments above the SACKed ones.
            assert_eq!(sb.pipe(una, nxt, SMSS), 6000);
            assert_eq!(sb.next_seg(una, nxt, SMSS, true), rexmit(base, 0, 1000), "rule 1 before rule 2");
            sb.mark_retransmitted(una, 1000);
            assert_eq!(sb.high_rxt(), Some(at(base, 1000)));
            assert_eq!(sb.rescue_rxt(), Some(at(base, 1000)), "RFC 6675 §5 (4.3)");
            assert_eq!(sb.pipe(una, nxt, SMSS), 7000);
            assert_eq!(sb.next_seg(una, nxt, SMSS, true), Some(NextSeg::New));
            assert_eq!(sb.next_seg(una, nxt, SMSS, false), None, "no rescue before HighACK passes RescueRxt");

            // The retransmission fills the hole: the cumulative ACK jumps over the SACKed data.
            let una = at(base, 4000);
            let info = sb.on_ack(una, nxt, &SackBlocks::new());
            assert_eq!(info, AckInfo { newly_sacked: 0, dsack: false });
            assert!(ranges(&sb, base).is_empty());
            assert!(retransmitted(&sb, base).is_empty());
            assert_eq!(sb.high_rxt(), None);
            assert!(sb.in_recovery(una));
            assert_eq!(sb.pipe(una, nxt, SMSS), 6000);
            sb.on_ack(nxt, nxt, &SackBlocks::new());
            assert!(!sb.in_recovery(nxt));
            sb.exit_recovery();
            assert_eq!(sb.recovery_point(), None);
        }
    }

    /// Two holes below three SACKed segments: both retransmitted in order, then new data,
    /// then (after HighACK passes RescueRxt) one rescue retransmission of the tail.
    #[test]
    fn multiple_holes_in_order_then_rescue() {
        for base in BASES {
            let (una, nxt) = (at(base, 0), at(base, 10 * SMSS));
            let mut sb = Scoreboard::new(DEFAULT_CAPACITY);
            // Segments 0 and 2 lost; 1, 3, 4, 5 arrive. Most recent block first.
            sb.on_ack(una, nxt, &sack(base, &[(1000, 2000)]));
            sb.on_ack(una, nxt, &sack(base, &[(3000, 4000), (1000, 2000)]));
            sb.on_ack(una, nxt, &sack(base, &[(3000, 5000), (1000, 2000)]));
            let info = sb.on_ack(una, nxt, &sack(base, &[(3000, 6000), (1000, 2000)]));
            assert_eq!(info.newly_sacked, 1000);
            assert_eq!(ranges(&sb, base), [(1000, 2000), (3000, 6000)]);
            assert!(sb.is_lost(at(base, 0), SMSS) && sb.is_lost(at(base, 2000), SMSS));

            sb.enter_recovery(nxt);
            assert_eq!(sb.pipe(una, nxt, SMSS), 4000, "holes lost, 4 segments above the SACKs");
            assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 0, 1000));
            sb.mark_retransmitted(una, 1000);
            assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 2000, 1000));
            sb.mark_retransmitted(at(base, 2000), 1000);
            assert_eq!(sb.high_rxt(), Some(at(base, 3000)));
            assert_eq!(sb.rescue_rxt(), Some(at(base, 1000)), "set by the first retransmission only");
            assert_eq!(retransmitted(&sb, base), [(0, 1000), (2000, 3000)]);
            assert_eq!(sb.pipe(una, nxt, SMSS), 6000);
            assert_eq!(sb.next_seg(una, nxt, SMSS, true), Some(NextSeg::New));
            assert_eq!(sb.next_seg(una, nxt, SMSS, false), None);

            // The first retransmission fills the first hole: ACK 2000, above RescueRxt.
            let una = at(base, 2000);
            sb.on_ack(una, nxt, &sack(base, &[(3000, 6000)]));
            assert_eq!(sb.rescue_rxt(), None, "passed by HighACK");
            assert!(sb.in_recovery(una));
            // Rule 4: the highest unSACKed segment, once.
            assert_eq!(
                sb.next_seg(una, nxt, SMSS, false),
                Some(NextSeg::Rescue { seq: at(base, 9000), len: 1000 })
            );
            assert_eq!(sb.rescue_rxt(), None, "NextSeg is a query");
            sb.mark_retransmitted(at(base, 9000), 1000);
            assert_eq!(sb.rescue_rxt(), Some(nxt), "RescueRxt = RecoveryPoint");
            assert_eq!(sb.high_rxt(), Some(at(base, 3000)), "rule 4 does not move HighRxt");
            assert_eq!(retransmitted(&sb, base), [(2000, 3000), (9000, 10000)]);
            // [2000, 3000) lost and retransmitted, [6000, 10000) in flight, plus the rescue.
            assert_eq!(sb.pipe(una, nxt, SMSS), 1000 + 4000 + 1000);
            assert_eq!(sb.next_seg(una, nxt, SMSS, false), None, "one rescue per episode");
            assert_eq!(sb.next_seg(una, nxt, SMSS, true), Some(NextSeg::New));
        }
    }

    /// Rule (4) when no unSACKed data lies above the highest SACK: the rescue is the top
    /// of the highest hole, which rule (3) already retransmitted, so it lies below HighRxt.
    #[test]
    fn rescue_below_the_highest_sack() {
        let base = 3;
        let (una, nxt) = (at(base, 0), at(base, 5000));
        let mut sb = Scoreboard::new(8);
        sb.on_ack(una, nxt, &sack(base, &[(3000, 5000), (1000, 2000)]));
        assert!(sb.is_lost(una, SMSS) && !sb.is_lost(at(base, 2000), SMSS));
        sb.enter_recovery(nxt);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 0, 1000));
        sb.mark_retransmitted(una, 1000);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 2000, 1000), "rule 3");
        sb.mark_retransmitted(at(base, 2000), 1000);
        assert_eq!(sb.high_rxt(), Some(at(base, 3000)));
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), None);
        let una = at(base, 2000);
        sb.on_ack(una, nxt, &sack(base, &[(3000, 5000)]));
        let rescue = Some(NextSeg::Rescue { seq: una, len: 1000 });
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rescue);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rescue, "a query changes nothing");
        sb.mark_retransmitted(una, 1000);
        assert_eq!(sb.high_rxt(), Some(at(base, 3000)));
        assert_eq!(sb.rescue_rxt(), Some(nxt));
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), None);
        // The hole is not lost (one range of 2 SMSS above) and retransmitted: counted twice.
        assert_eq!(sb.pipe(una, nxt, SMSS), 2000);
    }

    /// An old ACK, reordered behind a newer one, does not move SND.UNA back; its first
    /// block is judged for D-SACK against its own acknowledgment number.
    #[test]
    fn old_ack_does_not_move_the_window_back() {
        let base = u32::MAX - 50;
        let nxt = at(base, 5000);
        let mut sb = Scoreboard::new(8);
        sb.on_ack(at(base, 2000), nxt, &sack(base, &[(3000, 3500)]));
        // The old ACK: 1000, SACK 1500-2000 (data now below SND.UNA) and 4000-4500.
        let info = sb.on_ack(at(base, 1000), nxt, &sack(base, &[(1500, 2000), (4000, 4500)]));
        assert_eq!(info, AckInfo { newly_sacked: 500, dsack: false });
        assert_eq!(ranges(&sb, base), [(3000, 3500), (4000, 4500)]);
        // Its D-SACK, below its own acknowledgment number.
        let info = sb.on_ack(at(base, 1000), nxt, &sack(base, &[(500, 1000), (3000, 3500)]));
        assert_eq!(info, AckInfo { newly_sacked: 0, dsack: true });
        assert_eq!(sb.sacked_bytes(), 1000);
    }

    /// RFC 6675 §4 rule (4): no rescue until HighACK is above RescueRxt, which the first
    /// retransmission set (§5 step (4.3)).
    #[test]
    fn rescue_waits_for_highack_above_rescue_rxt() {
        let base = 7;
        let (una, nxt) = (at(base, 0), at(base, 6000));
        let mut sb = Scoreboard::new(8);
        sb.on_ack(una, nxt, &sack(base, &[(2000, 5000)]));
        sb.enter_recovery(nxt);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 0, 1000));
        sb.mark_retransmitted(una, 1000);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 1000, 1000));
        sb.mark_retransmitted(at(base, 1000), 1000);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), None);
        // The first retransmission arrives: HighACK (999) equals RescueRxt (999).
        let una = at(base, 1000);
        sb.on_ack(una, nxt, &sack(base, &[(2000, 5000)]));
        assert_eq!(sb.rescue_rxt(), Some(una));
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), None);
        // One more octet acknowledged: HighACK passes RescueRxt.
        let una = at(base, 1001);
        sb.on_ack(una, nxt, &sack(base, &[(2000, 5000)]));
        assert_eq!(
            sb.next_seg(una, nxt, SMSS, false),
            Some(NextSeg::Rescue { seq: at(base, 5000), len: 1000 })
        );
        // A SACK-less episode (no SACKed data at all) still gets its rescue: the tail.
        let mut sb = Scoreboard::new(8);
        sb.on_ack(una, nxt, &SackBlocks::new());
        sb.enter_recovery(nxt);
        assert_eq!(
            sb.next_seg(una, nxt, 500, false),
            Some(NextSeg::Rescue { seq: at(base, 5500), len: 500 })
        );
    }

    /// A hole of three segments is retransmitted one SMSS at a time, each ending at the
    /// hole's end or after SMSS octets.
    #[test]
    fn long_hole_in_smss_pieces() {
        let base = 5000;
        let (una, nxt) = (at(base, 0), at(base, 8000));
        let mut sb = Scoreboard::new(8);
        sb.on_ack(una, nxt, &sack(base, &[(2500, 6000)]));
        sb.enter_recovery(nxt);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 0, 1000));
        sb.mark_retransmitted(una, 1000);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 1000, 1000));
        sb.mark_retransmitted(at(base, 1000), 1000);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 2000, 500), "up to the SACKed range");
        sb.mark_retransmitted(at(base, 2000), 500);
        assert_eq!(retransmitted(&sb, base), [(0, 2500)], "adjacent marks merge");
        assert_eq!(sb.next_seg(una, nxt, SMSS, true), Some(NextSeg::New));
    }

    /// Rule 3: a hole below SACKed data that is not (yet) deemed lost is retransmitted only
    /// when no new data can be sent.
    #[test]
    fn rule_three_retransmits_a_hole_not_deemed_lost() {
        let base = 0;
        let (una, nxt) = (at(base, 0), at(base, 4000));
        let mut sb = Scoreboard::new(8);
        sb.on_ack(una, nxt, &sack(base, &[(1000, 2000)]));
        assert!(!sb.is_lost(una, SMSS));
        sb.enter_recovery(nxt);
        assert_eq!(sb.next_seg(una, nxt, SMSS, true), Some(NextSeg::New));
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 0, 1000));
        sb.mark_retransmitted(una, 1000);
        // Not lost and retransmitted: counted twice (RFC 6675 §4 SetPipe (a) and (b)).
        assert_eq!(sb.pipe(una, nxt, SMSS), 2000 + 2000);
        // Nothing more below the highest SACK; the tail [2000, 4000) is only for rule 4,
        // which waits until HighACK passes RescueRxt.
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), None);
    }

    #[test]
    fn is_lost_thresholds() {
        let base = 100;
        let (una, nxt) = (at(base, 0), at(base, 20_000));
        // Bytes: exactly 2 * SMSS above is not lost, one more octet is.
        let mut sb = Scoreboard::new(8);
        sb.on_ack(una, nxt, &sack(base, &[(1000, 3000)]));
        assert!(!sb.is_lost(una, SMSS));
        sb.on_ack(una, nxt, &sack(base, &[(3000, 3001)]));
        assert!(sb.is_lost(una, SMSS));
        assert!(!sb.is_lost(una, 2000), "the threshold scales with SMSS");
        // Ranges: three discontiguous one-octet ranges above are enough, two are not.
        let mut sb = Scoreboard::new(8);
        sb.on_ack(una, nxt, &sack(base, &[(10, 11), (20, 21)]));
        assert!(!sb.is_lost(una, SMSS));
        assert_eq!(sb.on_ack(una, nxt, &sack(base, &[(30, 31)])).newly_sacked, 1);
        assert!(sb.is_lost(una, SMSS));
        assert!(sb.is_lost(at(base, 9), SMSS));
        assert!(!sb.is_lost(at(base, 11), SMSS), "only two ranges above");
        assert!(!sb.is_lost(at(base, 20), SMSS), "SACKed");
        sb.enter_recovery(nxt);
        // Pipe: [0, 10) lost; the rest (20000 - 3 - 10 octets) in flight.
        assert_eq!(sb.pipe(una, nxt, SMSS), 20_000 - 3 - 10);
        // A smaller hole than SMSS is retransmitted alone.
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 0, 10));
    }

    /// RFC 2883 §4.1.1 Example 1: reporting a duplicate segment (ACKs lost, 3000-3499
    /// retransmitted).
    #[test]
    fn dsack_example_1_duplicate_segment() {
        let mut sb = Scoreboard::default();
        let info = sb.on_ack(SeqNumber(4000), SeqNumber(4000), &sack(0, &[(3000, 3500)]));
        assert_eq!(info, AckInfo { newly_sacked: 0, dsack: true });
        assert_eq!(sb.sacked_bytes(), 0);
    }

    /// RFC 2883 §4.1.2 Example 2: an out-of-order segment and a duplicate segment.
    #[test]
    fn dsack_example_2_out_of_order_and_duplicate() {
        let mut sb = Scoreboard::default();
        let (una, nxt) = (SeqNumber(4000), SeqNumber(5000));
        // "4000, SACK=4500-5000" was dropped; the sender sees only the D-SACK ACK.
        let info = sb.on_ack(una, nxt, &sack(0, &[(3000, 3500), (4500, 5000)]));
        assert_eq!(info, AckInfo { newly_sacked: 500, dsack: true });
        assert_eq!(ranges(&sb, 0), [(4500, 5000)]);
    }

    /// RFC 2883 §4.1.3 Example 3: a duplicate of an out-of-order segment.
    #[test]
    fn dsack_example_3_duplicate_of_out_of_order() {
        let mut sb = Scoreboard::default();
        let (una, nxt) = (SeqNumber(4000), SeqNumber(5500));
        assert_eq!(
            sb.on_ack(una, nxt, &sack(0, &[(4500, 5000)])),
            AckInfo { newly_sacked: 500, dsack: false }
        );
        assert_eq!(
            sb.on_ack(una, nxt, &sack(0, &[(4500, 5500)])),
            AckInfo { newly_sacked: 500, dsack: false }
        );
        let info = sb.on_ack(una, nxt, &sack(0, &[(5000, 5500), (4500, 5500)]));
        assert_eq!(info, AckInfo { newly_sacked: 0, dsack: true });
        assert_eq!(ranges(&sb, 0), [(4500, 5500)]);
    }

    /// RFC 2883 §4.2.1 Example 4: a single duplicate subsegment.
    #[test]
    fn dsack_example_4_duplicate_subsegment() {
        let mut sb = Scoreboard::default();
        let nxt = SeqNumber(2500);
        let info = sb.on_ack(SeqNumber(1000), nxt, &sack(0, &[(2000, 2500)]));
        assert_eq!(info, AckInfo { newly_sacked: 500, dsack: false });
        // The sender retransmits 1000-1999 as one segment; the delayed 1000-1499 arrives.
        let info = sb.on_ack(SeqNumber(1500), nxt, &sack(0, &[(2000, 2500)]));
        assert_eq!(info, AckInfo { newly_sacked: 0, dsack: false });
        let info = sb.on_ack(SeqNumber(2500), nxt, &sack(0, &[(1000, 1500)]));
        assert_eq!(info, AckInfo { newly_sacked: 0, dsack: true });
        assert_eq!(sb.sacked_bytes(), 0);
    }

    /// RFC 2883 §4.2.2 Example 5: two non-contiguous duplicate subsegments covered by the
    /// cumulative acknowledgement.
    #[test]
    fn dsack_example_5_duplicates_below_the_ack() {
        let mut sb = Scoreboard::default();
        let nxt = SeqNumber(3500);
        let acks: [(u32, Blocks, AckInfo); 4] = [
            (1000, &[(3000, 3500)], AckInfo { newly_sacked: 500, dsack: false }),
            (1500, &[(3000, 3500)], AckInfo { newly_sacked: 0, dsack: false }),
            (1500, &[(2000, 2500), (3000, 3500)], AckInfo { newly_sacked: 500, dsack: false }),
            (2500, &[(1000, 1500), (3000, 3500)], AckInfo { newly_sacked: 0, dsack: true }),
        ];
        for (ack, blocks, expected) in acks {
            assert_eq!(sb.on_ack(SeqNumber(ack), nxt, &sack(0, blocks)), expected, "ACK {ack}");
        }
        assert_eq!(ranges(&sb, 0), [(3000, 3500)]);
    }

    /// RFC 2883 §4.2.3 Example 6: two non-contiguous duplicate subsegments not covered by
    /// the cumulative acknowledgement: the D-SACK lies within the second block.
    #[test]
    fn dsack_example_6_duplicates_above_the_ack() {
        let mut sb = Scoreboard::default();
        let (una, nxt) = (SeqNumber(1000), SeqNumber(4000));
        let acks: [(Blocks, AckInfo); 4] = [
            (&[(3500, 4000)], AckInfo { newly_sacked: 500, dsack: false }),
            (&[(1500, 2000), (3500, 4000)], AckInfo { newly_sacked: 500, dsack: false }),
            (&[(1500, 2500), (3500, 4000)], AckInfo { newly_sacked: 500, dsack: false }),
            (&[(1500, 2000), (1500, 3000), (3500, 4000)], AckInfo { newly_sacked: 500, dsack: true }),
        ];
        for (blocks, expected) in acks {
            assert_eq!(sb.on_ack(una, nxt, &sack(0, blocks)), expected, "{blocks:?}");
        }
        assert_eq!(ranges(&sb, 0), [(1500, 3000), (3500, 4000)]);
    }

    #[test]
    fn not_dsack() {
        let (una, nxt) = (SeqNumber(1000), SeqNumber(9000));
        let mut sb = Scoreboard::default();
        // First block above the ACK and overlapping, not within, the second.
        assert!(!sb.on_ack(una, nxt, &sack(0, &[(2000, 3000), (2500, 3500)])).dsack);
        // A second block below the ACK does not make a D-SACK.
        assert!(!sb.on_ack(una, nxt, &sack(0, &[(4000, 5000), (500, 900)])).dsack);
        // An empty or inverted first block is not a D-SACK.
        assert!(!sb.on_ack(una, nxt, &sack(0, &[(900, 900)])).dsack);
        assert!(!sb.on_ack(una, nxt, &sack(0, &[(900, 500)])).dsack);
        assert!(!sb.on_ack(una, nxt, &SackBlocks::new()).dsack);
        assert_eq!(ranges(&sb, 0), [(2000, 3500), (4000, 5000)]);
    }

    /// RFC 2018 §8, RFC 6675 §5: blocks not within [SND.UNA, SND.NXT] are ignored.
    #[test]
    fn blocks_outside_the_window_are_ignored() {
        for base in BASES {
            let (una, nxt) = (at(base, 1000), at(base, 5000));
            let mut sb = Scoreboard::default();
            let info =
                sb.on_ack(una, nxt, &sack(base, &[(4000, 5001), (500, 1500), (3000, 2000), (2000, 2000)]));
            assert_eq!(info, AckInfo { newly_sacked: 0, dsack: false });
            assert_eq!(sb.sacked_bytes(), 0);
            // Edges exactly at SND.UNA and SND.NXT are inside.
            let info = sb.on_ack(una, nxt, &sack(base, &[(4000, 5000), (1000, 1500)]));
            assert_eq!(info.newly_sacked, 1500);
            // Far away: 2^31 and more from the window.
            let far = sack(base, &[(1 << 31, (1 << 31) + 100), (usize::MAX - 100, usize::MAX)]);
            assert_eq!(sb.on_ack(una, nxt, &far).newly_sacked, 0);
            assert_eq!(ranges(&sb, base), [(1000, 1500), (4000, 5000)]);
            // A cumulative ACK inside a range trims it.
            sb.on_ack(at(base, 1200), nxt, &SackBlocks::new());
            assert_eq!(ranges(&sb, base), [(1200, 1500), (4000, 5000)]);
            // A window that ends before it starts forgets everything.
            sb.on_ack(at(base, 1200), at(base, 1100), &SackBlocks::new());
            assert_eq!(sb.sacked_bytes(), 0);
        }
    }

    /// An ACK whose SND.NXT lies before its SND.UNA is bogus even when an earlier SND.UNA
    /// would make the window look valid (found by `arbitrary_inputs_never_panic`).
    #[test]
    fn bogus_window_after_a_valid_one() {
        let mut sb = Scoreboard::new(1);
        sb.on_ack(SeqNumber(2882879525), SeqNumber(0), &SackBlocks::new());
        let blocks = SackBlocks::from_slice(&[(SeqNumber(2882879525), SeqNumber(0))]);
        let info = sb.on_ack(SeqNumber(735395878), SeqNumber(318376963), &blocks);
        assert_eq!(info.newly_sacked, 0);
        assert_eq!(sb.sacked_ranges().count(), 0);
    }

    /// When full, the scoreboard keeps the lowest ranges; newly_sacked counts only what it
    /// keeps.
    #[test]
    fn range_capacity_is_bounded() {
        let base = 0;
        let (una, nxt) = (at(base, 0), at(base, 100_000));
        let mut sb = Scoreboard::new(4);
        assert_eq!(sb.capacity(), 4);
        let info =
            sb.on_ack(una, nxt, &sack(base, &[(1000, 1100), (2000, 2100), (3000, 3100), (4000, 4100)]));
        assert_eq!(info.newly_sacked, 400);
        // A fifth range above all: not kept.
        assert_eq!(sb.on_ack(una, nxt, &sack(base, &[(5000, 5100)])).newly_sacked, 0);
        assert_eq!(ranges(&sb, base), [(1000, 1100), (2000, 2100), (3000, 3100), (4000, 4100)]);
        // A range below: kept, the highest is forgotten.
        assert_eq!(sb.on_ack(una, nxt, &sack(base, &[(500, 600)])).newly_sacked, 100);
        assert_eq!(ranges(&sb, base), [(500, 600), (1000, 1100), (2000, 2100), (3000, 3100)]);
        // Growing an existing range needs no slot; bridging two frees one.
        assert_eq!(sb.on_ack(una, nxt, &sack(base, &[(1100, 2000)])).newly_sacked, 900);
        assert_eq!(ranges(&sb, base), [(500, 600), (1000, 2100), (3000, 3100)]);
        // A block SACKed and forgotten within one ACK is not counted.
        let info = sb.on_ack(una, nxt, &sack(base, &[(7000, 7100), (6000, 6100), (100, 200)]));
        assert_eq!(info.newly_sacked, 100);
        assert_eq!(ranges(&sb, base), [(100, 200), (500, 600), (1000, 2100), (3000, 3100)]);
        // Capacity zero is raised to one.
        let mut sb = Scoreboard::new(0);
        sb.on_ack(una, nxt, &sack(base, &[(3000, 3100), (1000, 1100)]));
        assert_eq!(ranges(&sb, base), [(1000, 1100)]);
    }

    /// When the retransmission list is full, the closest neighbours merge.
    #[test]
    fn retransmitted_capacity_is_bounded() {
        let base = u32::MAX - 100;
        let (una, nxt) = (at(base, 0), at(base, 100_000));
        let mut sb = Scoreboard::new(3);
        sb.on_ack(una, nxt, &SackBlocks::new());
        sb.mark_retransmitted(at(base, 0), 100);
        sb.mark_retransmitted(at(base, 1000), 100);
        sb.mark_retransmitted(at(base, 5000), 100);
        assert_eq!(retransmitted(&sb, base), [(0, 100), (1000, 1100), (5000, 5100)]);
        // New range next to the last one: merged with it.
        sb.mark_retransmitted(at(base, 5200), 100);
        assert_eq!(retransmitted(&sb, base), [(0, 100), (1000, 1100), (5000, 5300)]);
        // New range far from all: the closest existing pair merges instead.
        sb.mark_retransmitted(at(base, 9000), 100);
        assert_eq!(retransmitted(&sb, base), [(0, 1100), (5000, 5300), (9000, 9100)]);
        // New range closest to the one above it.
        sb.mark_retransmitted(at(base, 4950), 10);
        assert_eq!(retransmitted(&sb, base), [(0, 1100), (4950, 5300), (9000, 9100)]);
        // Pipe counts the merged gaps as in flight: never less than the truth.
        assert_eq!(sb.pipe(una, nxt, SMSS), 100_000 + 1100 + 350 + 100);
        // Zero-length and out-of-window marks change nothing.
        sb.mark_retransmitted(at(base, 20_000), 0);
        sb.on_ack(una, nxt, &SackBlocks::new());
        assert_eq!(retransmitted(&sb, base), [(0, 1100), (4950, 5300), (9000, 9100)]);
    }

    #[test]
    fn marks_before_any_ack_and_clear() {
        let mut sb = Scoreboard::new(4);
        sb.mark_retransmitted(SeqNumber(u32::MAX - 10), 100);
        assert_eq!(retransmitted(&sb, u32::MAX - 10), [(0, 100)]);
        let (una, nxt) = (SeqNumber(u32::MAX - 10), SeqNumber(200));
        assert_eq!(sb.pipe(una, nxt, SMSS), 211 + 100);
        sb.on_ack(una, nxt, &sack(u32::MAX - 10, &[(150, 160)]));
        sb.enter_recovery(nxt);
        sb.clear();
        assert_eq!(sb.sacked_bytes(), 0);
        assert_eq!(sb.retransmitted_ranges().count(), 0);
        assert_eq!(sb.recovery_point(), None);
        assert_eq!(sb.pipe(una, nxt, SMSS), 211);
    }

    /// Sequence numbers crossing 2^32 in the middle of ranges and holes.
    #[test]
    fn wrap_around() {
        let base = u32::MAX - 1499;
        let (una, nxt) = (at(base, 0), at(base, 6000));
        let mut sb = Scoreboard::new(8);
        // SACKed: [1000, 2000) crosses 2^32 (at offset 1500), and [3000, 5500).
        sb.on_ack(una, nxt, &sack(base, &[(3000, 5500), (1000, 2000)]));
        assert_eq!(ranges(&sb, base), [(1000, 2000), (3000, 5500)]);
        assert!(
            sb.is_sacked(SeqNumber(u32::MAX)) && sb.is_sacked(SeqNumber(0)) && sb.is_sacked(SeqNumber(499))
        );
        assert!(!sb.is_sacked(SeqNumber(500)));
        assert!(sb.is_lost(una, SMSS) && sb.is_lost(SeqNumber(500), SMSS));
        sb.enter_recovery(nxt);
        assert_eq!(sb.next_seg(una, nxt, SMSS, false), rexmit(base, 0, 1000));
        sb.mark_retransmitted(una, 1000);
        assert_eq!(
            sb.next_seg(una, nxt, SMSS, false),
            Some(NextSeg::Retransmit { seq: SeqNumber(500), len: 1000 })
        );
        sb.mark_retransmitted(SeqNumber(500), 1000);
        assert_eq!(sb.high_rxt(), Some(SeqNumber(1500)));
        // 6000 - 3500 SACKed - 2000 lost + 2000 retransmitted.
        assert_eq!(sb.pipe(una, nxt, SMSS), 2500);
        sb.on_ack(at(base, 2000), nxt, &sack(base, &[(3000, 5500)]));
        assert_eq!(ranges(&sb, base), [(3000, 5500)]);
        assert_eq!(retransmitted(&sb, base), [(2000, 3000)]);
    }

    /// A seeded, octet-by-octet model of RFC 6675's definitions, in positions that never
    /// wrap; `origin` maps position 0 to a sequence number (anywhere, wraps included).
    struct Model {
        origin: u32,
        capacity: usize,
        una: usize,
        nxt: usize,
        sacked: Vec<bool>,
        retransmitted: Vec<bool>,
        high_rxt: Option<usize>,
        rescue_rxt: Option<usize>,
        recovery_point: Option<usize>,
        first_pending: bool,
    }

    const POSITIONS: usize = 1 << 13;

    impl Model {
        fn new(origin: u32, capacity: usize) -> Model {
            Model {
                origin,
                capacity: capacity.max(1),
                una: 0,
                nxt: 0,
                sacked: vec![false; POSITIONS],
                retransmitted: vec![false; POSITIONS],
                high_rxt: None,
                rescue_rxt: None,
                recovery_point: None,
                first_pending: false,
            }
        }

        fn seq(&self, position: usize) -> SeqNumber {
            at(self.origin, position)
        }

        fn runs(&self, bits: &[bool]) -> Vec<(usize, usize)> {
            let mut runs = Vec::new();
            let mut p = self.una;
            while p < self.nxt {
                if bits[p] {
                    let start = p;
                    while p < self.nxt && bits[p] {
                        p += 1;
                    }
                    runs.push((start, p));
                } else {
                    p += 1;
                }
            }
            runs
        }

        /// Returns (newly_sacked, dsack).
        fn on_ack(&mut self, una: usize, nxt: usize, blocks: &[(SeqNumber, SeqNumber)]) -> AckInfo {
            self.una = una;
            self.nxt = nxt;
            self.high_rxt = self.high_rxt.filter(|&h| h > una);
            self.rescue_rxt = self.rescue_rxt.filter(|&r| una <= r);
            let una_seq = self.seq(una).0;
            let dsack = match blocks {
                [(l, r), rest @ ..] if (r.0.wrapping_sub(l.0) as i32) > 0 => {
                    una_seq.wrapping_sub(r.0) as i32 >= 0
                        || rest.first().is_some_and(|(l2, r2)| {
                            l.0.wrapping_sub(l2.0) as i32 >= 0 && r2.0.wrapping_sub(r.0) as i32 >= 0
                        })
                }
                _ => false,
            };
            let mut fresh = vec![false; POSITIONS];
            for &(l, r) in blocks {
                let (from, to) = (l.0.wrapping_sub(una_seq) as usize, r.0.wrapping_sub(una_seq) as usize);
                if !(from < to && to <= nxt - una) {
                    continue;
                }
                let octets = una + from..una + to;
                for (sacked, fresh) in self.sacked[octets.clone()].iter_mut().zip(&mut fresh[octets]) {
                    *fresh |= !*sacked;
                    *sacked = true;
                }
                for &(start, end) in self.runs(&self.sacked).iter().skip(self.capacity) {
                    self.sacked[start..end].fill(false);
                }
            }
            let newly_sacked = (una..nxt).filter(|&p| fresh[p] && self.sacked[p]).count();
            AckInfo { newly_sacked, dsack }
        }

        /// IsLost for every position of the window, by counting literally from the top.
        fn lost(&self, smss: usize) -> Vec<bool> {
            let mut lost = vec![false; POSITIONS];
            let (mut ranges, mut bytes) = (0, 0);
            for p in (self.una..self.nxt).rev() {
                if self.sacked[p] {
                    bytes += 1;
                    if p == self.una || !self.sacked[p - 1] {
                        ranges += 1;
                    }
                } else {
                    lost[p] = ranges >= DUP_THRESH || bytes > (DUP_THRESH - 1) * smss;
                }
            }
            lost
        }

        fn pipe(&self, smss: usize) -> usize {
            let lost = self.lost(smss);
            (self.una..self.nxt)
                .filter(|&p| !self.sacked[p])
                .map(|p| usize::from(!lost[p]) + usize::from(self.retransmitted[p]))
                .sum()
        }

        fn in_recovery(&self) -> bool {
            self.recovery_point.is_some_and(|rp| self.una < rp)
        }

        fn highest_sacked(&self) -> Option<usize> {
            (self.una..self.nxt).rev().find(|&p| self.sacked[p]).map(|p| p + 1)
        }

        fn next_seg(&self, smss: usize, can_send_new: bool) -> Option<NextSeg> {
            let new = can_send_new.then_some(NextSeg::New);
            if !self.in_recovery() {
                return new;
            }
            let lost = self.lost(smss);
            let highest = self.highest_sacked().unwrap_or(self.una);
            let free = |p: usize| !self.sacked[p] && !self.retransmitted[p];
            let from = self.high_rxt.unwrap_or(0).max(self.una);
            let hole = (from..highest).find(|&p| free(p)).map(|start| {
                let end = (start..highest.min(start + smss))
                    .find(|&p| !free(p))
                    .unwrap_or(highest.min(start + smss));
                (start, end)
            });
            let retransmit = |(s, e): (usize, usize)| NextSeg::Retransmit { seq: self.seq(s), len: e - s };
            if let Some(hole) = hole.filter(|&(s, _)| lost[s]) {
                return Some(retransmit(hole));
            }
            if new.is_some() {
                return new;
            }
            if let Some(hole) = hole {
                return Some(retransmit(hole));
            }
            if self.rescue_rxt.is_some_and(|r| self.una <= r) {
                return None;
            }
            let top = (self.una..self.nxt).rev().find(|&p| !self.sacked[p])?;
            let mut start = top;
            while start > self.una && start + smss > top + 1 && !self.sacked[start - 1] {
                start -= 1;
            }
            Some(NextSeg::Rescue { seq: self.seq(start), len: top + 1 - start })
        }

        fn mark(&mut self, start: usize, len: usize) {
            if len == 0 {
                return;
            }
            let candidate = self.high_rxt.is_none_or(|h| start >= h)
                && self.highest_sacked().is_some_and(|h| start < h)
                && !self.sacked[start]
                && !self.retransmitted[start];
            let rescue = self.recovery_point.is_some() && !self.first_pending && !candidate;
            let end = start + len;
            self.retransmitted[start..end].fill(true);
            if rescue {
                self.rescue_rxt = self.recovery_point;
                return;
            }
            self.high_rxt = Some(self.high_rxt.map_or(end, |h| h.max(end)));
            if core::mem::take(&mut self.first_pending) {
                self.rescue_rxt = Some(end);
            }
        }

        fn enter_recovery(&mut self) {
            self.recovery_point = Some(self.nxt);
            self.retransmitted.fill(false);
            self.high_rxt = None;
            self.rescue_rxt = None;
            self.first_pending = true;
        }

        fn exit_recovery(&mut self) {
            self.recovery_point = None;
            self.retransmitted.fill(false);
            self.high_rxt = None;
            self.rescue_rxt = None;
            self.first_pending = false;
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Send this many octets of new data.
        Send(usize),
        /// An ACK advancing SND.UNA by up to this many octets, with blocks given as
        /// (offset from the new SND.UNA, possibly negative, length).
        Ack(usize, Vec<(i32, usize)>),
        /// An ACK carrying arbitrary blocks.
        Garbage(Vec<(u32, u32)>),
        EnterRecovery,
        ExitRecoveryWhenDone,
        /// NextSeg, then (if the flag says so) send what it returned.
        NextSeg(bool, bool),
        /// Retransmit (offset from SND.UNA, length), clipped to the window.
        Mark(usize, usize),
    }

    fn op(marks: bool) -> impl Strategy<Value = Op> {
        let blocks = proptest::collection::vec((-40i32..440, 0usize..120), 0..=4);
        let garbage = proptest::collection::vec(any::<(u32, u32)>(), 0..=4);
        let all = prop_oneof![
            4 => (1usize..120).prop_map(Op::Send),
            6 => (prop_oneof![Just(0usize), 0usize..80], blocks).prop_map(|(a, b)| Op::Ack(a, b)),
            1 => garbage.prop_map(Op::Garbage),
            1 => Just(Op::EnterRecovery),
            1 => Just(Op::ExitRecoveryWhenDone),
            4 => any::<(bool, bool)>().prop_map(|(n, s)| Op::NextSeg(n, s)),
            2 => (0usize..400, 0usize..80).prop_map(|(o, l)| Op::Mark(o, l)),
        ];
        all.prop_filter("no retransmissions", move |op| {
            marks || !matches!(op, Op::Mark(..) | Op::NextSeg(..))
        })
    }

    /// Runs `ops` on a scoreboard and on the model, comparing every observable after each.
    fn run(origin: u32, capacity: usize, smss: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
        let mut sb = Scoreboard::new(capacity);
        let mut model = Model::new(origin, capacity);
        for op in ops {
            let (una, nxt) = (model.una, model.nxt);
            match op {
                Op::Send(n) => model.nxt = (nxt + n).min(POSITIONS - 1),
                Op::Ack(advance, blocks) => {
                    let new_una = una + advance.min(nxt - una);
                    let blocks: Vec<_> = blocks
                        .iter()
                        .map(|&(offset, len)| {
                            let left = SeqNumber(model.seq(new_una).0.wrapping_add_signed(offset));
                            (left, left + len)
                        })
                        .collect();
                    let expected = model.on_ack(new_una, nxt, &blocks);
                    let got = sb.on_ack(model.seq(new_una), model.seq(nxt), &SackBlocks::from_slice(&blocks));
                    prop_assert_eq!(got, expected);
                }
                Op::Garbage(blocks) => {
                    let blocks: Vec<_> = blocks.iter().map(|&(l, r)| (SeqNumber(l), SeqNumber(r))).collect();
                    let expected = model.on_ack(una, nxt, &blocks);
                    let got = sb.on_ack(model.seq(una), model.seq(nxt), &SackBlocks::from_slice(&blocks));
                    prop_assert_eq!(got, expected);
                }
                Op::EnterRecovery => {
                    if !model.in_recovery() {
                        model.enter_recovery();
                        sb.enter_recovery(model.seq(nxt));
                    }
                }
                Op::ExitRecoveryWhenDone => {
                    if !model.in_recovery() {
                        model.exit_recovery();
                        sb.exit_recovery();
                    }
                }
                Op::NextSeg(can_send_new, send) => {
                    let expected = model.next_seg(smss, can_send_new);
                    let got = sb.next_seg(model.seq(una), model.seq(nxt), smss, can_send_new);
                    prop_assert_eq!(got, expected);
                    match got {
                        Some(NextSeg::Retransmit { seq, len } | NextSeg::Rescue { seq, len }) if send => {
                            prop_assert!(len > 0 && len <= smss);
                            model.mark(una + (seq - model.seq(una)), len);
                            sb.mark_retransmitted(seq, len);
                        }
                        Some(NextSeg::New) if send => model.nxt = (nxt + smss).min(POSITIONS - 1),
                        _ => {}
                    }
                }
                Op::Mark(offset, len) => {
                    let start = una + offset.min(nxt - una);
                    let len = len.min(nxt - start);
                    model.mark(start, len);
                    sb.mark_retransmitted(model.seq(start), len);
                }
            }

            let (una, nxt) = (model.una, model.nxt);
            let (una_seq, nxt_seq) = (model.seq(una), model.seq(nxt));
            let expected: Vec<_> =
                model.runs(&model.sacked).iter().map(|&(s, e)| (model.seq(s), model.seq(e))).collect();
            let got: Vec<_> = sb.sacked_ranges().collect();
            prop_assert_eq!(&got, &expected);
            prop_assert!(got.len() <= capacity.max(1));
            for pair in got.windows(2) {
                prop_assert!(pair[0].1 - una_seq < pair[1].0 - una_seq, "sorted, disjoint, not adjacent");
            }
            for &(l, r) in &got {
                prop_assert!(l - una_seq < r - una_seq && r - una_seq <= nxt - una, "within the window");
            }
            prop_assert_eq!(sb.sacked_bytes(), (una..nxt).filter(|&p| model.sacked[p]).count());
            prop_assert_eq!(sb.highest_sacked(), expected.last().map(|&(_, r)| r));
            let lost = model.lost(smss);
            for p in una.saturating_sub(2)..nxt + 2 {
                let (sacked, lost) = match (una..nxt).contains(&p) {
                    true => (model.sacked[p], lost[p]),
                    false => (false, false),
                };
                prop_assert_eq!(sb.is_sacked(model.seq(p)), sacked, "is_sacked {}", p);
                prop_assert_eq!(sb.is_lost(model.seq(p), smss), lost, "is_lost {}", p);
            }
            let pipe = sb.pipe(una_seq, nxt_seq, smss);
            prop_assert_eq!(pipe, model.pipe(smss));
            prop_assert!(pipe <= 2 * (nxt - una));
            if sb.retransmitted_ranges().next().is_none() {
                prop_assert!(pipe <= nxt - una);
            }
            prop_assert_eq!(sb.in_recovery(una_seq), model.in_recovery());
            let expected: Vec<_> =
                model.runs(&model.retransmitted).iter().map(|&(s, e)| (model.seq(s), model.seq(e))).collect();
            let got: Vec<_> = sb
                .retransmitted_ranges()
                .filter_map(|(l, r)| clip(Span { start: l, end: r }, una_seq, nxt - una))
                .map(|(s, e)| (una_seq + s, una_seq + e))
                .collect();
            prop_assert_eq!(got, expected);
        }
        Ok(())
    }

    fn origin() -> impl Strategy<Value = u32> {
        prop_oneof![any::<u32>(), (0u32..3000).prop_map(|d| u32::MAX - d)]
    }

    proptest! {
        /// SACK processing alone, with small capacities: ranges match the model exactly
        /// (overflow included), stay sorted, disjoint and in the window, and pipe never
        /// exceeds the window.
        #[test]
        fn sack_blocks_match_model(
            origin in origin(),
            capacity in 0usize..6,
            smss in 1usize..64,
            ops in proptest::collection::vec(op(false), 0..60),
        ) {
            run(origin, capacity, smss, ops)?;
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Full recovery episodes: NextSeg, retransmissions, pipe and IsLost match the
        /// octet-by-octet model.
        #[test]
        fn recovery_matches_model(
            origin in origin(),
            smss in 1usize..64,
            ops in proptest::collection::vec(op(true), 0..60),
        ) {
            run(origin, 1024, smss, ops)?;
        }
    }

    proptest! {

        /// Arbitrary inputs to every method never panic, and the SACKed ranges always stay
        /// sorted, disjoint, within the last window and bounded.
        #[test]
        fn arbitrary_inputs_never_panic(
            capacity in 0usize..8,
            calls in proptest::collection::vec(
                (0u8..8, any::<u32>(), any::<u32>(), any::<usize>(),
                 proptest::collection::vec(any::<(u32, u32)>(), 0..=4)),
                0..80,
            ),
        ) {
            let mut sb = Scoreboard::new(capacity);
            for (method, a, b, n, blocks) in calls {
                let (a, b) = (SeqNumber(a), SeqNumber(b));
                match method {
                    0 => {
                        let blocks: Vec<_> = blocks.iter().map(|&(l, r)| (SeqNumber(l), SeqNumber(r))).collect();
                        sb.on_ack(a, b, &SackBlocks::from_slice(&blocks));
                        let ranges: Vec<_> = sb.sacked_ranges().map(|(l, r)| (l - a, r - a)).collect();
                        let wnd = if b.ge(a) { b - a } else { 0 };
                        prop_assert!(ranges.len() <= capacity.max(1));
                        for &(l, r) in &ranges {
                            prop_assert!(l < r && r <= wnd);
                        }
                        for pair in ranges.windows(2) {
                            prop_assert!(pair[0].1 < pair[1].0);
                        }
                    }
                    1 => {
                        let wnd = if b.ge(a) { b - a } else { 0 };
                        prop_assert!(sb.pipe(a, b, n) <= 2 * wnd);
                    }
                    2 => { sb.next_seg(a, b, n, n % 2 == 0); }
                    3 => sb.mark_retransmitted(a, n),
                    4 => sb.enter_recovery(a),
                    5 => sb.exit_recovery(),
                    6 => { sb.is_lost(a, n); sb.is_sacked(b); sb.in_recovery(a); }
                    _ => { sb.sacked_bytes(); sb.highest_sacked(); }
                }
                prop_assert!(sb.retransmitted_ranges().count() <= capacity.max(1));
            }
        }
    }
}
