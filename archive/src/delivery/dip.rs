//! Building a DIP: a zip streamed into the cluster as it is written, never held whole (in memory
//! or on disk). Layout (docs/archive.md, "Access and communication"):
//!
//! - `manifest.xml`: an ArchiveDeliveryRequestReply, valid against the XSD of the request's
//!   SEDA version, describing each unit (rules, description) and each object (`Uri`, SHA-512,
//!   size, format, file name);
//! - `Content/<object id>[.ext]`: the objects, each re-hashed while copied and compared with
//!   the SHA-512 recorded at ingest (a mismatch fails the build: nothing altered leaves);
//! - `metadata/<unit id>.json`: each unit's complete catalog record (the lossless description
//!   SEDA's manifest only summarises).
//!
//! Objects are read from the cluster by an async task into a bounded pipe, a pack's neighbours in
//! one request ([`super::dip_read`]); the zip is written on a blocking thread (`zip` is
//! synchronous) into a bounded channel the upload drains.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha512};

use archipel_seda::delivery::{write_delivery_reply, DeliveryObject, DeliveryReply, DeliveryRule, DeliveryUnit};
use archipel_seda::reply::ReplyCode;
use archipel_seda::version::SedaVersion;

use super::dip_read::{read_order, runs, RunSource};
use super::{Delivery, DeliveryStatus};
use crate::access::{AccessContract, Communicability, ACCESS_CONTRACT};
use crate::error::{ArchiveError, Result};
use crate::ingest::pack::ChannelWriter;
use crate::keys;
use crate::model::{ObjectRecord, UnitRecord};
use crate::service::Archive;

/// How often the build's progress is written to the delivery record.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The bounded pipe between the cluster read and the zip writer.
const PIPE: usize = 256 << 10;

