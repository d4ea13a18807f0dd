//! Opening the RocksDB instance, its column families, and the node's local identity.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, WriteOptions, DB};

use crate::rocks_memory::RocksMemory;

pub type Db = Arc<DB>;

pub(crate) const CF_LOGS: &str = "raft_log";
pub(crate) const CF_RAFT: &str = "raft_state";
pub(crate) const CF_SM: &str = "sm_state";
pub(crate) const CF_KV: &str = "sm_kv";
pub(crate) const CF_LOCAL: &str = "local";
const ALL_CFS: [&str; 5] = [CF_LOGS, CF_RAFT, CF_SM, CF_KV, CF_LOCAL];

const KEY_NODE_ID: &[u8] = b"node_id";
const KEY_CLUSTER_ID: &[u8] = b"cluster_id";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data dir {dir} is in use by another archipel process (RocksDB lock held); stop it first")]
    Locked { dir: PathBuf },
    #[error("cannot open the metadata store in {dir}: {message}")]
    Open { dir: PathBuf, message: String },
    #[error("metadata store I/O failed: {0}")]
    Io(#[from] rocksdb::Error),
    #[error(
        "the data dir {dir} belongs to node {stored}, but the config says node_id = {configured}; \
         point data_dir at this node's own directory"
    )]
    WrongNode { dir: PathBuf, stored: u64, configured: u64 },
    #[error("cannot start the metadata store's background thread: {0}")]
    Thread(String),
    #[error("the metadata store holds a corrupt value under `{0}`")]
    Corrupt(String),
    #[error(
        "the metadata store in {dir} is damaged, e.g. a corrupt write-ahead log record ({message}); this node refuses to \
         start rather than silently drop Raft entries and votes it had acknowledged. Keep the \
         directory for analysis; to bring the node back, remove it from the cluster (`archipel node \
         remove ID`), wipe {dir} and add it again: it catches up from the others"
    )]
    Damaged { dir: PathBuf, message: String },
}

/// Opens the metadata store with the default memory budget (tests and tools).
pub fn open_db(dir: &Path) -> Result<Db, StoreError> {
    open_db_with(dir, &RocksMemory::default())
}

/// Opens the metadata store, its memory counted in `memory` (shared with the packed shards).
pub fn open_db_with(dir: &Path, memory: &RocksMemory) -> Result<Db, StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
        dir: dir.to_owned(),
        message: e.to_string(),
    })?;
    let mut opts = memory.db_options();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    // The WAL is the durability mechanism, and a synced record is a promise made to the other
    // voters (a vote, an appended entry). Point-in-time recovery would stop replaying at the first
    // damaged record and open without everything after it, silently; refuse to open instead.
    opts.set_wal_recovery_mode(rocksdb::DBRecoveryMode::AbsoluteConsistency);
    let cfs = ALL_CFS
        .iter()
        .map(|n| ColumnFamilyDescriptor::new(*n, memory.cf_options()));
    DB::open_cf_descriptors(&opts, dir, cfs).map(Arc::new).map_err(|e| {
        let message = e.to_string();
        if message.contains("lock") || message.contains("Resource temporarily unavailable") {
            StoreError::Locked { dir: dir.to_owned() }
        } else if e.kind() == rocksdb::ErrorKind::Corruption {
            StoreError::Damaged {
                dir: dir.to_owned(),
                message,
            }
        } else {
            StoreError::Open {
                dir: dir.to_owned(),
                message,
            }
        }
    })
}

pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> &'a rocksdb::ColumnFamily {
    // Every CF in ALL_CFS is created at open, so a missing one is a programming error.
    db.cf_handle(name)
        .unwrap_or_else(|| panic!("column family {name} was created at open"))
}

pub(crate) fn sync_write() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

/// What a data dir knows about itself, independent of Raft: which node it is and which
/// cluster it joined. It guards against a data dir being reused by the wrong node or cluster.
#[derive(Clone)]
pub struct LocalIdentity {
    db: Db,
    /// Cached: checked on every Raft RPC.
    cluster_id: Arc<std::sync::RwLock<Option<String>>>,
}

impl LocalIdentity {
    /// Binds the data dir to `node_id` on first use, and refuses another id afterwards.
    pub fn bind(db: Db, dir: &Path, node_id: u64) -> Result<Self, StoreError> {
        let handle = cf(&db, CF_LOCAL);
        match db.get_cf(handle, KEY_NODE_ID)? {
            Some(raw) => {
                let stored = u64::from_be_bytes(
                    raw.as_slice()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("local/node_id".into()))?,
                );
                if stored != node_id {
                    return Err(StoreError::WrongNode {
                        dir: dir.to_owned(),
                        stored,
                        configured: node_id,
                    });
                }
            }
            None => db.put_cf_opt(handle, KEY_NODE_ID, node_id.to_be_bytes(), &sync_write())?,
        }
        let raw = db.get_cf(handle, KEY_CLUSTER_ID)?;
        let cluster_id = raw
            .map(|r| String::from_utf8(r).map_err(|_| StoreError::Corrupt("local/cluster_id".into())))
            .transpose()?;
        Ok(Self {
            db,
            cluster_id: Arc::new(std::sync::RwLock::new(cluster_id)),
        })
    }

    /// The cluster this data dir joined, if any.
    pub fn cluster_id(&self) -> Option<String> {
        self.cluster_id.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Node-local state that is not replicated (e.g. a worker's progress), under `key`.
    pub fn get_local(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(cf(&self.db, CF_LOCAL), format!("state/{key}"))?)
    }

    pub fn put_local(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.db.put_cf(cf(&self.db, CF_LOCAL), format!("state/{key}"), value)?;
        Ok(())
    }

    pub fn set_cluster_id(&self, id: &str) -> Result<(), StoreError> {
        self.db
            .put_cf_opt(cf(&self.db, CF_LOCAL), KEY_CLUSTER_ID, id.as_bytes(), &sync_write())?;
        *self.cluster_id.write().unwrap_or_else(|p| p.into_inner()) = Some(id.to_owned());
        Ok(())
    }
}
