//! Ingest: a spooled SIP becomes a stored AIP and an ATR, or a KO ATR with its reasons.
//!
//! Steps, each written to the tenant's logbook: receive, unzip safely, detect the SEDA version,
//! parse, check the structure, check digests and sizes, identify formats, check the agreement and
//! profile, compute rules, store the AIP, commit the catalog, reply. Nothing is visible in the
//! catalog before the final commit, and a failure removes what was stored.

mod aip;
mod checks;
mod levels;
pub mod message;
mod objects;
pub mod pack;
pub(crate) mod reply;
pub mod rng;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use tempfile::TempPath;

use crate::auth::{Principal, Role};
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{Reason, Step, Transfer, TransferStatus};
use crate::service::Archive;

pub use checks::Checked;

/// A transfer whose front stopped beating for this long was interrupted.
const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// How often a front says it is still working on a transfer, queued or running.
const BEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// Reasons kept in a transfer's record; the rest are counted.
const MAX_REASONS: usize = 200;

async fn beat(a: Arc<Archive>, tenant: String, id: String) {
    let key = keys::transfer_beat(&tenant, &id);
    loop {
        if let Err(e) = a.store.put(&key, &Utc::now()).await {
            tracing::warn!("transfer {id}: heartbeat not saved: {e}");
        }
        tokio::time::sleep(BEAT_EVERY).await;
    }
}

/// Keeps the first `MAX_REASONS` reasons and says how many more there were.
fn cap(reasons: &mut Vec<Reason>) {
    if reasons.len() > MAX_REASONS {
        let more = reasons.len() - MAX_REASONS;
        reasons.truncate(MAX_REASONS);
        reasons.push(Reason {
            step: "summary".into(),
            subject: None,
            message: format!("{more} more of the same kind are not listed: fix the ones above and submit again"),
        });
    }
}

