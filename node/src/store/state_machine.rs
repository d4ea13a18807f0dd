//! The Raft state machine: cluster map and metadata keyspace in RocksDB, snapshots of both.

use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StorageIOError};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};

use super::apply::{Applier, SmClock, KEY_CLOCK, NS_STATE};
use super::db::{cf, sync_write, Db, CF_KV, CF_SM};
use super::snapshot_file::{self, SnapshotHeader};
use crate::cluster_map::ClusterMap;
use crate::kv::{self, KvEntry};
use crate::raft::{CommandResult, Entry, LogId, StorageError, StoredMembership, TypeConfig};

const KEY_APPLIED: &[u8] = b"last_applied";
const KEY_MEMBERSHIP: &[u8] = b"membership";
const KEY_MAP: &[u8] = b"cluster_map";
/// Before snapshot files: the whole snapshot as one value. Removed on open.
const KEY_SNAPSHOT_INLINE: &[u8] = b"current_snapshot";
/// The current snapshot: its meta and its file's name.
const KEY_SNAPSHOT_FILE: &[u8] = b"snapshot_file";
/// Present while a received snapshot replaces the state; resumed on open.
const KEY_INSTALLING: &[u8] = b"installing_snapshot";
/// Subdirectory of the metadata store's directory holding snapshot files.
const SNAPSHOT_DIR: &str = "snapshots";
/// Rows per install write: bounded memory, few WAL writes.
const INSTALL_BATCH_BYTES: usize = 8 << 20;

