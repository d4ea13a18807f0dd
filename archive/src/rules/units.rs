//! From a SIP's units to what each keeps in its catalog record: its own rules (with
//! ManagementMetadata merged into the roots), its category declarations, and the rules and
//! attributes in force on it with their origins.

use std::collections::HashMap;

use archipel_seda::manifest::{Management, RuleCategory};
use serde_json::Value;

use super::declare::{declare, Problems};
use super::inherit::{self, Declared, Effective, Node};
use super::metadata::merge_into_root;
use crate::model::{AppliedProperty, AppliedRule, CategoryDeclaration, Reason, Rule};

/// One unit of the SIP, parents first.
pub struct UnitInput<'a> {
    pub sip_id: &'a str,
    pub system_id: &'a str,
    /// Indices of its parents in the input.
    pub parents: Vec<usize>,
    pub management: Option<&'a Management>,
}

/// What the catalog keeps of a unit's management.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitRules {
    pub own_rules: Vec<AppliedRule>,
    /// In force: own and inherited, each with its origin and paths.
    pub rules: Vec<AppliedRule>,
    pub categories: Vec<CategoryDeclaration>,
    pub properties: Vec<AppliedProperty>,
    pub need_authorization: Option<bool>,
    /// The greatest referential version among the rules the unit's own rules use.
    pub rules_version: Option<u32>,
}

/// Checks every unit's rules and computes what is in force on each. `implicit_keep`: the
/// transfer names an originating agency, so Vitam's default FinalAction Keep applies.
pub fn compute(
    units: &[UnitInput],
    defaults: Option<&Management>,
    referential: &HashMap<String, Rule>,
    implicit_keep: bool,
) -> Result<Vec<UnitRules>, Vec<Reason>> {
    let mut errors = Vec::new();
    let mm: Vec<Declared<AppliedRule>> = defaults
        .map(|m| {
            let mut p = Problems {
                subject: "ManagementMetadata",
                errors: &mut errors,
            };
            declare(&m.rules, referential, &mut p)
        })
        .unwrap_or_default();
    let mut nodes = Vec::with_capacity(units.len());
    for u in units {
        let subject = format!("ArchiveUnit {}", u.sip_id);
        let mut p = Problems {
            subject: &subject,
            errors: &mut errors,
        };
        let blocks = u.management.map(|m| m.rules.as_slice()).unwrap_or_default();
        let mut categories = declare(blocks, referential, &mut p);
        let mut need = u.management.and_then(|m| m.need_authorization);
        if u.parents.is_empty() {
            merge_into_root(&mut categories, &mm);
            need = need.or(defaults.and_then(|m| m.need_authorization));
        } else {
            merge_into_root(&mut categories, &[]);
        }
        nodes.push(Node {
            parents: u.parents.clone(),
            categories,
            global: need
                .map(|b| vec![("NeedAuthorization".to_owned(), Value::Bool(b))])
                .unwrap_or_default(),
            implicit_keep,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let views = inherit::compute(&nodes).map_err(|e| {
        vec![Reason {
            step: "rules".into(),
            subject: None,
            message: format!("internal error: {e}"),
        }]
    })?;
    let ids = |i: usize| (units[i].system_id.to_owned(), units[i].sip_id.to_owned());
    let out = nodes
        .iter()
        .zip(views)
        .enumerate()
        .map(|(me, (node, view))| {
            let mut rules = Vec::new();
            for entries in view.rules.into_values() {
                for e in entries {
                    rules.push(applied(me, e, &ids));
                }
            }
            let mut properties = Vec::new();
            for (category, entries) in view.properties {
                properties.extend(entries.into_iter().map(|e| property(Some(category), e, &ids)));
            }
            properties.extend(view.global.into_iter().map(|e| property(None, e, &ids)));
            let own_rules: Vec<AppliedRule> = rules.iter().filter(|r| !r.inherited).cloned().collect();
            let rules_version = node
                .categories
                .iter()
                .flat_map(|d| d.rules.iter())
                .filter_map(|(id, _)| referential.get(id).map(|r| r.version))
                .max();
            UnitRules {
                own_rules,
                rules,
                categories: node.categories.iter().map(declaration).collect(),
                properties,
                need_authorization: node.global.first().and_then(|(_, v)| v.as_bool()),
                rules_version,
            }
        })
        .collect();
    Ok(out)
}

type Ids<'a> = dyn Fn(usize) -> (String, String) + 'a;

fn paths(e_paths: &[Vec<usize>], ids: &Ids) -> Vec<Vec<String>> {
    e_paths
        .iter()
        .map(|p| p.iter().map(|&i| ids(i).0).collect())
        .collect()
}

fn applied(me: usize, e: Effective<AppliedRule>, ids: &Ids) -> AppliedRule {
    let (origin, sip_origin) = ids(e.origin);
    AppliedRule {
        inherited: e.origin != me,
        unit_ids: vec![origin],
        sip_unit_ids: vec![sip_origin],
        paths: paths(&e.paths, ids),
        paths_truncated: e.truncated,
        ..e.value
    }
}

fn property(category: Option<RuleCategory>, e: Effective<Value>, ids: &Ids) -> AppliedProperty {
    let (origin, sip_origin) = ids(e.origin);
    AppliedProperty {
        category: category.map(|c| c.element().to_owned()),
        name: e.key,
        value: e.value,
        unit_ids: vec![origin],
        sip_unit_ids: vec![sip_origin],
        paths: paths(&e.paths, ids),
        paths_truncated: e.truncated,
        implicit: e.implicit,
    }
}

fn declaration(d: &Declared<AppliedRule>) -> CategoryDeclaration {
    CategoryDeclaration {
        category: d.category.element().to_owned(),
        prevent_inheritance: d.prevent_inheritance == Some(true),
        ref_non_rule_ids: d.ref_non_rule_ids.clone(),
        properties: d.properties.iter().cloned().collect(),
    }
}
