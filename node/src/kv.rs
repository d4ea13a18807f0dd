//! The metadata keyspace: ordered keys inside namespaces, each value tagged with the Raft
//! revision that wrote it. Stored in RocksDB as `namespace 0x00 key` -> `revision(8, BE) value`.

use serde::{Deserialize, Serialize};

pub const MAX_NAMESPACE_LEN: usize = 128;
pub const MAX_KEY_BYTES: usize = 4096;
/// Values travel in Raft entries; large payloads belong in the object store. Bounds how many
/// entries fit in one AppendEntries (see `server.rs`).
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Entries returned by one scan call when the caller gives no limit, and the most it may ask.
pub const DEFAULT_SCAN_LIMIT: usize = 1000;
pub const MAX_SCAN_LIMIT: usize = 10_000;
/// The bytes a `GetMany` reply's entries stay within (the client asks again for the rest):
/// inside the 4 MiB a client decodes by default.
pub const GET_MANY_REPLY_BYTES: usize = 3 << 20;
/// A transaction stays well inside one Raft message.
pub const MAX_TXN_OPS: usize = 1000;
pub const MAX_TXN_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KvEntry {
    pub ns: String,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub revision: u64,
}

/// ASCII letters, digits and `._-/`, so that the 0x00 separator never appears in a namespace.
pub fn validate_namespace(ns: &str) -> Result<(), String> {
    let ok = !ns.is_empty()
        && ns.len() <= MAX_NAMESPACE_LEN
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "namespace `{}` is invalid: use 1-{MAX_NAMESPACE_LEN} ASCII letters, digits, '.', '_', '-' or '/'",
            ns.escape_default()
        ))
    }
}

pub fn validate_key(key: &[u8]) -> Result<(), String> {
    if key.is_empty() {
        return Err("key is empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("key is {} bytes; the limit is {MAX_KEY_BYTES}", key.len()));
    }
    Ok(())
}

pub fn validate_value(value: &[u8]) -> Result<(), String> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "value is {} bytes; the limit is {MAX_VALUE_BYTES} (store large data as an object)",
            value.len()
        ));
    }
    Ok(())
}

pub fn encode_key(ns: &str, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ns.len() + 1 + key.len());
    out.extend_from_slice(ns.as_bytes());
    out.push(0);
    out.extend_from_slice(key);
    out
}

pub fn decode_key(raw: &[u8]) -> Option<(String, Vec<u8>)> {
    let sep = raw.iter().position(|b| *b == 0)?;
    let ns = std::str::from_utf8(&raw[..sep]).ok()?.to_owned();
    Some((ns, raw[sep + 1..].to_vec()))
}

pub fn encode_value(revision: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&revision.to_be_bytes());
    out.extend_from_slice(value);
    out
}

pub fn decode_value(raw: &[u8]) -> Option<(u64, Vec<u8>)> {
    let rev: [u8; 8] = raw.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(rev), raw[8..].to_vec()))
}

pub fn decode_entry(raw_key: &[u8], raw_value: &[u8]) -> Option<KvEntry> {
    let (ns, key) = decode_key(raw_key)?;
    let (revision, value) = decode_value(raw_value)?;
    Some(KvEntry {
        ns,
        key,
        value,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_within_namespace() {
        let a = encode_key("objects", b"a");
        let b = encode_key("objects", b"b");
        let other = encode_key("objects2", b"");
        assert!(a < b && b < other, "a namespace's keys sort together");
        let e = decode_entry(&a, &encode_value(7, b"v")).unwrap();
        assert_eq!((e.ns.as_str(), e.key.as_slice(), e.revision), ("objects", &b"a"[..], 7));
    }

    #[test]
    fn rejects_bad_names() {
        assert!(validate_namespace("").is_err());
        assert!(validate_namespace("a\0b").is_err());
        assert!(validate_namespace("tenant/region").is_ok());
        assert!(validate_key(b"").is_err());
        assert!(validate_key(&vec![1; MAX_KEY_BYTES + 1]).is_err());
    }
}
