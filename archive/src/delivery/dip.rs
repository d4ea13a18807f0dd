//! Preparing a DIP: what it holds is fixed when it becomes ready, and its zip is written from the
//! objects at each download ([`super::download`]), never stored. The plan
//! ([`super::dip_zip::DipPlan`]) holds:
//!
//! - the manifest, an ArchiveDeliveryRequestReply valid against the XSD of the request's SEDA
//!   version, describing each unit (rules, description) and each object (`Uri`, SHA-512, size,
//!   format, file name);
//! - the objects to send as `Content/<object id>[.ext]`, each checked while sent against a
//!   digest recorded at ingest (nothing altered leaves);
//! - each unit's complete catalog record as `metadata/<unit id>.json` (the lossless description
//!   SEDA's manifest only summarises), as it was when the DIP became ready.
//!
//! Before the DIP is offered, every object's source is checked to be in the cluster at the size
//! its record says, and the zip's exact size is computed (the download's `Content-Length`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::TryStreamExt;
use serde_json::json;

use archipel_seda::delivery::{write_delivery_reply, DeliveryObject, DeliveryReply, DeliveryRule, DeliveryUnit};
use archipel_seda::reply::ReplyCode;
use archipel_seda::version::SedaVersion;

use super::dip_read::{read_order, runs, Run};
use super::dip_zip::{DipPlan, PlanEntry, UnitMetadata};
use super::{Delivery, DeliveryStatus};
use crate::access::{AccessContract, Communicability, ACCESS_CONTRACT};
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{ObjectRecord, UnitRecord};
use crate::service::Archive;

/// How often the build's progress is written to the delivery record.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// Sources checked at once.
const CHECKS_AT_ONCE: usize = 16;

/// Prepares the delivery's DIP in the background, as the build its record names (`attempt`); a
/// failure is recorded on the delivery unless another front took the build over.
pub fn spawn(a: Arc<Archive>, tenant: String, id: String) {
    tokio::spawn(async move {
        match super::load(&a, &tenant, &id).await {
            Ok(v) if v.value.status == DeliveryStatus::Building => run(a, v.value, None).await,
            Ok(_) => {}
            Err(e) => tracing::warn!(tenant, delivery = id, "DIP build not started: {e}"),
        }
    });
}

/// A build started by the request that stored its delivery.
pub(super) struct New {
    /// The units as the request's check read them: not read again.
    pub units: Vec<UnitRecord>,
    /// Whether the request's `delivery.requested` entry was logged.
    pub requested: tokio::sync::oneshot::Receiver<bool>,
}

/// [`spawn`] for a delivery the request just stored.
pub(super) fn spawn_new(a: Arc<Archive>, d: Delivery, new: New) {
    tokio::spawn(run(a, d, Some(new)));
}

/// Whether the request's `delivery.requested` entry is logged. A new build runs while it is
/// being logged and waits for it before logging anything of its own (a built DIP or a failure).
struct RequestLogged {
    pending: Option<tokio::sync::oneshot::Receiver<bool>>,
    logged: bool,
}

impl RequestLogged {
    async fn wait(&mut self) -> bool {
        if let Some(pending) = self.pending.take() {
            self.logged = pending.await.unwrap_or(false);
        }
        self.logged
    }
}

async fn run(a: Arc<Archive>, d: Delivery, new: Option<New>) {
    let (tenant, id, attempt) = (d.tenant.clone(), d.id.clone(), d.attempt);
    let (read, pending) = match new {
        Some(New { units, requested }) => (Some(units), Some(requested)),
        None => (None, None),
    };
    let mut requested = RequestLogged { pending, logged: true };
    let built = match build(&a, d, read, &mut requested).await {
        Err(e) if !requested.wait().await => {
            tracing::warn!(tenant, delivery = id, "DIP build failed: {e}");
            Ok(Built::Unlogged)
        }
        built => built,
    };
    let e = match built {
        Ok(Built::Ready) => return,
        Ok(Built::Superseded) => {
            tracing::info!(tenant, delivery = id, attempt, "DIP build taken over by another front");
            return;
        }
        Ok(Built::Unlogged) => {
            tracing::warn!(
                tenant,
                delivery = id,
                attempt,
                "DIP build stopped: the request was not logged; a front takes it over once it is stale"
            );
            return;
        }
        Err(e) => e,
    };
    tracing::warn!(tenant, delivery = id, "DIP build failed: {e}");
    if let Ok(current) = super::load(&a, &tenant, &id).await {
        let mut d = current.value;
        if d.status != DeliveryStatus::Building || d.attempt != attempt {
            return;
        }
        d.status = DeliveryStatus::Failed;
        d.error = Some(e.to_string());
        d.updated_at = Utc::now();
        let _ = super::save_if(&a, &d, current.revision, vec![]).await;
    }
    let _ = a
        .journal
        .record(
            &tenant,
            "delivery.built",
            "KO",
            "archive",
            Some(&id),
            json!({"error": e.to_string(), "attempt": attempt}),
        )
        .await;
}

