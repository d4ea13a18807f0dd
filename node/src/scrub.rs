//! The scrubber: re-reads every local shard, verifies each stripe against the shard's table
//! and the table against the manifest, finds shards the manifests expect here but are missing,
//! records fixity evidence and reports damage for repair. Progress survives restarts.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::node::Node;
use crate::objects::fixity::{fixity_key, Evidence, NS_FIXITY};
use crate::objects::lookup_owner_manifest;
use crate::objects::model::Storage;
use crate::raft::Command;
use crate::shards::{object_id_hex, ShardError, StoredShard};
use crate::time::Clock;
use crate::workers::WorkerHandle;

pub const WORKER_NAME: &str = "scrub";
const STATE_KEY: &str = "scrub";
/// Evidence is flushed at least this often, so a crash loses little.
const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// The node counts as busy this long after its last object or shard request.
const BUSY_WINDOW: Duration = Duration::from_secs(2);
/// A shard counts as at least this many bytes against the scrub's rate: a small shard costs a
/// manifest lookup, an open and an evidence record more than its bytes.
const SHARD_COST_FLOOR: u64 = 256 << 10;

/// Persisted progress of the current cycle.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cycle {
    started_ms: u64,
    /// Last shard file fully handled, as "<object id hex>.<index>".
    cursor: Option<String>,
    /// The file pass is done; the missing-shard pass remains.
    files_done: bool,
    completed_ms: u64,
    /// When the previous cycle started: shards written since are verified first, so each is
    /// checked within one interval of its writing.
    #[serde(default)]
    previous_started_ms: u64,
    done: u64,
    bytes: u64,
    errors: u64,
    cycles_completed: u64,
}

