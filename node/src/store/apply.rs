//! Applying commands to the state: deterministic, with an overlay so that later commands in
//! the same apply batch see the writes of earlier ones before anything reaches RocksDB.
//!
//! Each applied command (each member of a `Command::Batch`) gets its own revision, strictly
//! greater than the last one and at least its log index, so a revision names one version of a
//! key even when grouped commits write it twice in one entry. The state machine's time is the
//! largest leader stamp applied so far (`Command::Stamped`); conditions on time read it.

use std::collections::HashMap;

use rocksdb::WriteBatch;

use super::db::{cf, Db, CF_KV};
use super::shard_index;
use crate::cluster_map::ClusterMap;
use crate::kv::{self, KvEntry};
use crate::raft::{Command, CommandResult, Expect};

pub(crate) use crate::sys_keys::NS_STATE;
/// Where the state machine keeps its clock: a keyspace row, so snapshots carry it.
pub(crate) const KEY_CLOCK: &[u8] = b"clock";

/// The state machine's time and revision counter, persisted with the applied state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SmClock {
    /// The largest leader stamp applied (ms since the epoch); never goes back.
    pub time_ms: u64,
    /// The last revision given to a command.
    pub last_revision: u64,
}

impl SmClock {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.time_ms.to_be_bytes().to_vec();
        v.extend_from_slice(&self.last_revision.to_be_bytes());
        v
    }

    pub fn decode(raw: &[u8]) -> Option<Self> {
        let time_ms = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
        let last_revision = u64::from_be_bytes(raw.get(8..16)?.try_into().ok()?);
        Some(Self { time_ms, last_revision })
    }
}

pub(crate) struct Applier<'a> {
    db: &'a Db,
    pub batch: WriteBatch,
    /// Raw key -> raw value (None = deleted) written earlier in this batch.
    overlay: HashMap<Vec<u8>, Option<Vec<u8>>>,
    pub map: &'a mut ClusterMap,
    pub map_changed: bool,
    pub clock: SmClock,
}

impl<'a> Applier<'a> {
    pub fn new(db: &'a Db, map: &'a mut ClusterMap, clock: SmClock) -> Self {
        Self {
            db,
            batch: WriteBatch::default(),
            overlay: HashMap::new(),
            map,
            map_changed: false,
            clock,
        }
    }

    /// Applies the command of the log entry at `index`: its stamp moves the time forward, and each
    /// member of a batch gets its own revision.
    pub fn apply_entry(&mut self, cmd: Command, index: u64) -> Result<CommandResult, rocksdb::Error> {
        let cmd = match cmd {
            Command::Stamped { stamped_ms, cmd } => {
                self.clock.time_ms = self.clock.time_ms.max(stamped_ms);
                cmd.unstamped()
            }
            other => other,
        };
        match cmd {
            Command::Batch(cmds) => {
                let mut results = Vec::with_capacity(cmds.len());
                for c in cmds {
                    let revision = self.next_revision(index);
                    results.push(self.apply(c, revision)?);
                }
                Ok(CommandResult::Batch(results))
            }
            other => {
                let revision = self.next_revision(index);
                self.apply(other, revision)
            }
        }
    }

    fn next_revision(&mut self, index: u64) -> u64 {
        let revision = (self.clock.last_revision + 1).max(index);
        self.clock.last_revision = revision;
        revision
    }

    /// Queues the clock row in the batch.
    pub fn write_clock(&mut self) {
        let revision = self.clock.last_revision;
        let value = self.clock.encode();
        self.write(
            kv::encode_key(NS_STATE, KEY_CLOCK),
            Some(kv::encode_value(revision, &value)),
        );
    }

    fn read(&self, raw_key: &[u8]) -> Result<Option<Vec<u8>>, rocksdb::Error> {
        if let Some(v) = self.overlay.get(raw_key) {
            return Ok(v.clone());
        }
        self.db.get_cf(cf(self.db, CF_KV), raw_key)
    }

    fn write(&mut self, raw_key: Vec<u8>, raw_value: Option<Vec<u8>>) {
        let handle = cf(self.db, CF_KV);
        match &raw_value {
            Some(v) => self.batch.put_cf(handle, &raw_key, v),
            None => self.batch.delete_cf(handle, &raw_key),
        }
        self.overlay.insert(raw_key, raw_value);
    }

    fn current(&self, ns: &str, key: &[u8]) -> Result<Option<KvEntry>, rocksdb::Error> {
        let raw_key = kv::encode_key(ns, key);
        Ok(self.read(&raw_key)?.and_then(|raw| kv::decode_entry(&raw_key, &raw)))
    }