enum Built {
    Ready,
    /// Another front took the build over (this one was taken for stopped): nothing of this
    /// build stays.
    Superseded,
    /// The request's own logbook entry failed: nothing of this build stays, and the delivery
    /// stays `building` until a front takes it over as stale, as if this one had stopped.
    Unlogged,
}

/// Writes `d` if its record is still this build's; `false` when another build owns it.
/// `known`: the revision of the record just read and found to be this build's.
async fn save_owned(a: &Archive, d: &Delivery, mut known: Option<u64>) -> Result<bool> {
    for _ in 0..3 {
        let revision = match known.take() {
            Some(revision) => revision,
            None => {
                let current = super::load(a, &d.tenant, &d.id).await?;
                if current.value.status != DeliveryStatus::Building || current.value.attempt != d.attempt {
                    return Ok(false);
                }
                current.revision
            }
        };
        if super::save_if(a, d, revision, vec![]).await? {
            return Ok(true);
        }
    }
    Err(ArchiveError::Conflict(format!(
        "delivery `{}` kept changing while its DIP was built; ask again",
        d.id
    )))
}

/// `Content/<id>` with the original file's extension when it is a plain one (DIPs and outgoing packages).
pub(crate) fn content_path(o: &ObjectRecord) -> String {
    let ext = o
        .filename
        .as_deref()
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.len() <= 10 && e.bytes().all(|b| b.is_ascii_alphanumeric()));
    match ext {
        Some(e) => format!("Content/{}.{e}", o.id),
        None => format!("Content/{}", o.id),
    }
}

/// A plan written out: what the download needs, its zip's size and its stored form.
struct Prepared {
    plan: Arc<DipPlan>,
    zip_size: u64,
    stored: Vec<u8>,
    /// The plan's JSON length: about what it takes in memory.
    json_len: usize,
}

