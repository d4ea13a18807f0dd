//! The orphan-shard collector: deletes shard files that no committed manifest assigns to this
//! node (failed or abandoned uploads, overwritten and deleted objects), after a grace period
//! that protects uploads still in flight.

use std::sync::Arc;
use std::time::SystemTime;

use crate::node::Node;
use crate::shards::{object_id_hex, StoredShard};

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
pub async fn collect_once(node: &Node) -> Result<usize, String> {
    let grace = node.config.objects.orphan_grace;
    let mut removed = 0;
    let mut failures = Vec::new();
    for bucket in 0..=u8::MAX {
        let store = node.shards.clone();
        let shards = tokio::task::spawn_blocking(move || store.list_bucket(bucket))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        // A shard's age is its file's mtime against this node's clock. Safety does not rest on it: the
        // collector deletes only after its mark or intent expiry won in apply, on the state time.
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(node.clock.now_ms());
        let aged: Vec<StoredShard> = shards
            .into_iter()
            .filter(|s| now.duration_since(s.modified).unwrap_or_default() >= grace)
            .collect();
        if aged.is_empty() {
            continue;
        }
        // Decide only on state that includes every commit made before this slice was listed: a
        // node cut off from the leader, or frozen, must not take fresh shards for orphans.
        if let Err(e) = node.read_barrier().await {
            return Err(format!(
                "skipping this pass, the node cannot confirm its state is current: {e}"
            ));
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
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    let mark_ttl_ms = (2 * grace.as_millis() as u64).max(super::collected::MIN_MARK_TTL_MS);
    if let Err(e) = super::collected::expire_marks(node, mark_ttl_ms).await {
        failures.push(format!("expiring collected marks: {e}"));
    }
    if !failures.is_empty() {
        return Err(format!(
            "removed {removed}, {} failed: {}",
            failures.len(),
            failures.join("; ")
        ));
    }
    Ok(removed)
}

/// True when no upload (a PUT of this object id, or a repair or move of this index) may still
/// commit this shard.
async fn upload_given_up(node: &Node, shard: &StoredShard) -> Result<bool, String> {
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
fn referenced_here(node: &Node, shard: &StoredShard) -> Result<bool, String> {
    let id_hex = object_id_hex(&shard.object_id);
    let Some(owner) = node
        .state
        .get(NS_OBJECT_IDS, id_hex.as_bytes())
        .map_err(|e| e.to_string())?
    else {
        return Ok(false);
    };
    let Some((namespace, key)) = parse_owner(&owner.value) else {
        return Ok(false);
    };
    let Some((manifest, _)) = node.current_manifest(&namespace, &key).map_err(|e| e.to_string())? else {
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
