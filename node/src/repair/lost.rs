//! `sys.lost`: objects the repairer proved it cannot rebuild (fewer than k sound shards). They
//! leave the repair queue, where they would be retried for ever, and are listed by
//! `archipel status` and `archipel repair status` until the object is deleted or overwritten.

use crate::node::Node;
use crate::objects::lookup_owner_manifest;
use crate::objects::model::{manifest_ns, NS_DAMAGED, NS_LOST};
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::shards::parse_object_id;

use super::queue::LostObject;
use super::{RepairError, NS_MOVES};

/// Lost records looked at per pass for pruning.
const PRUNE_LIMIT: usize = 1000;

/// Records `lost` and clears the object's queue entries in one transaction, if its manifest is
/// still the one judged (a newer version is not lost).
pub(super) async fn record(node: &Node, lost: LostObject) -> Result<(), RepairError> {
    let value = serde_json::json!({
        "namespace": lost.namespace,
        "key": lost.key,
        "reason": lost.reason,
        "detected_by": node.id(),
        "detected_at_ms": node.clock.now_ms(),
    });
    let mut then = vec![Command::Put {
        ns: NS_LOST.into(),
        key: lost.object_id.clone().into_bytes(),
        value: value.to_string().into_bytes(),
    }];
    for index in 0..lost.shards {
        for queue in [NS_DAMAGED, NS_MOVES] {
            then.push(Command::Delete {
                ns: queue.into(),
                key: format!("{}.{index}", lost.object_id).into_bytes(),
            });
        }
    }
    let txn = Command::Txn {
        conditions: vec![Condition {
            ns: manifest_ns(&lost.namespace),
            key: lost.key.as_bytes().to_vec(),
            expect: Expect::Revision(lost.revision),
        }],
        then,
    };
    match node.propose(txn).await? {
        CommandResult::Txn { succeeded: true, .. } => Ok(()),
        _ => Err(RepairError::LostRecordStale),
    }
}

/// Whether the object whose id is `id_hex` is listed as lost.
pub(crate) fn is_lost(node: &Node, id_hex: &str) -> bool {
    node.state.get(NS_LOST, id_hex.as_bytes()).ok().flatten().is_some()
}

/// Drops the records of lost objects that were deleted or overwritten since.
pub(super) async fn prune(node: &Node) -> Result<(), RepairError> {
    let (entries, _) = node.state.scan(NS_LOST, b"", b"", PRUNE_LIMIT)?;
    let gone: Vec<Command> = entries
        .into_iter()
        .filter(|e| {
            let id = parse_object_id(&String::from_utf8_lossy(&e.key));
            id.is_none_or(|id| lookup_owner_manifest(node, &id).is_none())
        })
        .map(|e| Command::Delete {
            ns: NS_LOST.into(),
            key: e.key,
        })
        .collect();
    if !gone.is_empty() {
        node.propose(Command::Batch(gone)).await?;
    }
    Ok(())
}