/// Records a received SIP and starts checking it in the background.
pub async fn submit(a: &Arc<Archive>, who: &Principal, tenant: &str, sip: TempPath, size: u64) -> Result<Transfer> {
    let now = Utc::now();
    let id = format!(
        "{}-{}",
        now.format("%Y%m%dT%H%M%SZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let transfer = Transfer {
        id: id.clone(),
        tenant: tenant.into(),
        status: TransferStatus::Received,
        step: "received".into(),
        submitted_by: who.id.clone(),
        received_at: now,
        finished_at: None,
        size,
        seda_version: None,
        message_identifier: None,
        transferring_agency: None,
        agreement: None,
        aip_id: None,
        units: 0,
        objects: 0,
        errors: vec![],
        warnings: vec![],
        atr_key: None,
        ack_key: None,
        heartbeat: now,
        steps: vec![],
        resend_of: None,
        uncertain_aip: None,
    };
    a.store.put(&keys::transfer(tenant, &id), &transfer).await?;
    a.journal
        .record(
            tenant,
            "transfer.received",
            "OK",
            &who.id,
            Some(&id),
            serde_json::json!({"bytes": size}),
        )
        .await?;
    let archive = Arc::clone(a);
    let agency = if who.role == Role::TransferringAgency {
        who.agency.clone()
    } else {
        None
    };
    let actor = who.id.clone();
    tokio::spawn(async move {
        let beat = tokio::spawn(beat(Arc::clone(&archive), transfer.tenant.clone(), transfer.id.clone()));
        let _slot = archive.ingest_slots.acquire().await;
        run(&archive, transfer, sip, agency, &actor).await;
        beat.abort();
    });
    let mut t = a
        .store
        .get::<Transfer>(&keys::transfer(tenant, &id))
        .await?
        .map(|v| v.value)
        .ok_or_else(|| ArchiveError::Internal(format!("transfer `{id}` vanished")))?;
    t.heartbeat = now;
    Ok(t)
}

/// A transfer as it stands; a resend shows the status and reply of the transfer it resent.
pub async fn transfer(a: &Archive, tenant: &str, id: &str) -> Result<Transfer> {
    let mut t = load(a, tenant, id).await?;
    if let Some(earlier) = t.resend_of.clone() {
        // A resend never claims a message, so the earlier transfer is never a resend itself.
        let e = load(a, tenant, &earlier).await?;
        t.status = e.status;
        t.step = e.step;
        t.finished_at = e.finished_at;
        t.aip_id = e.aip_id;
        t.units = e.units;
        t.objects = e.objects;
        t.errors = e.errors;
        t.warnings = e.warnings;
        t.atr_key = e.atr_key;
        t.heartbeat = e.heartbeat;
    }
    Ok(t)
}

/// A transfer's own record, with a stale one shown as interrupted.
async fn load(a: &Archive, tenant: &str, id: &str) -> Result<Transfer> {
    let mut t = a
        .store
        .get::<Transfer>(&keys::transfer(tenant, id))
        .await?
        .map(|v| v.value)
        .ok_or_else(|| ArchiveError::NotFound(format!("transfer `{id}`")))?;
    if let Some(b) = a
        .store
        .get::<chrono::DateTime<Utc>>(&keys::transfer_beat(tenant, id))
        .await?
    {
        t.heartbeat = t.heartbeat.max(b.value);
    }
    if !t.status.is_final() && Utc::now() - t.heartbeat > STALE_AFTER {
        t.errors.push(Reason {
            step: t.step.clone(),
            subject: None,
            message: "the archive front checking this transfer stopped; nothing was stored: submit the SIP again"
                .into(),
        });
        t.status = TransferStatus::Ko;
    }
    Ok(t)
}

pub async fn transfers(a: &Archive, tenant: &str) -> Result<Vec<Transfer>> {
    Ok(a.store
        .scan(&keys::transfers(tenant))
        .await?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

/// Runs every step; whatever happens, ends with a final record, an ATR and a logbook entry.
async fn run(a: &Arc<Archive>, mut t: Transfer, sip: TempPath, agency: Option<String>, actor: &str) {
    t.status = TransferStatus::Running;
    let work = tempfile::Builder::new()
        .prefix("ingest-")
        .tempdir_in(&a.config.spool_dir);
    let mut units = Vec::new();
    let outcome = match work {
        Ok(dir) => {
            let checked = checks::check(a, &mut t, PathBuf::from(&*sip), dir.path(), agency.as_deref()).await;
            match checked {
                Ok(c) => aip::store(a, &mut t, c).await.map(|stored| units = stored),
                Err(reasons) => Err(reasons),
            }
        }
        Err(e) => Err(vec![Reason {
            step: "receive".into(),
            subject: None,
            message: format!("cannot create a work directory: {e}"),
        }]),
    };
    drop(sip);
    if let Some(earlier) = t.resend_of.clone() {
        return finish_resend(a, t, &earlier, actor).await;
    }
    match outcome {
        Ok(()) => {
            t.status = if t.warnings.is_empty() {
                TransferStatus::Ok
            } else {
                TransferStatus::Warning
            };
        }
        Err(reasons) => {
            t.status = TransferStatus::Ko;
            t.errors.extend(reasons);
        }
    }
    let last = Step {
        name: t.step.clone(),
        outcome: match t.status {
            TransferStatus::Ko => "KO".into(),
            _ => "OK".into(),
        },
        at: Utc::now(),
        detail: t.errors.first().map(|r| r.message.clone()),
    };
    t.steps.push(last);
    cap(&mut t.errors);
    cap(&mut t.warnings);
    t.step = "reply".into();
    t.finished_at = Some(Utc::now());
    if let Err(e) = reply::send(a, &mut t, &units).await {
        tracing::error!("transfer {}: the reply could not be stored: {e}", t.id);
        t.warnings.push(Reason {
            step: "reply".into(),
            subject: None,
            message: format!("the ATR could not be stored: {e}"),
        });
    }
    let outcome = match t.status {
        TransferStatus::Ok => "OK",
        TransferStatus::Warning => "WARNING",
        _ => "KO",
    };
    if let Err(e) = a.journal.record_steps(&t.tenant, actor, &t.id, &t.steps).await {
        tracing::error!("transfer {}: its steps could not be logged: {e}", t.id);
    }
    // The logbook keeps the verdict and the first reasons; the record holds the rest.
    let detail = serde_json::json!({
        "aip": t.aip_id, "units": t.units, "objects": t.objects,
        "errors": t.errors.len(), "warnings": t.warnings.len(),
        "first_errors": t.errors.iter().take(10).map(|r| &r.message).collect::<Vec<_>>(),
    });
    if let Err(e) = a
        .journal
        .record(&t.tenant, "transfer.finished", outcome, actor, Some(&t.id), detail)
        .await
    {
        tracing::error!("transfer {}: logbook entry failed: {e}", t.id);
    }
    if let Err(e) = a.store.put(&keys::transfer(&t.tenant, &t.id), &t).await {
        tracing::error!("transfer {}: final status could not be saved: {e}", t.id);
    }
}

/// Ends a transfer that resent `earlier`'s message: nothing stored, no reply of its own.
async fn finish_resend(a: &Archive, mut t: Transfer, earlier: &str, actor: &str) {
    let now = Utc::now();
    t.steps.push(Step {
        name: "message".into(),
        outcome: "OK".into(),
        at: now,
        detail: Some(format!(
            "resend of transfer {earlier} (same agency, MessageIdentifier and manifest): its reply stands, nothing stored"
        )),
    });
    // Final, so no one takes it for interrupted; reads show the earlier transfer's status.
    t.status = TransferStatus::Ok;
    t.step = "resend".into();
    t.finished_at = Some(now);
    if let Err(e) = a.journal.record_steps(&t.tenant, actor, &t.id, &t.steps).await {
        tracing::error!("transfer {}: its steps could not be logged: {e}", t.id);
    }
    let detail = serde_json::json!({"resend_of": earlier, "message_identifier": t.message_identifier});
    if let Err(e) = a
        .journal
        .record(&t.tenant, "transfer.resent", "OK", actor, Some(&t.id), detail)
        .await
    {
        tracing::error!("transfer {}: logbook entry failed: {e}", t.id);
    }
    if let Err(e) = a.store.put(&keys::transfer(&t.tenant, &t.id), &t).await {
        tracing::error!("transfer {}: final status could not be saved: {e}", t.id);
    }
}

/// Saves progress: the step now running, and a heartbeat.
async fn progress(a: &Archive, t: &mut Transfer, step: &str) {
    if t.status == TransferStatus::Running && t.step != "received" {
        t.steps.push(Step {
            name: t.step.clone(),
            outcome: "OK".into(),
            at: Utc::now(),
            detail: None,
        });
    }
    t.step = step.into();
    t.heartbeat = Utc::now();
    if let Err(e) = a.store.put(&keys::transfer(&t.tenant, &t.id), &*t).await {
        tracing::warn!("transfer {}: progress not saved: {e}", t.id);
    }
}
