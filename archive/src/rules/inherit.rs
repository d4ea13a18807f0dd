//! The inheritance engine: for every unit of a DAG and every rule category, the rules and
//! category attributes in force, each with its origin unit and every path leading to it.
//!
//! Semantics are Vitam's (ComputeInheritedRuleService, "règles héritées"): a unit's rules of a
//! category are its own plus those of each parent, except that PreventInheritance stops
//! everything of that category from above, RefNonRuleId stops the rules it names, and a rule
//! the unit declares itself replaces the same RuleId from above. A rule reaching the unit from
//! one origin along several paths is one entry with all its paths; the same RuleId from two
//! origins is two entries. Category attributes (FinalAction, ClassificationLevel...) inherit the
//! same way by name; NeedAuthorization is a global attribute that PreventInheritance does not
//! stop. Pure: no I/O, nodes in, views out.

use std::collections::{BTreeMap, HashSet};

use archipel_seda::manifest::RuleCategory;
use serde_json::Value;

/// Paths kept per entry: a DAG of stacked diamonds has exponentially many.
pub const MAX_PATHS: usize = 64;

/// One unit as the engine sees it.
#[derive(Debug, Clone)]
pub struct Node<R> {
    /// Indices of the unit's parents, all smaller than the unit's own.
    pub parents: Vec<usize>,
    pub categories: Vec<Declared<R>>,
    /// NeedAuthorization and other global attributes the unit declares.
    pub global: Vec<(String, Value)>,
    /// Vitam gives a unit with an originating agency an implicit AppraisalRule FinalAction Keep
    /// when none reaches it.
    pub implicit_keep: bool,
}

/// What a unit declares for one category.
#[derive(Debug, Clone)]
pub struct Declared<R> {
    pub category: RuleCategory,
    /// Rule id and its payload (dates...). Ids are unique within a category.
    pub rules: Vec<(String, R)>,
    pub prevent_inheritance: Option<bool>,
    pub ref_non_rule_ids: Vec<String>,
    /// FinalAction and the category's other attributes, by element name.
    pub properties: Vec<(String, Value)>,
}

impl<R> Declared<R> {
    pub fn new(category: RuleCategory) -> Self {
        Declared {
            category,
            rules: Vec::new(),
            prevent_inheritance: None,
            ref_non_rule_ids: Vec::new(),
            properties: Vec::new(),
        }
    }
}

/// A rule or attribute in force on a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective<T> {
    /// The rule id, or the attribute's name.
    pub key: String,
    /// Index of the unit that declares it.
    pub origin: usize,
    /// Each path from the unit (first) up to the origin (last), as indices, sorted.
    pub paths: Vec<Vec<usize>>,
    /// More paths exist than `paths` lists.
    pub truncated: bool,
    /// Vitam's implicit default rather than a declaration.
    pub implicit: bool,
    pub value: T,
}

/// Everything in force on one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct View<R> {
    pub rules: BTreeMap<RuleCategory, Vec<Effective<R>>>,
    pub properties: BTreeMap<RuleCategory, Vec<Effective<Value>>>,
    pub global: Vec<Effective<Value>>,
}

/// A parent listed at or after its child: the nodes are not in parent-first order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unit #{child} lists #{parent} as a parent, which does not come before it")]
pub struct OrderError {
    pub child: usize,
    pub parent: usize,
}

/// Computes the view of every node; `nodes` must list parents before their children.
pub fn compute<R: Clone>(nodes: &[Node<R>]) -> Result<Vec<View<R>>, OrderError> {
    let mut views: Vec<View<R>> = Vec::with_capacity(nodes.len());
    for (me, node) in nodes.iter().enumerate() {
        if let Some(&parent) = node.parents.iter().find(|&&p| p >= me) {
            return Err(OrderError { child: me, parent });
        }
        let mut view = View {
            rules: BTreeMap::new(),
            properties: BTreeMap::new(),
            global: Vec::new(),
        };
        for category in RuleCategory::ALL {
            let declared = node.categories.iter().find(|c| c.category == category);
            let stop_all = declared.is_some_and(|d| d.prevent_inheritance == Some(true));
            let local_rules = declared.map(|d| d.rules.clone()).unwrap_or_default();
            let refused: HashSet<&str> = declared
                .map(|d| d.ref_non_rule_ids.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let rules = inherit(
                me,
                local_rules,
                &node.parents,
                |p| views[p].rules.get(&category),
                |k| stop_all || refused.contains(k),
            );
            let local_props = declared.map(|d| d.properties.clone()).unwrap_or_default();
            let mut props = inherit(
                me,
                local_props,
                &node.parents,
                |p| views[p].properties.get(&category),
                |_| stop_all,
            );
            if category == RuleCategory::Appraisal
                && node.implicit_keep
                && !props.iter().any(|p| p.key == "FinalAction")
            {
                props.push(Effective {
                    key: "FinalAction".into(),
                    origin: me,
                    paths: vec![vec![me]],
                    truncated: false,
                    implicit: true,
                    value: Value::String("Keep".into()),
                });
            }
            if !rules.is_empty() {
                view.rules.insert(category, rules);
            }
            if !props.is_empty() {
                view.properties.insert(category, props);
            }
        }
        view.global = inherit(
            me,
            node.global.clone(),
            &node.parents,
            |p| Some(&views[p].global),
            |_| false,
        );
        views.push(view);
    }
    Ok(views)
}

/// The unit's own entries, then what each parent has in force that is neither redefined
/// locally nor `blocked`, merged by (origin, key).
fn inherit<'v, T: Clone + 'v>(
    me: usize,
    local: Vec<(String, T)>,
    parents: &[usize],
    parent_entries: impl Fn(usize) -> Option<&'v Vec<Effective<T>>>,
    blocked: impl Fn(&str) -> bool,
) -> Vec<Effective<T>> {
    let own: HashSet<String> = local.iter().map(|(k, _)| k.clone()).collect();
    let mut out: Vec<Effective<T>> = local
        .into_iter()
        .map(|(key, value)| Effective {
            key,
            origin: me,
            paths: vec![vec![me]],
            truncated: false,
            implicit: false,
            value,
        })
        .collect();
    let mut merged: BTreeMap<(String, usize), Effective<T>> = BTreeMap::new();
    let mut seen_parents = HashSet::new();
    for &p in parents.iter().filter(|p| seen_parents.insert(**p)) {
        for e in parent_entries(p).into_iter().flatten() {
            if own.contains(&e.key) || blocked(&e.key) {
                continue;
            }
            let slot = merged.entry((e.key.clone(), e.origin)).or_insert_with(|| Effective {
                key: e.key.clone(),
                origin: e.origin,
                paths: Vec::new(),
                truncated: false,
                implicit: e.implicit,
                value: e.value.clone(),
            });
            slot.truncated |= e.truncated;
            for path in &e.paths {
                if slot.paths.len() == MAX_PATHS {
                    slot.truncated = true;
                    break;
                }
                let mut extended = Vec::with_capacity(path.len() + 1);
                extended.push(me);
                extended.extend_from_slice(path);
                slot.paths.push(extended);
            }
        }
    }
    out.extend(merged.into_values().map(|mut e| {
        e.paths.sort();
        e
    }));
    out
}
