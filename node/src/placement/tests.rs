use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::profile::min_max_per_site;
use super::score::{neg_ln, unit_interval};
use super::*;

const TIB: u64 = 1 << 40;

fn node(id: u64, site: &str, capacity_bytes: u64, writable: bool) -> PlacementNode {
    PlacementNode {
        id,
        site: site.into(),
        capacity_bytes,
        writable,
    }
}

/// `sites` sites named site0.., `per_site` writable nodes of 1 TiB each, ids from 1.
fn grid(sites: usize, per_site: usize) -> Vec<PlacementNode> {
    (0..sites * per_site)
        .map(|i| node(i as u64 + 1, &format!("site{}", i / per_site), TIB, true))
        .collect()
}

fn p(k: u8, m: u8) -> EcProfile {
    EcProfile::new(k, m).unwrap()
}

fn object(i: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id.copy_from_slice(&blake3::hash(&i.to_le_bytes()).as_bytes()[..16]);
    id
}

fn site_of(nodes: &[PlacementNode], id: u64) -> &str {
    &nodes.iter().find(|n| n.id == id).unwrap().site
}

fn per_site(nodes: &[PlacementNode], placed: &[u64]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for &id in placed {
        *counts.entry(site_of(nodes, id).to_string()).or_default() += 1;
    }
    counts
}

fn max_per_site(nodes: &[PlacementNode], placed: &[u64]) -> usize {
    per_site(nodes, placed).into_values().max().unwrap_or(0)
}

fn set(ids: &[u64]) -> BTreeSet<u64> {
    ids.iter().copied().collect()
}

#[test]
fn portable_ln_matches_std() {
    let mut state = 0x243f_6a88_85a3_08d3u64;
    let mut samples: Vec<u64> = vec![0, 1, u64::MAX, u64::MAX - 4096, 1 << 63, (1 << 63) - 1];
    for _ in 0..20_000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        samples.push(state);
    }
    for bits in samples {
        let u = unit_interval(bits);
        assert!(u > 0.0 && u < 1.0, "{bits:#x} -> {u}");
        let (ours, std) = (neg_ln(u), -u.ln());
        assert!(ours > 0.0);
        assert!((ours - std).abs() <= 1e-15 * std.max(1.0), "u={u}: {ours} vs {std}");
    }
}

/// Pins the output: if this changes, every existing object's placement changes (data moves).
#[test]
fn golden_placements_never_change() {
    let nodes = grid(4, 3);
    let got: Vec<Vec<u64>> = (0..3)
        .map(|i| place(&object(i), p(5, 3), &nodes, &[]).unwrap())
        .collect();
    assert_eq!(
        got,
        [
            [4, 10, 7, 2, 5, 12, 8, 3],
            [6, 1, 7, 10, 5, 3, 8, 12],
            [6, 8, 11, 2, 4, 9, 10, 1]
        ]
    );
    // Uneven capacities (id x 100 GiB) and an uneven spread: 4+3 on 3x4.
    let nodes: Vec<PlacementNode> = grid(3, 4)
        .into_iter()
        .map(|n| PlacementNode {
            capacity_bytes: n.id * (100 << 30),
            ..n
        })
        .collect();
    let got: Vec<Vec<u64>> = (0..3)
        .map(|i| place(&object(i), p(4, 3), &nodes, &[]).unwrap())
        .collect();
    assert_eq!(
        got,
        [[5, 10, 4, 7, 12, 2, 6], [7, 3, 10, 6, 1, 12, 8], [6, 11, 4, 8, 9, 2, 5]]
    );
}

#[test]
fn default_profiles_of_the_reference_layouts() {
    let cases = [((3, 2), p(3, 3)), ((4, 2), p(5, 3)), ((3, 3), p(5, 4))];
    for ((sites, per), want) in cases {
        let choice = default_profile(&grid(sites, per)).unwrap();
        assert_eq!(choice.profile, want, "{sites}x{per}");
        assert!(choice.survives_site_plus_node);
        assert!(choice.per_site.values().all(|&c| c < want.parity as usize));
        assert_eq!(choice.per_site.values().sum::<usize>(), want.total());
    }
}

