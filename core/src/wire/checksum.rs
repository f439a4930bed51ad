//! The Internet checksum (RFC 1071), its incremental update (RFC 1624) and the
//! pseudo-header sum for UDP and TCP (RFC 768, RFC 9293 §3.1).
//!
//! Values are one's-complement sums folded to 16 bits, as numbers in network byte order
//! (the value a big-endian `u16` read of the checksum field gives). A header's checksum
//! field holds the complement of the sum: `!combine(&[pseudo, data(bytes)])`.

use core::net::Ipv4Addr;

/// RFC 1071 §2(B): the sum is independent of byte order, so sum native-endian 32-bit words
/// into a 64-bit accumulator (no carry handling for up to 2^32 words) and swap once at the
/// end. Written as a flat reduction, the vectoriser widens each word into 64-bit lanes
/// (`vpmovzxdq` + `vpaddq` with AVX2) and keeps several accumulators in flight.
#[inline(always)]
fn sum_native_words(data: &[u8]) -> u64 {
    let (words, rest) = data.as_chunks::<4>();
    let mut acc = 0u64;
    for word in words {
        acc += u64::from(u32::from_ne_bytes(*word));
    }
    let mut rest = rest;
    if let Some((pair, after)) = rest.split_first_chunk::<2>() {
        acc += u64::from(u16::from_ne_bytes(*pair));
        rest = after;
    }
    if let [last] = rest {
        // RFC 1071 §4.1: an odd trailing byte is padded with a zero byte on the right.
        acc += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    acc
}

/// Adds with end-around carry, keeping the result congruent modulo 2^16 - 1.
#[inline(always)]
fn fold_add(a: u64, b: u64) -> u64 {
    let (sum, carry) = a.overflowing_add(b);
    sum + u64::from(carry)
}

/// Folds a 64-bit sum to 16 bits with end-around carries: four steps always suffice
/// (after the first the value is below 2^33, then 2^18, then 0x10004, then 2^16).
#[inline(always)]
fn fold(acc: u64) -> u16 {
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    acc as u16
}

/// Below this many bytes (headers, small segments) 64-bit words with end-around carry
/// beat setting up the vector lanes.
const SMALL: usize = 128;

/// RFC 1071 §2(B) on native-endian 64-bit words, adding each carry back at once
/// (2^64 is 1 modulo 2^16 - 1). The tail is taken as 4, 2 and 1 bytes at offsets that
/// keep every 16-bit word whole.
#[inline(always)]
fn sum_native_small(data: &[u8]) -> u64 {
    let (words, rest) = data.as_chunks::<8>();
    let mut acc = 0u64;
    for word in words {
        acc = fold_add(acc, u64::from_ne_bytes(*word));
    }
    let mut rest = rest;
    if let Some((quad, after)) = rest.split_first_chunk::<4>() {
        acc = fold_add(acc, u64::from(u32::from_ne_bytes(*quad)));
        rest = after;
    }
    if let Some((pair, after)) = rest.split_first_chunk::<2>() {
        acc = fold_add(acc, u64::from(u16::from_ne_bytes(*pair)));
        rest = after;
    }
    if let [last] = rest {
        // RFC 1071 §4.1: an odd trailing byte is padded with a zero byte on the right.
        acc = fold_add(acc, u64::from(u16::from_ne_bytes([*last, 0])));
    }
    acc
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_native_words_avx2(data: &[u8]) -> u64 {
    sum_native_words(data)
}

/// The sum of a buffer of at least [`SMALL`] bytes, vectorised where the CPU allows.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn sum_native_large(data: &[u8]) -> u64 {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: unknown, 1: plain, 2: AVX2. Detection runs once; the load is a plain read after.
    static LEVEL: AtomicU8 = AtomicU8::new(0);
    let level = match LEVEL.load(Ordering::Relaxed) {
        0 => {
            let level = if std::is_x86_feature_detected!("avx2") { 2 } else { 1 };
            LEVEL.store(level, Ordering::Relaxed);
            level
        }
        level => level,
    };
    if level == 2 {
        // SAFETY: the CPU supports AVX2, checked above.
        unsafe { sum_native_words_avx2(data) }
    } else {
        sum_native_words(data)
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
fn sum_native_large(data: &[u8]) -> u64 {
    sum_native_words(data)
}

/// The folded one's-complement sum of `data` (not complemented).
///
/// An odd-length `data` is padded with a zero byte, so only the last part of a message
/// split into several sums may have odd length.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    let sum = if data.len() < SMALL { sum_native_small(data) } else { sum_native_large(data) };
    u16::from_be_bytes(fold(sum).to_ne_bytes())
}

/// One's-complement sum of partial sums.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().fold(0u64, |acc, &s| acc + u64::from(s)))
}

/// The pseudo-header sum for UDP and TCP over IPv4: source, destination, zero, protocol
/// and the transport length (RFC 768; RFC 9293 §3.1).
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    combine(&[
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([d[0], d[1]]),
        u16::from_be_bytes([d[2], d[3]]),
        u16::from(protocol),
        length,
    ])
}

