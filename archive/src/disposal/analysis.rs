//! Elimination analysis: which units may be destroyed at a date, and why the others may not.
//!
//! Per unit, Vitam's semantics (EliminationAnalysisService): the AppraisalRule rules and
//! FinalAction attributes in force are grouped by the originating agency of the unit that
//! declares them. For one agency, the unit is *destroyable* iff at least one FinalAction reaches
//! it, none is `Keep` (implicit Keep included), at least one rule reaches it, and every rule has
//! an end date on or before the date; it is in *conflict* for that agency iff not destroyable,
//! a `Destroy` reaches it and every end date is reached (FINAL_ACTION_INCONSISTENCY). Then:
//! any conflicting agency → CONFLICT; no destroyable agency → KEEP; an active HoldRule (no end
//! date, or ending after the date) → CONFLICT; destroyable for every agency → DESTROY; mixed →
//! CONFLICT. Extended reasons as Vitam's: KEEP_ACCESS_SP, ACCESS_LINK_INCONSISTENCY (by direct
//! parent), BLOCKED_BY_HOLD_RULE.
//!
//! Archipel adds two checks over the whole catalog: a DESTROY unit with a child that is not
//! itself DESTROY becomes CONFLICT (HAS_CHILD_UNITS_TO_KEEP: eliminating it would orphan a
//! kept unit, which Vitam's elimination action refuses as NON_DESTROYABLE_HAS_CHILD_UNITS),
//! repeated up the graph; and a unit in a pending communication becomes CONFLICT
//! (IN_PENDING_COMMUNICATION). KEEP units are not listed, as Vitam indexes only the others.
//!
//! A unit without an originating agency counts as one agency of its own (Vitam requires one at
//! ingest; Archipel does not), so its outcome is decided by its rules alone.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{AppliedProperty, AppliedRule, UnitRecord};

const APPRAISAL: &str = "AppraisalRule";
const HOLD: &str = "HoldRule";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Destroy,
    Keep,
    Conflict,
}

/// Why a unit is not simply DESTROY (or, for KEEP_ACCESS_SP, what destroying it implies).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// For these agencies a `Destroy` is in force but so is a `Keep` (or no FinalAction).
    FinalActionInconsistency {
        originating_agencies: Vec<String>,
        message: String,
    },
    /// The unit's own originating agency may destroy it, another must keep it.
    KeepAccessSp { message: String },
    /// Through this direct parent, one agency may destroy and another must keep.
    AccessLinkInconsistency {
        parent_unit_id: String,
        destroyable_originating_agencies: Vec<String>,
        non_destroyable_originating_agencies: Vec<String>,
        message: String,
    },
    /// HoldRules in force at the date.
    BlockedByHoldRule { rule_ids: Vec<String>, message: String },
    /// Children that are not eliminable with it.
    HasChildUnitsToKeep { unit_ids: Vec<String>, message: String },
    /// Communications (DIP requests) still open on the unit.
    InPendingCommunication {
        communications: Vec<String>,
        message: String,
    },
}

/// The verdict on one unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub status: Status,
    pub destroyable_originating_agencies: Vec<String>,
    pub non_destroyable_originating_agencies: Vec<String>,
    pub reasons: Vec<Reason>,
}

/// What the analysis lists for a unit (DESTROY or CONFLICT).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub unit_id: String,
    pub sip_id: String,
    pub title: String,
    pub aip_id: String,
    pub transfer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_agency: Option<String>,
    pub status: Status,
    pub destroyable_originating_agencies: Vec<String>,
    pub non_destroyable_originating_agencies: Vec<String>,
    pub reasons: Vec<Reason>,
    pub objects: usize,
    pub bytes: u64,
}

/// The agency key of an origin unit: `None` for a unit without originating agency.
pub type Agency = Option<String>;

