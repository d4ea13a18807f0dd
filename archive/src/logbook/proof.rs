//! Inclusion proofs: showing one entry is covered by a seal without handing over the whole log.

use serde::{Deserialize, Serialize};

use super::book::Logbook;
use super::entry::{check_tenant, Entry};
use super::error::LogbookError;
use super::hash::Hash32;
use super::key::VerifyKeys;
use super::merkle;
use super::seal::Seal;
use super::stamp::check_token;

/// Self-contained: the entry, the seal covering it and the Merkle audit path between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub entry: Entry,
    pub seal: Seal,
    /// Sibling hashes from the entry's leaf up to the root (RFC 6962 audit path).
    pub path: Vec<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inclusion proof for entry {seq} refused: {reason}")]
pub struct ProofError {
    pub seq: u64,
    pub reason: String,
}

/// Checks the entry's own hash, that the seal covers it, the path up to the seal's root, the seal's hash and its
/// token. It does not show the seal belongs to an unbroken seal chain: `verify` does that.
pub fn verify_inclusion(proof: &InclusionProof, keys: &VerifyKeys) -> Result<(), ProofError> {
    let (e, s) = (&proof.entry, &proof.seal);
    let fail = |reason: String| ProofError { seq: e.seq, reason };
    let computed = e.compute_hash().map_err(|err| fail(err.to_string()))?;
    if computed != e.hash {
        return Err(fail(format!(
            "the entry hashes to {computed}, not its stated {}",
            e.hash
        )));
    }
    if e.tenant != s.tenant || e.seq < s.first_seq || e.seq > s.last_seq {
        return Err(fail(format!(
            "seal {} of tenant {} covers {}..={}, not entry {} of tenant {}",
            s.index, s.tenant, s.first_seq, s.last_seq, e.seq, e.tenant
        )));
    }
    let size = s.last_seq - s.first_seq + 1;
    let root = merkle::root_from_path(&e.hash, e.seq - s.first_seq, size, &proof.path);
    if root != Some(s.root) {
        return Err(fail(format!(
            "the audit path does not lead to the root {} of seal {}",
            s.root, s.index
        )));
    }
    if s.compute_hash() != s.hash {
        return Err(fail(format!(
            "seal {} hashes to {}, not its stated {}",
            s.index,
            s.compute_hash(),
            s.hash
        )));
    }
    check_token(s, keys)
        .map(|_| ())
        .map_err(|reason| fail(format!("seal {} token: {reason}", s.index)))
}

impl Logbook {
    /// The proof that entry `seq` is in its seal. Fails if the entry is not sealed yet.
    pub async fn prove(&self, tenant: &str, seq: u64) -> Result<InclusionProof, LogbookError> {
        check_tenant(tenant)?;
        let store = self.store();
        let head = store.head(tenant).await?.map_or(0, |(h, _)| h.seq);
        if seq == 0 || seq > head {
            return Err(LogbookError::NoSuchEntry {
                tenant: tenant.into(),
                seq,
                head,
            });
        }
        let last = store.last_seal(tenant).await?;
        let last_sealed = last.as_ref().map_or(0, |s| s.last_seq);
        let not_sealed = || LogbookError::NotSealed {
            tenant: tenant.into(),
            seq,
            last_sealed,
        };
        let last = last.filter(|s| seq <= s.last_seq).ok_or_else(not_sealed)?;
        // Seals cover consecutive ranges in index order: binary search by index, one read per step.
        let (mut lo, mut hi) = (1u64, last.index);
        let seal = loop {
            if lo > hi {
                return Err(LogbookError::Broken {
                    tenant: tenant.into(),
                    seq,
                    reason: "no seal covers this entry although a later one exists".into(),
                });
            }
            let mid = lo + (hi - lo) / 2;
            let s = match store.seals(tenant, mid, 1).await?.pop() {
                Some(s) if s.index == mid => s,
                _ => {
                    return Err(LogbookError::Broken {
                        tenant: tenant.into(),
                        seq,
                        reason: format!("seal {mid} is missing"),
                    })
                }
            };
            if seq < s.first_seq {
                hi = mid - 1;
            } else if seq > s.last_seq {
                lo = mid + 1;
            } else {
                break s;
            }
        };
        let hashes = self.checked_hashes(tenant, seal.first_seq, seal.last_seq).await?;
        if merkle::root(&hashes) != Some(seal.root) {
            return Err(LogbookError::Broken {
                tenant: tenant.into(),
                seq,
                reason: format!("the entries of seal {} no longer hash to its root", seal.index),
            });
        }
        let index = (seq - seal.first_seq) as usize;
        let path = merkle::audit_path(&hashes, index).unwrap_or_default();
        let entry = store
            .entries(tenant, seq, 1)
            .await?
            .into_iter()
            .find(|e| e.seq == seq)
            .ok_or(LogbookError::NoSuchEntry {
                tenant: tenant.into(),
                seq,
                head,
            })?;
        Ok(InclusionProof { entry, seal, path })
    }
}
