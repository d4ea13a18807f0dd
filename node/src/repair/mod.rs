//! The repairer: rebuilds damaged, missing and lost shards from k verified shards, on the same
//! node or, when that node is gone, on another that keeps the site constraint. It runs on the
//! Raft leader only; every repair commits through a conditional transaction, so two repairers
//! racing cannot both win, and a rebuilt shard must hash exactly as the manifest recorded.

mod error;
mod lost;
pub use error::RepairError;
pub(crate) use lost::is_lost;
pub mod placement_check;
mod queue;
mod rewalk;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use archipel_proto::shard::ShardHeader;
use bytes::Bytes;
use tokio::time::Instant;

use crate::cluster_map::NodeState;
use crate::erasure::Codec;
use crate::kv::KvEntry;
use crate::node::Node;
use crate::objects::fixity::{fixity_key, Evidence, NS_FIXITY};
use crate::objects::model::{manifest_ns, Manifest, ShardRef, Storage, NS_DAMAGED};
use crate::objects::walk::{AllManifests, NodeShards, PlacedShard};
use crate::objects::ObjectError;
use crate::objects::{damage_command, lookup_owner_manifest, Fanout, Feeds};
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::shards::{parse_object_id, ObjectId};
use crate::store::StateView;
use crate::workers::WorkerHandle;
use queue::{Backoff, LostObject, Outcome, PassEnv, RepairQueues};
use rewalk::DrainWalks;

pub const WORKER_NAME: &str = "repair";
pub use crate::sys_keys::{NS_DRAIN, NS_MOVES};
/// Due entries handled per pass and queue.
const PASS_LIMIT: usize = 1000;
/// Liveness probes check the node's disk too (4 s at most, `grpc::cluster_service`).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// A failing entry waits at most this long before its next try.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

