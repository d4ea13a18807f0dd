//! Management rules in the index: one integer key per applied rule, so "an AppraisalRule ending before 2026 with
//! final action Destroy" is a range over keys of *one* rule, never a mix of one rule's date and another's action.
//!
//! Key layout, high to low bits: category (3 bits), final action (3 bits), then the end day (32 bits, days since
//! 1 January of year 1, or [`NO_END`] for a rule without an end date). A filter is then a union of at most
//! 7 × 7 ranges, one per (category, action) pair it allows.

use std::ops::Bound;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::Field;
use tantivy::Term;

use super::schema::day_number;
use super::SearchError;
use crate::model::RULE_TYPES;

// A category's code is its place in RULE_TYPES, on 3 bits.
const _: () = assert!(RULE_TYPES.len() <= 8);

/// SEDA `FinalAction` code lists (AppraisalRule: Keep, Destroy; StorageRule: RestrictAccess, Transfer, Copy).
/// Code 0 is "no final action", and the last code stands for a value outside these lists.
const ACTIONS: [&str; 5] = ["Keep", "Destroy", "RestrictAccess", "Transfer", "Copy"];
const NO_ACTION: i64 = 0;
const OTHER_ACTION: i64 = ACTIONS.len() as i64 + 1;
/// A rule with no end date (unlimited, or its start unknown): above every real day, so it never falls in a range
/// with an upper bound, and still matches "active on" (the hold filter).
const NO_END: i64 = u32::MAX as i64;
/// 31 December 9999: the last day a bounded end-date range may reach.
const LAST_DAY: i64 = 3_652_059;

/// One applied rule as the index sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDoc {
    /// SEDA category, e.g. `AppraisalRule`.
    pub category: String,
    pub rule_id: String,
    /// The computed end; `None` when the rule has none (unlimited, or its start date is unknown).
    pub end_date: Option<NaiveDate>,
    pub final_action: Option<String>,
}

fn category_code(category: &str) -> Option<i64> {
    RULE_TYPES.iter().position(|c| *c == category).map(|i| i as i64)
}

fn action_code(action: Option<&str>) -> i64 {
    match action {
        None => NO_ACTION,
        Some(a) => ACTIONS
            .iter()
            .position(|x| *x == a)
            .map_or(OTHER_ACTION, |i| i as i64 + 1),
    }
}

fn key(category: i64, action: i64, day: i64) -> i64 {
    (category << 35) | (action << 32) | day
}

/// The rule's key, or `None` for a category outside SEDA's (still findable by `rule_category`).
pub(crate) fn end_key(rule: &RuleDoc) -> Option<i64> {
    let category = category_code(&rule.category)?;
    let day = rule.end_date.map_or(NO_END, |d| day_number(d).clamp(0, LAST_DAY));
    Some(key(category, action_code(rule.final_action.as_deref()), day))
}

/// Which rules a unit must carry at least one of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFilter {
    pub category: Option<String>,
    pub final_action: Option<String>,
    /// The rule's end date lies in `[end_from, end_to]` (inclusive); a rule without an end date never matches.
    pub end_from: Option<NaiveDate>,
    pub end_to: Option<NaiveDate>,
}

impl RuleFilter {
    pub fn is_empty(&self) -> bool {
        self.category.is_none() && self.final_action.is_none() && self.end_from.is_none() && self.end_to.is_none()
    }

    pub(crate) fn check(&self) -> Result<(), SearchError> {
        let invalid = |reason: String| SearchError::InvalidRuleFilter { reason };
        if let Some(c) = &self.category {
            if category_code(c).is_none() {
                return Err(invalid(format!(
                    "rule category `{c}` is not a SEDA category; use one of {}",
                    RULE_TYPES.join(", ")
                )));
            }
        }
        if let Some(a) = &self.final_action {
            let allowed: &[&str] = match self.category.as_deref() {
                Some("AppraisalRule") => &ACTIONS[..2],
                Some("StorageRule") => &ACTIONS[2..],
                Some(c) => {
                    return Err(invalid(format!(
                        "{c} has no final action in SEDA; only AppraisalRule and StorageRule do"
                    )))
                }
                None => &ACTIONS,
            };
            if !allowed.contains(&a.as_str()) {
                return Err(invalid(format!(
                    "final action `{a}` is not allowed here; use one of {}",
                    allowed.join(", ")
                )));
            }
        }
        if let (Some(from), Some(to)) = (self.end_from, self.end_to) {
            if from > to {
                return Err(SearchError::EmptyDateRange { from, to });
            }
        }
        Ok(())
    }

