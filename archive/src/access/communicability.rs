//! When a unit becomes freely communicable, from the rules in force on it.
//!
//! The computation (docs/archive.md, "Access and communication"):
//! - Every AccessRule in force on the unit counts: its own and those inherited along every
//!   parent path (the catalog's `rules`, which already honour PreventInheritance and
//!   RefNonRuleId). The strictest wins: the unit is communicable from the latest end date.
//! - An AccessRule whose end cannot be computed (unlimited in the referential, or no StartDate)
//!   has no date: the unit is not communicable until an archivist settles it.
//! - NeedAuthorization in force (own or inherited) means every communication needs a
//!   derogation, whatever the dates.
//! - A unit with no AccessRule is communicable de plein droit (L213-1).
//!
//! A date decides, never "now" read here: callers pass the day (the front's access clock).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::legal::{self, LegalDelay};
use crate::model::{EndKind, UnitRecord};

/// From when a unit is freely communicable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "date", rename_all = "snake_case")]
pub enum CommunicableFrom {
    /// No AccessRule: communicable de plein droit.
    Always,
    /// From this day on (the latest AccessRule end).
    Day(NaiveDate),
    /// No date can be given: an AccessRule without end, or NeedAuthorization.
    Never,
}

/// One AccessRule that weighs on the unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessBasis {
    pub rule_id: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub inherited: bool,
    /// The L213-2 delays the rule's duration matches (by whole years from start to end).
    pub legal: Vec<&'static LegalDelay>,
}

/// A unit's communicability, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Communicability {
    pub from: CommunicableFrom,
    /// NeedAuthorization is in force: every communication needs a derogation.
    pub need_authorization: bool,
    /// The AccessRules in force, strictest (latest end, or no end) first.
    pub rules: Vec<AccessBasis>,
}

impl Communicability {
    pub fn of(unit: &UnitRecord) -> Self {
        let need_authorization =
            unit.properties.iter().any(|p| {
                p.category.is_none() && p.name == "NeedAuthorization" && p.value == serde_json::Value::Bool(true)
            }) || unit.need_authorization == Some(true);
        let mut rules: Vec<AccessBasis> = unit
            .rules
            .iter()
            .filter(|r| r.category == "AccessRule")
            .map(|r| AccessBasis {
                rule_id: r.rule_id.clone(),
                start_date: r.start_date,
                end_date: match r.end_kind {
                    // An end that is not a computed date closes the unit.
                    Some(EndKind::Unlimited) | Some(EndKind::Unknown) | Some(EndKind::Indefinite) => None,
                    _ => r.end_date,
                },
                inherited: r.inherited,
                legal: whole_years(r.start_date, r.end_date)
                    .map(legal::delays_of)
                    .unwrap_or_default(),
            })
            .collect();
        // Strictest first: no end, then the latest end.
        rules.sort_by(|a, b| match (a.end_date, b.end_date) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(&x),
        });
        let from = if need_authorization {
            CommunicableFrom::Never
        } else {
            match rules.first() {
                None => CommunicableFrom::Always,
                Some(r) => match r.end_date {
                    Some(day) => CommunicableFrom::Day(day),
                    None => CommunicableFrom::Never,
                },
            }
        };
        Communicability {
            from,
            need_authorization,
            rules,
        }
    }

    /// Whether the unit is freely communicable on `day`.
    pub fn on(&self, day: NaiveDate) -> bool {
        match self.from {
            CommunicableFrom::Always => true,
            CommunicableFrom::Day(d) => d <= day,
            CommunicableFrom::Never => false,
        }
    }

    /// The first day as a date (`None` for Always and Never).
    pub fn date(&self) -> Option<NaiveDate> {
        match self.from {
            CommunicableFrom::Day(d) => Some(d),
            _ => None,
        }
    }

    /// Why it is not communicable on `day`, in French, for refusals and the logbook.
    pub fn reason(&self, day: NaiveDate) -> String {
        if self.need_authorization {
            return "l'unité est soumise à autorisation (NeedAuthorization) : toute communication passe par une \
                    dérogation (L213-3)"
                .into();
        }
        match self.from {
            CommunicableFrom::Always => "communicable de plein droit (L213-1)".into(),
            CommunicableFrom::Day(d) if d <= day => format!("communicable depuis le {d}"),
            CommunicableFrom::Day(d) => {
                let rule = self.rules.first().map(|r| r.rule_id.as_str()).unwrap_or("?");
                format!("non communicable avant le {d} (règle {rule}) : demandez une dérogation (L213-3)")
            }
            CommunicableFrom::Never => {
                let rule = self.rules.first().map(|r| r.rule_id.as_str()).unwrap_or("?");
                format!(
                    "la règle {rule} n'a pas de date de fin calculable (durée illimitée ou date de départ \
                     inconnue) : non communicable sans dérogation (L213-3)"
                )
            }
        }
    }

    /// The day number the search index keys communicability on: 0 for Always, `i64::MAX` for
    /// Never.
    pub fn index_day(&self) -> Option<NaiveDate> {
        match self.from {
            CommunicableFrom::Always => NaiveDate::from_ymd_opt(1, 1, 1),
            CommunicableFrom::Day(d) => Some(d),
            CommunicableFrom::Never => None,
        }
    }
}

