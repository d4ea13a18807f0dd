//! Executing an approved elimination: only units the control authority approved, and only
//! those the analysis still finds DESTROY today (a hold added since the visa, a changed rule or
//! a kept child stops them, with the reason recorded).
//!
//! Order, so that a failure never loses a kept file and never leaves an eliminated one
//! visible: (1) the eliminated units' metadata is stored as the elimination record; (2) tar
//! packs holding eliminated files are rewritten without them (each kept file's SHA-512 checked)
//! and committed as new objects; (3) each AIP descriptor is rewritten without the eliminated
//! units (or deleted, when nothing of the AIP is kept); (4) the catalog records go; (5) the
//! objects no longer referenced (old packs, eliminated files) are deleted. The keys still to
//! delete are saved in the proposal before step 3, so running the execution again after a
//! failure finishes it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use archipel_seda::notification::{write_destruction_notification, DestructionNotification};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::analysis::Status;
use super::proposal::{self, Proposal, ProposalKind, ProposalStatus, UnitDecision};
use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{ObjectRecord, UnitRecord};
use crate::service::Archive;
use crate::store::{Expect, Write};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Execution {
    pub by: String,
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub eliminated: Vec<String>,
    pub objects_deleted: usize,
    pub bytes_deleted: u64,
    pub packs_rewritten: usize,
    /// AIPs of which nothing was left, removed whole.
    pub aips_removed: Vec<String>,
    /// The eliminated units' metadata (the elimination record), an object of the tenant.
    pub record_key: String,
    pub notifications: Vec<super::modification::NotificationRecord>,
    /// Objects still to delete: non-empty only while an execution is unfinished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_deletes: Vec<String>,
}

/// What the elimination record object holds: what was eliminated, when, under which visa.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EliminationRecord {
    pub format: String,
    /// `elimination`, `restitution` or `transfer_out` (records written before have none).
    #[serde(default = "elimination_kind")]
    pub kind: String,
    pub elimination: String,
    pub tenant: String,
    pub visa: String,
    pub approved_by: String,
    pub executed_by: String,
    pub executed_at: DateTime<Utc>,
    pub units: Vec<UnitRecord>,
}

pub const RECORD_FORMAT: &str = "archipel-elimination/1";

fn elimination_kind() -> String {
    "elimination".into()
}

/// Runs (or finishes) the elimination `id`.
pub async fn execute(a: &Arc<Archive>, tenant: &str, who: &Principal, id: &str) -> Result<Proposal> {
    let current = proposal::get(a, tenant, id).await?;
    let p = &current.value;
    let resuming =
        p.status == ProposalStatus::Executed && p.execution.as_ref().is_some_and(|e| !e.pending_deletes.is_empty());
    match p.status {
        ProposalStatus::Approved => {}
        ProposalStatus::Executed if resuming => {}
        ProposalStatus::Executed => return Ok(current.value),
        ProposalStatus::Proposed => {
            return Err(ArchiveError::Forbidden(format!(
                "elimination `{id}` has no visa yet: the control authority must approve it first (no elimination without a visa)"
            )))
        }
        ProposalStatus::Refused => {
            return Err(ArchiveError::Forbidden(format!(
                "the control authority refused elimination `{id}`: nothing can be eliminated under it"
            )))
        }
    }
    if p.visa
        .as_ref()
        .is_none_or(|v| v.decision != archipel_seda::authorization::AuthorizationDecision::Approved)
    {
        return Err(ArchiveError::Forbidden(format!(
            "elimination `{id}` carries no approving visa: nothing is eliminated"
        )));
    }
    let lease = super::lease::Lease::take(&a.store, tenant, id, &who.id).await?;
    let result = run(a, tenant, who, current.value, current.revision).await;
    lease.release().await;
    result
}

async fn save(a: &Archive, tenant: &str, p: &Proposal, revision: &mut u64) -> Result<()> {
    let k = proposal::key(tenant, &p.id);
    if !a
        .store
        .atomically(
            &[Expect::Revision(k.clone(), *revision)],
            vec![Write::put(k.clone(), p)?],
        )
        .await?
    {
        return Err(ArchiveError::Conflict(format!(
            "elimination `{}` changed during its execution: run it again",
            p.id
        )));
    }
    *revision = a
        .store
        .get::<Proposal>(&k)
        .await?
        .map(|v| v.revision)
        .ok_or_else(|| ArchiveError::Internal(format!("elimination `{}` vanished", p.id)))?;
    Ok(())
}

