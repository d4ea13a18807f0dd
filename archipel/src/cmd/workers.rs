//! `archipel scrub …` and `archipel repair …`: the background workers of every node.

use std::process::ExitCode;

use archipel_client::proto::worker::WorkerInfo;
use archipel_client::{Client, Consistency};
use serde_json::json;

use super::connect;
use super::status::lost_json;
use crate::cli::{RepairCommand, ScrubCommand};
use crate::output::print_json;

struct NodeWorker {
    node_id: u64,
    site: String,
    worker: Result<WorkerInfo, String>,
}

/// Worker `name` of every node (or one), after applying `action` if given, gathered by the
/// node that answers: this machine needs to reach only one node.
async fn collect(client: &Client, name: &str, action: &str, only: Option<u64>) -> anyhow::Result<Vec<NodeWorker>> {
    let nodes = client.cluster_workers(name, action, only.unwrap_or(0)).await?;
    Ok(nodes
        .into_iter()
        .map(|n| NodeWorker {
            node_id: n.node_id,
            site: n.site,
            worker: if n.error.is_empty() {
                n.workers
                    .into_iter()
                    .find(|w| w.name == name)
                    .ok_or_else(|| format!("no `{name}` worker"))
            } else {
                Err(format!("unreachable: {}", n.error))
            },
        })
        .collect())
}

