//! The Raft log and vote, in RocksDB. A vote or an entry is reported persisted only once it is
//! on disk: votes, truncations and purges are synced writes, appends are group-committed.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogReader, StorageIOError, Vote};
use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::db::{cf, sync_write, Db, StoreError, CF_LOGS, CF_RAFT};
use super::wal_sync::WalSyncer;
use crate::raft::{codec, Entry, LogId, NodeId, StorageError, TypeConfig};

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_PURGED: &[u8] = b"last_purged";

#[derive(Clone)]
pub struct LogStore {
    db: Db,
    wal: WalSyncer,
    /// Last committed index seen, for metrics (openraft does not expose it).
    committed_index: Arc<AtomicU64>,
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

impl LogStore {
    pub fn new(db: Db) -> Result<Self, StoreError> {
        let wal = WalSyncer::start(&db).map_err(|e| StoreError::Thread(e.to_string()))?;
        Ok(Self {
            db,
            wal,
            committed_index: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn committed_index(&self) -> Arc<AtomicU64> {
        self.committed_index.clone()
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        let raw = self.db.get_cf(cf(&self.db, CF_RAFT), key).map_err(read_err)?;
        raw.map(|r| serde_json::from_slice(&r).map_err(read_err)).transpose()
    }

    fn put_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<(), StorageError> {
        let raw = serde_json::to_vec(value).map_err(write_err)?;
        self.db
            .put_cf_opt(cf(&self.db, CF_RAFT), key, raw, &sync_write())
            .map_err(write_err)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i + 1,
            Bound::Unbounded => 0,
        };
        let from = index_key(start);
        let iter = self
            .db
            .iterator_cf(cf(&self.db, CF_LOGS), IteratorMode::From(&from, Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(read_err)?;
            let index =
                u64::from_be_bytes(key.as_ref().try_into().map_err(|_| {
                    StorageError::from(StorageIOError::read_logs(&std::io::Error::other("bad log key")))
                })?);
            if !range.contains(&index) {
                break;
            }
            out.push(codec::decode(&value).map_err(read_err)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self.get_meta(KEY_PURGED)?;
        let last = self
            .db
            .iterator_cf(cf(&self.db, CF_LOGS), IteratorMode::End)
            .next()
            .transpose()
            .map_err(read_err)?;
        let last_log_id = match last {
            Some((_, value)) => {
                let entry: Entry = codec::decode(&value).map_err(read_err)?;
                Some(entry.log_id)
            }
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        self.put_meta(KEY_VOTE, vote)
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        if let Some(c) = committed {
            self.committed_index.store(c.index, Ordering::Relaxed);
        }
        // Not synced: losing it only means re-applying from the last applied entry.
        let raw = serde_json::to_vec(&committed).map_err(write_err)?;
        self.db
            .put_cf(cf(&self.db, CF_RAFT), KEY_COMMITTED, raw)
            .map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let committed: Option<Option<LogId>> = self.get_meta(KEY_COMMITTED)?;
        let committed = committed.flatten();
        if let Some(c) = committed {
            self.committed_index.store(c.index, Ordering::Relaxed);
        }
        Ok(committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let handle = cf(&self.db, CF_LOGS);
        let mut batch = WriteBatch::default();
        for entry in entries {
            let raw = codec::encode(&entry).map_err(write_err)?;
            batch.put_cf(handle, index_key(entry.log_id.index), raw);
        }
        // Readable at once (replication may read it back); durable when the syncer reports it.
        let result = self.db.write(batch);
        match result {
            Ok(()) => {
                self.wal.after_sync(callback);
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf(&self.db, CF_LOGS), index_key(log_id.index), index_key(u64::MAX));
        self.db.write_opt(batch, &sync_write()).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // Record the purge point first, so a crash in between never loses track of it.
        // The synced write also makes every earlier state-machine write durable (one WAL).
        self.put_meta(KEY_PURGED, &log_id)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf(&self.db, CF_LOGS), index_key(0), index_key(log_id.index + 1));
        self.db.write_opt(batch, &sync_write()).map_err(write_err)
    }
}
