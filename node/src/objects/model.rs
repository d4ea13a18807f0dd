//! What the object store keeps in the metadata keyspace: namespaces and object manifests.

use serde::{Deserialize, Serialize};

use crate::ec_profile::EcProfile;
use crate::shards::ObjectId;

pub use crate::sys_keys::{
    NS_COLLECTED, NS_DAMAGED, NS_LOST, NS_MANIFEST_PREFIX, NS_NAMESPACES, NS_OBJECT_IDS, NS_UPLOADS,
};

pub const MAX_OBJECT_KEY_BYTES: usize = 1024;
pub const MAX_NAMESPACE_NAME: usize = 63;

pub fn manifest_ns(namespace: &str) -> String {
    format!("{NS_MANIFEST_PREFIX}{namespace}")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NamespaceConfig {
    pub name: String,
    /// None: the cluster's default profile for the layout at write time.
    pub profile: Option<EcProfile>,
    /// Write-once-read-many retention; 0 = not WORM.
    pub worm_retention_secs: u64,
    pub created_at_ms: u64,
    /// Encryption at rest: the namespace's data key, wrapped under its owner's KEK. None: objects
    /// are stored in the clear. Absent from records written before encryption existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<crate::crypto::WrappedKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardRef {
    pub index: u32,
    pub node_id: u64,
    /// BLAKE3 of the shard file's stripe table.
    pub table_hash: [u8; 32],
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Storage {
    /// Small objects live in the manifest itself, replicated by Raft to every node.
    Inline(#[serde(with = "serde_bytes_compat")] Vec<u8>),
    Sharded {
        profile: EcProfile,
        stripe_size: u64,
        shards: Vec<ShardRef>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub namespace: String,
    pub key: String,
    pub object_id: ObjectId,
    pub size: u64,
    pub blake3: [u8; 32],
    pub created_at_ms: u64,
    /// 0 when the namespace is not WORM.
    pub retain_until_ms: u64,
    pub storage: Storage,
    /// Set when the stored bytes (shards or inline data) are sealed with the namespace's data key;
    /// `size` and `blake3` are always those of the plaintext.
    #[serde(default)]
    pub sealed: Option<Sealing>,
}

/// How an object's bytes are sealed (docs/encryption.md).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Sealing {
    /// The generation of the namespace data key that sealed it.
    pub key_generation: u32,
}

impl Manifest {
    pub fn stripe_count(&self) -> u64 {
        match &self.storage {
            Storage::Inline(_) => 0,
            Storage::Sharded { stripe_size, .. } => self.size.div_ceil(*stripe_size).max(1),
        }
    }

    /// Bytes each stripe adds when stored: the AEAD tag when sealed.
    pub fn stripe_overhead(&self) -> u64 {
        if self.sealed.is_some() {
            crate::crypto::TAG_LEN as u64
        } else {
            0
        }
    }

    /// Plaintext bytes of stripe `stripe`.
    pub fn plain_stripe_len(&self, stripe: u64) -> u64 {
        match &self.storage {
            Storage::Inline(_) => self.size,
            Storage::Sharded { stripe_size, .. } => (*stripe_size).min(self.size - stripe * stripe_size),
        }
    }

    /// Bytes of stripe `stripe` as erasure-coded (sealed when the object is encrypted).
    pub fn stored_stripe_len(&self, stripe: u64) -> usize {
        (self.plain_stripe_len(stripe) + self.stripe_overhead()) as usize
    }

    /// The largest stored stripe: what shard lengths are computed from.
    pub fn stored_stripe_size(&self) -> usize {
        match &self.storage {
            Storage::Inline(_) => 0,
            Storage::Sharded { stripe_size, .. } => (*stripe_size + self.stripe_overhead()) as usize,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Plain data: bincode cannot fail on it.
        bincode::serialize(&wire::Manifest::from(self.clone())).unwrap_or_default()
    }

    pub fn decode(raw: &[u8]) -> Result<Self, String> {
        bincode::deserialize::<wire::Manifest>(raw)
            .map(Self::from)
            .map_err(|e| format!("unreadable manifest: {e}"))
    }
}

/// The bincode layout of manifests in Raft. Bincode is positional, so a field cannot simply be
/// added: encrypted objects use storage variants appended after the two original ones. Manifests
/// written before encryption existed decode unchanged, unencrypted ones are still written byte for
/// byte as before, and a node too old to know encryption refuses an encrypted manifest (unknown
/// variant) instead of serving ciphertext as data.
mod wire {
    use serde::{Deserialize, Serialize};

    use super::{serde_bytes_compat, Sealing, ShardRef};
    use crate::ec_profile::EcProfile;
    use crate::shards::ObjectId;

    #[derive(Serialize, Deserialize)]
    pub(super) struct Manifest {
        namespace: String,
        key: String,
        object_id: ObjectId,
        size: u64,
        blake3: [u8; 32],
        created_at_ms: u64,
        retain_until_ms: u64,
        storage: Storage,
    }

    #[derive(Serialize, Deserialize)]
    enum Storage {
        Inline(#[serde(with = "serde_bytes_compat")] Vec<u8>),
        Sharded {
            profile: EcProfile,
            stripe_size: u64,
            shards: Vec<ShardRef>,
        },
        SealedInline {
            sealing: Sealing,
            #[serde(with = "serde_bytes_compat")]
            data: Vec<u8>,
        },
        SealedSharded {
            sealing: Sealing,
            profile: EcProfile,
            stripe_size: u64,
            shards: Vec<ShardRef>,
        },
    }

    impl From<super::Manifest> for Manifest {
        fn from(m: super::Manifest) -> Self {
            let storage = match (m.storage, m.sealed) {
                (super::Storage::Inline(data), None) => Storage::Inline(data),
                (super::Storage::Inline(data), Some(sealing)) => Storage::SealedInline { sealing, data },
                (
                    super::Storage::Sharded {
                        profile,
                        stripe_size,
                        shards,
                    },
                    None,
                ) => Storage::Sharded {
                    profile,
                    stripe_size,
                    shards,
                },
                (
                    super::Storage::Sharded {
                        profile,
                        stripe_size,
                        shards,
                    },
                    Some(sealing),
                ) => Storage::SealedSharded {
                    sealing,
                    profile,
                    stripe_size,
                    shards,
                },
            };
            Self {
                namespace: m.namespace,
                key: m.key,
                object_id: m.object_id,
                size: m.size,
                blake3: m.blake3,
                created_at_ms: m.created_at_ms,
                retain_until_ms: m.retain_until_ms,
                storage,
            }
        }
    }

    impl From<Manifest> for super::Manifest {
        fn from(m: Manifest) -> Self {
            let (storage, sealed) = match m.storage {
                Storage::Inline(data) => (super::Storage::Inline(data), None),
                Storage::SealedInline { sealing, data } => (super::Storage::Inline(data), Some(sealing)),
                Storage::Sharded {
                    profile,
                    stripe_size,
                    shards,
                } => (
                    super::Storage::Sharded {
                        profile,
                        stripe_size,
                        shards,
                    },
                    None,
                ),
                Storage::SealedSharded {
                    sealing,
                    profile,
                    stripe_size,
                    shards,
                } => (
                    super::Storage::Sharded {
                        profile,
                        stripe_size,
                        shards,
                    },
                    Some(sealing),
                ),
            };
            Self {
                namespace: m.namespace,
                key: m.key,
                object_id: m.object_id,
                size: m.size,
                blake3: m.blake3,
                created_at_ms: m.created_at_ms,
                retain_until_ms: m.retain_until_ms,
                storage,
                sealed,
            }
        }
    }
}

/// Vec<u8> as one byte string rather than a sequence of numbers.
mod serde_bytes_compat {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Vec::<u8>::deserialize(d)
    }
}

/// Object keys: UTF-8 paths without NUL, control characters, or `.`/`..` segments.
pub fn validate_object_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the object key is empty".into());
    }
    if key.len() > MAX_OBJECT_KEY_BYTES {
        return Err(format!(
            "the object key is {} bytes; the limit is {MAX_OBJECT_KEY_BYTES}",
            key.len()
        ));
    }
    if key.chars().any(char::is_control) {
        return Err("the object key contains a NUL or control character".into());
    }
    if key.starts_with('/') {
        return Err("the object key starts with '/'".into());
    }
    if key.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(format!("the object key `{key}` contains a `.` or `..` segment"));
    }
    Ok(())
}

/// Object namespace names: lowercase letters, digits, '-', '_' and '.', starting with a letter or digit.
pub fn validate_namespace_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAMESPACE_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a namespace name: use 1-{MAX_NAMESPACE_NAME} lowercase letters, digits, '-', '_' or '.'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_refused() {
        for bad in ["", "a\0b", "../etc", "a/../b", "/abs", "a/./b", "tab\tkey"] {
            assert!(validate_object_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_object_key(&"x".repeat(MAX_OBJECT_KEY_BYTES + 1)).is_err());
        for good in ["a", "deliberations/2024/01.pdf", "été.xml", "a..b"] {
            assert!(validate_object_key(good).is_ok(), "{good:?}");
        }
        assert!(validate_namespace_name("region-actes").is_ok());
        assert!(validate_namespace_name("Region").is_err());
        assert!(validate_namespace_name("").is_err());
    }

    #[test]
    fn manifests_round_trip() {
        let m = Manifest {
            namespace: "ns".into(),
            key: "k".into(),
            object_id: [1; 16],
            size: 10,
            blake3: [2; 32],
            created_at_ms: 3,
            retain_until_ms: 0,
            storage: Storage::Inline(b"0123456789".to_vec()),
            sealed: None,
        };
        assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
        assert!(Manifest::decode(b"junk").is_err());
    }

    /// The manifest layout before encryption existed, as bincode wrote it.
    #[derive(Serialize)]
    struct LegacyManifest {
        namespace: String,
        key: String,
        object_id: ObjectId,
        size: u64,
        blake3: [u8; 32],
        created_at_ms: u64,
        retain_until_ms: u64,
        storage: Storage,
    }

    fn sample(storage: Storage, sealed: Option<Sealing>) -> Manifest {
        Manifest {
            namespace: "ns".into(),
            key: "k".into(),
            object_id: [1; 16],
            size: 10,
            blake3: [2; 32],
            created_at_ms: 3,
            retain_until_ms: 4,
            storage,
            sealed,
        }
    }

    #[test]
    fn old_manifests_still_decode_and_plain_ones_keep_their_bytes() {
        let sharded = Storage::Sharded {
            profile: "4+2".parse().unwrap(),
            stripe_size: 1 << 20,
            shards: vec![ShardRef {
                index: 0,
                node_id: 9,
                table_hash: [5; 32],
            }],
        };
        for storage in [Storage::Inline(b"0123456789".to_vec()), sharded.clone()] {
            let legacy = LegacyManifest {
                namespace: "ns".into(),
                key: "k".into(),
                object_id: [1; 16],
                size: 10,
                blake3: [2; 32],
                created_at_ms: 3,
                retain_until_ms: 4,
                storage: storage.clone(),
            };
            let old_bytes = bincode::serialize(&legacy).unwrap();
            let m = sample(storage, None);
            assert_eq!(Manifest::decode(&old_bytes).unwrap(), m);
            assert_eq!(m.encode(), old_bytes);
        }
        let sealing = Some(Sealing { key_generation: 1 });
        for storage in [Storage::Inline(vec![0; 26]), sharded] {
            let m = sample(storage, sealing);
            assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
            // An encrypted manifest never reads as the old layout (an older node refuses it).
            assert!(bincode::deserialize::<LegacyManifestOwned>(&m.encode()).is_err());
        }
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct LegacyManifestOwned {
        namespace: String,
        key: String,
        object_id: ObjectId,
        size: u64,
        blake3: [u8; 32],
        created_at_ms: u64,
        retain_until_ms: u64,
        storage: Storage,
    }

    #[test]
    fn sealed_stripes_are_longer_by_the_tag() {
        let storage = Storage::Sharded {
            profile: "2+1".parse().unwrap(),
            stripe_size: 4,
            shards: vec![],
        };
        let plain = sample(storage.clone(), None);
        assert_eq!((plain.stored_stripe_len(0), plain.stored_stripe_len(2)), (4, 2));
        let sealed = sample(storage, Some(Sealing { key_generation: 1 }));
        assert_eq!((sealed.stored_stripe_len(0), sealed.stored_stripe_len(2)), (20, 18));
        assert_eq!(sealed.stored_stripe_size(), 20);
        assert_eq!(sealed.plain_stripe_len(2), 2);
    }
}
