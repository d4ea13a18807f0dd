//! The catalog: one record per archive unit, in the cluster, plus one commit record per AIP.
//! Units become visible only when their AIP's commit record exists, so a transfer that failed
//! half-way never shows. The catalog is a projection: [`Catalog::reindex`] rebuilds it from
//! the AIP descriptors in the object store alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::catalog_copy::{self, CatalogCopies, Units};
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{AipDescriptor, Rule, UnitRecord, AIP_FORMAT};
use crate::store::{Expect, Store, Write};

/// Unit records per transaction, and bytes: inside the cluster's limits (1000 operations, 4 MiB).
const UNITS_PER_TXN: usize = 100;
const BYTES_PER_TXN: usize = 3 << 20;
/// Unit-record transactions of one AIP in flight at once.
const UNIT_TXNS_IN_FLIGHT: usize = 4;

/// Splits writes into transactions the cluster accepts.
pub(crate) fn batches(writes: Vec<Write>) -> Vec<Vec<Write>> {
    let mut out: Vec<Vec<Write>> = vec![];
    let mut bytes = 0;
    for w in writes {
        let size = match &w {
            Write::Put(k, v) => k.len() + v.len(),
            Write::Delete(k) => k.len(),
        };
        match out.last_mut() {
            Some(b) if b.len() < UNITS_PER_TXN && bytes + size <= BYTES_PER_TXN => {
                bytes += size;
                b.push(w);
            }
            _ => {
                bytes = size;
                out.push(vec![w]);
            }
        }
    }
    out
}

fn unit_writes(tenant: &str, units: &[UnitRecord]) -> Result<Vec<Write>> {
    units.iter().map(|u| Write::put(keys::unit(tenant, &u.id), u)).collect()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AipRecord {
    pub aip_id: String,
    pub transfer_id: String,
    pub units: usize,
    pub committed_at: DateTime<Utc>,
}

/// What a rebuild found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReindexReport {
    pub aips: usize,
    pub units: usize,
    /// AIP directories without a descriptor: interrupted transfers, never visible.
    pub incomplete: Vec<String>,
    /// Catalog records with no AIP behind them, removed.
    pub removed_units: usize,
    /// Complete AIPs whose transfer ended KO (stopped between its descriptor and its commit):
    /// never made visible.
    #[serde(default)]
    pub abandoned: Vec<String>,
}

/// Unit records changed in place (end dates recomputed, units eliminated from an AIP): search
/// indexes are fed from AIP descriptors, which do not change, so every front's sync reads these
/// and re-reads the units they name (`search::sync`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnitChange {
    pub unit_ids: Vec<String>,
    /// The writing front's clock, microseconds.
    pub at: i64,
}

/// Unit ids per change record (a record stays well under the cluster's value limit).
const IDS_PER_CHANGE: usize = 2000;

/// [`Catalog::note_changes`], for code holding only the store.
pub async fn note_unit_changes(store: &Store, tenant: &str, ids: &[String]) -> Result<()> {
    for chunk in ids.chunks(IDS_PER_CHANGE) {
        let at = Utc::now().timestamp_micros();
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let change = UnitChange {
            unit_ids: chunk.to_vec(),
            at,
        };
        store.put(&keys::unit_change(tenant, at, &tag[..16]), &change).await?;
    }
    Ok(())
}

/// Records younger than this may belong to a transfer still committing: a reindex leaves them.
const IN_FLIGHT: chrono::Duration = chrono::Duration::minutes(15);

pub struct Catalog {
    store: Store,
    copies: CatalogCopies,
}