pub async fn run_repairer(node: Arc<Node>, handle: Arc<WorkerHandle>) {
    let poll = Duration::from_secs(node.config.repair.poll_secs);
    let backoff = Backoff {
        base_ms: poll.as_millis() as u64,
        cap_ms: MAX_BACKOFF.as_millis() as u64,
    };
    let mut liveness = Liveness::default();
    let mut queues = RepairQueues::new(backoff, PASS_LIMIT);
    let mut repairs_done = 0u64;
    let mut planned_layout = 0u64;
    let mut placement_checked: Option<Instant> = None;
    let mut busy = false;
    loop {
        // Right after a pass that got work done, look again at once: a drain or a lost node
        // queues far more than one pass handles.
        if !busy {
            handle.idle(poll).await;
        }
        let last_pass_idle = !std::mem::take(&mut busy);
        handle.wait_if_paused().await;
        if !node.is_leader() {
            liveness = Liveness::default();
            queues = RepairQueues::new(backoff, PASS_LIMIT);
            planned_layout = 0;
            placement_checked = None;
            handle.update(|s| {
                s.state = "standby".into();
                s.detail = "only the Raft leader repairs".into();
            });
            continue;
        }
        liveness.check(&node, &handle, last_pass_idle).await;
        let layout = node.state.cluster_map().layout_version;
        // A node back from an outage changes no layout, but shards written or rebuilt while it
        // was away may crowd the other sites past m-1: plan moves as for a new layout.
        if layout != planned_layout || std::mem::take(&mut liveness.returned) {
            match plan_rebalance(&node, layout).await {
                Ok(moves) => {
                    if moves > 0 {
                        tracing::info!(layout, moves, "rebalance planned");
                    }
                    planned_layout = layout;
                }
                Err(e) => handle.update(|s| s.last_error = format!("rebalance planning: {e}")),
            }
        }
        let check_every = Duration::from_secs(node.config.repair.placement_check_secs);
        if !check_every.is_zero() && placement_checked.is_none_or(|t| t.elapsed() >= check_every) {
            placement_checked = Some(Instant::now());
            match placement_check::check(&node).await {
                Ok(r) if r.violations() > 0 => tracing::warn!(
                    objects = r.objects_checked,
                    shared_node = r.shared_node,
                    site_crowded = r.site_crowded,
                    moves = r.moves_queued,
                    "placement check: objects placed worse than the layout allows; moves queued"
                ),
                Ok(r) => tracing::debug!(objects = r.objects_checked, "placement check: every object well placed"),
                Err(e) => handle.update(|s| s.last_error = format!("placement check: {e}")),
            }
        }
        // One barrier per pass: each repair commits on its manifest's revision, so a manifest
        // that changes during the pass fails that commit and is looked at again.
        if let Err(e) = node.read_barrier().await {
            handle.update(|s| s.last_error = e.to_string());
            continue;
        }
        if let Err(e) = lost::prune(&node).await {
            handle.update(|s| s.last_error = format!("pruning the lost list: {e}"));
        }
        handle.update(|s| {
            s.state = "running".into();
            s.items_done = 0;
        });
        let env = LeaderEnv {
            node: &node,
            handle: &handle,
            budget: RateBudget::new(node.config.repair.max_bytes_per_sec),
        };
        let concurrency = node.config.repair.concurrency.max(1);
        let pass = queues
            .pass(&env, concurrency, |key, outcome, done, total| {
                match outcome {
                    Ok(Outcome::Repaired { node: target }) => {
                        repairs_done += 1;
                        node.metrics.repairs_done.inc();
                        tracing::info!(shard = %key, node = target, "shard repaired");
                    }
                    Ok(Outcome::Dropped) => {}
                    Ok(Outcome::Lost(lost)) => {
                        tracing::error!(
                            shard = %key,
                            "{}/{} cannot be rebuilt and is listed as lost: {}",
                            lost.namespace,
                            lost.key,
                            lost.reason
                        );
                    }
                    Err(e) => {
                        node.metrics.repair_failures.inc();
                        tracing::warn!(shard = %key, "repair failed, will retry after a backoff: {e}");
                        handle.update(|s| s.last_error = format!("{key}: {e}"));
                    }
                }
                handle.update(|s| {
                    s.items_total = total;
                    s.items_done = done;
                    s.repairs_done = repairs_done;
                    s.progress = done as f64 / total.max(1) as f64;
                });
            })
            .await;
        match pass {
            Ok(summary) => {
                busy = summary.repaired + summary.dropped + summary.lost > 0;
                node.metrics.objects_degraded.set(summary.damaged_seen as i64);
                handle.update(|s| {
                    s.last_cycle_completed_ms = node.clock.now_ms();
                    s.state = "idle".into();
                    s.detail = format!(
                        "pass done: {} repaired, {} failed (retried after a backoff), {} lost, {} waiting; next pass within {} s",
                        summary.repaired,
                        summary.failed,
                        summary.lost,
                        summary.waiting,
                        poll.as_secs()
                    );
                });
            }
            Err(e) => handle.update(|s| {
                s.state = "idle".into();
                s.last_error = e.to_string();
            }),
        }
    }
}

/// The leader's side of a pass: its state, its repairs, its Raft writes.
struct LeaderEnv<'a> {
    node: &'a Node,
    handle: &'a WorkerHandle,
    budget: RateBudget,
}

impl PassEnv for LeaderEnv<'_> {
    fn now_ms(&self) -> u64 {
        self.node.clock.now_ms()
    }

    fn scan(&self, ns: &str, after: &[u8], limit: usize) -> Result<(Vec<KvEntry>, bool), RepairError> {
        Ok(self.node.state.scan(ns, b"", after, limit)?)
    }

    async fn repair(&self, queue: &'static str, entry: &KvEntry) -> Result<Outcome, RepairError> {
        self.handle.wait_if_paused().await;
        let key = String::from_utf8_lossy(&entry.key).into_owned();
        let request: serde_json::Value = serde_json::from_slice(&entry.value).unwrap_or_default();
        repair_entry(self.node, queue, &key, &request, &self.budget).await
    }

    fn retry_later(
        &self,
        queue: &'static str,
        entry: &KvEntry,
        value: serde_json::Value,
    ) -> impl Future<Output = Result<(), RepairError>> + Send {
        // Only if nothing rewrote the entry meanwhile (a new detection starts afresh).
        let txn = Command::Txn {
            conditions: vec![Condition {
                ns: queue.into(),
                key: entry.key.clone(),
                expect: Expect::Revision(entry.revision),
            }],
            then: vec![Command::Put {
                ns: queue.into(),
                key: entry.key.clone(),
                value: value.to_string().into_bytes(),
            }],
        };
        async move {
            self.node.propose_grouped(txn).await?;
            Ok(())
        }
    }

    fn mark_lost(&self, lost: &LostObject) -> impl Future<Output = Result<(), RepairError>> + Send {
        lost::record(self.node, lost.clone())
    }
}

