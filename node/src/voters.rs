//! Which nodes vote in Raft: spread over sites so that losing one whole site keeps a quorum.
//!
//! The rule. Let V be the number of voters and c(s) the voters at site s. Losing site s leaves a
//! quorum iff V - c(s) > V/2, i.e. c(s) < V/2 for every site. We try V = 5, 3, 1 (odd, at most
//! [`MAX_VOTERS`], at most the eligible nodes), fill sites as evenly as possible, and keep the
//! largest V that satisfies the bound. With three or more sites V = 3 (one voter per site) always
//! does, so the bound always holds; with one or two sites no placement can survive every site
//! loss, and we keep the largest V with a balanced spread, reported as not site-safe.

use std::collections::{BTreeMap, BTreeSet};

/// Five voters: two voter failures tolerated, and few enough that commits stay cheap over a WAN.
pub const MAX_VOTERS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub id: u64,
    pub site: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterPlan {
    pub voters: BTreeSet<u64>,
    /// True when losing any single site leaves a voter majority.
    pub survives_site_loss: bool,
}

/// Choose the voters among `candidates` (eligible nodes), preferring to keep `current` voters so
/// that membership changes are as small as possible.
pub fn plan_voters(candidates: &[Candidate<'_>], current: &BTreeSet<u64>) -> VoterPlan {
    // Per site, the nodes in order of preference: current voters first, then lowest id.
    let mut by_site: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for c in candidates {
        by_site.entry(c.site).or_default().push(c.id);
    }
    for ids in by_site.values_mut() {
        ids.sort_by_key(|id| (!current.contains(id), *id));
        ids.dedup();
    }
    let eligible: usize = by_site.values().map(Vec::len).sum();
    let largest = eligible.min(MAX_VOTERS);
    let sizes: Vec<usize> = (1..=largest).rev().filter(|v| v % 2 == 1).collect();

    let mut fallback = None;
    for &size in &sizes {
        let counts = balanced_counts(&by_site, current, size);
        let safe = counts.values().all(|&c| 2 * c < size);
        let plan = VoterPlan {
            voters: pick(&by_site, &counts),
            survives_site_loss: safe,
        };
        if safe {
            return plan;
        }
        fallback.get_or_insert(plan);
    }
    fallback.unwrap_or(VoterPlan {
        voters: BTreeSet::new(),
        survives_site_loss: false,
    })
}

/// Spread `size` voters over sites, one at a time to the site with the fewest so far
/// (ties: the site with more current voters, then by name), within each site's node count.
fn balanced_counts<'a>(
    by_site: &BTreeMap<&'a str, Vec<u64>>,
    current: &BTreeSet<u64>,
    size: usize,
) -> BTreeMap<&'a str, usize> {
    let mut counts: BTreeMap<&str, usize> = by_site.keys().map(|s| (*s, 0)).collect();
    let current_at = |site: &str| by_site[site].iter().filter(|id| current.contains(id)).count();
    for _ in 0..size {
        let next = by_site
            .iter()
            .filter(|(site, ids)| counts[*site] < ids.len())
            .min_by_key(|(site, _)| (counts[*site], std::cmp::Reverse(current_at(site)), **site))
            .map(|(site, _)| *site);
        match next {
            Some(site) => *counts.get_mut(site).expect("site is a key of counts") += 1,
            None => break,
        }
    }
    counts
}

fn pick(by_site: &BTreeMap<&str, Vec<u64>>, counts: &BTreeMap<&str, usize>) -> BTreeSet<u64> {
    by_site
        .iter()
        .flat_map(|(site, ids)| ids.iter().take(counts[site]).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layout(sites: &[usize]) -> Vec<(u64, String)> {
        let mut id = 0;
        let mut out = vec![];
        for (s, &n) in sites.iter().enumerate() {
            for _ in 0..n {
                id += 1;
                out.push((id, format!("site{s}")));
            }
        }
        out
    }

    fn plan(nodes: &[(u64, String)], current: &BTreeSet<u64>) -> VoterPlan {
        let c: Vec<Candidate> = nodes.iter().map(|(id, s)| Candidate { id: *id, site: s }).collect();
        plan_voters(&c, current)
    }

    fn per_site(nodes: &[(u64, String)], voters: &BTreeSet<u64>) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for (id, s) in nodes {
            if voters.contains(id) {
                *m.entry(s.clone()).or_default() += 1;
            }
        }
        m
    }

    #[test]
    fn three_sites_of_two_get_five_voters_spread_2_2_1() {
        let nodes = layout(&[2, 2, 2]);
        let p = plan(&nodes, &BTreeSet::new());
        assert_eq!(p.voters.len(), 5);
        assert!(p.survives_site_loss);
        let mut counts: Vec<usize> = per_site(&nodes, &p.voters).into_values().collect();
        counts.sort();
        assert_eq!(counts, vec![1, 2, 2]);
    }

    #[test]
    fn a_crowded_site_does_not_get_a_majority() {
        let nodes = layout(&[5, 1, 1]);
        let p = plan(&nodes, &BTreeSet::new());
        assert!(p.survives_site_loss);
        assert_eq!(p.voters.len(), 3);
    }

    #[test]
    fn two_sites_cannot_survive_every_site_loss() {
        let p = plan(&layout(&[2, 2]), &BTreeSet::new());
        assert!(!p.survives_site_loss);
        assert_eq!(p.voters.len(), 3);
        let single = plan(&layout(&[1]), &BTreeSet::new());
        assert_eq!(single.voters.len(), 1);
    }

    #[test]
    fn current_voters_are_kept_when_possible() {
        let nodes = layout(&[2, 2, 2]);
        let current: BTreeSet<u64> = [2, 4, 6].into();
        let p = plan(&nodes, &current);
        assert!(current.is_subset(&p.voters), "{p:?}");
    }

    proptest! {
        #[test]
        fn with_three_or_more_sites_no_site_loss_breaks_quorum(
            sites in proptest::collection::vec(1usize..6, 3..7),
            current_mask in any::<u64>(),
        ) {
            let nodes = layout(&sites);
            let current: BTreeSet<u64> = nodes.iter().map(|(id, _)| *id).filter(|id| current_mask & (1 << (id % 64)) != 0).collect();
            let p = plan(&nodes, &current);
            prop_assert!(p.survives_site_loss);
            prop_assert!(p.voters.len() % 2 == 1 && p.voters.len() <= MAX_VOTERS);
            let total = p.voters.len();
            for count in per_site(&nodes, &p.voters).values() {
                prop_assert!(total - count > total / 2, "losing a site with {count} of {total} voters loses quorum");
            }
        }

        #[test]
        fn voters_are_always_eligible_and_deterministic(sites in proptest::collection::vec(1usize..5, 1..6)) {
            let nodes = layout(&sites);
            let a = plan(&nodes, &BTreeSet::new());
            let b = plan(&nodes, &BTreeSet::new());
            prop_assert_eq!(&a, &b);
            prop_assert!(!a.voters.is_empty());
            prop_assert!(a.voters.iter().all(|v| nodes.iter().any(|(id, _)| id == v)));
        }
    }
}
