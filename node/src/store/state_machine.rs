//! The Raft state machine: cluster map and metadata keyspace in RocksDB, snapshots of both.

use std::io::Cursor;
use std::sync::{Arc, RwLock};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StorageIOError};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};

use super::apply::{Applier, SmClock, KEY_CLOCK, NS_STATE};
use super::db::{cf, sync_write, Db, CF_KV, CF_SM};
use crate::cluster_map::ClusterMap;
use crate::kv::{self, KvEntry};
use crate::raft::{CommandResult, Entry, LogId, StorageError, StoredMembership, TypeConfig};

const KEY_APPLIED: &[u8] = b"last_applied";
const KEY_MEMBERSHIP: &[u8] = b"membership";
const KEY_MAP: &[u8] = b"cluster_map";
const KEY_SNAPSHOT: &[u8] = b"current_snapshot";

/// Everything a snapshot holds. Built from one RocksDB snapshot, so it is consistent.
#[derive(Serialize, Deserialize)]
struct SnapshotPayload {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    cluster_map: ClusterMap,
    /// Raw keyspace rows, in key order.
    kv: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<u64, openraft::BasicNode>,
    data: Vec<u8>,
}

fn sm_read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_state_machine(&e).into()
}

fn sm_write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_state_machine(&e).into()
}

/// Read access to the applied state, shared by the Raft state machine and the RPC services.
pub struct StateView {
    db: Db,
    map: RwLock<ClusterMap>,
    clock: RwLock<SmClock>,
}

impl StateView {
    /// The state machine's time as applied here: the largest leader stamp in the log so far
    /// (ms since the epoch). Behind the leader by replication lag and at most a tick interval
    /// while idle (`raft::tick`); 0 before the first stamped entry.
    pub fn state_time_ms(&self) -> u64 {
        self.clock.read().unwrap_or_else(|p| p.into_inner()).time_ms
    }

    fn sm_clock(&self) -> SmClock {
        *self.clock.read().unwrap_or_else(|p| p.into_inner())
    }

    fn set_sm_clock(&self, clock: SmClock) {
        *self.clock.write().unwrap_or_else(|p| p.into_inner()) = clock;
    }

    /// The clock row as stored (absent in data dirs from before leader stamps).
    fn load_sm_clock(&self) -> Result<SmClock, StorageError> {
        let raw = self.get(NS_STATE, KEY_CLOCK).map_err(sm_read_err)?.map(|e| e.value);
        match raw {
            None => Ok(SmClock::default()),
            Some(raw) => SmClock::decode(&raw)
                .ok_or_else(|| sm_read_err(std::io::Error::other("the state machine's clock row is corrupt"))),
        }
    }

