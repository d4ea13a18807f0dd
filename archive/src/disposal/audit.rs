//! Integrity audit (audit de l'intégrité): every object of a tenant's units — or of a
//! selection, by ids or by search — is read back through the cluster, re-hashed with SHA-512
//! and compared with the digest and size recorded at ingest. The result of each object is
//! kept in a report (an object of the tenant, `audits/<id>/report.json`), the anomalies in the
//! record and one KO logbook entry each; the closing entry carries the report's SHA-512 and
//! the logbook is then sealed, so the report is bound to the sealed (and, with a TSA,
//! timestamped) chain. The record lives under `t/<tenant>/audit/<id>`; the audit runs in the
//! background and its `progress` follows it.

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::outgoing::Progress;
use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::model::UnitRecord;
use crate::service::Archive;

/// Anomalies kept in the record (all are in the report).
const RECORD_ANOMALIES: usize = 1000;
/// How often the progress is written to the record.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
pub const REPORT_FORMAT: &str = "archipel-audit/1";

/// One stored object: its key, its offset in a pack, its digest (units may share it).
type ObjectKey = (String, Option<u64>, String);

pub fn key(tenant: &str, id: &str) -> String {
    format!("t/{tenant}/audit/{id}")
}
fn prefix(tenant: &str) -> String {
    format!("t/{tenant}/audit/")
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Read back whole, same size and SHA-512 as at ingest.
    Ok,
    SizeMismatch,
    DigestMismatch,
    /// The cluster could not give the bytes (missing object, unreadable shards…).
    Unreadable,
}

/// The audit of one stored object (shared by every unit that references it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectResult {
    pub object_id: String,
    pub unit_ids: Vec<String>,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_offset: Option<u64>,
    pub expected_size: u64,
    pub expected_sha512: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_sha512: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Counts {
    pub units: usize,
    pub objects: u64,
    pub ok: u64,
    pub anomalies: u64,
}

/// What to audit: the whole tenant (neither given), units by id (with their descendants),
/// or the units a search finds (the parameters of `GET …/units`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Audit {
    pub id: String,
    pub tenant: String,
    pub status: Status,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub scope: serde_json::Value,
    pub progress: Progress,
    pub counts: Counts,
    /// The first anomalies (every one is in the report).
    pub anomalies: Vec<ObjectResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_sha512: Option<String>,
    /// The logbook seal taken once the closing entry was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The report stored for each audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub audit: String,
    pub tenant: String,
    pub by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub scope: serde_json::Value,
    pub counts: Counts,
    pub objects: Vec<ObjectResult>,
}

async fn save(a: &Archive, x: &Audit) -> Result<()> {
    a.store.put(&key(&x.tenant, &x.id), x).await
}

pub async fn get(a: &Archive, tenant: &str, id: &str) -> Result<Audit> {
    a.store
        .get::<Audit>(&key(tenant, id))
        .await?
        .map(|v| v.value)
        .ok_or_else(|| ArchiveError::NotFound(format!("audit `{id}`")))
}

pub async fn list(a: &Archive, tenant: &str) -> Result<Vec<Audit>> {
    let mut out: Vec<Audit> = a
        .store
        .scan::<Audit>(&prefix(tenant))
        .await?
        .into_iter()
        .map(|(_, x)| x)
        .collect();
    out.sort_by_key(|x| x.created_at);
    Ok(out)
}

/// The units the request names (checked before anything starts).
async fn scope_units(a: &Archive, tenant: &str, req: &AuditRequest) -> Result<Vec<UnitRecord>> {
    // Read now, not from a copy: an audit checks what the cluster holds.
    let all = a.catalog.read_units(tenant).await?;
    let ids: Vec<String> = match (&req.unit_ids, &req.query) {
        (Some(_), Some(_)) => {
            return Err(ArchiveError::Invalid(
                "give unit_ids or query, not both (or neither, for the whole tenant)".into(),
            ))
        }
        (None, None) => all.keys().cloned().collect(),
        (Some(ids), None) => {
            let unknown: Vec<&str> = ids
                .iter()
                .filter(|i| !all.contains_key(*i))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(ArchiveError::Invalid(format!(
                    "no such unit in this tenant: {}; nothing was audited",
                    unknown.join(", ")
                )));
            }
            // A unit's audit covers what lies below it.
            let mut out = Vec::new();
            let mut seen = HashSet::new();
            let mut stack: Vec<String> = ids.clone();
            while let Some(id) = stack.pop() {
                if !seen.insert(id.clone()) {
                    continue;
                }
                stack.extend(
                    all.values()
                        .filter(|u| u.parent_ids.iter().chain(&u.parent_id).any(|p| *p == id))
                        .map(|u| u.id.clone()),
                );
                out.push(id);
            }
            out
        }
        (None, Some(q)) => super::units_matching(a, tenant, q).await?,
    };
    let mut units: Vec<UnitRecord> = ids.into_iter().filter_map(|id| all.get(&id).cloned()).collect();
    units.sort_by(|x, y| x.id.cmp(&y.id));
    Ok(units)
}

