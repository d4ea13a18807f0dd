//! Scenario tests of rule checking, ManagementMetadata and inheritance, on small DAGs written
//! out by hand with what Vitam computes for them.

use std::collections::HashMap;

use archipel_seda::manifest::{
    ClassificationFields, HoldFields, Management, Rule as SedaRule, RuleBlock, RuleCategory,
};
use chrono::NaiveDate;

use super::units::{compute, UnitInput, UnitRules};
use crate::model::{AppliedRule, EndKind, Measurement, NoDuration, Rule};

fn referential() -> HashMap<String, Rule> {
    let rule = |id: &str, t: &str, duration: Option<u32>, no: NoDuration| Rule {
        id: id.into(),
        rule_type: t.into(),
        value: id.into(),
        description: String::new(),
        duration,
        measurement: Measurement::Year,
        no_duration: no,
        version: 1,
    };
    [
        rule("ACC-1", "AccessRule", Some(25), NoDuration::Unlimited),
        rule("ACC-2", "AccessRule", Some(50), NoDuration::Unlimited),
        rule("APP-1", "AppraisalRule", Some(10), NoDuration::Unlimited),
        rule("APP-2", "AppraisalRule", Some(5), NoDuration::Unlimited),
        rule("STO-INF", "StorageRule", None, NoDuration::Unlimited),
        rule("HOL-1", "HoldRule", None, NoDuration::Undefined),
        rule("HOL-5", "HoldRule", Some(5), NoDuration::Unlimited),
        rule("CLA-1", "ClassificationRule", Some(10), NoDuration::Unlimited),
    ]
    .into_iter()
    .map(|r| (r.id.clone(), r))
    .collect()
}

fn rule(id: &str, start: Option<&str>) -> SedaRule {
    SedaRule {
        rule_id: id.into(),
        start_date: start.map(Into::into),
        other: Default::default(),
        hold: HoldFields::default(),
        line: 7,
    }
}

fn block(category: RuleCategory, rules: Vec<SedaRule>, final_action: Option<&str>) -> RuleBlock {
    RuleBlock {
        category,
        rules,
        prevent_inheritance: None,
        ref_non_rule_ids: Vec::new(),
        final_action: final_action.map(Into::into),
        other: Default::default(),
        classification: ClassificationFields::default(),
        line: 5,
    }
}

fn mgmt(blocks: Vec<RuleBlock>) -> Option<Management> {
    Some(Management {
        rules: blocks,
        need_authorization: None,
        other: Default::default(),
    })
}

/// (sip id, parents, management) in parent-first order.
fn run(units: &[(&str, &[usize], Option<Management>)], mm: Option<Management>) -> Result<Vec<UnitRules>, String> {
    let inputs: Vec<UnitInput> = units
        .iter()
        .map(|(id, parents, m)| UnitInput {
            sip_id: id,
            system_id: id,
            parents: parents.to_vec(),
            management: m.as_ref(),
            attached_to: Vec::new(),
        })
        .collect();
    compute(&inputs, &[], mm.as_ref(), &referential(), true)
        .map_err(|e| e.into_iter().map(|r| r.message).collect::<Vec<_>>().join("\n"))
}

fn find<'a>(u: &'a UnitRules, id: &str) -> Vec<&'a AppliedRule> {
    u.rules.iter().filter(|r| r.rule_id == id).collect()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn diamond_inherits_once_with_both_paths() {
    let access = |start| {
        mgmt(vec![block(
            RuleCategory::Access,
            vec![rule("ACC-1", Some(start))],
            None,
        )])
    };
    let out = run(
        &[
            ("A", &[], access("2000-01-01")),
            ("B", &[0], None),
            ("C", &[0], None),
            ("D", &[1, 2], None),
        ],
        None,
    )
    .unwrap();
    let d = find(&out[3], "ACC-1");
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].unit_ids, ["A"]);
    assert_eq!(d[0].paths, [vec!["D", "B", "A"], vec!["D", "C", "A"]]);
    assert_eq!(d[0].end_date, Some(day("2025-01-01")));
    assert_eq!(d[0].end_kind, Some(EndKind::Computed));
    assert!(d[0].inherited);
    assert!(out[3].own_rules.is_empty());
}

