//! The order of the repair queues (`sys.damaged`, then `sys.moves`). Each pass resumes where the
//! last one stopped (a cursor per queue, wrapping around), skips the entries backing off after a
//! failure, and takes an object that cannot be rebuilt out of the queue into `sys.lost`: no
//! entry, failing or not, holds up the ones behind it.
//!
//! Backoff times are milliseconds of the leader's clock, stored with the entry so that a new
//! leader keeps them. They only order work, never decide safety; and a next try further ahead than
//! the longest backoff (a clock that stepped back, another leader's clock) counts as due now, so
//! no clock can park an entry for longer than the cap.

use std::collections::BTreeSet;
use std::future::Future;

use futures::StreamExt;
use serde_json::{json, Value};

use crate::kv::KvEntry;
use crate::objects::model::NS_DAMAGED;

use super::{RepairError, NS_MOVES};

/// The default [`RepairQueues::job_deadline`].
const JOB_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3600);
/// Entries read per scan call.
const PAGE: usize = 1000;
/// Entries looked at per pass and queue, due or not, as a multiple of the pass limit: bounds a
/// pass over a long queue whose entries are all backing off.
const SCAN_BUDGET: usize = 10;

/// What one repair did.
#[derive(Debug)]
pub(crate) enum Outcome {
    Repaired {
        node: u64,
    },
    /// The object is gone or changed: nothing to repair.
    Dropped,
    /// Fewer than k shards of the object are sound: it cannot be rebuilt.
    Lost(LostObject),
}

/// An object that cannot be rebuilt, as `sys.lost/<object id>` records it.
#[derive(Debug, Clone)]
pub(crate) struct LostObject {
    pub object_id: String,
    pub namespace: String,
    pub key: String,
    /// The manifest revision this was judged on: the record is written only if it still holds.
    pub revision: u64,
    /// The object's shard count, so that all its queue entries are cleared.
    pub shards: usize,
    pub reason: String,
}

/// Exponential backoff per entry: `base`, then doubling, at most `cap`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub base_ms: u64,
    pub cap_ms: u64,
}

impl Backoff {
    /// The wait after the `attempts`-th failure in a row (1 for the first).
    pub fn delay_ms(&self, attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(32);
        self.base_ms.saturating_mul(1u64 << doublings).min(self.cap_ms)
    }

    /// Whether an entry is due at `now_ms`.
    pub fn is_due(&self, value: &Value, now_ms: u64) -> bool {
        let next = value["next_try_ms"].as_u64().unwrap_or(0);
        next <= now_ms || next > now_ms.saturating_add(self.cap_ms)
    }

    /// `value` after one more failure at `now_ms`.
    pub fn after_failure(&self, value: &Value, now_ms: u64, error: &str) -> Value {
        let mut v = if value.is_object() { value.clone() } else { json!({}) };
        let attempts = value["attempts"].as_u64().unwrap_or(0).saturating_add(1);
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        v["attempts"] = json!(attempts);
        v["next_try_ms"] = json!(now_ms.saturating_add(self.delay_ms(attempts)));
        v["last_error"] = json!(error);
        v
    }
}

/// What a pass works with: the leader's state and repairs, or a test's fake.
pub(crate) trait PassEnv: Sync {
    fn now_ms(&self) -> u64;
    /// Entries of `ns` after key `after`, and whether more follow.
    fn scan(&self, ns: &str, after: &[u8], limit: usize) -> Result<(Vec<KvEntry>, bool), RepairError>;
    fn repair(&self, queue: &'static str, entry: &KvEntry)
        -> impl Future<Output = Result<Outcome, RepairError>> + Send;
    /// Replaces `entry`'s value with `value`, if the entry has not changed since it was read.
    fn retry_later(
        &self,
        queue: &'static str,
        entry: &KvEntry,
        value: Value,
    ) -> impl Future<Output = Result<(), RepairError>> + Send;
    /// Records `lost` in `sys.lost` and clears its queue entries, in one step.
    fn mark_lost(&self, lost: &LostObject) -> impl Future<Output = Result<(), RepairError>> + Send;
}

/// Where a queue's next pass starts: after this key (empty: from the start).
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    after: Vec<u8>,
}

/// The repairer's queues, held by the leader across passes.
pub(crate) struct RepairQueues {
    damaged: Cursor,
    moves: Cursor,
    pub backoff: Backoff,
    /// Entries repaired per pass and queue, at most.
    pub limit: usize,
    /// A repair still running after this long fails (and backs off), so a hung disk or node
    /// cannot hold a pass: reads and writes have per-stripe deadlines, this bounds the rest.
    pub job_deadline: std::time::Duration,
}

/// How a pass went.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PassSummary {
    pub handled: u64,
    pub repaired: u64,
    pub dropped: u64,
    pub failed: u64,
    pub lost: u64,
    /// Entries of either queue that were backing off.
    pub waiting: u64,
    /// `sys.damaged` entries looked at this pass, due or not.
    pub damaged_seen: u64,
}

