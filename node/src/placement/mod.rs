//! Site-aware placement of an object's erasure-coded shards, and the default profile rule.
//!
//! The guarantee: losing one whole site plus one more node anywhere loses no object. An object
//! coded k+m survives the loss of any m shards. With at most one shard per node (always enforced)
//! and c(s) shards at site s, the worst loss is max c(s) + 1, so the guarantee is max c(s) + 1 <= m.
//!
//! [`place`] computes, for one object, the node of each shard: deterministic (a pure function of
//! its inputs, bit-identical on every platform), one shard per node, writable nodes only, per-site
//! counts as balanced as the layout allows (so max c(s) is the least possible and never above m-1
//! when the profile meets the guarantee on the layout), and, within a site, capacity-weighted
//! rendezvous hashing, so that a new node takes shards only of the objects it now ranks high
//! enough for. [`default_profile`] picks the cheapest profile meeting the guarantee;
//! [`check_profile`] validates a configured one. `docs/erasure-coding.md` has the math and a table.

mod profile;
mod score;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use profile::{
    check_profile, default_profile, ProfileChoice, FALLBACK_PARITY, MAX_DEFAULT_DATA, MAX_DEFAULT_PARITY,
};

use crate::ec_profile::EcProfile;

#[derive(Debug, Clone)]
pub struct PlacementNode {
    pub id: u64,
    pub site: String,
    /// Placement weight within the site. A node with capacity 0 never receives shards.
    pub capacity_bytes: u64,
    /// false when the node is full, draining, gone or otherwise must not receive new shards
    pub writable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("invalid EC profile: {0}")]
    InvalidProfile(String),
    #[error("node {0} appears more than once in the layout")]
    DuplicateNode(u64),
    #[error("no writable node in the layout")]
    NoWritableNodes,
    #[error(
        "{profile} needs {needed} nodes (one shard per node) but only {eligible} can take one: {writable} \
         writable, {excluded} of them excluded (eligible nodes per site: {sites})"
    )]
    NotEnoughNodes {
        profile: EcProfile,
        needed: usize,
        eligible: usize,
        writable: usize,
        excluded: usize,
        /// Eligible nodes per site, e.g. "lyon=2, paris=1", or "none".
        sites: String,
    },
    #[error(
        "without the excluded nodes {excluded:?}, {profile} would put {max_per_site} shards of an object at \
         one site (eligible nodes per site: {sites}): losing it and one more node would lose more than {} shards",
        profile.parity
    )]
    SiteConstraint {
        profile: EcProfile,
        excluded: Vec<u64>,
        max_per_site: usize,
        /// Eligible nodes per site.
        sites: String,
    },
}

/// Where each shard of object `object_id` goes: `result[i]` is the node id for shard index i
/// (length k+m).
///
/// Eligible nodes are the writable ones with a capacity, minus `exclude` (e.g. a node that just
/// answered "disk full"). Shards are dealt one at a time to the site with the fewest so far that
/// still has an unused eligible node, ties going to the site with the highest per-object score
/// (so remainders rotate among sites from object to object); within a site, to its unused node
/// with the highest capacity-weighted rendezvous score. The largest per-site count is therefore
/// the least possible. If the profile meets the guarantee on the writable nodes but no longer
/// does without the excluded ones, this fails with [`PlacementError::SiteConstraint`] rather than
/// weaken it.
///
/// Index order: shard i goes to the i-th node dealt. Adding a node to a site keeps every other
/// site's shards on the same indices, but may shift indices among the nodes of that site: no
/// function of the layout alone can keep every index in place through every change (see
/// `docs/erasure-coding.md`). A rebalancer that knows where the shards are should pass its
/// target through [`reconcile`], which moves exactly the shards whose node left the set.
pub fn place(
    object_id: &[u8; 16],
    profile: EcProfile,
    nodes: &[PlacementNode],
    exclude: &[u64],
) -> Result<Vec<u64>, PlacementError> {
    profile.validate().map_err(PlacementError::InvalidProfile)?;
    let writable = nodes_by_site(nodes, &[])?;
    let eligible = nodes_by_site(nodes, exclude)?;
    let total = profile.total();
    let eligible_counts = site_counts(&eligible);
    let Some(max_per_site) = profile::min_max_per_site(&eligible_counts, total) else {
        let writable_count: usize = site_counts(&writable).iter().sum();
        let eligible_count: usize = eligible_counts.iter().sum();
        return Err(PlacementError::NotEnoughNodes {
            profile,
            needed: total,
            eligible: eligible_count,
            writable: writable_count,
            excluded: writable_count - eligible_count,
            sites: describe_sites(&eligible),
        });
    };
    if max_per_site >= profile.parity as usize && profile::guarantee_holds(profile, &site_counts(&writable)) {
        let mut excluded: Vec<u64> = writable
            .values()
            .flatten()
            .map(|n| n.id)
            .filter(|id| exclude.contains(id))
            .collect();
        excluded.sort_unstable();
        return Err(PlacementError::SiteConstraint {
            profile,
            excluded,
            max_per_site,
            sites: describe_sites(&eligible),
        });
    }

    // Sites in dealing order for ties, each with its nodes best first.
    let mut sites: Vec<(u64, &str, Vec<&PlacementNode>)> = eligible
        .into_iter()
        .map(|(site, site_nodes)| (score::site_score(object_id, site), site, ranked(object_id, site_nodes)))
        .collect();
    sites.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut dealt = vec![0usize; sites.len()];
    let mut result = Vec::with_capacity(total);
    for _ in 0..total {
        let site = (0..sites.len())
            .filter(|&i| dealt[i] < sites[i].2.len())
            .min_by_key(|&i| (dealt[i], i))
            .expect("enough eligible nodes was checked");
        result.push(sites[site].2[dealt[site]].id);
        dealt[site] += 1;
    }
    Ok(result)
}