async fn run(a: &Arc<Archive>, tenant: &str, who: &Principal, mut p: Proposal, mut revision: u64) -> Result<Proposal> {
    let t = a.refs.tenant(tenant).await?;
    let ns = t.namespace.clone();
    if p.status == ProposalStatus::Executed {
        finish_deletes(a, tenant, &ns, &mut p, &mut revision).await?;
        return Ok(p);
    }
    let visa = p
        .visa
        .clone()
        .ok_or_else(|| ArchiveError::Internal("approved without visa".into()))?;
    let units = super::all_units(a, tenant).await?;
    // A run that stopped half-way left its record: the same units go, whatever changed since.
    let previous = p.execution.clone();
    let (chosen, eliminated_records): (Vec<String>, Vec<UnitRecord>) = match &previous {
        Some(e) => {
            let mut bytes = Vec::new();
            a.store
                .client()
                .get_object(&ns, &e.record_key, 0, None, &mut bytes, None)
                .await?;
            let record: EliminationRecord = serde_json::from_slice(&bytes).map_err(|err| {
                ArchiveError::Internal(format!("elimination record `{}` is unreadable: {err}", e.record_key))
            })?;
            (record.units.iter().map(|u| u.id.clone()).collect(), record.units)
        }
        None => {
            let chosen = choose(a, tenant, &units, &mut p).await?;
            let records = chosen.iter().filter_map(|id| units.get(id)).cloned().collect();
            (chosen, records)
        }
    };
    let chosen_set: HashSet<&str> = chosen.iter().map(String::as_str).collect();
    let eliminated: Vec<&UnitRecord> = eliminated_records.iter().collect();
    let mut execution = Execution {
        by: who.id.clone(),
        started_at: Some(Utc::now()),
        record_key: proposal::object_key(&p.id, "record.json"),
        ..Default::default()
    };
    // (1) The elimination record, before anything goes.
    if previous.is_none() {
        let record = EliminationRecord {
            format: RECORD_FORMAT.into(),
            kind: p.kind.as_str().into(),
            elimination: p.id.clone(),
            tenant: tenant.into(),
            visa: visa.message_identifier.clone(),
            approved_by: visa.by.clone(),
            executed_by: who.id.clone(),
            executed_at: Utc::now(),
            units: eliminated_records.clone(),
        };
        let bytes = serde_json::to_vec(&record)?;
        a.store
            .client()
            .put_object(
                &ns,
                &execution.record_key,
                bytes.as_slice(),
                Some(bytes.len() as u64),
                None,
            )
            .await?;
    }
    for u in &eliminated {
        for o in &u.objects {
            execution.objects_deleted += 1;
            execution.bytes_deleted += o.size;
        }
    }
    // (2) Per AIP: what goes, what stays, packs rewritten.
    let mut by_aip: BTreeMap<&str, Vec<&UnitRecord>> = BTreeMap::new();
    for u in units.values() {
        by_aip.entry(u.aip_id.as_str()).or_default().push(u);
    }
    let mut changed_kept: Vec<UnitRecord> = Vec::new();
    let mut to_delete: Vec<String> = Vec::new();
    let mut whole_aips: Vec<String> = Vec::new();
    let mut partial_aips: Vec<String> = Vec::new();
    for (aip, members) in &by_aip {
        if !members.iter().any(|u| chosen_set.contains(u.id.as_str())) {
            continue;
        }
        let (gone, kept): (Vec<&UnitRecord>, Vec<&UnitRecord>) = members
            .iter()
            .copied()
            .partition(|u| chosen_set.contains(u.id.as_str()));
        if kept.is_empty() {
            whole_aips.push(aip.to_string());
            continue;
        }
        let kept_keys: HashSet<&str> = kept
            .iter()
            .flat_map(|u| u.objects.iter().map(|o| o.key.as_str()))
            .collect();
        let mut packs: HashSet<&str> = HashSet::new();
        for o in gone.iter().flat_map(|u| u.objects.iter()) {
            if o.pack_offset.is_some() {
                packs.insert(o.key.as_str());
            } else if !kept_keys.contains(o.key.as_str()) {
                to_delete.push(o.key.clone());
            }
        }
        let mut kept_units: Vec<UnitRecord> = kept.iter().map(|u| (*u).clone()).collect();
        for pack in packs {
            if kept_keys.contains(pack) {
                let new_key = repack(a, &ns, aip, pack, &p.id, &mut kept_units).await?;
                tracing::info!("pack {pack} rewritten as {new_key} without eliminated files");
                execution.packs_rewritten += 1;
            }
            to_delete.push(pack.to_owned());
        }
        changed_kept.extend(kept_units);
        partial_aips.push(aip.to_string());
    }
    // Save what must still be deleted before the descriptors change.
    if let Some(e) = &previous {
        to_delete.extend(e.pending_deletes.iter().cloned());
        for aip in &e.aips_removed {
            if !whole_aips.contains(aip) {
                whole_aips.push(aip.clone());
            }
        }
        execution.packs_rewritten = e.packs_rewritten;
    }
    for aip in &whole_aips {
        to_delete.push(format!("{}*", keys::aip_prefix(aip)));
    }
    to_delete.sort();
    to_delete.dedup();
    execution.pending_deletes = to_delete;
    execution.aips_removed = whole_aips.clone();
    p.execution = Some(execution);
    save(a, tenant, &p, &mut revision).await?;
    // (3) Descriptors, (4) catalog.
    let removed: HashSet<String> = chosen.iter().cloned().collect();
    let kept_refs: Vec<&UnitRecord> = changed_kept.iter().collect();
    super::persist::write_units(&a.store, tenant, &ns, &kept_refs, &removed).await?;
    for aip in &whole_aips {
        // The descriptor first: from then on a reindex no longer sees the AIP.
        a.store.client().delete_object(&ns, &keys::aip_descriptor(aip)).await?;
        a.store
            .atomically(&[], vec![Write::Delete(keys::aip(tenant, aip))])
            .await?;
    }
    a.store
        .put(&keys::catalog_generation(tenant), &Utc::now().timestamp_micros())
        .await?;
    unindex(a, tenant, &chosen, &changed_kept).await;
    // Notifications, one per originating agency.
    let mut by_agency: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in &eliminated {
        let agency = u
            .originating_agency
            .clone()
            .unwrap_or_else(|| t.archival_agency.clone());
        by_agency.entry(agency).or_default().push(u.id.clone());
    }
    let version = super::modification::seda_version(Some(&p.seda_version))?;
    let mut notifications = Vec::new();
    for (n, (agency, ids)) in by_agency.into_iter().enumerate() {
        let message_identifier = format!("{}-NOTIF-{}", p.id, n + 1);
        let xml = write_destruction_notification(&DestructionNotification {
            version,
            message_identifier: message_identifier.clone(),
            date: Utc::now(),
            comments: vec![match p.kind {
                ProposalKind::Elimination => format!(
                    "Élimination {} exécutée sous le visa {} du contrôle scientifique et technique",
                    p.id, visa.message_identifier
                ),
                ProposalKind::Restitution => format!(
                    "Suppression {} des unités restituées, après l'accusé de réception {} du service producteur",
                    p.id, visa.message_identifier
                ),
                ProposalKind::TransferOut => format!(
                    "Suppression {} des unités transférées, après leur prise en charge (ArchiveTransferReply {}) par le service d'archives destinataire",
                    p.id, visa.message_identifier
                ),
            }],
            archival_agreement: None,
            authorization_reply_identifier: visa.message_identifier.clone(),
            unit_identifiers: ids.clone(),
            archival_agency: t.archival_agency.clone(),
            originating_agency: agency.clone(),
        })
        .map_err(|e| ArchiveError::Internal(format!("ArchiveDestructionNotification: {e}")))?;
        let key = proposal::object_key(&p.id, &format!("notification-{}.xml", n + 1));
        a.store
            .client()
            .put_object(&ns, &key, xml.as_slice(), Some(xml.len() as u64), None)
            .await?;
        notifications.push(super::modification::NotificationRecord {
            originating_agency: agency,
            message_identifier,
            key,
            units: ids,
        });
    }
    let entries: Vec<(String, serde_json::Value)> = eliminated
        .iter()
        .map(|u| {
            (
                u.id.clone(),
                serde_json::json!({"elimination": p.id, "visa": visa.message_identifier, "aip": u.aip_id,
                                   "sip_id": u.sip_id, "title": u.title, "objects": u.objects.len(),
                                   "bytes": u.objects.iter().map(|o| o.size).sum::<u64>()}),
            )
        })
        .collect();
    a.journal
        .record_each(tenant, "elimination.unit.destroyed", &who.id, &p.id, entries)
        .await?;
    for u in &mut p.units {
        if chosen_set.contains(u.unit_id.as_str()) {
            u.outcome = Some("eliminated".into());
        }
    }
    p.status = ProposalStatus::Executed;
    if let Some(e) = p.execution.as_mut() {
        e.eliminated = chosen.clone();
        e.notifications = notifications;
    }
    save(a, tenant, &p, &mut revision).await?;
    // (5) The bytes.
    finish_deletes(a, tenant, &ns, &mut p, &mut revision).await?;
    let e = p.execution.clone().unwrap_or_default();
    a.journal
        .record(
            tenant,
            "elimination.executed",
            "OK",
            &who.id,
            Some(&p.id),
            serde_json::json!({"visa": visa.message_identifier, "eliminated": e.eliminated.len(),
                               "kept": p.units.len() - e.eliminated.len(), "objects": e.objects_deleted,
                               "bytes": e.bytes_deleted, "packs_rewritten": e.packs_rewritten,
                               "aips_removed": e.aips_removed}),
        )
        .await?;
    Ok(p)
}