impl Catalog {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            copies: CatalogCopies::default(),
        }
    }

    /// Every visible unit of a tenant, by id: this front's copy while the catalog has not
    /// changed since it was made (see `catalog_copy`), else read from the cluster.
    pub async fn units(&self, tenant: &str) -> Result<Units> {
        let slot = self.copies.slot(tenant);
        let mut slot = slot.lock().await;
        // Read before the units: a write after this point changes it, and the copy made
        // below is then never used.
        let token = self.token(tenant).await?;
        if let Some(units) = catalog_copy::current(&mut slot, &token) {
            return Ok(units);
        }
        let units = Arc::new(self.read_units(tenant).await?);
        catalog_copy::keep(&self.copies, tenant, &mut slot, token, &units);
        Ok(units)
    }

    /// Every visible unit of a tenant, by id, read from the cluster now: for integrity checks,
    /// which must see what the cluster holds even if it was changed behind the archive's back.
    pub async fn read_units(&self, tenant: &str) -> Result<HashMap<String, UnitRecord>> {
        let mut units = HashMap::new();
        self.each_unit(tenant, |u| {
            units.insert(u.id.clone(), u);
            Ok(())
        })
        .await?;
        Ok(units)
    }

    /// Writes the units of an AIP, then its commit record. Returns false if the AIP was
    /// already committed (a retry after an unknown outcome). `claim`, when given, must still
    /// hold at the commit (the transfer's message is still its own): otherwise nothing is
    /// committed and the error says so.
    pub async fn commit(
        &self,
        tenant: &str,
        aip_id: &str,
        transfer_id: &str,
        units: &[UnitRecord],
        claim: Option<Expect>,
    ) -> Result<bool> {
        let record_key = keys::aip(tenant, aip_id);
        let mut guard = vec![Expect::Absent(record_key.clone())];
        guard.extend(claim);
        // Each batch is its own transaction, conditioned on the AIP not being committed yet:
        // they go in parallel, and the node groups them into fewer Raft entries.
        let writes = batches(unit_writes(tenant, units)?).into_iter().map(|batch| {
            let guard = guard.clone();
            async move { self.store.atomically(&guard, batch).await }
        });
        let results: Vec<_> = futures::stream::iter(writes)
            .buffer_unordered(UNIT_TXNS_IN_FLIGHT)
            .collect()
            .await;
        for r in results {
            r?;
        }
        let record = AipRecord {
            aip_id: aip_id.into(),
            transfer_id: transfer_id.into(),
            units: units.len(),
            committed_at: Utc::now(),
        };
        let committed = self
            .store
            .atomically(
                &guard,
                vec![
                    Write::put(record_key.clone(), &record)?,
                    Write::put(keys::catalog_generation(tenant), &Utc::now().timestamp_micros())?,
                ],
            )
            .await?;
        if !committed && guard.len() > 1 && self.store.get::<AipRecord>(&record_key).await?.is_none() {
            return Err(ArchiveError::Conflict(
                "the transfer's MessageIdentifier was taken over by another transfer while this one was silent \
                 (its front was taken for stopped); nothing was committed: look the message up to find the \
                 transfer that holds it"
                    .into(),
            ));
        }
        Ok(committed)
    }

    /// Removes the unit records of an AIP that never committed.
    pub async fn discard(&self, tenant: &str, units: &[UnitRecord]) -> Result<()> {
        for chunk in units.chunks(UNITS_PER_TXN) {
            let writes = chunk.iter().map(|u| Write::Delete(keys::unit(tenant, &u.id))).collect();
            self.store.atomically(&[], writes).await?;
        }
        Ok(())
    }

    pub async fn committed_aips(&self, tenant: &str) -> Result<HashSet<String>> {
        Ok(self
            .store
            .scan::<AipRecord>(&keys::aips(tenant))
            .await?
            .into_iter()
            .map(|(_, r)| r.aip_id)
            .collect())
    }

    /// A visible unit, or NotFound.
    pub async fn unit(&self, tenant: &str, id: &str) -> Result<UnitRecord> {
        let not_found = || ArchiveError::NotFound(format!("archive unit `{id}`"));
        let unit = self
            .store
            .get::<UnitRecord>(&keys::unit(tenant, id))
            .await?
            .ok_or_else(not_found)?
            .value;
        if self
            .store
            .get::<AipRecord>(&keys::aip(tenant, &unit.aip_id))
            .await?
            .is_none()
        {
            return Err(not_found());
        }
        Ok(unit)
    }

    /// The visible units among `ids`, in their order (None: unknown or not visible). From this
    /// front's copy of the catalog when it is current, else read concurrently, each AIP's
    /// commit record once.
    pub async fn units_by_id(&self, tenant: &str, ids: &[String]) -> Result<Vec<Option<UnitRecord>>> {
        {
            let slot = self.copies.slot(tenant);
            // A copy being made now is not waited for: reading the named units is quicker.
            if let Ok(mut slot) = slot.try_lock_owned() {
                let token = self.token(tenant).await?;
                if let Some(units) = catalog_copy::current(&mut slot, &token) {
                    return Ok(ids.iter().map(|id| units.get(id).cloned()).collect());
                }
            }
        }
        let unit_keys: Vec<String> = ids.iter().map(|id| keys::unit(tenant, id)).collect();
        let records: Vec<Option<UnitRecord>> = self
            .store
            .get_many::<UnitRecord>(&unit_keys)
            .await?
            .into_iter()
            .map(|v| v.map(|v| v.value))
            .collect();
        let aips: Vec<String> = records
            .iter()
            .flatten()
            .map(|u| u.aip_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let aip_keys: Vec<String> = aips.iter().map(|aip| keys::aip(tenant, aip)).collect();
        let committed: HashSet<&str> = aips
            .iter()
            // Only whether each commit record exists matters: its contents are not decoded.
            .zip(self.store.get_many::<serde::de::IgnoredAny>(&aip_keys).await?)
            .filter(|(_, found)| found.is_some())
            .map(|(aip, _)| aip.as_str())
            .collect();
        Ok(records
            .iter()
            .map(|u| u.as_ref().filter(|u| committed.contains(u.aip_id.as_str())).cloned())
            .collect())
    }

    async fn token(&self, tenant: &str) -> Result<String> {
        Ok(self
            .store
            .get::<String>(&keys::catalog_token(tenant))
            .await?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    /// Every visible unit of a tenant, streamed to `f`.
    pub async fn each_unit(&self, tenant: &str, mut f: impl FnMut(UnitRecord) -> Result<()>) -> Result<()> {
        let committed = self.committed_aips(tenant).await?;
        self.store
            .scan_each::<UnitRecord>(&keys::units(tenant), |_, u| {
                if committed.contains(&u.aip_id) {
                    f(u)?;
                }
                Ok(())
            })
            .await
    }

    /// The tenant's rules referential, by id.
    async fn rules_referential(&self, tenant: &str) -> Result<HashMap<String, Rule>> {
        Ok(self
            .store
            .scan::<Rule>(&keys::referentials(tenant, crate::referentials::RULE))
            .await?
            .into_iter()
            .map(|(_, r)| (r.id.clone(), r))
            .collect())
    }

    /// Recomputes the end dates of every visible unit using one of `rule_ids`, after the
    /// referential changed them. Returns the units rewritten.
    /// Records that the units `ids` of `tenant` were changed (or removed) in place, for other
    /// fronts' search indexes. Written before the change itself: a change record for a change
    /// that then fails only makes a sync re-read unchanged units.
    pub async fn note_changes(&self, tenant: &str, ids: &[String]) -> Result<()> {
        note_unit_changes(&self.store, tenant, ids).await
    }

    pub async fn recompute_rules(&self, tenant: &str, rule_ids: &HashSet<String>) -> Result<Vec<UnitRecord>> {
        if rule_ids.is_empty() {
            return Ok(Vec::new());
        }
        let referential = self.rules_referential(tenant).await?;
        let mut changed = Vec::new();
        self.each_unit(tenant, |mut u| {
            let uses = u
                .rules
                .iter()
                .chain(&u.own_rules)
                .any(|r| rule_ids.contains(&r.rule_id));
            if uses && crate::rules::recompute::refresh(&mut u, &referential) {
                changed.push(u);
            }
            Ok(())
        })
        .await?;
        let ids: Vec<String> = changed.iter().map(|u| u.id.clone()).collect();
        self.note_changes(tenant, &ids).await?;
        for batch in batches(unit_writes(tenant, &changed)?) {
            self.store.atomically(&[], batch).await?;
        }
        if !changed.is_empty() {
            self.store
                .put(&keys::catalog_generation(tenant), &Utc::now().timestamp_micros())
                .await?;
        }
        Ok(changed)
    }

    pub async fn generation(&self, tenant: &str) -> Result<i64> {
        Ok(self
            .store
            .get::<i64>(&keys::catalog_generation(tenant))
            .await?
            .map(|v| v.value)
            .unwrap_or(0))
    }

    /// Whether the transfer that wrote an AIP ended KO; a missing record (the catalog itself was
    /// lost) leaves the descriptor as the truth.
    async fn transfer_failed(&self, tenant: &str, transfer_id: &str) -> Result<bool> {
        let Some(t) = self
            .store
            .get::<crate::model::Transfer>(&keys::transfer(tenant, transfer_id))
            .await?
            .map(|v| v.value)
        else {
            return Ok(false);
        };
        if t.status.is_final() {
            return Ok(t.status == crate::model::TransferStatus::Ko);
        }
        // Still running by its record: failed if its front stopped beating long ago.
        let beat = self
            .store
            .get::<DateTime<Utc>>(&keys::transfer_beat(tenant, transfer_id))
            .await?
            .map_or(t.heartbeat, |b| b.value.max(t.heartbeat));
        Ok(Utc::now() - beat > IN_FLIGHT)
    }

    /// Rebuilds the tenant's catalog from the AIP descriptors in its object namespace: records
    /// missing from the catalog are written, records without an AIP are removed.
    pub async fn reindex(&self, tenant: &str, namespace: &str) -> Result<ReindexReport> {
        let started = Utc::now();
        let client = self.store.client();
        let mut report = ReindexReport::default();
        let mut seen_units = HashSet::new();
        let mut seen_aips = HashSet::new();
        let mut after = String::new();
        // End dates follow the current referential, not the one of the ingest.
        let referential = self.rules_referential(tenant).await?;
        loop {
            let (page, _) = client.list_objects(namespace, "aip/", &after, 1).await?;
            let Some(info) = page.into_iter().next() else { break };
            let Some(aip_id) = info.key.strip_prefix("aip/").and_then(|r| r.split('/').next()) else {
                after = info.key.clone();
                continue;
            };
            let aip_id = aip_id.to_owned();
            // Skip the rest of this AIP's objects: nothing after its descriptor matters here.
            after = format!("aip/{aip_id}/~");
            if info.key != keys::aip_descriptor(&aip_id) {
                report.incomplete.push(aip_id);
                continue;
            }
            let mut bytes = Vec::new();
            client
                .get_object(namespace, &info.key, 0, None, &mut bytes, None)
                .await?;
            let mut d: AipDescriptor = serde_json::from_slice(&bytes)
                .map_err(|e| ArchiveError::Internal(format!("AIP descriptor `{}` is unreadable: {e}", info.key)))?;
            if d.format != AIP_FORMAT || d.tenant != tenant || d.aip_id != aip_id {
                return Err(ArchiveError::Internal(format!(
                    "AIP descriptor `{}` does not describe AIP `{aip_id}` of tenant `{tenant}` in format {AIP_FORMAT}",
                    info.key
                )));
            }
            let record_key = keys::aip(tenant, &aip_id);
            let committed = self.store.get::<AipRecord>(&record_key).await?.is_some();
            if !committed && self.transfer_failed(tenant, &d.transfer_id).await? {
                report.abandoned.push(aip_id);
                continue;
            }
            for u in &mut d.units {
                seen_units.insert(u.id.clone());
                crate::rules::recompute::refresh(u, &referential);
            }
            seen_aips.insert(aip_id.clone());
            report.units += d.units.len();
            report.aips += 1;
            if !committed {
                self.commit(tenant, &aip_id, &d.transfer_id, &d.units, None).await?;
            } else {
                // Rewrite the unit records: the descriptor is the truth.
                for batch in batches(unit_writes(tenant, &d.units)?) {
                    self.store.atomically(&[], batch).await?;
                }
            }
        }
        // A transfer committing while this ran has records this pass did not see: only what is
        // older than any commit in flight can be stale.
        let settled = started - IN_FLIGHT;
        let mut stale = Vec::new();
        self.store
            .scan_each::<UnitRecord>(&keys::units(tenant), |k, u| {
                if !seen_units.contains(&u.id) && u.ingested_at < settled {
                    stale.push(k);
                }
                Ok(())
            })
            .await?;
        report.removed_units = stale.len();
        for chunk in stale.chunks(UNITS_PER_TXN) {
            self.store
                .atomically(&[], chunk.iter().map(|k| Write::Delete(k.clone())).collect())
                .await?;
        }
        let mut stale_aips = Vec::new();
        self.store
            .scan_each::<AipRecord>(&keys::aips(tenant), |k, r| {
                if !seen_aips.contains(&r.aip_id) && r.committed_at < settled {
                    stale_aips.push(k);
                }
                Ok(())
            })
            .await?;
        for k in stale_aips {
            self.store.atomically(&[], vec![Write::Delete(k)]).await?;
        }
        self.store
            .put(&keys::catalog_generation(tenant), &Utc::now().timestamp_micros())
            .await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(batches: &[Vec<Write>]) -> Vec<usize> {
        batches.iter().map(Vec::len).collect()
    }

    #[test]
    fn batches_stay_within_the_clusters_transaction_limits() {
        let small = |i: usize| Write::Put(format!("k{i}"), vec![0; 10]);
        assert_eq!(sizes(&batches((0..250).map(small).collect())), [100, 100, 50]);
        assert!(batches(Vec::new()).is_empty());
        // 1 MiB values: two per batch (a third, with the keys, would pass 3 MiB).
        let big = |i: usize| Write::Put(format!("k{i}"), vec![0; 1 << 20]);
        assert_eq!(sizes(&batches((0..5).map(big).collect())), [2, 2, 1]);
        // One write larger than the byte limit still goes, alone.
        let huge = vec![
            Write::Delete("a".into()),
            Write::Put("b".into(), vec![0; 4 << 20]),
            Write::Delete("c".into()),
        ];
        assert_eq!(sizes(&batches(huge)), [1, 1, 1]);
    }
}
