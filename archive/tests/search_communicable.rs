//! The communicability filter and an access contract's agency restriction, in the index.

mod search_support;

use archipel_archive::search::{CommunicableFilter, SearchQuery, TenantIndex, UnitDoc};
use search_support::{day, ids, unit};

fn units() -> Vec<UnitDoc> {
    vec![
        UnitDoc {
            communicable_from: Some(day(1, 1, 1)),
            ..unit("always", "toujours")
        },
        UnitDoc {
            communicable_from: Some(day(2070, 1, 1)),
            originating_agency: "DRH".into(),
            ..unit("later", "plus tard")
        },
        UnitDoc {
            communicable_from: None,
            ..unit("never", "jamais")
        },
    ]
}

fn find(
    index: &TenantIndex,
    communicable: Option<(bool, chrono::NaiveDate)>,
    agencies: Option<&[&str]>,
) -> Vec<String> {
    let q = SearchQuery {
        communicable: communicable.map(|(communicable, on)| CommunicableFilter { communicable, on }),
        originating_agencies: agencies.map(|a| a.iter().map(|s| s.to_string()).collect()),
        ..SearchQuery::default()
    };
    let mut found = ids(&index.search(&q).unwrap());
    found.sort();
    found
}

#[test]
fn units_are_found_by_communicability_on_a_day() {
    let index = TenantIndex::in_ram().unwrap();
    index.upsert(&units()).unwrap();
    let today = day(2026, 6, 1);
    assert_eq!(find(&index, Some((true, today)), None), ["always"]);
    assert_eq!(find(&index, Some((false, today)), None), ["later", "never"]);
    assert_eq!(find(&index, Some((true, day(2069, 12, 31))), None), ["always"]);
    assert_eq!(find(&index, Some((true, day(2070, 1, 1))), None), ["always", "later"]);
    assert_eq!(find(&index, Some((false, day(9999, 12, 31))), None), ["never"]);
}

#[test]
fn a_contract_limits_the_originating_agencies() {
    let index = TenantIndex::in_ram().unwrap();
    index.upsert(&units()).unwrap();
    assert_eq!(find(&index, None, Some(&["FRAD069"])), ["always", "never"]);
    assert_eq!(
        find(&index, None, Some(&["DRH", "FRAD069"])),
        ["always", "later", "never"]
    );
    assert!(find(&index, None, Some(&[])).is_empty());
    assert_eq!(find(&index, Some((true, day(2070, 1, 1))), Some(&["DRH"])), ["later"]);
}