/// Tracks when each node last answered; a node silent for `node_down_timeout` is lost, and
/// every shard it held is queued for repair (once).
#[derive(Default)]
struct Liveness {
    last_seen: HashMap<u64, Instant>,
    lost: BTreeSet<u64>,
    /// Nodes whose last liveness probe failed.
    unreachable: BTreeSet<u64>,
    /// An unreachable node answered again since the last rebalance plan. While it was away,
    /// degraded writes and repairs put its shards elsewhere, possibly past a site's m-1 bound
    /// (the site's other node was away too); they should move back.
    returned: bool,
    /// Draining or removed nodes whose shards are queued (once per leadership).
    emptied: BTreeSet<u64>,
    /// When each node being emptied is walked again.
    walks: DrainWalks,
}

impl Liveness {
    /// `idle`: the last pass repaired nothing.
    async fn check(&mut self, node: &Node, handle: &WorkerHandle, idle: bool) {
        let timeout = Duration::from_secs(node.config.repair.node_down_timeout_secs);
        let map = node.state.cluster_map();
        let now = Instant::now();
        // A draining or removed node's shards are rebuilt elsewhere right away.
        let to_empty: Vec<_> = map
            .nodes
            .values()
            .filter(|n| n.state != NodeState::Up && !self.emptied.contains(&n.id))
            .filter(|n| self.walks.due(n.id, now, idle))
            .collect();
        for n in to_empty {
            let reason = match n.state {
                NodeState::Draining => format!("node {} is draining", n.id),
                _ => format!("node {} was removed from the cluster", n.id),
            };
            let walk_started = Instant::now();
            let queued = queue_node_shards(node, n.id, &reason).await;
            self.walks.walked(n.id, walk_started, walk_started.elapsed());
            match queued {
                Ok(q) if q.still_placed > 0 => {
                    // Not done yet: walk again later (`DrainWalks`), which also catches a write
                    // that committed a shard here after the drain began.
                    if q.newly_queued > 0 {
                        tracing::info!(
                            node = n.id,
                            shards = q.newly_queued,
                            "{reason}: shards queued for repair"
                        );
                    }
                }
                Ok(_) => {
                    // No manifest references the node any more: record that it is empty.
                    let marker = serde_json::json!({"node": n.id, "empty_since_ms": node.clock.now_ms()});
                    let recorded = node
                        .propose(Command::Put {
                            ns: NS_DRAIN.into(),
                            key: n.id.to_string().into_bytes(),
                            value: marker.to_string().into_bytes(),
                        })
                        .await;
                    match recorded {
                        Ok(_) => {
                            self.emptied.insert(n.id);
                            self.walks.forget(n.id);
                        }
                        Err(e) => handle.update(|s| s.last_error = format!("recording drain of node {}: {e}", n.id)),
                    }
                }
                Err(e) => handle.update(|s| s.last_error = e.to_string()),
            }
        }
        for n in map
            .nodes
            .values()
            .filter(|n| n.state == NodeState::Up && n.id != node.id())
        {
            let seen = self.last_seen.entry(n.id).or_insert(now);
            if node.probe_alive(&n.addr, PROBE_TIMEOUT).await.is_ok() {
                *seen = Instant::now();
                self.lost.remove(&n.id);
                if self.unreachable.remove(&n.id) {
                    tracing::info!(node = n.id, "node reachable again; planning moves to restore placement");
                    self.returned = true;
                }
                continue;
            }
            self.unreachable.insert(n.id);
            if seen.elapsed() < timeout || self.lost.contains(&n.id) {
                continue;
            }
            let reason = format!("node {} lost: unreachable for more than {} s", n.id, timeout.as_secs());
            tracing::warn!("{reason}; rebuilding its shards elsewhere");
            handle.update(|s| s.detail = reason.clone());
            match queue_node_shards(node, n.id, &reason).await {
                Ok(q) => {
                    tracing::info!(node = n.id, shards = q.newly_queued, "queued for repair");
                    self.lost.insert(n.id);
                }
                Err(e) => handle.update(|s| s.last_error = e.to_string()),
            }
        }
    }
}

