//! `archipel cluster init`, `archipel node add|remove|info`

use std::process::ExitCode;

use anyhow::Context;
use archipel_client::Client;
use serde_json::json;

use super::connect;
use crate::cli::{ClusterCommand, NodeCommand};
use crate::output::print_json;

pub async fn cluster(command: ClusterCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClusterCommand::Init { cluster, node, json } => {
            let client = connect(&cluster)?;
            let target = node.unwrap_or_else(|| client.endpoints()[0].clone());
            let reply = client
                .init_cluster(&target)
                .await
                .with_context(|| format!("cluster init on {target} failed"))?;
            if json {
                print_json(&json!({"cluster_id": reply.cluster_id, "node_id": reply.node_id, "addr": target}))?;
            } else {
                outln!(
                    "cluster {} initialised on node {} ({target})",
                    reply.cluster_id,
                    reply.node_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn node(command: NodeCommand) -> anyhow::Result<ExitCode> {
    match command {
        NodeCommand::Add {
            addr,
            site,
            cluster,
            json,
        } => {
            let client = connect(&cluster)?;
            let reply = client
                .add_node(&addr, &site)
                .await
                .with_context(|| format!("adding the node at {addr} failed"))?;
            let id = reply.node.as_ref().map(|n| n.node_id).unwrap_or_default();
            if json {
                print_json(
                    &json!({"node_id": id, "addr": addr, "site": site, "voters": reply.voters, "learners": reply.learners}),
                )?;
            } else {
                outln!("node {id} ({addr}, site {site}) added; voters now {:?}", reply.voters);
            }
            Ok(ExitCode::SUCCESS)
        }
        NodeCommand::Drain {
            id,
            wait,
            timeout_secs,
            cluster,
            json,
        } => {
            let client = connect(&cluster)?;
            let previous = client
                .drain_node(id)
                .await
                .with_context(|| format!("draining node {id} failed"))?;
            if !json {
                outln!("node {id} is draining (was {previous}); its shards are being moved");
            }
            let left = if wait {
                wait_drained(&client, id, timeout_secs, json).await?
            } else {
                None
            };
            if json {
                print_json(&json!({"node": id, "previous_state": previous, "draining": true, "shards_left": left}))?;
            } else if wait {
                outln!("node {id} holds no shard any more; take it out with `archipel node remove {id}`");
            }
            Ok(ExitCode::SUCCESS)
        }
        NodeCommand::Remove { id, cluster, json } => {
            let client = connect(&cluster)?;
            let reply = remove_with_retry(&client, id).await?;
            if json {
                print_json(&json!({"removed": id, "voters": reply.voters, "learners": reply.learners}))?;
            } else {
                outln!("node {id} removed; voters now {:?}", reply.voters);
            }
            Ok(ExitCode::SUCCESS)
        }
        NodeCommand::Info { addr, json } => {
            let client = super::cert::client_for(&addr, None)?;
            let info = client.node_info(&addr).await?;
            let raft = info.raft.clone().unwrap_or_default();
            if json {
                print_json(&json!({
                    "node_id": info.node_id, "site": info.site, "addr": info.addr,
                    "capacity_bytes": info.capacity_bytes, "cluster_id": info.cluster_id,
                    "version": info.version, "role": raft.role, "term": raft.term,
                    "leader": raft.leader_id, "last_log_index": raft.last_log_index,
                    "committed": raft.committed, "last_applied": raft.last_applied,
                    "snapshot_index": raft.snapshot_index, "voters": raft.voters, "learners": raft.learners,
                }))?;
            } else {
                outln!(
                    "node {} at {} (site {}), version {}",
                    info.node_id,
                    info.addr,
                    info.site,
                    info.version
                );
                outln!(
                    "cluster {}",
                    if info.cluster_id.is_empty() {
                        "(none: not yet added)"
                    } else {
                        &info.cluster_id
                    }
                );
                outln!(
                    "raft: {} in term {}, leader {:?}, log {} / committed {} / applied {}",
                    raft.role,
                    raft.term,
                    raft.leader_id,
                    raft.last_log_index,
                    raft.committed,
                    raft.last_applied
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Removing the leader itself makes it step down half-way; the next leader finishes the job.
async fn remove_with_retry(
    client: &Client,
    id: u64,
) -> anyhow::Result<archipel_client::proto::cluster::RemoveNodeReply> {
    let mut last = None;
    for _ in 0..5 {
        match client.remove_node(id).await {
            Ok(r) => return Ok(r),
            Err(e) if e.is_transient() => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("removing node {id} failed")),
        }
    }
    Err(last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("no attempt made")))
    .with_context(|| format!("removing node {id} failed"))
}

/// Waits until the leader records that no manifest references the node (`sys.drain/<id>`).
pub(crate) async fn wait_drained(
    client: &Client,
    id: u64,
    timeout_secs: u64,
    quiet: bool,
) -> anyhow::Result<Option<u64>> {
    use archipel_client::Consistency;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout_secs);
    let mut last_report = u64::MAX;
    loop {
        let marker = client
            .meta_get("sys.drain", id.to_string().as_bytes(), Consistency::Linearizable)
            .await?;
        let (pending, _) = client
            .meta_scan("sys.damaged", b"", b"", 10_000, Consistency::Linearizable)
            .await?;
        let left = pending
            .iter()
            .filter(|e| {
                serde_json::from_slice::<serde_json::Value>(&e.value).is_ok_and(|v| v["node_id"].as_u64() == Some(id))
            })
            .count() as u64;
        if marker.is_some() && left == 0 {
            return Ok(Some(0));
        }
        if !quiet && left != last_report && marker.is_some() {
            eprintln!("node {id}: {left} shard(s) left to move");
            last_report = left;
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("node {id} still holds {left} shard(s) after {timeout_secs} s; see `archipel repair status`");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
