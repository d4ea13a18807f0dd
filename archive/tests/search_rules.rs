//! Filters on management rules, agencies and holds, and the facet counts, on a small catalog whose every expected
//! count is worked out by hand.

mod search_support;

use archipel_archive::search::{
    HoldFilter, RuleDoc, RuleFilter, SearchError, SearchPage, SearchQuery, TenantIndex, UnitDoc, FACET_VALUES,
};
use chrono::NaiveDate;
use search_support::{day, ids, unit};

fn rule(category: &str, id: &str, end: Option<NaiveDate>, action: Option<&str>) -> RuleDoc {
    RuleDoc {
        category: category.into(),
        rule_id: id.into(),
        end_date: end,
        final_action: action.map(str::to_string),
    }
}

struct Unit {
    id: &'static str,
    level: &'static str,
    flow: Option<&'static str>,
    agency: &'static str,
    year: Option<i32>,
    rules: Vec<RuleDoc>,
}

fn catalog() -> TenantIndex {
    let appraisal = |id, end, action| rule("AppraisalRule", id, end, Some(action));
    let hold = |id, end| rule("HoldRule", id, end, None);
    let units = [
        Unit {
            id: "d1",
            level: "File",
            flow: Some("actes"),
            agency: "A",
            year: Some(2019),
            rules: vec![appraisal("APP-5", Some(day(2024, 3, 1)), "Destroy")],
        },
        Unit {
            id: "d2",
            level: "File",
            flow: Some("actes"),
            agency: "A",
            year: Some(2020),
            rules: vec![appraisal("APP-5", Some(day(2025, 12, 31)), "Destroy")],
        },
        Unit {
            id: "d3",
            level: "File",
            flow: Some("pes"),
            agency: "B",
            year: Some(2021),
            rules: vec![appraisal("APP-5", Some(day(2026, 1, 1)), "Destroy")],
        },
        Unit {
            id: "k1",
            level: "Item",
            flow: Some("pes"),
            agency: "B",
            year: Some(2019),
            rules: vec![appraisal("APP-10", Some(day(2020, 1, 1)), "Keep")],
        },
        // Two appraisal rules: one ended long ago but is Keep, the Destroy one ends in 2040.
        Unit {
            id: "mix",
            level: "Item",
            flow: None,
            agency: "A",
            year: Some(2018),
            rules: vec![
                appraisal("APP-10", Some(day(2019, 1, 1)), "Keep"),
                appraisal("APP-30", Some(day(2040, 1, 1)), "Destroy"),
            ],
        },
        Unit {
            id: "acc",
            level: "RecordGrp",
            flow: Some("marches"),
            agency: "C",
            year: None,
            rules: vec![
                rule("AccessRule", "ACC-25", Some(day(2010, 1, 1)), None),
                appraisal("APP-UNLIMITED", None, "Destroy"),
            ],
        },
        Unit {
            id: "hold",
            level: "File",
            flow: Some("actes"),
            agency: "A",
            year: Some(2022),
            rules: vec![
                hold("HOLD-1", None),
                appraisal("APP-5", Some(day(2027, 1, 1)), "Destroy"),
            ],
        },
        Unit {
            id: "hold-over",
            level: "File",
            flow: Some("actes"),
            agency: "B",
            year: Some(2022),
            rules: vec![hold("HOLD-2", Some(day(2023, 6, 30)))],
        },
        Unit {
            id: "hold-later",
            level: "Item",
            flow: Some("pes"),
            agency: "C",
            year: Some(2023),
            rules: vec![hold("HOLD-3", Some(day(2030, 1, 1)))],
        },
        Unit {
            id: "bare",
            level: "Item",
            flow: None,
            agency: "C",
            year: None,
            rules: vec![],
        },
    ];
    let docs: Vec<UnitDoc> = units
        .into_iter()
        .map(|u| UnitDoc {
            description_level: u.level.into(),
            flow: u.flow.map(str::to_string),
            originating_agency: u.agency.into(),
            start_date: u.year.map(|y| day(y, 5, 1)),
            rules: u.rules,
            ..unit(u.id, &format!("unité {}", u.id))
        })
        .collect();
    let index = TenantIndex::in_ram().unwrap();
    index.upsert(&docs).unwrap();
    index
}