/// `d` is the delivery's record as read (or just written) at the build's start.
/// `read`: the units as the request read them.
async fn build(
    a: &Arc<Archive>,
    mut d: Delivery,
    read: Option<Vec<UnitRecord>>,
    requested: &mut RequestLogged,
) -> Result<Built> {
    let (tenant, id, attempt) = (d.tenant.clone(), d.id.clone(), d.attempt);
    let t = a.refs.tenant(&tenant).await?;
    let contract: Option<AccessContract> = match &d.access_contract {
        Some(c) => Some(a.refs.get(&tenant, ACCESS_CONTRACT, c).await?),
        None => None,
    };
    let mut units = Vec::with_capacity(d.units.len());
    let mut entries = Vec::new();
    let found = match read.filter(|r| r.len() == d.units.len()) {
        Some(read) => read.into_iter().map(Some).collect(),
        None => a.catalog.units_by_id(&tenant, &d.units).await?,
    };
    for (i, (u, unit)) in d.units.iter().zip(found).enumerate() {
        let unit = unit.ok_or_else(|| ArchiveError::NotFound(format!("archive unit `{u}`")))?;
        for o in &unit.objects {
            if contract.as_ref().is_none_or(|c| c.covers_version(o.version.as_deref())) {
                entries.push((
                    i,
                    PlanEntry {
                        path: content_path(o),
                        object: o.clone(),
                    },
                ));
            }
        }
        units.push(unit);
    }
    entries.sort_by(|a, b| read_order(&a.1.object).cmp(&read_order(&b.1.object)));
    d.progress.objects_total = entries.len() as u64;
    d.progress.bytes_total = entries.iter().map(|e| e.1.object.size).sum();
    let started = std::time::Instant::now();
    let sources: Vec<ObjectRecord> = entries.iter().map(|(_, e)| e.object.clone()).collect();
    // The plan is CPU work (the manifest, every unit's record, the zip's size): it is done on a
    // blocking thread while the sources are checked and the cluster's time is read.
    let planning = {
        let (d, agency) = (d.clone(), t.archival_agency.clone());
        tokio::task::spawn_blocking(move || prepare(&d, &agency, &units, entries))
    };
    let checked = (AtomicU64::new(0), AtomicU64::new(0));
    let (prepared, now) = {
        let work = async {
            let (sources_checked, prepared, now) = tokio::join!(
                check_sources(a, &tenant, &sources, &checked),
                planning,
                // The term runs on the cluster's time, as the download's expiry check does.
                a.config.access_clock.now(a.store.client()),
            );
            sources_checked?;
            let prepared =
                prepared.map_err(|e| ArchiveError::Internal(format!("preparing the DIP stopped: {e}")))??;
            // Tests: hold the build here, its sources checked, while the file exists.
            while a.config.dip_pause_file.as_deref().is_some_and(|p| p.exists()) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok::<_, ArchiveError>((prepared, now?))
        };
        tokio::pin!(work);
        // The progress written every second is also the build's sign of life (`resume`).
        let mut ticker = tokio::time::interval(PROGRESS_EVERY);
        ticker.tick().await;
        loop {
            tokio::select! {
                r = &mut work => break r?,
                _ = ticker.tick() => {
                    d.progress.objects_done = checked.0.load(Ordering::Relaxed);
                    d.progress.bytes_done = checked.1.load(Ordering::Relaxed);
                    d.updated_at = Utc::now();
                    match save_owned(a, &d, None).await {
                        Ok(true) => {}
                        Ok(false) => return Ok(Built::Superseded),
                        Err(e) => tracing::warn!("DIP progress of {id} not saved: {e}"),
                    }
                }
            }
        }
    };
    let ns = keys::object_namespace(&tenant);
    let plan_key = keys::dip_plan(&id, attempt);
    let stored = &prepared.stored[..];
    a.store
        .client()
        .put_object(&ns, &plan_key, stored, Some(stored.len() as u64), None)
        .await?;
    if !requested.wait().await {
        let _ = a.store.client().delete_object(&ns, &plan_key).await;
        return Ok(Built::Unlogged);
    }
    let ours = super::load(a, &tenant, &id).await?;
    if ours.value.status != DeliveryStatus::Building || ours.value.attempt != attempt {
        let _ = a.store.client().delete_object(&ns, &plan_key).await;
        return Ok(Built::Superseded);
    }
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let expires_at = now + a.config.dip_ttl;
    // Logged before it is ready: a DIP nobody could account for is never offered.
    a.journal
        .record(
            &tenant,
            "delivery.built",
            "OK",
            "archive",
            Some(&id),
            json!({
                "units": d.units.len(),
                "objects": d.progress.objects_total,
                "bytes": d.progress.bytes_total,
                "dip_size": prepared.zip_size,
                "millis": millis,
                "expires_at": expires_at,
            }),
        )
        .await?;
    d.progress.objects_done = d.progress.objects_total;
    d.progress.bytes_done = d.progress.bytes_total;
    d.status = DeliveryStatus::Ready;
    d.dip_plan = Some(plan_key.clone());
    d.dip_size = Some(prepared.zip_size);
    d.expires_at = Some(expires_at);
    d.updated_at = Utc::now();
    // Against the revision read above: if the record changed meanwhile (taken over), the write
    // fails and a fresh read decides.
    if !save_owned(a, &d, Some(ours.revision)).await? {
        let _ = a.store.client().delete_object(&ns, &plan_key).await;
        return Ok(Built::Superseded);
    }
    a.dip_plans.keep(&ns, &plan_key, prepared.plan, prepared.json_len);
    Ok(Built::Ready)
}

/// The plan of `d`'s DIP, its zip's size and its stored form (blocking: CPU only).
fn prepare(d: &Delivery, agency: &str, units: &[UnitRecord], entries: Vec<(usize, PlanEntry)>) -> Result<Prepared> {
    let prepared_at = Utc::now();
    let plan = DipPlan {
        prepared_at,
        manifest: manifest(d, agency, units, &entries, prepared_at)?,
        metadata: units
            .iter()
            .map(|u| {
                Ok(UnitMetadata {
                    unit: u.id.clone(),
                    json: serde_json::to_string_pretty(u)?,
                })
            })
            .collect::<Result<_>>()?,
        entries: entries.into_iter().map(|(_, e)| e).collect(),
    };
    let zip_size = plan
        .zip_size()
        .map_err(|e| ArchiveError::Internal(format!("sizing the DIP failed: {e}")))?;
    let json = serde_json::to_vec(&plan)?;
    let stored = super::dip_zip::stored_plan(&json)
        .map_err(|e| ArchiveError::Internal(format!("compressing the DIP's plan failed: {e}")))?;
    Ok(Prepared {
        plan: Arc::new(plan),
        zip_size,
        stored,
        json_len: json.len(),
    })
}