#[test]
fn several_parents_bring_their_own_rules_and_final_actions() {
    let out = run(
        &[
            (
                "P1",
                &[],
                mgmt(vec![block(
                    RuleCategory::Appraisal,
                    vec![rule("APP-1", Some("2020-01-01"))],
                    Some("Destroy"),
                )]),
            ),
            (
                "P2",
                &[],
                mgmt(vec![block(
                    RuleCategory::Appraisal,
                    vec![rule("APP-2", Some("2021-06-30"))],
                    Some("Keep"),
                )]),
            ),
            ("X", &[0, 1], None),
        ],
        None,
    )
    .unwrap();
    let x = &out[2];
    let app1 = find(x, "APP-1");
    let app2 = find(x, "APP-2");
    assert_eq!(
        (app1[0].unit_ids.as_slice(), app1[0].final_action.as_deref()),
        (&["P1".to_owned()][..], Some("Destroy"))
    );
    assert_eq!(
        (app2[0].unit_ids.as_slice(), app2[0].final_action.as_deref()),
        (&["P2".to_owned()][..], Some("Keep"))
    );
    assert_eq!(app2[0].end_date, Some(day("2026-06-30")));
    // Both FinalActions reach X, each from its origin; no implicit Keep is added.
    let fas: Vec<_> = x.properties.iter().filter(|p| p.name == "FinalAction").collect();
    assert_eq!(fas.len(), 2);
    assert!(fas.iter().all(|p| !p.implicit));
}

#[test]
fn same_rule_from_two_origins_is_two_entries() {
    let access = |start| {
        mgmt(vec![block(
            RuleCategory::Access,
            vec![rule("ACC-1", Some(start))],
            None,
        )])
    };
    let out = run(
        &[
            ("A", &[], access("2000-01-01")),
            ("B", &[], access("2010-01-01")),
            ("C", &[0, 1], None),
        ],
        None,
    )
    .unwrap();
    let c = find(&out[2], "ACC-1");
    assert_eq!(c.len(), 2);
    let ends: Vec<_> = c.iter().map(|r| (r.unit_ids[0].as_str(), r.end_date)).collect();
    assert_eq!(ends, [("A", Some(day("2025-01-01"))), ("B", Some(day("2035-01-01")))]);
}

#[test]
fn prevent_inheritance_ref_non_rule_id_and_override() {
    let parent = mgmt(vec![
        block(
            RuleCategory::Access,
            vec![rule("ACC-1", Some("2000-01-01")), rule("ACC-2", Some("2000-01-01"))],
            None,
        ),
        block(
            RuleCategory::Appraisal,
            vec![rule("APP-1", Some("2000-01-01"))],
            Some("Keep"),
        ),
    ]);
    let mut stop = block(RuleCategory::Access, vec![], None);
    stop.prevent_inheritance = Some(true);
    let mut refuse = block(RuleCategory::Access, vec![], None);
    refuse.ref_non_rule_ids = vec!["ACC-2".into()];
    let own = block(RuleCategory::Access, vec![rule("ACC-1", Some("2010-05-05"))], None);
    let out = run(
        &[
            ("P", &[], parent),
            ("STOP", &[0], mgmt(vec![stop])),
            ("REFUSE", &[0], mgmt(vec![refuse])),
            ("OWN", &[0], mgmt(vec![own])),
            ("BELOW", &[1], None),
        ],
        None,
    )
    .unwrap();
    let ids = |u: &UnitRules, c: &str| -> Vec<String> {
        u.rules
            .iter()
            .filter(|r| r.category == c)
            .map(|r| r.rule_id.clone())
            .collect()
    };
    assert!(ids(&out[1], "AccessRule").is_empty());
    assert_eq!(
        ids(&out[1], "AppraisalRule"),
        ["APP-1"],
        "PreventInheritance stops only its category"
    );
    assert!(
        ids(&out[4], "AccessRule").is_empty(),
        "nor does anything reach below it"
    );
    assert_eq!(ids(&out[2], "AccessRule"), ["ACC-1"]);
    let own = find(&out[3], "ACC-1");
    assert_eq!(own.len(), 1);
    assert_eq!((own[0].unit_ids[0].as_str(), own[0].inherited), ("OWN", false));
    assert_eq!(own[0].end_date, Some(day("2035-05-05")));
    assert!(out[1].categories[0].prevent_inheritance);
}

