//! The periodic placement checker (Raft leader): walks every manifest, counts the objects placed
//! worse than the layout allows — two shards on one node although enough nodes exist, or a site
//! holding more shards than the best placement puts there (m−1 where the layout allows it) — and
//! queues the moves that fix them. Repairs and degraded writes can leave such placements behind
//! (a site away during a write, a full disk during a repair); this finds them even when no
//! layout change or returning node triggers a rebalance. Its last report is in the keyspace, so
//! `archipel status` shows it from any node.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::node::Node;
use crate::objects::model::{Manifest, Storage};
use crate::objects::walk::AllManifests;
use crate::placement::PlacementNode;
use crate::raft::Command;

use super::RepairError;

/// `sys.placement/last` holds the last check's [`PlacementReport`] (JSON).
pub use crate::sys_keys::NS_PLACEMENT;
pub const KEY_LAST: &[u8] = b"last";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementReport {
    /// When the check finished (the leader's clock, for display).
    pub checked_at_ms: u64,
    pub objects_checked: u64,
    /// Objects with two shards on one node although the layout has enough nodes.
    pub shared_node: u64,
    /// Objects with a site holding more shards than the best placement puts on any site.
    pub site_crowded: u64,
    pub moves_queued: u64,
}

impl PlacementReport {
    pub fn violations(&self) -> u64 {
        self.shared_node + self.site_crowded
    }
}

/// What is wrong with one object's placement.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Violation {
    pub shared_node: bool,
    pub site_crowded: bool,
}

/// Judges `m`'s placement against the best one `place` finds on `nodes`. Degraded objects (a
/// shard missing) are repair's business, not this check's.
pub(crate) fn judge(m: &Manifest, nodes: &[PlacementNode]) -> Option<Violation> {
    let Storage::Sharded { profile, shards, .. } = &m.storage else {
        return None;
    };
    if shards.len() != profile.total() {
        return None;
    }
    let ideal = crate::placement::place(&m.object_id, *profile, nodes, &[]).ok()?;
    let site_of: BTreeMap<u64, &str> = nodes.iter().map(|n| (n.id, n.site.as_str())).collect();
    let max_per_site = |ids: &[u64]| -> usize {
        let mut per_site: BTreeMap<&str, usize> = BTreeMap::new();
        for id in ids {
            *per_site.entry(site_of.get(id).copied().unwrap_or("?")).or_default() += 1;
        }
        per_site.into_values().max().unwrap_or(0)
    };
    let distinct = |ids: &[u64]| -> bool {
        let mut seen = std::collections::BTreeSet::new();
        ids.iter().all(|id| seen.insert(*id))
    };
    let current: Vec<u64> = shards.iter().map(|s| s.node_id).collect();
    let v = Violation {
        shared_node: distinct(&ideal) && !distinct(&current),
        site_crowded: max_per_site(&current) > max_per_site(&ideal),
    };
    (v.shared_node || v.site_crowded).then_some(v)
}

/// One full check: counts, queues moves for the objects found wrong, stores the report.
pub(super) async fn check(node: &Node) -> Result<PlacementReport, RepairError> {
    let nodes = node.placement_nodes();
    let layout = node.state.cluster_map().layout_version;
    let mut report = PlacementReport::default();
    let mut batch = Vec::new();
    let mut walk = AllManifests::new(&node.state);
    while let Some(page) = walk.next_page()? {
        for m in page {
            report.objects_checked += 1;
            let Some(v) = judge(&m, &nodes) else {
                continue;
            };
            report.shared_node += u64::from(v.shared_node);
            report.site_crowded += u64::from(v.site_crowded);
            report.moves_queued += super::plan_moves(&m, &nodes, layout, node.clock.now_ms(), &mut batch) as u64;
        }
        super::propose_full(node, &mut batch, super::BATCH).await?;
    }
    super::propose_full(node, &mut batch, 1).await?;
    report.checked_at_ms = node.clock.now_ms();
    let value = serde_json::to_vec(&report)?;
    node.propose(Command::Put {
        ns: NS_PLACEMENT.into(),
        key: KEY_LAST.to_vec(),
        value,
    })
    .await?;
    Ok(report)
}

/// The last report, as any node has applied it.
pub fn last_report(node: &Node) -> Option<PlacementReport> {
    let entry = node.state.get(NS_PLACEMENT, KEY_LAST).ok()??;
    serde_json::from_slice(&entry.value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec_profile::EcProfile;
    use crate::objects::ShardRef;

    fn layout() -> Vec<PlacementNode> {
        let mut nodes = Vec::new();
        for (i, site) in ["a", "a", "b", "b", "c", "c"].iter().enumerate() {
            nodes.push(PlacementNode {
                id: i as u64 + 1,
                site: (*site).into(),
                capacity_bytes: 1 << 40,
                writable: true,
            });
        }
        nodes
    }

    fn on(nodes: &[u64]) -> Manifest {
        Manifest {
            namespace: "acts".into(),
            key: "k".into(),
            object_id: [9; 16],
            size: 1,
            blake3: [0; 32],
            created_at_ms: 1,
            retain_until_ms: 0,
            storage: Storage::Sharded {
                profile: EcProfile::new(3, 3).unwrap(),
                stripe_size: 1 << 20,
                shards: nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| ShardRef {
                        index: i as u32,
                        node_id: *n,
                        table_hash: [0; 32],
                    })
                    .collect(),
            },
            sealed: None,
        }
    }

    #[test]
    fn the_best_placement_is_not_a_violation() {
        let nodes = layout();
        let ideal = crate::placement::place(&[9; 16], EcProfile::new(3, 3).unwrap(), &nodes, &[]).unwrap();
        assert_eq!(judge(&on(&ideal), &nodes), None);
        // Another placement as good (two per site, distinct nodes) is not one either.
        assert_eq!(judge(&on(&[1, 2, 3, 4, 5, 6]), &nodes), None);
    }

    #[test]
    fn a_crowded_site_and_a_shared_node_are_found() {
        let nodes = layout();
        // Site c away during the write: 3/3/0.
        assert_eq!(
            judge(&on(&[1, 2, 1, 3, 4, 3]), &nodes),
            Some(Violation {
                shared_node: true,
                site_crowded: true
            })
        );
        assert_eq!(
            judge(&on(&[1, 2, 3, 4, 5, 5]), &nodes),
            Some(Violation {
                shared_node: true,
                site_crowded: false
            })
        );
    }

    #[test]
    fn a_degraded_object_is_left_to_repair() {
        let nodes = layout();
        let mut m = on(&[1, 1, 1, 1, 1, 1]);
        if let Storage::Sharded { shards, .. } = &mut m.storage {
            shards.pop();
        }
        assert_eq!(judge(&m, &nodes), None);
    }
}
