//! Usage for the partners' cost sharing (convention de mutualisation): per tenant, per flow and
//! per month, what is held at the month's end (units, objects, logical bytes, bytes stored with
//! the erasure-coding overhead), what came in and went out during the month, and what was read
//! (communications of originals, from the logbook's `access.object` entries).
//!
//! Computed from the catalog, the elimination records and the logbook, like the register.
//! Stored bytes apply the namespace's current profile (k+m ⇒ ×(k+m)/k) to the logical bytes.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::error::{ArchiveError, Result};
use crate::model::UnitRecord;
use crate::service::Archive;

pub const NO_FLOW: &str = "(aucun flux)";

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct UsageRow {
    pub tenant: String,
    pub flow: String,
    pub month: String,
    /// Held at the end of the month.
    pub units: u64,
    pub objects: u64,
    pub logical_bytes: u64,
    pub stored_bytes: u64,
    /// Ingested during the month.
    pub units_in: u64,
    pub bytes_in: u64,
    /// Eliminated during the month.
    pub units_out: u64,
    pub bytes_out: u64,
    /// Originals communicated during the month.
    pub reads: u64,
    pub bytes_read: u64,
}

pub const CSV_HEADER: &str =
    "tenant,flow,month,units,objects,logical_bytes,stored_bytes,units_in,bytes_in,units_out,bytes_out,reads,bytes_read";

impl UsageRow {
    pub fn csv(&self) -> String {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            quote(&self.tenant),
            quote(&self.flow),
            self.month,
            self.units,
            self.objects,
            self.logical_bytes,
            self.stored_bytes,
            self.units_in,
            self.bytes_in,
            self.units_out,
            self.bytes_out,
            self.reads,
            self.bytes_read
        )
    }
}

/// `YYYY-MM` → [start, end) in UTC.
pub fn month_bounds(month: &str) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let bad = || ArchiveError::Invalid(format!("month `{month}` is not YYYY-MM (e.g. 2026-11)"));
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let start = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
    let end = start.checked_add_months(chrono::Months::new(1)).ok_or_else(bad)?;
    let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    Ok((at(start), at(end)))
}

/// (k+m)/k of a profile written "k+m"; 1 when unknown.
pub fn overhead(profile: &str) -> (u64, u64) {
    match profile
        .split_once('+')
        .map(|(k, m)| (k.trim().parse::<u64>(), m.trim().parse::<u64>()))
    {
        Some((Ok(k), Ok(m))) if k > 0 => (k + m, k),
        _ => (1, 1),
    }
}

fn flow(u: &UnitRecord) -> String {
    u.flow.clone().unwrap_or_else(|| NO_FLOW.into())
}

fn bytes(u: &UnitRecord, seen: &mut HashSet<String>) -> (u64, u64) {
    let mut objects = 0;
    let mut size = 0;
    for o in &u.objects {
        if seen.insert(o.id.clone()) {
            objects += 1;
            size += o.size;
        }
    }
    (objects, size)
}

fn row<'r>(rows: &'r mut BTreeMap<String, UsageRow>, tenant: &str, month: &str, flow: String) -> &'r mut UsageRow {
    rows.entry(flow.clone()).or_insert_with(|| UsageRow {
        tenant: tenant.into(),
        flow,
        month: month.into(),
        ..Default::default()
    })
}

fn hold(r: &mut UsageRow, u: &UnitRecord, seen: &mut HashSet<String>) {
    let (o, b) = bytes(u, seen);
    r.units += 1;
    r.objects += o;
    r.logical_bytes += b;
}

fn came_in(r: &mut UsageRow, u: &UnitRecord, seen: &mut HashSet<String>) {
    let (_, b) = bytes(u, seen);
    r.units_in += 1;
    r.bytes_in += b;
}

