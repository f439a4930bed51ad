//! SYN cookies (RFC 4987 §3.6), laid out as Linux lays them out (`net/ipv4/syncookies.c`).
//!
//! When a listener's queue of half-open connections is full, the SYN-ACK's initial
//! sequence number carries the state instead of memory, and a returning ACK that
//! acknowledges `cookie + 1` recreates it:
//!
//! ```text
//! cookie = H1(4-tuple) + ISN_peer + (count << 24) + ((H2(4-tuple, count, ISN_peer) + mss_index) mod 2^24)
//! ```
//!
//! `count` is a clock ticking once a minute; a cookie is valid for [`MAX_AGE`] ticks after
//! the one it was made in, so for two to three minutes. `H1` and `H2` are SipHash-2-4 under the stack's secret key with
//! their own domain bytes. The 24-bit check field makes a guessed ACK valid with
//! probability about 2^-22 (4 of 2^24 values decode to an MSS index).
//!
//! Unlike Linux, `H2` also covers the peer's ISN, which the ACK's sequence number returns
//! (`seq - 1`). In Linux's layout an ACK whose sequence number is off by a few still
//! decodes to a neighbouring MSS index and is taken, so the connection starts at a
//! sequence number the SYN-ACK never acknowledged: the right edge it offered moves left
//! (RFC 9293 §3.8.6) and the byte at the SYN's position reaches the application as data.
//! Here such an ACK fails the check.
//!
//! With timestamps (RFC 7323), the SYN-ACK's TSval carries the peer's window scale and
//! SACK-permitted in its low 6 bits, so a cookie connection keeps them; without
//! timestamps it has neither (RFC 4987 §3.6's known cost).

use core::fmt;
use core::hash::Hasher;
use core::net::SocketAddrV4;

use siphasher::sip::SipHasher24;

use crate::time::{Duration, Instant};
use crate::wire::tcp::MAX_WINDOW_SCALE;
use crate::wire::SeqNumber;

/// The MSS values a cookie can encode (Linux `msstab`): the most common on IPv4 paths.
/// The largest not above the peer's MSS is chosen.
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];
/// How often the cookie clock ticks.
pub const TICK: Duration = Duration::from_secs(60);
/// Ticks a cookie stays valid after the one it was made in (Linux `MAX_SYNCOOKIE_AGE`).
pub const MAX_AGE: u32 = 2;

const COUNT_BITS: u32 = 24;
const CHECK_MASK: u32 = (1 << COUNT_BITS) - 1;
const DOMAIN_H1: u8 = 0x11;
const DOMAIN_H2: u8 = 0x12;

/// Low TSval bits holding the options: bits 0-3 the peer's window scale (15: none), bit 4
/// SACK-permitted (Linux `TSBITS`, `TS_OPT_WSCALE_MASK`, `TS_OPT_SACK`).
const TS_BITS: u32 = 6;
const TS_WSCALE_MASK: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;

/// The connection parameters a valid cookie ACK gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieOptions {
    /// The MSS to use: the table value chosen when the SYN arrived.
    pub mss: u16,
    /// The peer's window scale, if its SYN offered one (timestamps only).
    pub peer_wscale: Option<u8>,
    /// The peer's SYN carried SACK-permitted (timestamps only).
    pub sack_permitted: bool,
}

/// Makes and checks cookies under one secret key.
#[derive(Clone)]
pub struct SynCookies {
    key: [u8; 16],
}

impl SynCookies {
    /// Cookies keyed with `key`, which must be secret (the stack's key, from the OS random
    /// number generator); all workers of a process share it, so a cookie made by one is
    /// checked by any.
    pub const fn new(key: [u8; 16]) -> SynCookies {
        SynCookies { key }
    }

    /// The index of the largest table MSS not above `peer_mss`, and that MSS.
    pub fn mss_index(peer_mss: u16) -> (u32, u16) {
        let index = MSS_TABLE.iter().rposition(|&mss| mss <= peer_mss).unwrap_or(0);
        (index as u32, MSS_TABLE[index])
    }

    /// The initial sequence number of a SYN-ACK answering a SYN with sequence number
    /// `peer_isn` and MSS option `peer_mss`.
    pub fn make(
        &self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        peer_isn: SeqNumber,
        peer_mss: u16,
    ) -> SeqNumber {
        let count = Self::count(now);
        let (index, _) = Self::mss_index(peer_mss);
        let check = self.hash(DOMAIN_H2, local, remote, count, peer_isn).wrapping_add(index) & CHECK_MASK;
        SeqNumber(
            self.hash(DOMAIN_H1, local, remote, 0, SeqNumber(0))
                .wrapping_add(peer_isn.0)
                .wrapping_add(count << COUNT_BITS)
                .wrapping_add(check),
        )
    }

