//! A front's in-memory copy of each tenant's visible units, for the pages and operations that
//! must read them all (elimination analysis, accession register, usage, audits).
//!
//! Exact, not merely recent: every write to a unit or AIP record also changes the tenant's
//! catalog token in the same transaction (`store::Store`), and a copy is used only while the
//! token is still the one read *before* the copy was made. A write racing the copy changes the
//! token, so that copy is never used again. A maximum age covers hand edits made with
//! `archipel meta`, which bypass the token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::model::UnitRecord;

/// Units per tenant above which no copy is kept (each request then reads the catalog).
pub const MAX_COPIED_UNITS: usize = 200_000;
/// Units kept in copies over all tenants; the least recently used copies go first.
const MAX_TOTAL_UNITS: usize = 400_000;
/// A copy older than this is read again even if the token did not change.
const MAX_AGE: Duration = Duration::from_secs(600);

pub type Units = Arc<HashMap<String, UnitRecord>>;

pub(crate) struct Snapshot {
    token: String,
    units: Units,
    made: Instant,
    used: Instant,
}

/// One lock per tenant, so that concurrent readers of a stale copy wait for one reading of
/// the catalog instead of each making their own.
#[derive(Default)]
pub struct CatalogCopies {
    tenants: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Snapshot>>>>>,
}

impl CatalogCopies {
    /// The lock guarding `tenant`'s copy.
    pub(crate) fn slot(&self, tenant: &str) -> Arc<tokio::sync::Mutex<Option<Snapshot>>> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.entry(tenant.to_owned()).or_default().clone()
    }

    /// Drops the least recently used copies of other tenants until `incoming` more units fit.
    fn make_room(&self, tenant: &str, incoming: usize) {
        let slots: Vec<(String, Arc<tokio::sync::Mutex<Option<Snapshot>>>)> = {
            let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            tenants
                .iter()
                .filter(|(t, _)| t.as_str() != tenant)
                .map(|(t, s)| (t.clone(), s.clone()))
                .collect()
        };
        // Copies being made or read right now are skipped, not waited for.
        let mut held: Vec<(Instant, usize, tokio::sync::OwnedMutexGuard<Option<Snapshot>>)> = slots
            .into_iter()
            .filter_map(|(_, s)| s.try_lock_owned().ok())
            .filter_map(|g| g.as_ref().map(|c| (c.used, c.units.len())).map(|(u, n)| (u, n, g)))
            .collect();
        let mut total: usize = held.iter().map(|(_, n, _)| n).sum::<usize>() + incoming;
        held.sort_by_key(|(used, _, _)| *used);
        for (_, n, mut g) in held {
            if total <= MAX_TOTAL_UNITS {
                break;
            }
            *g = None;
            total -= n;
        }
    }
}

/// The copy in `slot` if it was made under `token` and is young enough.
pub(crate) fn current(slot: &mut Option<Snapshot>, token: &str) -> Option<Units> {
    let c = slot.as_mut()?;
    if c.token != token || c.made.elapsed() > MAX_AGE {
        return None;
    }
    c.used = Instant::now();
    Some(c.units.clone())
}

/// Keeps `units`, read after `token`, as the tenant's copy (unless too large).
pub(crate) fn keep(copies: &CatalogCopies, tenant: &str, slot: &mut Option<Snapshot>, token: String, units: &Units) {
    if units.len() > MAX_COPIED_UNITS {
        *slot = None;
        return;
    }
    copies.make_room(tenant, units.len());
    let now = Instant::now();
    *slot = Some(Snapshot {
        token,
        units: units.clone(),
        made: now,
        used: now,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: usize) -> Units {
        let one: UnitRecord = serde_json::from_value(serde_json::json!({
                "id": "u", "sip_id": "s", "tenant": "t", "aip_id": "a", "transfer_id": "x",
                "parent_id": null, "flow": null, "agreement": null, "title": "t", "description": null,
                "level": null, "start_date": null, "end_date": null, "originating_agency": null,
                "keywords": [], "rules": [], "objects": [], "content": null,
                "ingested_at": "2026-01-01T00:00:00Z"
        }))
        .expect("a unit record");
        Arc::new((0..n).map(|i| (format!("u{i}"), one.clone())).collect())
    }

    #[tokio::test]
    async fn a_copy_serves_only_its_own_token() {
        let copies = CatalogCopies::default();
        let slot = copies.slot("t");
        let mut slot = slot.lock().await;
        assert!(current(&mut slot, "").is_none(), "nothing copied yet");
        keep(&copies, "t", &mut slot, "token-1".into(), &units(3));
        assert_eq!(current(&mut slot, "token-1").map(|u| u.len()), Some(3));
        // Any catalog write changes the token: the copy is not used again.
        assert!(current(&mut slot, "token-2").is_none());
    }

    #[tokio::test]
    async fn too_large_a_catalog_is_not_copied() {
        let copies = CatalogCopies::default();
        let slot = copies.slot("t");
        let mut slot = slot.lock().await;
        keep(&copies, "t", &mut slot, "k".into(), &units(MAX_COPIED_UNITS + 1));
        assert!(current(&mut slot, "k").is_none());
    }

    #[tokio::test]
    async fn other_tenants_copies_make_room_least_recently_used_first() {
        let copies = CatalogCopies::default();
        let big = units(MAX_COPIED_UNITS);
        for t in ["old", "recent"] {
            let slot = copies.slot(t);
            keep(&copies, t, &mut *slot.lock().await, "k".into(), &big);
            // Distinct instants of use, whatever the clock's resolution.
            std::thread::sleep(Duration::from_millis(2));
        }
        // Used last: kept.
        assert!(current(&mut *copies.slot("recent").lock().await, "k").is_some());
        std::thread::sleep(Duration::from_millis(2));
        let slot = copies.slot("new");
        keep(&copies, "new", &mut *slot.lock().await, "k".into(), &units(10));
        assert!(
            current(&mut *copies.slot("old").lock().await, "k").is_none(),
            "least recently used goes"
        );
        assert!(current(&mut *copies.slot("recent").lock().await, "k").is_some());
        assert!(current(&mut *slot.lock().await, "k").is_some());
    }
}
