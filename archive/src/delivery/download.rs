//! Downloading a ready DIP: the zip is written from the objects as it is sent (no stored copy),
//! every object checked on the way against a digest recorded at ingest. A mismatch, or an object
//! the cluster cannot read, cuts the download short (the client sees a transfer shorter than its
//! `Content-Length`, never a complete-looking zip), is logged, and an altered object fails the
//! delivery so nobody downloads it again.
//!
//! Which digest: the BLAKE3 ingest recorded beside the SHA-512 (same bytes, same pass), several
//! times cheaper to recompute; a record older than it is checked by its SHA-512. An object read
//! whole is hashed by the client crate against the BLAKE3 of its storage manifest, so the front
//! only compares that one with the record's instead of hashing the bytes a second time.
//!
//! The units a ready DIP names cannot be eliminated or transferred out until it expires
//! (`disposal::pending_communications`), so its sources outlive it.

use std::io::Write;
use std::sync::Arc;

use archipel_client::proto::object::ObjectInfo;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use serde_json::json;

use super::digests::{Digested, Digests};
use super::dip_read::{runs, Run, RunSource};
use super::dip_zip::{read_stored_plan, write_zip, DipPlan};
use super::{Delivery, DeliveryStatus};
use crate::counted::Counted;
use crate::error::{ArchiveError, Result};
use crate::ingest::pack::ChannelWriter;
use crate::keys;
use crate::model::ObjectRecord;
use crate::service::Archive;

/// The pipe a DIP stored whole (by an earlier version) is streamed through.
const PIPE: usize = 4 << 20;
/// Chunks (a node sends one per stripe, a few MiB) waiting between one run's read and the zip
/// writer, besides the one the writer holds and the one the client is handing on: the cluster's
/// answer keeps coming while the writer hashes, within a bound per run.
const RUN_CHUNKS: usize = 1;
/// Runs asked for ahead of the one being written: a pack's ranged read takes a while to start
/// (the node opens the shards and decodes the first stripe), so with one run ahead the writer
/// still waited on the cluster about half of a many-objects DIP (docs/performance.md). Each
/// holds at most [`RUN_CHUNKS`] chunks until the writer reaches it.
const RUNS_AHEAD: usize = 3;
/// A plan larger than this (its JSON) is refused rather than read into memory (a plan is ~1 KiB
/// per object plus each unit's record; the units per request are capped far below).
const MAX_PLAN: u64 = 512 << 20;

/// A DIP being sent: its size when known, and its bytes.
pub struct DipDownload {
    pub size: Option<u64>,
    pub body: BoxStream<'static, std::io::Result<Bytes>>,
}

/// Opens the DIP of the ready delivery `d` (the caller checked who asks and the expiry).
pub async fn open(a: &Arc<Archive>, d: &Delivery) -> Result<DipDownload> {
    let ns = keys::object_namespace(&d.tenant);
    if let (Some(plan_key), Some(size)) = (&d.dip_plan, d.dip_size) {
        let plan = match a.dip_plans.get(&ns, plan_key) {
            Some(kept) => kept,
            None => Arc::new(read_plan(a, &ns, plan_key).await?),
        };
        let mut body = stream_plan(a.clone(), d.tenant.clone(), d.id.clone(), ns, plan, size);
        // The first bytes before the answer's status: a DIP that fails in its first chunk (all
        // of a small one) gets an error status with the reason, not a broken connection.
        let first = match body.next().await {
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => {
                return Err(match e.kind() {
                    std::io::ErrorKind::InvalidData => {
                        ArchiveError::Conflict(format!("the DIP of delivery `{}` cannot be sent: {e}", d.id))
                    }
                    _ => ArchiveError::Unavailable(format!("the DIP of delivery `{}` cannot be sent: {e}", d.id)),
                })
            }
            None => Bytes::new(),
        };
        return Ok(DipDownload {
            size: Some(size),
            body: futures::stream::once(async move { Ok(first) }).chain(body).boxed(),
        });
    }
    // A DIP stored whole by an earlier version.
    let Some(key) = d.dip_key.clone() else {
        return Err(ArchiveError::Conflict(format!(
            "delivery `{}` has no DIP to download; ask again",
            d.id
        )));
    };
    let (mut w, r) = tokio::io::duplex(PIPE);
    let client = a.store.client().clone();
    tokio::spawn(async move {
        if let Err(e) = client.get_object(&ns, &key, 0, None, &mut w, None).await {
            tracing::warn!("streaming the DIP {ns}/{key} failed: {e}");
        }
    });
    Ok(DipDownload {
        size: d.dip_size,
        body: tokio_util::io::ReaderStream::new(r).boxed(),
    })
}

