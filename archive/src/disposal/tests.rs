//! The analysis against Vitam's cases (EliminationAnalysisService's semantics, restated here),
//! the catalog-wide checks, and rule modification with re-inheritance.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::analysis::{analyse_unit, Reason, Status};
use super::modify::{apply, Change};
use crate::model::{Measurement, NoDuration, Rule, UnitRecord};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A rule in force: `origin` declares it, `path` leads to it.
fn rule(cat: &str, id: &str, end: Option<&str>, origin: &str, path: &[&str]) -> Value {
    json!({"category": cat, "rule_id": id, "start_date": "2000-01-01", "end_date": end, "end_kind": "computed",
           "inherited": path.len() > 1, "unit_ids": [origin], "sip_unit_ids": [origin], "paths": [path]})
}

fn action(value: &str, origin: &str, path: &[&str]) -> Value {
    json!({"category": "AppraisalRule", "name": "FinalAction", "value": value, "unit_ids": [origin],
           "sip_unit_ids": [origin], "paths": [path]})
}

fn unit(id: &str, agency: Option<&str>, parents: &[&str], rules: Vec<Value>, props: Vec<Value>) -> UnitRecord {
    serde_json::from_value(json!({
        "id": id, "sip_id": id.to_uppercase(), "tenant": "t", "aip_id": "a", "transfer_id": "tr",
        "parent_id": parents.first(), "parent_ids": parents, "flow": null, "agreement": null, "title": id,
        "description": null, "level": null, "start_date": null, "end_date": null, "originating_agency": agency,
        "keywords": [], "objects": [], "content": null, "ingested_at": "2026-01-01T00:00:00Z",
        "rules": rules, "properties": props,
    }))
    .unwrap()
}

/// Every unit's originating agency is its id's prefix before '-' ("sp1-x" → "sp1").
fn agency_of(id: &str) -> Option<String> {
    id.split_once('-').map(|(a, _)| a.to_owned())
}

fn verdict(rules: Vec<Value>, props: Vec<Value>, at: &str) -> super::analysis::Verdict {
    let u = unit("sp1-u", Some("sp1"), &[], rules, props);
    analyse_unit(&u, day(at), &agency_of)
}

#[test]
fn nothing_in_force_is_kept() {
    assert_eq!(verdict(vec![], vec![], "2018-01-01").status, Status::Keep);
}

#[test]
fn a_destroy_without_rule_is_kept() {
    let v = verdict(vec![], vec![action("Destroy", "sp1-u", &["sp1-u"])], "2018-01-01");
    assert_eq!(v.status, Status::Keep);
    assert_eq!(v.non_destroyable_originating_agencies, ["sp1"]);
}

#[test]
fn a_rule_not_ended_or_without_end_keeps() {
    for end in [Some("2020-01-01"), None] {
        let v = verdict(
            vec![rule("AppraisalRule", "R1", end, "sp1-u", &["sp1-u"])],
            vec![action("Destroy", "sp1-u", &["sp1-u"])],
            "2018-01-01",
        );
        assert_eq!(v.status, Status::Keep, "end {end:?}");
        assert!(v.reasons.is_empty());
    }
}

#[test]
fn an_ended_rule_with_destroy_is_destroyed_including_on_its_last_day() {
    for at in ["2018-01-01", "2015-01-01"] {
        let v = verdict(
            vec![rule("AppraisalRule", "R1", Some("2015-01-01"), "sp1-u", &["sp1-u"])],
            vec![action("Destroy", "sp1-u", &["sp1-u"])],
            at,
        );
        assert_eq!(v.status, Status::Destroy, "at {at}");
        assert_eq!(v.destroyable_originating_agencies, ["sp1"]);
    }
    let v = verdict(
        vec![rule("AppraisalRule", "R1", Some("2015-01-01"), "sp1-u", &["sp1-u"])],
        vec![action("Destroy", "sp1-u", &["sp1-u"])],
        "2014-12-31",
    );
    assert_eq!(v.status, Status::Keep);
}

#[test]
fn keep_and_destroy_for_one_agency_is_a_final_action_inconsistency() {
    let v = verdict(
        vec![rule("AppraisalRule", "R1", Some("2015-01-01"), "sp1-u", &["sp1-u"])],
        vec![
            action("Destroy", "sp1-u", &["sp1-u"]),
            action("Keep", "sp1-p", &["sp1-u", "sp1-p"]),
        ],
        "2018-01-01",
    );
    assert_eq!(v.status, Status::Conflict);
    assert!(
        matches!(&v.reasons[0], Reason::FinalActionInconsistency { originating_agencies, .. } if originating_agencies == &["sp1"])
    );
}

