//! What the gateway keeps in the cluster's metadata keyspace, and where.
//!
//! - `s3.buckets` / bucket name → [`BucketRecord`] (owner tenant, object namespace).
//! - `<namespace>/o` / S3 key → [`ObjectRecord`]: the object as S3 sees it, pointing at the
//!   data objects that hold its bytes. Writing this entry is what makes an object visible.
//! - `<namespace>/u` / `key 0x00 upload-id` → [`UploadRecord`] (multipart in progress).
//! - `<namespace>/p` / `upload-id/part` → [`PartRecord`].
//! - `s3.trash` / id → [`TrashRecord`]: data objects to delete once unreferenced.
//!
//! A bucket's namespace is `<tenant>.s3.<bucket>`: inside the `T.*` scope a tenant certificate
//! reaches (docs/security.md), like everything else of that bucket.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const BUCKETS_NS: &str = "s3.buckets";
pub const TRASH_NS: &str = "s3.trash";

pub fn objects_ns(namespace: &str) -> String {
    format!("{namespace}/o")
}
pub fn uploads_ns(namespace: &str) -> String {
    format!("{namespace}/u")
}
pub fn parts_ns(namespace: &str) -> String {
    format!("{namespace}/p")
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The object namespace of `tenant`'s bucket: `<tenant>.s3.<bucket>`, shortened with a hash
/// when that exceeds the 63 characters a namespace name may have.
pub fn namespace_for(tenant: &str, bucket: &str) -> String {
    let full = format!("{tenant}.s3.{bucket}");
    if full.len() <= 63 {
        return full;
    }
    let hash = hex::encode(&blake3::hash(full.as_bytes()).as_bytes()[..6]);
    format!("{}-{hash}", &full[..50])
}

/// Default retention applied to objects written without their own (Object Lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    /// "GOVERNANCE" or "COMPLIANCE".
    pub mode: String,
    pub days: Option<i32>,
    pub years: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketRecord {
    pub tenant: String,
    pub namespace: String,
    pub created_ms: u64,
    #[serde(default)]
    pub object_lock: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_retention: Option<DefaultRetention>,
    /// Set while a delete is checking that the bucket is empty: writes conditioned on the
    /// previous revision fail, and new ones see no bucket.
    #[serde(default)]
    pub deleting: bool,
}

/// One stored piece of an object's bytes: a data object of the bucket's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Key of the data object in the namespace.
    pub k: String,
    pub size: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksums {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Headers stored with an object and returned on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// HTTP date as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `x-amz-meta-*` without the prefix.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user: BTreeMap<String, String>,
}

/// Object Lock state of one object, as S3 reports it; the cluster enforces it on the data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_until_ms: Option<u64>,
    #[serde(default)]
    pub legal_hold: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub size: u64,
    /// Without quotes: hex MD5, or `hex-N` for a multipart object.
    pub etag: String,
    pub modified_ms: u64,
    /// The bytes, in order. One piece for a simple object, one per part for a multipart one
    /// (the parts' data objects are used as they are: completing copies nothing).
    pub pieces: Vec<Piece>,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub checksums: Checksums,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockState>,
    /// The multipart upload this object completed, so that a repeated completion succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
}

impl ObjectRecord {
    pub fn is_multipart(&self) -> bool {
        self.etag.contains('-')
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadRecord {
    pub key: String,
    pub initiated_ms: u64,
    pub headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartRecord {
    pub piece: Piece,
    pub etag: String,
    pub modified_ms: u64,
    #[serde(default)]
    pub checksums: Checksums,
}

/// Work left for the sweeper when a request could not finish its clean-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrashRecord {
    pub namespace: String,
    /// Data objects no record refers to any more.
    #[serde(default)]
    pub data: Vec<String>,
    /// Part records of a finished or aborted upload (`s3.p/<namespace>`, prefix `upload-id/`),
    /// deleted with their data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_parts: Option<String>,
    /// Data that the object at this key uses when the sweep runs is kept (a completed upload's
    /// parts live on as the object's pieces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_if_used_by: Option<String>,
}

pub fn upload_entry_key(key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = key.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

pub fn part_entry_key(upload_id: &str, part: i32) -> Vec<u8> {
    format!("{upload_id}/{part:05}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_valid_names_even_for_long_buckets() {
        assert_eq!(namespace_for("region", "photos"), "region.s3.photos");
        let long = namespace_for("departement-de-la-gironde", &"b".repeat(63));
        assert_eq!(long.len(), 63);
        assert_ne!(long, namespace_for("departement-de-la-gironde", &"b".repeat(62)));
        assert!(long
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c)));
    }

    #[test]
    fn part_keys_sort_by_number() {
        assert!(part_entry_key("u", 9) < part_entry_key("u", 10));
        assert!(part_entry_key("u", 999) < part_entry_key("u", 10000));
    }
}