    /// Checks the cookie an ACK returns (`ack - 1`) for the peer's sequence number `seq - 1`:
    /// the MSS it encodes, or `None` if it is forged, corrupted or too old.
    pub fn check(
        &self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        peer_isn: SeqNumber,
        cookie: SeqNumber,
    ) -> Option<u16> {
        let rest = cookie
            .0
            .wrapping_sub(self.hash(DOMAIN_H1, local, remote, 0, SeqNumber(0)))
            .wrapping_sub(peer_isn.0);
        let count = Self::count(now);
        let age = count.wrapping_sub(rest >> COUNT_BITS) & (u32::MAX >> COUNT_BITS);
        if age > MAX_AGE {
            return None;
        }
        let made = count.wrapping_sub(age);
        let index = rest.wrapping_sub(self.hash(DOMAIN_H2, local, remote, made, peer_isn)) & CHECK_MASK;
        MSS_TABLE.get(index as usize).copied()
    }

    /// The cookie clock: minutes of `now`, truncated to the 8 bits the cookie keeps.
    fn count(now: Instant) -> u32 {
        (now.total_micros() / TICK.as_micros() as u64) as u32
    }

    fn hash(&self, domain: u8, local: SocketAddrV4, remote: SocketAddrV4, count: u32, isn: SeqNumber) -> u32 {
        let mut message = [0u8; 21];
        message[0] = domain;
        message[1..5].copy_from_slice(&local.ip().octets());
        message[5..7].copy_from_slice(&local.port().to_be_bytes());
        message[7..11].copy_from_slice(&remote.ip().octets());
        message[11..13].copy_from_slice(&remote.port().to_be_bytes());
        message[13..17].copy_from_slice(&count.to_be_bytes());
        message[17..21].copy_from_slice(&isn.0.to_be_bytes());
        let mut hasher = SipHasher24::new_with_key(&self.key);
        hasher.write(&message);
        hasher.finish() as u32
    }
}

/// Never prints the key.
impl fmt::Debug for SynCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynCookies").finish_non_exhaustive()
    }
}

/// The TSval of a cookie SYN-ACK: `ts_now` with its low bits replaced by the options, and
/// never ahead of `ts_now` (Linux `cookie_init_timestamp`), so the peer's clock check and
/// our RTT samples never see a timestamp from the future.
pub fn encode_timestamp(ts_now: u32, peer_wscale: Option<u8>, sack_permitted: bool) -> u32 {
    let mut options = peer_wscale.map_or(TS_WSCALE_MASK, |shift| u32::from(shift.min(MAX_WINDOW_SCALE)));
    if sack_permitted {
        options |= TS_SACK;
    }
    let ts = (ts_now & !((1 << TS_BITS) - 1)) | options;
    if (ts.wrapping_sub(ts_now) as i32) > 0 {
        ts.wrapping_sub(1 << TS_BITS)
    } else {
        ts
    }
}