#[test]
fn management_metadata_is_merged_into_roots_as_own_rules() {
    let mm = mgmt(vec![
        block(
            RuleCategory::Appraisal,
            vec![rule("APP-1", Some("2001-01-01"))],
            Some("Destroy"),
        ),
        block(RuleCategory::Access, vec![rule("ACC-1", Some("2001-01-01"))], None),
    ]);
    let mut blocked = block(RuleCategory::Access, vec![], None);
    blocked.prevent_inheritance = Some(true);
    let out = run(
        &[
            ("R1", &[], None),
            (
                "R2",
                &[],
                mgmt(vec![
                    blocked,
                    block(
                        RuleCategory::Appraisal,
                        vec![rule("APP-1", Some("2015-01-01"))],
                        Some("Keep"),
                    ),
                ]),
            ),
            ("CHILD", &[0], None),
        ],
        mm,
    )
    .unwrap();
    let r1 = &out[0];
    assert_eq!(r1.own_rules.len(), 2, "{:#?}", r1.own_rules);
    assert!(r1.rules.iter().all(|r| !r.inherited && r.unit_ids == ["R1"]));
    assert_eq!(find(r1, "APP-1")[0].final_action.as_deref(), Some("Destroy"));
    // R2 declares APP-1 itself (its own wins, FinalAction too) and stops AccessRule.
    let r2 = &out[1];
    assert_eq!(find(r2, "APP-1")[0].start_date, Some(day("2015-01-01")));
    assert_eq!(find(r2, "APP-1")[0].final_action.as_deref(), Some("Keep"));
    assert!(find(r2, "ACC-1").is_empty());
    // A child inherits them from its root, not from ManagementMetadata.
    let child = find(&out[2], "APP-1");
    assert_eq!((child[0].unit_ids[0].as_str(), child[0].inherited), ("R1", true));
}

#[test]
fn end_kinds_and_hold_rules() {
    let mut hold_until = rule("HOL-1", Some("2020-01-01"));
    hold_until.hold = HoldFields {
        end_date: Some("2024-12-31".into()),
        owner: Some("Tribunal".into()),
        reason: Some("Contentieux".into()),
        reassessing_date: Some("2022-01-01".into()),
        prevent_rearrangement: Some("true".into()),
    };
    let out = run(
        &[(
            "U",
            &[],
            mgmt(vec![
                block(RuleCategory::Hold, vec![hold_until], None),
                block(RuleCategory::Access, vec![rule("ACC-1", None)], None),
                block(
                    RuleCategory::Storage,
                    vec![rule("STO-INF", Some("2020-01-01"))],
                    Some("Copy"),
                ),
            ]),
        )],
        None,
    )
    .unwrap();
    let u = &out[0];
    let hold = find(u, "HOL-1")[0];
    assert_eq!(
        (hold.end_date, hold.end_kind),
        (Some(day("2024-12-31")), Some(EndKind::HoldEndDate))
    );
    let attrs = hold.hold.as_ref().unwrap();
    assert_eq!(attrs.hold_owner.as_deref(), Some("Tribunal"));
    assert_eq!(attrs.prevent_rearrangement, Some(true));
    assert_eq!(attrs.hold_reassessing_date, Some(day("2022-01-01")));
    assert_eq!(find(u, "ACC-1")[0].end_kind, Some(EndKind::Unknown));
    assert_eq!(find(u, "STO-INF")[0].end_kind, Some(EndKind::Unlimited));
    assert_eq!(find(u, "STO-INF")[0].end_date, None);

    let indefinite = run(
        &[(
            "U",
            &[],
            mgmt(vec![block(RuleCategory::Hold, vec![rule("HOL-1", None)], None)]),
        )],
        None,
    )
    .unwrap();
    assert_eq!(find(&indefinite[0], "HOL-1")[0].end_kind, Some(EndKind::Indefinite));
}