/// Why a cycle stopped before its end. It resumes from its saved cursor a few seconds later.
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// Listing this node's shards failed (disk, permissions).
    #[error(transparent)]
    Shards(#[from] ShardError),
    /// The blocking listing task panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// Reading the applied state (RocksDB) failed during the missing-shard pass.
    #[error(transparent)]
    State(#[from] rocksdb::Error),
}

enum Verdict {
    Ok,
    Corrupt {
        stripe: Option<u64>,
        reason: String,
    },
    /// No manifest assigns this shard here: the orphan collector's business.
    NotOurs,
}

pub async fn run_scrubber(node: Arc<Node>, handle: Arc<WorkerHandle>) {
    let interval = Duration::from_secs(node.config.scrub.interval_secs);
    // When the current cycle started, on the monotonic clock (unknown after a restart).
    let mut started: Option<Instant> = None;
    loop {
        let mut cycle = load(&node);
        if cycle.completed_ms > 0 {
            // Wait for the next cycle, due one interval after this one started.
            let wait = wait_for_next_cycle(&cycle, started, node.clock.as_ref(), interval);
            if !wait.is_zero() {
                handle.update(|s| {
                    s.state = "idle".into();
                    s.detail = format!("next cycle in {} s", wait.as_secs());
                    s.eta_secs = None;
                });
                handle.idle(wait).await;
            }
            started = Some(Instant::now());
            cycle = Cycle {
                started_ms: node.clock.now_ms(),
                previous_started_ms: cycle.started_ms,
                cycles_completed: cycle.cycles_completed,
                ..Cycle::default()
            };
            save(&node, &cycle);
        } else if cycle.started_ms == 0 {
            started = Some(Instant::now());
            cycle.started_ms = node.clock.now_ms();
        }
        if let Err(e) = run_cycle(&node, &handle, &mut cycle).await {
            tracing::warn!("scrub cycle interrupted: {e}");
            handle.update(|s| s.last_error = e.to_string());
            handle.idle(Duration::from_secs(5)).await;
        }
    }
}

/// How long until the cycle after `cycle` (complete) is due: its start is known on the monotonic
/// clock if it started in this process (`started`), else only on the node's wall `clock`.
fn wait_for_next_cycle(cycle: &Cycle, started: Option<Instant>, clock: &dyn Clock, interval: Duration) -> Duration {
    next_cycle_in(started.map(|s| s.elapsed()), cycle.started_ms, clock.now_ms(), interval)
}

/// How long until the next cycle, due one `interval` after the last one started. While the node
/// runs, that start is known on the monotonic clock (`elapsed`), and a wall clock that jumps
/// changes nothing. After a restart only the recorded wall-clock start is known: the wait is then
/// clamped to at most one interval, so a clock that stepped back never delays a cycle further.
fn next_cycle_in(elapsed: Option<Duration>, started_ms: u64, now_ms: u64, interval: Duration) -> Duration {
    match elapsed {
        Some(elapsed) => interval.saturating_sub(elapsed),
        None => {
            let due_ms = started_ms.saturating_add(interval.as_millis() as u64);
            Duration::from_millis(due_ms.saturating_sub(now_ms)).min(interval)
        }
    }
}

/// The order a cycle verifies shards in, as sortable keys: those written since the previous
/// cycle started (`since_ms`) first, then the others, each by name. A cycle's cursor is such a key.
fn scan_key(shard: &StoredShard, since_ms: u64) -> String {
    let modified_ms = shard
        .modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let group = if since_ms > 0 && modified_ms >= since_ms {
        "new"
    } else {
        "old"
    };
    format!("{group}:{}", shard_name(shard))
}

/// A cursor saved before cycles had an order of their own: a bare name, in the "old" group.
fn cursor_key(cursor: &str) -> String {
    if cursor.contains(':') {
        cursor.to_owned()
    } else {
        format!("old:{cursor}")
    }
}

fn load(node: &Node) -> Cycle {
    node.identity
        .get_local(STATE_KEY)
        .ok()
        .flatten()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .unwrap_or_default()
}

fn save(node: &Node, cycle: &Cycle) {
    if let Ok(raw) = serde_json::to_vec(cycle) {
        if let Err(e) = node.identity.put_local(STATE_KEY, &raw) {
            tracing::warn!("cannot persist scrub progress: {e}");
        }
    }
}

/// This node's finished shards (no temp files) whose object id starts with `bucket`.
async fn finished_shards(node: &Node, bucket: u8) -> Result<Vec<StoredShard>, ScrubError> {
    let store = node.shards.clone();
    Ok(tokio::task::spawn_blocking(move || store.list_bucket(bucket))
        .await??
        .into_iter()
        .filter(|s| !crate::shards::is_temp(&s.path))
        .collect())
}

fn shard_name(s: &StoredShard) -> String {
    format!("{}.{}", object_id_hex(&s.object_id), s.index)
}

async fn run_cycle(node: &Arc<Node>, handle: &WorkerHandle, cycle: &mut Cycle) -> Result<(), ScrubError> {
    let interval = Duration::from_secs(node.config.scrub.interval_secs);
    let since = cycle.previous_started_ms;
    // Counted, not kept: the cycle walks the store one 256th at a time (bounded memory).
    let (mut total, mut total_bytes, mut total_cost) = (0u64, 0u64, 0u64);
    for bucket in 0..=u8::MAX {
        for s in finished_shards(node, bucket).await? {
            total += 1;
            total_bytes += s.size;
            total_cost += s.size.max(SHARD_COST_FLOOR);
        }
    }
    // The busy limit counts costs; what must still be read, in the same units.
    let cost_per_byte = total_cost as f64 / total_bytes.max(1) as f64;
    let mut evidence: Vec<Command> = Vec::new();
    let mut orphans = 0u64;
    let mut last_flush = Instant::now();
    let mut pacer = Pacer::default();
    handle.update(|s| {
        s.state = "running".into();
        s.cycle_started_ms = cycle.started_ms;
        s.items_total = total;
        s.cycles_completed = cycle.cycles_completed;
    });
    // A resumed cycle shows what it kept at once, not after its first (paced) shard.
    report(handle, cycle, (total, total_bytes), interval, node.clock.now_ms());
    if !cycle.files_done {
        let resume_after = cycle.cursor.as_deref().map(cursor_key);
        // The order of `scan_key`: the group written since the previous cycle, then the others;
        // within a group by name, and a name begins with its bucket's hex byte.
        for group in ["new:", "old:"] {
            for bucket in 0..=u8::MAX {
                let mut shards: Vec<(String, StoredShard)> = finished_shards(node, bucket)
                    .await?
                    .into_iter()
                    .map(|s| (scan_key(&s, since), s))
                    .filter(|(key, _)| key.starts_with(group))
                    .filter(|(key, _)| resume_after.as_deref().is_none_or(|c| key.as_str() > c))
                    .collect();
                shards.sort_by(|a, b| a.0.cmp(&b.0));
                for (_, shard) in &shards {
                    handle.wait_if_paused().await;
                    let remaining = total_bytes.saturating_sub(cycle.bytes);
                    let due_ms = (cycle.started_ms + interval.as_millis() as u64).saturating_sub(node.clock.now_ms());
                    let pace = Pace {
                        needed: remaining as f64 * 1000.0 / due_ms.max(1) as f64,
                        cost_per_byte,
                    };
                    let verdict = verify(node, shard, &mut pacer, pace).await;
                    let now = node.clock.now_ms();
                    match &verdict {
                        Verdict::Ok => {
                            node.metrics.scrub_shards_verified.inc();
                            node.metrics.scrub_bytes_verified.inc_by(shard.size);
                            evidence.push(evidence_cmd(node, shard, "ok", "", now));
                        }
                        Verdict::Corrupt { stripe, reason } => {
                            cycle.errors += 1;
                            node.metrics.scrub_errors.inc();
                            tracing::error!(shard = %shard.path.display(), "scrub: {reason}");
                            evidence.push(evidence_cmd(node, shard, "corrupt", reason, now));
                            // Committed before the damage record: a repair, which starts from that record,
                            // then writes its "ok" after this, never under it.
                            flush(node, &mut evidence).await;
                            if let Some(m) = lookup_owner_manifest(node, &shard.object_id) {
                                node.record_damage(&m, shard.index, Some(node.id()), *stripe, reason)
                                    .await;
                            }
                        }
                        Verdict::NotOurs => orphans += 1,
                    }
                    cycle.done += 1;
                    cycle.bytes += shard.size;
                    cycle.cursor = Some(scan_key(shard, since));
                    if evidence.len() >= node.config.scrub.evidence_batch || last_flush.elapsed() > FLUSH_EVERY {
                        flush(node, &mut evidence).await;
                        save(node, cycle);
                        last_flush = Instant::now();
                    }
                    report(handle, cycle, (total, total_bytes), interval, now);
                    if orphans > 0 {
                        handle.update(|s| {
                            s.detail = format!(
                                "{} ({orphans} unexpected shard file(s) left to the orphan collector)",
                                s.detail
                            )
                        });
                    }
                    // The stripes were paced as they were read; a small shard costs at least the floor.
                    pacer
                        .pace(node, 0, SHARD_COST_FLOOR.saturating_sub(shard.size), pace)
                        .await;
                }
            }
        }
        flush(node, &mut evidence).await;
        cycle.files_done = true;
        save(node, cycle);
    }
    handle.update(|s| s.detail = "checking that every shard assigned here exists".into());
    // Page by page through this node's shard index: bounded memory whatever the catalog's size.
    let missing_pass = Instant::now();
    let mut walk = crate::objects::walk::NodeShards::new(&node.state, node.id());
    while let Some(page) = walk.next_page()? {
        for placed in page {
            if node.shards.contains(&placed.manifest.object_id, placed.index) {
                continue;
            }
            let (m, index) = (placed.manifest, placed.index);
            cycle.errors += 1;
            node.metrics.scrub_errors.inc();
            let reason = "shard file missing";
            tracing::error!(object = %object_id_hex(&m.object_id), index, "scrub: {reason}");
            evidence.push(Command::Put {
                ns: NS_FIXITY.into(),
                key: fixity_key(&m.object_id, index),
                value: evidence_value(node.id(), "missing", reason, node.clock.now_ms()),
            });
            flush(node, &mut evidence).await; // before the damage record, as above
            node.record_damage(&m, index, Some(node.id()), None, reason).await;
        }
    }
    flush(node, &mut evidence).await;
    handle.update(|s| s.errors_found = cycle.errors);
    cycle.completed_ms = node.clock.now_ms();
    cycle.cycles_completed += 1;
    save(node, cycle);
    handle.update(|s| {
        s.last_cycle_completed_ms = cycle.completed_ms;
        s.cycles_completed = cycle.cycles_completed;
        s.last_missing_pass_us = missing_pass.elapsed().as_micros() as u64;
        s.progress = 1.0;
        s.eta_secs = Some(0);
    });
    tracing::info!(shards = cycle.done, errors = cycle.errors, "scrub cycle complete");
    Ok(())
}

/// Shows the cycle's progress at `now_ms`, of `total` shards holding `total_bytes`.
fn report(handle: &WorkerHandle, cycle: &Cycle, (total, total_bytes): (u64, u64), interval: Duration, now_ms: u64) {
    let elapsed = now_ms.saturating_sub(cycle.started_ms).max(1);
    let rate = cycle.bytes as f64 / elapsed as f64; // bytes per ms
    let remaining = total_bytes.saturating_sub(cycle.bytes);
    handle.update(|s| {
        s.state = "running".into();
        s.items_done = cycle.done;
        s.items_total = total.max(cycle.done);
        s.bytes_done = cycle.bytes;
        s.errors_found = cycle.errors;
        s.progress = if total_bytes == 0 {
            1.0
        } else {
            cycle.bytes as f64 / total_bytes as f64
        };
        s.eta_secs = (rate > 0.0).then(|| (remaining as f64 / rate / 1000.0) as u64);
        s.detail = format!(
            "verifying shards; every shard at least once per {} s",
            interval.as_secs()
        );
    });
}

/// Full speed while the node is idle; while it serves objects, `busy_bytes_per_sec`, but never
/// less than the rate that still finishes the cycle within the interval; `max_bytes_per_sec`
/// always.
#[derive(Default)]
struct Pacer {
    /// The regime in force (busy or not), and what was read since it came into force.
    busy: bool,
    since: Option<Instant>,
    bytes: u64,
    /// Bytes as the busy limit counts them (a shard costs at least [`SHARD_COST_FLOOR`]).
    cost: u64,
}

/// What the pacer needs to know of the cycle when a shard starts.
#[derive(Clone, Copy)]
struct Pace {
    /// Bytes/s that still finish the cycle on time.
    needed: f64,
    /// Turns `needed` into the busy limit's units (costs).
    cost_per_byte: f64,
}

impl Pacer {
    /// Called after `bytes` were read, which cost `cost` against the busy limit; sleeps as long
    /// as the regime in force requires. Called per stripe, so a large shard never reads in one
    /// burst while the node serves objects.
    async fn pace(&mut self, node: &Node, bytes: u64, cost: u64, pace: Pace) {
        let Pace { needed, cost_per_byte } = pace;
        let busy = node.config.scrub.busy_bytes_per_sec;
        let cap = node.config.scrub.max_bytes_per_sec;
        let busy_now = busy > 0 && node.metrics.foreground_busy(BUSY_WINDOW);
        if !busy_now && cap == 0 {
            self.since = None;
            tokio::task::yield_now().await;
            return;
        }
        // Going from idle to busy or back counts from now: bytes read at full speed are no
        // credit against the busy limit. (Within a regime the limit drifts with `needed`.)
        let since = match self.since {
            Some(since) if self.busy == busy_now => since,
            _ => {
                self.busy = busy_now;
                self.bytes = 0;
                self.cost = 0;
                *self.since.insert(Instant::now())
            }
        };
        self.bytes += bytes;
        self.cost += cost;
        let mut due = 0.0f64;
        if busy_now {
            // A margin over the bare minimum, so a busy week still ends on time.
            let busy_limit = (busy as f64).max(needed * cost_per_byte * 1.25);
            due = self.cost as f64 / busy_limit;
        }
        if cap > 0 {
            due = due.max(self.bytes as f64 / cap as f64);
        }
        if let Some(wait) = Duration::from_secs_f64(due).checked_sub(since.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
}

async fn flush(node: &Node, evidence: &mut Vec<Command>) {
    if evidence.is_empty() {
        return;
    }
    let batch = Command::Batch(std::mem::take(evidence));
    if let Err(e) = node.propose(batch).await {
        tracing::warn!("cannot record fixity evidence now ({e}); it will be recorded next cycle");
    }
}

fn evidence_value(node: u64, result: &str, detail: &str, at_ms: u64) -> Vec<u8> {
    serde_json::to_vec(&Evidence {
        node,
        at_ms,
        result: result.into(),
        detail: detail.into(),
    })
    .unwrap_or_default()
}

fn evidence_cmd(node: &Node, shard: &StoredShard, result: &str, detail: &str, at_ms: u64) -> Command {
    Command::Put {
        ns: NS_FIXITY.into(),
        key: fixity_key(&shard.object_id, shard.index),
        value: evidence_value(node.id(), result, detail, at_ms),
    }
}

/// Verifies one local shard against its own table and the manifest's record of it, pacing
/// after each stripe.
async fn verify(node: &Node, shard: &StoredShard, pacer: &mut Pacer, pace: Pace) -> Verdict {
    let Some(m) = lookup_owner_manifest(node, &shard.object_id) else {
        return Verdict::NotOurs;
    };
    let Storage::Sharded { shards, .. } = &m.storage else {
        return Verdict::NotOurs;
    };
    let Some(expected) = shards.iter().find(|s| s.index == shard.index && s.node_id == node.id()) else {
        return Verdict::NotOurs;
    };
    // From the disk, not a cache: a cached copy would hide a rotten sector.
    let mut reader = match node.shards.open_reader_from_disk(&shard.object_id, shard.index).await {
        Ok(r) => r,
        Err(ShardError::NotFound(_)) => return Verdict::NotOurs, // removed meanwhile; the missing pass rechecks
        Err(e) => {
            return Verdict::Corrupt {
                stripe: None,
                reason: e.to_string(),
            }
        }
    };
    if reader.table_hash != expected.table_hash {
        return Verdict::Corrupt {
            stripe: None,
            reason: "the stripe table differs from the manifest's record".into(),
        };
    }
    for stripe in 0..reader.stripe_count {
        match reader.read_stripe(stripe).await {
            Ok(data) if reader.verify(stripe, &data) => {
                let len = data.len() as u64;
                pacer.pace(node, len, len, pace).await;
            }
            Ok(_) => {
                return Verdict::Corrupt {
                    stripe: Some(stripe),
                    reason: format!("stripe {stripe} fails its BLAKE3 check"),
                }
            }
            Err(e) => {
                return Verdict::Corrupt {
                    stripe: Some(stripe),
                    reason: e.to_string(),
                }
            }
        }
    }
    Verdict::Ok
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::UNIX_EPOCH;

    use super::*;

    const WEEK: Duration = Duration::from_secs(7 * 86_400);
    const DAY_MS: u64 = 86_400_000;

    #[test]
    fn the_next_cycle_is_due_on_the_monotonic_clock_whatever_the_wall_clock_says() {
        let started_ms = 1000 * DAY_MS;
        // Running: two days since the cycle started, on the monotonic clock.
        let elapsed = Some(Duration::from_secs(2 * 86_400));
        let five_days = Duration::from_secs(5 * 86_400);
        assert_eq!(
            next_cycle_in(elapsed, started_ms, started_ms + 2 * DAY_MS, WEEK),
            five_days
        );
        // The wall clock jumped a year back, or a year ahead: same answer.
        assert_eq!(
            next_cycle_in(elapsed, started_ms, started_ms - 365 * DAY_MS, WEEK),
            five_days
        );
        assert_eq!(
            next_cycle_in(elapsed, started_ms, started_ms + 365 * DAY_MS, WEEK),
            five_days
        );
        assert_eq!(next_cycle_in(Some(WEEK * 2), started_ms, 0, WEEK), Duration::ZERO);
    }

    #[test]
    fn after_a_restart_the_next_cycle_is_never_more_than_one_interval_away() {
        let started_ms = 1000 * DAY_MS;
        let one_day = Duration::from_secs(86_400);
        assert_eq!(next_cycle_in(None, started_ms, started_ms + 6 * DAY_MS, WEEK), one_day);
        assert_eq!(
            next_cycle_in(None, started_ms, started_ms + 8 * DAY_MS, WEEK),
            Duration::ZERO
        );
        // The wall clock stepped back a year since the recorded start: at most one interval.
        assert_eq!(next_cycle_in(None, started_ms, started_ms - 365 * DAY_MS, WEEK), WEEK);
    }

    /// The node's clock, injected, decides when a restarted scrubber starts its next cycle; once
    /// a cycle started in this process, a jump of that clock changes nothing.
    #[test]
    fn the_next_cycle_after_a_restart_is_due_by_the_node_clock() {
        let cycle = Cycle {
            started_ms: 1000 * DAY_MS,
            completed_ms: 1000 * DAY_MS + 1,
            ..Cycle::default()
        };
        let clock = crate::time::ManualClock::new(cycle.started_ms + 6 * DAY_MS);
        let one_day = Duration::from_secs(86_400);
        assert_eq!(wait_for_next_cycle(&cycle, None, &clock, WEEK), one_day);
        clock.advance(DAY_MS);
        assert_eq!(wait_for_next_cycle(&cycle, None, &clock, WEEK), Duration::ZERO);

        let two_days_ago = Instant::now() - 2 * one_day;
        clock.set(cycle.started_ms + 365 * DAY_MS);
        let wait = wait_for_next_cycle(&cycle, Some(two_days_ago), &clock, WEEK);
        assert!(
            wait <= 5 * one_day && wait > 5 * one_day - Duration::from_secs(60),
            "{wait:?}"
        );
    }

    fn shard(id: u8, modified_ms: u64) -> StoredShard {
        StoredShard {
            object_id: [id; 16],
            index: 0,
            path: PathBuf::new(),
            packed: false,
            size: 1,
            modified: UNIX_EPOCH + Duration::from_millis(modified_ms),
            inode: 0,
        }
    }

    #[test]
    fn shards_written_since_the_previous_cycle_started_come_first() {
        let since = 100 * DAY_MS;
        let mut shards = [
            shard(1, since - 1),
            shard(2, since + 5),
            shard(3, since - DAY_MS),
            shard(4, since),
        ];
        shards.sort_by_cached_key(|s| scan_key(s, since));
        let order: Vec<u8> = shards.iter().map(|s| s.object_id[0]).collect();
        assert_eq!(order, vec![2, 4, 1, 3]);
        // A cursor saved by an older version resumes in the "old" group, after every new shard.
        let old_cursor = cursor_key(&shard_name(&shard(1, 0)));
        let left: Vec<u8> = shards
            .iter()
            .filter(|s| scan_key(s, since) > old_cursor)
            .map(|s| s.object_id[0])
            .collect();
        assert_eq!(left, vec![3]);
        // The first cycle has no previous start: plain name order.
        assert!(scan_key(&shard(9, 1_700_000_000_000), 0).starts_with("old:"));
    }
}
