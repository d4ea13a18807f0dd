//! The search's hold filter (`hold=true` / `hold=false`, `hold_on`) through the front, on units
//! put under a hold after the index already had them: the index must follow the in-place change,
//! the day the hold is put and on later days, and forget it when it is lifted or has ended.

mod archive_common;
mod common;

use archive_common::disposal::system_id;
use archive_common::{abc, manifest, region, write_sip, Front, RULES_CSV};
use common::serial;

/// The front's "today" (its access clock file).
const TODAY: &str = "2027-03-01";

#[test]
fn hold_filter_follows_holds_put_and_lifted() {
    let _guard = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("today");
    std::fs::write(&clock, TODAY).unwrap();
    let front = Front::start_with_access_clock(&clock);
    let rules = format!("{RULES_CSV}HOL-00001,HoldRule,Gel judiciaire,,,\n");
    let r = region(&front, &rules, &["AGR-GEL"]);
    let files = abc([b"piece A", b"piece B", b"piece C"]);
    let sip = front.dir.path().join("sip.zip");
    write_sip(&sip, &manifest("AGR-GEL", &files, ""), &files);
    let atr = front.ingest(&r.agency, "region", &sip);
    let (root, ua, ub, uc) = (
        system_id(&atr, "ROOT"),
        system_id(&atr, "UA"),
        system_id(&atr, "UB"),
        system_id(&atr, "UC"),
    );
    let search = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["search", "--tenant", "region", "--no-facets", "--json"];
        args.extend_from_slice(extra);
        let v = front.json(&r.archivist, &args);
        let mut ids: Vec<String> = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["unit_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(v["total"], ids.len(), "{v:#}");
        ids.sort();
        ids
    };
    let sorted = |ids: &[&String]| -> Vec<String> {
        let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    // The index has every unit, none held, before any hold is put.
    assert_eq!(search(&[]), sorted(&[&root, &ua, &ub, &uc]));
    assert!(search(&["--held"]).is_empty());

    let hold = |unit: &str, end: Option<&str>| {
        let mut args = vec!["hold", "add", "--tenant", "region", "--rule", "HOL-00001", "--json"];
        if let Some(e) = end {
            args.extend_from_slice(&["--end-date", e]);
        }
        args.push(unit);
        front.json(&r.archivist, &args);
    };
    // B held until lifted, C until today included.
    hold(&ub, None);
    hold(&uc, Some(TODAY));
    assert_eq!(search(&["--held"]), sorted(&[&ub, &uc]), "held today");
    assert_eq!(search(&["--held", "--hold-on", TODAY]), sorted(&[&ub, &uc]));
    assert_eq!(
        search(&["--held", "--hold-on", "2027-03-02"]),
        sorted(&[&ub]),
        "C's hold ended yesterday; B's has no end"
    );
    assert_eq!(search(&["--held", "--hold-on", "2090-01-01"]), sorted(&[&ub]));
    assert_eq!(search(&["--not-held"]), sorted(&[&root, &ua]));
    assert_eq!(
        search(&["--not-held", "--hold-on", "2027-03-02"]),
        sorted(&[&root, &ua, &uc])
    );

    // Lifted: B is no longer held, on any day.
    front.hold(&r.archivist, "lift", &ub);
    assert_eq!(search(&["--held"]), sorted(&[&uc]));
    assert_eq!(
        search(&["--not-held", "--hold-on", "2090-01-01"]),
        sorted(&[&root, &ua, &ub, &uc])
    );
}
