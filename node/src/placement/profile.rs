//! The guarantee check and the default erasure-coding profile of a layout.

use std::collections::BTreeMap;

use super::{describe_sites, nodes_by_site, site_counts, PlacementError, PlacementNode};
use crate::ec_profile::{EcProfile, MAX_TOTAL_SHARDS};

/// Search range of the default profile: k data shards, m parity shards.
pub const MAX_DEFAULT_DATA: u8 = 16;
pub const MAX_DEFAULT_PARITY: u8 = 8;
/// Parity of the fallback profile, used when no profile survives a site plus a node.
pub const FALLBACK_PARITY: u8 = 2;

/// The default profile of a layout and what it guarantees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChoice {
    pub profile: EcProfile,
    /// True when losing any one whole site plus any one more node loses no object. When false, the
    /// profile survives the loss of any `profile.parity` nodes, and no more.
    pub survives_site_plus_node: bool,
    /// For each site with writable nodes, the most shards of one object it receives. When k+m does
    /// not divide evenly among the sites, the remainder shards rotate among sites from object to
    /// object, so these values can add up to more than k+m.
    pub per_site: BTreeMap<String, usize>,
}

/// The least possible value of the largest per-site shard count when `total` shards go one per node
/// to sites with `nodes_per_site` nodes, or None when there are fewer nodes than shards. Filling the
/// emptiest site first, as `place` does, reaches it.
pub(super) fn min_max_per_site(nodes_per_site: &[usize], total: usize) -> Option<usize> {
    if total > nodes_per_site.iter().sum() {
        return None;
    }
    (0..=total).find(|&cap| nodes_per_site.iter().map(|&n| n.min(cap)).sum::<usize>() >= total)
}

/// Whether `profile` keeps every object through the loss of one site plus one more node when its
/// shards are placed on sites with `nodes_per_site` eligible nodes: max c(s) + 1 <= m.
pub(super) fn guarantee_holds(profile: EcProfile, nodes_per_site: &[usize]) -> bool {
    min_max_per_site(nodes_per_site, profile.total()).is_some_and(|max| max < profile.parity as usize)
}

/// Whether `profile` meets the guarantee on this layout (used to validate a namespace's configured
/// profile), with the reason if not.
pub fn check_profile(profile: EcProfile, nodes: &[PlacementNode]) -> Result<(), String> {
    profile.validate()?;
    let by_site = nodes_by_site(nodes, &[]).map_err(|e| e.to_string())?;
    let counts: Vec<usize> = site_counts(&by_site);
    let writable: usize = counts.iter().sum();
    let total = profile.total();
    let sites = describe_sites(&by_site);
    let Some(max) = min_max_per_site(&counts, total) else {
        return Err(format!(
            "{profile} needs {total} writable nodes (one shard per node), the layout has {writable} (writable nodes per site: {sites})"
        ));
    };
    if max >= profile.parity as usize {
        return Err(format!(
            "{profile} puts up to {max} shards of an object at one site (writable nodes per site: {sites}): losing that site and one \
             more node loses {} shards, more than its {} parity shards; it needs at least {} parity shards, \
             or more sites",
            max + 1,
            profile.parity,
            max + 1,
        ));
    }
    Ok(())
}

/// The default profile for a layout (writable nodes only).
///
/// With three sites or more: among k in 1..=16, m in 1..=8 with k+m <= the number of writable nodes
/// and a spread (one shard per node) meeting max c(s) + 1 <= m, the lowest overhead (k+m)/k; ties:
/// larger m, then fewer shards. Such a profile always exists (1+2, one shard per site).
///
/// With one or two sites, losing a site and a node can only be survived at an overhead of 2.3 or
/// more (e.g. 1+3 on 2x2, 6+8 on 2x7), which is not a sensible default: the fallback is the
/// cheapest profile surviving any 2 nodes, (n-2)+2 with n writable nodes (k at most 16), reported
/// with `survives_site_plus_node: false`. A namespace that needs the site guarantee on two sites
/// can still configure such a profile; [`check_profile`] accepts it. One or two writable nodes get
/// 1+0 or 1+1 (a development cluster); none is an error.
pub fn default_profile(nodes: &[PlacementNode]) -> Result<ProfileChoice, PlacementError> {
    let by_site = nodes_by_site(nodes, &[])?;
    let counts = site_counts(&by_site);
    let writable: usize = counts.iter().sum();
    if writable == 0 {
        return Err(PlacementError::NoWritableNodes);
    }
    let (profile, survives) = if counts.len() >= 3 {
        (best_site_safe_profile(&counts, writable), true)
    } else {
        let parity = FALLBACK_PARITY.min(writable as u8 - 1);
        let data = (writable - parity as usize).min(MAX_DEFAULT_DATA as usize) as u8;
        (EcProfile { data, parity }, false)
    };
    let max = min_max_per_site(&counts, profile.total()).expect("the profile fits the layout");
    let per_site = by_site
        .iter()
        .map(|(site, nodes)| (site.to_string(), nodes.len().min(max)))
        .collect();
    Ok(ProfileChoice {
        profile,
        survives_site_plus_node: survives,
        per_site,
    })
}

fn best_site_safe_profile(counts: &[usize], writable: usize) -> EcProfile {
    let mut best: Option<EcProfile> = None;
    for data in 1..=MAX_DEFAULT_DATA {
        for parity in 1..=MAX_DEFAULT_PARITY {
            let p = EcProfile { data, parity };
            if p.total() > writable || p.total() > MAX_TOTAL_SHARDS || !guarantee_holds(p, counts) {
                continue;
            }
            if best.is_none_or(|b| better(p, b)) {
                best = Some(p);
            }
        }
    }
    best.expect("three sites with a writable node each always fit 1+2")
}

/// Lower overhead (compared exactly: (k+m)/k < (k'+m')/k'), then more parity, then fewer shards.
fn better(a: EcProfile, b: EcProfile) -> bool {
    let lhs = a.total() * b.data as usize;
    let rhs = b.total() * a.data as usize;
    (lhs, b.parity, a.total()) < (rhs, a.parity, b.total())
}
