//! A unit's own Management, checked against SEDA and the rules referential: each rule with its
//! dates computed. Every problem is collected, naming the unit and the element.

use std::collections::HashMap;

use archipel_seda::manifest::{Rule as SedaRule, RuleBlock, RuleCategory};
use chrono::NaiveDate;
use serde_json::Value;

use super::dates::{xsd_boolean, xsd_date};
use super::inherit::Declared;
use crate::model::{AppliedRule, EndKind, HoldAttributes, NoDuration, Reason, Rule};

/// FinalAction's code list per category, where SEDA requires one (FinalActionAppraisalCodeType,
/// FinalActionStorageCodeType); other categories have none.
pub fn final_actions(category: RuleCategory) -> Option<&'static [&'static str]> {
    match category {
        RuleCategory::Appraisal => Some(&["Keep", "Destroy"]),
        RuleCategory::Storage => Some(&["RestrictAccess", "Transfer", "Copy"]),
        _ => None,
    }
}

/// Collects the problems of one unit (or of ManagementMetadata).
pub struct Problems<'a> {
    pub subject: &'a str,
    pub errors: &'a mut Vec<Reason>,
}

impl Problems<'_> {
    pub fn push(&mut self, element: &str, line: u32, message: String) {
        let at = if line > 0 {
            format!(" (line {line})")
        } else {
            String::new()
        };
        self.errors.push(Reason {
            step: "rules".into(),
            subject: Some(self.subject.to_owned()),
            message: format!("{}, {element}{at}: {message}", self.subject),
        });
    }
}

/// The categories a unit declares, checked, with their rules' dates computed.
pub fn declare(
    blocks: &[RuleBlock],
    referential: &HashMap<String, Rule>,
    problems: &mut Problems,
) -> Vec<Declared<AppliedRule>> {
    let mut out: Vec<Declared<AppliedRule>> = Vec::new();
    for block in blocks {
        let category = block.category;
        let element = category.element();
        if out.iter().any(|d| d.category == category) {
            problems.push(
                &format!("Management/{element}"),
                block.line,
                "the category appears twice; SEDA allows one element per category".into(),
            );
            continue;
        }
        let mut declared = Declared::new(category);
        declared.prevent_inheritance = block.prevent_inheritance;
        declared.ref_non_rule_ids = block.ref_non_rule_ids.clone();
        match (final_actions(category), block.final_action.as_deref()) {
            (Some(codes), Some(fa)) if codes.contains(&fa) => {
                declared
                    .properties
                    .push(("FinalAction".into(), Value::String(fa.into())));
            }
            (Some(codes), Some(fa)) => problems.push(
                &format!("{element}/FinalAction"),
                block.line,
                format!(
                    "`{fa}` is not a FinalAction of {element}; use one of {}",
                    codes.join(", ")
                ),
            ),
            (Some(codes), None) => problems.push(
                &format!("{element}/FinalAction"),
                block.line,
                format!(
                    "SEDA requires a FinalAction in {element}: add one of {}",
                    codes.join(", ")
                ),
            ),
            (None, Some(_)) => problems.push(
                &format!("{element}/FinalAction"),
                block.line,
                format!("{element} has no FinalAction in SEDA; remove it"),
            ),
            (None, None) => {}
        }
        classification(block, &mut declared, problems);
        let final_action = block.final_action.clone();
        for r in &block.rules {
            let Some(mut applied) = rule(category, r, referential, problems) else {
                continue;
            };
            applied.final_action.clone_from(&final_action);
            match declared.rules.iter().find(|(id, _)| id == &r.rule_id) {
                Some((_, same)) if same.start_date == applied.start_date && same.hold == applied.hold => {}
                Some(_) => problems.push(
                    &format!("{element}/Rule"),
                    r.line,
                    format!(
                        "rule `{}` is given twice with different dates or attributes; keep one",
                        r.rule_id
                    ),
                ),
                None => declared.rules.push((r.rule_id.clone(), applied)),
            }
        }
        out.push(declared);
    }
    out
}

fn classification(block: &RuleBlock, declared: &mut Declared<AppliedRule>, problems: &mut Problems) {
    let c = &block.classification;
    let text = [
        ("ClassificationAudience", &c.audience),
        ("ClassificationLevel", &c.level),
        ("ClassificationOwner", &c.owner),
    ];
    for (name, value) in text {
        if let Some(v) = value {
            declared.properties.push((name.into(), Value::String(v.clone())));
        }
    }
    if let Some(v) = &c.reassessing_date {
        match xsd_date(v) {
            Some(d) => declared
                .properties
                .push(("ClassificationReassessingDate".into(), Value::String(d.to_string()))),
            None => problems.push(
                "ClassificationRule/ClassificationReassessingDate",
                block.line,
                format!("`{v}` is not a date: write YYYY-MM-DD"),
            ),
        }
    }
    if let Some(v) = &c.need_reassessing_authorization {
        match xsd_boolean(v) {
            Some(b) => declared
                .properties
                .push(("NeedReassessingAuthorization".into(), Value::Bool(b))),
            None => problems.push(
                "ClassificationRule/NeedReassessingAuthorization",
                block.line,
                format!("`{v}` is not a boolean: write true or false"),
            ),
        }
    }
}

