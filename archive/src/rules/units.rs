//! From a SIP's units to what each keeps in its catalog record: its own rules (with
//! ManagementMetadata merged into the roots), its category declarations, and the rules and
//! attributes in force on it with their origins.

use std::collections::HashMap;

use archipel_seda::manifest::{Management, RuleCategory};
use serde_json::Value;

use super::declare::{declare, Problems};
use super::inherit::{self, Declared, Effective, Node};
use super::metadata::merge_into_root;
use crate::model::{AppliedProperty, AppliedRule, CategoryDeclaration, Reason, Rule, UnitRecord};

/// One unit of the SIP, parents first.
pub struct UnitInput<'a> {
    pub sip_id: &'a str,
    pub system_id: &'a str,
    /// Indices of its parents in the input.
    pub parents: Vec<usize>,
    pub management: Option<&'a Management>,
    /// Indices in `existing` of the archived units it attaches to (UpdateOperation).
    pub attached_to: Vec<usize>,
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
    existing: &[&UnitRecord],
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
    // Archived units come first, declaring what is in force on them: one node per origin, so a
    // rule reaching an archived unit from two origins stays two entries.
    let mut nodes: Vec<Node<AppliedRule>> = Vec::new();
    let mut node_record: Vec<usize> = Vec::new();
    for (i, r) in existing.iter().enumerate() {
        for node in archived_nodes(r) {
            nodes.push(node);
            node_record.push(i);
        }
    }
    let k = nodes.len();
    for u in units {
        let subject = format!("ArchiveUnit {}", u.sip_id);
        let mut p = Problems {
            subject: &subject,
            errors: &mut errors,
        };
        let blocks = u.management.map(|m| m.rules.as_slice()).unwrap_or_default();
        let mut categories = declare(blocks, referential, &mut p);
        let mut need = u.management.and_then(|m| m.need_authorization);
        // A unit whose parents are all archived already is a root of this transfer (Vitam).
        if u.parents.is_empty() {
            merge_into_root(&mut categories, &mm);
            need = need.or(defaults.and_then(|m| m.need_authorization));
        } else {
            merge_into_root(&mut categories, &[]);
        }
        nodes.push(Node {
            parents: (0..k)
                .filter(|n| u.attached_to.contains(&node_record[*n]))
                .chain(u.parents.iter().map(|p| p + k))
                .collect(),
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
    let ids = |i: usize| match i.checked_sub(k) {
        Some(j) => (units[j].system_id.to_owned(), units[j].sip_id.to_owned()),
        None => (
            existing[node_record[i]].id.clone(),
            existing[node_record[i]].sip_id.clone(),
        ),
    };
    let out = nodes
        .iter()
        .zip(views)
        .enumerate()
        .skip(k)
        .map(|(me, (node, view))| {
            let mut rules = Vec::new();
            for entries in view.rules.into_values() {
                for e in entries {
                    rules.push(if e.origin < k {
                        through_archived(e, &ids)
                    } else {
                        applied(me, e, &ids)
                    });
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

pub(crate) type Ids<'a> = dyn Fn(usize) -> (String, String) + 'a;

/// An archived unit as engine nodes, one per origin of the rules in force on it, each declaring
/// those rules as its own so that nothing above it is looked up again. Category attributes and
/// NeedAuthorization go with the first node.
pub(crate) fn archived_nodes(r: &UnitRecord) -> Vec<Node<AppliedRule>> {
    let mut by_origin: Vec<(Vec<String>, Vec<Declared<AppliedRule>>)> = Vec::new();
    for rule in &r.rules {
        let Some(category) = RuleCategory::from_element(&rule.category) else {
            continue;
        };
        let slot = match by_origin.iter().position(|(o, _)| *o == rule.unit_ids) {
            Some(i) => i,
            None => {
                by_origin.push((rule.unit_ids.clone(), Vec::new()));
                by_origin.len() - 1
            }
        };
        declared(&mut by_origin[slot].1, category)
            .rules
            .push((rule.rule_id.clone(), rule.clone()));
    }
    if by_origin.is_empty() {
        by_origin.push((Vec::new(), Vec::new()));
    }
    for p in &r.properties {
        if let Some(category) = p.category.as_deref().and_then(RuleCategory::from_element) {
            declared(&mut by_origin[0].1, category)
                .properties
                .push((p.name.clone(), p.value.clone()));
        }
    }
    let global: Vec<(String, Value)> = r
        .properties
        .iter()
        .filter(|p| p.category.is_none())
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    by_origin
        .into_iter()
        .enumerate()
        .map(|(i, (_, categories))| Node {
            parents: Vec::new(),
            categories,
            global: if i == 0 { global.clone() } else { Vec::new() },
            implicit_keep: false,
        })
        .collect()
}

fn declared(list: &mut Vec<Declared<AppliedRule>>, category: RuleCategory) -> &mut Declared<AppliedRule> {
    let index = match list.iter().position(|d| d.category == category) {
        Some(i) => i,
        None => {
            list.push(Declared::new(category));
            list.len() - 1
        }
    };
    &mut list[index]
}

/// A rule inherited through an archived unit keeps the origin it has there, and each path goes
/// on along the paths it has there.
pub(crate) fn through_archived(e: Effective<AppliedRule>, ids: &Ids) -> AppliedRule {
    let archived = e.value;
    let mut joined = Vec::new();
    let mut truncated = e.truncated || archived.paths_truncated;
    for engine_path in paths(&e.paths, ids) {
        let below = &engine_path[..engine_path.len().saturating_sub(1)];
        if archived.paths.is_empty() {
            joined.push(engine_path.clone());
        }
        for above in &archived.paths {
            if joined.len() == super::inherit::MAX_PATHS {
                truncated = true;
                break;
            }
            joined.push(below.iter().chain(above).cloned().collect());
        }
    }
    AppliedRule {
        inherited: true,
        paths: joined,
        paths_truncated: truncated,
        ..archived
    }
}

fn paths(e_paths: &[Vec<usize>], ids: &Ids) -> Vec<Vec<String>> {
    e_paths.iter().map(|p| p.iter().map(|&i| ids(i).0).collect()).collect()
}

pub(crate) fn applied(me: usize, e: Effective<AppliedRule>, ids: &Ids) -> AppliedRule {
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

pub(crate) fn property(category: Option<RuleCategory>, e: Effective<Value>, ids: &Ids) -> AppliedProperty {
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

pub(crate) fn declaration(d: &Declared<AppliedRule>) -> CategoryDeclaration {
    CategoryDeclaration {
        category: d.category.element().to_owned(),
        prevent_inheritance: d.prevent_inheritance == Some(true),
        ref_non_rule_ids: d.ref_non_rule_ids.clone(),
        properties: d.properties.iter().cloned().collect(),
    }
}