/// Where the current snapshot is.
#[derive(Serialize, Deserialize)]
struct SnapshotPointer {
    meta: SnapshotMeta<u64, openraft::BasicNode>,
    file: String,
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
        let store = Self {
            view: Arc::new(view),
            snapshot_lock: Arc::default(),
        };
        // No build runs yet: temp files are what a crash left.
        remove_files(&store.snapshot_dir(), |name| name.ends_with(".tmp"));
        store.resume_install()?;
        if store
            .db()
            .get_cf(cf(store.db(), CF_SM), KEY_SNAPSHOT_INLINE)
            .map_err(sm_read_err)?
            .is_some()
        {
            // openraft builds a file snapshot when one is next needed.
            store
                .db()
                .delete_cf(cf(store.db(), CF_SM), KEY_SNAPSHOT_INLINE)
                .map_err(sm_write_err)?;
        }
        index_shards_if_missing(store.db())?;
        Ok(store)
    }

    pub fn view(&self) -> Arc<StateView> {
        self.view.clone()
    }

    fn db(&self) -> &Db {
        &self.view.db
    }

    /// Where snapshot files live: beside RocksDB's own files, in the same directory tree.
    pub(super) fn snapshot_dir(&self) -> PathBuf {
        self.db().path().join(SNAPSHOT_DIR)
    }

    /// Streams the applied state, read from one RocksDB snapshot (so it is consistent), to a
    /// file; memory stays bounded by a row whatever the keyspace's size.
    fn build(&self) -> Result<(SnapshotMeta<u64, openraft::BasicNode>, std::fs::File), StorageError> {
        let db = self.db();
        let snap = db.snapshot();
        let get = |key: &[u8]| -> Result<Option<Vec<u8>>, StorageError> {
            snap.get_cf(cf(db, CF_SM), key).map_err(sm_read_err)
        };
        let last_applied: Option<LogId> = parse(get(KEY_APPLIED)?)?;
        let membership: StoredMembership = parse(get(KEY_MEMBERSHIP)?)?.unwrap_or_default();
        let cluster_map: ClusterMap = parse(get(KEY_MAP)?)?.unwrap_or_default();
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, uuid::Uuid::new_v4().simple()),
            None => format!("empty-{}", uuid::Uuid::new_v4().simple()),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership.clone(),
            snapshot_id,
        };
        let header = SnapshotHeader {
            last_applied,
            membership,
            cluster_map,
        };
        let rows = snap
            .iterator_cf(cf(db, CF_KV), IteratorMode::Start)
            .map(|item| item.map_err(std::io::Error::other));
        let write_err = |e: std::io::Error| StorageIOError::write_snapshot(Some(meta.signature()), &e);
        let name = file_name(&meta.snapshot_id).map_err(write_err)?;
        let path = snapshot_file::write(&self.snapshot_dir(), &name, &header, rows).map_err(write_err)?;
        // Opened before it may be superseded (and unlinked): the caller still reads it whole.
        let file = std::fs::File::open(&path).map_err(write_err)?;
        self.save_snapshot(&meta, &name)?;
        Ok((meta, file))
    }

    /// Makes `<snapshot dir>/<name>` the current snapshot, unless the current one is more recent
    /// (a build that started before an install finished): a snapshot never goes back. Files of
    /// superseded snapshots are removed. True if stored.
    pub(crate) fn save_snapshot(
        &self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        name: &str,
    ) -> Result<bool, StorageError> {
        let _guard = self.snapshot_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.save_locked(meta, name)
    }

    /// [`Self::save_snapshot`] for a caller holding `snapshot_lock`.
    fn save_locked(&self, meta: &SnapshotMeta<u64, openraft::BasicNode>, name: &str) -> Result<bool, StorageError> {
        let dir = self.snapshot_dir();
        if !dir.join(name).exists() {
            // Removed by an install that finished first: that one is current.
            return Ok(false);
        }
        if let Some(current) = self.stored_snapshot()? {
            if current.meta.last_log_id > meta.last_log_id {
                tracing::info!(
                    kept = ?current.meta.last_log_id,
                    dropped = ?meta.last_log_id,
                    "a newer snapshot was stored meanwhile; the older one is not kept"
                );
                let _ = std::fs::remove_file(dir.join(name));
                return Ok(false);
            }
        }
        let pointer = serde_json::to_vec(&SnapshotPointer {
            meta: meta.clone(),
            file: name.to_owned(),
        })
        .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        self.db()
            .put_cf_opt(cf(self.db(), CF_SM), KEY_SNAPSHOT_FILE, pointer, &sync_write())
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        remove_other_snapshots(&dir, name);
        Ok(true)
    }

    fn stored_snapshot(&self) -> Result<Option<SnapshotPointer>, StorageError> {
        let raw = self
            .db()
            .get_cf(cf(self.db(), CF_SM), KEY_SNAPSHOT_FILE)
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        raw.map(|raw| serde_json::from_slice(&raw).map_err(|e| StorageIOError::read_snapshot(None, &e).into()))
            .transpose()
    }

    /// Keeps a received snapshot durably (checked against its hash), records that it is being
    /// installed, then replaces the keyspace from it. A crash in between resumes on open.
    fn install(
        &self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        mut received: std::fs::File,
    ) -> Result<(), StorageError> {
        let read_err = |e: std::io::Error| StorageIOError::read_snapshot(Some(meta.signature()), &e);
        let name = file_name(&meta.snapshot_id).map_err(read_err)?;
        // Held throughout, so a build finishing meanwhile cannot remove the file being installed.
        let _guard = self.snapshot_lock.lock().unwrap_or_else(|p| p.into_inner());
        received.seek(SeekFrom::Start(0)).map_err(read_err)?;
        snapshot_file::copy_verified(received, &self.snapshot_dir(), &name).map_err(read_err)?;
        let pointer = SnapshotPointer {
            meta: meta.clone(),
            file: name,
        };
        let raw = serde_json::to_vec(&pointer).map_err(sm_write_err)?;
        self.db()
            .put_cf_opt(cf(self.db(), CF_SM), KEY_INSTALLING, raw, &sync_write())
            .map_err(sm_write_err)?;
        self.replace_state_from(&pointer)?;
        self.save_locked(meta, &pointer.file)?;
        Ok(())
    }

    /// Replaces the applied state with the snapshot file's, in bounded batches. The last batch
    /// (applied log id, membership, map, and clearing the install record) is synced and makes
    /// the install count; until then a restart starts it over from the file.
    fn replace_state_from(&self, pointer: &SnapshotPointer) -> Result<(), StorageError> {
        let path = self.snapshot_dir().join(&pointer.file);
        let read_err = |e: std::io::Error| StorageIOError::read_snapshot(Some(pointer.meta.signature()), &e);
        let mut reader = snapshot_file::Reader::open(&path).map_err(read_err)?;
        let db = self.db();
        let mut batch = WriteBatch::default();
        // Namespaces are ASCII, so every keyspace row sorts below 0xFF.
        batch.delete_range_cf(cf(db, CF_KV), b"".as_slice(), b"\xff".as_slice());
        while let Some((k, v)) = reader.next_row().map_err(read_err)? {
            batch.put_cf(cf(db, CF_KV), k, v);
            if batch.size_in_bytes() >= INSTALL_BATCH_BYTES {
                db.write(std::mem::take(&mut batch)).map_err(sm_write_err)?;
            }
        }
        let header = std::mem::replace(
            &mut reader.header,
            SnapshotHeader {
                last_applied: None,
                membership: StoredMembership::default(),
                cluster_map: ClusterMap::default(),
            },
        );
        reader.finish().map_err(read_err)?;
        let sm = cf(db, CF_SM);
        batch.put_cf(sm, KEY_APPLIED, to_json(&header.last_applied)?);
        batch.put_cf(sm, KEY_MEMBERSHIP, to_json(&header.membership)?);
        batch.put_cf(sm, KEY_MAP, to_json(&header.cluster_map)?);
        batch.delete_cf(sm, KEY_INSTALLING);
        db.write_opt(batch, &sync_write()).map_err(sm_write_err)?;
        // A snapshot from a node that predates the index carries none.
        index_shards_if_missing(db)?;
        *self.view.map.write().unwrap_or_else(|p| p.into_inner()) = header.cluster_map;
        self.view.set_sm_clock(self.view.load_sm_clock()?);
        Ok(())
    }

    #[cfg(test)]
    pub(super) fn record_install_for_test(&self, meta: &SnapshotMeta<u64, openraft::BasicNode>, name: &str) {
        let pointer = SnapshotPointer {
            meta: meta.clone(),
            file: name.to_owned(),
        };
        let raw = serde_json::to_vec(&pointer).unwrap();
        self.db().put_cf(cf(self.db(), CF_SM), KEY_INSTALLING, raw).unwrap();
    }

    /// Finishes an install a crash interrupted, before anything reads the state.
    fn resume_install(&self) -> Result<(), StorageError> {
        let raw = self
            .db()
            .get_cf(cf(self.db(), CF_SM), KEY_INSTALLING)
            .map_err(sm_read_err)?;
        let Some(raw) = raw else {
            return Ok(());
        };
        let pointer: SnapshotPointer = serde_json::from_slice(&raw).map_err(sm_read_err)?;
        tracing::warn!(
            snapshot = %pointer.meta.snapshot_id,
            "a snapshot install was interrupted; installing it again from its file"
        );
        self.replace_state_from(&pointer)?;
        self.save_snapshot(&pointer.meta, &pointer.file)?;
        Ok(())
    }
}