/// Orders `target` (a result of [`place`]) so that every node of `target` that already holds a
/// shard of the object in `current` (the same shape, from the object's manifest) keeps that shard
/// index; the nodes new to the object take the remaining indices, in `target` order. The node set
/// and per-site counts are those of `target`; the shards to move are exactly those whose node is
/// not in `target`. Returns `target` unchanged when the lengths differ (a different profile).
pub fn reconcile(current: &[u64], target: &[u64]) -> Vec<u64> {
    let wanted: BTreeSet<u64> = target.iter().copied().collect();
    if current.len() != target.len() || wanted.len() != target.len() {
        return target.to_vec();
    }
    let mut kept = BTreeSet::new();
    let mut slots: Vec<Option<u64>> = current
        .iter()
        .map(|&id| (wanted.contains(&id) && kept.insert(id)).then_some(id))
        .collect();
    let mut newcomers = target.iter().filter(|id| !kept.contains(id));
    for slot in slots.iter_mut().filter(|s| s.is_none()) {
        *slot = newcomers.next().copied();
    }
    slots
        .into_iter()
        .map(|s| s.expect("as many free slots as newcomers"))
        .collect()
}

/// Eligible nodes (writable, with a capacity, not excluded) grouped by site; sites without one
/// are left out. Node ids must be unique across the whole layout.
fn nodes_by_site<'a>(
    nodes: &'a [PlacementNode],
    exclude: &[u64],
) -> Result<BTreeMap<&'a str, Vec<&'a PlacementNode>>, PlacementError> {
    let mut seen = BTreeSet::new();
    let mut by_site: BTreeMap<&str, Vec<&PlacementNode>> = BTreeMap::new();
    for node in nodes {
        if !seen.insert(node.id) {
            return Err(PlacementError::DuplicateNode(node.id));
        }
        if node.writable && node.capacity_bytes > 0 && !exclude.contains(&node.id) {
            by_site.entry(node.site.as_str()).or_default().push(node);
        }
    }
    Ok(by_site)
}

fn site_counts(by_site: &BTreeMap<&str, Vec<&PlacementNode>>) -> Vec<usize> {
    by_site.values().map(Vec::len).collect()
}

fn describe_sites(by_site: &BTreeMap<&str, Vec<&PlacementNode>>) -> String {
    if by_site.is_empty() {
        return "none".into();
    }
    let parts: Vec<String> = by_site
        .iter()
        .map(|(site, nodes)| format!("{site}={}", nodes.len()))
        .collect();
    parts.join(", ")
}

/// A site's nodes by decreasing rendezvous score for this object; equal scores by id.
fn ranked<'a>(object_id: &[u8; 16], nodes: Vec<&'a PlacementNode>) -> Vec<&'a PlacementNode> {
    let mut scored: Vec<(f64, &PlacementNode)> = nodes
        .into_iter()
        .map(|n| (score::node_score(object_id, n.id, n.capacity_bytes), n))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    scored.into_iter().map(|(_, n)| n).collect()
}