/// Starts an audit in the background; returns its record.
pub async fn start(a: &Arc<Archive>, tenant: &str, who: &Principal, req: AuditRequest) -> Result<Audit> {
    let units = scope_units(a, tenant, &req).await?;
    let id = format!("AUDIT-{}", uuid::Uuid::new_v4().simple());
    let mut objects: BTreeMap<ObjectKey, (crate::model::ObjectRecord, Vec<String>)> = BTreeMap::new();
    for u in &units {
        for o in &u.objects {
            objects
                .entry((o.key.clone(), o.pack_offset, o.sha512.clone()))
                .or_insert_with(|| (o.clone(), Vec::new()))
                .1
                .push(u.id.clone());
        }
    }
    let audit = Audit {
        id: id.clone(),
        tenant: tenant.into(),
        status: Status::Running,
        created_by: who.id.clone(),
        created_at: Utc::now(),
        finished_at: None,
        scope: serde_json::to_value(&req)?,
        progress: Progress {
            objects_total: objects.len() as u64,
            bytes_total: objects.values().map(|(o, _)| o.size).sum(),
            ..Progress::default()
        },
        counts: Counts {
            units: units.len(),
            ..Counts::default()
        },
        anomalies: Vec::new(),
        report_key: None,
        report_sha512: None,
        seal: None,
        error: None,
    };
    if !a.store.create(&key(tenant, &id), &audit).await? {
        return Err(ArchiveError::Internal(format!("audit `{id}` exists already")));
    }
    a.journal
        .record(
            tenant,
            "audit.started",
            "OK",
            &who.id,
            Some(&id),
            serde_json::json!({"scope": audit.scope, "units": units.len(), "objects": audit.progress.objects_total,
                               "bytes": audit.progress.bytes_total}),
        )
        .await?;
    let work: Vec<(crate::model::ObjectRecord, Vec<String>)> = objects.into_values().collect();
    let (a2, record, actor) = (a.clone(), audit.clone(), who.id.clone());
    tokio::spawn(async move {
        let mut record = record;
        if let Err(e) = run(&a2, &mut record, &actor, work).await {
            tracing::warn!(tenant = record.tenant, audit = record.id, "audit failed: {e}");
            record.status = Status::Failed;
            record.error = Some(e.to_string());
            record.finished_at = Some(Utc::now());
            let _ = save(&a2, &record).await;
            let _ = a2
                .journal
                .record(
                    &record.tenant,
                    "audit.finished",
                    "KO",
                    &actor,
                    Some(&record.id),
                    serde_json::json!({"error": e.to_string()}),
                )
                .await;
        }
    });
    Ok(audit)
}

/// SHA-512 and length of what is written to it.
struct Hashing {
    hasher: Sha512,
    bytes: u64,
}

