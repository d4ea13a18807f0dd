//! ManagementMetadata's rules, merged into the root units as their own, the way Vitam's ingest
//! does it (ExtractSeda, "règles de gestion globales"): for each rule of ManagementMetadata whose
//! id the root unit does not declare in any category, the rule joins the unit's category unless
//! that category has PreventInheritance or names it in RefNonRuleId. When a rule joins, the
//! category takes ManagementMetadata's PreventInheritance, RefNonRuleId and classification
//! attributes, and its FinalAction when the unit gives none. A category of ManagementMetadata
//! without any Rule adds nothing. NeedAuthorization applies when the unit has none.

use std::collections::HashSet;

use serde_json::Value;

use super::inherit::Declared;
use crate::model::AppliedRule;

/// Merges ManagementMetadata's categories into a root unit's.
pub fn merge_into_root(unit: &mut Vec<Declared<AppliedRule>>, defaults: &[Declared<AppliedRule>]) {
    let own_ids: HashSet<String> = unit
        .iter()
        .flat_map(|d| d.rules.iter().map(|(id, _)| id.clone()))
        .collect();
    for mm in defaults {
        for (id, rule) in mm.rules.iter().filter(|(id, _)| !own_ids.contains(id)) {
            let index = match unit.iter().position(|d| d.category == mm.category) {
                Some(i) => i,
                None => {
                    unit.push(Declared::new(mm.category));
                    unit.len() - 1
                }
            };
            let target = &mut unit[index];
            if target.prevent_inheritance == Some(true) || target.ref_non_rule_ids.contains(id) {
                continue;
            }
            target.rules.push((id.clone(), rule.clone()));
            if mm.prevent_inheritance.is_some() {
                target.prevent_inheritance = mm.prevent_inheritance;
            }
            for r in &mm.ref_non_rule_ids {
                if !target.ref_non_rule_ids.contains(r) {
                    target.ref_non_rule_ids.push(r.clone());
                }
            }
            for (name, value) in &mm.properties {
                let keep_own = name == "FinalAction";
                match target.properties.iter_mut().find(|(n, _)| n == name) {
                    Some(_) if keep_own => {}
                    Some(slot) => slot.1 = value.clone(),
                    None => target.properties.push((name.clone(), value.clone())),
                }
            }
        }
    }
    // A rule carries its category's FinalAction, whichever declaration it came from.
    for d in unit.iter_mut() {
        let fa = d
            .properties
            .iter()
            .find(|(n, _)| n == "FinalAction")
            .and_then(|(_, v)| match v {
                Value::String(s) => Some(s.clone()),
                _ => None,
            });
        for (_, r) in d.rules.iter_mut() {
            r.final_action.clone_from(&fa);
        }
    }
}
