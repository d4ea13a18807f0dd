//! Reed-Solomon coding of stripes: a stripe of bytes becomes k data shards plus m parity shards, and
//! any k of the k+m shards give the stripe back.
//!
//! Invariants:
//! - Shard `i` of a stripe is always at index `i`: data shards `0..k` (the stripe cut in order, the
//!   last zero-padded), then parity shards `k..k+m`.
//! - Every shard of a stripe is `shard_len(stripe_len)` = ceil(stripe_len / k) bytes long, a function
//!   of the profile and the stripe length only; that length is stored nowhere else.
//! - Parity bytes are those of `reed-solomon-erasure` (`galois_8`: systematic Vandermonde-derived RS
//!   over GF(2^8), the Backblaze / klauspost construction). They are an on-disk format: another
//!   library computes different parity, so a change of library is a data migration.
//!   `tests::parity_is_stable` guards this.
//! - Decoding with all k data shards present does no Reed-Solomon work: it concatenates.
//!
//! The library was chosen by measurement: see `docs/ec-library.md` and `benches/erasure.rs`.

use std::sync::Arc;

use bytes::Bytes;
use reed_solomon_erasure::galois_8::ReedSolomon;

use crate::ec_profile::EcProfile;

#[derive(Debug, thiserror::Error)]
pub enum EcError {
    #[error("invalid EC profile {profile}: {reason}")]
    InvalidProfile { profile: EcProfile, reason: String },
    #[error("a stripe must hold at least one byte")]
    EmptyStripe,
    #[error("a {profile} stripe has {expected} shards, but {got} were given")]
    WrongShardCount {
        profile: EcProfile,
        expected: usize,
        got: usize,
    },
    #[error("shard {index} is {got} bytes, but a {stripe_len}-byte stripe in {profile} has {expected}-byte shards")]
    WrongShardLength {
        profile: EcProfile,
        index: usize,
        stripe_len: usize,
        expected: usize,
        got: usize,
    },
    #[error("too few shards to rebuild a {profile} stripe: {present} present, {needed} needed")]
    TooFewShards {
        profile: EcProfile,
        present: usize,
        needed: usize,
    },
    #[error("Reed-Solomon {op} failed: {source}")]
    Backend {
        op: &'static str,
        source: reed_solomon_erasure::Error,
    },
}

/// Encodes and decodes stripes for one profile. Cheap to create (a k×(k+m) matrix) and to clone.
#[derive(Clone)]
pub struct Codec {
    profile: EcProfile,
    k: usize,
    m: usize,
    /// `None` for k+0 (plain striping: the library wants at least one parity shard).
    rs: Option<Arc<ReedSolomon>>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec").field("profile", &self.profile).finish()
    }
}

impl Codec {
    pub fn new(profile: EcProfile) -> Result<Self, EcError> {
        profile
            .validate()
            .map_err(|reason| EcError::InvalidProfile { profile, reason })?;
        let (k, m) = (profile.data as usize, profile.parity as usize);
        let rs = match m {
            0 => None,
            _ => Some(Arc::new(ReedSolomon::new(k, m).map_err(|e| {
                let reason = format!("the Reed-Solomon library refuses it: {e}");
                EcError::InvalidProfile { profile, reason }
            })?)),
        };
        Ok(Self { profile, k, m, rs })
    }

    pub fn profile(&self) -> EcProfile {
        self.profile
    }

    /// Size of each shard for a stripe of `stripe_len` bytes: `ceil(stripe_len / k)` (the library
    /// takes any length). Never 0 for `stripe_len > 0`.
    pub fn shard_len(&self, stripe_len: usize) -> usize {
        stripe_len.div_ceil(self.k)
    }

    /// Splits one stripe into k data shards (the last zero-padded) followed by m parity shards, all
    /// `shard_len(stripe.len())` long. Index i of the result is shard index i.
    pub fn encode(&self, stripe: &[u8]) -> Result<Vec<Bytes>, EcError> {
        self.encode_owned(Bytes::copy_from_slice(stripe))
    }

    /// As [`Codec::encode`], without copying: a data shard that needs no padding is a slice of
    /// `stripe`, which then lives until the last of them is dropped.
    pub fn encode_owned(&self, stripe: Bytes) -> Result<Vec<Bytes>, EcError> {
        if stripe.is_empty() {
            return Err(EcError::EmptyStripe);
        }
        let shard_len = self.shard_len(stripe.len());
        let data: Vec<Bytes> = (0..self.k)
            .map(|i| {
                let start = (i * shard_len).min(stripe.len());
                let end = (start + shard_len).min(stripe.len());
                if end - start == shard_len {
                    return stripe.slice(start..end);
                }
                let mut shard = Vec::with_capacity(shard_len);
                shard.extend_from_slice(&stripe[start..end]);
                shard.resize(shard_len, 0);
                Bytes::from(shard)
            })
            .collect();
        let mut parity: Vec<Vec<u8>> = (0..self.m).map(|_| vec![0; shard_len]).collect();
        if let Some(rs) = &self.rs {
            rs.encode_sep(&data, &mut parity).map_err(backend("encode"))?;
        }
        Ok(data.into_iter().chain(parity.into_iter().map(Bytes::from)).collect())
    }