impl tokio::io::AsyncWrite for Hashing {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Reads one object back and judges it.
pub async fn check_object(
    client: &archipel_client::Client,
    namespace: &str,
    o: &crate::model::ObjectRecord,
    unit_ids: Vec<String>,
) -> ObjectResult {
    let mut h = Hashing {
        hasher: Sha512::new(),
        bytes: 0,
    };
    let (offset, length) = match o.pack_offset {
        Some(offset) => (offset, Some(o.size)),
        None => (0, None),
    };
    let read = client.get_object(namespace, &o.key, offset, length, &mut h, None).await;
    let mut r = ObjectResult {
        object_id: o.id.clone(),
        unit_ids,
        key: o.key.clone(),
        pack_offset: o.pack_offset,
        expected_size: o.size,
        expected_sha512: o.sha512.clone(),
        verdict: Verdict::Ok,
        found_size: None,
        found_sha512: None,
        error: None,
        checked_at: Utc::now(),
    };
    match read {
        Err(e) => {
            r.verdict = Verdict::Unreadable;
            r.error = Some(e.to_string());
        }
        Ok(_) => {
            let digest = hex::encode(h.hasher.finalize());
            r.found_size = Some(h.bytes);
            r.verdict = if h.bytes != o.size {
                Verdict::SizeMismatch
            } else if !digest.eq_ignore_ascii_case(&o.sha512) {
                Verdict::DigestMismatch
            } else {
                Verdict::Ok
            };
            r.found_sha512 = Some(digest);
        }
    }
    r
}

async fn run(
    a: &Arc<Archive>,
    x: &mut Audit,
    actor: &str,
    work: Vec<(crate::model::ObjectRecord, Vec<String>)>,
) -> Result<()> {
    let t = a.refs.tenant(&x.tenant).await?;
    let client = a.store.client().clone();
    let mut results = Vec::with_capacity(work.len());
    let mut last = Instant::now();
    for (o, units) in work {
        let r = check_object(&client, &t.namespace, &o, units).await;
        x.progress.objects_done += 1;
        x.progress.bytes_done += o.size;
        x.counts.objects += 1;
        if r.verdict == Verdict::Ok {
            x.counts.ok += 1;
        } else {
            x.counts.anomalies += 1;
            a.journal
                .record(
                    &x.tenant,
                    "audit.object.checked",
                    "KO",
                    actor,
                    Some(&r.object_id),
                    serde_json::json!({"audit": x.id, "verdict": r.verdict, "units": r.unit_ids, "key": r.key,
                                       "expected_sha512": r.expected_sha512, "found_sha512": r.found_sha512,
                                       "expected_size": r.expected_size, "found_size": r.found_size, "error": r.error}),
                )
                .await?;
            if x.anomalies.len() < RECORD_ANOMALIES {
                x.anomalies.push(r.clone());
            }
        }
        results.push(r);
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            if let Err(e) = save(a, x).await {
                tracing::warn!("progress of audit {} not saved: {e}", x.id);
            }
        }
    }
    let finished = Utc::now();
    let report = Report {
        format: REPORT_FORMAT.into(),
        audit: x.id.clone(),
        tenant: x.tenant.clone(),
        by: actor.into(),
        started_at: x.created_at,
        finished_at: finished,
        scope: x.scope.clone(),
        counts: x.counts.clone(),
        objects: results,
    };
    let bytes = serde_json::to_vec_pretty(&report)?;
    let sha512 = hex::encode(Sha512::digest(&bytes));
    let report_key = format!("audits/{}/report.json", x.id);
    client
        .put_object(
            &t.namespace,
            &report_key,
            bytes.as_slice(),
            Some(bytes.len() as u64),
            None,
        )
        .await?;
    a.journal
        .record(
            &x.tenant,
            "audit.finished",
            if x.counts.anomalies == 0 { "OK" } else { "WARNING" },
            actor,
            Some(&x.id),
            serde_json::json!({"units": x.counts.units, "objects": x.counts.objects, "ok": x.counts.ok,
                               "anomalies": x.counts.anomalies, "report": report_key, "report_sha512": sha512}),
        )
        .await?;
    // The closing entry under a seal: the report's digest is then in the sealed chain.
    x.seal = match a.journal.seal(&x.tenant).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(
                "the logbook of {} could not be sealed after audit {}: {e}",
                x.tenant,
                x.id
            );
            None
        }
    };
    x.report_key = Some(report_key);
    x.report_sha512 = Some(sha512);
    x.status = Status::Done;
    x.finished_at = Some(finished);
    save(a, x).await
}

/// The stored report of a finished audit.
pub async fn report(a: &Archive, tenant: &str, id: &str) -> Result<Vec<u8>> {
    let x = get(a, tenant, id).await?;
    let key = x.report_key.ok_or_else(|| {
        ArchiveError::Conflict(format!(
            "audit `{id}` is {:?}: its report comes when it is done",
            x.status
        ))
    })?;
    let t = a.refs.tenant(tenant).await?;
    let mut bytes = Vec::new();
    a.store
        .client()
        .get_object(&t.namespace, &key, 0, None, &mut bytes, None)
        .await?;
    Ok(bytes)
}
