//! The last elimination analysis of each tenant, reused while nothing it depends on changed:
//! the same copy of the catalog (the very same `Units`, which a catalog write replaces), the
//! same open communications and the same date. The analysis is a pure function of these.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use chrono::NaiveDate;

use super::Analysis;
use crate::catalog_copy::{Units, MAX_COPIED_UNITS};
use crate::model::UnitRecord;

struct Last {
    /// Weak: the analysis must not keep a replaced copy's units alive; holding the allocation
    /// also keeps a new copy from taking its address.
    units: Weak<HashMap<String, UnitRecord>>,
    communications: HashMap<String, Vec<String>>,
    at: NaiveDate,
    analysis: Arc<Analysis>,
}

#[derive(Default)]
pub struct Analyses {
    last: Mutex<HashMap<String, Last>>,
}

impl Analyses {
    /// The analysis of these inputs if it is the tenant's last one.
    pub fn get(
        &self,
        tenant: &str,
        units: &Units,
        communications: &HashMap<String, Vec<String>>,
        at: NaiveDate,
    ) -> Option<Arc<Analysis>> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let l = last.get(tenant)?;
        (Weak::ptr_eq(&l.units, &Arc::downgrade(units)) && l.at == at && &l.communications == communications)
            .then(|| l.analysis.clone())
    }

    pub fn keep(
        &self,
        tenant: &str,
        units: Units,
        communications: HashMap<String, Vec<String>>,
        at: NaiveDate,
        analysis: Arc<Analysis>,
    ) {
        if units.len() > MAX_COPIED_UNITS {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.insert(
            tenant.to_owned(),
            Last {
                units: Arc::downgrade(&units),
                communications,
                at,
                analysis,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis() -> Arc<Analysis> {
        Arc::new(Analysis {
            tenant: "t".into(),
            at: day(1),
            considered: 0,
            destroy: 0,
            conflict: 0,
            units: Vec::new(),
        })
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2030, 1, d).expect("a date")
    }

    #[test]
    fn reused_only_for_the_same_copy_communications_and_date() {
        let cache = Analyses::default();
        let units: Units = Arc::new(HashMap::new());
        let open: HashMap<String, Vec<String>> = HashMap::from([("u1".into(), vec!["c1".into()])]);
        let done = analysis();
        cache.keep("t", units.clone(), open.clone(), day(1), done.clone());
        let again = cache.get("t", &units, &open, day(1)).expect("same inputs");
        assert!(Arc::ptr_eq(&again, &done));
        // A new copy of the catalog (any catalog write), even with equal contents: recomputed.
        assert!(cache.get("t", &Arc::new(HashMap::new()), &open, day(1)).is_none());
        assert!(
            cache.get("t", &units, &HashMap::new(), day(1)).is_none(),
            "a communication closed"
        );
        assert!(cache.get("t", &units, &open, day(2)).is_none(), "another date");
        assert!(cache.get("other", &units, &open, day(1)).is_none(), "another tenant");
    }
}
