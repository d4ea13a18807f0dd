//! `archipel status`

use std::process::ExitCode;

use archipel_client::proto::cluster::{ClusterStatus, Health, LostObject, NodeState};
use archipel_client::Client;
use archipel_node::size::format_size;
use archipel_node::time::format_ms;
use serde_json::json;

use crate::output::print_json;

pub async fn run(client: &Client, json: bool, probe_timeout_ms: u32) -> anyhow::Result<ExitCode> {
    let status = client.status(probe_timeout_ms).await?;
    let health = Health::try_from(status.health).unwrap_or(Health::Unspecified);
    if json {
        print_json(&to_json(&status, health))?;
    } else {
        print_table(&status, health);
    }
    Ok(match health {
        Health::Ok => ExitCode::SUCCESS,
        Health::Degraded => ExitCode::from(3),
        _ => ExitCode::from(4),
    })
}

fn health_word(h: Health) -> &'static str {
    match h {
        Health::Ok => "ok",
        Health::Degraded => "degraded",
        Health::Unavailable | Health::Unspecified => "unavailable",
    }
}

fn state_word(state: i32) -> &'static str {
    match NodeState::try_from(state).unwrap_or(NodeState::Unspecified) {
        NodeState::Up => "up",
        NodeState::Draining => "draining",
        NodeState::Gone => "gone",
        NodeState::Unspecified => "unknown",
    }
}

fn to_json(s: &ClusterStatus, health: Health) -> serde_json::Value {
    let nodes: Vec<_> = s
        .nodes
        .iter()
        .map(|n| {
            json!({
                "id": n.node_id,
                "site": n.site,
                "addr": n.addr,
                "capacity_bytes": n.capacity_bytes,
                "state": state_word(n.state),
                "raft": n.raft_membership,
                "reachable": n.reachable,
                "error": if n.reachable { None } else { Some(&n.error) },
                "role": n.raft.as_ref().map(|r| r.role.clone()),
                "term": n.raft.as_ref().map(|r| r.term),
                "last_applied": n.raft.as_ref().map(|r| r.last_applied),
            })
        })
        .collect();
    json!({
        "cluster_id": s.cluster_id,
        "health": health_word(health),
        "reasons": s.reasons,
        "leader": s.leader_id,
        "term": s.term,
        "committed": s.committed,
        "last_applied": s.last_applied,
        "layout_version": s.layout_version,
        "answered_by": s.answered_by,
        "objects_degraded": s.objects_degraded,
        "objects_at_risk": s.objects_at_risk,
        "objects_lost": s.objects_lost,
        "shards_awaiting_repair": s.shards_awaiting_repair,
        "placement_violations": s.placement_violations,
        "placement_checked_at_ms": (s.placement_checked_at_ms > 0).then_some(s.placement_checked_at_ms),
        "shards_to_move": s.shards_to_move,
        "lost": s.lost.iter().map(lost_json).collect::<Vec<_>>(),
        "nodes": nodes,
    })
}

/// One object repair cannot rebuild, as `status --json` and `repair status --json` show it.
pub(crate) fn lost_json(l: &LostObject) -> serde_json::Value {
    json!({
        "object_id": l.object_id,
        "namespace": l.namespace,
        "key": l.key,
        "reason": l.reason,
        "detected_at_ms": l.detected_at_ms,
    })
}

/// The lost objects, for a person: where they were, since when, why.
pub(crate) fn print_lost(lost: &[LostObject], more: bool) {
    if lost.is_empty() {
        return;
    }
    outln!();
    outln!(
        "LOST OBJECTS ({}{}): fewer than k sound shards, repair cannot rebuild them",
        lost.len(),
        if more { "+" } else { "" }
    );
    for l in lost {
        outln!(
            "  {}/{}  (object {}, since {})  {}",
            l.namespace,
            l.key,
            l.object_id,
            format_ms(l.detected_at_ms),
            l.reason
        );
    }
    if more {
        outln!("  … and more: `archipel repair status --json` lists them all");
    }
}

fn print_table(s: &ClusterStatus, health: Health) {
    outln!(
        "cluster   {}",
        if s.cluster_id.is_empty() {
            "(not initialised)"
        } else {
            &s.cluster_id
        }
    );
    outln!("health    {}", health_word(health).to_uppercase());
    for r in &s.reasons {
        outln!("          - {r}");
    }
    match s.leader_id {
        Some(l) if health != Health::Unavailable => outln!("leader    node {l}, term {}", s.term),
        Some(l) => outln!(
            "leader    none with a quorum (node {l} claims term {}, cut off)",
            s.term
        ),
        None => outln!("leader    none (term {})", s.term),
    }
    outln!(
        "applied   {} (committed {}), layout v{}",
        s.last_applied,
        s.committed,
        s.layout_version
    );
    outln!();
    outln!(
        "{:<5} {:<14} {:<22} {:<9} {:<8} {:<10} {:<10} {:>10}",
        "NODE",
        "SITE",
        "ADDRESS",
        "STATE",
        "RAFT",
        "ROLE",
        "REACHABLE",
        "APPLIED"
    );
    for n in &s.nodes {
        let role = n.raft.as_ref().map(|r| r.role.as_str()).unwrap_or("-");
        let applied = n
            .raft
            .as_ref()
            .map(|r| r.last_applied.to_string())
            .unwrap_or_else(|| "-".into());
        outln!(
            "{:<5} {:<14} {:<22} {:<9} {:<8} {:<10} {:<10} {:>10}",
            n.node_id,
            n.site,
            n.addr,
            state_word(n.state),
            n.raft_membership,
            role,
            if n.reachable { "yes" } else { "NO" },
            applied
        );
    }
    let sites: std::collections::BTreeSet<&str> = s.nodes.iter().map(|n| n.site.as_str()).collect();
    let capacity: u64 = s
        .nodes
        .iter()
        .filter(|n| n.state != NodeState::Gone as i32)
        .map(|n| n.capacity_bytes)
        .sum();
    outln!(
        "\n{} nodes across {} sites, {} declared capacity",
        s.nodes.len(),
        sites.len(),
        format_size(capacity)
    );
    // The node names at most 100.
    print_lost(&s.lost, s.lost.len() >= 100);
}
