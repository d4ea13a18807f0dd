//! Applying commands to the state: deterministic, with an overlay so that later commands in
//! the same apply batch see the writes of earlier ones before anything reaches RocksDB.

use std::collections::HashMap;

use rocksdb::WriteBatch;

use super::db::{cf, Db, CF_KV};
use crate::cluster_map::ClusterMap;
use crate::kv::{self, KvEntry};
use crate::raft::{Command, CommandResult, Expect};

pub(crate) struct Applier<'a> {
    db: &'a Db,
    pub batch: WriteBatch,
    /// Raw key -> raw value (None = deleted) written earlier in this batch.
    overlay: HashMap<Vec<u8>, Option<Vec<u8>>>,
    pub map: &'a mut ClusterMap,
    pub map_changed: bool,
}

impl<'a> Applier<'a> {
    pub fn new(db: &'a Db, map: &'a mut ClusterMap) -> Self {
        Self {
            db,
            batch: WriteBatch::default(),
            overlay: HashMap::new(),
            map,
            map_changed: false,
        }
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

    /// Applies `cmd` written at log index `revision`.
    pub fn apply(&mut self, cmd: Command, revision: u64) -> Result<CommandResult, rocksdb::Error> {
        Ok(match cmd {
            Command::InitCluster { cluster_id, node } => self.map_op(|m| m.init(&cluster_id, node)),
            Command::AddNode(node) => self.map_op(|m| m.add_node(node)),
            Command::SetNodeState { node_id, state } => self.map_op(|m| m.set_state(node_id, state)),
            Command::Put { ns, key, value } => {
                self.write(kv::encode_key(&ns, &key), Some(kv::encode_value(revision, &value)));
                CommandResult::Put { revision }
            }
            Command::Delete { ns, key } => {
                let existed = self.current(&ns, &key)?.is_some();
                if existed {
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
                let holds = holds(&expect, &current);
                if !holds {
                    return Ok(CommandResult::Cas {
                        succeeded: false,
                        current,
                        revision,
                    });
                }
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
                    if !holds(&c.expect, &self.current(&c.ns, &c.key)?) {
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
        })
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

fn holds(expect: &Expect, current: &Option<KvEntry>) -> bool {
    match (expect, current) {
        (Expect::Absent, None) => true,
        (Expect::Value(v), Some(c)) => &c.value == v,
        (Expect::Revision(r), Some(c)) => c.revision == *r,
        _ => false,
    }
}
