//! Reed-Solomon coding of stripes: a stripe of bytes becomes k data shards plus m parity shards, and
//! any k of the k+m shards give the stripe back.
//!
//! Invariants:
//! - Shard `i` of a stripe is always at index `i`: data shards `0..k` (the stripe cut in order, the
//!   last zero-padded), then parity shards `k..k+m`.
//! - Every shard of a stripe is `shard_len(stripe_len)` bytes long, a function of the profile and the
//!   stripe length only; that length is stored nowhere else, so it must never change.
//! - Parity bytes are those of `reed-solomon-simd` (Leopard-style RS over GF(2^16)). They are an
//!   on-disk format: another library (or a future major version of this one) computes different
//!   parity, so a change of library is a data migration. `tests::parity_is_stable` guards this.
//! - Decoding with all k data shards present does no Reed-Solomon work: it concatenates.
//!
//! The choice of library was measured: see `docs/ec-library.md` and `benches/erasure.rs`.

use std::sync::Mutex;

use bytes::Bytes;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

use crate::ec_profile::EcProfile;

/// Encoders and decoders kept for reuse, process-wide (any one serves every profile and shard size
/// after a reset). Each keeps the largest work area it needed: about one stripe for an encoder, two
/// to three for a decoder (k+m rounded up to powers of two), so at most ~16 stripes in all.
const POOL_CAP: usize = 4;
static ENCODERS: Pool<ReedSolomonEncoder> = Pool::new();
static DECODERS: Pool<ReedSolomonDecoder> = Pool::new();

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
    #[error("Reed-Solomon {op} failed: {detail}")]
    Backend { op: &'static str, detail: String },
}

/// Encodes and decodes stripes for one profile. Creating and cloning one is cheap: the library's
/// encoders and decoders, with their work areas, are pooled process-wide.
#[derive(Debug, Clone)]
pub struct Codec {
    profile: EcProfile,
    k: usize,
    m: usize,
}

impl Codec {
    pub fn new(profile: EcProfile) -> Result<Self, EcError> {
        profile
            .validate()
            .map_err(|reason| EcError::InvalidProfile { profile, reason })?;
        let (k, m) = (profile.data as usize, profile.parity as usize);
        if m > 0 && !ReedSolomonEncoder::supports(k, m) {
            let reason = "not supported by the Reed-Solomon library".to_string();
            return Err(EcError::InvalidProfile { profile, reason });
        }
        Ok(Self { profile, k, m })
    }

    pub fn profile(&self) -> EcProfile {
        self.profile
    }

    /// Size of each shard for a stripe of `stripe_len` bytes: `ceil(stripe_len / k)` rounded up to
    /// even (the library works on 16-bit symbols). Never 0 for `stripe_len > 0`.
    pub fn shard_len(&self, stripe_len: usize) -> usize {
        let len = stripe_len.div_ceil(self.k);
        len.saturating_add(len & 1)
    }

    /// Splits one stripe into k data shards (the last zero-padded) followed by m parity shards, all
    /// `shard_len(stripe.len())` long. Index i of the result is shard index i.
    pub fn encode(&self, stripe: &[u8]) -> Result<Vec<Bytes>, EcError> {
        if stripe.is_empty() {
            return Err(EcError::EmptyStripe);
        }
        let (k, m) = (self.k, self.m);
        let shard_len = self.shard_len(stripe.len());
        let mut shards = Vec::with_capacity(k + m);
        for i in 0..k {
            let start = (i * shard_len).min(stripe.len());
            let end = (start + shard_len).min(stripe.len());
            let mut shard = Vec::with_capacity(shard_len);
            shard.extend_from_slice(&stripe[start..end]);
            shard.resize(shard_len, 0);
            shards.push(Bytes::from(shard));
        }
        if m > 0 {
            let parity = self.parity(&shards, shard_len)?;
            shards.extend(parity);
        }
        Ok(shards)
    }

    /// Rebuilds the original stripe of `stripe_len` bytes from shards where `None` = missing; needs
    /// at least k present. Returns exactly the original bytes.
    pub fn decode(&self, shards: &[Option<Bytes>], stripe_len: usize) -> Result<Vec<u8>, EcError> {
        let shard_len = self.check(shards, stripe_len)?;
        let k = self.k;
        if shards[..k].iter().all(Option::is_some) {
            let mut stripe = Vec::with_capacity(stripe_len);
            for shard in shards[..k].iter().flatten() {
                let take = shard.len().min(stripe_len - stripe.len());
                stripe.extend_from_slice(&shard[..take]);
            }
            return Ok(stripe);
        }
        let mut stripe = vec![0u8; stripe_len];
        for (i, shard) in shards[..k].iter().enumerate() {
            if let Some(shard) = shard {
                place(&mut stripe, i, shard_len, shard);
            }
        }
        let mut missing: Vec<usize> = (0..k).filter(|&i| shards[i].is_none()).collect();
        self.restore_data(shards, shard_len, |i, shard| {
            place(&mut stripe, i, shard_len, shard);
            missing.retain(|&j| j != i);
        })?;
        match missing.first() {
            Some(&i) => Err(missing_output("decode", i)),
            None => Ok(stripe),
        }
    }

