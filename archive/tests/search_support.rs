//! Builders shared by the search tests (included with `mod search_support;`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use archipel_archive::search::{CatalogSource, CommittedAip, SearchError, UnitChange, UnitDoc};
use chrono::{NaiveDate, TimeZone, Utc};

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

pub fn unit(id: &str, title: &str) -> UnitDoc {
    UnitDoc {
        unit_id: id.to_string(),
        sip_unit_id: format!("ID{id}"),
        transfer_id: "transfer-1".into(),
        aip_id: "aip-1".into(),
        parent_id: None,
        flow: None,
        title: title.to_string(),
        description: String::new(),
        description_level: "File".into(),
        start_date: None,
        end_date: None,
        originating_agency: "FRAD069".into(),
        keywords: Vec::new(),
        text: String::new(),
        ingested_at: Utc
            .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
            .single()
            .expect("valid test instant"),
        rules: Vec::new(),
        communicable_from: None,
    }
}

pub fn dated(id: &str, start: Option<NaiveDate>, end: Option<NaiveDate>) -> UnitDoc {
    UnitDoc {
        start_date: start,
        end_date: end,
        ..unit(id, &format!("unité {id}"))
    }
}

pub fn ids(page: &archipel_archive::search::SearchPage) -> Vec<String> {
    let mut ids: Vec<String> = page.hits.iter().map(|h| h.unit_id.clone()).collect();
    ids.sort();
    ids
}

/// A catalog in memory, as a front's index syncs from it: AIPs by id, a generation bumped by every change, and
/// counters of what a sync read.
#[derive(Default)]
pub struct FakeCatalog {
    aips: Mutex<BTreeMap<String, Vec<UnitDoc>>>,
    generation: Mutex<i64>,
    /// Descriptors read (AIPs whose units were fetched).
    pub reads: AtomicUsize,
    /// Reading this AIP's units fails, as a cluster outage would.
    pub failing: Mutex<Option<String>>,
    /// Change records of units changed in place, in key order.
    changes: Mutex<Vec<UnitChange>>,
}

impl FakeCatalog {
    /// Commits an AIP of `n` units `{aip}-u{i}`, titled after the AIP.
    pub fn commit(&self, aip: &str, n: usize) {
        let units = (0..n)
            .map(|i| UnitDoc {
                aip_id: aip.to_string(),
                ..unit(&format!("{aip}-u{i}"), &format!("registre {aip}"))
            })
            .collect();
        self.commit_units(aip, units);
    }

    pub fn commit_units(&self, aip: &str, units: Vec<UnitDoc>) {
        self.aips.lock().unwrap().insert(aip.to_string(), units);
        *self.generation.lock().unwrap() += 1;
    }

    pub fn remove(&self, aip: &str) {
        self.aips.lock().unwrap().remove(aip);
        *self.generation.lock().unwrap() += 1;
    }

    /// Replaces a committed unit in place (same id, same AIP), as a rule modification does: the change record
    /// first, stamped `at` by the writing front's clock, then the record, then the generation.
    pub fn change_in_place(&self, unit: UnitDoc, at: i64) {
        let mut changes = self.changes.lock().unwrap();
        let key = format!("{at:020}-{:04}", changes.len());
        changes.push(UnitChange {
            key,
            at,
            unit_ids: vec![unit.unit_id.clone()],
        });
        changes.sort_by(|a, b| a.key.cmp(&b.key));
        let mut aips = self.aips.lock().unwrap();
        let units = aips.get_mut(&unit.aip_id).expect("the unit's AIP is committed");
        let slot = units
            .iter_mut()
            .find(|u| u.unit_id == unit.unit_id)
            .expect("the unit is in its AIP");
        *slot = unit;
        *self.generation.lock().unwrap() += 1;
    }

    /// The units of a committed AIP, as they are now.
    pub fn units_of(&self, aip: &str) -> Vec<UnitDoc> {
        self.aips.lock().unwrap().get(aip).cloned().unwrap_or_default()
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
pub struct FakeError(pub String);

impl From<SearchError> for FakeError {
    fn from(e: SearchError) -> Self {
        FakeError(e.to_string())
    }
}

#[async_trait::async_trait]
impl CatalogSource for FakeCatalog {
    type Error = FakeError;

    async fn generation(&self) -> Result<i64, FakeError> {
        Ok(*self.generation.lock().unwrap())
    }

    async fn committed_after(&self, after: &str, limit: usize) -> Result<Vec<CommittedAip>, FakeError> {
        let aips = self.aips.lock().unwrap();
        Ok(aips
            .iter()
            .filter(|(id, _)| id.as_str() > after)
            .take(limit)
            .map(|(id, units)| CommittedAip {
                aip_id: id.clone(),
                units: units.len(),
            })
            .collect())
    }

    async fn units(&self, aip_id: &str) -> Result<Vec<UnitDoc>, FakeError> {
        if self.failing.lock().unwrap().as_deref() == Some(aip_id) {
            return Err(FakeError(format!("cluster unavailable while reading {aip_id}")));
        }
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.aips.lock().unwrap().get(aip_id).cloned().unwrap_or_default())
    }

    async fn unit_changes(&self, since: i64, after: &str, limit: usize) -> Result<Vec<UnitChange>, FakeError> {
        let changes = self.changes.lock().unwrap();
        Ok(changes
            .iter()
            .filter(|c| c.at >= since && c.key.as_str() > after)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn unit(&self, unit_id: &str) -> Result<Option<UnitDoc>, FakeError> {
        let aips = self.aips.lock().unwrap();
        Ok(aips.values().flatten().find(|u| u.unit_id == unit_id).cloned())
    }
}