#[test]
fn bad_rules_are_ko_naming_unit_and_element() {
    let mut with_duration = rule("HOL-5", Some("2020-01-01"));
    with_duration.hold.end_date = Some("2021-01-01".into());
    let mut before_start = rule("HOL-1", Some("2020-01-01"));
    before_start.hold.end_date = Some("2019-01-01".into());
    let e = run(
        &[(
            "U9",
            &[],
            mgmt(vec![
                block(
                    RuleCategory::Access,
                    vec![rule("ACC-1", Some("2020-02-30")), rule("ACC-2", Some("1/1/2020"))],
                    None,
                ),
                block(RuleCategory::Appraisal, vec![rule("APP-1", None)], None),
                block(RuleCategory::Storage, vec![rule("STO-INF", None)], Some("Destroy")),
                block(RuleCategory::Reuse, vec![], Some("Keep")),
                block(RuleCategory::Hold, vec![with_duration, before_start], None),
            ]),
        )],
        None,
    )
    .unwrap_err();
    for expected in [
        "ArchiveUnit U9, AccessRule/Rule[ACC-1]/StartDate (line 7): `2020-02-30` is not a date",
        "ArchiveUnit U9, AccessRule/Rule[ACC-2]/StartDate (line 7): `1/1/2020` is not a date",
        "ArchiveUnit U9, AppraisalRule/FinalAction (line 5): SEDA requires a FinalAction in AppraisalRule: add one of Keep, Destroy",
        "`Destroy` is not a FinalAction of StorageRule; use one of RestrictAccess, Transfer, Copy",
        "ReuseRule has no FinalAction in SEDA",
        "HoldRule/Rule[HOL-5]/HoldEndDate (line 7): rule `HOL-5` has a duration",
        "HoldRule/Rule[HOL-1] (line 7): its end (2019-01-01) comes before its StartDate (2020-01-01)",
    ] {
        assert!(e.contains(expected), "missing {expected:?} in:\n{e}");
    }
}

#[test]
fn a_rule_repeated_with_other_dates_is_ko_and_identical_is_one() {
    let twice = |a, b| {
        mgmt(vec![block(
            RuleCategory::Access,
            vec![rule("ACC-1", Some(a)), rule("ACC-1", Some(b))],
            None,
        )])
    };
    let e = run(&[("U", &[], twice("2020-01-01", "2021-01-01"))], None).unwrap_err();
    assert!(e.contains("rule `ACC-1` is given twice with different dates"), "{e}");
    let ok = run(&[("U", &[], twice("2020-01-01", "2020-01-01"))], None).unwrap();
    assert_eq!(ok[0].own_rules.len(), 1);
}

#[test]
fn unknown_or_miscategorised_rules_are_ko() {
    let e = run(
        &[(
            "U",
            &[],
            mgmt(vec![block(
                RuleCategory::Access,
                vec![rule("APP-1", None), rule("NOPE", None)],
                None,
            )]),
        )],
        None,
    )
    .unwrap_err();
    assert!(
        e.contains("rule `APP-1` is a AppraisalRule in the referential, not a AccessRule"),
        "{e}"
    );
    assert!(
        e.contains("rule `NOPE` is not in the tenant's rules referential"),
        "{e}"
    );
}