#[test]
fn two_agencies_one_keeping_is_a_conflict_with_keep_access_sp() {
    // sp1 (the unit's own agency) may destroy; sp2's parent keeps it (its rule has not ended).
    let v = verdict(
        vec![
            rule("AppraisalRule", "R1", Some("2015-01-01"), "sp1-u", &["sp1-u"]),
            rule("AppraisalRule", "R2", Some("2030-01-01"), "sp2-p", &["sp1-u", "sp2-p"]),
        ],
        vec![
            action("Destroy", "sp1-u", &["sp1-u"]),
            action("Destroy", "sp2-p", &["sp1-u", "sp2-p"]),
        ],
        "2018-01-01",
    );
    assert_eq!(v.status, Status::Conflict);
    assert_eq!(v.destroyable_originating_agencies, ["sp1"]);
    assert_eq!(v.non_destroyable_originating_agencies, ["sp2"]);
    assert!(v.reasons.iter().any(|r| matches!(r, Reason::KeepAccessSp { .. })));
}

#[test]
fn an_active_hold_blocks_an_otherwise_destroyable_unit() {
    let base = || vec![rule("AppraisalRule", "R1", Some("2015-01-01"), "sp1-u", &["sp1-u"])];
    let props = || vec![action("Destroy", "sp1-u", &["sp1-u"])];
    for (hold_end, blocked) in [(None, true), (Some("2019-01-01"), true), (Some("2018-01-01"), false)] {
        let mut rules = base();
        rules.push(rule("HoldRule", "HOL-1", hold_end, "sp1-u", &["sp1-u"]));
        let v = verdict(rules, props(), "2018-01-01");
        if blocked {
            assert_eq!(v.status, Status::Conflict, "hold ending {hold_end:?}");
            assert!(v
                .reasons
                .iter()
                .any(|r| matches!(r, Reason::BlockedByHoldRule { rule_ids, .. } if rule_ids == &["HOL-1"])));
        } else {
            assert_eq!(v.status, Status::Destroy, "a hold ended on the day no longer holds");
        }
    }
    // A hold on a unit that is kept anyway changes nothing (and is not reported).
    let mut rules = vec![rule("AppraisalRule", "R1", Some("2030-01-01"), "sp1-u", &["sp1-u"])];
    rules.push(rule("HoldRule", "HOL-1", None, "sp1-u", &["sp1-u"]));
    let v = verdict(rules, props(), "2018-01-01");
    assert_eq!((v.status, v.reasons.len()), (Status::Keep, 0));
}

#[test]
fn a_destroyable_parent_with_a_kept_child_is_a_conflict_up_the_graph() {
    let ended = |origin: &str, path: &[&str]| rule("AppraisalRule", "R1", Some("2015-01-01"), origin, path);
    let destroy = |origin: &str, path: &[&str]| action("Destroy", origin, path);
    // g ← p ← c: c declares a Keep; p and g would be destroyable alone.
    let g = unit(
        "sp1-g",
        Some("sp1"),
        &[],
        vec![ended("sp1-g", &["sp1-g"])],
        vec![destroy("sp1-g", &["sp1-g"])],
    );
    let p = unit(
        "sp1-p",
        Some("sp1"),
        &["sp1-g"],
        vec![ended("sp1-g", &["sp1-p", "sp1-g"])],
        vec![destroy("sp1-g", &["sp1-p", "sp1-g"])],
    );
    let c = unit(
        "sp1-c",
        Some("sp1"),
        &["sp1-p"],
        vec![ended("sp1-g", &["sp1-c", "sp1-p", "sp1-g"])],
        vec![action("Keep", "sp1-c", &["sp1-c"])],
    );
    let other = unit(
        "sp1-o",
        Some("sp1"),
        &[],
        vec![ended("sp1-o", &["sp1-o"])],
        vec![destroy("sp1-o", &["sp1-o"])],
    );
    let units: HashMap<String, UnitRecord> = [g, p, c, other].into_iter().map(|u| (u.id.clone(), u)).collect();
    let result = super::analyse_units("t", &units, &HashMap::new(), day("2018-01-01"));
    let status = |id: &str| result.units.iter().find(|e| e.unit_id == id).map(|e| e.status);
    assert_eq!(result.considered, 4);
    assert_eq!(status("sp1-c"), None, "KEEP units are not listed");
    assert_eq!(status("sp1-p"), Some(Status::Conflict));
    assert_eq!(status("sp1-g"), Some(Status::Conflict));
    assert_eq!(status("sp1-o"), Some(Status::Destroy));
    let p = result.units.iter().find(|e| e.unit_id == "sp1-p").unwrap();
    assert!(matches!(&p.reasons[0], Reason::HasChildUnitsToKeep { unit_ids, .. } if unit_ids == &["sp1-c"]));
    // An open communication on a destroyable unit keeps it for now.
    let open = HashMap::from([("sp1-o".to_owned(), vec!["COM-1".to_owned()])]);
    let result = super::analyse_units("t", &units, &open, day("2018-01-01"));
    let o = result.units.iter().find(|e| e.unit_id == "sp1-o").unwrap();
    assert_eq!(o.status, Status::Conflict);
    assert!(
        matches!(&o.reasons[0], Reason::InPendingCommunication { communications, .. } if communications == &["COM-1"])
    );
}