/// The first sequence number in `1..=last` whose entry is at or after `at` (`last + 1` if none),
/// by bisection: times never go backwards along a logbook chain (`logbook::book`).
async fn first_seq_at<F, Fut>(last: u64, at: DateTime<Utc>, time_of: F) -> Result<u64>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<Option<DateTime<Utc>>>>,
{
    let (mut lo, mut hi) = (1, last + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match time_of(mid).await? {
            Some(t) if t < at => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// The usage of `tenant` in `month` (YYYY-MM), one row per flow.
pub async fn usage(a: &Archive, tenant: &str, month: &str) -> Result<Vec<UsageRow>> {
    let (start, end) = month_bounds(month)?;
    let t = a.refs.tenant(tenant).await?;
    let ns = a.store.client().namespace(&t.namespace).await?;
    let (num, den) = overhead(&ns.effective_profile);
    let units = super::all_units(a, tenant).await?;
    let records = super::register::elimination_records(a, &t.namespace).await?;
    let mut rows: BTreeMap<String, UsageRow> = BTreeMap::new();
    let (mut held_seen, mut in_seen, mut out_seen) = (HashSet::new(), HashSet::new(), HashSet::new());
    let mut flows: HashMap<String, String> = HashMap::new();
    for u in units.values() {
        flows.insert(u.id.clone(), flow(u));
        if u.ingested_at >= end {
            continue;
        }
        let r = row(&mut rows, tenant, month, flow(u));
        hold(r, u, &mut held_seen);
        if u.ingested_at >= start {
            came_in(r, u, &mut in_seen);
        }
    }
    for rec in &records {
        for u in &rec.units {
            flows.insert(u.id.clone(), flow(u));
            if u.ingested_at >= end {
                continue;
            }
            let r = row(&mut rows, tenant, month, flow(u));
            if rec.executed_at >= end {
                hold(r, u, &mut held_seen);
            }
            if u.ingested_at >= start {
                came_in(r, u, &mut in_seen);
            }
            if rec.executed_at >= start && rec.executed_at < end {
                let (_, b) = bytes(u, &mut out_seen);
                r.units_out += 1;
                r.bytes_out += b;
            }
        }
    }
    // Reads: the logbook's communications of originals in the month, read from the month's
    // first entry on (not the whole logbook: it grows with every page viewed).
    let last_seq = a.journal.last_seq(tenant).await?;
    let mut from = first_seq_at(last_seq, start, |seq| async move {
        Ok(a.journal.entries(tenant, seq, 1).await?.first().map(|e| e.time))
    })
    .await?;
    'pages: loop {
        let page = a.journal.entries(tenant, from, 1000).await?;
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        for e in &page {
            if e.time >= end {
                break 'pages;
            }
            if e.event_type != "access.object" || e.time < start {
                continue;
            }
            let unit = e.detail["unit"].as_str().unwrap_or_default();
            let f = flows.get(unit).cloned().unwrap_or_else(|| NO_FLOW.into());
            let r = row(&mut rows, tenant, month, f);
            r.reads += 1;
            r.bytes_read += e.detail["size"].as_u64().unwrap_or(0);
        }
        if page.len() < 1000 {
            break;
        }
    }
    let mut out: Vec<UsageRow> = rows.into_values().collect();
    for r in &mut out {
        r.stored_bytes = r.logical_bytes.saturating_mul(num) / den;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_months_first_entry_is_found_by_bisection() {
        let day = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap();
        // Seq 1..=7; equal times happen (one batch, or a front whose clock lags the chain's).
        let times = [day(1), day(3), day(3), day(5), day(5), day(5), day(9)];
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let time_of = |seq: u64| {
            reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let t = times.get(seq as usize - 1).copied();
            async move { Ok(t) }
        };
        let last = times.len() as u64;
        for (at, want) in [
            (day(1), 1),
            (day(2), 2),
            (day(3), 2),
            (day(4), 4),
            (day(5), 4),
            (day(6), 7),
            (day(10), 8),
        ] {
            assert_eq!(first_seq_at(last, at, time_of).await.unwrap(), want, "{at}");
        }
        assert_eq!(first_seq_at(0, day(1), time_of).await.unwrap(), 1, "an empty logbook");
        assert!(reads.into_inner() <= 7 * 3, "logarithmic, not a scan");
    }

    #[test]
    fn months_and_profiles() {
        let (s, e) = month_bounds("2026-11").unwrap();
        assert_eq!(s.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(
            month_bounds("2026-12").unwrap().1.to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
        for bad in ["2026", "2026-13", "x-01", "2026-00"] {
            assert!(month_bounds(bad).is_err(), "{bad}");
        }
        assert_eq!(overhead("4+2"), (6, 4));
        assert_eq!(overhead(""), (1, 1));
        let row = UsageRow {
            tenant: "t".into(),
            flow: "a,b".into(),
            month: "2026-11".into(),
            ..Default::default()
        };
        assert!(row.csv().starts_with("t,\"a,b\",2026-11,0"));
    }
}
