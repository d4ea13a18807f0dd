//! Acceptance cases: what Vitam documents of the rules it computes, on units written out by
//! hand (not Vitam's files). Each case cites the statement it checks, from Vitam's developer
//! documentation of management rules (the page on rules and the DSL, "Structure des règles de
//! gestion et héritage", "Les métadonnées de catégories", and its `GET /unitsWithInheritedRules`
//! output: per rule `UnitId`, `Paths` from the unit up to that origin, `StartDate`, `EndDate`;
//! per category `Properties` with the same origin and paths).

use std::collections::HashMap;

use archipel_seda::manifest::{
    ClassificationFields, HoldFields, Management, Rule as SedaRule, RuleBlock, RuleCategory,
};
use chrono::NaiveDate;

use super::units::{compute, UnitInput, UnitRules};
use crate::model::{Measurement, NoDuration, Rule};

fn referential() -> HashMap<String, Rule> {
    let rule = |id: &str, t: &str, duration: Option<u32>, m: Measurement| Rule {
        id: id.into(),
        rule_type: t.into(),
        value: id.into(),
        description: String::new(),
        duration,
        measurement: m,
        no_duration: NoDuration::Unlimited,
        version: 1,
    };
    [
        rule("ACC-00003", "AccessRule", Some(25), Measurement::Year),
        rule("ACC-00004", "AccessRule", Some(50), Measurement::Year),
        rule("ACC-00005", "AccessRule", Some(75), Measurement::Year),
        rule("STO-00001", "StorageRule", Some(1), Measurement::Year),
        rule("DIS-00001", "DisseminationRule", Some(25), Measurement::Year),
        rule("APP-M1", "AppraisalRule", Some(1), Measurement::Month),
        rule("APP-D10", "AppraisalRule", Some(10), Measurement::Day),
        rule("APP-Y1", "AppraisalRule", Some(1), Measurement::Year),
    ]
    .into_iter()
    .map(|r| (r.id.clone(), r))
    .collect()
}

fn block(category: RuleCategory, rules: &[(&str, &str)], final_action: Option<&str>) -> RuleBlock {
    RuleBlock {
        category,
        rules: rules
            .iter()
            .map(|(id, start)| SedaRule {
                rule_id: (*id).into(),
                start_date: Some((*start).into()),
                other: Default::default(),
                hold: HoldFields::default(),
                line: 3,
            })
            .collect(),
        prevent_inheritance: None,
        ref_non_rule_ids: Vec::new(),
        final_action: final_action.map(Into::into),
        other: Default::default(),
        classification: ClassificationFields::default(),
        line: 2,
    }
}

fn mgmt(blocks: Vec<RuleBlock>) -> Option<Management> {
    Some(Management {
        rules: blocks,
        need_authorization: None,
        other: Default::default(),
    })
}

