//! Units changed in place (a hold put or lifted, end dates recomputed) reach the index at the next sync, through
//! the catalog's change records: the hold filter finds a unit the day its hold is put and on later days, and
//! forgets it once lifted. Without the change records the index kept the unit as first indexed (no hold).

mod search_support;

use std::sync::Arc;

use archipel_archive::search::{sync, HoldFilter, RuleDoc, SearchQuery, TenantIndex, UnitDoc};
use chrono::NaiveDate;
use search_support::{day, ids, FakeCatalog};

/// Microseconds in a minute, for the fronts' clocks.
const MINUTE: i64 = 60_000_000;

fn held(index: &TenantIndex, held: bool, on: NaiveDate) -> Vec<String> {
    let q = SearchQuery {
        hold: Some(HoldFilter { held, on }),
        ..SearchQuery::default()
    };
    ids(&index.search(&q).unwrap())
}

fn with_hold(unit: &UnitDoc, end: Option<NaiveDate>) -> UnitDoc {
    let mut u = unit.clone();
    u.rules.push(RuleDoc {
        category: "HoldRule".into(),
        rule_id: "HOL-00001".into(),
        end_date: end,
        final_action: None,
    });
    u
}

#[tokio::test]
async fn holds_put_and_lifted_in_place_reach_the_hold_filter() {
    let catalog = FakeCatalog::default();
    catalog.commit("aip-1", 3);
    let index = Arc::new(TenantIndex::in_ram().unwrap());
    sync(&index, &catalog).await.unwrap();
    let today = day(2027, 3, 1);
    assert!(held(&index, true, today).is_empty());
    let units = catalog.units_of("aip-1");

    // u1 held until lifted, u2 until today included, by a front whose clock is 5 minutes behind.
    let t0 = 1_800_000_000_000_000;
    catalog.change_in_place(with_hold(&units[1], None), t0);
    catalog.change_in_place(with_hold(&units[2], Some(today)), t0 - 5 * MINUTE);
    let report = sync(&index, &catalog).await.unwrap();
    assert_eq!(report.changed_units, 2, "{report:?}");
    assert_eq!(index.count(), 3, "replaced, not added");
    assert_eq!(held(&index, true, today), ["aip-1-u1", "aip-1-u2"]);
    assert_eq!(held(&index, true, day(2027, 3, 2)), ["aip-1-u1"]);
    assert_eq!(held(&index, true, day(2090, 1, 1)), ["aip-1-u1"]);
    assert_eq!(held(&index, false, today), ["aip-1-u0"]);

    // Lifted on u1, written by a front 5 minutes behind the newest change applied: still within the window.
    catalog.change_in_place(units[1].clone(), t0 - 5 * MINUTE);
    let report = sync(&index, &catalog).await.unwrap();
    assert!(!report.up_to_date);
    assert_eq!(held(&index, true, today), ["aip-1-u2"]);
    assert_eq!(
        held(&index, false, day(2090, 1, 1)),
        ["aip-1-u0", "aip-1-u1", "aip-1-u2"]
    );
    assert!(sync(&index, &catalog).await.unwrap().up_to_date);
}
