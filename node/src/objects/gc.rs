//! The orphan-shard collector: deletes shard files that no committed manifest assigns to this
//! node (failed or abandoned uploads, overwritten and deleted objects), after a grace period
//! that protects uploads still in flight.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::node::Node;
use crate::shards::{object_id_hex, StoredShard};
use crate::time::Clock;

use super::collect_error::CollectError;
use super::model::{Storage, NS_OBJECT_IDS};
use super::put::parse_owner;

pub async fn run_orphan_collector(node: Arc<Node>) {
    let mut tick = tokio::time::interval(node.config.objects.gc_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match collect_once(&node).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "orphan shards collected"),
            Err(e) => tracing::warn!("orphan collection failed: {e}"),
        }
    }
}

/// One pass; returns how many files were removed. Walks the store one 256th at a time, so
/// memory holds one slice of the node's shards, never all of them.
pub async fn collect_once(node: &Node) -> Result<usize, CollectError> {
    let grace = node.config.objects.orphan_grace;
    let mut removed = 0;
    let mut failures = Vec::new();
    for bucket in 0..=u8::MAX {
        let store = node.shards.clone();
        let shards = tokio::task::spawn_blocking(move || store.list_bucket(bucket)).await??;
        let aged = older_than(shards, grace, node.clock.as_ref());
        if aged.is_empty() {
            continue;
        }
        // Decide only on state that includes every commit made before this slice was listed: a
        // node cut off from the leader, or frozen, must not take fresh shards for orphans.
        if let Err(e) = node.read_barrier().await {
            return Err(CollectError::StateNotCurrent(e));
        }
        for shard in aged {
            let orphan = crate::shards::is_temp(&shard.path) || !referenced_here(node, &shard)?;
            if !orphan || !upload_given_up(node, &shard).await? {
                continue;
            }
            // The file may have been replaced since it was listed (a repair renamed a new one in):
            // checked again and deleted under the shard's lock, which the writer's rename takes too.
            match node.shards.remove_if_unchanged(&shard) {
                Ok(true) => {
                    tracing::debug!(path = %shard.path.display(), "removed orphan shard");
                    removed += 1;
                }
                Ok(false) => {}
                Err(e) => failures.push(e.into()),
            }
        }
    }
    let mark_ttl_ms = (2 * grace.as_millis() as u64).max(super::collected::MIN_MARK_TTL_MS);
    if let Err(e) = super::collected::expire_marks(node, mark_ttl_ms).await {
        failures.push(CollectError::ExpiringMarks(Box::new(e)));
    }
    if !failures.is_empty() {
        return Err(CollectError::Partial { removed, failures });
    }
    Ok(removed)
}

/// The shards older than `grace` by `clock`. A shard's age is its file's mtime (a packed shard's
/// creation stamp) against this node's clock. Safety does not rest on it: the collector deletes
/// only after its mark or intent expiry won in apply, on the state time.
fn older_than(shards: Vec<StoredShard>, grace: Duration, clock: &dyn Clock) -> Vec<StoredShard> {
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(clock.now_ms());
    shards
        .into_iter()
        .filter(|s| now.duration_since(s.modified).unwrap_or_default() >= grace)
        .collect()
}

/// True when no upload (a PUT of this object id, or a repair or move of this index) may still
/// commit this shard.
async fn upload_given_up(node: &Node, shard: &StoredShard) -> Result<bool, CollectError> {
    let grace_ms = node.config.objects.orphan_grace.as_millis() as u64;
    let id = object_id_hex(&shard.object_id);
    // A committed object takes no new PUT commit: only a repair or move may still name this shard.
    let owned = lookup_owner_manifest(node, &shard.object_id).is_some();
    if !owned && !super::collected::mark_collected(node, &shard.object_id).await? {
        return Ok(false);
    }
    super::upload::expire_if_stale(node, &format!("{id}.{}", shard.index), grace_ms).await
}

/// The manifest of the object whose id is `object_id`, from this node's state.
pub fn lookup_owner_manifest(node: &Node, object_id: &crate::shards::ObjectId) -> Option<super::Manifest> {
    let owner = node
        .state
        .get(NS_OBJECT_IDS, object_id_hex(object_id).as_bytes())
        .ok()??;
    let (namespace, key) = parse_owner(&owner.value)?;
    let (manifest, _) = node.current_manifest(&namespace, &key).ok()??;
    (manifest.object_id == *object_id).then_some(manifest)
}

/// Whether a committed manifest assigns this shard to this node. Stale reads are fine: the
/// grace period is far longer than any replication lag.
fn referenced_here(node: &Node, shard: &StoredShard) -> Result<bool, CollectError> {
    let id_hex = object_id_hex(&shard.object_id);
    let Some(owner) = node.state.get(NS_OBJECT_IDS, id_hex.as_bytes())? else {
        return Ok(false);
    };
    let Some((namespace, key)) = parse_owner(&owner.value) else {
        return Ok(false);
    };
    let Some((manifest, _)) = node.current_manifest(&namespace, &key)? else {
        return Ok(false);
    };
    if manifest.object_id != shard.object_id {
        return Ok(false);
    }
    Ok(match manifest.storage {
        Storage::Sharded { shards, .. } => shards.iter().any(|s| s.index == shard.index && s.node_id == node.id()),
        Storage::Inline(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::time::ManualClock;

    fn written_at(ms: u64) -> StoredShard {
        StoredShard {
            object_id: [1; 16],
            index: 0,
            path: PathBuf::new(),
            packed: true,
            size: 1,
            modified: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            inode: 0,
        }
    }

    /// The grace period runs on the node's clock, not the system's: a shard is a candidate once
    /// the injected clock is `grace` past its writing, not a millisecond before.
    #[test]
    fn a_shard_is_a_candidate_once_the_node_clock_passes_its_grace() {
        let grace = Duration::from_secs(3600);
        let written = 1_700_000_000_000;
        let clock = ManualClock::new(written + 3_600_000 - 1);
        assert!(older_than(vec![written_at(written)], grace, &clock).is_empty());
        clock.advance(1);
        assert_eq!(older_than(vec![written_at(written)], grace, &clock).len(), 1);
        // A clock behind the file's stamp never ages it.
        clock.set(written - 1);
        assert!(older_than(vec![written_at(written)], grace, &clock).is_empty());
    }
}