impl RepairQueues {
    pub fn new(backoff: Backoff, limit: usize) -> Self {
        Self {
            damaged: Cursor::default(),
            moves: Cursor::default(),
            backoff,
            limit: limit.max(1),
            job_deadline: JOB_DEADLINE,
        }
    }

    /// One pass: the due entries from each cursor, damage first, one per object, `concurrency`
    /// at a time. `on_done(key, outcome, done, total)` follows the progress.
    pub async fn pass<E: PassEnv>(
        &mut self,
        env: &E,
        concurrency: usize,
        mut on_done: impl FnMut(&str, &Result<Outcome, RepairError>, u64, u64),
    ) -> Result<PassSummary, RepairError> {
        let now = env.now_ms();
        let mut summary = PassSummary::default();
        let damaged = self.due(env, NS_DAMAGED, now, &mut summary)?;
        let moves = self.due(env, NS_MOVES, now, &mut summary)?;
        // Redundancy matters more than balance.
        let entries: Vec<(&'static str, KvEntry)> = damaged
            .into_iter()
            .map(|e| (NS_DAMAGED, e))
            .chain(moves.into_iter().map(|e| (NS_MOVES, e)))
            .collect();
        let entries = one_per_object(entries);
        let total = entries.len() as u64;
        let deadline = self.job_deadline;
        let jobs: Vec<_> = entries
            .into_iter()
            .map(|(queue, entry)| async move {
                let outcome = tokio::time::timeout(deadline, env.repair(queue, &entry))
                    .await
                    .unwrap_or(Err(RepairError::DeadlinePassed(deadline)));
                (queue, entry, outcome)
            })
            .collect();
        let mut running = futures::stream::iter(jobs).buffer_unordered(concurrency.max(1));
        while let Some((queue, entry, outcome)) = running.next().await {
            let key = String::from_utf8_lossy(&entry.key).into_owned();
            let outcome = match outcome {
                Ok(Outcome::Lost(lost)) => match env.mark_lost(&lost).await {
                    Ok(()) => Ok(Outcome::Lost(lost)),
                    Err(e) => Err(RepairError::RecordingLost {
                        namespace: lost.namespace.clone(),
                        key: lost.key.clone(),
                        source: Box::new(e),
                    }),
                },
                other => other,
            };
            match &outcome {
                Ok(Outcome::Repaired { .. }) => summary.repaired += 1,
                Ok(Outcome::Dropped) => summary.dropped += 1,
                Ok(Outcome::Lost(_)) => summary.lost += 1,
                Err(reason) => {
                    summary.failed += 1;
                    let value: Value = serde_json::from_slice(&entry.value).unwrap_or_default();
                    let value = self.backoff.after_failure(&value, now, &reason.to_string());
                    if let Err(e) = env.retry_later(queue, &entry, value).await {
                        tracing::warn!(shard = %key, "could not record the repair failure: {e}");
                    }
                }
            }
            summary.handled += 1;
            on_done(&key, &outcome, summary.handled, total);
        }
        Ok(summary)
    }

    /// Up to `limit` due entries of `ns`, from its cursor on, wrapping around at most once.
    fn due<E: PassEnv>(
        &mut self,
        env: &E,
        ns: &str,
        now: u64,
        summary: &mut PassSummary,
    ) -> Result<Vec<KvEntry>, RepairError> {
        let cursor = if ns == NS_DAMAGED {
            &mut self.damaged
        } else {
            &mut self.moves
        };
        let start = std::mem::take(&mut cursor.after);
        let budget = self.limit.saturating_mul(SCAN_BUDGET);
        let mut out = Vec::new();
        let mut scanned = 0usize;
        let mut after = start.clone();
        let mut wrapped = start.is_empty();
        loop {
            let (page, more) = env.scan(ns, &after, PAGE)?;
            let page_end = page.last().map(|e| e.key.clone());
            for e in page {
                if wrapped && !start.is_empty() && e.key > start {
                    return Ok(out); // full circle: every entry was looked at
                }
                scanned += 1;
                if ns == NS_DAMAGED {
                    summary.damaged_seen += 1;
                }
                let value: Value = serde_json::from_slice(&e.value).unwrap_or_default();
                let key = e.key.clone();
                if self.backoff.is_due(&value, now) {
                    out.push(e);
                } else {
                    summary.waiting += 1;
                }
                if out.len() >= self.limit || scanned >= budget {
                    cursor.after = key;
                    return Ok(out);
                }
            }
            match page_end {
                Some(last) if more => after = last,
                _ if wrapped => return Ok(out),
                _ => {
                    wrapped = true;
                    after = Vec::new();
                }
            }
        }
    }
}

/// Keeps the entries of a pass to one per object: two repairs of one object would race on its
/// manifest revision and one would be wasted. The others wait for the next pass.
fn one_per_object<T>(entries: Vec<(T, KvEntry)>) -> Vec<(T, KvEntry)> {
    let mut seen = BTreeSet::new();
    entries
        .into_iter()
        .filter(|(_, e)| {
            let key = String::from_utf8_lossy(&e.key);
            let object = key.rsplit_once('.').map_or(key.as_ref(), |(id, _)| id).to_owned();
            seen.insert(object)
        })
        .collect()
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
