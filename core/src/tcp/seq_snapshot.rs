//! A read-only copy of a connection's sequence-space variables (RFC 9293 §3.3.1), for
//! invariant checks in fuzz targets and tests. Not part of the stable API.

use super::connection::Connection;
use super::state::State;
use crate::wire::SeqNumber;

/// The send and receive sequence variables of one connection at one instant.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqSnapshot {
    pub state: State,
    /// Our initial sequence number.
    pub iss: SeqNumber,
    /// The peer's initial sequence number (0 until its SYN arrived).
    pub irs: SeqNumber,
    pub snd_una: SeqNumber,
    pub snd_nxt: SeqNumber,
    /// The highest sequence number sent.
    pub snd_max: SeqNumber,
    /// The peer's window, scaled, in bytes.
    pub snd_wnd: usize,
    pub rcv_nxt: SeqNumber,
    /// The right edge of the window last advertised (RFC 9293 §3.8.6: never moves left).
    pub rcv_adv: SeqNumber,
    /// The shift applied to windows we advertise.
    pub rcv_wscale: u8,
    /// The shift applied to windows the peer advertises.
    pub snd_wscale: u8,
}

impl Connection {
    /// The sequence variables as they stand.
    #[doc(hidden)]
    pub fn seq_snapshot(&self) -> SeqSnapshot {
        SeqSnapshot {
            state: self.state,
            iss: self.snd.iss,
            irs: self.rcv.irs,
            snd_una: self.snd.una,
            snd_nxt: self.snd.nxt,
            snd_max: self.snd.max,
            snd_wnd: self.snd.wnd,
            rcv_nxt: self.rcv.nxt,
            rcv_adv: self.rcv.adv,
            rcv_wscale: self.wscale.rcv,
            snd_wscale: self.wscale.snd,
        }
    }
}
