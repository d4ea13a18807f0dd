//! Changes an archivist makes to the management rules a stored unit declares itself: add a
//! rule (a HoldRule is a legal hold), remove one (lifting a hold), or change its start date or
//! rule id. Each is checked against the rules referential; end dates are computed as at ingest
//! (`rules::declare::end`). Pure: a unit in, the unit changed or the reasons it cannot be.

use std::collections::HashMap;

use archipel_seda::manifest::RuleCategory;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{AppliedRule, CategoryDeclaration, HoldAttributes, Rule, UnitRecord};
use crate::rules::declare::{end, final_actions};

/// One change to the rules of the units it is applied to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// Declare `rule_id` on the unit (its category is the referential's).
    Add {
        rule_id: String,
        #[serde(default)]
        start_date: Option<NaiveDate>,
        /// FinalAction of the category (AppraisalRule: Keep, Destroy; StorageRule: …).
        #[serde(default)]
        final_action: Option<String>,
        /// HoldRule only.
        #[serde(default)]
        hold: Option<HoldAttributes>,
    },
    /// Stop declaring `rule_id` on the unit (inherited rules are unaffected).
    Remove { rule_id: String },
    /// Change the start date and/or replace the rule by another of the same category.
    Update {
        rule_id: String,
        #[serde(default)]
        new_rule_id: Option<String>,
        #[serde(default)]
        start_date: Option<NaiveDate>,
        #[serde(default)]
        final_action: Option<String>,
    },
}

impl Change {
    /// In words, for the logbook and the notification.
    pub fn describe(&self) -> String {
        match self {
            Change::Add {
                rule_id, start_date, ..
            } => format!(
                "règle {rule_id} ajoutée{}",
                start_date.map(|d| format!(", à compter du {d}")).unwrap_or_default()
            ),
            Change::Remove { rule_id } => format!("règle {rule_id} retirée"),
            Change::Update {
                rule_id,
                new_rule_id,
                start_date,
                ..
            } => {
                let mut s = format!("règle {rule_id} modifiée");
                if let Some(n) = new_rule_id {
                    s.push_str(&format!(" : remplacée par {n}"));
                }
                if let Some(d) = start_date {
                    s.push_str(&format!(" ; nouvelle date de départ {d}"));
                }
                s
            }
        }
    }
}

fn definition<'r>(referential: &'r HashMap<String, Rule>, id: &str) -> Result<&'r Rule, String> {
    referential.get(id).ok_or_else(|| {
        format!("rule `{id}` is not in the tenant's rules referential: import it first (archipel archive rules import)")
    })
}

fn category_of(def: &Rule) -> Result<RuleCategory, String> {
    RuleCategory::from_element(&def.rule_type)
        .ok_or_else(|| format!("rule `{}` has the unknown type `{}`", def.id, def.rule_type))
}

fn set_final_action(u: &mut UnitRecord, category: RuleCategory, action: &str) -> Result<(), String> {
    let allowed = final_actions(category).ok_or_else(|| format!("{} has no FinalAction", category.element()))?;
    if !allowed.contains(&action) {
        return Err(format!(
            "FinalAction `{action}` is not valid for {}: use one of {}",
            category.element(),
            allowed.join(", ")
        ));
    }
    let slot = match u.categories.iter().position(|c| c.category == category.element()) {
        Some(i) => i,
        None => {
            u.categories.push(CategoryDeclaration {
                category: category.element().into(),
                ..Default::default()
            });
            u.categories.len() - 1
        }
    };
    u.categories[slot]
        .properties
        .insert("FinalAction".into(), serde_json::Value::String(action.into()));
    Ok(())
}

fn applied(def: &Rule, unit: &UnitRecord, start: Option<NaiveDate>, hold: Option<HoldAttributes>) -> AppliedRule {
    let hold_end = hold.as_ref().and_then(|h| h.hold_end_date);
    let (end_date, kind) = end(def, start, hold_end);
    AppliedRule {
        category: def.rule_type.clone(),
        rule_id: def.id.clone(),
        start_date: start,
        end_date,
        final_action: None,
        inherited: false,
        end_kind: Some(kind),
        unit_ids: vec![unit.id.clone()],
        sip_unit_ids: vec![unit.sip_id.clone()],
        paths: vec![vec![unit.id.clone()]],
        paths_truncated: false,
        hold,
    }
}

/// Applies `change` to what `u` declares itself.
pub fn apply(u: &mut UnitRecord, change: &Change, referential: &HashMap<String, Rule>) -> Result<(), String> {
    match change {
        Change::Add {
            rule_id,
            start_date,
            final_action,
            hold,
        } => {
            let def = definition(referential, rule_id)?;
            let category = category_of(def)?;
            if u.own_rules
                .iter()
                .any(|r| r.rule_id == *rule_id && r.category == def.rule_type)
            {
                return Err(format!("the unit already declares {rule_id}: update it instead"));
            }
            if hold.is_some() && category != RuleCategory::Hold {
                return Err(format!(
                    "hold attributes apply to HoldRule only, not to {}",
                    def.rule_type
                ));
            }
            if let Some(a) = final_action {
                set_final_action(u, category, a)?;
            }
            let rule = applied(
                def,
                u,
                *start_date,
                hold.clone().filter(|_| category == RuleCategory::Hold),
            );
            u.own_rules.push(rule);
        }
        Change::Remove { rule_id } => {
            let before = u.own_rules.len();
            u.own_rules.retain(|r| r.rule_id != *rule_id);
            if u.own_rules.len() == before {
                return Err(format!(
                    "the unit does not declare {rule_id} itself (an inherited rule is removed on the unit that declares it)"
                ));
            }
        }
        Change::Update {
            rule_id,
            new_rule_id,
            start_date,
            final_action,
        } => {
            let Some(i) = u.own_rules.iter().position(|r| r.rule_id == *rule_id) else {
                return Err(format!("the unit does not declare {rule_id} itself"));
            };
            let current = u.own_rules[i].clone();
            let target = new_rule_id.as_deref().unwrap_or(rule_id);
            let def = definition(referential, target)?;
            if def.rule_type != current.category {
                return Err(format!(
                    "{target} is a {}, but {rule_id} is a {}: a rule can only be replaced by one of its category",
                    def.rule_type, current.category
                ));
            }
            if new_rule_id.is_some()
                && u.own_rules
                    .iter()
                    .any(|r| r.rule_id == target && r.category == def.rule_type)
            {
                return Err(format!("the unit already declares {target}"));
            }
            if let Some(a) = final_action {
                set_final_action(u, category_of(def)?, a)?;
            }
            let start = start_date.or(current.start_date);
            let rule = applied(def, u, start, current.hold.clone());
            u.own_rules[i] = rule;
        }
    }
    Ok(())
}