/// The sum over the pseudo-header (as [`pseudo_header`]) and `data`, folded once: equal
/// to `combine(&[pseudo_header(src, dst, protocol, length), data(data)])`. The 32-bit
/// addresses are added whole, since 2^16 is 1 modulo 2^16 - 1.
#[inline]
pub fn pseudo_header_and_data(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16, data: &[u8]) -> u16 {
    let acc = u64::from(src.to_bits())
        + u64::from(dst.to_bits())
        + u64::from(protocol)
        + u64::from(length)
        + u64::from(self::data(data));
    fold(acc)
}

/// RFC 1624 eqn. 3: the new checksum field `HC' = ~(~HC + ~m + m')` after one 16-bit word of
/// the covered data changes from `old_word` to `new_word`, without summing the data again.
pub fn update(old_checksum: u16, old_word: u16, new_word: u16) -> u16 {
    !combine(&[!old_checksum, !old_word, new_word])
}

/// The value to store in a checksum field over `parts`: the complement of their sum.
pub fn of(parts: &[u16]) -> u16 {
    !combine(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The textbook definition: big-endian 16-bit words, one at a time.
    fn reference(bytes: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            acc += u32::from(word);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        assert_eq!(data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
    }

    #[test]
    fn ipv4_header_known_answer() {
        // An IPv4 header from a capture (Wikipedia's worked example); checksum b861.
        let header = hex::decode("450000730000400040110000c0a80001c0a800c7").unwrap();
        assert_eq!(!data(&header), 0xb861);
    }

    #[test]
    fn empty_and_odd() {
        assert_eq!(data(&[]), 0);
        assert_eq!(data(&[0xab]), 0xab00);
    }

    #[test]
    fn fused_pseudo_header_sum_equals_the_combined_one() {
        let cases: [(Ipv4Addr, Ipv4Addr, u8, &[u8]); 4] = [
            (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), 6, &[0xde, 0xad, 0xbe, 0xef, 0x01]),
            (Ipv4Addr::new(255, 255, 255, 255), Ipv4Addr::new(255, 255, 255, 255), 17, &[0xff; 200]),
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 0, &[]),
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 0, &[0xff, 0xff]),
        ];
        for (src, dst, protocol, bytes) in cases {
            let len = bytes.len() as u16;
            assert_eq!(
                pseudo_header_and_data(src, dst, protocol, len, bytes),
                combine(&[pseudo_header(src, dst, protocol, len), data(bytes)])
            );
        }
    }

    #[test]
    fn every_length_with_maximal_carries() {
        // All-ones words carry out of every add, on both the small and the vector path.
        for len in 0..300 {
            let ones = vec![0xffu8; len];
            assert_eq!(data(&ones), reference(&ones), "{len} bytes of 0xff");
            let mixed: Vec<u8> = (0..len).map(|i| if i % 3 == 0 { 0x01 } else { 0xff }).collect();
            assert_eq!(data(&mixed), reference(&mixed), "{len} mixed bytes");
        }
    }

    #[test]
    fn rfc1624_update_matches_recompute() {
        let mut header = hex::decode("450000730000400040110000c0a80001c0a800c7").unwrap();
        let checksum = !data(&header);
        // Decrement the TTL (byte 8), the classic incremental update.
        let old_word = u16::from_be_bytes([header[8], header[9]]);
        header[8] -= 1;
        let new_word = u16::from_be_bytes([header[8], header[9]]);
        assert_eq!(update(checksum, old_word, new_word), !data(&header));
    }

    proptest! {
        #[test]
        fn matches_reference(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            prop_assert_eq!(data(&bytes), reference(&bytes));
        }

        #[test]
        fn split_sums_combine(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..300) {
            let cut = (cut.min(bytes.len())) & !1;
            let (a, b) = bytes.split_at(cut);
            prop_assert_eq!(combine(&[data(a), data(b)]), reference(&bytes));
        }

        #[test]
        fn fused_pseudo_header_sum_matches(src in any::<u32>(), dst in any::<u32>(), protocol in any::<u8>(),
                                           bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let (src, dst) = (Ipv4Addr::from_bits(src), Ipv4Addr::from_bits(dst));
            let len = bytes.len() as u16;
            prop_assert_eq!(
                pseudo_header_and_data(src, dst, protocol, len, &bytes),
                combine(&[pseudo_header(src, dst, protocol, len), data(&bytes)])
            );
        }

        #[test]
        fn update_is_exact(words in proptest::collection::vec(any::<u16>(), 1..64), index in 0usize..64, new in any::<u16>()) {
            let index = index % words.len();
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            let checksum = !data(&bytes);
            let mut changed = words.clone();
            changed[index] = new;
            let changed_bytes: Vec<u8> = changed.iter().flat_map(|w| w.to_be_bytes()).collect();
            let updated = update(checksum, words[index], new);
            // One's complement has two zeros (0x0000 and 0xffff); both verify.
            let recomputed = !data(&changed_bytes);
            prop_assert!(updated == recomputed || (updated ^ recomputed) == 0xffff && (updated == 0 || updated == 0xffff));
        }
    }
}