fn referential() -> HashMap<String, Rule> {
    let r = |id: &str, t: &str, d: Option<u32>, nd: NoDuration| Rule {
        id: id.into(),
        rule_type: t.into(),
        value: id.into(),
        description: String::new(),
        duration: d,
        measurement: Measurement::Year,
        no_duration: nd,
        version: 1,
    };
    [
        r("APP-1", "AppraisalRule", Some(10), NoDuration::Unlimited),
        r("APP-2", "AppraisalRule", Some(5), NoDuration::Unlimited),
        r("HOL-1", "HoldRule", None, NoDuration::Undefined),
        r("ACC-1", "AccessRule", Some(25), NoDuration::Unlimited),
    ]
    .into_iter()
    .map(|r| (r.id.clone(), r))
    .collect()
}

#[test]
fn a_hold_added_on_a_parent_reaches_its_descendants_and_lifting_it_frees_them() {
    let refs = referential();
    let mut root = unit("r", Some("sp1"), &[], vec![], vec![]);
    let child = unit("c", Some("sp1"), &["r"], vec![], vec![]);
    let grandchild = unit("g", Some("sp1"), &["c"], vec![], vec![]);
    apply(
        &mut root,
        &Change::Add {
            rule_id: "APP-1".into(),
            start_date: Some(day("2000-01-01")),
            final_action: Some("Destroy".into()),
            hold: None,
        },
        &refs,
    )
    .unwrap();
    let mut units: HashMap<String, UnitRecord> = [root, child, grandchild]
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    let changed = super::reinherit::reinherit(&mut units, &["r".into()]).unwrap();
    assert_eq!(changed.len(), 3);
    let g = &units["g"];
    let app = g.rules.iter().find(|r| r.rule_id == "APP-1").unwrap();
    assert_eq!(app.end_date, Some(day("2010-01-01")));
    assert_eq!(app.paths, vec![vec!["g".to_owned(), "c".into(), "r".into()]]);
    let analysis = super::analyse_units("t", &units, &HashMap::new(), day("2018-01-01"));
    assert_eq!(analysis.destroy, 3);

    let hold = Change::Add {
        rule_id: "HOL-1".into(),
        start_date: Some(day("2017-01-01")),
        final_action: None,
        hold: Some(crate::model::HoldAttributes {
            hold_reason: Some("Contentieux".into()),
            ..Default::default()
        }),
    };
    apply(units.get_mut("c").unwrap(), &hold, &refs).unwrap();
    super::reinherit::reinherit(&mut units, &["c".into()]).unwrap();
    assert!(units["g"].rules.iter().any(|r| r.rule_id == "HOL-1" && r.inherited));
    let analysis = super::analyse_units("t", &units, &HashMap::new(), day("2018-01-01"));
    assert_eq!((analysis.destroy, analysis.conflict), (0, 3), "{:#?}", analysis.units);

    apply(
        units.get_mut("c").unwrap(),
        &Change::Remove {
            rule_id: "HOL-1".into(),
        },
        &refs,
    )
    .unwrap();
    super::reinherit::reinherit(&mut units, &["c".into()]).unwrap();
    assert!(!units["g"].rules.iter().any(|r| r.rule_id == "HOL-1"));
    assert_eq!(
        super::analyse_units("t", &units, &HashMap::new(), day("2018-01-01")).destroy,
        3
    );
}