/// The approved units the analysis still finds DESTROY today; the others get their outcome.
async fn choose(
    a: &Archive,
    tenant: &str,
    units: &HashMap<String, UnitRecord>,
    p: &mut Proposal,
) -> Result<Vec<String>> {
    // Today's analysis decides, not the proposal's: what changed since the visa counts.
    let today = Utc::now().date_naive();
    let communications = super::pending_communications(a, tenant).await?;
    if p.kind != ProposalKind::Elimination {
        return Ok(super::outgoing::choose_leaving(units, &communications, today, p));
    }
    let analysis = super::analyse_units(tenant, units, &communications, today);
    let verdicts: HashMap<&str, &super::analysis::Entry> =
        analysis.units.iter().map(|e| (e.unit_id.as_str(), e)).collect();
    let mut chosen: Vec<String> = Vec::new();
    for u in &mut p.units {
        if u.decision != Some(UnitDecision::Approved) {
            u.outcome = Some("refused by the control authority".into());
            continue;
        }
        if !units.contains_key(&u.unit_id) {
            u.outcome = Some("no longer in the catalog".into());
            continue;
        }
        match verdicts.get(u.unit_id.as_str()) {
            Some(e) if e.status == Status::Destroy => chosen.push(u.unit_id.clone()),
            Some(e) => {
                let why: Vec<String> = e
                    .reasons
                    .iter()
                    .filter_map(|r| {
                        serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v["type"].as_str().map(str::to_owned))
                    })
                    .collect();
                u.outcome = Some(format!("kept: CONFLICT on {today} ({})", why.join(", ")));
            }
            None => u.outcome = Some(format!("kept: no longer eliminable on {today} (KEEP)")),
        }
    }
    Ok(chosen)
}

