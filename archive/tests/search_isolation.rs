//! Tenant isolation: whatever is written to tenant A, tenant B's answers are exactly those of an index holding only
//! B's units, for any query.

mod search_support;

use archipel_archive::search::{Indexes, SearchPage, SearchQuery, TenantIndex, UnitDoc};
use proptest::prelude::*;
use search_support::{day, unit};

const WORDS: [&str; 8] = [
    "registre",
    "délibération",
    "cadastre",
    "école",
    "voirie",
    "budget",
    "état",
    "permis",
];
const FLOWS: [&str; 3] = ["actes", "marches", "helios"];

#[derive(Debug, Clone)]
struct Spec {
    tenant_a: bool,
    title: Vec<usize>,
    text: Vec<usize>,
    flow: Option<usize>,
    years: Option<(i32, i32)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        prop::collection::vec(0..WORDS.len(), 1..4),
        prop::collection::vec(0..WORDS.len(), 0..4),
        prop::option::of(0..FLOWS.len()),
        prop::option::of((1990..2020i32, 0..10i32)),
    )
        .prop_map(|(tenant_a, title, text, flow, years)| Spec {
            tenant_a,
            title,
            text,
            flow,
            years: years.map(|(start, len)| (start, start + len)),
        })
}

fn query() -> impl Strategy<Value = SearchQuery> {
    let q = prop::option::of((
        prop::collection::vec(0..WORDS.len(), 1..3),
        prop::sample::select(vec![" ", " OR ", " -", " title:"]),
    ));
    (
        q,
        prop::option::of(0..FLOWS.len()),
        prop::option::of(1985..2035i32),
        prop::option::of(0..15i32),
    )
        .prop_map(|(q, flow, from, span)| SearchQuery {
            q: q.map(|(words, join)| words.iter().map(|&w| WORDS[w]).collect::<Vec<_>>().join(join)),
            flow: flow.map(|f| FLOWS[f].to_string()),
            from: from.map(|y| day(y, 1, 1)),
            to: from.zip(span).map(|(y, s)| day(y + s, 12, 31)),
            limit: 1000,
            ..SearchQuery::default()
        })
}

fn to_unit(prefix: &str, n: usize, s: &Spec) -> UnitDoc {
    let words = |idx: &[usize]| idx.iter().map(|&w| WORDS[w]).collect::<Vec<_>>().join(" ");
    UnitDoc {
        flow: s.flow.map(|f| FLOWS[f].to_string()),
        text: words(&s.text),
        start_date: s.years.map(|(y, _)| day(y, 3, 1)),
        end_date: s.years.map(|(_, y)| day(y, 9, 30)),
        ..unit(&format!("{prefix}-{n}"), &words(&s.title))
    }
}

/// What a result says, in a form two indexes can be compared on.
fn outcome(result: Result<SearchPage, impl std::fmt::Display>) -> Result<(usize, Vec<String>), String> {
    result
        .map(|page| {
            let mut ids: Vec<String> = page.hits.into_iter().map(|h| h.unit_id).collect();
            ids.sort();
            (page.total, ids)
        })
        .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_tenant_never_sees_another_tenants_units(
        specs in prop::collection::vec(spec(), 1..30),
        batch in 1..6usize,
        queries in prop::collection::vec(query(), 1..8),
    ) {
        let indexes = Indexes::in_ram();
        let (a, b) = (indexes.get("a").unwrap(), indexes.get("b").unwrap());
        let (alone_a, alone_b) = (TenantIndex::in_ram().unwrap(), TenantIndex::in_ram().unwrap());
        // Writes to both tenants interleave, in batches, as they would in a busy front.
        for (chunk_no, chunk) in specs.chunks(batch).enumerate() {
            let units: Vec<(bool, UnitDoc)> = chunk.iter().enumerate().map(|(i, s)| {
                let n = chunk_no * batch + i;
                (s.tenant_a, to_unit(if s.tenant_a { "a" } else { "b" }, n, s))
            }).collect();
            for (tenant_a, shared, alone) in [(true, &a, &alone_a), (false, &b, &alone_b)] {
                let mine: Vec<UnitDoc> = units.iter().filter(|(t, _)| *t == tenant_a).map(|(_, u)| u.clone()).collect();
                shared.upsert(&mine).unwrap();
                alone.upsert(&mine).unwrap();
            }
        }
        // Same unit id in both tenants: a delete in one must not reach the other.
        a.upsert(&[unit("shared-id", "registre")]).unwrap();
        b.upsert(&[unit("shared-id", "registre")]).unwrap();
        alone_b.upsert(&[unit("shared-id", "registre")]).unwrap();
        a.delete("shared-id").unwrap();
        prop_assert_eq!(a.count(), alone_a.count());
        prop_assert_eq!(b.count(), alone_b.count());
        for q in &queries {
            let seen_b = outcome(b.search(q));
            if let Ok((_, ids)) = &seen_b {
                prop_assert!(ids.iter().all(|id| id.starts_with("b-") || id == "shared-id"), "{:?}: {:?}", q, ids);
            }
            prop_assert_eq!(&seen_b, &outcome(alone_b.search(q)), "tenant b, {:?}", q);
            let seen_a = outcome(a.search(q));
            if let Ok((_, ids)) = &seen_a {
                prop_assert!(ids.iter().all(|id| id.starts_with("a-")), "{:?}: {:?}", q, ids);
            }
            prop_assert_eq!(&seen_a, &outcome(alone_a.search(q)), "tenant a, {:?}", q);
        }
    }
}
