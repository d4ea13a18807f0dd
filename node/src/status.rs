//! The cluster's health as one node sees it, after probing every other node.

use std::time::Duration;

use archipel_proto::cluster::{ClusterStatus, Health, LostObject, NodeState as PbNodeState, NodeStatus, RaftView};
use futures::future::join_all;

use crate::cluster_map::NodeState;
use crate::node::Node;
use crate::voters::{plan_voters, Candidate};

impl Node {
    pub async fn cluster_status(&self, probe_timeout: Duration) -> ClusterStatus {
        let map = self.state.cluster_map();
        let me = self.raft_view();
        let voters: Vec<u64> = me.voters.clone();
        let learners: Vec<u64> = me.learners.clone();

        let probes = map.nodes.values().map(|n| async move {
            if n.state == NodeState::Gone {
                return (n, Err("removed".to_owned()));
            }
            if n.id == self.id() {
                return (n, Ok(self.raft_view()));
            }
            let answer = self.probe(&n.addr, probe_timeout).await;
            (
                n,
                answer
                    .map(|info| info.raft.unwrap_or_default())
                    .map_err(|e| e.to_string()),
            )
        });
        let probed = join_all(probes).await;

        // The leader is the one that says so with the highest term among the answers.
        let leader = probed
            .iter()
            .filter_map(|(n, v)| v.as_ref().ok().map(|v| (n.id, v)))
            .filter(|(_, v)| v.role == "leader")
            .max_by_key(|(_, v)| v.term)
            .map(|(id, v)| (id, v.clone()));
        let term = leader.as_ref().map(|(_, v)| v.term).unwrap_or(me.term);

        let mut nodes = Vec::new();
        for (n, answer) in &probed {
            let membership = if voters.contains(&n.id) {
                "voter"
            } else if learners.contains(&n.id) {
                "learner"
            } else {
                "none"
            };
            let (reachable, error, raft) = match answer {
                Ok(v) => (true, String::new(), Some(v.clone())),
                Err(e) => (false, e.clone(), None),
            };
            nodes.push(NodeStatus {
                node_id: n.id,
                site: n.site.clone(),
                addr: n.addr.clone(),
                capacity_bytes: n.capacity_bytes,
                state: match n.state {
                    NodeState::Up => PbNodeState::Up,
                    NodeState::Draining => PbNodeState::Draining,
                    NodeState::Gone => PbNodeState::Gone,
                } as i32,
                raft_membership: membership.into(),
                reachable,
                error,
                raft,
            });
        }

        let (mut health, mut reasons) = self.verdict(&map, &nodes, leader.as_ref().map(|(_, v)| v));
        let redundancy = self.redundancy();
        if health == Health::Ok && (redundancy.degraded > 0 || redundancy.lost > 0) {
            health = Health::Degraded;
        }
        if redundancy.proven_lost > 0 {
            reasons.push(format!(
                "{} object(s) lost: fewer than k of their shards are sound, repair cannot rebuild them: data loss (listed by `archipel repair status`)",
                redundancy.proven_lost
            ));
        }
        if redundancy.lost > redundancy.proven_lost {
            reasons.push(format!(
                "{} object(s) lost more shards than parity allows: data loss unless their nodes come back (see `archipel repair status`)",
                redundancy.lost - redundancy.proven_lost
            ));
        }
        let placement = crate::repair::placement_check::last_report(self).unwrap_or_default();
        if placement.violations() > 0 {
            if health == Health::Ok {
                health = Health::Degraded;
            }
            reasons.push(format!(
                "{} object(s) placed worse than the layout allows ({} with two shards on one node, {} with a crowded site) at the last placement check; {} move(s) queued",
                placement.violations(),
                placement.shared_node,
                placement.site_crowded,
                placement.moves_queued
            ));
        }
        if redundancy.at_risk > 0 {
            reasons.push(format!(
                "{} object(s) at risk: one more shard loss would lose them; repair is under way",
                redundancy.at_risk
            ));
        }
        if redundancy.degraded > redundancy.at_risk + redundancy.lost {
            reasons.push(format!(
                "{} object(s) below full redundancy ({} shard(s) awaiting repair)",
                redundancy.degraded - redundancy.at_risk - redundancy.lost,
                redundancy.shards
            ));
        }
        ClusterStatus {
            objects_degraded: redundancy.degraded,
            objects_at_risk: redundancy.at_risk,
            objects_lost: redundancy.lost,
            shards_awaiting_repair: redundancy.shards,
            shards_to_move: redundancy.moves,
            lost: redundancy.listed,
            placement_violations: placement.violations(),
            placement_checked_at_ms: placement.checked_at_ms,
            cluster_id: map.cluster_id.clone(),
            leader_id: leader.as_ref().map(|(id, _)| *id),
            term,
            committed: leader.as_ref().map(|(_, v)| v.committed).unwrap_or(me.committed),
            last_applied: leader.as_ref().map(|(_, v)| v.last_applied).unwrap_or(me.last_applied),
            layout_version: map.layout_version,
            nodes,
            health: health as i32,
            reasons,
            answered_by: self.id(),
        }
    }