    /// The union of key ranges this filter allows, or `None` when it restricts nothing.
    pub(crate) fn query(&self, field: Field) -> Option<Box<dyn Query>> {
        if self.is_empty() {
            return None;
        }
        let dated = self.end_from.is_some() || self.end_to.is_some();
        let high = match self.end_to {
            Some(d) => day_number(d).clamp(0, LAST_DAY),
            None if dated => LAST_DAY,
            None => NO_END,
        };
        let actions: Vec<i64> = match &self.final_action {
            Some(a) => vec![action_code(Some(a))],
            None => (NO_ACTION..=OTHER_ACTION).collect(),
        };
        Some(self.ranges(field, &actions, high))
    }

    /// Units holding a HoldRule still in force on `day`: it ends on or after `day`, or it has no end date (a hold
    /// without one holds until it is lifted).
    pub(crate) fn hold_on(field: Field, day: NaiveDate) -> Box<dyn Query> {
        let hold = RuleFilter {
            category: Some("HoldRule".into()),
            end_from: Some(day),
            ..RuleFilter::default()
        };
        let actions: Vec<i64> = (NO_ACTION..=OTHER_ACTION).collect();
        hold.ranges(field, &actions, NO_END)
    }

    fn ranges(&self, field: Field, actions: &[i64], high: i64) -> Box<dyn Query> {
        let low = self.end_from.map_or(0, |d| day_number(d).clamp(0, LAST_DAY));
        let categories: Vec<i64> = match &self.category {
            Some(c) => category_code(c).into_iter().collect(),
            None => (0..RULE_TYPES.len() as i64).collect(),
        };
        let mut ranges: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for &c in &categories {
            for &a in actions {
                let lower = Bound::Included(Term::from_field_i64(field, key(c, a, low)));
                let upper = Bound::Included(Term::from_field_i64(field, key(c, a, high)));
                ranges.push((Occur::Should, Box::new(RangeQuery::new(lower, upper))));
            }
        }
        Box::new(BooleanQuery::new(ranges))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(category: &str, end: Option<NaiveDate>, action: Option<&str>) -> RuleDoc {
        RuleDoc {
            category: category.into(),
            rule_id: "R".into(),
            end_date: end,
            final_action: action.map(str::to_string),
        }
    }

    #[test]
    fn keys_keep_categories_and_actions_apart_and_days_in_order() {
        let day = |y| NaiveDate::from_ymd_opt(y, 6, 1);
        let a = end_key(&rule("AppraisalRule", day(2020), Some("Destroy"))).unwrap();
        let b = end_key(&rule("AppraisalRule", day(2030), Some("Destroy"))).unwrap();
        let keep = end_key(&rule("AppraisalRule", day(2020), Some("Keep"))).unwrap();
        let open = end_key(&rule("AppraisalRule", None, Some("Destroy"))).unwrap();
        let access = end_key(&rule("AccessRule", day(2020), None)).unwrap();
        assert!(a < b && b < open, "days order within one (category, action)");
        assert_ne!(a >> 32, keep >> 32);
        assert_ne!(a >> 32, access >> 32);
        assert!(end_key(&rule("MadeUpRule", day(2020), None)).is_none());
        assert_eq!(action_code(Some("Shred")), OTHER_ACTION);
    }

    #[test]
    fn filters_that_cannot_match_are_refused() {
        let f = |c: Option<&str>, a: Option<&str>| RuleFilter {
            category: c.map(str::to_string),
            final_action: a.map(str::to_string),
            ..RuleFilter::default()
        };
        assert!(f(Some("AppraisalRule"), Some("Destroy")).check().is_ok());
        assert!(f(Some("StorageRule"), Some("Copy")).check().is_ok());
        assert!(f(None, Some("Keep")).check().is_ok());
        for (c, a) in [
            (Some("Appraisal"), None),
            (Some("AppraisalRule"), Some("Copy")),
            (Some("AccessRule"), Some("Keep")),
            (None, Some("destroy")),
        ] {
            assert!(
                matches!(f(c, a).check(), Err(SearchError::InvalidRuleFilter { .. })),
                "{c:?} {a:?}"
            );
        }
    }
}