/// Commands per Raft entry when queueing work in bulk.
const BATCH: usize = 256;

/// Proposes `batch` as one atomic entry once it holds at least `min` commands.
async fn propose_full(node: &Node, batch: &mut Vec<Command>, min: usize) -> Result<(), RepairError> {
    if batch.len() >= min.max(1) {
        node.propose(Command::Batch(std::mem::take(batch))).await?;
    }
    Ok(())
}

/// What queueing a node's shards found.
#[derive(Debug, Default, PartialEq, Eq)]
struct Queued {
    /// Shards the applied manifests still place on the node.
    still_placed: usize,
    /// Of those, shards recorded for repair now (the others were queued already).
    newly_queued: usize,
}

/// Records every shard the manifests place on `lost` as damaged, in batches, walking that node's
/// shard index page by page. A shard with a damage record already is left alone, so a drain
/// that takes many passes queues each shard once, not once per pass.
async fn queue_node_shards(node: &Node, lost: u64, reason: &str) -> Result<Queued, RepairError> {
    queue_shards_of(
        &node.state,
        lost,
        reason,
        node.id(),
        node.clock.now_ms(),
        |batch| async move {
            node.propose(Command::Batch(batch)).await?;
            Ok(())
        },
    )
    .await
}

/// [`queue_node_shards`] on `view`, handing each full batch of damage records to `propose`.
async fn queue_shards_of<F, Fut>(
    view: &StateView,
    lost: u64,
    reason: &str,
    detected_by: u64,
    detected_at_ms: u64,
    mut propose: F,
) -> Result<Queued, RepairError>
where
    F: FnMut(Vec<Command>) -> Fut,
    Fut: Future<Output = Result<(), RepairError>>,
{
    let mut batch = Vec::new();
    let mut queued = Queued::default();
    let mut walk = NodeShards::new(view, lost);
    while let Some(page) = walk.next_page()? {
        for placed in page {
            queued.still_placed += 1;
            if already_queued(view, &placed)? {
                continue;
            }
            batch.push(damage_command(
                &placed.manifest,
                placed.index,
                Some(lost),
                None,
                reason,
                detected_by,
                detected_at_ms,
            ));
            queued.newly_queued += 1;
            if batch.len() >= BATCH {
                propose(std::mem::take(&mut batch)).await?;
            }
        }
    }
    if !batch.is_empty() {
        propose(batch).await?;
    }
    Ok(queued)
}

/// Whether the shard has a damage record already (its repair is queued).
fn already_queued(view: &StateView, placed: &PlacedShard) -> Result<bool, RepairError> {
    let key = format!(
        "{}.{}",
        crate::shards::object_id_hex(&placed.manifest.object_id),
        placed.index
    );
    Ok(view.get(NS_DAMAGED, key.as_bytes())?.is_some())
}

/// Queues a move for every shard whose node differs from the placement of layout `version`.
async fn plan_rebalance(node: &Node, version: u64) -> Result<usize, RepairError> {
    let nodes = node.placement_nodes();
    let mut batch = Vec::new();
    let mut count = 0;
    let mut walk = AllManifests::new(&node.state);
    while let Some(page) = walk.next_page()? {
        for m in page {
            count += plan_moves(&m, &nodes, version, node.clock.now_ms(), &mut batch);
        }
        propose_full(node, &mut batch, BATCH).await?;
    }
    propose_full(node, &mut batch, 1).await?;
    Ok(count)
}

