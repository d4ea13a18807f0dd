//! End dates follow the referential: when an archivist changes a rule's duration, the units
//! using it get their end dates recomputed from the dates they were ingested with, as Vitam
//! does after a rules referential update. `reindex` applies the same to what it rebuilds, so the
//! catalog never goes back to an older referential.

use std::collections::HashMap;

use super::declare::end;
use crate::model::{AppliedRule, Rule, UnitRecord};

/// Recomputes the end of each of `unit`'s rules from the current referential; true if any end,
/// end kind or the unit's rules version changed.
pub fn refresh(unit: &mut UnitRecord, referential: &HashMap<String, Rule>) -> bool {
    let mut changed = false;
    for r in unit.rules.iter_mut().chain(unit.own_rules.iter_mut()) {
        changed |= refresh_rule(r, referential);
    }
    let version = unit
        .own_rules
        .iter()
        .filter_map(|r| referential.get(&r.rule_id).map(|d| d.version))
        .max();
    if version.is_some() && version != unit.rules_version {
        unit.rules_version = version;
        changed = true;
    }
    changed
}

fn refresh_rule(r: &mut AppliedRule, referential: &HashMap<String, Rule>) -> bool {
    // Records from before end kinds cannot tell "unknown" from "unlimited": leave them.
    if r.end_kind.is_none() {
        return false;
    }
    let Some(def) = referential.get(&r.rule_id).filter(|d| d.rule_type == r.category) else {
        return false;
    };
    let hold_end = r.hold.as_ref().and_then(|h| h.hold_end_date);
    let (end_date, kind) = end(def, r.start_date, hold_end);
    let changed = end_date != r.end_date || Some(kind) != r.end_kind;
    r.end_date = end_date;
    r.end_kind = Some(kind);
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EndKind, Measurement, NoDuration};

    #[test]
    fn a_longer_duration_moves_the_end() {
        let mut def = Rule {
            id: "APP-1".into(),
            rule_type: "AppraisalRule".into(),
            value: "v".into(),
            description: String::new(),
            duration: Some(10),
            measurement: Measurement::Year,
            no_duration: NoDuration::Unlimited,
            version: 1,
        };
        let start = chrono::NaiveDate::from_ymd_opt(2020, 3, 1).unwrap();
        let (end_date, kind) = end(&def, Some(start), None);
        let rule = AppliedRule {
            category: "AppraisalRule".into(),
            rule_id: "APP-1".into(),
            start_date: Some(start),
            end_date,
            final_action: Some("Destroy".into()),
            inherited: false,
            end_kind: Some(kind),
            unit_ids: vec!["u".into()],
            sip_unit_ids: vec!["U".into()],
            paths: vec![],
            paths_truncated: false,
            hold: None,
        };
        let mut r = rule.clone();
        assert!(!refresh_rule(
            &mut r,
            &HashMap::from([("APP-1".to_owned(), def.clone())])
        ));
        def.duration = Some(30);
        def.version = 2;
        assert!(refresh_rule(
            &mut r,
            &HashMap::from([("APP-1".to_owned(), def.clone())])
        ));
        assert_eq!(r.end_date, chrono::NaiveDate::from_ymd_opt(2050, 3, 1));
        def.duration = None;
        assert!(refresh_rule(&mut r, &HashMap::from([("APP-1".to_owned(), def)])));
        assert_eq!((r.end_date, r.end_kind), (None, Some(EndKind::Unlimited)));
    }
}