/// The options a cookie ACK's TSecr carries back (Linux `cookie_timestamp_decode`): the
/// peer's window scale (15 in the bits: none) and SACK-permitted.
pub fn decode_timestamp(tsecr: u32) -> (Option<u8>, bool) {
    let wscale = tsecr & TS_WSCALE_MASK;
    let peer_wscale = (wscale != TS_WSCALE_MASK).then_some(wscale as u8);
    (peer_wscale, tsecr & TS_SACK != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    const KEY: [u8; 16] = *b"cookie test key!";

    fn addr(a: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, a), port)
    }

    #[test]
    fn a_cookie_checks_within_its_age_and_not_after() {
        let cookies = SynCookies::new(KEY);
        let (local, remote) = (addr(1, 80), addr(2, 40000));
        let made_at = Instant::from_secs(3600);
        let cookie = cookies.make(made_at, local, remote, SeqNumber(1234), 1460);
        for later in [0, 59, 60, 179] {
            let now = made_at + Duration::from_secs(later);
            assert_eq!(cookies.check(now, local, remote, SeqNumber(1234), cookie), Some(1460), "{later} s");
        }
        // Three ticks later the cookie has expired.
        let expired = Instant::from_secs(3600 + 180);
        assert_eq!(cookies.check(expired, local, remote, SeqNumber(1234), cookie), None);
    }

    #[test]
    fn the_mss_rounds_down_to_the_table() {
        let cookies = SynCookies::new(KEY);
        let (local, remote) = (addr(1, 80), addr(2, 40000));
        let now = Instant::from_secs(10);
        for (offered, expected) in
            [(1460, 1460), (9000, 1460), (1400, 1300), (1440, 1440), (600, 536), (100, 536)]
        {
            let cookie = cookies.make(now, local, remote, SeqNumber(7), offered);
            assert_eq!(cookies.check(now, local, remote, SeqNumber(7), cookie), Some(expected), "{offered}");
        }
    }

    #[test]
    fn another_tuple_sequence_number_or_key_fails() {
        let cookies = SynCookies::new(KEY);
        let (local, remote) = (addr(1, 80), addr(2, 40000));
        let now = Instant::from_secs(10);
        let cookie = cookies.make(now, local, remote, SeqNumber(99), 1460);
        assert_eq!(cookies.check(now, local, addr(2, 40001), SeqNumber(99), cookie), None);
        assert_eq!(cookies.check(now, addr(1, 81), remote, SeqNumber(99), cookie), None);
        assert_eq!(cookies.check(now, local, remote, SeqNumber(99 + (1 << 20)), cookie), None);
        let mut other = KEY;
        other[0] ^= 1;
        assert_eq!(SynCookies::new(other).check(now, local, remote, SeqNumber(99), cookie), None);
    }

    #[test]
    fn an_ack_whose_sequence_number_is_off_by_a_few_fails() {
        // In Linux's layout an ISN off by d shifts the MSS index by -d: an ACK one byte
        // behind its SYN (found by the tcp_stateful fuzz target) decoded to the next
        // smaller MSS and opened a connection one byte early.
        let cookies = SynCookies::new(KEY);
        let (local, remote) = (addr(1, 80), addr(2, 40000));
        let now = Instant::from_secs(10);
        for mss in MSS_TABLE {
            let isn = SeqNumber(678_496_831);
            let cookie = cookies.make(now, local, remote, isn, mss);
            assert_eq!(cookies.check(now, local, remote, isn, cookie), Some(mss));
            for off in [1usize, 2, 3] {
                assert_eq!(cookies.check(now, local, remote, isn - off, cookie), None, "{mss} -{off}");
                assert_eq!(cookies.check(now, local, remote, isn + off, cookie), None, "{mss} +{off}");
            }
        }
    }

    #[test]
    fn guessed_cookies_are_rejected_nearly_always() {
        let cookies = SynCookies::new(KEY);
        let (local, remote) = (addr(1, 80), addr(2, 40000));
        let now = Instant::from_secs(10);
        let accepted = (0..200_000u32)
            .filter(|&guess| {
                let cookie = SeqNumber(guess.wrapping_mul(2_654_435_761));
                cookies.check(now, local, remote, SeqNumber(5), cookie).is_some()
            })
            .count();
        // Expected: 200,000 * 3 ticks * 4 / 2^24, about 0.14.
        assert!(accepted <= 2, "{accepted} guesses passed");
    }

    #[test]
    fn timestamps_carry_window_scale_and_sack() {
        for (wscale, sack) in
            [(None, false), (None, true), (Some(0), false), (Some(7), true), (Some(14), true)]
        {
            let ts = encode_timestamp(0x1234_5678, wscale, sack);
            assert_eq!(decode_timestamp(ts), (wscale, sack));
            assert!((0x1234_5678u32.wrapping_sub(ts) as i32) >= 0, "never ahead of the clock");
            assert!(0x1234_5678 - ts < 128);
        }
    }

    proptest! {
        #[test]
        fn every_cookie_made_checks(
            key in any::<[u8; 16]>(),
            secs in 0u64..1 << 40,
            peer_isn in any::<u32>(),
            mss in any::<u16>(),
            ports in any::<(u16, u16)>(),
            wait in 0u64..120,
        ) {
            let cookies = SynCookies::new(key);
            let (local, remote) = (addr(1, ports.0), addr(2, ports.1));
            let made = Instant::from_secs(secs);
            let cookie = cookies.make(made, local, remote, SeqNumber(peer_isn), mss);
            let checked = cookies.check(made + Duration::from_secs(wait), local, remote, SeqNumber(peer_isn), cookie);
            prop_assert_eq!(checked, Some(SynCookies::mss_index(mss).1));
        }

        #[test]
        fn the_timestamp_is_at_most_127_ms_behind(ts_now in any::<u32>(), wscale in proptest::option::of(0u8..=14), sack in any::<bool>()) {
            let ts = encode_timestamp(ts_now, wscale, sack);
            prop_assert!(ts_now.wrapping_sub(ts) < 128);
            prop_assert_eq!(decode_timestamp(ts), (wscale, sack));
        }
    }
}