/// Every object's source is in the cluster and long enough for what its record says, counted
/// in `checked` (objects, bytes): a DIP is not offered with a file missing. `objects` are in
/// read order.
async fn check_sources(
    a: &Archive,
    tenant: &str,
    objects: &[ObjectRecord],
    checked: &(AtomicU64, AtomicU64),
) -> Result<()> {
    let ns = keys::object_namespace(tenant);
    let runs = runs(objects);
    futures::stream::iter(runs.iter().map(Ok))
        .try_for_each_concurrent(CHECKS_AT_ONCE, |run: &Run| {
            let ns = &ns;
            async move {
                let first = &objects[run.entries.start];
                let info = match a.store.client().stat_object(ns, &run.key).await {
                    Ok(info) => info,
                    Err(archipel_client::ClientError::NotFound(_)) => {
                        return Err(ArchiveError::Internal(format!(
                            "object {} is no longer in the cluster (`{}`): the DIP cannot be offered; run an audit",
                            first.id, run.key
                        )))
                    }
                    Err(e) => return Err(e.into()),
                };
                let needed = match run.length {
                    Some(length) => run.offset + length,
                    None => first.size,
                };
                let fits = match run.length {
                    Some(_) => info.size >= needed,
                    None => info.size == needed,
                };
                if !fits {
                    return Err(ArchiveError::Internal(format!(
                        "object {} needs {needed} bytes of `{}`, which holds {}: the DIP cannot be offered; run an audit",
                        first.id, run.key, info.size
                    )));
                }
                let run_objects = &objects[run.entries.clone()];
                checked.0.fetch_add(run_objects.len() as u64, Ordering::Relaxed);
                checked
                    .1
                    .fetch_add(run_objects.iter().map(|o| o.size).sum(), Ordering::Relaxed);
                Ok(())
            }
        })
        .await
}

fn manifest(
    d: &Delivery,
    archival_agency: &str,
    units: &[UnitRecord],
    entries: &[(usize, PlanEntry)],
    date: chrono::DateTime<Utc>,
) -> Result<String> {
    let version = SedaVersion::ALL
        .into_iter()
        .find(|v| v.as_str() == d.seda_version)
        .unwrap_or(SedaVersion::V2_2);
    let authorization = d
        .authorizations
        .iter()
        .rev()
        .find(|s| s.authority == archipel_seda::authorization::AuthorityKind::ControlAuthority)
        .and_then(|s| s.reply_message_id.clone());
    let reply = DeliveryReply {
        version,
        message_identifier: format!("{}-DIP", d.id),
        date,
        comments: vec![format!("Communication {} pour {}", d.id, d.requester)],
        archival_agreement: None,
        reply_code: ReplyCode::Ok,
        message_request_identifier: d.message_identifier.clone(),
        authorization_reply_identifier: authorization,
        units: units
            .iter()
            .enumerate()
            .map(|(i, u)| DeliveryUnit {
                system_id: u.id.clone(),
                title: u.title.clone(),
                level: u.level.clone(),
                description: u.description.clone(),
                originating_agency: u.originating_agency.clone(),
                start_date: u.start_date,
                end_date: u.end_date,
                rules: distinct_rules(u),
                need_authorization: Communicability::of(u).need_authorization,
                objects: entries
                    .iter()
                    .filter(|(unit, _)| *unit == i)
                    .map(|(_, e)| e.object.id.clone())
                    .collect(),
            })
            .collect(),
        objects: entries
            .iter()
            .map(|(_, e)| DeliveryObject {
                system_id: e.object.id.clone(),
                group_system_id: e.object.group_system_id.clone(),
                version: e.object.version.clone(),
                uri: e.path.clone(),
                sha512: e.object.sha512.clone(),
                size: e.object.size,
                puid: e.object.puid.clone(),
                format_name: e.object.format_name.clone(),
                mime: e.object.mime.clone(),
                filename: e.object.filename.clone(),
            })
            .collect(),
        archival_agency: archival_agency.to_owned(),
        requester: d.requester.clone(),
    };
    let xml = write_delivery_reply(&reply)
        .map_err(|e| ArchiveError::Internal(format!("the DIP manifest cannot be written: {e}")))?;
    String::from_utf8(xml).map_err(|e| ArchiveError::Internal(format!("the DIP manifest is not UTF-8: {e}")))
}

/// Each rule once: an inherited rule reached along several paths is listed once per origin.
fn distinct_rules(u: &UnitRecord) -> Vec<DeliveryRule> {
    let mut out: Vec<DeliveryRule> = Vec::new();
    for r in &u.rules {
        let rule = DeliveryRule {
            category: r.category.clone(),
            rule_id: r.rule_id.clone(),
            start_date: r.start_date,
        };
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    out
}