    /// Applies `cmd` at `revision`; the writes of a transaction or an atomic batch share it.
    fn apply(&mut self, cmd: Command, revision: u64) -> Result<CommandResult, rocksdb::Error> {
        let now = self.clock.time_ms;
        Ok(match cmd {
            Command::InitCluster { cluster_id, node } => self.map_op(|m| m.init(&cluster_id, node)),
            Command::AddNode(node) => self.map_op(|m| m.add_node(node)),
            Command::SetNodeState { node_id, state } => self.map_op(|m| m.set_state(node_id, state)),
            Command::Put { ns, key, value } => {
                self.index_shards(&ns, &key, Some(&value), revision)?;
                self.write(kv::encode_key(&ns, &key), Some(kv::encode_value(revision, &value)));
                CommandResult::Put { revision }
            }
            Command::Delete { ns, key } => {
                let existed = self.current(&ns, &key)?.is_some();
                if existed {
                    self.index_shards(&ns, &key, None, revision)?;
                    self.write(kv::encode_key(&ns, &key), None);
                }
                CommandResult::Delete { existed, revision }
            }
            Command::Cas {
                ns,
                key,
                expect,
                new_value,
            } => {
                let current = self.current(&ns, &key)?;
                let holds = holds(&expect, &current, now);
                if !holds {
                    return Ok(CommandResult::Cas {
                        succeeded: false,
                        current,
                        revision,
                    });
                }
                self.index_shards(&ns, &key, new_value.as_deref(), revision)?;
                let raw_key = kv::encode_key(&ns, &key);
                let after = new_value.map(|value| KvEntry {
                    ns,
                    key,
                    value,
                    revision,
                });
                self.write(raw_key, after.as_ref().map(|e| kv::encode_value(revision, &e.value)));
                CommandResult::Cas {
                    succeeded: true,
                    current: after,
                    revision,
                }
            }
            Command::Txn { conditions, then } => {
                for (i, c) in conditions.iter().enumerate() {
                    let current = match c.expect {
                        Expect::StateTimeBefore(_) | Expect::StateTimeFrom(_) => None,
                        _ => self.current(&c.ns, &c.key)?,
                    };
                    if !holds(&c.expect, &current, now) {
                        return Ok(CommandResult::Txn {
                            succeeded: false,
                            failed_condition: Some(i),
                            results: vec![],
                        });
                    }
                }
                let mut results = Vec::with_capacity(then.len());
                for c in then {
                    results.push(self.apply(c, revision)?);
                }
                CommandResult::Txn {
                    succeeded: true,
                    failed_condition: None,
                    results,
                }
            }
            Command::Batch(cmds) => {
                let mut results = Vec::with_capacity(cmds.len());
                for c in cmds {
                    results.push(self.apply(c, revision)?);
                }
                CommandResult::Batch(results)
            }
            // Only an entry's outer stamp counts (`apply_entry`).
            Command::Stamped { cmd, .. } => self.apply(*cmd, revision)?,
        })
    }

    /// Keeps the per-node shard index (`shard_index`) in step with a write of `ns/key`: only
    /// manifest rows index anything.
    fn index_shards(
        &mut self,
        ns: &str,
        key: &[u8],
        new_value: Option<&[u8]>,
        revision: u64,
    ) -> Result<(), rocksdb::Error> {
        if !shard_index::is_manifest_ns(ns) {
            return Ok(());
        }
        let old = self.current(ns, key)?.map(|e| e.value);
        let (gone, added) = shard_index::changes(old.as_deref(), new_value);
        for row in gone {
            self.write(kv::encode_key(&row.ns(), &row.key()), None);
        }
        for (row, owner) in added {
            self.write(
                kv::encode_key(&row.ns(), &row.key()),
                Some(kv::encode_value(revision, &owner)),
            );
        }
        Ok(())
    }

    fn map_op(&mut self, op: impl FnOnce(&mut ClusterMap) -> Result<(), String>) -> CommandResult {
        match op(self.map) {
            Ok(()) => {
                self.map_changed = true;
                CommandResult::Done
            }
            Err(reason) => CommandResult::Rejected(reason),
        }
    }
}

/// Whether `expect` holds for `current` at state time `now_ms`.
fn holds(expect: &Expect, current: &Option<KvEntry>, now_ms: u64) -> bool {
    match (expect, current) {
        (Expect::StateTimeBefore(deadline), _) => now_ms < *deadline,
        (Expect::StateTimeFrom(from), _) => now_ms >= *from,
        (Expect::RetentionPassed, None) => true,
        // An unreadable manifest keeps its object: refusing a delete is the safe side.
        (Expect::RetentionPassed, Some(c)) => {
            crate::objects::Manifest::decode(&c.value).is_ok_and(|m| m.retain_until_ms <= now_ms)
        }
        (Expect::Unlocked { .. }, None) => true,
        // An unreadable lock keeps its object, as for manifests.
        (Expect::Unlocked { bypass_governance }, Some(c)) => {
            crate::objects::ObjectLock::decode(&c.value).is_ok_and(|l| !l.prevents_removal(now_ms, *bypass_governance))
        }
        (Expect::Absent, None) => true,
        (Expect::Value(v), Some(c)) => &c.value == v,
        (Expect::Revision(r), Some(c)) => c.revision == *r,
        _ => false,
    }
}