fn exit_for(rows: &[NodeWorker]) -> ExitCode {
    if rows.iter().any(|r| r.worker.is_err()) {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

fn worker_json(w: &NodeWorker) -> serde_json::Value {
    match &w.worker {
        Ok(i) => json!({
            "node": w.node_id, "site": w.site, "state": i.state, "progress": i.progress,
            "items_done": i.items_done, "items_total": i.items_total, "bytes_done": i.bytes_done,
            "errors_found": i.errors_found, "repairs_done": i.repairs_done, "eta_secs": i.eta_secs,
            "cycle_started_ms": i.cycle_started_ms, "last_cycle_completed_ms": i.last_cycle_completed_ms,
            "cycles_completed": i.cycles_completed, "last_error": i.last_error, "detail": i.detail,
            "last_missing_pass_us": i.last_missing_pass_us,
        }),
        Err(e) => json!({"node": w.node_id, "site": w.site, "error": e}),
    }
}

fn ago(ms: u64) -> String {
    if ms == 0 {
        return "never".into();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(ms);
    let secs = now.saturating_sub(ms) / 1000;
    match secs {
        0..=119 => format!("{secs}s ago"),
        120..=7199 => format!("{}m ago", secs / 60),
        7200..=172_799 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

fn print_table(rows: &[NodeWorker]) {
    outln!(
        "{:<5} {:<12} {:<8} {:>8} {:>13} {:>7} {:>8} {:>9} {:<14}",
        "NODE",
        "SITE",
        "STATE",
        "DONE",
        "SHARDS",
        "ERRORS",
        "REPAIRS",
        "ETA",
        "LAST CYCLE"
    );
    for r in rows {
        match &r.worker {
            Ok(i) => outln!(
                "{:<5} {:<12} {:<8} {:>7.1}% {:>13} {:>7} {:>8} {:>9} {:<14}",
                r.node_id,
                r.site,
                i.state,
                i.progress * 100.0,
                format!("{}/{}", i.items_done, i.items_total),
                i.errors_found,
                i.repairs_done,
                i.eta_secs.map(|s| format!("{s}s")).unwrap_or_else(|| "-".into()),
                ago(i.last_cycle_completed_ms),
            ),
            Err(e) => outln!("{:<5} {:<12} {e}", r.node_id, r.site),
        }
    }
    for r in rows {
        if let Ok(i) = &r.worker {
            if !i.last_error.is_empty() {
                outln!("node {}: last error: {}", r.node_id, i.last_error);
            }
        }
    }
}

async fn control(client: &Client, name: &str, action: &str, node: Option<u64>, json: bool) -> anyhow::Result<ExitCode> {
    let rows = collect(client, name, action, node).await?;
    if json {
        print_json(&rows.iter().map(worker_json).collect::<Vec<_>>())?;
    } else {
        for r in &rows {
            match &r.worker {
                Ok(i) => outln!("node {}: {name} {}", r.node_id, i.state),
                Err(e) => eprintln!("node {}: {e}", r.node_id),
            }
        }
    }
    Ok(if rows.iter().any(|r| r.worker.is_err()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn scrub(command: ScrubCommand) -> anyhow::Result<ExitCode> {
    match command {
        ScrubCommand::Status { cluster, json } => {
            let rows = collect(&connect(&cluster)?, "scrub", "", None).await?;
            if json {
                print_json(&rows.iter().map(worker_json).collect::<Vec<_>>())?;
            } else {
                print_table(&rows);
            }
            Ok(exit_for(&rows))
        }
        ScrubCommand::Start { node, cluster, json } => control(&connect(&cluster)?, "scrub", "start", node, json).await,
        ScrubCommand::Pause { node, cluster, json } => control(&connect(&cluster)?, "scrub", "pause", node, json).await,
        ScrubCommand::Resume { node, cluster, json } => {
            control(&connect(&cluster)?, "scrub", "resume", node, json).await
        }
    }
}

pub async fn repair(command: RepairCommand) -> anyhow::Result<ExitCode> {
    match command {
        RepairCommand::Status { cluster, json } => {
            let client = connect(&cluster)?;
            let (pending, more) = client
                .meta_scan("sys.damaged", b"", b"", 1000, Consistency::Linearizable)
                .await?;
            let (lost, more_lost) = client.lost_objects(10_000).await?;
            let rows = collect(&client, "repair", "", None).await?;
            let active: Vec<&NodeWorker> = rows
                .iter()
                .filter(|r| {
                    r.worker
                        .as_ref()
                        .is_ok_and(|w| w.detail != "only the Raft leader repairs")
                })
                .collect();
            let entries: Vec<serde_json::Value> = pending
                .iter()
                .map(|e| {
                    let mut v: serde_json::Value = serde_json::from_slice(&e.value).unwrap_or(json!({}));
                    v["shard"] = json!(String::from_utf8_lossy(&e.key));
                    v
                })
                .collect();
            if json {
                print_json(&json!({
                    "pending": entries,
                    "more": more,
                    "lost": lost.iter().map(lost_json).collect::<Vec<_>>(),
                    "more_lost": more_lost,
                    "repairer": active.iter().map(|r| worker_json(r)).collect::<Vec<_>>(),
                }))?;
            } else {
                outln!(
                    "{} shard(s) awaiting repair{}",
                    entries.len(),
                    if more { " (first 1000)" } else { "" }
                );
                for e in entries.iter().take(50) {
                    let retry = match e["attempts"].as_u64() {
                        Some(n) => format!(
                            "  [{n} failed attempt(s), next {}: {}]",
                            archipel_node::time::format_ms(e["next_try_ms"].as_u64().unwrap_or(0)),
                            e["last_error"].as_str().unwrap_or("")
                        ),
                        None => String::new(),
                    };
                    outln!(
                        "  {}  {}/{}  {}{retry}",
                        e["shard"].as_str().unwrap_or(""),
                        e["namespace"].as_str().unwrap_or(""),
                        e["key"].as_str().unwrap_or(""),
                        e["reason"].as_str().unwrap_or("")
                    );
                }
                super::status::print_lost(&lost, more_lost);
                let active: Vec<NodeWorker> = rows
                    .into_iter()
                    .filter(|r| {
                        r.worker
                            .as_ref()
                            .is_ok_and(|w| w.detail != "only the Raft leader repairs")
                    })
                    .collect();
                print_table(&active);
            }
            Ok(ExitCode::SUCCESS)
        }
        RepairCommand::Start { cluster, json } => control(&connect(&cluster)?, "repair", "start", None, json).await,
        // Every node, not only the leader: a new leader must not repair what the old one held.
        RepairCommand::Pause { cluster, json } => control(&connect(&cluster)?, "repair", "pause", None, json).await,
        RepairCommand::Resume { cluster, json } => control(&connect(&cluster)?, "repair", "resume", None, json).await,
    }
}
