//! The per-node shard index: `sys.nodeshards/<node id>` → `<object id hex>.<index>` → the owning
//! namespace and key (NUL-separated). It lets the scrubber's missing-shard pass, a drain and a
//! lost node's re-queueing walk one node's shards page by page, instead of decoding every
//! manifest of the cluster into memory.
//!
//! Derived data, kept in apply: every write of a manifest row (`sys.obj/*`) updates the index in
//! the same RocksDB batch, from the old and new manifests. A data dir from before the index is
//! indexed once when the state machine opens (or installs a snapshot without it), from the state
//! alone, so every node derives the same rows. Snapshots carry it like any keyspace row.

use std::collections::BTreeSet;

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::db::{cf, sync_write, Db, CF_KV};
use crate::kv;
use crate::objects::model::{Storage, NS_MANIFEST_PREFIX};
use crate::objects::Manifest;
/// An index row's value: the namespace and key it points at, as `sys.objid` holds them.
pub(crate) use crate::objects::{owner_value, parse_owner};
use crate::shards::object_id_hex;

pub use crate::sys_keys::NS_NODE_SHARDS_PREFIX;
/// In `sys.state`: present once the index is complete (value: its format version).
pub(crate) const KEY_SHARD_INDEX: &[u8] = b"shard_index";
const INDEX_VERSION: &[u8] = b"1";
/// Rows per RocksDB batch while building the index of an old data dir.
const BUILD_BATCH: usize = 10_000;

pub fn node_shards_ns(node_id: u64) -> String {
    format!("{NS_NODE_SHARDS_PREFIX}{node_id}")
}

/// One index row: the shard `index` of object `object_hex` is on `node_id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ShardRow {
    pub node_id: u64,
    pub object_hex: String,
    pub index: u32,
}

impl ShardRow {
    pub fn ns(&self) -> String {
        node_shards_ns(self.node_id)
    }

    pub fn key(&self) -> Vec<u8> {
        format!("{}.{}", self.object_hex, self.index).into_bytes()
    }
}

/// Whether keyspace namespace `ns` holds manifests.
pub(crate) fn is_manifest_ns(ns: &str) -> bool {
    ns.starts_with(NS_MANIFEST_PREFIX)
}

/// The rows a manifest (its stored value, without the revision) puts in the index. An
/// unreadable manifest has none: the scrubber cannot act on it either.
pub(crate) fn rows_of(value: &[u8]) -> BTreeSet<ShardRow> {
    let Ok(m) = Manifest::decode(value) else {
        return BTreeSet::new();
    };
    rows_of_manifest(&m)
}

fn rows_of_manifest(m: &Manifest) -> BTreeSet<ShardRow> {
    let Storage::Sharded { shards, .. } = &m.storage else {
        return BTreeSet::new();
    };
    let object_hex = object_id_hex(&m.object_id);
    shards
        .iter()
        .map(|s| ShardRow {
            node_id: s.node_id,
            object_hex: object_hex.clone(),
            index: s.index,
        })
        .collect()
}

/// The index writes that replacing manifest `old` with `new` (raw values without revision)
/// needs: rows to delete, and rows to put with the owner value.
pub(crate) fn changes(old: Option<&[u8]>, new: Option<&[u8]>) -> (Vec<ShardRow>, Vec<(ShardRow, Vec<u8>)>) {
    let before = old.map(rows_of).unwrap_or_default();
    let (after, owner) = match new.and_then(|v| Manifest::decode(v).ok()) {
        Some(m) => (rows_of_manifest(&m), owner_value(&m.namespace, &m.key)),
        None => (BTreeSet::new(), Vec::new()),
    };
    let gone = before.difference(&after).cloned().collect();
    let added = after.difference(&before).map(|r| (r.clone(), owner.clone())).collect();
    (gone, added)
}