#[test]
fn fallback_profiles_with_fewer_than_three_sites() {
    let check = |nodes: Vec<PlacementNode>, want: EcProfile| {
        let choice = default_profile(&nodes).unwrap();
        assert_eq!(choice.profile, want);
        assert!(!choice.survives_site_plus_node);
    };
    check(grid(2, 2), p(2, 2));
    check(grid(1, 3), p(1, 2));
    check(grid(2, 12), p(16, 2));
    check(grid(1, 2), p(1, 1));
    check(grid(1, 1), p(1, 0));
    // Three sites, but one has no writable node: two sites count.
    let mut nodes = grid(3, 2);
    nodes[4].writable = false;
    nodes[5].capacity_bytes = 0;
    check(nodes, p(2, 2));
    assert_eq!(default_profile(&[]).unwrap_err(), PlacementError::NoWritableNodes);
    assert_eq!(
        default_profile(&[node(1, "a", TIB, false)]).unwrap_err(),
        PlacementError::NoWritableNodes
    );
}

/// The table of docs/erasure-coding.md: `cargo test -p archipel-node profile_table -- --nocapture`.
#[test]
fn profile_table() {
    println!("| layout | writable nodes | default profile | overhead | shards per site | survives |");
    println!("|---|---|---|---|---|---|");
    let layouts = [(3, 1), (3, 2), (3, 3), (4, 1), (4, 2), (4, 3), (5, 2), (2, 2), (1, 3)];
    for (sites, per) in layouts {
        let choice = default_profile(&grid(sites, per)).unwrap();
        let profile = choice.profile;
        let spread: Vec<String> = choice.per_site.values().map(usize::to_string).collect();
        let survives = if choice.survives_site_plus_node {
            format!("any site + any 1 node (any {} nodes)", profile.parity)
        } else {
            format!("any {} nodes, not a site", profile.parity)
        };
        println!(
            "| {sites}x{per} | {} | {profile} | {:.2} | {} | {survives} |",
            sites * per,
            profile.overhead(),
            spread.join("/")
        );
        assert_eq!(choice.survives_site_plus_node, sites >= 3);
        assert_eq!(check_profile(profile, &grid(sites, per)).is_ok(), sites >= 3);
    }
}

#[test]
fn check_profile_examples() {
    assert!(check_profile(p(3, 3), &grid(3, 2)).is_ok());
    assert!(check_profile(p(5, 3), &grid(4, 2)).is_ok());
    assert!(check_profile(p(5, 4), &grid(3, 3)).is_ok());
    // Two sites can meet the guarantee, expensively, when a namespace asks for it.
    assert!(check_profile(p(1, 3), &grid(2, 2)).is_ok());

    let err = check_profile(p(6, 3), &grid(3, 3)).unwrap_err();
    assert!(
        err.contains("up to 3 shards") && err.contains("loses 4 shards") && err.contains("at least 4"),
        "{err}"
    );
    let err = check_profile(p(6, 3), &grid(3, 2)).unwrap_err();
    assert!(err.contains("needs 9 writable nodes") && err.contains("has 6"), "{err}");
    assert!(err.contains("site0=2, site1=2, site2=2"), "{err}");
    assert!(check_profile(p(4, 2), &grid(2, 3)).is_err());
    assert!(check_profile(p(3, 0), &grid(3, 3)).is_err());
    assert!(check_profile(EcProfile { data: 0, parity: 3 }, &grid(3, 3)).is_err());
    let mut dup = grid(3, 2);
    dup[1].id = 1;
    assert!(check_profile(p(1, 2), &dup)
        .unwrap_err()
        .contains("node 1 appears more than once"));
}