/// Builds the delivery's DIP in the background, as the build its record names (`attempt`); a
/// failure is recorded on the delivery unless another front took the build over.
pub fn spawn(a: Arc<Archive>, tenant: String, id: String) {
    tokio::spawn(async move {
        let attempt = match super::load(&a, &tenant, &id).await {
            Ok(v) if v.value.status == DeliveryStatus::Building => v.value.attempt,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(tenant, delivery = id, "DIP build not started: {e}");
                return;
            }
        };
        let e = match build(&a, &tenant, &id, attempt).await {
            Ok(Built::Ready) => return,
            Ok(Built::Superseded) => {
                tracing::info!(tenant, delivery = id, attempt, "DIP build taken over by another front");
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
    });
}

enum Built {
    Ready,
    /// Another front took the build over (this one was taken for stopped): nothing of this
    /// build stays.
    Superseded,
}

/// Writes `d` if its record is still this build's; `false` when another build owns it.
async fn save_owned(a: &Archive, d: &Delivery) -> Result<bool> {
    for _ in 0..3 {
        let current = super::load(a, &d.tenant, &d.id).await?;
        if current.value.status != DeliveryStatus::Building || current.value.attempt != d.attempt {
            return Ok(false);
        }
        if super::save_if(a, d, current.revision, vec![]).await? {
            return Ok(true);
        }
    }
    Err(ArchiveError::Conflict(format!(
        "delivery `{}` kept changing while its DIP was built; ask again",
        d.id
    )))
}

struct Entry {
    unit: usize,
    object: ObjectRecord,
    path: String,
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

/// Counts and hashes what goes to the upload.
struct Counting<W> {
    inner: W,
    hasher: Sha512,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

async fn build(a: &Arc<Archive>, tenant: &str, id: &str, attempt: u32) -> Result<Built> {
    let mut d = super::load(a, tenant, id).await?.value;
    if d.status != DeliveryStatus::Building || d.attempt != attempt {
        return Ok(Built::Superseded);
    }
    let t = a.refs.tenant(tenant).await?;
    let contract: Option<AccessContract> = match &d.access_contract {
        Some(c) => Some(a.refs.get(tenant, ACCESS_CONTRACT, c).await?),
        None => None,
    };
    let mut units = Vec::with_capacity(d.units.len());
    let mut entries = Vec::new();
    let found = a.catalog.units_by_id(tenant, &d.units).await?;
    for (i, (u, unit)) in d.units.iter().zip(found).enumerate() {
        let unit = unit.ok_or_else(|| ArchiveError::NotFound(format!("archive unit `{u}`")))?;
        for o in &unit.objects {
            if contract.as_ref().is_none_or(|c| c.covers_version(o.version.as_deref())) {
                entries.push(Entry {
                    unit: i,
                    object: o.clone(),
                    path: content_path(o),
                });
            }
        }
        units.push(unit);
    }
    entries.sort_by(|a, b| read_order(&a.object).cmp(&read_order(&b.object)));
    d.progress.objects_total = entries.len() as u64;
    d.progress.bytes_total = entries.iter().map(|e| e.object.size).sum();
    d.updated_at = Utc::now();
    if !save_owned(a, &d).await? {
        return Ok(Built::Superseded);
    }
    let started = std::time::Instant::now();

    let manifest = manifest(&d, &t.archival_agency, &units, &entries)?;
    let ns = keys::object_namespace(tenant);
    let dip_key = keys::dip_attempt(id, attempt);
    let pause = a.config.dip_pause_file.clone();
    let objects_done = Arc::new(AtomicU64::new(0));
    let bytes_done = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let writer = {
        let (client, ns) = (a.store.client().clone(), ns.clone());
        let (objects_done, bytes_done) = (objects_done.clone(), bytes_done.clone());
        let handle = tokio::runtime::Handle::current();
        let units_json: Vec<(String, Vec<u8>)> = units
            .iter()
            .map(|u| Ok((u.id.clone(), serde_json::to_vec_pretty(u)?)))
            .collect::<Result<_>>()?;
        tokio::task::spawn_blocking(move || {
            let mut channel = ChannelWriter::new(tx);
            let out = Counting {
                inner: &mut channel,
                hasher: Sha512::new(),
                bytes: 0,
            };
            let written = write_zip(
                out,
                &handle,
                &client,
                &ns,
                &entries,
                &units_json,
                &manifest,
                &objects_done,
                &bytes_done,
                pause.as_deref(),
            );
            match written {
                Ok(r) => match channel.flush() {
                    Ok(()) => Ok(r),
                    Err(e) => Err(e),
                },
                Err(e) => {
                    // The upload must fail, not store a DIP cut short.
                    channel.fail(&e);
                    Err(e)
                }
            }
        })
    };
    let body = tokio_util::io::StreamReader::new(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut upload = Box::pin(a.store.client().put_object(&ns, &dip_key, body, None, None));
    // The progress written every second is also the build's sign of life (`resume`).
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    ticker.tick().await;
    let uploaded = loop {
        tokio::select! {
            r = &mut upload => break Some(r),
            _ = ticker.tick() => {
                d.progress.objects_done = objects_done.load(Ordering::Relaxed);
                d.progress.bytes_done = bytes_done.load(Ordering::Relaxed);
                d.updated_at = Utc::now();
                match save_owned(a, &d).await {
                    Ok(true) => {}
                    Ok(false) => break None,
                    Err(e) => tracing::warn!("DIP progress of {id} not saved: {e}"),
                }
            }
        }
    };
    let Some(uploaded) = uploaded else {
        // Dropping the upload stops it uncommitted, and the writer with it.
        drop(upload);
        let _ = writer.await;
        return Ok(Built::Superseded);
    };
    let written = writer
        .await
        .map_err(|e| ArchiveError::Internal(format!("the DIP writer stopped: {e}")))?;
    let (size, sha512) = match (written, uploaded) {
        (Ok(r), Ok(_)) => r,
        (Err(e), up) => {
            if up.is_ok() {
                let _ = a.store.client().delete_object(&ns, &dip_key).await;
            }
            return Err(ArchiveError::Internal(format!("writing the DIP failed: {e}")));
        }
        (Ok(_), Err(e)) => return Err(ArchiveError::from(e)),
    };
    let ours = super::load(a, tenant, id).await?.value;
    if ours.status != DeliveryStatus::Building || ours.attempt != attempt {
        let _ = a.store.client().delete_object(&ns, &dip_key).await;
        return Ok(Built::Superseded);
    }
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // The term runs on the cluster's time, as the download's expiry check does.
    let expires_at = a.config.access_clock.now(a.store.client()).await? + a.config.dip_ttl;
    // Logged before it is ready: a DIP nobody could account for is never offered.
    a.journal
        .record(
            tenant,
            "delivery.built",
            "OK",
            "archive",
            Some(id),
            json!({
                "units": d.units.len(),
                "objects": d.progress.objects_total,
                "bytes": d.progress.bytes_total,
                "dip_size": size,
                "dip_sha512": sha512,
                "millis": millis,
                "expires_at": expires_at,
            }),
        )
        .await?;
    d.progress.objects_done = d.progress.objects_total;
    d.progress.bytes_done = d.progress.bytes_total;
    d.status = DeliveryStatus::Ready;
    d.dip_key = Some(dip_key.clone());
    d.dip_size = Some(size);
    d.dip_sha512 = Some(sha512);
    d.expires_at = Some(expires_at);
    d.updated_at = Utc::now();
    if !save_owned(a, &d).await? {
        let _ = a.store.client().delete_object(&ns, &dip_key).await;
        return Ok(Built::Superseded);
    }
    Ok(Built::Ready)
}

#[allow(clippy::too_many_arguments)]
fn write_zip<W: Write>(
    out: Counting<W>,
    handle: &tokio::runtime::Handle,
    client: &Arc<archipel_client::Client>,
    ns: &str,
    entries: &[Entry],
    units_json: &[(String, Vec<u8>)],
    manifest: &[u8],
    objects_done: &AtomicU64,
    bytes_done: &AtomicU64,
    pause: Option<&std::path::Path>,
) -> std::io::Result<(u64, String)> {
    use zip::write::SimpleFileOptions;
    let zip_err = |e: zip::result::ZipError| std::io::Error::other(format!("zip: {e}"));
    let mut zip = zip::ZipWriter::new_stream(out);
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut buf = vec![0u8; PIPE];
    for run in runs(entries.iter().map(|e| &e.object)) {
        let (w, r) = tokio::io::duplex(PIPE);
        let (client, ns, key) = (client.clone(), ns.to_owned(), run.key.clone());
        let (offset, length) = (run.offset, run.length);
        let read = handle.spawn(async move {
            let mut w = w;
            client.get_object(&ns, &key, offset, length, &mut w, None).await
        });
        let read_failure = |read: tokio::task::JoinHandle<_>, o: &ObjectRecord| match handle.block_on(read) {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(std::io::Error::other(format!("reading object {} failed: {e}", o.id))),
            Err(e) => Some(std::io::Error::other(format!("reading object {} stopped: {e}", o.id))),
        };
        let mut source = RunSource::new(r, handle, &run, &mut buf);
        let mut read = Some(read);
        for e in &entries[run.entries.clone()] {
            let o = &e.object;
            zip.start_file(e.path.as_str(), stored.large_file(o.size >= u64::from(u32::MAX)))
                .map_err(zip_err)?;
            let mut hasher = Sha512::new();
            let copied = source.copy(o.pack_offset.unwrap_or(0), o.size, |chunk| {
                hasher.update(chunk);
                zip.write_all(chunk)?;
                bytes_done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                Ok(())
            })?;
            let mut extra = 0;
            if copied == o.size && run.length.is_none() {
                // A whole object must end where its record says.
                extra = source.drain()?;
            }
            if copied < o.size || extra > 0 {
                if let Some(failed) = read.take().and_then(|r| read_failure(r, o)) {
                    return Err(failed);
                }
            }
            let digest = hex::encode(hasher.finalize());
            if copied != o.size || extra > 0 || !digest.eq_ignore_ascii_case(&o.sha512) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "object {} read back as {} bytes with SHA-512 {digest}, but {} bytes with SHA-512 {} \
                         were recorded at ingest: nothing altered is delivered; run an audit",
                        o.id,
                        copied + extra,
                        o.size,
                        o.sha512
                    ),
                ));
            }
            objects_done.fetch_add(1, Ordering::Relaxed);
            // Tests: hold the build here, half written, while the file exists.
            while pause.is_some_and(|p| p.exists()) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        source.drain()?;
        if let Some(failed) = read
            .take()
            .and_then(|r| read_failure(r, &entries[run.entries.start].object))
        {
            return Err(failed);
        }
    }
    for (unit, bytes) in units_json {
        zip.start_file(format!("metadata/{unit}.json"), stored)
            .map_err(zip_err)?;
        zip.write_all(bytes)?;
    }
    zip.start_file("manifest.xml", stored).map_err(zip_err)?;
    zip.write_all(manifest)?;
    let out = zip.finish().map_err(zip_err)?;
    let mut out = out.into_inner();
    out.flush()?;
    Ok((out.bytes, hex::encode(out.hasher.finalize())))
}

fn manifest(d: &Delivery, archival_agency: &str, units: &[UnitRecord], entries: &[Entry]) -> Result<Vec<u8>> {
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
        date: Utc::now(),
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
                    .filter(|e| e.unit == i)
                    .map(|e| e.object.id.clone())
                    .collect(),
            })
            .collect(),
        objects: entries
            .iter()
            .map(|e| DeliveryObject {
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
    write_delivery_reply(&reply).map_err(|e| ArchiveError::Internal(format!("the DIP manifest cannot be written: {e}")))
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
