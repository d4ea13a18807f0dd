//! What the object store keeps in the metadata keyspace: namespaces and object manifests.

use serde::{Deserialize, Serialize};

use crate::ec_profile::EcProfile;
use crate::shards::ObjectId;

/// Keyspace namespaces reserved for the object store; clients cannot write `sys.*` directly.
pub const NS_NAMESPACES: &str = "sys.ns";
/// Manifests of namespace `x` live in `sys.obj/x`, keyed by object key.
pub const NS_MANIFEST_PREFIX: &str = "sys.obj/";
/// Object id (hex) -> namespace and key: what a shard's owner is, for garbage collection.
pub const NS_OBJECT_IDS: &str = "sys.objid";
/// Repairs and moves in flight: `<object id hex>.<index>`, written before the shard is sent. The
/// commit needs it; the orphan collector removes an expired one before deleting the upload's
/// shard, so a late commit can never name a deleted shard.
pub const NS_UPLOADS: &str = "sys.upload";
/// Object ids the orphan collector gave up (their shards may be deleted): `<object id hex>` ->
/// when, as big-endian ms. A PUT commits only while its id is absent here.
pub const NS_COLLECTED: &str = "sys.collected";
/// Shards found corrupt or missing, for the healing work: `<object id hex>.<index>`.
pub const NS_DAMAGED: &str = "sys.damaged";

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
}

impl Manifest {
    pub fn stripe_count(&self) -> u64 {
        match &self.storage {
            Storage::Inline(_) => 0,
            Storage::Sharded { stripe_size, .. } => self.size.div_ceil(*stripe_size).max(1),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Plain data: bincode cannot fail on it.
        bincode::serialize(self).unwrap_or_default()
    }

    pub fn decode(raw: &[u8]) -> Result<Self, String> {
        bincode::deserialize(raw).map_err(|e| format!("unreadable manifest: {e}"))
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

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
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
        };
        assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
        assert!(Manifest::decode(b"junk").is_err());
    }
}