#[test]
fn changes_are_checked_against_the_referential() {
    let refs = referential();
    let mut u = unit("u", Some("sp1"), &[], vec![], vec![]);
    let add = |id: &str| Change::Add {
        rule_id: id.into(),
        start_date: Some(day("2000-01-01")),
        final_action: None,
        hold: None,
    };
    assert!(apply(&mut u, &add("NOPE"), &refs)
        .unwrap_err()
        .contains("not in the tenant's rules referential"));
    apply(&mut u, &add("APP-1"), &refs).unwrap();
    assert!(apply(&mut u, &add("APP-1"), &refs)
        .unwrap_err()
        .contains("already declares"));
    let to_access = Change::Update {
        rule_id: "APP-1".into(),
        new_rule_id: Some("ACC-1".into()),
        start_date: None,
        final_action: None,
    };
    assert!(apply(&mut u, &to_access, &refs)
        .unwrap_err()
        .contains("one of its category"));
    let later = Change::Update {
        rule_id: "APP-1".into(),
        new_rule_id: Some("APP-2".into()),
        start_date: Some(day("2020-06-01")),
        final_action: Some("Keep".into()),
    };
    apply(&mut u, &later, &refs).unwrap();
    assert_eq!(u.own_rules[0].rule_id, "APP-2");
    assert_eq!(u.own_rules[0].end_date, Some(day("2025-06-01")));
    assert_eq!(u.categories[0].properties["FinalAction"], "Keep");
    let bad_action = Change::Update {
        rule_id: "APP-2".into(),
        new_rule_id: None,
        start_date: None,
        final_action: Some("Burn".into()),
    };
    assert!(apply(&mut u, &bad_action, &refs).is_err());
    assert!(apply(
        &mut u,
        &Change::Remove {
            rule_id: "ACC-1".into()
        },
        &refs
    )
    .is_err());
}

/// A deletion closing a restitution or transfer out of `ids`, already approved.
fn leaving(ids: &[&str]) -> super::proposal::Proposal {
    let units: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"unit_id": id, "sip_id": id, "title": id, "aip_id": "a", "transfer_id": "tr",
                         "objects": 0, "bytes": 0, "decision": "approved"})
        })
        .collect();
    serde_json::from_value(json!({
        "id": "REST-1-DEL", "kind": "restitution", "tenant": "t", "status": "approved", "created_by": "x",
        "created_at": "2026-01-01T00:00:00Z", "at": "2026-01-01", "control_authority": "sp1",
        "seda_version": "2.2", "units": units, "request": {"message_identifier": "m", "key": "k"},
    }))
    .unwrap()
}

#[test]
fn leaving_units_stay_for_a_hold_or_a_communication_and_keep_their_parents() {
    let hold = json!({"category": "HoldRule", "rule_id": "HOL-1", "start_date": "2025-01-01", "end_date": null,
                      "inherited": false, "unit_ids": ["c2"], "sip_unit_ids": ["c2"]});
    let units: HashMap<String, UnitRecord> = [
        unit("r", Some("sp1"), &[], vec![], vec![]),
        unit("c1", Some("sp1"), &["r"], vec![], vec![]),
        unit("c2", Some("sp1"), &["r"], vec![hold], vec![]),
        unit("c3", Some("sp1"), &["r"], vec![], vec![]),
    ]
    .into_iter()
    .map(|u| (u.id.clone(), u))
    .collect();
    let communications: HashMap<String, Vec<String>> = [("c3".to_owned(), vec!["DEL-1".to_owned()])].into();
    let mut p = leaving(&["r", "c1", "c2", "c3", "gone"]);
    let chosen = super::outgoing::choose_leaving(&units, &communications, day("2026-06-01"), &mut p);
    assert_eq!(chosen, ["c1"]);
    let outcome = |id: &str| {
        p.units
            .iter()
            .find(|u| u.unit_id == id)
            .unwrap()
            .outcome
            .clone()
            .unwrap_or_default()
    };
    assert!(outcome("c2").contains("legal hold HOL-1"), "{}", outcome("c2"));
    assert!(outcome("c3").contains("open communication DEL-1"), "{}", outcome("c3"));
    assert!(outcome("r").starts_with("kept: its child unit"), "{}", outcome("r"));
    assert_eq!(outcome("gone"), "no longer in the catalog");
    // The communication closed: c3 goes too; c2 is still held, so r stays for it.
    let mut p = leaving(&["r", "c1", "c2", "c3"]);
    let chosen = super::outgoing::choose_leaving(&units, &HashMap::new(), day("2026-06-01"), &mut p);
    assert_eq!(chosen, ["c1", "c3"]);
    // Without the hold, the whole tree leaves.
    let mut free = units.clone();
    free.insert("c2".into(), unit("c2", Some("sp1"), &["r"], vec![], vec![]));
    let mut p = leaving(&["r", "c1", "c2", "c3"]);
    let chosen = super::outgoing::choose_leaving(&free, &HashMap::new(), day("2026-06-01"), &mut p);
    assert_eq!(chosen, ["r", "c1", "c2", "c3"]);
}