async fn read_plan(a: &Archive, ns: &str, key: &str) -> Result<DipPlan> {
    let client = a.store.client();
    let info = client.stat_object(ns, key).await?;
    if info.size > MAX_PLAN {
        return Err(ArchiveError::Internal(format!(
            "the DIP's plan {ns}/{key} is {} bytes, more than the {MAX_PLAN} a front reads; ask for fewer units",
            info.size
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
    client.get_object(ns, key, 0, None, &mut bytes, None).await?;
    read_stored_plan(&bytes, MAX_PLAN)
        .map_err(|e| ArchiveError::Internal(format!("the DIP's plan {ns}/{key} cannot be read: {e}")))
}

/// The zip of `plan`, written on a blocking thread (`zip` is synchronous) while the objects
/// stream in; it must come to exactly `size` bytes.
fn stream_plan(
    a: Arc<Archive>,
    tenant: String,
    id: String,
    ns: String,
    plan: Arc<DipPlan>,
    size: u64,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let handle = tokio::runtime::Handle::current();
    let client = a.store.client().clone();
    let writer = tokio::task::spawn_blocking(move || {
        let mut channel = ChannelWriter::new(tx);
        let written = write_all(&mut channel, &plan, handle, client, ns, size);
        if let Err(e) = &written {
            // The client must see a broken transfer, not a clean end.
            channel.fail(e);
        }
        written
    });
    tokio::spawn(async move {
        let e = match writer.await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(e) => std::io::Error::other(format!("the DIP writer stopped: {e}")),
        };
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            tracing::info!(tenant, delivery = id, "DIP download left by the client: {e}");
            return;
        }
        tracing::warn!(tenant, delivery = id, "DIP download failed: {e}");
        if let Err(logged) = a
            .journal
            .record(
                &tenant,
                "delivery.downloaded",
                "KO",
                "archive",
                Some(&id),
                json!({"error": e.to_string()}),
            )
            .await
        {
            tracing::warn!("the failed DIP download of {id} could not be logged: {logged}");
        }
        if e.kind() == std::io::ErrorKind::InvalidData {
            fail_delivery(&a, &tenant, &id, &e.to_string()).await;
        }
    });
    let mut rx = rx;
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

/// An altered object: the delivery fails, with the reason, so nobody downloads it again.
async fn fail_delivery(a: &Archive, tenant: &str, id: &str, error: &str) {
    for _ in 0..3 {
        let Ok(current) = super::load(a, tenant, id).await else {
            return;
        };
        let mut d = current.value;
        if d.status != DeliveryStatus::Ready {
            return;
        }
        d.status = DeliveryStatus::Failed;
        d.error = Some(error.to_owned());
        d.updated_at = chrono::Utc::now();
        if let Ok(true) = super::save_if(a, &d, current.revision, vec![]).await {
            return;
        }
    }
    tracing::warn!(tenant, delivery = id, "the delivery could not be marked failed");
}

fn write_all(
    channel: &mut ChannelWriter,
    plan: &DipPlan,
    handle: tokio::runtime::Handle,
    client: Arc<archipel_client::Client>,
    ns: String,
    size: u64,
) -> std::io::Result<()> {
    let mut content = ClusterContent {
        runs: runs(plan.entries.iter().map(|e| &e.object)),
        handle,
        client,
        ns,
        next: 0,
        open: None,
        ahead: std::collections::VecDeque::new(),
        digests: Digests::start()?,
    };
    let mut counted = Counted::new(&mut *channel);
    write_zip(&mut counted, plan, |i, out| content.copy(plan, i, out))?;
    if counted.bytes != size {
        return Err(std::io::Error::other(format!(
            "the DIP came to {} bytes where {size} were announced",
            counted.bytes
        )));
    }
    counted.inner.flush()
}

/// Each digest against the SHA-512 recorded at ingest.
fn check_digests(plan: &DipPlan, digested: Vec<Digested>) -> std::io::Result<()> {
    for d in digested {
        let o = &plan.entries[d.entry].object;
        if !d.sha512.eq_ignore_ascii_case(&o.sha512) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "object {} read back with SHA-512 {}, but {} was recorded at ingest: nothing altered is \
                     delivered; run an audit",
                    o.id, d.sha512, o.sha512
                ),
            ));
        }
    }
    Ok(())
}

