//! Fixity evidence: for each shard, when it was last verified, by which node, and the result.
//! Written by the scrubber (in batches) and the repairer, read by `stat`.

use serde::{Deserialize, Serialize};

use crate::node::Node;
use crate::shards::{object_id_hex, ObjectId};

use super::model::{Manifest, Storage};

pub use crate::sys_keys::NS_FIXITY;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub node: u64,
    pub at_ms: u64,
    /// "ok", "corrupt" or "missing".
    pub result: String,
    #[serde(default)]
    pub detail: String,
}

pub fn fixity_key(object_id: &ObjectId, index: u32) -> Vec<u8> {
    format!("{}.{index}", object_id_hex(object_id)).into_bytes()
}

/// Commands that delete the evidence of every shard of `m` (it is being deleted or replaced).
pub fn forget(m: &Manifest) -> Vec<crate::raft::Command> {
    let Storage::Sharded { profile, .. } = &m.storage else {
        return vec![];
    };
    (0..profile.total() as u32)
        .map(|index| crate::raft::Command::Delete {
            ns: NS_FIXITY.into(),
            key: fixity_key(&m.object_id, index),
        })
        .collect()
}

impl Node {
    /// The latest evidence of each shard of `m` (None: never verified since written).
    pub fn fixity(&self, m: &Manifest) -> Vec<(u32, Option<Evidence>)> {
        let Storage::Sharded { shards, .. } = &m.storage else {
            return vec![];
        };
        shards
            .iter()
            .map(|s| {
                let evidence = self
                    .state
                    .get(NS_FIXITY, &fixity_key(&m.object_id, s.index))
                    .ok()
                    .flatten()
                    .and_then(|e| serde_json::from_slice(&e.value).ok());
                (s.index, evidence)
            })
            .collect()
    }

    /// When every shard of the object was last seen intact: the oldest "ok" among them, if all
    /// shards exist and their latest result is "ok".
    pub fn last_full_verification(&self, m: &Manifest) -> Option<u64> {
        let Storage::Sharded { profile, shards, .. } = &m.storage else {
            return None;
        };
        if shards.len() != profile.total() {
            return None;
        }
        let evidence = self.fixity(m);
        evidence
            .iter()
            .map(|(_, e)| e.as_ref().filter(|e| e.result == "ok").map(|e| e.at_ms))
            .collect::<Option<Vec<u64>>>()
            .and_then(|times| times.into_iter().min())
    }
}