    /// Rebuilds the original stripe of `stripe_len` bytes from shards where `None` = missing; needs
    /// at least k present. Returns exactly the original bytes.
    pub fn decode(&self, shards: &[Option<Bytes>], stripe_len: usize) -> Result<Vec<u8>, EcError> {
        let shard_len = self.check(shards, stripe_len)?;
        let (data, parity) = shards.split_at(self.k);
        // The data shards end to end, zeros where one is missing; the padding is cut at the end.
        let mut stripe = Vec::with_capacity(self.k * shard_len);
        for shard in data {
            match shard {
                Some(shard) => stripe.extend_from_slice(shard),
                None => stripe.resize(stripe.len() + shard_len, 0),
            }
        }
        let missing = data.iter().filter(|s| s.is_none()).count();
        // With no parity (`rs` is None), `check` let through only complete stripes.
        if let Some(rs) = self.rs.as_ref().filter(|_| missing > 0) {
            // The library wants every input mutable: copy the `missing` parity shards it needs.
            let mut inputs: Vec<Vec<u8>> = parity.iter().flatten().take(missing).map(|s| s.to_vec()).collect();
            let mut inputs = inputs.iter_mut();
            let mut slots: Vec<(&mut [u8], bool)> = stripe
                .chunks_mut(shard_len)
                .zip(data)
                .map(|(slot, shard)| (slot, shard.is_some()))
                .collect();
            for shard in parity {
                match shard.as_ref().and_then(|_| inputs.next()) {
                    Some(input) => slots.push((input.as_mut_slice(), true)),
                    None => slots.push((&mut [], false)),
                }
            }
            rs.reconstruct_data(&mut slots).map_err(backend("decode"))?;
        }
        stripe.truncate(stripe_len);
        Ok(stripe)
    }

    /// Recomputes the missing shards (data or parity) in place, for repair. Needs at least k present.
    pub fn reconstruct(&self, shards: &mut [Option<Bytes>], stripe_len: usize) -> Result<(), EcError> {
        let shard_len = self.check(shards, stripe_len)?;
        let Some(rs) = &self.rs else {
            return Ok(()); // with no parity, `check` let through only complete stripes
        };
        if shards.iter().all(Option::is_some) {
            return Ok(());
        }
        // The library wants every shard mutable: copy the present ones (repair is not a hot path).
        let mut slots: Vec<(Vec<u8>, bool)> = shards
            .iter()
            .map(|shard| match shard {
                Some(shard) => (shard.to_vec(), true),
                None => (vec![0; shard_len], false),
            })
            .collect();
        rs.reconstruct(&mut slots).map_err(backend("reconstruct"))?;
        for (shard, (rebuilt, _)) in shards.iter_mut().zip(slots) {
            if shard.is_none() {
                *shard = Some(Bytes::from(rebuilt));
            }
        }
        Ok(())
    }

    /// Checks the shard count, the present shards' lengths and that at least k are present; returns
    /// the shard length.
    fn check(&self, shards: &[Option<Bytes>], stripe_len: usize) -> Result<usize, EcError> {
        let (profile, k, m) = (self.profile, self.k, self.m);
        if stripe_len == 0 {
            return Err(EcError::EmptyStripe);
        }
        if shards.len() != k + m {
            return Err(EcError::WrongShardCount {
                profile,
                expected: k + m,
                got: shards.len(),
            });
        }
        let expected = self.shard_len(stripe_len);
        let mut present = 0;
        for (index, shard) in shards.iter().enumerate() {
            if let Some(shard) = shard {
                if shard.len() != expected {
                    return Err(EcError::WrongShardLength {
                        profile,
                        index,
                        stripe_len,
                        expected,
                        got: shard.len(),
                    });
                }
                present += 1;
            }
        }
        if present < k {
            return Err(EcError::TooFewShards {
                profile,
                present,
                needed: k,
            });
        }
        Ok(expected)
    }
}

fn backend(op: &'static str) -> impl Fn(reed_solomon_erasure::Error) -> EcError {
    move |source| EcError::Backend { op, source }
}

#[cfg(test)]
mod tests;
