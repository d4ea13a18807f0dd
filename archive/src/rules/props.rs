//! Property tests of the inheritance engine over random DAGs.

use std::collections::{BTreeSet, HashSet};

use archipel_seda::manifest::RuleCategory;
use proptest::prelude::*;

use super::inherit::{compute, Declared, Node, View};

const CATEGORIES: [RuleCategory; 2] = [RuleCategory::Access, RuleCategory::Appraisal];
const RULE_IDS: [&str; 4] = ["R0", "R1", "R2", "R3"];

/// One unit: parents (as offsets below it), and per category: own rules, PreventInheritance,
/// RefNonRuleId.
type UnitSpec = (Vec<usize>, Vec<(Vec<usize>, bool, Vec<usize>)>);

fn unit_spec() -> impl Strategy<Value = UnitSpec> {
    let category = (
        proptest::collection::vec(0..RULE_IDS.len(), 0..3),
        proptest::bool::weighted(0.15),
        proptest::collection::vec(0..RULE_IDS.len(), 0..2),
    );
    (
        proptest::collection::vec(0usize..64, 0..4),
        proptest::collection::vec(category, CATEGORIES.len()),
    )
}

fn build(specs: &[UnitSpec]) -> Vec<Node<usize>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, (parents, cats))| {
            let parents: BTreeSet<usize> = if i == 0 {
                BTreeSet::new()
            } else {
                parents.iter().map(|p| p % i).collect()
            };
            let categories = CATEGORIES
                .iter()
                .zip(cats)
                .map(|(&category, (rules, prevent, refused))| {
                    let mut d = Declared::new(category);
                    let ids: BTreeSet<&str> = rules.iter().map(|&r| RULE_IDS[r]).collect();
                    d.rules = ids.into_iter().map(|id| (id.to_owned(), i)).collect();
                    // SEDA allows PreventInheritance or RefNonRuleId, not both.
                    if *prevent {
                        d.prevent_inheritance = Some(true);
                    } else {
                        d.ref_non_rule_ids = refused.iter().map(|&r| RULE_IDS[r].to_owned()).collect();
                    }
                    d
                })
                .collect();
            Node {
                parents: parents.into_iter().collect(),
                categories,
                global: Vec::new(),
                implicit_keep: false,
            }
        })
        .collect()
}

fn ancestors_or_self(nodes: &[Node<usize>], me: usize) -> HashSet<usize> {
    let mut seen = HashSet::from([me]);
    let mut stack = vec![me];
    while let Some(n) = stack.pop() {
        for &p in &nodes[n].parents {
            if seen.insert(p) {
                stack.push(p);
            }
        }
    }
    seen
}

fn entries(view: &View<usize>, c: RuleCategory) -> BTreeSet<(String, usize)> {
    view.rules
        .get(&c)
        .into_iter()
        .flatten()
        .map(|e| (e.key.clone(), e.origin))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn origins_paths_and_own_rules(specs in proptest::collection::vec(unit_spec(), 1..14)) {
        let nodes = build(&specs);
        let views = compute(&nodes).unwrap();
        for (me, view) in views.iter().enumerate() {
            let ancestors = ancestors_or_self(&nodes, me);
            for c in CATEGORIES {
                let declared = nodes[me].categories.iter().find(|d| d.category == c).unwrap();
                let list = view.rules.get(&c).cloned().unwrap_or_default();
                let pairs: HashSet<(String, usize)> = list.iter().map(|e| (e.key.clone(), e.origin)).collect();
                prop_assert_eq!(pairs.len(), list.len(), "one entry per (rule, origin)");
                for e in &list {
                    // Every origin is an ancestor or the unit itself, and declares the rule.
                    prop_assert!(ancestors.contains(&e.origin));
                    prop_assert_eq!(e.value, e.origin);
                    prop_assert!(!e.paths.is_empty());
                    for path in &e.paths {
                        prop_assert_eq!(path.first(), Some(&me));
                        prop_assert_eq!(path.last(), Some(&e.origin));
                        for w in path.windows(2) {
                            prop_assert!(nodes[w[0]].parents.contains(&w[1]), "path follows parent edges");
                        }
                    }
                    if e.origin != me {
                        prop_assert!(declared.prevent_inheritance != Some(true));
                        prop_assert!(!declared.ref_non_rule_ids.contains(&e.key));
                    }
                }
                // A unit's own rule always wins: it is the only entry for that id.
                for (id, _) in &declared.rules {
                    let same: Vec<_> = list.iter().filter(|e| &e.key == id).collect();
                    prop_assert_eq!(same.len(), 1);
                    prop_assert_eq!(same[0].origin, me);
                }
                // Nothing a parent has in force is lost unless the unit stops it.
                for &p in &nodes[me].parents {
                    for e in views[p].rules.get(&c).into_iter().flatten() {
                        let stopped = declared.prevent_inheritance == Some(true)
                            || declared.ref_non_rule_ids.contains(&e.key)
                            || declared.rules.iter().any(|(id, _)| id == &e.key);
                        prop_assert_eq!(!stopped, pairs.contains(&(e.key.clone(), e.origin)));
                    }
                }
            }
        }
    }

    #[test]
    fn prevent_inheritance_never_adds_a_rule(
        specs in proptest::collection::vec(unit_spec(), 1..14),
        pick in 0usize..64,
        category in 0usize..CATEGORIES.len(),
    ) {
        let nodes = build(&specs);
        let before = compute(&nodes).unwrap();
        let mut stopped = nodes.clone();
        let target = pick % nodes.len();
        let c = CATEGORIES[category];
        let d = stopped[target].categories.iter_mut().find(|d| d.category == c).unwrap();
        d.prevent_inheritance = Some(true);
        d.ref_non_rule_ids.clear();
        let after = compute(&stopped).unwrap();
        for (b, a) in before.iter().zip(&after) {
            for c in CATEGORIES {
                prop_assert!(entries(a, c).is_subset(&entries(b, c)));
            }
        }
        // The unit itself keeps only its own rules of that category.
        prop_assert!(entries(&after[target], c).iter().all(|(_, o)| *o == target));
    }

    #[test]
    fn ref_non_rule_id_stops_only_what_it_names(
        specs in proptest::collection::vec(unit_spec(), 2..14),
        pick in 0usize..64,
        rule in 0usize..RULE_IDS.len(),
    ) {
        let nodes = build(&specs);
        let target = 1 + pick % (nodes.len() - 1);
        let mut refusing = nodes.clone();
        let d = &mut refusing[target].categories[0];
        d.prevent_inheritance = None;
        d.ref_non_rule_ids = vec![RULE_IDS[rule].to_owned()];
        let mut open = nodes.clone();
        open[target].categories[0].prevent_inheritance = None;
        open[target].categories[0].ref_non_rule_ids.clear();
        let (with, without) = (compute(&refusing).unwrap(), compute(&open).unwrap());
        let c = CATEGORIES[0];
        let expected: BTreeSet<(String, usize)> = entries(&without[target], c)
            .into_iter()
            .filter(|(k, o)| *o == target || k != RULE_IDS[rule])
            .collect();
        prop_assert_eq!(entries(&with[target], c), expected);
    }
}
