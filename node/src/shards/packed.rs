//! Small shards packed in a node-local RocksDB instead of one file each.
//!
//! A 64 KiB object in 3+3 has 22 KiB shards. As files, each costs an inode, a rename and two
//! fsyncs (file and directory); here the shards written at the same time share one synced WAL
//! write, as RocksDB groups concurrent writers. A value holds exactly the bytes a shard file
//! would (header, stripes, table, footer), so it is read and verified by the same code. Values
//! live in RocksDB blob files, so compaction rewrites keys, not shard bytes.
//!
//! This database is the node's own, never replicated: it is apart from the Raft store so that
//! shard traffic does not slow metadata compaction, and a lost one is a lost disk, which
//! scrubbing finds and repair rebuilds from the other nodes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rocksdb::{ColumnFamilyDescriptor, IteratorMode, WriteBatch, WriteOptions, DB};

use super::store::ShardError;
use super::ObjectId;
use crate::rocks_memory::RocksMemory;

/// Shard bytes, in blob files.
const CF_DATA: &str = "data";
/// Size and creation time of each shard: what listing needs, without reading any blob.
const CF_INDEX: &str = "index";

/// Where a node keeps its packed shards, under its data dir.
pub const PACKED_DIR: &str = "packed-shards";

/// One packed shard as listed.
#[derive(Debug, Clone, Copy)]
pub struct PackedEntry {
    pub object_id: ObjectId,
    pub index: u32,
    pub size: u64,
    pub created: SystemTime,
}

#[derive(Clone)]
pub struct PackedShards {
    db: Arc<DB>,
    dir: PathBuf,
}

fn key(object_id: &ObjectId, index: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..16].copy_from_slice(object_id);
    k[16..].copy_from_slice(&index.to_be_bytes());
    k
}

fn parse_key(raw: &[u8]) -> Option<(ObjectId, u32)> {
    let id: ObjectId = raw.get(..16)?.try_into().ok()?;
    let index = u32::from_be_bytes(raw.get(16..20)?.try_into().ok()?);
    (raw.len() == 20).then_some((id, index))
}

fn index_value(size: u64, created_ms: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&size.to_le_bytes());
    v[8..].copy_from_slice(&created_ms.to_le_bytes());
    v
}

fn parse_index_value(raw: &[u8]) -> Option<(u64, u64)> {
    let size = u64::from_le_bytes(raw.get(..8)?.try_into().ok()?);
    let created = u64::from_le_bytes(raw.get(8..16)?.try_into().ok()?);
    Some((size, created))
}

impl PackedShards {
    pub fn open(data_dir: &Path) -> Result<Self, ShardError> {
        Self::open_with(data_dir, &RocksMemory::default())
    }

