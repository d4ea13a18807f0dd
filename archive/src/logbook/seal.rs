//! Seals: a Merkle root over a range of entries, chained to the previous seal and time-stamped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::canonical;
use super::hash::Hash32;
use super::time;

/// Prefix of the signed/time-stamped bytes, so a seal signature can never be replayed as anything else.
pub const SEAL_STATEMENT_PREFIX: &[u8] = b"archipel-logbook-seal-v1\n";

/// Evidence of when a seal existed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SealToken {
    /// Ed25519 signature by the cluster's seal key over the seal statement. The time is the cluster's own
    /// claim: this is NOT a qualified timestamp, only proof that the key holder saw this root.
    ClusterSigned { key_id: String, signature: String },
    /// An RFC 3161 TimeStampToken (DER, hex-encoded here) whose messageImprint is SHA-256 of the seal statement.
    Rfc3161 { tsa_url: String, token_der: String },
}

impl SealToken {
    fn to_value(&self) -> Value {
        match self {
            SealToken::ClusterSigned { key_id, signature } => {
                json!({"kind": "cluster-signed", "key_id": key_id, "signature": signature})
            }
            SealToken::Rfc3161 { tsa_url, token_der } => {
                json!({"kind": "rfc3161", "tsa_url": tsa_url, "token_der": token_der})
            }
        }
    }
}

/// A sealed range `first_seq..=last_seq` of one tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    pub tenant: String,
    /// 1-based and dense within a tenant.
    pub index: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    /// Merkle root (RFC 6962) over the hashes of entries `first_seq..=last_seq`.
    pub root: Hash32,
    /// `hash` of seal `index - 1`, zero for the first seal.
    pub prev_seal_hash: Hash32,
    #[serde(with = "time")]
    pub time: DateTime<Utc>,
    pub token: SealToken,
    /// SHA-256 of the canonical JSON of every other field (the token as an object).
    pub hash: Hash32,
}

/// The part of a seal that its token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealStatement {
    pub tenant: String,
    pub index: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub root: Hash32,
    pub prev_seal_hash: Hash32,
    pub time: DateTime<Utc>,
}

impl SealStatement {
    /// `SEAL_STATEMENT_PREFIX` followed by the canonical JSON of the statement's fields.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let v = json!({
            "tenant": self.tenant,
            "index": self.index,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "root": self.root.to_hex(),
            "prev_seal_hash": self.prev_seal_hash.to_hex(),
            "time": time::format(&self.time),
        });
        let mut out = SEAL_STATEMENT_PREFIX.to_vec();
        // Only strings and integers: encoding cannot fail.
        let _ = canonical::encode_into(&v, "$", &mut out);
        out
    }

    /// SHA-256 of `signed_bytes`: the RFC 3161 messageImprint.
    pub fn digest(&self) -> Hash32 {
        Hash32::of(&self.signed_bytes())
    }

    /// The finished seal once a token was obtained.
    pub fn into_seal(self, token: SealToken) -> Seal {
        let mut seal = Seal {
            tenant: self.tenant,
            index: self.index,
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            root: self.root,
            prev_seal_hash: self.prev_seal_hash,
            time: self.time,
            token,
            hash: Hash32::ZERO,
        };
        seal.hash = seal.compute_hash();
        seal
    }
}

impl Seal {
    pub fn statement(&self) -> SealStatement {
        SealStatement {
            tenant: self.tenant.clone(),
            index: self.index,
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            root: self.root,
            prev_seal_hash: self.prev_seal_hash,
            time: self.time,
        }
    }

    fn hashed_object(&self) -> Value {
        json!({
            "tenant": self.tenant,
            "index": self.index,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "root": self.root.to_hex(),
            "prev_seal_hash": self.prev_seal_hash.to_hex(),
            "time": time::format(&self.time),
            "token": self.token.to_value(),
        })
    }

    /// Recomputes what `hash` must equal.
    pub fn compute_hash(&self) -> Hash32 {
        // Only strings and integers: encoding cannot fail.
        Hash32::of(&canonical::encode(&self.hashed_object()).unwrap_or_default())
    }

    /// The export line: canonical JSON of all fields.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        let mut v = self.hashed_object();
        if let Value::Object(map) = &mut v {
            map.insert("hash".into(), Value::String(self.hash.to_hex()));
        }
        canonical::encode(&v).unwrap_or_default()
    }
}