    /// Recomputes the missing shards (data or parity) in place, for repair. Needs at least k present.
    pub fn reconstruct(&self, shards: &mut [Option<Bytes>], stripe_len: usize) -> Result<(), EcError> {
        let shard_len = self.check(shards, stripe_len)?;
        let k = self.k;
        if shards[..k].iter().any(Option::is_none) {
            let mut restored = Vec::new();
            self.restore_data(shards, shard_len, |i, shard| {
                restored.push((i, Bytes::copy_from_slice(shard)));
            })?;
            for (i, shard) in restored {
                shards[i] = Some(shard);
            }
            if let Some(i) = shards[..k].iter().position(Option::is_none) {
                return Err(missing_output("decode", i));
            }
        }
        if shards[k..].iter().any(Option::is_none) {
            let data: Vec<Bytes> = shards[..k].iter().flatten().cloned().collect();
            let parity = self.parity(&data, shard_len)?;
            for (slot, shard) in shards[k..].iter_mut().zip(parity) {
                if slot.is_none() {
                    *slot = Some(shard);
                }
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

    /// The m parity shards of k full data shards.
    fn parity(&self, data: &[Bytes], shard_len: usize) -> Result<Vec<Bytes>, EcError> {
        let (k, m) = (self.k, self.m);
        let pool = &ENCODERS;
        let mut encoder = match pool.take() {
            Some(mut encoder) => {
                encoder.reset(k, m, shard_len).map_err(backend("encode"))?;
                encoder
            }
            None => ReedSolomonEncoder::new(k, m, shard_len).map_err(backend("encode"))?,
        };
        let result = (|| {
            for shard in data {
                encoder.add_original_shard(shard).map_err(backend("encode"))?;
            }
            let out = encoder.encode().map_err(backend("encode"))?;
            Ok(out.recovery_iter().map(Bytes::copy_from_slice).collect())
        })();
        pool.give(encoder);
        result
    }

    /// Runs the decoder on the present shards (k of them at most) and hands each restored data
    /// shard to `found`. Callers have checked that a data shard is missing and that k are present.
    fn restore_data(
        &self,
        shards: &[Option<Bytes>],
        shard_len: usize,
        mut found: impl FnMut(usize, &[u8]),
    ) -> Result<(), EcError> {
        let (k, m) = (self.k, self.m);
        let pool = &DECODERS;
        let mut decoder = match pool.take() {
            Some(mut decoder) => {
                decoder.reset(k, m, shard_len).map_err(backend("decode"))?;
                decoder
            }
            None => ReedSolomonDecoder::new(k, m, shard_len).map_err(backend("decode"))?,
        };
        let result = (|| {
            let mut given = 0;
            for (i, shard) in shards[..k].iter().enumerate() {
                if let Some(shard) = shard {
                    decoder.add_original_shard(i, shard).map_err(backend("decode"))?;
                    given += 1;
                }
            }
            for (i, shard) in shards[k..].iter().enumerate() {
                if given == k {
                    break;
                }
                if let Some(shard) = shard {
                    decoder.add_recovery_shard(i, shard).map_err(backend("decode"))?;
                    given += 1;
                }
            }
            let out = decoder.decode().map_err(backend("decode"))?;
            for (i, shard) in out.restored_original_iter() {
                found(i, shard);
            }
            Ok(())
        })();
        pool.give(decoder);
        result
    }
}

/// Copies data shard `i` to its place in the stripe, without the padding.
fn place(stripe: &mut [u8], i: usize, shard_len: usize, shard: &[u8]) {
    let start = (i * shard_len).min(stripe.len());
    let end = (start + shard_len).min(stripe.len());
    stripe[start..end].copy_from_slice(&shard[..end - start]);
}

fn backend(op: &'static str) -> impl Fn(reed_solomon_simd::Error) -> EcError {
    move |e| EcError::Backend {
        op,
        detail: e.to_string(),
    }
}

fn missing_output(op: &'static str, index: usize) -> EcError {
    EcError::Backend {
        op,
        detail: format!("the library did not restore data shard {index}"),
    }
}

/// A few reusable encoders or decoders: their work areas are several MiB, too costly to allocate
/// and fault in for every stripe.
struct Pool<T>(Mutex<Vec<T>>);

impl<T> Pool<T> {
    const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    fn take(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop()
    }

    fn give(&self, item: T) {
        let mut items = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if items.len() < POOL_CAP {
            items.push(item);
        }
    }
}

#[cfg(test)]
mod tests;