/// Deletes what the execution left to delete (`aip/<id>/*` entries: every object of the AIP).
async fn finish_deletes(a: &Archive, tenant: &str, ns: &str, p: &mut Proposal, revision: &mut u64) -> Result<()> {
    let pending = p
        .execution
        .as_ref()
        .map(|e| e.pending_deletes.clone())
        .unwrap_or_default();
    let client = a.store.client();
    // The cluster keeps this reason with each lock it clears: the visa is the authority.
    let authority = p.visa.as_ref().map_or("?", |v| v.message_identifier.as_str());
    let reason = match p.kind {
        ProposalKind::Elimination => format!("elimination {} under the control authority's visa {authority}", p.id),
        ProposalKind::Restitution => format!("restitution {} acknowledged by {authority}", p.id),
        ProposalKind::TransferOut => format!("transfer out {} accepted by {authority}", p.id),
    };
    for key in &pending {
        if let Some(prefix) = key.strip_suffix('*') {
            loop {
                let (page, _) = client.list_objects(ns, prefix, "", 1000).await?;
                if page.is_empty() {
                    break;
                }
                for o in page {
                    super::locks::release(&a.store, ns, &o.key, &reason).await?;
                    client.delete_object(ns, &o.key).await?;
                }
            }
            // The unit records of a removed AIP.
            let aip = prefix.trim_start_matches("aip/").trim_end_matches('/');
            let mut stale = Vec::new();
            a.store
                .scan_each::<UnitRecord>(&keys::units(tenant), |k, u| {
                    if u.aip_id == aip {
                        stale.push(k);
                    }
                    Ok(())
                })
                .await?;
            for chunk in stale.chunks(100) {
                a.store
                    .atomically(&[], chunk.iter().map(|k| Write::Delete(k.clone())).collect())
                    .await?;
            }
        } else {
            super::locks::release(&a.store, ns, key, &reason).await?;
            client.delete_object(ns, key).await?;
        }
    }
    if let Some(e) = p.execution.as_mut() {
        e.pending_deletes.clear();
        e.finished_at = Some(Utc::now());
    }
    save(a, tenant, p, revision).await
}

