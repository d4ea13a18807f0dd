//! Shards on a node's disk. A shard holds every stripe of one shard index of an object, each with
//! its own BLAKE3: large ones as a file each under `<data_dir>/shards/`, small ones packed in the
//! node's own RocksDB under `<data_dir>/packed-shards/`, in the same byte layout.

mod format;
pub mod packed;
mod probe;
mod reader;
mod store;
mod writer;

pub use format::{ShardFileHeader, TableHasher, FOOTER_LEN, HEADER_MAGIC};
pub use probe::DiskProbe;
pub use reader::ShardReader;
pub use store::{is_temp, Present, ShardError, ShardStore, StoredShard, WholeShardWrite};
pub use writer::ShardWriter;

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
