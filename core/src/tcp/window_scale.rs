//! The window scale option (RFC 7323 §2): the shift we offer, whether both SYNs carried
//! one, and the shifts applied to windows in each direction.

use crate::wire::tcp::MAX_WINDOW_SCALE;

/// Our window scale for a receive buffer: the smallest shift that fits it in 16 bits.
pub(super) fn window_scale_for(buffer: usize) -> u8 {
    let mut shift = 0;
    while shift < MAX_WINDOW_SCALE && (buffer >> shift) > 0xffff {
        shift += 1;
    }
    shift
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WindowScale {
    /// The scale we offer in our SYN, used once the peer agrees.
    pub offered: u8,
    /// Both SYNs carried the option (RFC 7323 §2.2).
    pub agreed: bool,
    /// Shift applied to windows the peer advertises (its scale).
    pub snd: u8,
    /// Shift applied to windows we advertise (ours), 0 unless agreed.
    pub rcv: u8,
}

impl WindowScale {
    pub fn new(offered: u8) -> WindowScale {
        WindowScale { offered, agreed: false, snd: 0, rcv: 0 }
    }

    /// The peer's SYN carried `peer` (`None`: no option, or we do not scale): RFC 7323
    /// §2.2, both sides scale only if both SYNs carried the option; §2.3, a shift above 14
    /// is taken as 14.
    pub fn negotiate(&mut self, peer: Option<u8>) {
        match peer {
            Some(shift) => {
                self.agreed = true;
                self.snd = shift.min(MAX_WINDOW_SCALE);
                self.rcv = self.offered;
            }
            None => {
                self.agreed = false;
                self.snd = 0;
                self.rcv = 0;
            }
        }
    }

    /// The peer's window field in bytes (never scaled on a SYN: the caller passes those
    /// as they are).
    #[inline]
    pub fn peer_window(&self, field: u16) -> usize {
        usize::from(field) << self.snd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_scale_only_when_both_offered() {
        let mut scale = WindowScale::new(7);
        scale.negotiate(None);
        assert_eq!((scale.agreed, scale.snd, scale.rcv), (false, 0, 0));
        scale.negotiate(Some(20));
        assert_eq!((scale.agreed, scale.snd, scale.rcv), (true, MAX_WINDOW_SCALE, 7), "capped at 14");
        assert_eq!(scale.peer_window(1000), 1000 << 14);
    }

    #[test]
    fn the_offer_is_the_smallest_shift_that_fits_the_buffer() {
        assert_eq!(window_scale_for(65_535), 0);
        assert_eq!(window_scale_for(65_536), 1);
        assert_eq!(window_scale_for(256 * 1024), 3);
        assert_eq!(window_scale_for(usize::MAX), MAX_WINDOW_SCALE);
    }
}