/// Removes the eliminated units from this front's search index and re-indexes the kept units
/// whose objects moved. Other fronts drop the units of removed AIPs at their next sync.
async fn unindex(a: &Arc<Archive>, tenant: &str, gone: &[String], kept: &[UnitRecord]) {
    let result = async {
        let index = a.search.get(tenant)?;
        let ids = gone.to_vec();
        tokio::task::spawn_blocking(move || {
            for id in &ids {
                index.delete(id)?;
            }
            Ok::<_, crate::search::SearchError>(())
        })
        .await
        .map_err(|e| ArchiveError::Internal(format!("unindexing failed: {e}")))??;
        Ok::<_, ArchiveError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!("removing eliminated units from the search index of {tenant} failed: {e}");
    }
    if !kept.is_empty() {
        crate::searching::index_units(a, tenant, kept).await;
    }
}

/// Writes a new pack holding only the kept files of `pack`, each checked against its SHA-512,
/// and points the kept units' objects at it. Returns the new pack's key.
async fn repack(
    a: &Archive,
    ns: &str,
    aip: &str,
    pack: &str,
    elimination: &str,
    kept: &mut [UnitRecord],
) -> Result<String> {
    let client = a.store.client();
    // Each distinct kept file once, by digest.
    let mut members: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for o in kept.iter().flat_map(|u| u.objects.iter()).filter(|o| o.key == pack) {
        if let Some(offset) = o.pack_offset {
            members.insert(o.sha512.clone(), (offset, o.size));
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("repack-")
        .tempdir_in(&a.config.spool_dir)
        .map_err(|e| ArchiveError::Internal(format!("cannot create a repack directory in the spool: {e}")))?;
    let mut files = Vec::new();
    for (sha512, (offset, size)) in &members {
        let mut bytes = Vec::with_capacity(*size as usize);
        client
            .get_object(ns, pack, *offset, Some(*size), &mut bytes, None)
            .await?;
        let digest = hex::encode(sha2::Sha512::digest(&bytes));
        if !digest.eq_ignore_ascii_case(sha512) {
            return Err(ArchiveError::Internal(format!(
                "a kept file of pack {pack} does not match its SHA-512 ({sha512}): the pack is left as it is; audit it before eliminating"
            )));
        }
        let path = dir.path().join(sha512);
        std::fs::write(&path, &bytes)
            .map_err(|e| ArchiveError::Internal(format!("cannot write {}: {e}", path.display())))?;
        files.push(crate::ingest::pack::FileToStore {
            key: keys::aip_object(aip, sha512),
            path,
            size: *size,
        });
    }
    let tar_path = dir.path().join("pack.tar");
    let prefix = keys::aip_prefix(aip);
    let offsets = {
        let out = std::fs::File::create(&tar_path)
            .map_err(|e| ArchiveError::Internal(format!("cannot create {}: {e}", tar_path.display())))?;
        let mut w = std::io::BufWriter::new(out);
        let offsets = crate::ingest::pack::write_tar(&files, &prefix, &mut w)
            .map_err(|e| ArchiveError::Internal(format!("cannot write the new pack: {e}")))?;
        std::io::Write::flush(&mut w).map_err(|e| ArchiveError::Internal(format!("cannot write the new pack: {e}")))?;
        offsets
    };
    let stem = pack.trim_end_matches(".tar");
    let short = &elimination[elimination.len().saturating_sub(8)..];
    let new_key = format!("{stem}-{short}.tar");
    client.put_object_file(ns, &new_key, &tar_path, None).await?;
    super::locks::hold(&a.store, ns, [new_key.clone()]).await?;
    let new_offsets: HashMap<String, u64> = offsets
        .into_iter()
        .map(|(key, offset)| (key.rsplit('/').next().unwrap_or_default().to_owned(), offset))
        .collect();
    for u in kept.iter_mut() {
        for o in u.objects.iter_mut().filter(|o: &&mut ObjectRecord| o.key == pack) {
            if let Some(offset) = new_offsets.get(&o.sha512) {
                o.key = new_key.clone();
                o.pack_offset = Some(*offset);
            }
        }
    }
    Ok(new_key)
}
