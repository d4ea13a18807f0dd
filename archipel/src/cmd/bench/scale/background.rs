//! The background work whose cost grows with the catalog: a scrub cycle (with its
//! missing-shard pass) on every node, and the drain of one node.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use archipel_client::proto::worker::NodeWorkers;
use archipel_client::{Client, ClientError};

const SCRUB_LIMIT: Duration = Duration::from_secs(4 * 3600);
const DRAIN_LIMIT_SECS: u64 = 8 * 3600;

pub struct Scrubbed {
    /// The slowest node's whole cycle, files and missing-shard pass.
    pub cycle_secs: f64,
    /// The slowest node's missing-shard pass.
    pub missing_pass_secs: f64,
}

/// The scrub worker of every node that answered; a node busy enough to miss one poll is
/// looked at again on the next (the caller's time limit still applies).
fn scrub_workers(nodes: &[NodeWorkers]) -> anyhow::Result<BTreeMap<u64, archipel_client::proto::worker::WorkerInfo>> {
    let mut out = BTreeMap::new();
    for n in nodes {
        if !n.error.is_empty() {
            eprintln!(
                "bench scale: node {} did not report its workers this time: {}",
                n.node_id, n.error
            );
            continue;
        }
        if let Some(w) = n.workers.iter().find(|w| w.name == "scrub") {
            out.insert(n.node_id, w.clone());
        }
    }
    if out.is_empty() {
        bail!("no node reported a scrub worker");
    }
    Ok(out)
}

/// Starts a scrub cycle on every node and waits until each has completed it; the times are
/// the nodes' own (cycle start and end, and the missing-shard pass).
pub async fn scrub_cycle(client: &Client) -> anyhow::Result<Scrubbed> {
    // Every node's count of cycles before this one: wait until all of them answer.
    let asked = Instant::now();
    let before = loop {
        let nodes = client.cluster_workers("scrub", "", 0).await?;
        if nodes.iter().all(|n| n.error.is_empty()) || asked.elapsed() > Duration::from_secs(120) {
            break scrub_workers(&nodes)?;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    client.cluster_workers("scrub", "start", 0).await?;
    let start = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let now = match client.cluster_workers("scrub", "", 0).await {
            Ok(nodes) => scrub_workers(&nodes)?,
            // An election on a loaded machine: look again.
            Err(e) if e.is_transient() && start.elapsed() < SCRUB_LIMIT => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let pending: Vec<u64> = before
            .iter()
            .filter(|(id, w)| now.get(*id).is_none_or(|n| n.cycles_completed <= w.cycles_completed))
            .map(|(id, _)| *id)
            .collect();
        if pending.is_empty() {
            let mut s = Scrubbed {
                cycle_secs: 0.0,
                missing_pass_secs: 0.0,
            };
            for w in before.keys().filter_map(|id| now.get(id)) {
                let cycle_ms = w.last_cycle_completed_ms.saturating_sub(w.cycle_started_ms);
                s.cycle_secs = s.cycle_secs.max(cycle_ms as f64 / 1000.0);
                s.missing_pass_secs = s.missing_pass_secs.max(w.last_missing_pass_us as f64 / 1e6);
            }
            return Ok(s);
        }
        if start.elapsed() > SCRUB_LIMIT {
            bail!("nodes {pending:?} did not finish a scrub cycle within {SCRUB_LIMIT:?}; see `archipel workers`");
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!("bench scale: scrubbing, nodes {pending:?} not done yet");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Drains node `id` and waits until no manifest references it; returns the seconds it took.
pub async fn drain(client: &Client, id: u64) -> anyhow::Result<f64> {
    let start = Instant::now();
    client.drain_node(id).await?;
    loop {
        match crate::cmd::membership::wait_drained(client, id, DRAIN_LIMIT_SECS, false).await {
            Ok(_) => return Ok(start.elapsed().as_secs_f64()),
            // An election on a loaded machine interrupted the wait, not the drain.
            Err(e) if e.downcast_ref::<ClientError>().is_some_and(ClientError::is_transient) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