fn agency_name(a: &Agency) -> String {
    a.clone().unwrap_or_else(|| "(aucun service producteur)".into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ForAgency {
    Destroy,
    Keep,
    Inconsistent,
}

/// Vitam's per-unit analysis. `agency_of` gives the originating agency of an origin unit.
/// The HoldRules in force on `u` at `at` (no end date, or ending after it).
pub fn active_holds(u: &UnitRecord, at: NaiveDate) -> BTreeSet<String> {
    u.rules
        .iter()
        .filter(|r| r.category == HOLD && r.end_date.is_none_or(|end| at < end))
        .map(|r| r.rule_id.clone())
        .collect()
}

pub fn analyse_unit(u: &UnitRecord, at: NaiveDate, agency_of: &dyn Fn(&str) -> Agency) -> Verdict {
    let appraisal: Vec<&AppliedRule> = u.rules.iter().filter(|r| r.category == APPRAISAL).collect();
    let actions: Vec<&AppliedProperty> = u
        .properties
        .iter()
        .filter(|p| p.category.as_deref() == Some(APPRAISAL) && p.name == "FinalAction")
        .collect();
    let holds = active_holds(u, at);
    let origin = |ids: &[String]| {
        ids.first()
            .map(|id| agency_of(id))
            .unwrap_or_else(|| u.originating_agency.clone())
    };
    let by_agency = statuses(
        appraisal.iter().map(|r| (origin(&r.unit_ids), *r)),
        actions.iter().map(|p| (origin(&p.unit_ids), *p)),
        at,
    );
    let pick = |s: ForAgency| -> BTreeSet<Agency> {
        by_agency
            .iter()
            .filter(|(_, v)| **v == s)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let (destroyable, keep, inconsistent) = (
        pick(ForAgency::Destroy),
        pick(ForAgency::Keep),
        pick(ForAgency::Inconsistent),
    );
    let status = if !inconsistent.is_empty() {
        Status::Conflict
    } else if destroyable.is_empty() {
        Status::Keep
    } else if !holds.is_empty() || !keep.is_empty() {
        Status::Conflict
    } else {
        Status::Destroy
    };
    let names = |s: &BTreeSet<Agency>| s.iter().map(agency_name).collect::<Vec<_>>();
    let mut reasons = Vec::new();
    if status != Status::Keep {
        if !inconsistent.is_empty() {
            reasons.push(Reason::FinalActionInconsistency {
                originating_agencies: names(&inconsistent),
                message: "une règle de sort final « Détruire » et une « Conserver » s'appliquent pour ces services producteurs".into(),
            });
        }
        if u.originating_agency
            .as_ref()
            .is_some_and(|sp| destroyable.contains(&Some(sp.clone())))
            && !keep.is_empty()
        {
            reasons.push(Reason::KeepAccessSp {
                message: "éliminable pour son service producteur, mais un autre service producteur doit la conserver"
                    .into(),
            });
        }
        reasons.extend(access_links(&appraisal, &actions, at, &origin));
        if !holds.is_empty() {
            reasons.push(Reason::BlockedByHoldRule {
                rule_ids: holds.into_iter().collect(),
                message: "un gel (HoldRule) est en vigueur à la date d'analyse".into(),
            });
        }
    }
    Verdict {
        status,
        destroyable_originating_agencies: names(&destroyable),
        non_destroyable_originating_agencies: names(&keep),
        reasons,
    }
}

fn statuses<'a>(
    rules: impl Iterator<Item = (Agency, &'a AppliedRule)>,
    actions: impl Iterator<Item = (Agency, &'a AppliedProperty)>,
    at: NaiveDate,
) -> HashMap<Agency, ForAgency> {
    let mut grouped: HashMap<Agency, (Vec<&AppliedRule>, Vec<&AppliedProperty>)> = HashMap::new();
    for (a, r) in rules {
        grouped.entry(a).or_default().0.push(r);
    }
    for (a, p) in actions {
        grouped.entry(a).or_default().1.push(p);
    }
    grouped
        .into_iter()
        .map(|(agency, (rules, actions))| {
            let reached = !rules.is_empty() && rules.iter().all(|r| r.end_date.is_some_and(|end| end <= at));
            let values: Vec<&str> = actions.iter().filter_map(|p| p.value.as_str()).collect();
            let all_destroy = !values.is_empty() && !values.contains(&"Keep");
            let status = if all_destroy && reached {
                ForAgency::Destroy
            } else if values.contains(&"Destroy") && reached {
                ForAgency::Inconsistent
            } else {
                ForAgency::Keep
            };
            (agency, status)
        })
        .collect()
}

/// ACCESS_LINK_INCONSISTENCY: what reaches the unit through each direct parent, by agency.
fn access_links(
    rules: &[&AppliedRule],
    actions: &[&AppliedProperty],
    at: NaiveDate,
    origin: &dyn Fn(&[String]) -> Agency,
) -> Vec<Reason> {
    let parent_of =
        |paths: &[Vec<String>]| -> BTreeSet<String> { paths.iter().filter_map(|p| p.get(1).cloned()).collect() };
    let mut parents: BTreeSet<String> = BTreeSet::new();
    for r in rules {
        parents.extend(parent_of(&r.paths));
    }
    for p in actions {
        parents.extend(parent_of(&p.paths));
    }
    let mut out = Vec::new();
    for parent in parents {
        let by_agency = statuses(
            rules
                .iter()
                .filter(|r| parent_of(&r.paths).contains(&parent))
                .map(|r| (origin(&r.unit_ids), *r)),
            actions
                .iter()
                .filter(|p| parent_of(&p.paths).contains(&parent))
                .map(|p| (origin(&p.unit_ids), *p)),
            at,
        );
        let d: Vec<String> = sorted(
            by_agency
                .iter()
                .filter(|(_, s)| **s == ForAgency::Destroy)
                .map(|(a, _)| agency_name(a)),
        );
        let k: Vec<String> = sorted(
            by_agency
                .iter()
                .filter(|(_, s)| **s == ForAgency::Keep)
                .map(|(a, _)| agency_name(a)),
        );
        if !d.is_empty() && !k.is_empty() {
            out.push(Reason::AccessLinkInconsistency {
                parent_unit_id: parent,
                destroyable_originating_agencies: d,
                non_destroyable_originating_agencies: k,
                message: "par ce parent, un service producteur peut éliminer et un autre doit conserver".into(),
            });
        }
    }
    out
}

fn sorted(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = it.collect();
    v.sort();
    v
}

/// What the graph pass needs of each unit.
pub struct Analysed {
    pub entry: Entry,
    pub parent_ids: Vec<String>,
}

impl Analysed {
    pub fn new(u: &UnitRecord, v: Verdict) -> Self {
        Analysed {
            entry: Entry {
                unit_id: u.id.clone(),
                sip_id: u.sip_id.clone(),
                title: u.title.clone(),
                aip_id: u.aip_id.clone(),
                transfer_id: u.transfer_id.clone(),
                originating_agency: u.originating_agency.clone(),
                status: v.status,
                destroyable_originating_agencies: v.destroyable_originating_agencies,
                non_destroyable_originating_agencies: v.non_destroyable_originating_agencies,
                reasons: v.reasons,
                objects: u.objects.len(),
                bytes: u.objects.iter().map(|o| o.size).sum(),
            },
            parent_ids: u.parent_ids.iter().chain(&u.parent_id).cloned().collect(),
        }
    }
}

/// The catalog-wide checks, then the listed entries (DESTROY and CONFLICT), in unit order.
/// `communications`: unit id → the pending communications holding it.
pub fn finish(mut units: Vec<Analysed>, communications: &HashMap<String, Vec<String>>) -> Vec<Entry> {
    for a in &mut units {
        if a.entry.status == Status::Destroy {
            if let Some(open) = communications.get(&a.entry.unit_id).filter(|c| !c.is_empty()) {
                a.entry.status = Status::Conflict;
                a.entry.reasons.push(Reason::InPendingCommunication {
                    communications: open.clone(),
                    message: "une communication en cours porte sur cette unité".into(),
                });
            }
        }
    }
    let index: HashMap<String, usize> = units
        .iter()
        .enumerate()
        .map(|(i, a)| (a.entry.unit_id.clone(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for (i, a) in units.iter().enumerate() {
        let parents: HashSet<&String> = a.parent_ids.iter().collect();
        for p in parents {
            if let Some(&pi) = index.get(p) {
                children[pi].push(i);
            }
        }
    }
    // A DESTROY unit with a child that is not DESTROY is kept for it; that may in turn keep its
    // own parents, so repeat until nothing changes (at most the graph's depth).
    loop {
        let mut changed = false;
        for i in 0..units.len() {
            if units[i].entry.status != Status::Destroy {
                continue;
            }
            let mut kept: Vec<String> = children[i]
                .iter()
                .filter(|&&c| units[c].entry.status != Status::Destroy)
                .map(|&c| units[c].entry.unit_id.clone())
                .collect();
            if kept.is_empty() {
                continue;
            }
            kept.sort();
            kept.dedup();
            units[i].entry.status = Status::Conflict;
            units[i].entry.reasons.push(Reason::HasChildUnitsToKeep {
                unit_ids: kept,
                message: "des unités filles ne sont pas éliminables : l'éliminer les laisserait orphelines".into(),
            });
            changed = true;
        }
        if !changed {
            break;
        }
    }
    units
        .into_iter()
        .map(|a| a.entry)
        .filter(|e| e.status != Status::Keep)
        .collect()
}