/// Adds to `batch` the moves that bring `m` to its placement on `nodes`, detected at `now_ms`;
/// returns how many.
fn plan_moves(
    m: &Manifest,
    nodes: &[crate::placement::PlacementNode],
    version: u64,
    now_ms: u64,
    batch: &mut Vec<Command>,
) -> usize {
    let Storage::Sharded { profile, shards, .. } = &m.storage else {
        return 0;
    };
    if shards.len() != profile.total() {
        return 0; // degraded: repair comes first
    }
    let mut current = vec![0u64; profile.total()];
    for s in shards {
        if let Some(slot) = current.get_mut(s.index as usize) {
            *slot = s.node_id;
        }
    }
    let Ok(ideal) = crate::placement::place(&m.object_id, *profile, nodes, &[]) else {
        return 0;
    };
    let target = crate::placement::reconcile(&current, &ideal);
    let mut count = 0;
    for (index, (&from, &to)) in current.iter().zip(&target).enumerate() {
        if from == to || current.contains(&to) {
            continue;
        }
        let value = serde_json::json!({
            "namespace": m.namespace, "key": m.key, "node_id": from, "move_to": to,
            "reason": format!("rebalance to layout v{version}"), "detected_at_ms": now_ms,
        });
        batch.push(Command::Put {
            ns: NS_MOVES.into(),
            key: format!("{}.{index}", crate::shards::object_id_hex(&m.object_id)).into_bytes(),
            value: value.to_string().into_bytes(),
        });
        count += 1;
    }
    count
}

async fn drop_entry(node: &Node, queue: &str, key: &str) -> Result<Outcome, RepairError> {
    node.propose(Command::Delete {
        ns: queue.into(),
        key: key.as_bytes().to_vec(),
    })
    .await?;
    Ok(Outcome::Dropped)
}

/// Handles one entry of `queue` (`sys.damaged` or `sys.moves`); `request` is its JSON value.
async fn repair_entry(
    node: &Node,
    queue: &str,
    key: &str,
    request: &serde_json::Value,
    budget: &RateBudget,
) -> Result<Outcome, RepairError> {
    let (id_hex, index) = key.rsplit_once('.').ok_or(RepairError::MalformedKey)?;
    let (Some(object_id), Ok(index)) = (parse_object_id(id_hex), index.parse::<u32>()) else {
        return drop_entry(node, queue, key).await;
    };
    let Some(m) = lookup_owner_manifest(node, &object_id) else {
        return drop_entry(node, queue, key).await; // deleted or replaced since
    };
    if lost::is_lost(node, id_hex) {
        return drop_entry(node, queue, key).await; // a late report about a lost object
    }
    let Some((_, revision)) = node.current_manifest(&m.namespace, &m.key)? else {
        return drop_entry(node, queue, key).await;
    };
    let Storage::Sharded { profile, shards, .. } = &m.storage else {
        return drop_entry(node, queue, key).await;
    };
    if index as usize >= profile.total() {
        return drop_entry(node, queue, key).await;
    }
    let holder = shards.iter().find(|s| s.index == index).cloned();
    // The entry concerns the node that held the shard then; if the shard moved since, it is stale.
    if let (Some(h), Some(then)) = (&holder, request["node_id"].as_u64()) {
        if h.node_id != then {
            return drop_entry(node, queue, key).await;
        }
    }
    let codec = Codec::new(*profile)?;
    let shard_len = codec.shard_len(m.stored_stripe_size()) as u64;
    let estimate = m.size.div_ceil(profile.data as u64) + shard_len;
    let (target, addr) = match request["move_to"].as_u64() {
        Some(to) => {
            if shards.iter().any(|s| s.node_id == to) {
                return drop_entry(node, queue, key).await; // already there
            }
            let map = node.state.cluster_map();
            let n = map
                .nodes
                .get(&to)
                .filter(|n| n.state == NodeState::Up)
                .ok_or(RepairError::TargetDown(to))?;
            node.reserve_cached(to, &n.addr, estimate)
                .await
                .map_err(|reason| RepairError::TargetRefused { node: to, reason })?;
            (to, n.addr.clone())
        }
        None => choose_target(node, &m, &object_id, shards, index, holder.as_ref(), estimate).await?,
    };
    let intent = crate::objects::UploadIntent::begin(node, key.to_owned()).await?;
    // The node checks the rebuilt shard against the manifest's record before it replaces anything.
    let expected = holder.as_ref().map(|h| h.table_hash);
    let table_hash = match rebuild(node, &m, &codec, index, (target, addr), expected, budget).await {
        Ok(hash) => hash,
        Err(RebuildError::Failed(e)) => return Err(e),
        Err(RebuildError::Lost(reason)) => {
            return Ok(Outcome::Lost(LostObject {
                object_id: id_hex.to_owned(),
                namespace: m.namespace.clone(),
                key: m.key.clone(),
                revision,
                shards: profile.total(),
                reason,
            }))
        }
    };
    let mut repaired = m.clone();
    if let Storage::Sharded { shards, .. } = &mut repaired.storage {
        shards.retain(|s| s.index != index);
        shards.push(ShardRef {
            index,
            node_id: target,
            table_hash,
        });
        shards.sort_by_key(|s| s.index);
    }
    let evidence = Evidence {
        node: target,
        at_ms: node.clock.now_ms(),
        result: "ok".into(),
        detail: "rebuilt by repair".into(),
    };
    let mns = manifest_ns(&m.namespace);
    let result = node
        .propose_grouped(Command::Txn {
            conditions: vec![
                Condition {
                    ns: mns.clone(),
                    key: m.key.as_bytes().to_vec(),
                    expect: Expect::Revision(revision),
                },
                intent.condition(),
            ],
            then: vec![
                intent.end(),
                Command::Put {
                    ns: mns,
                    key: m.key.as_bytes().to_vec(),
                    value: repaired.encode(),
                },
                Command::Delete {
                    ns: queue.into(),
                    key: key.as_bytes().to_vec(),
                },
                Command::Put {
                    ns: NS_FIXITY.into(),
                    key: fixity_key(&object_id, index),
                    value: serde_json::to_vec(&evidence).unwrap_or_default(),
                },
            ],
        })
        .await?;
    match result {
        CommandResult::Txn { succeeded: true, .. } => Ok(Outcome::Repaired { node: target }),
        // The object changed meanwhile; the next pass looks again. The shard just written is an
        // orphan if it is not the manifest's, and is collected.
        _ => Err(RepairError::ObjectChanged),
    }
}