    /// Opens the packed store, its memory counted in `memory` (shared with the metadata store).
    pub fn open_with(data_dir: &Path, memory: &RocksMemory) -> Result<Self, ShardError> {
        let dir = data_dir.join(PACKED_DIR);
        let failed = |message: String| ShardError::Io {
            path: dir.clone(),
            source: std::io::Error::other(message),
        };
        std::fs::create_dir_all(&dir).map_err(|e| failed(e.to_string()))?;
        let mut opts = memory.db_options();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_wal_recovery_mode(rocksdb::DBRecoveryMode::PointInTime);
        let mut data = memory.cf_options();
        data.set_enable_blob_files(true);
        data.set_min_blob_size(0);
        data.set_blob_file_size(256 << 20);
        // Space of deleted shards comes back as their blob files age out.
        data.set_enable_blob_gc(true);
        data.set_blob_gc_age_cutoff(0.25);
        let cfs = vec![
            ColumnFamilyDescriptor::new(CF_DATA, data),
            ColumnFamilyDescriptor::new(CF_INDEX, memory.cf_options()),
        ];
        let db = DB::open_cf_descriptors(&opts, &dir, cfs).map_err(|e| {
            let message = e.to_string();
            if message.contains("lock") {
                failed(format!(
                    "{message}: another archipel process uses this data dir; stop it first"
                ))
            } else {
                failed(message)
            }
        })?;
        Ok(Self { db: Arc::new(db), dir })
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, ShardError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| self.err(format!("column family {name} is missing")))
    }

    fn err(&self, message: String) -> ShardError {
        ShardError::Io {
            path: self.dir.clone(),
            source: std::io::Error::other(message),
        }
    }

    fn db_err(&self) -> impl Fn(rocksdb::Error) -> ShardError + '_ {
        move |e| {
            let message = e.to_string();
            if message.contains("No space left") {
                ShardError::DiskFull { needed: 0, free: 0 }
            } else {
                self.err(message)
            }
        }
    }

    /// A name for messages and listings; no file has it.
    pub fn display_path(&self, object_id: &ObjectId, index: u32) -> PathBuf {
        self.dir.join(format!("{}.{index}", super::object_id_hex(object_id)))
    }

    /// Stores one shard durably: returns once the WAL holding it is synced. Concurrent calls
    /// share a sync.
    pub fn put(&self, object_id: &ObjectId, index: u32, bytes: &[u8], created_ms: u64) -> Result<(), ShardError> {
        self.put_many(&[(*object_id, index, bytes.to_vec(), created_ms)])
    }

    /// Stores several shards with one synced write: `(object id, index, bytes, created ms)`.
    pub fn put_many(&self, shards: &[(ObjectId, u32, Vec<u8>, u64)]) -> Result<(), ShardError> {
        let (data, index) = (self.cf(CF_DATA)?, self.cf(CF_INDEX)?);
        let mut batch = WriteBatch::default();
        for (object_id, i, bytes, created_ms) in shards {
            let k = key(object_id, *i);
            batch.put_cf(data, k, bytes);
            batch.put_cf(index, k, index_value(bytes.len() as u64, *created_ms));
        }
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        self.db.write_opt(batch, &sync).map_err(self.db_err())
    }

    pub fn get(&self, object_id: &ObjectId, index: u32) -> Result<Option<Vec<u8>>, ShardError> {
        self.db
            .get_cf(self.cf(CF_DATA)?, key(object_id, index))
            .map_err(self.db_err())
    }

    /// As [`Self::get`], without filling RocksDB's caches: a verification read, which must come
    /// from the disk and must not push out what foreground reads need.
    pub fn get_from_disk(&self, object_id: &ObjectId, index: u32) -> Result<Option<Vec<u8>>, ShardError> {
        let mut options = rocksdb::ReadOptions::default();
        options.fill_cache(false);
        self.db
            .get_cf_opt(self.cf(CF_DATA)?, key(object_id, index), &options)
            .map_err(self.db_err())
    }

    /// Size and creation time, if the shard is here.
    pub fn entry(&self, object_id: &ObjectId, index: u32) -> Result<Option<PackedEntry>, ShardError> {
        let raw = self
            .db
            .get_pinned_cf(self.cf(CF_INDEX)?, key(object_id, index))
            .map_err(self.db_err())?;
        Ok(raw
            .and_then(|v| parse_index_value(&v))
            .map(|(size, created_ms)| PackedEntry {
                object_id: *object_id,
                index,
                size,
                created: SystemTime::UNIX_EPOCH + Duration::from_millis(created_ms),
            }))
    }

    /// Not synced: a delete lost in a crash leaves an orphan, which the collector finds again.
    pub fn delete(&self, object_id: &ObjectId, index: u32) -> Result<(), ShardError> {
        let k = key(object_id, index);
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_DATA)?, k);
        batch.delete_cf(self.cf(CF_INDEX)?, k);
        self.db.write(batch).map_err(self.db_err())
    }

    pub fn list(&self) -> Result<Vec<PackedEntry>, ShardError> {
        self.list_from(IteratorMode::Start, |_| true)
    }

    /// The entries whose object id starts with `bucket`, in key order.
    pub fn list_bucket(&self, bucket: u8) -> Result<Vec<PackedEntry>, ShardError> {
        let start = [bucket];
        self.list_from(IteratorMode::From(&start, rocksdb::Direction::Forward), |k| {
            k.first() == Some(&bucket)
        })
    }

    fn list_from(&self, mode: IteratorMode, within: impl Fn(&[u8]) -> bool) -> Result<Vec<PackedEntry>, ShardError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_INDEX)?, mode) {
            let (k, v) = item.map_err(self.db_err())?;
            if !within(&k) {
                break;
            }
            let (Some((object_id, index)), Some((size, created_ms))) = (parse_key(&k), parse_index_value(&v)) else {
                tracing::warn!(dir = %self.dir.display(), "skipping a malformed packed-shard index entry");
                continue;
            };
            out.push(PackedEntry {
                object_id,
                index,
                size,
                created: SystemTime::UNIX_EPOCH + Duration::from_millis(created_ms),
            });
        }
        Ok(out)
    }

    /// Bytes of every packed shard, from the index.
    pub fn used_bytes(&self) -> Result<u64, ShardError> {
        Ok(self.list()?.iter().map(|e| e.size).sum())
    }
}

