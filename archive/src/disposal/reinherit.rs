//! After a unit's own rules change, what is in force on it and on every unit below it is
//! computed again with the inheritance engine (`rules::inherit`), exactly as at ingest: units
//! above the changed ones enter as fixed nodes declaring what is in force on them
//! (`rules::units::archived_nodes`), the changed units and their descendants as nodes declaring
//! their own rules and category declarations.

use std::collections::{HashMap, HashSet, VecDeque};

use archipel_seda::manifest::RuleCategory;
use serde_json::Value;

use crate::error::{ArchiveError, Result};
use crate::model::{AppliedRule, UnitRecord};
use crate::rules::inherit::{self, Declared, Node};
use crate::rules::units::{applied, archived_nodes, property, through_archived};

/// Each unit's children, from the parents every unit lists.
pub fn children(units: &HashMap<String, UnitRecord>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for u in units.values() {
        let parents: HashSet<&String> = u.parent_ids.iter().chain(&u.parent_id).collect();
        for p in parents {
            out.entry(p.clone()).or_default().push(u.id.clone());
        }
    }
    out
}

/// `roots` and every unit below them.
pub fn with_descendants(roots: &[String], children: &HashMap<String, Vec<String>>) -> HashSet<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<String> = roots.iter().cloned().collect();
    while let Some(id) = queue.pop_front() {
        if seen.insert(id.clone()) {
            queue.extend(children.get(&id).into_iter().flatten().cloned());
        }
    }
    seen
}

fn parents_of(u: &UnitRecord) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in u.parent_ids.iter().chain(&u.parent_id) {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// What a unit declares itself, as engine input.
fn declared(u: &UnitRecord) -> Vec<Declared<AppliedRule>> {
    let mut out: Vec<Declared<AppliedRule>> = Vec::new();
    let slot = |out: &mut Vec<Declared<AppliedRule>>, c: RuleCategory| -> usize {
        match out.iter().position(|d| d.category == c) {
            Some(i) => i,
            None => {
                out.push(Declared::new(c));
                out.len() - 1
            }
        }
    };
    for d in &u.categories {
        let Some(c) = RuleCategory::from_element(&d.category) else {
            continue;
        };
        let i = slot(&mut out, c);
        out[i].prevent_inheritance = d.prevent_inheritance.then_some(true);
        out[i].ref_non_rule_ids = d.ref_non_rule_ids.clone();
        out[i].properties = d.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    for r in &u.own_rules {
        let Some(c) = RuleCategory::from_element(&r.category) else {
            continue;
        };
        let i = slot(&mut out, c);
        let mut own = r.clone();
        own.inherited = false;
        own.paths = Vec::new();
        out[i].rules.push((r.rule_id.clone(), own));
    }
    out
}

/// Recomputes the rules and attributes in force on `changed` and their descendants, in place.
/// Returns the ids of the units whose view changed (the `changed` ones always count).
pub fn reinherit(units: &mut HashMap<String, UnitRecord>, changed: &[String]) -> Result<Vec<String>> {
    let kids = children(units);
    let affected = with_descendants(changed, &kids);
    // Parents first (Kahn's order over the affected units).
    let mut waiting: HashMap<&str, usize> = HashMap::new();
    for id in &affected {
        let u = &units[id];
        waiting.insert(id, parents_of(u).iter().filter(|p| affected.contains(*p)).count());
    }
    let mut ready: Vec<&str> = waiting.iter().filter(|(_, n)| **n == 0).map(|(id, _)| *id).collect();
    ready.sort();
    let mut order: Vec<String> = Vec::new();
    while let Some(id) = ready.pop() {
        order.push(id.to_owned());
        for c in kids.get(id).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(c.as_str()) {
                *n -= 1;
                if *n == 0 {
                    ready.push(c.as_str());
                }
            }
        }
    }
    if order.len() != affected.len() {
        return Err(ArchiveError::Internal(
            "the unit graph below the modified units has a cycle: nothing was changed".into(),
        ));
    }
    // Fixed nodes for the parents outside the affected set.
    let mut nodes: Vec<Node<AppliedRule>> = Vec::new();
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut external: HashMap<String, Vec<usize>> = HashMap::new();
    for id in &order {
        for p in parents_of(&units[id]) {
            if affected.contains(&p) || external.contains_key(&p) {
                continue;
            }
            let Some(parent) = units.get(&p) else { continue };
            let start = nodes.len();
            for n in archived_nodes(parent) {
                nodes.push(n);
                ids.push((parent.id.clone(), parent.sip_id.clone()));
            }
            external.insert(p, (start..nodes.len()).collect());
        }
    }
    let k = nodes.len();
    let position: HashMap<&str, usize> = order.iter().enumerate().map(|(i, id)| (id.as_str(), k + i)).collect();
    for id in &order {
        let u = &units[id];
        let mut parents = Vec::new();
        for p in parents_of(u) {
            match (external.get(&p), position.get(p.as_str())) {
                (Some(ext), _) => parents.extend(ext),
                (None, Some(&i)) => parents.push(i),
                (None, None) => {}
            }
        }
        nodes.push(Node {
            parents,
            categories: declared(u),
            global: u
                .need_authorization
                .map(|b| vec![("NeedAuthorization".to_owned(), Value::Bool(b))])
                .unwrap_or_default(),
            implicit_keep: u.originating_agency.is_some(),
        });
        ids.push((u.id.clone(), u.sip_id.clone()));
    }
    let views = inherit::compute(&nodes).map_err(|e| ArchiveError::Internal(format!("rule inheritance: {e}")))?;
    let lookup = |i: usize| ids[i].clone();
    let mut out = Vec::new();
    for (offset, view) in views.into_iter().skip(k).enumerate() {
        let me = k + offset;
        let mut rules = Vec::new();
        for entries in view.rules.into_values() {
            for e in entries {
                rules.push(if e.origin < k {
                    through_archived(e, &lookup)
                } else {
                    applied(me, e, &lookup)
                });
            }
        }
        let mut properties = Vec::new();
        for (category, entries) in view.properties {
            properties.extend(entries.into_iter().map(|e| property(Some(category), e, &lookup)));
        }
        properties.extend(view.global.into_iter().map(|e| property(None, e, &lookup)));
        let id = &order[offset];
        let Some(u) = units.get_mut(id) else { continue };
        if u.rules != rules || u.properties != properties || changed.contains(id) {
            u.own_rules = rules.iter().filter(|r| !r.inherited).cloned().collect();
            u.rules = rules;
            u.properties = properties;
            out.push(id.clone());
        }
    }
    Ok(out)
}