    pub fn cluster_map(&self) -> ClusterMap {
        self.map.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn get(&self, ns: &str, key: &[u8]) -> Result<Option<KvEntry>, rocksdb::Error> {
        let raw_key = kv::encode_key(ns, key);
        Ok(self
            .db
            .get_cf(cf(&self.db, CF_KV), &raw_key)?
            .and_then(|raw| kv::decode_entry(&raw_key, &raw)))
    }

    /// Entries of `ns` whose key starts with `prefix`, strictly after `start_after`, at most
    /// `limit`; the flag tells whether more remain.
    pub fn scan(
        &self,
        ns: &str,
        prefix: &[u8],
        start_after: &[u8],
        limit: usize,
    ) -> Result<(Vec<KvEntry>, bool), rocksdb::Error> {
        let raw_prefix = kv::encode_key(ns, prefix);
        let after = (!start_after.is_empty()).then(|| kv::encode_key(ns, start_after));
        let from = match &after {
            Some(a) if *a > raw_prefix => a.clone(),
            _ => raw_prefix.clone(),
        };
        let iter = self
            .db
            .iterator_cf(cf(&self.db, CF_KV), IteratorMode::From(&from, Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(&raw_prefix) {
                break;
            }
            if after.as_deref().is_some_and(|a| k.as_ref() <= a) {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            if let Some(e) = kv::decode_entry(&k, &v) {
                out.push(e);
            }
        }
        Ok((out, false))
    }

    fn get_sm<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        let raw = self.db.get_cf(cf(&self.db, CF_SM), key).map_err(sm_read_err)?;
        raw.map(|r| serde_json::from_slice(&r).map_err(sm_read_err)).transpose()
    }
}

#[derive(Clone)]
pub struct StateMachineStore {
    view: Arc<StateView>,
    /// Serialises replacing the stored snapshot: a build and an install may run at once.
    snapshot_lock: Arc<std::sync::Mutex<()>>,
}

impl StateMachineStore {
    pub fn open(db: Db) -> Result<Self, StorageError> {
        let view = StateView {
            db,
            map: RwLock::new(ClusterMap::default()),
            clock: RwLock::new(SmClock::default()),
        };
        let map: ClusterMap = view.get_sm(KEY_MAP)?.unwrap_or_default();
        *view.map.write().unwrap_or_else(|p| p.into_inner()) = map;
        view.set_sm_clock(view.load_sm_clock()?);
        index_shards_if_missing(&view.db)?;
        Ok(Self {
            view: Arc::new(view),
            snapshot_lock: Arc::default(),
        })
    }

    pub fn view(&self) -> Arc<StateView> {
        self.view.clone()
    }

    fn db(&self) -> &Db {
        &self.view.db
    }

    fn build(&self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let db = self.db();
        let snap = db.snapshot();
        let get = |key: &[u8]| -> Result<Option<Vec<u8>>, StorageError> {
            snap.get_cf(cf(db, CF_SM), key).map_err(sm_read_err)
        };
        let last_applied: Option<LogId> = parse(get(KEY_APPLIED)?)?;
        let membership: StoredMembership = parse(get(KEY_MEMBERSHIP)?)?.unwrap_or_default();
        let cluster_map: ClusterMap = parse(get(KEY_MAP)?)?.unwrap_or_default();
        let mut rows = Vec::new();
        for item in snap.iterator_cf(cf(db, CF_KV), IteratorMode::Start) {
            let (k, v) = item.map_err(sm_read_err)?;
            rows.push((k.to_vec(), v.to_vec()));
        }
        let payload = SnapshotPayload {
            last_applied,
            membership: membership.clone(),
            cluster_map,
            kv: rows,
        };
        let data = bincode::serialize(&payload).map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, uuid::Uuid::new_v4().simple()),
            None => format!("empty-{}", uuid::Uuid::new_v4().simple()),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        self.save_snapshot(&meta, &data)?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }

    /// Stores the snapshot as the current one, unless the current one is more recent (a build
    /// that started before an install finished): a snapshot never goes back. True if stored.
    pub(crate) fn save_snapshot(
        &self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        data: &[u8],
    ) -> Result<bool, StorageError> {
        let _guard = self.snapshot_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = self.stored_snapshot()? {
            if current.meta.last_log_id > meta.last_log_id {
                tracing::info!(
                    kept = ?current.meta.last_log_id,
                    dropped = ?meta.last_log_id,
                    "a newer snapshot was stored meanwhile; the older one is not kept"
                );
                return Ok(false);
            }
        }
        let stored = bincode::serialize(&StoredSnapshot {
            meta: meta.clone(),
            data: data.to_vec(),
        })
        .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        self.db()
            .put_cf_opt(cf(self.db(), CF_SM), KEY_SNAPSHOT, stored, &sync_write())
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        Ok(true)
    }

    fn stored_snapshot(&self) -> Result<Option<StoredSnapshot>, StorageError> {
        let raw = self
            .db()
            .get_cf(cf(self.db(), CF_SM), KEY_SNAPSHOT)
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        raw.map(|raw| bincode::deserialize(&raw).map_err(|e| StorageIOError::read_snapshot(None, &e).into()))
            .transpose()
    }

    fn install(&self, meta: &SnapshotMeta<u64, openraft::BasicNode>, data: Vec<u8>) -> Result<(), StorageError> {
        let payload: SnapshotPayload =
            bincode::deserialize(&data).map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let db = self.db();
        let mut batch = WriteBatch::default();
        // Namespaces are ASCII, so every keyspace row sorts below 0xFF.
        batch.delete_range_cf(cf(db, CF_KV), b"".as_slice(), b"\xff".as_slice());
        for (k, v) in &payload.kv {
            batch.put_cf(cf(db, CF_KV), k, v);
        }
        let sm = cf(db, CF_SM);
        batch.put_cf(sm, KEY_APPLIED, to_json(&payload.last_applied)?);
        batch.put_cf(sm, KEY_MEMBERSHIP, to_json(&payload.membership)?);
        batch.put_cf(sm, KEY_MAP, to_json(&payload.cluster_map)?);
        db.write_opt(batch, &sync_write()).map_err(sm_write_err)?;
        // A snapshot from a node that predates the index carries none.
        index_shards_if_missing(db)?;
        *self.view.map.write().unwrap_or_else(|p| p.into_inner()) = payload.cluster_map;
        self.view.set_sm_clock(self.view.load_sm_clock()?);
        self.save_snapshot(meta, &data)?;
        Ok(())
    }
}

fn index_shards_if_missing(db: &Db) -> Result<(), StorageError> {
    let started = std::time::Instant::now();
    if let Some(rows) = super::shard_index::build_if_missing(db).map_err(sm_write_err)? {
        tracing::info!(
            rows,
            took_ms = started.elapsed().as_millis() as u64,
            "per-node shard index built"
        );
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(raw: Option<Vec<u8>>) -> Result<Option<T>, StorageError> {
    raw.map(|r| serde_json::from_slice(&r).map_err(sm_read_err)).transpose()
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(sm_write_err)
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.build())
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let applied = self.view.get_sm(KEY_APPLIED)?;
        let membership = self.view.get_sm(KEY_MEMBERSHIP)?.unwrap_or_default();
        Ok((applied, membership))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResult>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let db = self.view.db.clone();
        let mut map = self.view.cluster_map();
        let clock_before = self.view.sm_clock();
        let mut applier = Applier::new(&db, &mut map, clock_before);
        let mut results = Vec::new();
        let mut last_applied = None;
        let mut membership = None;
        for entry in entries {
            let index = entry.log_id.index;
            last_applied = Some(entry.log_id);
            results.push(match entry.payload {
                EntryPayload::Blank => CommandResult::Done,
                EntryPayload::Normal(cmd) => applier
                    .apply_entry(cmd, index)
                    .map_err(|e| StorageIOError::apply(entry.log_id, &e))?,
                EntryPayload::Membership(m) => {
                    membership = Some(StoredMembership::new(Some(entry.log_id), m));
                    CommandResult::Done
                }
            });
        }
        let clock = applier.clock;
        if clock != clock_before {
            applier.write_clock();
        }
        let map_changed = applier.map_changed;
        let mut batch = std::mem::take(&mut applier.batch);
        drop(applier);
        let sm = cf(&db, CF_SM);
        if let Some(applied) = last_applied {
            batch.put_cf(sm, KEY_APPLIED, to_json(&applied)?);
        }
        if let Some(m) = &membership {
            batch.put_cf(sm, KEY_MEMBERSHIP, to_json(m)?);
        }
        if map_changed {
            batch.put_cf(sm, KEY_MAP, to_json(&map)?);
        }
        // Not synced on its own: the log is the durable record, and the next synced log write
        // (or a purge) flushes this too. Losing it only means re-applying from the log.
        db.write(batch).map_err(sm_write_err)?;
        self.view.set_sm_clock(clock);
        if map_changed {
            *self.view.map.write().unwrap_or_else(|p| p.into_inner()) = map;
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let this = self.clone();
        let meta = meta.clone();
        let data = snapshot.into_inner();
        tokio::task::spawn_blocking(move || this.install(&meta, data))
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let Some(stored) = self.stored_snapshot()? else {
            return Ok(None);
        };
        Ok(Some(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}
