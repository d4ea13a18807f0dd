//! Upload intents: a Raft record that a repair or move is writing a shard for an object, so that
//! the orphan collector and a late commit can never both win.

use crate::node::Node;
use crate::raft::{Command, CommandResult, Condition, Expect};

use super::model::NS_UPLOADS;
use super::ObjectError;

pub(crate) struct UploadIntent {
    key: Vec<u8>,
    value: Vec<u8>,
}

impl UploadIntent {
    /// Records the intent before the shard is sent. `key` is `<object id hex>.<index>`. Its age
    /// counts from the state time this node has applied (leader-stamped), never its own clock.
    pub async fn begin(node: &Node, key: String) -> Result<Self, ObjectError> {
        let started_ms = super::retention::upload_start(node)?;
        let value = serde_json::json!({"coordinator": node.id(), "started_ms": started_ms})
            .to_string()
            .into_bytes();
        let intent = Self {
            key: key.into_bytes(),
            value,
        };
        // Repairs run many at once; their intents share Raft entries.
        node.propose_grouped(Command::Put {
            ns: NS_UPLOADS.into(),
            key: intent.key.clone(),
            value: intent.value.clone(),
        })
        .await?;
        Ok(intent)
    }

    /// The commit's condition: the intent is still there (the collector did not expire it).
    pub fn condition(&self) -> Condition {
        Condition {
            ns: NS_UPLOADS.into(),
            key: self.key.clone(),
            expect: Expect::Value(self.value.clone()),
        }
    }

    /// Removes the intent, in the commit's transaction.
    pub fn end(&self) -> Command {
        Command::Delete {
            ns: NS_UPLOADS.into(),
            key: self.key.clone(),
        }
    }
}

/// For the collector: may shards of the upload `key` be deleted? True when no intent exists, or
/// when an intent older than `grace_ms` in state time was removed here (so its commit can no
/// longer succeed). The age is decided in apply; this node's view only skips young intents.
pub(crate) async fn expire_if_stale(
    node: &Node,
    key: &str,
    grace_ms: u64,
) -> Result<bool, super::collect_error::CollectError> {
    let Some(entry) = node.state.get(NS_UPLOADS, key.as_bytes())? else {
        return Ok(true);
    };
    let txn = expire_txn(key.as_bytes(), &entry.value, grace_ms);
    if super::collected::txn_deadline(&txn).is_some_and(|from| node.state_time_ms() < from) {
        return Ok(false);
    }
    let result = node.propose(txn).await?;
    Ok(matches!(result, CommandResult::Txn { succeeded: true, .. }))
}

/// Deletes the intent `key` (holding `value`) once the state time is `grace_ms` past its start.
/// An intent whose start cannot be read counts as started at 0 (it expires).
pub(crate) fn expire_txn(key: &[u8], value: &[u8], grace_ms: u64) -> Command {
    let started = serde_json::from_slice::<serde_json::Value>(value)
        .ok()
        .and_then(|v| v["started_ms"].as_u64())
        .unwrap_or(0);
    Command::Txn {
        conditions: vec![
            Condition {
                ns: NS_UPLOADS.into(),
                key: key.to_vec(),
                expect: Expect::Value(value.to_vec()),
            },
            Condition::state_time(Expect::StateTimeFrom(started.saturating_add(grace_ms))),
        ],
        then: vec![Command::Delete {
            ns: NS_UPLOADS.into(),
            key: key.to_vec(),
        }],
    }
}