/// The same node when it is up and has room; otherwise the node that keeps the object's shards
/// most spread: fewest of them at its site, then on itself, then a stable per-object order.
async fn choose_target(
    node: &Node,
    m: &Manifest,
    object_id: &ObjectId,
    shards: &[ShardRef],
    index: u32,
    holder: Option<&ShardRef>,
    bytes: u64,
) -> Result<(u64, String), RepairError> {
    let map = node.state.cluster_map();
    if let Some(h) = holder {
        if let Some(n) = map.nodes.get(&h.node_id).filter(|n| n.state == NodeState::Up) {
            if node.reserve_cached(n.id, &n.addr, bytes).await.is_ok() {
                return Ok((n.id, n.addr.clone()));
            }
        }
    }
    let mut per_site: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_node: BTreeMap<u64, usize> = BTreeMap::new();
    for s in shards.iter().filter(|s| s.index != index) {
        *per_node.entry(s.node_id).or_default() += 1;
        if let Some(n) = map.nodes.get(&s.node_id) {
            *per_site.entry(n.site.as_str()).or_default() += 1;
        }
    }
    let mut candidates: Vec<_> = map
        .nodes
        .values()
        .filter(|n| n.state == NodeState::Up && Some(n.id) != holder.map(|h| h.node_id))
        .map(|n| {
            let tie = blake3::hash(&[object_id.as_slice(), &n.id.to_be_bytes()].concat());
            let rank = (
                per_site.get(n.site.as_str()).copied().unwrap_or(0),
                per_node.get(&n.id).copied().unwrap_or(0),
                *tie.as_bytes(),
            );
            (rank, n)
        })
        .collect();
    candidates.sort_by_key(|c| c.0);
    let mut refusals = Vec::new();
    for (_, n) in candidates {
        match node.reserve_cached(n.id, &n.addr, bytes).await {
            Ok(()) => return Ok((n.id, n.addr.clone())),
            Err(e) => refusals.push(format!("node {}: {e}", n.id)),
        }
    }
    Err(RepairError::NoTarget {
        index,
        namespace: m.namespace.clone(),
        key: m.key.clone(),
        refusals: refusals.join("; "),
    })
}