#[test]
fn exclude_avoids_nodes_and_keeps_the_site_constraint() {
    let nodes = grid(4, 3);
    for i in 0..200 {
        let placed = place(&object(i), p(5, 3), &nodes, &[1, 5]).unwrap();
        assert!(!placed.contains(&1) && !placed.contains(&5));
        assert!(max_per_site(&nodes, &placed) <= 2);
    }

    // 3x3 with 2+3: two nodes excluded at site0 and at site1 leave 1/1/3 eligible, which would put
    // 3 shards at site2.
    let err = place(&object(0), p(2, 3), &grid(3, 3), &[1, 2, 4, 5]).unwrap_err();
    assert!(
        matches!(err, PlacementError::SiteConstraint { max_per_site: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("[1, 2, 4, 5]") && text.contains("site0=1, site1=1, site2=3"),
        "{text}"
    );

    let err = place(&object(0), p(3, 3), &grid(3, 2), &[6]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "3+3 needs 6 nodes (one shard per node) but only 5 can take one: 6 writable, 1 of them excluded \
         (eligible nodes per site: site0=2, site1=2, site2=1)"
    );
    let none: Vec<PlacementNode> = grid(3, 1)
        .into_iter()
        .map(|n| PlacementNode { writable: false, ..n })
        .collect();
    assert!(place(&object(0), p(1, 2), &none, &[])
        .unwrap_err()
        .to_string()
        .contains("(eligible nodes per site: none)"));
    assert!(matches!(
        place(&object(0), EcProfile { data: 0, parity: 2 }, &nodes, &[]),
        Err(PlacementError::InvalidProfile(_))
    ));
}

#[test]
fn a_profile_without_the_guarantee_is_placed_as_evenly_as_possible() {
    // 2+2 on two sites cannot survive a site; the spread is still 2/2, and excluding is allowed.
    let nodes = grid(2, 3);
    let placed = place(&object(7), p(2, 2), &nodes, &[]).unwrap();
    assert_eq!(max_per_site(&nodes, &placed), 2);
    let placed = place(&object(7), p(2, 2), &nodes, &[1, 2]).unwrap();
    assert_eq!(per_site(&nodes, &placed)["site1"], 3);
}

#[test]
fn remainders_rotate_among_sites() {
    // 4+3 on 3x3: 7 shards over 3 sites, 3/2/2; every site gets the 3 for some objects.
    let nodes = grid(3, 3);
    let mut threes = BTreeMap::<String, usize>::new();
    for i in 0..300 {
        let placed = place(&object(i), p(4, 3), &nodes, &[]).unwrap();
        for (site, c) in per_site(&nodes, &placed) {
            assert!(c == 2 || c == 3);
            if c == 3 {
                *threes.entry(site).or_default() += 1;
            }
        }
    }
    assert_eq!(threes.len(), 3);
    assert!(threes.values().all(|&n| n > 60), "{threes:?}");
}

#[test]
fn placement_ignores_input_order() {
    let nodes = grid(4, 3);
    let mut shuffled = nodes.clone();
    shuffled.reverse();
    shuffled.swap(2, 7);
    for i in 0..100 {
        assert_eq!(
            place(&object(i), p(5, 3), &nodes, &[]).unwrap(),
            place(&object(i), p(5, 3), &shuffled, &[]).unwrap()
        );
    }
}

/// Adding a node to a site whose per-site count does not change (it already had at least max c(s)
/// eligible nodes): per object, the node set changes by at most the new node replacing one node of
/// its own site; other sites' shards keep their indices; and the new node gets about its fair share.
#[test]
fn adding_a_node_moves_only_what_it_takes() {
    const OBJECTS: u64 = 2000;
    let profile = p(5, 3);
    let old = grid(4, 3);
    let mut new = old.clone();
    new.push(node(13, "site0", TIB, true));

    let (mut set_moves, mut index_moves, mut reconciled_moves) = (0, 0, 0);
    for i in 0..OBJECTS {
        let before = place(&object(i), profile, &old, &[]).unwrap();
        let after = place(&object(i), profile, &new, &[]).unwrap();
        let (b, a) = (set(&before), set(&after));
        let gained: Vec<u64> = a.difference(&b).copied().collect();
        let lost: Vec<u64> = b.difference(&a).copied().collect();
        assert!(
            gained.is_empty() || gained == [13],
            "object {i}: {before:?} -> {after:?}"
        );
        assert_eq!(gained.len(), lost.len());
        assert!(lost.iter().all(|&id| site_of(&old, id) == "site0"));
        for (x, y) in before.iter().zip(&after) {
            if site_of(&old, *x) != "site0" {
                assert_eq!(x, y, "object {i}: a shard outside site0 moved");
            }
        }
        set_moves += gained.len();
        index_moves += before.iter().zip(&after).filter(|(x, y)| x != y).count();
        let kept = reconcile(&before, &after);
        assert_eq!(set(&kept), a);
        reconciled_moves += before.iter().zip(&kept).filter(|(x, y)| x != y).count();
    }
    // Ideal: the new node's share of all shard slots, (k+m)/N_new per object.
    let ideal = OBJECTS as f64 * profile.total() as f64 / 13.0;
    // Its fair share within site0: 2 shards per object among 4 nodes.
    let fair = OBJECTS as f64 * 2.0 / 4.0;
    println!("adding a node: {set_moves} shards to move, {index_moves} index changes, ideal {ideal:.0}");
    assert!((set_moves as f64) < 2.0 * ideal);
    assert!((set_moves as f64 - fair).abs() < 0.2 * fair, "{set_moves} vs {fair}");
    assert!((index_moves as f64) < 2.0 * ideal);
    assert_eq!(reconciled_moves, set_moves);
}

#[test]
fn adding_a_site_moves_one_shard_per_object() {
    let profile = p(5, 3);
    let old = grid(4, 3);
    let mut new = old.clone();
    new.push(node(13, "site4", TIB, true));
    let mut index_moves = 0;
    for i in 0..500 {
        let before = place(&object(i), profile, &old, &[]).unwrap();
        let after = place(&object(i), profile, &new, &[]).unwrap();
        let gained: Vec<u64> = set(&after).difference(&set(&before)).copied().collect();
        assert_eq!(gained, [13]);
        let kept = reconcile(&before, &after);
        assert_eq!(before.iter().zip(&kept).filter(|(x, y)| x != y).count(), 1);
        index_moves += before.iter().zip(&after).filter(|(x, y)| x != y).count();
    }
    println!("adding a site: 500 shards to move, {index_moves} index changes without reconcile");
}

#[test]
fn losing_a_node_moves_only_its_shards_within_its_site() {
    let old = grid(4, 3);
    let mut new = old.clone();
    new[4].writable = false; // node 5, site1
    for i in 0..500 {
        let before = place(&object(i), p(5, 3), &old, &[]).unwrap();
        let after = place(&object(i), p(5, 3), &new, &[]).unwrap();
        if !before.contains(&5) {
            assert_eq!(before, after);
            continue;
        }
        let gained: Vec<u64> = set(&after).difference(&set(&before)).copied().collect();
        assert_eq!(set(&before).difference(&set(&after)).copied().collect::<Vec<_>>(), [5]);
        assert_eq!(gained.len(), 1);
        assert_eq!(site_of(&old, gained[0]), "site1");
        // Excluding the node gives the same answer as marking it not writable.
        assert_eq!(place(&object(i), p(5, 3), &old, &[5]).unwrap(), after);
    }
}

#[test]
fn capacity_weights_nodes_within_a_site() {
    // One shard per site per object (1+2 on sites of 3, 1 and 1 nodes): site0's node 1 has twice
    // the capacity of nodes 2 and 3, so it should get half of site0's shards.
    let nodes = vec![
        node(1, "a", 2 * TIB, true),
        node(2, "a", TIB, true),
        node(3, "a", TIB, true),
        node(4, "b", TIB, true),
        node(5, "c", TIB, true),
    ];
    let mut counts = BTreeMap::<u64, usize>::new();
    for i in 0..4000 {
        for id in place(&object(i), p(1, 2), &nodes, &[]).unwrap() {
            *counts.entry(id).or_default() += 1;
        }
    }
    let (big, small) = (counts[&1] as f64, (counts[&2] + counts[&3]) as f64 / 2.0);
    println!("capacity 2:1:1 -> {counts:?}");
    assert!((1.7..2.3).contains(&(big / small)), "{counts:?}");
}

#[test]
fn reconcile_keeps_indices_of_kept_nodes() {
    assert_eq!(reconcile(&[1, 2, 3, 4], &[4, 9, 1, 3]), vec![1, 9, 3, 4]);
    assert_eq!(reconcile(&[1, 2, 3], &[4, 5, 6]), vec![4, 5, 6]);
    assert_eq!(reconcile(&[1, 2], &[4, 5, 6]), vec![4, 5, 6]);
    assert_eq!(reconcile(&[1, 1, 2], &[1, 2, 3]), vec![1, 3, 2]);
}

fn layout_strategy(sites: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<PlacementNode>> {
    prop::collection::vec(
        prop::collection::vec((1u64..=8, prop::bool::weighted(0.8)), 1..=5),
        sites,
    )
    .prop_map(|sites| {
        let mut id = 0;
        let mut nodes = vec![];
        for (s, site) in sites.iter().enumerate() {
            for &(tib, writable) in site {
                id += 1;
                nodes.push(node(id * 7, &format!("s{s}"), tib * TIB, writable));
            }
        }
        nodes
    })
}

proptest! {
    #[test]
    fn placements_respect_every_rule(
        nodes in layout_strategy(2..=6),
        k in 1u8..=10,
        m in 0u8..=5,
        exclude_mask in any::<u32>(),
        object_id in any::<[u8; 16]>(),
    ) {
        let profile = p(k, m);
        let exclude: Vec<u64> = nodes.iter().map(|n| n.id).filter(|id| exclude_mask & (1 << (id / 7 % 32)) != 0).collect();
        let eligible: Vec<&PlacementNode> = nodes.iter().filter(|n| n.writable && !exclude.contains(&n.id)).collect();
        let mut eligible_per_site = BTreeMap::<&str, usize>::new();
        for n in &eligible {
            *eligible_per_site.entry(n.site.as_str()).or_default() += 1;
        }
        let counts: Vec<usize> = eligible_per_site.values().copied().collect();
        let meets = check_profile(profile, &nodes).is_ok();

        match place(&object_id, profile, &nodes, &exclude) {
            Ok(placed) => {
                prop_assert_eq!(placed.len(), profile.total());
                prop_assert_eq!(set(&placed).len(), placed.len(), "two shards on one node");
                prop_assert!(placed.iter().all(|id| eligible.iter().any(|n| n.id == *id)));
                let max = max_per_site(&nodes, &placed);
                prop_assert_eq!(Some(max), min_max_per_site(&counts, profile.total()), "not balanced");
                if meets {
                    prop_assert!(max < m as usize, "{} at one site with {}", max, profile);
                }
                let mut reversed = nodes.clone();
                reversed.reverse();
                prop_assert_eq!(&placed, &place(&object_id, profile, &reversed, &exclude).unwrap());
            }
            Err(PlacementError::NotEnoughNodes { eligible: e, needed, .. }) => {
                prop_assert_eq!(e, eligible.len());
                prop_assert!(needed > e);
            }
            Err(PlacementError::SiteConstraint { .. }) => {
                prop_assert!(meets && !exclude.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
        if meets && exclude.is_empty() {
            prop_assert!(place(&object_id, profile, &nodes, &[]).is_ok());
        }
    }

    #[test]
    fn the_default_profile_is_the_cheapest_that_meets_the_guarantee(nodes in layout_strategy(3..=6)) {
        let sites: BTreeSet<&str> = nodes.iter().filter(|n| n.writable).map(|n| n.site.as_str()).collect();
        let Ok(choice) = default_profile(&nodes) else {
            prop_assert!(sites.is_empty());
            return Ok(());
        };
        let chosen = choice.profile;
        prop_assert_eq!(choice.survives_site_plus_node, sites.len() >= 3);
        if sites.len() < 3 {
            prop_assert!(chosen.parity <= FALLBACK_PARITY);
            return Ok(());
        }
        prop_assert!(check_profile(chosen, &nodes).is_ok());
        prop_assert!(choice.per_site.values().all(|&c| c < chosen.parity as usize));
        for k in 1..=MAX_DEFAULT_DATA {
            for m in 1..=MAX_DEFAULT_PARITY {
                let other = p(k, m);
                if check_profile(other, &nodes).is_ok() {
                    let key = |q: EcProfile| (q.total() as f64 / q.data as f64, -(q.parity as i32), q.total());
                    prop_assert!(key(chosen) <= key(other), "{} beats {}", other, chosen);
                }
            }
        }
    }
}
