//! What a user of one tenant's index sees: ranking, French text, filters, paging, writes, errors.
//! The disk cache and its sync from the catalog are in `search_cache.rs`.

mod search_support;

use archipel_archive::search::{Indexes, SearchError, SearchQuery, TenantIndex, UnitDoc};
use search_support::{dated, day, ids, unit};

fn index_with(units: &[UnitDoc]) -> TenantIndex {
    let index = TenantIndex::in_ram().unwrap();
    index.upsert(units).unwrap();
    index
}

fn search(index: &TenantIndex, q: &str) -> Vec<String> {
    ids(&index.search(&SearchQuery::text(q)).unwrap())
}

#[test]
fn a_title_match_ranks_above_a_text_only_match() {
    let in_text = UnitDoc {
        text: "Pièces annexes : extrait de délibération, plans, correspondance avec la préfecture".into(),
        ..unit("in-text", "Travaux de voirie")
    };
    let in_title = UnitDoc {
        text: "Procès-verbaux, pièces annexes, correspondance avec la préfecture".into(),
        ..unit("in-title", "Délibérations du conseil municipal")
    };
    let unrelated = unit("unrelated", "Budget primitif");
    // Insertion order must not decide the ranking: try both.
    for units in [
        vec![in_text.clone(), in_title.clone(), unrelated.clone()],
        vec![in_title.clone(), in_text.clone()],
    ] {
        let page = index_with(&units).search(&SearchQuery::text("délibération")).unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.hits[0].unit_id, "in-title", "{page:?}");
        assert_eq!(page.hits[1].unit_id, "in-text");
        assert!(page.hits[0].score > page.hits[1].score);
    }
}

#[test]
fn accents_case_and_plurals_do_not_matter() {
    let index = index_with(&[
        unit("accented", "Délibération du Conseil"),
        UnitDoc {
            keywords: vec!["État civil".into()],
            ..unit("kw", "Registres")
        },
        unit("plain", "deliberations budgetaires"),
        unit("other", "Permis de construire"),
    ]);
    for q in ["deliberation", "DÉLIBÉRATIONS", "Deliberations", "délibération"] {
        assert_eq!(search(&index, q), ["accented", "plain"], "query {q}");
    }
    assert_eq!(search(&index, "etat civil"), ["kw"]);
    assert_eq!(search(&index, "permis"), ["other"]);
    assert!(
        search(&index, "conseils municipaux").is_empty(),
        "words are ANDed: `municipal` is nowhere"
    );
}

#[test]
fn phrases_fields_and_exclusions_follow_the_query_syntax() {
    let index = index_with(&[
        UnitDoc {
            description: "Conseil municipal de Lyon".into(),
            ..unit("a", "Séance")
        },
        UnitDoc {
            description: "municipal, conseil d'école".into(),
            ..unit("b", "Séance")
        },
        UnitDoc {
            text: "séance extraordinaire".into(),
            ..unit("c", "Vote")
        },
    ]);
    assert_eq!(search(&index, "\"conseil municipal\""), ["a"]);
    assert_eq!(search(&index, "conseil municipal"), ["a", "b"]);
    assert_eq!(search(&index, "title:séance"), ["a", "b"]);
    assert_eq!(search(&index, "séance -lyon"), ["b", "c"]);
}

#[test]
fn flow_and_level_filters_are_exact() {
    let mut units = Vec::new();
    for (i, flow) in ["actes", "actes", "marches", "helios"].iter().enumerate() {
        units.push(UnitDoc {
            flow: Some(flow.to_string()),
            ..unit(&format!("u{i}"), "Dossier")
        });
    }
    units.push(unit("noflow", "Dossier"));
    units.push(UnitDoc {
        description_level: "Item".into(),
        flow: Some("actes".into()),
        ..unit("item", "Pièce")
    });
    let index = index_with(&units);
    let flow = |f: &str, level: Option<&str>, q: Option<&str>| {
        let req = SearchQuery {
            flow: Some(f.into()),
            level: level.map(str::to_string),
            q: q.map(str::to_string),
            ..SearchQuery::default()
        };
        ids(&index.search(&req).unwrap())
    };
    assert_eq!(flow("actes", None, None), ["item", "u0", "u1"]);
    assert_eq!(flow("actes", Some("File"), None), ["u0", "u1"]);
    assert_eq!(flow("actes", None, Some("dossier")), ["u0", "u1"]);
    assert!(flow("act", None, None).is_empty(), "flow is exact, not a prefix");
    assert!(flow("Actes", None, None).is_empty(), "flow is exact, case included");
    let hit = &index
        .search(&SearchQuery {
            flow: Some("helios".into()),
            ..SearchQuery::default()
        })
        .unwrap()
        .hits[0];
    assert_eq!(hit.flow.as_deref(), Some("helios"));
}

