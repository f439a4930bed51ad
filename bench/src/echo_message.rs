//! The messages the echo load clients send: numbered, so a stale or misplaced echo is caught.
//!
//! A message of `size` bytes carries its sequence number in its first 8 bytes (little
//! endian, cut short if `size` < 8); byte `i` after that is `i as u8`. The content follows
//! from the number, so a client checks an echo without keeping a copy of what it sent.

/// Writes message `sequence` into `buf` (its whole length).
pub fn fill(buf: &mut [u8], sequence: u64) {
    let seq = sequence.to_le_bytes();
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte = seq.get(i).copied().unwrap_or(i as u8);
    }
}

/// Whether `echo` is exactly message `sequence` of `echo.len()` bytes.
pub fn matches(echo: &[u8], sequence: u64) -> bool {
    let seq = sequence.to_le_bytes();
    echo.iter().enumerate().all(|(i, &byte)| byte == seq.get(i).copied().unwrap_or(i as u8))
}

/// The sequence number in a message of at least 8 bytes.
pub fn sequence(message: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(message.get(..8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_message_matches_its_own_number_only() {
        let mut buf = [0u8; 20];
        fill(&mut buf, 0x0102_0304_0506_0708);
        assert_eq!(&buf[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&buf[8..11], &[8, 9, 10]);
        assert!(matches(&buf, 0x0102_0304_0506_0708));
        assert!(!matches(&buf, 0x0102_0304_0506_0709));
        assert_eq!(sequence(&buf), Some(0x0102_0304_0506_0708));
    }

    #[test]
    fn a_short_message_keeps_the_low_bytes_of_its_number() {
        let mut buf = [0u8; 3];
        fill(&mut buf, 0x0a0b0c);
        assert_eq!(buf, [0x0c, 0x0b, 0x0a]);
        assert!(matches(&buf, 0x0a0b0c));
        assert_eq!(sequence(&buf), None);
    }

    #[test]
    fn a_corrupted_byte_after_the_number_is_caught() {
        let mut buf = [0u8; 64];
        fill(&mut buf, 7);
        buf[40] ^= 1;
        assert!(!matches(&buf, 7));
    }
}
