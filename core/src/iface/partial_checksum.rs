//! Diagnosing TCP and UDP checksums left to an offload that never ran.
//!
//! A sender with TX checksum offload writes only the pseudo-header sum into the checksum
//! field and leaves the rest to the NIC (Linux `CHECKSUM_PARTIAL`). Between a veth pair
//! there is no NIC: a kernel peer's frames reach an AF_XDP socket exactly like that. Such a
//! frame fails verification like a corrupted one, but the cure is on the sender, so it is
//! counted apart (`partial_checksum`) and the fix is logged once per process.

use core::sync::atomic::{AtomicBool, Ordering};

use super::stats::DropReason;
use crate::wire::checksum;
use crate::wire::{IpProtocol, Ipv4Addr, Ipv4Repr};

/// Whether the warning has been logged in this process.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Whether `field`, the checksum field of a TCP or UDP header that failed verification,
/// holds just the pseudo-header sum (RFC 768, RFC 9293 §3.1) of `protocol` and `length`
/// bytes from `src` to `dst`. Both one's-complement zeros (0x0000, 0xffff) compare equal.
pub fn holds_pseudo_header_sum(field: u16, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> bool {
    let pseudo = checksum::pseudo_header(src, dst, protocol, length);
    let normal = |sum: u16| if sum == 0xffff { 0 } else { sum };
    normal(field) == normal(pseudo)
}

/// The drop reason for a TCP or UDP segment whose checksum failed: `partial_checksum` when
/// the field holds just the pseudo-header sum (and the fix is logged once), else `general`.
pub(crate) fn drop_reason(
    field: u16,
    ip: &Ipv4Repr,
    protocol: IpProtocol,
    len: u16,
    general: DropReason,
) -> DropReason {
    if holds_pseudo_header_sum(field, ip.src_addr, ip.dst_addr, protocol.into(), len) {
        warn_once(ip.src_addr);
        DropReason::PartialChecksum
    } else {
        general
    }
}

/// Logs, once per process, that `src` sends partial checksums and which command fixes it.
pub fn warn_once(src: Ipv4Addr) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            %src,
            "dropping TCP/UDP frames whose checksum field holds only the pseudo-header sum: the sender \
             leaves checksums to a TX offload that never ran (a veth peer does by default); switch it off \
             on the sending interface with `ethtool -K PEER tx off` (counted as drop partial_checksum)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

    #[test]
    fn the_pseudo_header_sum_is_recognised_and_a_full_checksum_is_not() {
        let pseudo = checksum::pseudo_header(SRC, DST, 6, 40);
        assert!(holds_pseudo_header_sum(pseudo, SRC, DST, 6, 40));
        assert!(!holds_pseudo_header_sum(pseudo, SRC, DST, 6, 41), "another length");
        assert!(!holds_pseudo_header_sum(pseudo, SRC, DST, 17, 40), "another protocol");
        assert!(!holds_pseudo_header_sum(pseudo ^ 0x0100, SRC, DST, 6, 40));
    }

    #[test]
    fn both_zeros_compare_equal() {
        // 0xffff - 0x0a00 - 0x0002 - 0x0a00 - 0x0001 - 6 - len ≡ 0: a sum of one's-complement zero.
        let len = 0xffff - 0x0a00 - 0x0002 - 0x0a00 - 0x0001 - 6;
        assert_eq!(checksum::pseudo_header(SRC, DST, 6, len), 0xffff);
        assert!(holds_pseudo_header_sum(0, SRC, DST, 6, len));
        assert!(holds_pseudo_header_sum(0xffff, SRC, DST, 6, len));
    }
}
