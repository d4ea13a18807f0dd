//! Object contents: sizes and bytes derived from the seed, so nothing needs to be kept.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const MIN_SIZE: u64 = 1 << 10;
pub const MAX_SIZE: u64 = 8 << 20;
/// Objects up to this size are stored inline (the cluster's default `inline_max`).
pub const INLINE_MAX: u64 = 4 << 10;

/// 1 KiB..8 MiB: a third inline (≤ 4 KiB), the rest log-uniform up to 8 MiB.
pub fn size(rng: &mut ChaCha8Rng) -> u64 {
    if rng.gen_bool(0.33) {
        rng.gen_range(MIN_SIZE..=INLINE_MAX)
    } else {
        let lo = (INLINE_MAX as f64 + 1.0).ln();
        let hi = (MAX_SIZE as f64).ln();
        (rng.gen_range(lo..hi).exp() as u64).clamp(INLINE_MAX + 1, MAX_SIZE)
    }
}

pub fn bytes(seed: u64, op: u64, size: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ op.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut v = vec![0u8; usize::try_from(size).unwrap_or(0)];
    rng.fill_bytes(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_in_range_and_some_are_inline() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let sizes: Vec<u64> = (0..1000).map(|_| size(&mut rng)).collect();
        assert!(sizes.iter().all(|s| (MIN_SIZE..=MAX_SIZE).contains(s)));
        assert!(sizes.iter().any(|s| *s <= INLINE_MAX));
        assert!(sizes.iter().any(|s| *s > 1 << 20));
    }

    #[test]
    fn bytes_are_deterministic() {
        assert_eq!(bytes(5, 9, 100), bytes(5, 9, 100));
        assert_ne!(bytes(5, 9, 100), bytes(5, 10, 100));
    }
}