/// Whole years from `start` to `end` when the end is the same day of a later year.
fn whole_years(start: Option<NaiveDate>, end: Option<NaiveDate>) -> Option<u32> {
    let (s, e) = (start?, end?);
    if s.month() != e.month() || s.day() != e.day() || e < s {
        return None;
    }
    u32::try_from(e.year() - s.year()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppliedProperty, AppliedRule};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn access(id: &str, start: Option<NaiveDate>, end: Option<NaiveDate>, kind: EndKind) -> AppliedRule {
        AppliedRule {
            category: "AccessRule".into(),
            rule_id: id.into(),
            start_date: start,
            end_date: end,
            final_action: None,
            inherited: false,
            end_kind: Some(kind),
            unit_ids: vec![],
            sip_unit_ids: vec![],
            paths: vec![],
            paths_truncated: false,
            hold: None,
        }
    }

    fn unit(rules: Vec<AppliedRule>) -> UnitRecord {
        let v = serde_json::json!({
            "id": "u", "sip_id": "U", "tenant": "t", "aip_id": "a", "transfer_id": "x", "parent_id": null,
            "flow": null, "agreement": null, "title": "T", "description": null, "level": null,
            "start_date": null, "end_date": null, "originating_agency": null, "keywords": [],
            "rules": [], "objects": [], "content": {}, "ingested_at": "2026-01-01T00:00:00Z"
        });
        let mut u: UnitRecord = serde_json::from_value(v).unwrap();
        u.rules = rules;
        u
    }

    #[test]
    fn no_access_rule_is_communicable_de_plein_droit() {
        let c = Communicability::of(&unit(vec![]));
        assert_eq!(c.from, CommunicableFrom::Always);
        assert!(c.on(day(1900, 1, 1)));
    }

    #[test]
    fn the_strictest_rule_along_all_paths_wins() {
        let c = Communicability::of(&unit(vec![
            access(
                "ACC-25",
                Some(day(2020, 1, 1)),
                Some(day(2045, 1, 1)),
                EndKind::Computed,
            ),
            access(
                "ACC-50",
                Some(day(2020, 1, 1)),
                Some(day(2070, 1, 1)),
                EndKind::Computed,
            ),
        ]));
        assert_eq!(c.from, CommunicableFrom::Day(day(2070, 1, 1)));
        assert!(!c.on(day(2069, 12, 31)));
        assert!(c.on(day(2070, 1, 1)), "communicable on the computed day itself");
        assert_eq!(c.rules[0].rule_id, "ACC-50");
        assert_eq!(c.rules[0].legal[0].article, "L213-2 I 3°");
        assert!(c.reason(day(2026, 1, 1)).contains("2070-01-01"));
    }

    #[test]
    fn an_end_that_cannot_be_computed_closes_the_unit() {
        for kind in [EndKind::Unknown, EndKind::Unlimited] {
            let c = Communicability::of(&unit(vec![
                access(
                    "ACC-25",
                    Some(day(1990, 1, 1)),
                    Some(day(2015, 1, 1)),
                    EndKind::Computed,
                ),
                access("ACC-X", None, None, kind),
            ]));
            assert_eq!(c.from, CommunicableFrom::Never, "{kind:?}");
            assert!(!c.on(day(9999, 1, 1)));
        }
    }

    #[test]
    fn need_authorization_forces_a_derogation() {
        let mut u = unit(vec![access(
            "ACC-0",
            Some(day(2000, 1, 1)),
            Some(day(2000, 1, 1)),
            EndKind::Computed,
        )]);
        u.properties.push(AppliedProperty {
            category: None,
            name: "NeedAuthorization".into(),
            value: serde_json::Value::Bool(true),
            unit_ids: vec!["parent".into()],
            sip_unit_ids: vec![],
            paths: vec![],
            paths_truncated: false,
            implicit: false,
        });
        let c = Communicability::of(&u);
        assert!(c.need_authorization);
        assert!(!c.on(day(2030, 1, 1)));
        assert!(c.reason(day(2030, 1, 1)).contains("NeedAuthorization"));
    }
}