#[test]
fn implicit_keep_and_need_authorization() {
    let mut m = mgmt(vec![]).unwrap();
    m.need_authorization = Some(true);
    let mut child_m = mgmt(vec![]).unwrap();
    child_m.need_authorization = Some(false);
    let out = run(
        &[("R", &[], Some(m)), ("C", &[0], None), ("D", &[1], Some(child_m))],
        None,
    )
    .unwrap();
    let keep = out[1].properties.iter().find(|p| p.name == "FinalAction").unwrap();
    assert!(keep.implicit && keep.unit_ids == ["R"], "{keep:#?}");
    let need = |u: &UnitRules| {
        u.properties
            .iter()
            .filter(|p| p.name == "NeedAuthorization")
            .map(|p| (p.value.clone(), p.unit_ids[0].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(need(&out[1]), [(serde_json::json!(true), "R".to_owned())]);
    assert_eq!(need(&out[2]), [(serde_json::json!(false), "D".to_owned())]);
}

#[test]
fn classification_attributes_are_category_properties() {
    let mut b = block(
        RuleCategory::Classification,
        vec![rule("CLA-1", Some("2020-01-01"))],
        None,
    );
    b.classification = ClassificationFields {
        audience: Some("Interne".into()),
        level: Some("Secret Défense".into()),
        owner: Some("Préfecture".into()),
        reassessing_date: Some("2025-01-01".into()),
        need_reassessing_authorization: Some("true".into()),
    };
    let out = run(&[("R", &[], mgmt(vec![b])), ("C", &[0], None)], None).unwrap();
    let names: Vec<_> = out[1]
        .properties
        .iter()
        .filter(|p| p.category.as_deref() == Some("ClassificationRule"))
        .map(|p| (p.name.as_str(), p.value.clone(), p.unit_ids[0].as_str()))
        .collect();
    assert!(
        names.contains(&("ClassificationLevel", serde_json::json!("Secret Défense"), "R")),
        "{names:?}"
    );
    assert!(
        names.contains(&("NeedReassessingAuthorization", serde_json::json!(true), "R")),
        "{names:?}"
    );
    assert!(
        names.contains(&("ClassificationReassessingDate", serde_json::json!("2025-01-01"), "R")),
        "{names:?}"
    );
}

/// An archived unit as the catalog keeps it: X (archived) holds ACC-1 from its parent P and its
/// own APP-1.
fn archived() -> crate::model::UnitRecord {
    let rule = |id: &str, cat: &str, origin: &str, paths: serde_json::Value| {
        serde_json::json!({"category": cat, "rule_id": id, "start_date": "2000-01-01", "end_date": "2025-01-01",
            "end_kind": "computed", "inherited": origin != "x", "unit_ids": [origin], "sip_unit_ids": [origin.to_uppercase()],
            "paths": paths})
    };
    serde_json::from_value(serde_json::json!({
        "id": "x", "sip_id": "X", "tenant": "t", "aip_id": "a", "transfer_id": "tr", "parent_id": "p", "flow": null,
        "agreement": null, "title": "X", "description": null, "level": null, "start_date": null, "end_date": null,
        "originating_agency": null, "keywords": [], "objects": [], "content": null, "ingested_at": "2026-01-01T00:00:00Z",
        "rules": [rule("ACC-1", "AccessRule", "p", serde_json::json!([["x", "p"]])), rule("APP-1", "AppraisalRule", "x", serde_json::json!([["x"]]))],
        "properties": [{"category": "AppraisalRule", "name": "FinalAction", "value": "Destroy", "unit_ids": ["x"], "sip_unit_ids": ["X"], "paths": [["x"]]}],
    }))
    .unwrap()
}

#[test]
fn a_unit_attached_to_an_archived_one_inherits_what_is_in_force_there() {
    let x = archived();
    let mut refuse = block(RuleCategory::Access, vec![], None);
    refuse.ref_non_rule_ids = vec!["ACC-1".into()];
    let units = [
        UnitInput {
            sip_id: "N",
            system_id: "n",
            parents: vec![],
            management: None,
            attached_to: vec![0],
        },
        UnitInput {
            sip_id: "M",
            system_id: "m",
            parents: vec![0],
            management: None,
            attached_to: vec![],
        },
    ];
    let refusing = mgmt(vec![refuse]);
    let with_refusal = [UnitInput {
        sip_id: "R",
        system_id: "r",
        parents: vec![],
        management: refusing.as_ref(),
        attached_to: vec![0],
    }];
    let out = compute(&units, &[&x], None, &referential(), true).unwrap();
    let m = &out[1];
    let acc = find(m, "ACC-1")[0];
    assert_eq!((acc.unit_ids.as_slice(), acc.inherited), (&["p".to_owned()][..], true));
    assert_eq!(acc.paths, [vec!["m", "n", "x", "p"]]);
    let app = find(m, "APP-1")[0];
    assert_eq!(app.unit_ids, ["x"]);
    assert_eq!(app.paths, [vec!["m", "n", "x"]]);
    let fa = m.properties.iter().find(|p| p.name == "FinalAction").unwrap();
    assert_eq!((fa.value.as_str(), fa.implicit), (Some("Destroy"), false));
    let r = compute(&with_refusal, &[&x], None, &referential(), true).unwrap();
    assert!(find(&r[0], "ACC-1").is_empty());
    assert_eq!(find(&r[0], "APP-1").len(), 1);
}
