//! The accession register (registre des entrées, Vitam's AccessionRegisterDetail/Summary): per
//! originating agency, one entry per transfer with what it brought, the movements out
//! (eliminations), and the totals now.
//!
//! Nothing is stored for it: it is computed from the catalog (itself rebuilt from the AIP
//! descriptors) and the elimination records (`eliminations/<id>/record.json` objects), so it is
//! rebuildable by construction. An entry counts what its transfer brought: the units still in
//! the catalog plus those eliminated since, whose metadata the elimination records keep.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::execute::{EliminationRecord, RECORD_FORMAT};
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{Transfer, UnitRecord};
use crate::service::Archive;

/// Originating agency of units that name none.
pub const NO_AGENCY: &str = "(aucun service producteur)";

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Counts {
    pub units: u64,
    pub objects: u64,
    pub bytes: u64,
}

impl Counts {
    fn add_unit(&mut self, u: &UnitRecord, seen_objects: &mut HashSet<String>) {
        self.units += 1;
        for o in &u.objects {
            if seen_objects.insert(o.id.clone()) {
                self.objects += 1;
                self.bytes += o.size;
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub transfer_id: String,
    pub aip_id: String,
    pub date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transferring_agency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// What the transfer brought.
    pub ingested: Counts,
    /// What of it is still held.
    pub remaining: Counts,
}

#[derive(Debug, Clone, Serialize)]
pub struct Movement {
    /// `elimination`, `restitution` or `transfer_out`.
    pub kind: String,
    pub id: String,
    pub date: DateTime<Utc>,
    /// The authority: the visa's MessageIdentifier, or the recipient's acknowledgement
    /// (restitution) or ArchiveTransferReply (transfer out).
    pub authority: String,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgencyRegister {
    pub originating_agency: String,
    pub entries: Vec<Entry>,
    pub movements: Vec<Movement>,
    pub total_ingested: Counts,
    pub total_out: Counts,
    pub current: Counts,
}

#[derive(Debug, Clone, Serialize)]
pub struct Register {
    pub tenant: String,
    pub computed_at: DateTime<Utc>,
    pub agencies: Vec<AgencyRegister>,
}

/// Every elimination record of the tenant.
pub async fn elimination_records(a: &Archive, namespace: &str) -> Result<Vec<EliminationRecord>> {
    let client = a.store.client();
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let (page, more) = client.list_objects(namespace, "eliminations/", &after, 1000).await?;
        for o in &page {
            if o.key.ends_with("/record.json") {
                let mut bytes = Vec::new();
                client.get_object(namespace, &o.key, 0, None, &mut bytes, None).await?;
                let r: EliminationRecord = serde_json::from_slice(&bytes).map_err(|e| {
                    ArchiveError::Internal(format!("elimination record `{}` is unreadable: {e}", o.key))
                })?;
                if r.format == RECORD_FORMAT {
                    out.push(r);
                }
            }
        }
        match page.last() {
            Some(last) if more => after = last.key.clone(),
            _ => return Ok(out),
        }
    }
}

fn agency(u: &UnitRecord) -> String {
    u.originating_agency.clone().unwrap_or_else(|| NO_AGENCY.into())
}

/// The register of `tenant`, for one originating agency or all.
pub async fn register(a: &Archive, tenant: &str, only: Option<&str>) -> Result<Register> {
    let t = a.refs.tenant(tenant).await?;
    let units = super::all_units(a, tenant).await?;
    let records = elimination_records(a, &t.namespace).await?;
    let transfers: HashMap<String, Transfer> = a
        .store
        .scan::<Transfer>(&keys::transfers(tenant))
        .await?
        .into_iter()
        .map(|(_, tr)| (tr.id.clone(), tr))
        .collect();
    Ok(build(tenant, units.values(), &records, &transfers, only))
}

struct Slot {
    entry: Entry,
    ingested_objects: HashSet<String>,
    remaining_objects: HashSet<String>,
}

fn slot<'e>(
    entries: &'e mut BTreeMap<(String, String), Slot>,
    u: &UnitRecord,
    transfers: &HashMap<String, Transfer>,
) -> &'e mut Slot {
    let t = transfers.get(&u.transfer_id);
    entries.entry((agency(u), u.aip_id.clone())).or_insert_with(|| Slot {
        entry: Entry {
            transfer_id: u.transfer_id.clone(),
            aip_id: u.aip_id.clone(),
            date: t.and_then(|t| t.finished_at).unwrap_or(u.ingested_at),
            agreement: u.agreement.clone(),
            transferring_agency: t
                .and_then(|t| t.transferring_agency.clone())
                .or_else(|| u.submission_agency.clone()),
            flow: u.flow.clone(),
            ingested: Counts::default(),
            remaining: Counts::default(),
        },
        ingested_objects: HashSet::new(),
        remaining_objects: HashSet::new(),
    })
}

pub fn build<'a>(
    tenant: &str,
    current: impl Iterator<Item = &'a UnitRecord>,
    records: &[EliminationRecord],
    transfers: &HashMap<String, Transfer>,
    only: Option<&str>,
) -> Register {
    // (agency, aip) → entry under construction, and the objects counted for it.
    let mut entries: BTreeMap<(String, String), Slot> = BTreeMap::new();
    for u in current {
        let e = slot(&mut entries, u, transfers);
        e.entry.ingested.add_unit(u, &mut e.ingested_objects);
        e.entry.remaining.add_unit(u, &mut e.remaining_objects);
    }
    let mut movements: BTreeMap<String, Vec<Movement>> = BTreeMap::new();
    for r in records {
        let mut per_agency: BTreeMap<String, (Counts, HashSet<String>)> = BTreeMap::new();
        for u in &r.units {
            let e = slot(&mut entries, u, transfers);
            e.entry.ingested.add_unit(u, &mut e.ingested_objects);
            let m = per_agency.entry(agency(u)).or_default();
            m.0.add_unit(u, &mut m.1);
        }
        for (a, (counts, _)) in per_agency {
            movements.entry(a).or_default().push(Movement {
                kind: r.kind.clone(),
                id: r.elimination.clone(),
                date: r.executed_at,
                authority: r.visa.clone(),
                counts,
            });
        }
    }
    let mut by_agency: BTreeMap<String, AgencyRegister> = BTreeMap::new();
    for ((a, _), Slot { entry: e, .. }) in entries {
        let reg = by_agency.entry(a.clone()).or_insert_with(|| AgencyRegister {
            originating_agency: a.clone(),
            entries: Vec::new(),
            movements: movements.remove(&a).unwrap_or_default(),
            total_ingested: Counts::default(),
            total_out: Counts::default(),
            current: Counts::default(),
        });
        reg.total_ingested.units += e.ingested.units;
        reg.total_ingested.objects += e.ingested.objects;
        reg.total_ingested.bytes += e.ingested.bytes;
        reg.current.units += e.remaining.units;
        reg.current.objects += e.remaining.objects;
        reg.current.bytes += e.remaining.bytes;
        reg.entries.push(e);
    }
    for reg in by_agency.values_mut() {
        reg.entries
            .sort_by(|x, y| (x.date, &x.transfer_id).cmp(&(y.date, &y.transfer_id)));
        reg.movements.sort_by(|x, y| (x.date, &x.id).cmp(&(y.date, &y.id)));
        for m in &reg.movements {
            reg.total_out.units += m.counts.units;
            reg.total_out.objects += m.counts.objects;
            reg.total_out.bytes += m.counts.bytes;
        }
    }
    Register {
        tenant: tenant.into(),
        computed_at: Utc::now(),
        agencies: by_agency
            .into_values()
            .filter(|r| only.is_none_or(|o| o == r.originating_agency))
            .collect(),
    }
}