/// Builds the index of a data dir that has none yet (or a partial one left by a crash during a
/// build), in bounded batches; the marker goes last, synced. Returns the rows written, or None
/// when the index was already complete.
pub(crate) fn build_if_missing(db: &Db) -> Result<Option<usize>, rocksdb::Error> {
    let kv_cf = cf(db, CF_KV);
    let marker = kv::encode_key(super::apply::NS_STATE, KEY_SHARD_INDEX);
    if db.get_cf(kv_cf, &marker)?.is_some() {
        return Ok(None);
    }
    let mut batch = WriteBatch::default();
    // Rows from an interrupted build are rewritten below; stale ones cannot exist (nothing is
    // applied before the build completes), but clearing first makes that obvious.
    let start = NS_NODE_SHARDS_PREFIX.as_bytes().to_vec();
    let mut end = start.clone();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    batch.delete_range_cf(kv_cf, &start, &end);
    let mut rows = 0usize;
    let prefix = NS_MANIFEST_PREFIX.as_bytes();
    for item in db.iterator_cf(kv_cf, IteratorMode::From(prefix, Direction::Forward)) {
        let (raw_key, raw_value) = item?;
        if !raw_key.starts_with(prefix) {
            break;
        }
        let Some(entry) = kv::decode_entry(&raw_key, &raw_value) else {
            continue;
        };
        let (_, added) = changes(None, Some(&entry.value));
        for (row, owner) in added {
            batch.put_cf(
                kv_cf,
                kv::encode_key(&row.ns(), &row.key()),
                kv::encode_value(0, &owner),
            );
            rows += 1;
        }
        if batch.len() >= BUILD_BATCH {
            db.write(std::mem::take(&mut batch))?;
        }
    }
    batch.put_cf(kv_cf, &marker, kv::encode_value(0, INDEX_VERSION));
    db.write_opt(batch, &sync_write())?;
    Ok(Some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec_profile::EcProfile;
    use crate::objects::ShardRef;

    pub(crate) fn sharded(id: u8, nodes: &[u64]) -> Manifest {
        Manifest {
            namespace: "acts".into(),
            key: format!("k{id}"),
            object_id: [id; 16],
            size: 10,
            blake3: [0; 32],
            created_at_ms: 1,
            retain_until_ms: 0,
            storage: Storage::Sharded {
                profile: EcProfile::new(2, 1).unwrap(),
                stripe_size: 1 << 20,
                shards: nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| ShardRef {
                        index: i as u32,
                        node_id: *n,
                        table_hash: [0; 32],
                    })
                    .collect(),
            },
            sealed: None,
        }
    }

    fn rows(view: &crate::store::StateView, node_id: u64) -> Vec<String> {
        let (rows, _) = view.scan(&node_shards_ns(node_id), b"", b"", 1000).unwrap();
        rows.iter()
            .map(|r| {
                format!(
                    "{}={:?}",
                    String::from_utf8_lossy(&r.key),
                    parse_owner(&r.value).unwrap()
                )
            })
            .collect()
    }

    fn put(m: &Manifest) -> crate::raft::Command {
        crate::raft::Command::Put {
            ns: crate::objects::model::manifest_ns(&m.namespace),
            key: m.key.as_bytes().to_vec(),
            value: m.encode(),
        }
    }

    /// Commits, a repair's manifest change and a delete each move exactly their rows.
    #[tokio::test]
    async fn the_index_follows_every_manifest_change() {
        let mut sm = crate::objects::test_sm::Sm::new();
        let a = sharded(1, &[1, 2, 3]);
        let b = sharded(2, &[2, 3, 4]);
        sm.apply(1, put(&a)).await;
        sm.apply(1, put(&b)).await;
        let view = sm.sm.view();
        let hex = |id: u8| object_id_hex(&[id; 16]);
        let owner = |k: &str| format!("{:?}", ("acts".to_owned(), k.to_owned()));
        assert_eq!(
            rows(&view, 2),
            vec![
                format!("{}.1={}", hex(1), owner("k1")),
                format!("{}.0={}", hex(2), owner("k2"))
            ]
        );
        let repaired = sharded(1, &[1, 4, 3]);
        sm.apply(2, put(&repaired)).await;
        assert_eq!(rows(&view, 2), vec![format!("{}.0={}", hex(2), owner("k2"))]);
        assert_eq!(rows(&view, 4).len(), 2);
        sm.apply(
            3,
            crate::raft::Command::Delete {
                ns: "sys.obj/acts".into(),
                key: b"k2".to_vec(),
            },
        )
        .await;
        assert!(rows(&view, 2).is_empty());
        assert_eq!(rows(&view, 4), vec![format!("{}.1={}", hex(1), owner("k1"))]);
    }

    /// A data dir written before the index existed (no rows, no marker) is indexed when it
    /// opens, exactly as apply would have.
    #[tokio::test]
    async fn an_old_data_dir_is_indexed_when_it_opens() {
        let mut sm = crate::objects::test_sm::Sm::new();
        for id in 1..=5u8 {
            sm.apply(1, put(&sharded(id, &[u64::from(id), 7, 8]))).await;
        }
        let expected: Vec<_> = (1..=8).map(|n| rows(&sm.sm.view(), n)).collect();
        assert_eq!(expected[6].len(), 5);
        let dir = sm.close();
        {
            let db = super::super::open_db(dir.path()).unwrap();
            let mut batch = WriteBatch::default();
            let start = NS_NODE_SHARDS_PREFIX.as_bytes().to_vec();
            batch.delete_range_cf(cf(&db, CF_KV), start.as_slice(), b"sys.nodeshards0".as_slice());
            batch.delete_cf(
                cf(&db, CF_KV),
                kv::encode_key(super::super::apply::NS_STATE, KEY_SHARD_INDEX),
            );
            db.write(batch).unwrap();
        }
        let store = crate::store::StateMachineStore::open(super::super::open_db(dir.path()).unwrap()).unwrap();
        let rebuilt: Vec<_> = (1..=8).map(|n| rows(&store.view(), n)).collect();
        assert_eq!(rebuilt, expected);
    }

    #[test]
    fn a_repair_moves_exactly_one_row() {
        let before = sharded(1, &[1, 2, 3]);
        let after = sharded(1, &[1, 4, 3]);
        let (gone, added) = changes(Some(&before.encode()), Some(&after.encode()));
        assert_eq!(gone.len(), 1);
        assert_eq!((gone[0].node_id, gone[0].index), (2, 1));
        assert_eq!(added.len(), 1);
        assert_eq!((added[0].0.node_id, added[0].0.index), (4, 1));
        assert_eq!(parse_owner(&added[0].1), Some(("acts".into(), "k1".into())));
        let (gone, added) = changes(Some(&after.encode()), None);
        assert_eq!((gone.len(), added.len()), (3, 0));
    }
}