#[test]
fn filters_do_not_change_the_ranking() {
    let index = index_with(&[
        UnitDoc {
            flow: Some("f".into()),
            text: "budget".into(),
            ..unit("weak", "Divers")
        },
        UnitDoc {
            flow: Some("f".into()),
            ..unit("strong", "Budget")
        },
    ]);
    let plain = index.search(&SearchQuery::text("budget")).unwrap();
    let filtered = index
        .search(&SearchQuery {
            flow: Some("f".into()),
            ..SearchQuery::text("budget")
        })
        .unwrap();
    let scores = |p: &archipel_archive::search::SearchPage| p.hits.iter().map(|h| h.score).collect::<Vec<_>>();
    assert_eq!(scores(&plain), scores(&filtered));
}

#[test]
fn date_filter_keeps_units_whose_range_overlaps() {
    let index = index_with(&[
        dated("before", Some(day(2019, 1, 1)), Some(day(2019, 12, 31))),
        dated("touches-from", Some(day(2019, 6, 1)), Some(day(2020, 1, 1))),
        dated("touches-to", Some(day(2020, 12, 31)), Some(day(2021, 5, 1))),
        dated("after", Some(day(2021, 1, 1)), Some(day(2022, 1, 1))),
        dated("spans", Some(day(2010, 1, 1)), Some(day(2030, 1, 1))),
        dated("inside", Some(day(2020, 3, 1)), Some(day(2020, 4, 1))),
        dated("start-only", Some(day(2020, 6, 1)), None),
        dated("end-only", None, Some(day(2018, 2, 1))),
        dated("undated", None, None),
        dated("medieval", Some(day(1250, 1, 1)), Some(day(1300, 12, 31))),
    ]);
    let range = |from, to| {
        ids(&index
            .search(&SearchQuery {
                from,
                to,
                ..SearchQuery::default()
            })
            .unwrap())
    };
    let y2020 = range(Some(day(2020, 1, 1)), Some(day(2020, 12, 31)));
    assert_eq!(y2020, ["inside", "spans", "start-only", "touches-from", "touches-to"]);
    assert_eq!(range(Some(day(2021, 1, 1)), None), ["after", "spans", "touches-to"]);
    assert_eq!(
        range(None, Some(day(2019, 12, 31))),
        ["before", "end-only", "medieval", "spans", "touches-from"]
    );
    assert_eq!(
        range(Some(day(2020, 6, 1)), Some(day(2020, 6, 1))),
        ["spans", "start-only"]
    );
    assert_eq!(range(Some(day(1299, 1, 1)), Some(day(1299, 1, 1))), ["medieval"]);
    assert_eq!(range(None, None).len(), 10, "no date filter keeps undated units");
    let hit = index
        .search(&SearchQuery {
            from: Some(day(2020, 6, 1)),
            ..SearchQuery::text("start")
        })
        .unwrap();
    assert_eq!(hit.hits[0].start_date, Some(day(2020, 6, 1)));
    assert_eq!(
        hit.hits[0].end_date, None,
        "hits echo the catalog's dates, not the inferred range"
    );
}