type Read = tokio::task::JoinHandle<std::result::Result<ObjectInfo, archipel_client::ClientError>>;

/// How an object's bytes are checked on their way into the zip.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Check {
    /// Hashed here with BLAKE3 (a packed object: the client reads a range, which it cannot check).
    Blake3,
    /// Hashed with SHA-512 on the hashing thread (a record from before BLAKE3 was recorded).
    Sha512,
    /// Read whole: the client hashes it against its storage manifest's BLAKE3, which is then
    /// compared with the record's.
    ByTheClient,
}

impl Check {
    fn of(o: &ObjectRecord, run: &Run) -> Self {
        match (&o.blake3, run.length) {
            (None, _) => Check::Sha512,
            (Some(_), None) => Check::ByTheClient,
            (Some(_), Some(_)) => Check::Blake3,
        }
    }
}

/// `found`, a BLAKE3 of the bytes sent, against the one recorded at ingest.
fn check_blake3(o: &ObjectRecord, found: &[u8]) -> std::io::Result<()> {
    let recorded = o.blake3.as_deref().unwrap_or_default();
    let found = hex::encode(found);
    if found.eq_ignore_ascii_case(recorded) {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "object {} read back with BLAKE3 {found}, but {recorded} was recorded at ingest: nothing altered is \
             delivered; run an audit",
            o.id
        ),
    ))
}

/// One run being read: its bytes and the request's outcome.
struct OpenRun {
    run: usize,
    source: RunSource,
    read: Option<Read>,
}

/// The objects' bytes from the cluster, run by run (a pack's neighbours in one request).
struct ClusterContent {
    runs: Vec<Run>,
    handle: tokio::runtime::Handle,
    client: Arc<archipel_client::Client>,
    ns: String,
    next: usize,
    open: Option<OpenRun>,
    /// The runs after `open`, already asked for (at most [`RUNS_AHEAD`], in order): their first
    /// bytes come while `open` is written.
    ahead: std::collections::VecDeque<OpenRun>,
    digests: Digests,
}