/// Why a rebuild did not happen.
enum RebuildError {
    /// Fewer than k of the other shards are sound: the object cannot be rebuilt.
    Lost(String),
    /// Anything else (unreachable nodes, a failed write): worth another try.
    Failed(RepairError),
}

impl From<RepairError> for RebuildError {
    fn from(e: RepairError) -> Self {
        RebuildError::Failed(e)
    }
}

impl From<ObjectError> for RebuildError {
    fn from(e: ObjectError) -> Self {
        RebuildError::Failed(e.into())
    }
}

impl From<tokio::task::JoinError> for RebuildError {
    fn from(e: tokio::task::JoinError) -> Self {
        RebuildError::Failed(e.into())
    }
}

/// Reconstructs shard `index` stripe by stripe from verified shards and streams it to `target`.
async fn rebuild(
    node: &Node,
    m: &Manifest,
    codec: &Codec,
    index: u32,
    target: (u64, String),
    expected: Option<[u8; 32]>,
    budget: &RateBudget,
) -> Result<[u8; 32], RebuildError> {
    let Storage::Sharded {
        profile,
        stripe_size,
        shards,
    } = &m.storage
    else {
        return Err(RebuildError::Failed(RepairError::NotSharded));
    };
    let (k, total) = (profile.data as usize, profile.total());
    // Every other shard may serve, in read preference; the one being rebuilt may not.
    let sources: Vec<&ShardRef> = node
        .read_preference(shards, profile.data as u32)
        .into_iter()
        .filter(|s| s.index != index)
        .collect();
    let header = ShardHeader {
        cluster_id: node.identity.cluster_id().unwrap_or_default(),
        object_id: m.object_id.to_vec(),
        namespace: m.namespace.clone(),
        key: m.key.clone(),
        index,
        data_shards: profile.data as u32,
        parity_shards: profile.parity as u32,
        stripe_size: *stripe_size,
        // Sealed stripes are rebuilt as ciphertext: repair needs no key.
        shard_len: codec.shard_len(m.stored_stripe_size()) as u64,
    };
    let mut targets = vec![None; total];
    targets[index as usize] = Some(target);
    let mut fanout = Fanout::open(node, &targets, header).await?;
    let stripes = m.stripe_count();
    // k feeds stream the whole shard range; decoding and sending overlap the fetch.
    let mut feeds = Feeds::open(node, m, sources, (0, stripes), k);
    for stripe in 0..stripes {
        let mut set = feeds.stripe(stripe, total).await.map_err(|e| match e {
            ObjectError::DataLoss { reason, .. } => RebuildError::Lost(reason),
            other => RebuildError::Failed(other.into()),
        })?;
        let stripe_len = m.stored_stripe_len(stripe);
        let codec = codec.clone();
        let shard = tokio::task::spawn_blocking(move || -> Result<Bytes, RepairError> {
            codec.reconstruct(&mut set, stripe_len)?;
            set[index as usize].take().ok_or(RepairError::NothingReconstructed)
        })
        .await??;
        budget.spend(shard.len() as u64).await;
        let mut out = vec![Bytes::new(); total];
        out[index as usize] = shard;
        fanout.send_stripe(out).await?;
    }
    let refs = fanout.finish(m.size, expected).await?;
    refs.first()
        .map(|r| r.table_hash)
        .ok_or(RebuildError::Failed(RepairError::NoShardReturned))
}

/// The repair rate limit, shared by every repair of a pass: each spends the bytes it sends
/// and waits until the pass is back under the limit (0 = unlimited).
struct RateBudget {
    limit: u64,
    started: Instant,
    spent: std::sync::atomic::AtomicU64,
}

impl RateBudget {
    fn new(limit: u64) -> Self {
        Self {
            limit,
            started: Instant::now(),
            spent: std::sync::atomic::AtomicU64::new(0),
        }
    }

    async fn spend(&self, bytes: u64) {
        if self.limit == 0 {
            return;
        }
        let spent = self.spent.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed) + bytes;
        let due = Duration::from_secs_f64(spent as f64 / self.limit as f64);
        if let Some(wait) = due.checked_sub(self.started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod queue_once_tests;
