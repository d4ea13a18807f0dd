//! Collected object ids: the orphan collector's mark that it gave up an object id and may delete
//! its shards. A PUT commits only while its id is unmarked, and the collector marks an id only
//! while no manifest owns it, so a late commit and the collector can never both win. This costs
//! a PUT nothing on the happy path (no intent record), and the collector one Raft write per
//! abandoned or deleted object.

use crate::node::Node;
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::shards::{object_id_hex, ObjectId};

use super::collect_error::CollectError;
use super::model::{NS_COLLECTED, NS_OBJECT_IDS};

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
/// the mark was written now or earlier. The mark holds the state time it was written at (the
/// collector's applied view of it, at or before the apply), from which its expiry is counted.
pub async fn mark_collected(node: &Node, object_id: &ObjectId) -> Result<bool, CollectError> {
    let written_ms = match node.state_time_ms() {
        0 => return Err(CollectError::NoClusterTime),
        t => t,
    };
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
                value: written_ms.to_be_bytes().to_vec(),
            }],
        })
        .await?;
    match result {
        CommandResult::Txn { succeeded: true, .. } => Ok(true),
        // Marked by an earlier pass or another node.
        CommandResult::Txn {
            failed_condition: Some(1),
            ..
        } => Ok(true),
        // A manifest owns it now: a commit landed after the shard was judged orphan.
        CommandResult::Txn { .. } => Ok(false),
        other => Err(CollectError::UnexpectedResult {
            object_id: object_id_hex(object_id),
            result: format!("{other:?}"),
        }),
    }
}

/// Removes marks older than `ttl_ms` in state time; returns how many. Age is judged in apply,
/// so a collector whose clock runs ahead cannot drop a mark early (a late commit of the object
/// would then pass); this node's view only skips marks that are surely too young.
pub async fn expire_marks(node: &Node, ttl_ms: u64) -> Result<usize, CollectError> {
    let (entries, _) = node.state.scan(NS_COLLECTED, b"", b"", crate::kv::MAX_SCAN_LIMIT)?;
    let now = node.state_time_ms();
    let mut expired = 0;
    for entry in entries {
        let Some(txn) = expire_mark_txn(&entry.key, &entry.value, ttl_ms) else {
            continue;
        };
        if txn_deadline(&txn).is_some_and(|from| now < from) {
            continue;
        }
        let result = node.propose(txn).await?;
        if matches!(result, CommandResult::Txn { succeeded: true, .. }) {
            expired += 1;
        }
    }
    Ok(expired)
}

/// Deletes the mark `key` (holding `value`) once the state time reaches its expiry. None for a
/// value that is not a mark: it is left for an operator to look at.
pub(crate) fn expire_mark_txn(key: &[u8], value: &[u8], ttl_ms: u64) -> Option<Command> {
    let written = u64::from_be_bytes(<[u8; 8]>::try_from(value).ok()?);
    Some(Command::Txn {
        conditions: vec![
            Condition {
                ns: NS_COLLECTED.into(),
                key: key.to_vec(),
                expect: Expect::Value(value.to_vec()),
            },
            Condition::state_time(Expect::StateTimeFrom(written.saturating_add(ttl_ms))),
        ],
        then: vec![Command::Delete {
            ns: NS_COLLECTED.into(),
            key: key.to_vec(),
        }],
    })
}

/// The state time from which an expiry transaction may succeed.
pub(crate) fn txn_deadline(txn: &Command) -> Option<u64> {
    match txn {
        Command::Txn { conditions, .. } => conditions.iter().find_map(|c| match c.expect {
            Expect::StateTimeFrom(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use openraft::storage::RaftStateMachine;
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;
    use crate::raft::{Entry, LogId};
    use crate::store::{open_db, StateMachineStore};

    /// A mark's age is judged in apply on the leader's time: a collector whose clock runs a year
    /// ahead sees it as expired, but its expiry only applies once the state time says so.
    #[tokio::test]
    async fn a_mark_expires_on_the_state_time_not_the_collectors_clock() {
        let dir = tempfile::tempdir().unwrap();
        let mut sm = StateMachineStore::open(open_db(dir.path()).unwrap()).unwrap();
        let written = 1_700_000_000_000u64;
        let ttl = MIN_MARK_TTL_MS;
        let key = b"00112233445566778899aabbccddeeff".to_vec();
        let value = written.to_be_bytes().to_vec();
        let mut index = 0;
        let mut apply = |leader_ms: u64, cmd: Command| {
            index += 1;
            Entry {
                log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
                payload: EntryPayload::Normal(cmd.stamped(leader_ms)),
            }
        };
        let mark = apply(
            written,
            Command::Put {
                ns: NS_COLLECTED.into(),
                key: key.clone(),
                value: value.clone(),
            },
        );
        sm.apply(vec![mark]).await.unwrap();

        let txn = expire_mark_txn(&key, &value, ttl).unwrap();
        assert_eq!(txn_deadline(&txn), Some(written + ttl));
        let early = apply(written + ttl - 1, txn.clone());
        let result = sm.apply(vec![early]).await.unwrap().remove(0);
        assert!(
            matches!(
                result,
                CommandResult::Txn {
                    succeeded: false,
                    failed_condition: Some(1),
                    ..
                }
            ),
            "{result:?}"
        );
        assert!(sm.view().get(NS_COLLECTED, &key).unwrap().is_some(), "the mark stays");

        let due = apply(written + ttl, txn);
        let result = sm.apply(vec![due]).await.unwrap().remove(0);
        assert!(
            matches!(result, CommandResult::Txn { succeeded: true, .. }),
            "{result:?}"
        );
        assert!(sm.view().get(NS_COLLECTED, &key).unwrap().is_none());
    }
}