/// Fault injection for tests and drills, on a stopped node: flips one byte of a packed shard
/// at `offset` (modulo its length), as bit rot would. Returns false if the shard is not here.
pub fn flip_byte_offline(data_dir: &Path, object_id: &ObjectId, index: u32, offset: usize) -> Result<bool, ShardError> {
    let store = PackedShards::open(data_dir)?;
    let Some(mut bytes) = store.get(object_id, index)? else {
        return Ok(false);
    };
    if bytes.is_empty() {
        return Ok(false);
    }
    let at = offset % bytes.len();
    bytes[at] ^= 0x01;
    let entry = store.entry(object_id, index)?;
    let created_ms = entry
        .and_then(|e| e.created.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    store.put(object_id, index, &bytes, created_ms)?;
    Ok(true)
}

/// Fault injection for tests and drills, on a stopped node: removes a packed shard, as a lost
/// disk sector would. Returns false if the shard is not here.
pub fn delete_offline(data_dir: &Path, object_id: &ObjectId, index: u32) -> Result<bool, ShardError> {
    let store = PackedShards::open(data_dir)?;
    if store.entry(object_id, index)?.is_none() {
        return Ok(false);
    }
    store.delete(object_id, index)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_list_delete_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = PackedShards::open(dir.path()).unwrap();
        let id = [5u8; 16];
        store.put(&id, 2, b"shard bytes", 1234).unwrap();
        store.put(&id, 3, b"other", 1235).unwrap();
        assert_eq!(store.get(&id, 2).unwrap().as_deref(), Some(&b"shard bytes"[..]));
        assert!(store.get(&id, 4).unwrap().is_none());
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].index, listed[0].size), (2, 11));
        assert_eq!(listed[0].created, SystemTime::UNIX_EPOCH + Duration::from_millis(1234));
        store.delete(&id, 3).unwrap();
        assert_eq!(store.used_bytes().unwrap(), 11);
        drop(store);
        let again = PackedShards::open(dir.path()).unwrap();
        assert_eq!(again.list().unwrap().len(), 1, "a synced put survives a reopen");
        assert!(again.entry(&id, 3).unwrap().is_none());
    }

    #[test]
    fn offline_flip_changes_one_byte() {
        let dir = tempfile::tempdir().unwrap();
        let id = [6u8; 16];
        {
            let store = PackedShards::open(dir.path()).unwrap();
            store.put(&id, 0, b"abcdef", 1).unwrap();
        }
        assert!(flip_byte_offline(dir.path(), &id, 0, 2).unwrap());
        assert!(!flip_byte_offline(dir.path(), &id, 1, 2).unwrap());
        let store = PackedShards::open(dir.path()).unwrap();
        assert_eq!(store.get(&id, 0).unwrap().as_deref(), Some(&b"abbdef"[..]));
    }

    #[test]
    fn offline_delete_removes_only_that_shard() {
        let dir = tempfile::tempdir().unwrap();
        let id = [7u8; 16];
        {
            let store = PackedShards::open(dir.path()).unwrap();
            store.put(&id, 0, b"abc", 1).unwrap();
            store.put(&id, 1, b"def", 1).unwrap();
        }
        assert!(delete_offline(dir.path(), &id, 0).unwrap());
        assert!(!delete_offline(dir.path(), &id, 0).unwrap(), "already gone");
        let store = PackedShards::open(dir.path()).unwrap();
        assert!(store.get(&id, 0).unwrap().is_none());
        assert_eq!(store.get(&id, 1).unwrap().as_deref(), Some(&b"def"[..]));
    }

    #[test]
    fn keys_round_trip() {
        let id = [0xfeu8; 16];
        assert_eq!(parse_key(&key(&id, 7)), Some((id, 7)));
        assert_eq!(parse_key(b"short"), None);
    }
}