fn find(index: &TenantIndex, query: SearchQuery) -> SearchPage {
    index.search(&SearchQuery { limit: 100, ..query }).unwrap()
}

fn rules(category: Option<&str>, action: Option<&str>, from: Option<NaiveDate>, to: Option<NaiveDate>) -> SearchQuery {
    SearchQuery {
        rules: RuleFilter {
            category: category.map(str::to_string),
            final_action: action.map(str::to_string),
            end_from: from,
            end_to: to,
        },
        ..SearchQuery::default()
    }
}

#[test]
fn appraisal_ended_before_2026_with_final_action_destroy() {
    let index = catalog();
    let before_2026 = Some(day(2025, 12, 31));
    let page = find(&index, rules(Some("AppraisalRule"), Some("Destroy"), None, before_2026));
    assert_eq!(
        ids(&page),
        ["d1", "d2"],
        "`mix` has a Keep rule that ended and a Destroy rule that has not: one rule must match it all"
    );
    assert_eq!(page.total, 2);

    let destroy = find(&index, rules(Some("AppraisalRule"), Some("Destroy"), None, None));
    assert_eq!(
        ids(&destroy),
        ["acc", "d1", "d2", "d3", "hold", "mix"],
        "without dates, unlimited rules count"
    );
    let any_action = find(&index, rules(Some("AppraisalRule"), None, None, before_2026));
    assert_eq!(ids(&any_action), ["d1", "d2", "k1", "mix"]);
    let later = find(&index, rules(Some("AppraisalRule"), None, Some(day(2026, 1, 1)), None));
    assert_eq!(
        ids(&later),
        ["d3", "hold", "mix"],
        "a rule without an end date is in no date range"
    );
    let keep = find(&index, rules(None, Some("Keep"), None, None));
    assert_eq!(ids(&keep), ["k1", "mix"]);
    let access = find(&index, rules(Some("AccessRule"), None, None, None));
    assert_eq!(ids(&access), ["acc"]);
}

#[test]
fn rule_ids_agencies_and_text_combine() {
    let index = catalog();
    let by_id = find(
        &index,
        SearchQuery {
            rule_id: Some("APP-10".into()),
            ..SearchQuery::default()
        },
    );
    assert_eq!(ids(&by_id), ["k1", "mix"]);
    let by_agency = find(
        &index,
        SearchQuery {
            originating_agency: Some("A".into()),
            ..SearchQuery::default()
        },
    );
    assert_eq!(ids(&by_agency), ["d1", "d2", "hold", "mix"]);
    let combined = SearchQuery {
        originating_agency: Some("A".into()),
        q: Some("d2".into()),
        ..rules(Some("AppraisalRule"), Some("Destroy"), None, Some(day(2025, 12, 31)))
    };
    assert_eq!(ids(&find(&index, combined)), ["d2"]);
}

#[test]
fn holds_in_force_on_a_day() {
    let index = catalog();
    let held = |held, on| SearchQuery {
        hold: Some(HoldFilter { held, on }),
        ..SearchQuery::default()
    };
    assert_eq!(
        ids(&find(&index, held(true, day(2024, 1, 1)))),
        ["hold", "hold-later"],
        "a hold without an end date holds; one that ended in 2023 does not"
    );
    assert_eq!(
        ids(&find(&index, held(true, day(2023, 1, 1)))),
        ["hold", "hold-later", "hold-over"]
    );
    assert_eq!(
        ids(&find(&index, held(true, day(2030, 1, 1)))),
        ["hold", "hold-later"],
        "the end day still holds"
    );
    let free = find(&index, held(false, day(2024, 1, 1)));
    assert_eq!(free.total, 8);
    assert!(!ids(&free).contains(&"hold".to_string()));
}