impl ClusterContent {
    /// Writes entry `i` into `out`, checked against its size and the digest recorded at ingest.
    fn copy(&mut self, plan: &DipPlan, i: usize, out: &mut dyn Write) -> std::io::Result<()> {
        let o = &plan.entries[i].object;
        let mut open = match self.open.take() {
            Some(open) => open,
            None => {
                let open = match self.ahead.pop_front() {
                    Some(ahead) if ahead.run == self.next && self.runs[ahead.run].entries.start == i => {
                        self.next += 1;
                        ahead
                    }
                    _ => {
                        self.ahead.clear();
                        self.start(i)?
                    }
                };
                let mut last = self.ahead.back().map_or(open.run, |r| r.run);
                while last + 1 < self.runs.len() && last < open.run + RUNS_AHEAD {
                    last += 1;
                    let ahead = self.request(last);
                    self.ahead.push_back(ahead);
                }
                open
            }
        };
        let run = &self.runs[open.run];
        let check = Check::of(o, run);
        let mut blake3 = blake3::Hasher::new();
        let digests = &mut self.digests;
        let copied = open.source.copy(o.pack_offset.unwrap_or(0), o.size, |chunk| {
            out.write_all(&chunk)?;
            match check {
                Check::Blake3 => {
                    blake3.update(&chunk);
                }
                Check::Sha512 => digests.update(chunk)?,
                Check::ByTheClient => {}
            }
            Ok(())
        })?;
        let mut extra = 0;
        if copied == o.size && run.length.is_none() {
            // A whole object must end where its record says.
            extra = open.source.drain()?;
        }
        if copied < o.size || extra > 0 {
            if let Some(read) = open.read.take() {
                self.finish(read, &o.id)?;
            }
        }
        if copied != o.size || extra > 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "object {} read back as {} bytes, but {} bytes with SHA-512 {} were recorded at ingest: \
                     nothing altered is delivered; run an audit",
                    o.id,
                    copied + extra,
                    o.size,
                    o.sha512
                ),
            ));
        }
        match check {
            Check::Blake3 => check_blake3(o, blake3.finalize().as_bytes())?,
            Check::Sha512 => self.digests.end(i)?,
            Check::ByTheClient => {}
        }
        // Before the zip's last object ends, every digest is in: a mismatch found later would
        // let the zip be completed.
        let digested = if i + 1 == plan.entries.len() {
            self.digests.rest()?
        } else {
            self.digests.ready()
        };
        check_digests(plan, digested)?;
        if i + 1 < run.entries.end {
            self.open = Some(open);
            return Ok(());
        }
        open.source.drain()?;
        if let Some(read) = open.read.take() {
            let info = self.finish(read, &o.id)?;
            if check == Check::ByTheClient {
                check_blake3(o, &info.blake3)?;
            }
        }
        Ok(())
    }

    /// Starts reading the next run, which must begin with entry `i`.
    fn start(&mut self, i: usize) -> std::io::Result<OpenRun> {
        if self.runs.get(self.next).is_none_or(|r| r.entries.start != i) {
            return Err(std::io::Error::other(format!(
                "the DIP's entry {i} is not where its plan reads it"
            )));
        }
        let open = self.request(self.next);
        self.next += 1;
        Ok(open)
    }

    /// Asks the cluster for run `index`'s bytes.
    fn request(&self, index: usize) -> OpenRun {
        let run = &self.runs[index];
        let (tx, rx) = tokio::sync::mpsc::channel(RUN_CHUNKS);
        let (client, ns, key) = (self.client.clone(), self.ns.clone(), run.key.clone());
        let (offset, length) = (run.offset, run.length);
        let read = self
            .handle
            .spawn(async move { client.get_object_chunks(&ns, &key, offset, length, &tx).await });
        OpenRun {
            run: index,
            source: RunSource::new(rx, self.handle.clone(), run),
            read: Some(read),
        }
    }

    fn finish(&self, read: Read, object: &str) -> std::io::Result<ObjectInfo> {
        read_outcome(&self.handle, read, object)
    }
}

/// The outcome of a run's read: the object's info, or why it failed. A read the client found
/// altered (bytes against its storage manifest) is an altered object.
fn read_outcome(handle: &tokio::runtime::Handle, read: Read, object: &str) -> std::io::Result<ObjectInfo> {
    match handle.block_on(read) {
        Ok(Ok(info)) => Ok(info),
        Ok(Err(e @ archipel_client::ClientError::DataLoss(_))) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("object {object} read back altered ({e}): nothing altered is delivered; run an audit"),
        )),
        Ok(Err(e)) => Err(std::io::Error::other(format!("reading object {object} failed: {e}"))),
        Err(e) => Err(std::io::Error::other(format!("reading object {object} stopped: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that found the bytes altered fails the delivery (`InvalidData`); any other
    /// failure only cuts this download.
    #[test]
    fn a_read_found_altered_is_an_altered_object() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let altered: Read = rt.spawn(async { Err(archipel_client::ClientError::DataLoss("blake3".into())) });
        let err = read_outcome(rt.handle(), altered, "obj").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        assert!(err.to_string().contains("obj"), "{err}");
        let down: Read = rt.spawn(async { Err(archipel_client::ClientError::Unavailable("node down".into())) });
        let err = read_outcome(rt.handle(), down, "obj").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Other, "{err}");
    }
}