    /// Counts from the repair queue: how many objects are below full redundancy, at risk, lost.
    fn redundancy(&self) -> Redundancy {
        use crate::objects::model::{Storage, NS_DAMAGED, NS_LOST};
        const LIMIT: usize = crate::kv::MAX_SCAN_LIMIT;
        let mut r = Redundancy::default();
        let damaged = self
            .state
            .scan(NS_DAMAGED, b"", b"", LIMIT)
            .map(|(e, _)| e)
            .unwrap_or_default();
        r.shards = damaged.len() as u64;
        r.moves = self
            .state
            .scan(crate::repair::NS_MOVES, b"", b"", LIMIT)
            .map(|(e, _)| e.len() as u64)
            .unwrap_or(0);
        let lost = self
            .state
            .scan(NS_LOST, b"", b"", LIMIT)
            .map(|(e, _)| e)
            .unwrap_or_default();
        r.proven_lost = lost.len() as u64;
        r.lost = r.proven_lost;
        r.degraded = r.proven_lost;
        r.listed = lost.iter().take(LISTED_LOST).map(lost_object).collect();
        let lost_ids: std::collections::BTreeSet<&[u8]> = lost.iter().map(|e| e.key.as_slice()).collect();
        let mut per_object: std::collections::BTreeMap<String, u64> = Default::default();
        for e in &damaged {
            let key = String::from_utf8_lossy(&e.key);
            if let Some((id, _)) = key.rsplit_once('.').filter(|(id, _)| !lost_ids.contains(id.as_bytes())) {
                *per_object.entry(id.to_owned()).or_default() += 1;
            }
        }
        for (id, bad) in per_object {
            let Some(object_id) = crate::shards::parse_object_id(&id) else {
                continue;
            };
            let Some(m) = crate::objects::lookup_owner_manifest(self, &object_id) else {
                continue;
            };
            let Storage::Sharded { profile, .. } = m.storage else {
                continue;
            };
            r.degraded += 1;
            let parity = profile.parity as u64;
            if bad > parity {
                r.lost += 1;
            } else if bad == parity {
                r.at_risk += 1;
            }
        }
        r
    }

    fn verdict(
        &self,
        map: &crate::cluster_map::ClusterMap,
        nodes: &[NodeStatus],
        leader: Option<&RaftView>,
    ) -> (Health, Vec<String>) {
        if map.cluster_id.is_empty() {
            return (
                Health::Unavailable,
                vec!["the cluster is not initialised: run `archipel cluster init` on the first node".into()],
            );
        }
        let voters: Vec<&NodeStatus> = nodes.iter().filter(|n| n.raft_membership == "voter").collect();
        let reachable_voters = voters.iter().filter(|n| n.reachable).count();
        let mut reasons = Vec::new();
        if leader.is_none() || reachable_voters * 2 <= voters.len() {
            reasons.push(format!(
                "no Raft leader: {reachable_voters} of {} voters reachable, a majority is needed; writes are refused",
                voters.len()
            ));
            return (Health::Unavailable, reasons);
        }
        for n in nodes.iter().filter(|n| n.state != PbNodeState::Gone as i32) {
            if !n.reachable {
                reasons.push(format!(
                    "node {} (site {}, {}) is unreachable: {}",
                    n.node_id, n.site, n.addr, n.error
                ));
            } else if n.raft_membership == "none" {
                reasons.push(format!(
                    "node {} is in the cluster map but not a Raft member yet",
                    n.node_id
                ));
            }
        }
        let candidates: Vec<Candidate> = map
            .nodes
            .values()
            .filter(|n| n.state == NodeState::Up)
            .map(|n| Candidate {
                id: n.id,
                site: &n.site,
            })
            .collect();
        if map.sites().len() >= 3 {
            let ideal = plan_voters(&candidates, &Default::default());
            let mut per_site = std::collections::BTreeMap::<&str, usize>::new();
            for v in &voters {
                *per_site.entry(v.site.as_str()).or_default() += 1;
            }
            let total = voters.len();
            if ideal.survives_site_loss && per_site.values().any(|c| 2 * c >= total) {
                reasons.push("Raft voters are not spread across sites: losing one site could lose the quorum".into());
            }
        } else {
            reasons.push(format!(
                "only {} site(s): the cluster cannot survive the loss of a whole site (3 or more are needed)",
                map.sites().len()
            ));
        }
        if reasons.is_empty() {
            (Health::Ok, reasons)
        } else {
            (Health::Degraded, reasons)
        }
    }
}

/// Lost objects named in a status answer; `objects_lost` counts them all.
const LISTED_LOST: usize = 100;

#[derive(Default)]
struct Redundancy {
    degraded: u64,
    at_risk: u64,
    /// Proven lost (`sys.lost`) and those with more damaged shards than parity.
    lost: u64,
    proven_lost: u64,
    listed: Vec<LostObject>,
    shards: u64,
    moves: u64,
}

fn lost_object(e: &crate::kv::KvEntry) -> LostObject {
    let v: serde_json::Value = serde_json::from_slice(&e.value).unwrap_or_default();
    LostObject {
        namespace: v["namespace"].as_str().unwrap_or_default().to_owned(),
        key: v["key"].as_str().unwrap_or_default().to_owned(),
        object_id: String::from_utf8_lossy(&e.key).into_owned(),
        reason: v["reason"].as_str().unwrap_or_default().to_owned(),
        detected_at_ms: v["detected_at_ms"].as_u64().unwrap_or(0),
    }
}