/// (id, parents, management), parents first.
fn run(units: &[(&str, &[usize], Option<Management>)]) -> Vec<UnitRules> {
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
    compute(&inputs, &[], None, &referential(), false)
        .unwrap_or_else(|e| panic!("{:?}", e.iter().map(|r| &r.message).collect::<Vec<_>>()))
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// (rule, end, origin, paths) of one rule in force.
type InForce = (String, Option<NaiveDate>, Vec<String>, Vec<Vec<String>>);

/// A unit's rules in force in `category`, sorted.
fn in_force(u: &UnitRules, category: &str) -> Vec<InForce> {
    let mut v: Vec<_> = u
        .rules
        .iter()
        .filter(|r| r.category == category)
        .map(|r| (r.rule_id.clone(), r.end_date, r.unit_ids.clone(), r.paths.clone()))
        .collect();
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// "Botzaris a une règle ACC-00003 qui s'étend du 1er janvier 2002 au 1er janvier 2027" (25
/// years); "Buttes-Chaumont", below it, has no rule of its own ("seules les règles enregistrées
/// sont retournées") and, with inheritance computed, ACC-00003 with Botzaris as `UnitId` and the
/// path from itself up to Botzaris.
#[test]
fn a_child_without_rules_inherits_its_parents_with_origin_path_and_end_date() {
    let out = run(&[
        (
            "BOTZARIS",
            &[],
            mgmt(vec![block(RuleCategory::Access, &[("ACC-00003", "2002-01-01")], None)]),
        ),
        ("BUTTES", &[0], None),
    ]);
    assert_eq!(
        in_force(&out[0], "AccessRule"),
        [(
            "ACC-00003".into(),
            Some(day("2027-01-01")),
            strings(&["BOTZARIS"]),
            vec![strings(&["BOTZARIS"])]
        )]
    );
    assert!(out[1].own_rules.is_empty());
    assert_eq!(
        in_force(&out[1], "AccessRule"),
        [(
            "ACC-00003".into(),
            Some(day("2027-01-01")),
            strings(&["BOTZARIS"]),
            vec![strings(&["BUTTES", "BOTZARIS"])]
        )]
    );
    assert!(out[1].rules[0].inherited);
}

/// The DisseminationRule example: one rule reached along two paths is one entry, with one
/// `UnitId` and both `Paths`, each starting at the unit and ending at the origin.
#[test]
fn a_rule_reached_by_two_paths_is_one_entry_with_both_paths() {
    let out = run(&[
        (
            "ORIGIN",
            &[],
            mgmt(vec![block(
                RuleCategory::Dissemination,
                &[("DIS-00001", "2000-01-01")],
                None,
            )]),
        ),
        ("LEFT", &[0], None),
        ("RIGHT", &[0], None),
        ("MID", &[1, 2], None),
        ("UNIT", &[3], None),
    ]);
    assert_eq!(
        in_force(&out[4], "DisseminationRule"),
        [(
            "DIS-00001".into(),
            Some(day("2025-01-01")),
            strings(&["ORIGIN"]),
            vec![
                strings(&["UNIT", "MID", "LEFT", "ORIGIN"]),
                strings(&["UNIT", "MID", "RIGHT", "ORIGIN"])
            ]
        )]
    );
}

/// "Les propriétés des règles sont également héritées": StorageRule's `FinalAction` `Copy` on
/// "Eglise de Pantin" reaches its children as a property with `UnitId` and `Paths`.
#[test]
fn category_properties_are_inherited_with_their_origin() {
    let out = run(&[
        (
            "PANTIN",
            &[],
            mgmt(vec![block(
                RuleCategory::Storage,
                &[("STO-00001", "2000-01-01")],
                Some("Copy"),
            )]),
        ),
        ("CHILD", &[0], None),
    ]);
    let p: Vec<_> = out[1]
        .properties
        .iter()
        .filter(|p| p.category.as_deref() == Some("StorageRule") && p.name == "FinalAction")
        .collect();
    assert_eq!(p.len(), 1, "{:#?}", out[1].properties);
    assert_eq!(p[0].value, serde_json::json!("Copy"));
    assert_eq!(p[0].unit_ids, ["PANTIN"]);
    assert_eq!(p[0].paths, [strings(&["CHILD", "PANTIN"])]);
    assert_eq!(
        in_force(&out[1], "StorageRule")[0].1,
        Some(day("2001-01-01")),
        "STO-00001 from 2000-01-01 ends 2001-01-01, as in the example"
    );
}

/// "PreventInheritance … toutes les AU sous celle-ci n'hériteront pas des règles et des
/// propriétés de la catégorie": below a unit stopping StorageRule, neither the rule nor the
/// FinalAction from above arrives; its own FinalAction does, and other categories pass.
#[test]
fn prevent_inheritance_stops_rules_and_properties_of_its_category_only() {
    let mut stop = block(RuleCategory::Storage, &[], Some("Transfer"));
    stop.prevent_inheritance = Some(true);
    let out = run(&[
        (
            "TOP",
            &[],
            mgmt(vec![
                block(RuleCategory::Storage, &[("STO-00001", "2000-01-01")], Some("Copy")),
                block(RuleCategory::Access, &[("ACC-00003", "2000-01-01")], None),
            ]),
        ),
        ("STOP", &[0], mgmt(vec![stop])),
        ("BELOW", &[1], None),
    ]);
    assert!(in_force(&out[2], "StorageRule").is_empty());
    let finals: Vec<_> = out[2]
        .properties
        .iter()
        .filter(|p| p.name == "FinalAction" && p.category.as_deref() == Some("StorageRule"))
        .map(|p| (p.value.clone(), p.unit_ids.clone()))
        .collect();
    assert_eq!(finals, [(serde_json::json!("Transfer"), strings(&["STOP"]))]);
    assert_eq!(
        in_force(&out[2], "AccessRule")[0].2,
        strings(&["TOP"]),
        "AccessRule is not stopped"
    );
}

/// "cette AU ne doit pas hériter ni de la règle ACC-00004, ni de ACC-00005" (PreventRulesId,
/// SEDA's RefNonRuleId): those two stop, ACC-00003 from the same parent still arrives.
#[test]
fn ref_non_rule_id_stops_the_named_rules_only() {
    let mut refuse = block(RuleCategory::Access, &[], None);
    refuse.ref_non_rule_ids = strings(&["ACC-00004", "ACC-00005"]);
    let out = run(&[
        (
            "PARENT",
            &[],
            mgmt(vec![block(
                RuleCategory::Access,
                &[
                    ("ACC-00003", "2002-01-01"),
                    ("ACC-00004", "2002-01-01"),
                    ("ACC-00005", "2002-01-01"),
                ],
                None,
            )]),
        ),
        ("BOTZARIS", &[0], mgmt(vec![refuse])),
    ]);
    let ids: Vec<String> = in_force(&out[1], "AccessRule").into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["ACC-00003"]);
}

/// "La nouvelle date de fin (EndDate) qui correspond à la date de début + la durée de la règle":
/// Vitam adds the duration as a calendar does (Java's `LocalDate.plusYears/plusMonths/plusDays`),
/// so a day that the target month lacks becomes that month's last day.
#[test]
fn end_dates_add_the_duration_on_the_calendar() {
    let out = run(&[(
        "LEAP",
        &[],
        mgmt(vec![block(
            RuleCategory::Appraisal,
            &[
                ("APP-Y1", "2020-02-29"),
                ("APP-M1", "2021-01-31"),
                ("APP-D10", "2020-12-25"),
            ],
            Some("Destroy"),
        )]),
    )]);
    let ends: Vec<(String, Option<NaiveDate>)> = in_force(&out[0], "AppraisalRule")
        .into_iter()
        .map(|r| (r.0, r.1))
        .collect();
    assert_eq!(
        ends,
        [
            ("APP-D10".to_owned(), Some(day("2021-01-04"))),
            ("APP-M1".to_owned(), Some(day("2021-02-28"))),
            ("APP-Y1".to_owned(), Some(day("2021-02-28"))),
        ]
    );
}