#[test]
fn pages_are_disjoint_and_cover_every_hit() {
    let units: Vec<UnitDoc> = (0..25)
        .map(|i| unit(&format!("u{i:02}"), "Registre matricule"))
        .collect();
    let mut others: Vec<UnitDoc> = (0..5).map(|i| unit(&format!("x{i}"), "Cadastre")).collect();
    others.extend(units);
    let index = index_with(&others);
    let mut seen = Vec::new();
    for (offset, expected_len) in [(0, 10), (10, 10), (20, 5), (25, 0), (40, 0)] {
        let req = SearchQuery {
            limit: 10,
            offset,
            ..SearchQuery::text("registre")
        };
        let page = index.search(&req).unwrap();
        assert_eq!(page.total, 25, "total counts every match, whatever the page");
        assert_eq!(page.hits.len(), expected_len, "offset {offset}");
        seen.extend(page.hits.into_iter().map(|h| h.unit_id));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
    let count_only = index
        .search(&SearchQuery {
            limit: 0,
            ..SearchQuery::text("registre")
        })
        .unwrap();
    assert_eq!((count_only.total, count_only.hits.len()), (25, 0));
    let all = index
        .search(&SearchQuery {
            limit: 1000,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!((all.total, all.hits.len()), (30, 30));
}

#[test]
fn upsert_replaces_by_unit_id_and_the_last_of_a_batch_wins() {
    let index = index_with(&[unit("u1", "Alpha"), unit("u2", "Gamma")]);
    index.upsert(&[unit("u1", "Beta")]).unwrap();
    assert_eq!(index.count(), 2);
    assert!(search(&index, "alpha").is_empty());
    assert_eq!(search(&index, "beta"), ["u1"]);
    index.upsert(&[unit("u3", "Delta"), unit("u3", "Epsilon")]).unwrap();
    assert_eq!(index.count(), 3);
    assert!(search(&index, "delta").is_empty());
    assert_eq!(search(&index, "epsilon"), ["u3"]);
}

#[test]
fn delete_and_clear_are_visible_to_the_next_search() {
    let index = index_with(&[unit("u1", "Alpha"), unit("u2", "Alpha")]);
    index.delete("u1").unwrap();
    assert_eq!(search(&index, "alpha"), ["u2"]);
    assert_eq!(index.count(), 1);
    index.delete("never-indexed").unwrap();
    assert_eq!(index.count(), 1);
    index.clear().unwrap();
    assert_eq!(index.count(), 0);
    assert!(search(&index, "alpha").is_empty());
    index.upsert(&[unit("u1", "Alpha")]).unwrap();
    assert_eq!(
        search(&index, "alpha"),
        ["u1"],
        "an index is usable again after a clear"
    );
}

#[test]
fn a_bad_unit_rejects_its_whole_batch_and_names_itself() {
    let index = TenantIndex::in_ram().unwrap();
    let reversed = dated("reversed", Some(day(2021, 1, 1)), Some(day(2020, 1, 1)));
    let err = index.upsert(&[unit("good", "Alpha"), reversed]).unwrap_err();
    assert!(
        matches!(&err, SearchError::InvalidUnit { unit_id, .. } if unit_id == "reversed"),
        "{err}"
    );
    assert!(err.to_string().contains("after its end date"), "{err}");
    assert_eq!(index.count(), 0, "nothing of a refused batch is indexed");
    let err = index.upsert(&[unit("", "Nameless")]).unwrap_err();
    assert!(err.to_string().contains("unit_id is empty"), "{err}");
}

#[test]
fn malformed_queries_are_explained_not_swallowed() {
    let index = index_with(&[unit("u1", "Alpha")]);
    let err = index.search(&SearchQuery::text("title:(")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SearchError::MalformedQuery { .. }), "{msg}");
    assert!(msg.contains("`title:(`") && msg.contains("quote phrases"), "{msg}");
    let msg = index
        .search(&SearchQuery::text("nosuchfield:alpha"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("nosuchfield"), "{msg}");
    let deep = format!("{}alpha{}", "(".repeat(500), ")".repeat(500));
    assert!(matches!(
        index.search(&SearchQuery::text(deep)),
        Err(SearchError::QueryTooDeep { .. })
    ));
    let msg = index
        .search(&SearchQuery {
            limit: 5000,
            ..SearchQuery::default()
        })
        .unwrap_err()
        .to_string();
    assert!(msg.contains("5000") && msg.contains("1000"), "{msg}");
    assert_eq!(search(&index, "  "), ["u1"], "a blank query matches everything");
}

#[test]
fn hits_carry_a_snippet_around_the_matched_words() {
    let description = "Dossier de la commission d'appel d'offres pour la rénovation de l'école Jules Ferry, \
                       comprenant les offres des entreprises et le rapport d'analyse.";
    let index = index_with(&[UnitDoc {
        description: description.into(),
        ..unit("u1", "Marché public")
    }]);
    let page = index.search(&SearchQuery::text("ecole")).unwrap();
    let snippet = page.hits[0]
        .snippet
        .as_deref()
        .expect("a snippet for a description match");
    assert!(snippet.contains("école"), "{snippet}");
    let page = index.search(&SearchQuery::text("title:marché")).unwrap();
    assert_eq!(page.hits[0].title, "Marché public");
    assert_eq!(page.hits[0].snippet, None, "no snippet when only the title matched");
}

#[test]
fn indexes_hand_out_one_index_per_tenant_and_see_writes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for indexes in [Indexes::in_ram(), Indexes::on_disk(dir.path()).unwrap()] {
        let a = indexes.get("tenant-a").unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &indexes.get("tenant-a").unwrap()));
        assert!(indexes.get("../etc").is_err());
        std::thread::scope(|s| {
            for t in 0..2 {
                let indexes = &indexes;
                s.spawn(move || {
                    let index = indexes.get(&format!("t{t}")).unwrap();
                    for i in 0..20 {
                        let word = format!("mot{t}x{i}");
                        index.upsert(&[unit(&word, &word)]).unwrap();
                        assert_eq!(search(&index, &word), vec![word], "write then search immediately");
                    }
                });
            }
        });
        assert_eq!(indexes.tenants(), ["t0", "t1", "tenant-a"]);
        assert_eq!(indexes.get("t0").unwrap().count(), 20);
    }
}