/// Snapshot ids come from the leader: only what is safe in a file name is accepted.
pub(super) fn file_name(snapshot_id: &str) -> std::io::Result<String> {
    if snapshot_id.is_empty()
        || snapshot_id.len() > 128
        || !snapshot_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("snapshot id {snapshot_id:?} is not a plain name"),
        ));
    }
    Ok(format!("{snapshot_id}.snap"))
}

/// Removes every complete snapshot file but `keep` (a `.tmp` may be a build in progress; leftovers
/// of crashes go at open). Best effort: a file that stays only costs disk.
fn remove_other_snapshots(dir: &Path, keep: &str) {
    remove_files(dir, |name| name != keep && name.ends_with(".snap"));
}

fn remove_files(dir: &Path, pick: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_str().is_some_and(&pick) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %entry.path().display(), "old snapshot file not removed: {e}");
            }
        }
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
        let (meta, file) = tokio::task::spawn_blocking(move || this.build())
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))??;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(tokio::fs::File::from_std(file)),
        })
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
        // Applying a large transaction is seconds of RocksDB work in a debug build: off the async
        // workers, so heartbeats and RPCs keep being served meanwhile.
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => self.apply_now(entries),
            _ => tokio::task::block_in_place(|| self.apply_now(entries)),
        }
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    /// An unnamed file (created, then unlinked): a transfer cut short by a crash leaves nothing.
    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        let dir = self.snapshot_dir();
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("receiving-{}.part", uuid::Uuid::new_v4().simple()));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            std::fs::remove_file(&path)?;
            Ok(file)
        })
        .await
        .map_err(|e| StorageIOError::write_snapshot(None, &e))?
        .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(Box::new(tokio::fs::File::from_std(file)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError> {
        let this = self.clone();
        let meta = meta.clone();
        let received = snapshot.into_std().await;
        tokio::task::spawn_blocking(move || this.install(&meta, received))
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let Some(stored) = self.stored_snapshot()? else {
            return Ok(None);
        };
        let path = self.snapshot_dir().join(&stored.file);
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Some(Snapshot {
                meta: stored.meta,
                snapshot: Box::new(file),
            })),
            Err(e) => {
                // openraft builds a new one when a follower needs it.
                tracing::warn!(file = %path.display(), "current snapshot file unreadable: {e}");
                Ok(None)
            }
        }
    }
}

impl StateMachineStore {
    fn apply_now<I>(&mut self, entries: I) -> Result<Vec<CommandResult>, StorageError>
    where
        I: IntoIterator<Item = Entry>,
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
}
