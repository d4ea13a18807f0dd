//! Shards on a node's disk: one file per object and shard index, holding every stripe of that
//! index, each with its own BLAKE3, under `<data_dir>/shards/`.

mod format;
mod store;

pub use format::{ShardFileHeader, FOOTER_LEN, HEADER_MAGIC};
pub use store::{is_temp, ShardError, ShardReader, ShardStore, ShardWriter, StoredShard};

/// Object ids are 16 random bytes, written as 32 hex digits in file names and keys.
pub type ObjectId = [u8; 16];

pub fn object_id_hex(id: &ObjectId) -> String {
    hex::encode(id)
}

pub fn parse_object_id(text: &str) -> Option<ObjectId> {
    let mut id = [0u8; 16];
    hex::decode_to_slice(text, &mut id).ok()?;
    Some(id)
}