#[test]
fn facets_count_every_matching_unit() {
    let index = catalog();
    let all = find(&index, SearchQuery::default());
    assert_eq!(all.total, 10);
    let f = all.facets.expect("facets are on by default");
    assert_eq!(
        (f.level.count("File"), f.level.count("Item"), f.level.count("RecordGrp")),
        (5, 4, 1)
    );
    assert_eq!((f.level.missing, f.level.other), (0, 0));
    assert_eq!(
        (f.flow.count("actes"), f.flow.count("pes"), f.flow.count("marches")),
        (4, 3, 1)
    );
    assert_eq!(f.flow.missing, 2, "units without a flow");
    let agencies = &f.originating_agency;
    assert_eq!(
        (agencies.count("A"), agencies.count("B"), agencies.count("C")),
        (4, 3, 3)
    );
    let years: Vec<(&str, u64)> = f.year.buckets.iter().map(|b| (b.value.as_str(), b.count)).collect();
    assert_eq!(
        years,
        [
            ("2023", 1),
            ("2022", 2),
            ("2021", 1),
            ("2020", 1),
            ("2019", 2),
            ("2018", 1)
        ],
        "latest first"
    );
    assert_eq!(f.year.missing, 2, "undated units");

    let filtered = find(
        &index,
        rules(Some("AppraisalRule"), Some("Destroy"), None, Some(day(2025, 12, 31))),
    );
    let f = filtered.facets.unwrap();
    assert_eq!((f.level.count("File"), f.level.count("Item")), (2, 0));
    assert_eq!(f.flow.count("actes"), 2);
    assert_eq!(
        (f.year.count("2019"), f.year.count("2020"), f.year.buckets.len()),
        (1, 1, 2)
    );

    let paged = index
        .search(&SearchQuery {
            limit: 1,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(paged.hits.len(), 1);
    assert_eq!(
        paged.facets.unwrap().level.count("File"),
        5,
        "counts cover every match, not the page"
    );
    let counted = index
        .search(&SearchQuery {
            limit: 0,
            ..SearchQuery::default()
        })
        .unwrap();
    assert!(counted.hits.is_empty());
    assert_eq!((counted.total, counted.facets.unwrap().flow.count("pes")), (10, 3));
    let without = find(
        &index,
        SearchQuery {
            facets: false,
            ..SearchQuery::default()
        },
    );
    assert!(without.facets.is_none());
}

#[test]
fn a_facet_lists_its_most_frequent_values_and_sums_the_rest() {
    let index = TenantIndex::in_ram().unwrap();
    let extra = 5;
    let mut docs: Vec<UnitDoc> = (0..FACET_VALUES + extra)
        .map(|i| UnitDoc {
            originating_agency: format!("AG{i:03}"),
            ..unit(&format!("u{i}"), "acte")
        })
        .collect();
    docs.extend((0..3).map(|i| UnitDoc {
        originating_agency: "BIG".into(),
        ..unit(&format!("big{i}"), "acte")
    }));
    index.upsert(&docs).unwrap();
    let f = index
        .search(&SearchQuery::default())
        .unwrap()
        .facets
        .unwrap()
        .originating_agency;
    assert_eq!(f.buckets.len(), FACET_VALUES);
    assert_eq!(f.buckets[0].value, "BIG");
    assert_eq!(f.buckets[0].count, 3);
    assert_eq!(f.other, extra as u64 + 1, "the values left out are summed");
    assert_eq!(f.missing, 0);
}

#[test]
fn rule_filters_that_cannot_match_are_errors_that_say_what_to_use() {
    let index = catalog();
    let err = index.search(&rules(Some("Appraisal"), None, None, None)).unwrap_err();
    assert!(matches!(err, SearchError::InvalidRuleFilter { .. }), "{err}");
    assert!(err.to_string().contains("AppraisalRule"), "{err}");
    let err = index
        .search(&rules(Some("AccessRule"), Some("Destroy"), None, None))
        .unwrap_err();
    assert!(err.to_string().contains("no final action"), "{err}");
    let err = index
        .search(&rules(
            Some("AppraisalRule"),
            None,
            Some(day(2030, 1, 1)),
            Some(day(2020, 1, 1)),
        ))
        .unwrap_err();
    assert!(matches!(err, SearchError::EmptyDateRange { .. }), "{err}");
}
