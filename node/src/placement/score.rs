//! Per-object pseudo-random scores of nodes and sites.
//!
//! Every node must compute the same placement, so the scores are bit-identical on every platform
//! and every version: the randomness comes from blake3 (a fixed function, unlike `std`'s hashers),
//! and the logarithm of the weighted rendezvous score is computed here with IEEE-754 `+ - * /` only,
//! which are correctly rounded everywhere, instead of `f64::ln`, whose last bit depends on the libm.
//! Changing anything in this file moves data: the golden test in `tests.rs` pins the output.

/// blake3 key-derivation contexts: domain separation between the two scores, versioned.
const NODE_CONTEXT: &str = "archipel 2024 placement node score v1";
const SITE_CONTEXT: &str = "archipel 2024 placement site score v1";

/// Weighted rendezvous score of `node_id` for this object: `capacity / -ln(u)` with u uniform in
/// (0, 1). `-ln(u)` is exponentially distributed, so the node with the highest score is node i with
/// probability `capacity_i / sum(capacity)`.
pub(super) fn node_score(object_id: &[u8; 16], node_id: u64, capacity_bytes: u64) -> f64 {
    let u = unit_interval(hash(NODE_CONTEXT, object_id, &node_id.to_le_bytes()));
    capacity_bytes as f64 / neg_ln(u)
}

/// Unweighted rendezvous score of a site for this object, used to break ties between sites.
pub(super) fn site_score(object_id: &[u8; 16], site: &str) -> u64 {
    hash(SITE_CONTEXT, object_id, site.as_bytes())
}

fn hash(context: &str, object_id: &[u8; 16], tail: &[u8]) -> u64 {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    hasher.update(object_id);
    hasher.update(tail);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Maps 64 random bits to an odd multiple of 2^-53 in (0, 1): exact, never 0 nor 1.
pub(super) fn unit_interval(bits: u64) -> f64 {
    let odd = ((bits >> 12) << 1) | 1; // < 2^53, so exactly representable
    odd as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `-ln(u)` for u in (0, 1), from basic operations only. u = f * 2^e with f in [sqrt(1/2), sqrt(2)),
/// ln(f) = 2 atanh(z) with z = (f - 1) / (f + 1), |z| < 0.172, summed to 14 terms (error < 1e-16).
pub(super) fn neg_ln(u: f64) -> f64 {
    debug_assert!(u > 0.0 && u < 1.0 && u.is_normal());
    let bits = u.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut f = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if f > std::f64::consts::SQRT_2 {
        f *= 0.5;
        exponent += 1;
    }
    let z = (f - 1.0) / (f + 1.0);
    let z2 = z * z;
    let mut series = 0.0;
    for n in (0..14u32).rev() {
        series = series * z2 + 1.0 / f64::from(2 * n + 1);
    }
    -(exponent as f64 * std::f64::consts::LN_2 + 2.0 * z * series)
}
