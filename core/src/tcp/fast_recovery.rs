//! Fast retransmit and fast recovery: the state RFC 5681 §3.2 keeps across duplicate
//! ACKs, with NewReno's partial acknowledgments (RFC 6582) and the recovery point that
//! SACK-based recovery (RFC 6675) shares. Which segments to send is the scoreboard's and
//! RACK's business; this is when recovery begins and ends.

use crate::wire::SeqNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FastRecovery {
    /// Duplicate ACKs since the last ACK that advanced SND.UNA.
    pub dup_acks: u32,
    /// Recovery in progress: its end (SND.MAX when it began).
    pub point: Option<SeqNumber>,
    /// RFC 6582 §3.2 "recover": SND.MAX when recovery or a timeout last began; duplicate
    /// ACKs start a new recovery only once the cumulative ACK passes it.
    pub recover: SeqNumber,
    /// NewReno (no SACK): send the first unacknowledged segment again (RFC 6582 §3.2).
    pub retransmit_head: bool,
    /// NewReno: the window inflation of fast recovery (RFC 5681 §3.2 steps 3-4).
    pub inflation: usize,
}

impl FastRecovery {
    pub fn new(iss: SeqNumber) -> FastRecovery {
        FastRecovery { dup_acks: 0, point: None, recover: iss, retransmit_head: false, inflation: 0 }
    }

    #[inline]
    pub fn active(&self) -> bool {
        self.point.is_some()
    }

    /// RFC 6582 §3.2 step 2 (and §4.1): duplicates that may stem from a timeout's
    /// go-back-N or a previous recovery (SND.UNA not past `recover`) start none.
    pub fn may_begin(&self, snd_una: SeqNumber, iss: SeqNumber) -> bool {
        snd_una.gt(self.recover) || self.recover == iss
    }

    /// RFC 5681 §3.2 steps 2-3: recovery begins, to end once SND.MAX is acknowledged; the
    /// first segment goes again.
    pub fn begin(&mut self, snd_max: SeqNumber) {
        self.point = Some(snd_max);
        self.recover = snd_max;
        self.retransmit_head = true;
    }

    /// RFC 6582 §3.2 step 3: a full acknowledgment ends recovery.
    pub fn end(&mut self) {
        self.point = None;
        self.inflation = 0;
    }

    /// RFC 6582 §3.2 step 5 (NewReno): a partial acknowledgment resends the next hole and
    /// deflates the window by what it acknowledged, adding back one segment.
    pub fn partial_ack(&mut self, acked: usize, smss: usize) {
        self.retransmit_head = true;
        self.inflation = self.inflation.saturating_sub(acked).saturating_add(smss);
    }

    /// A retransmission timeout ends recovery; what the go-back-N resends must not start
    /// another (`recover` = SND.MAX, RFC 6582 §4.1).
    pub fn on_timeout(&mut self, snd_max: SeqNumber) {
        self.end();
        self.retransmit_head = false;
        self.dup_acks = 0;
        self.recover = snd_max;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_after_a_timeout_wait_for_recover() {
        let iss = SeqNumber(100);
        let mut recovery = FastRecovery::new(iss);
        assert!(recovery.may_begin(SeqNumber(100), iss), "nothing to wait for at the start");
        recovery.on_timeout(SeqNumber(5000));
        assert!(!recovery.may_begin(SeqNumber(4000), iss));
        assert!(!recovery.may_begin(SeqNumber(5000), iss));
        assert!(recovery.may_begin(SeqNumber(5001), iss));
    }

    #[test]
    fn newreno_partial_acks_deflate_by_what_they_acknowledge() {
        let mut recovery = FastRecovery::new(SeqNumber(0));
        recovery.begin(SeqNumber(10_000));
        recovery.inflation = 3 * 1000;
        recovery.retransmit_head = false;
        recovery.partial_ack(2500, 1000);
        assert_eq!(recovery.inflation, 1500);
        assert!(recovery.retransmit_head);
        recovery.end();
        assert!(!recovery.active());
        assert_eq!(recovery.inflation, 0);
    }
}