/// One Rule with its dates, or None after reporting why it cannot be applied.
fn rule(
    category: RuleCategory,
    r: &SedaRule,
    referential: &HashMap<String, Rule>,
    problems: &mut Problems,
) -> Option<AppliedRule> {
    let element = category.element();
    let at = format!("{element}/Rule[{}]", r.rule_id);
    let Some(def) = referential.get(&r.rule_id) else {
        problems.push(
            &at,
            r.line,
            format!(
                "rule `{}` is not in the tenant's rules referential; import it first",
                r.rule_id
            ),
        );
        return None;
    };
    if def.rule_type != element {
        problems.push(
            &at,
            r.line,
            format!(
                "rule `{}` is a {} in the referential, not a {element}",
                r.rule_id, def.rule_type
            ),
        );
        return None;
    }
    let mut ok = true;
    let mut date = |name: &str, value: &Option<String>| -> Option<NaiveDate> {
        let v = value.as_deref()?;
        let parsed = xsd_date(v);
        if parsed.is_none() {
            ok = false;
            problems.push(
                &format!("{at}/{name}"),
                r.line,
                format!("`{v}` is not a date: write YYYY-MM-DD"),
            );
        }
        parsed
    };
    let start = date("StartDate", &r.start_date);
    let hold_end = date("HoldEndDate", &r.hold.end_date);
    let reassessing = date("HoldReassessingDate", &r.hold.reassessing_date);
    let prevent_rearrangement = match r.hold.prevent_rearrangement.as_deref() {
        None => None,
        Some(v) => {
            let b = xsd_boolean(v);
            if b.is_none() {
                ok = false;
                problems.push(
                    &format!("{at}/PreventRearrangement"),
                    r.line,
                    format!("`{v}` is not a boolean: write true or false"),
                );
            }
            b
        }
    };
    if !ok {
        return None;
    }
    let (end_date, end_kind) = end(def, start, hold_end);
    let undefined = def.duration.is_none() && def.no_duration == NoDuration::Undefined;
    if hold_end.is_some() && !undefined {
        problems.push(
            &format!("{at}/HoldEndDate"),
            r.line,
            format!(
                "rule `{}` has a duration (or is unlimited) in the referential, so HoldEndDate is not allowed: remove it",
                r.rule_id
            ),
        );
        return None;
    }
    if let (Some(s), Some(e)) = (start, end_date) {
        if e < s {
            problems.push(&at, r.line, format!("its end ({e}) comes before its StartDate ({s})"));
            return None;
        }
    }
    let hold = (category == RuleCategory::Hold).then(|| HoldAttributes {
        hold_end_date: hold_end,
        hold_owner: r.hold.owner.clone(),
        hold_reason: r.hold.reason.clone(),
        hold_reassessing_date: reassessing,
        prevent_rearrangement,
    });
    Some(AppliedRule {
        category: element.into(),
        rule_id: r.rule_id.clone(),
        start_date: start,
        end_date,
        final_action: None,
        inherited: false,
        end_kind: Some(end_kind),
        unit_ids: Vec::new(),
        sip_unit_ids: Vec::new(),
        paths: Vec::new(),
        paths_truncated: false,
        hold,
    })
}

/// The end of a rule, as Vitam computes it: StartDate plus the referential's duration; for a
/// hold without duration, its HoldEndDate.
pub fn end(def: &Rule, start: Option<NaiveDate>, hold_end: Option<NaiveDate>) -> (Option<NaiveDate>, EndKind) {
    match (def.duration, def.no_duration, start) {
        (Some(_), _, Some(s)) => match def.end_date(s) {
            Some(e) => (Some(e), EndKind::Computed),
            // Beyond chrono's calendar: no representable end.
            None => (None, EndKind::Unlimited),
        },
        (Some(_), _, None) => (None, EndKind::Unknown),
        (None, NoDuration::Unlimited, _) => (None, EndKind::Unlimited),
        (None, NoDuration::Undefined, _) => match hold_end {
            Some(e) => (Some(e), EndKind::HoldEndDate),
            None => (None, EndKind::Indefinite),
        },
    }
}
