//! Collected object ids: the orphan collector's mark that it gave up an object id and may delete
//! its shards. A PUT commits only while its id is unmarked, and the collector marks an id only
//! while no manifest owns it, so a late commit and the collector can never both win. This costs
//! a PUT nothing on the happy path (no intent record), and the collector one Raft write per
//! abandoned or deleted object.

use crate::node::Node;
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::shards::{object_id_hex, ObjectId};

use super::model::{now_ms, NS_COLLECTED, NS_OBJECT_IDS};

/// The least time a mark is kept (the collector keeps it twice the orphan grace if longer). A PUT
/// gives up after `objects.orphan_grace_secs` and a mark is only written after that grace, so
/// this leaves room for any commit still in transit.
pub const MIN_MARK_TTL_MS: u64 = 24 * 3600 * 1000;

/// The PUT commit's condition: the collector has not given up this object id.
pub fn not_collected(object_id: &ObjectId) -> Condition {
    Condition {
        ns: NS_COLLECTED.into(),
        key: object_id_hex(object_id).into_bytes(),
        expect: Expect::Absent,
    }
}

/// Marks `object_id` collected unless a manifest owns it. True when its shards may be deleted:
/// the mark was written now or earlier.
pub async fn mark_collected(node: &Node, object_id: &ObjectId) -> Result<bool, String> {
    let key = object_id_hex(object_id).into_bytes();
    let result = node
        .propose(Command::Txn {
            conditions: vec![
                Condition {
                    ns: NS_OBJECT_IDS.into(),
                    key: key.clone(),
                    expect: Expect::Absent,
                },
                Condition {
                    ns: NS_COLLECTED.into(),
                    key: key.clone(),
                    expect: Expect::Absent,
                },
            ],
            then: vec![Command::Put {
                ns: NS_COLLECTED.into(),
                key,
                value: now_ms().to_be_bytes().to_vec(),
            }],
        })
        .await
        .map_err(|e| e.to_string())?;
    match result {
        CommandResult::Txn { succeeded: true, .. } => Ok(true),
        // Marked by an earlier pass or another node.
        CommandResult::Txn {
            failed_condition: Some(1),
            ..
        } => Ok(true),
        // A manifest owns it now: a commit landed after the shard was judged orphan.
        CommandResult::Txn { .. } => Ok(false),
        other => Err(format!(
            "unexpected result marking {} collected: {other:?}",
            object_id_hex(object_id)
        )),
    }
}

/// Removes marks older than `ttl_ms`; returns how many.
pub async fn expire_marks(node: &Node, ttl_ms: u64) -> Result<usize, String> {
    let (entries, _) = node
        .state
        .scan(NS_COLLECTED, b"", b"", crate::kv::MAX_SCAN_LIMIT)
        .map_err(|e| e.to_string())?;
    let now = now_ms();
    let mut expired = 0;
    for entry in entries {
        let written = <[u8; 8]>::try_from(entry.value.as_slice())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        if now.saturating_sub(written) < ttl_ms {
            continue;
        }
        let result = node
            .propose(Command::Cas {
                ns: NS_COLLECTED.into(),
                key: entry.key.clone(),
                expect: Expect::Value(entry.value.clone()),
                new_value: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        if matches!(result, CommandResult::Cas { succeeded: true, .. }) {
            expired += 1;
        }
    }
    Ok(expired)
}
