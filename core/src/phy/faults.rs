//! The one fault model of Sluice's links: the simulator's segments and the workers'
//! `ImpairedDevice` (fault injection in front of a real NIC or veth) draw what becomes of
//! each frame here, from a seeded generator, so a run with the same seed repeats.
//!
//! A frame is lost, or delivered once or twice (duplicated); each copy may be held back
//! (reordered: later frames overtake it) and may have one bit flipped (corrupted). How
//! long a held copy waits is the link's business: the simulator delays it by a virtual
//! time, a device holds it until the next frame has passed.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Probabilities of the faults, each in 0.0..=1.0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultRates {
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub corrupt: f64,
}

impl FaultRates {
    pub fn is_none(&self) -> bool {
        self.loss <= 0.0 && self.duplicate <= 0.0 && self.reorder <= 0.0 && self.corrupt <= 0.0
    }

    /// The first rate outside 0..=1 (or not a number), by name.
    pub fn invalid(&self) -> Option<(&'static str, f64)> {
        [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ]
        .into_iter()
        .find(|(_, p)| !(0.0..=1.0).contains(p))
    }
}

/// What becomes of one copy of a delivered frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyFate {
    /// Held back, so later frames overtake it.
    pub reordered: bool,
    /// The bit to flip, counted from the first bit of the frame.
    pub corrupt_bit: Option<usize>,
}

/// What becomes of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFate {
    Lost,
    /// One copy, or two when duplicated.
    Delivered {
        copies: [CopyFate; 2],
        count: usize,
    },
}

/// Draws the fate of a frame of `len` bytes: loss, then duplication, then for each copy
/// reordering and corruption, in that order (the order is part of what a seed repeats).
pub fn draw(rng: &mut ChaCha8Rng, rates: &FaultRates, len: usize) -> FrameFate {
    if chance(rng, rates.loss) {
        return FrameFate::Lost;
    }
    let count = if chance(rng, rates.duplicate) { 2 } else { 1 };
    let mut copies = [CopyFate::default(); 2];
    for copy in &mut copies[..count] {
        copy.reordered = chance(rng, rates.reorder);
        if len > 0 && chance(rng, rates.corrupt) {
            // Drawn as u64 so the stream is the same on 32- and 64-bit targets.
            copy.corrupt_bit = Some(rng.gen_range(0..len as u64 * 8) as usize);
        }
    }
    FrameFate::Delivered { copies, count }
}

/// Flips bit `bit` of `frame` (counted from the first byte's most significant bit).
pub fn flip_bit(frame: &mut [u8], bit: usize) {
    frame[bit / 8] ^= 0x80 >> (bit % 8);
}

/// `true` with probability `p`; draws nothing when the outcome is certain.
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    if p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rng.gen::<f64>() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn certain_outcomes_draw_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let clean = FaultRates::default();
        for _ in 0..10 {
            assert_eq!(
                draw(&mut rng, &clean, 100),
                FrameFate::Delivered { copies: [CopyFate::default(); 2], count: 1 }
            );
        }
        let mut fresh = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(rng.gen::<u64>(), fresh.gen::<u64>(), "a clean link leaves the stream untouched");
        let lossy = FaultRates { loss: 1.0, ..FaultRates::default() };
        assert_eq!(draw(&mut rng, &lossy, 100), FrameFate::Lost);
    }

    #[test]
    fn rates_come_out_near_their_probability() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let rates = FaultRates { loss: 0.1, duplicate: 0.1, reorder: 0.2, corrupt: 0.05 };
        let (mut lost, mut duplicated, mut reordered, mut corrupted) = (0, 0, 0, 0);
        for _ in 0..20_000 {
            match draw(&mut rng, &rates, 60) {
                FrameFate::Lost => lost += 1,
                FrameFate::Delivered { copies, count } => {
                    duplicated += usize::from(count == 2);
                    for copy in &copies[..count] {
                        reordered += usize::from(copy.reordered);
                        if let Some(bit) = copy.corrupt_bit {
                            assert!(bit < 60 * 8);
                            corrupted += 1;
                        }
                    }
                }
            }
        }
        assert!((1_700..2_300).contains(&lost), "{lost}");
        assert!((1_500..2_100).contains(&duplicated), "{duplicated}");
        assert!((3_500..4_500).contains(&reordered), "{reordered}");
        assert!((700..1_300).contains(&corrupted), "{corrupted}");
    }

    #[test]
    fn invalid_rates_are_named() {
        assert_eq!(FaultRates { reorder: 1.5, ..FaultRates::default() }.invalid(), Some(("reorder", 1.5)));
        assert_eq!(FaultRates::default().invalid(), None);
        let mut bits = [0u8; 2];
        flip_bit(&mut bits, 9);
        assert_eq!(bits, [0, 0x40]);
    }
}
