//! Invariant: full redundancy is back within a bound after healing. Every node completes a scrub
//! cycle started after the heal (the checker starts one, as an operator would), the repair and
//! move queues (`sys.damaged`, `sys.moves`: what `archipel repair status` lists) are empty, every sharded
//! object's manifest lists all k+m shards, and, when the cluster's placement check runs often
//! enough, its report (`archipel status --json`: `placement_violations`) finished after the heal
//! with no violation.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use archipel_client::{Client, Consistency};

use crate::backend::NodeRef;
use crate::workload::NAMESPACE;

pub const NAME: &str = "full-redundancy";
const KICK_EVERY: Duration = Duration::from_secs(5);

/// Why the cluster is not fully redundant yet, or None when it is.
async fn pending(
    client: &Client,
    nodes: &[NodeRef],
    healed_at_ms: u64,
    kicked: &mut BTreeMap<u64, Instant>,
    placement_check: Option<Duration>,
) -> Option<String> {
    for n in nodes {
        let scrub = match client.workers(&n.addr).await {
            Ok(list) => list.workers.into_iter().find(|w| w.name == "scrub"),
            Err(e) => return Some(format!("node {}: workers unreadable: {e}", n.id)),
        };
        let Some(w) = scrub else {
            return Some(format!("node {} has no scrub worker", n.id));
        };
        let done = w.state != "running"
            && w.cycle_started_ms >= healed_at_ms
            && w.last_cycle_completed_ms >= w.cycle_started_ms;
        if done {
            continue;
        }
        if w.state != "running" && kicked.get(&n.id).is_none_or(|t| t.elapsed() > KICK_EVERY) {
            kicked.insert(n.id, Instant::now());
            if let Err(e) = client.control_worker(&n.addr, "scrub", "start").await {
                return Some(format!("node {}: cannot start a scrub: {e}", n.id));
            }
        }
        return Some(format!(
            "node {}: scrub {} ({:.0}%, cycle started {} ms after heal)",
            n.id,
            w.state,
            w.progress * 100.0,
            w.cycle_started_ms as i64 - healed_at_ms as i64
        ));
    }
    // The repair queue, and the moves that restore placement once lost nodes are back.
    for (queue, what) in [("sys.damaged", "awaiting repair"), ("sys.moves", "awaiting a move")] {
        match client.meta_scan(queue, b"", b"", 100, Consistency::Linearizable).await {
            Ok((entries, _)) if !entries.is_empty() => {
                let names: Vec<String> = entries
                    .iter()
                    .take(5)
                    .map(|e| String::from_utf8_lossy(&e.key).into_owned())
                    .collect();
                return Some(format!("{} shard(s) {what} ({}…)", entries.len(), names.join(", ")));
            }
            Ok(_) => {}
            Err(e) => return Some(format!("{queue} unreadable: {e}")),
        }
    }
    if placement_check.is_some() {
        match client.status(1000).await {
            Ok(s) if s.placement_checked_at_ms < healed_at_ms => {
                return Some(format!(
                    "the placement check has not run since the heal (last at {} ms before it)",
                    healed_at_ms as i64 - s.placement_checked_at_ms as i64
                ))
            }
            Ok(s) if s.placement_violations > 0 => {
                return Some(format!(
                    "the placement check reports {} object(s) placed worse than the layout allows",
                    s.placement_violations
                ))
            }
            Ok(_) => {}
            Err(e) => return Some(format!("status unreadable: {e}")),
        }
    }
    let mut after = String::new();
    for _ in 0..100 {
        let (page, more) = match client.list_objects(NAMESPACE, "", &after, 1000).await {
            Ok(p) => p,
            Err(e) => return Some(format!("listing failed: {e}")),
        };
        for info in &page {
            if info.storage == "inline" {
                continue;
            }
            let Some(total) = shard_count(&info.storage) else {
                return Some(format!("{}: unknown storage `{}`", info.key, info.storage));
            };
            let stat = match client.stat_object(NAMESPACE, &info.key).await {
                Ok(s) => s,
                Err(archipel_client::ClientError::NotFound(_)) => continue,
                Err(e) => return Some(format!("{}: stat failed: {e}", info.key)),
            };
            let have: BTreeSet<u32> = stat.shards.iter().map(|s| s.index).collect();
            if have.len() != total as usize || have.iter().any(|i| *i >= total) {
                return Some(format!("{}: {} of {total} shards ({:?})", info.key, have.len(), have));
            }
        }
        match page.last() {
            Some(last) if more => after = last.key.clone(),
            _ => return None,
        }
    }
    None
}

/// "k+m" → k+m.
fn shard_count(storage: &str) -> Option<u32> {
    let (k, m) = storage.split_once('+')?;
    Some(k.trim().parse::<u32>().ok()? + m.trim().parse::<u32>().ok()?)
}

/// Corrupt or missing shards found by the scrub cycles that ran after healing.
async fn scrub_errors(client: &Client, nodes: &[NodeRef]) -> u64 {
    let mut total = 0;
    for n in nodes {
        if let Ok(list) = client.workers(&n.addr).await {
            total += list
                .workers
                .iter()
                .filter(|w| w.name == "scrub")
                .map(|w| w.errors_found)
                .sum::<u64>();
        }
    }
    total
}

/// Waits up to `bound`; returns how long it took and how many damaged shards the post-heal
/// scrub found, or what was still missing.
pub async fn wait_full_redundancy(
    client: &Client,
    nodes: &[NodeRef],
    healed_at_ms: u64,
    bound: Duration,
    placement_check: Option<Duration>,
) -> Result<(Duration, u64), String> {
    let start = Instant::now();
    let mut kicked = BTreeMap::new();
    let mut last = String::new();
    while start.elapsed() < bound {
        match pending(client, nodes, healed_at_ms, &mut kicked, placement_check).await {
            None => return Ok((start.elapsed(), scrub_errors(client, nodes).await)),
            Some(why) => last = why,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!(
        "not fully redundant {:.0} s after healing: {last}",
        bound.as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn profiles_parse() {
        assert_eq!(super::shard_count("3+3"), Some(6));
        assert_eq!(super::shard_count("5+3"), Some(8));
        assert_eq!(super::shard_count("inline"), None);
    }
}
