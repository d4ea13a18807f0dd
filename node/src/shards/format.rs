//! The shard file layout. Self-describing so that an operator can tell what a file is, and
//! each stripe verifiable on its own:
//!
//! ```text
//! "ARCHSHD1" | header_len: u32 LE | header (JSON)
//! stripe 0 | stripe 1 | …          each `shard_len` bytes, the last possibly shorter
//! table: BLAKE3 of each stripe, 32 bytes each
//! footer: BLAKE3(table) 32 | seal 32 | stripe_count u64 LE | object_size u64 LE | "ARCHEND1"
//! ```
//! The manifest in Raft records BLAKE3(table) per shard, so a stripe is checked against the
//! table and the table against the manifest. The seal, BLAKE3 of the header and the footer's
//! other fields, catches damage to the parts no stripe hash covers.

use serde::{Deserialize, Serialize};

pub const HEADER_MAGIC: &[u8; 8] = b"ARCHSHD1";
pub const FOOTER_MAGIC: &[u8; 8] = b"ARCHEND1";
pub const FOOTER_LEN: usize = 32 + 32 + 8 + 8 + 8;
/// A header is a few hundred bytes; anything larger is not one of ours.
pub const MAX_HEADER_LEN: u32 = 64 << 10;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardFileHeader {
    pub format: u32,
    pub object_id: String,
    pub namespace: String,
    pub key: String,
    pub index: u32,
    /// "k+m"
    pub profile: String,
    pub stripe_size: u64,
    pub shard_len: u64,
    pub created_at_ms: u64,
}

pub struct Footer {
    pub table_hash: [u8; 32],
    pub seal: [u8; 32],
    pub stripe_count: u64,
    pub object_size: u64,
}

impl Footer {
    /// BLAKE3 over the encoded header and the footer's fields.
    pub fn compute_seal(encoded_header: &[u8], table_hash: &[u8; 32], stripe_count: u64, object_size: u64) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(encoded_header);
        h.update(table_hash);
        h.update(&stripe_count.to_le_bytes());
        h.update(&object_size.to_le_bytes());
        *h.finalize().as_bytes()
    }

    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = [0u8; FOOTER_LEN];
        out[..32].copy_from_slice(&self.table_hash);
        out[32..64].copy_from_slice(&self.seal);
        out[64..72].copy_from_slice(&self.stripe_count.to_le_bytes());
        out[72..80].copy_from_slice(&self.object_size.to_le_bytes());
        out[80..].copy_from_slice(FOOTER_MAGIC);
        out
    }

    pub fn decode(raw: &[u8]) -> Option<Self> {
        if raw.len() != FOOTER_LEN || &raw[80..] != FOOTER_MAGIC {
            return None;
        }
        Some(Self {
            table_hash: raw[..32].try_into().ok()?,
            seal: raw[32..64].try_into().ok()?,
            stripe_count: u64::from_le_bytes(raw[64..72].try_into().ok()?),
            object_size: u64::from_le_bytes(raw[72..80].try_into().ok()?),
        })
    }
}

pub fn encode_header(header: &ShardFileHeader) -> Vec<u8> {
    // Serializing a struct of strings and integers cannot fail.
    let json = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(12 + json.len());
    out.extend_from_slice(HEADER_MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out
}

/// BLAKE3 of a shard's stripe table, built a stripe at a time: what the manifest records. The
/// coordinator computes it from the shards it encoded, so a node's answer is checked, never
/// trusted.
#[derive(Default, Clone)]
pub struct TableHasher {
    table: blake3::Hasher,
}

impl TableHasher {
    pub fn push(&mut self, stripe: &[u8]) {
        self.push_hash(blake3::hash(stripe).as_bytes());
    }

    /// Adds a stripe by its BLAKE3, computed elsewhere.
    pub fn push_hash(&mut self, stripe_hash: &[u8; 32]) {
        self.table.update(stripe_hash);
    }

    pub fn finalize(&self) -> [u8; 32] {
        *self.table.finalize().as_bytes()
    }

    /// The table hash of a one-stripe shard.
    pub fn of_one(stripe: &[u8]) -> [u8; 32] {
        let mut h = Self::default();
        h.push(stripe);
        h.finalize()
    }
}

/// What closes a shard whose encoded header is `encoded_header` and whose stripes hash to
/// `hashes`: the stripe table and the footer, to write after the stripes, and BLAKE3(table).
pub fn closing(encoded_header: &[u8], hashes: &[[u8; 32]], object_size: u64) -> (Vec<u8>, [u8; 32]) {
    let mut tail: Vec<u8> = hashes.iter().flatten().copied().collect();
    let table_hash = *blake3::hash(&tail).as_bytes();
    let stripe_count = hashes.len() as u64;
    let footer = Footer {
        table_hash,
        seal: Footer::compute_seal(encoded_header, &table_hash, stripe_count, object_size),
        stripe_count,
        object_size,
    };
    tail.extend_from_slice(&footer.encode());
    (tail, table_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_hasher_agrees_with_the_shard_footer() {
        let stripes: [&[u8]; 3] = [b"abcd", b"efgh", b"ij"];
        let hashes: Vec<[u8; 32]> = stripes.iter().map(|s| *blake3::hash(s).as_bytes()).collect();
        let (_, table_hash) = closing(b"head", &hashes, 10);
        let mut h = TableHasher::default();
        stripes.iter().for_each(|s| h.push(s));
        assert_eq!(h.finalize(), table_hash);
        assert_eq!(TableHasher::of_one(b"abcd"), closing(b"x", &hashes[..1], 4).1);
    }
}
