//! Storing a checked SIP as a self-describing AIP: the objects, the original manifest, then the
//! descriptor (last: an AIP without one is incomplete), then the catalog commit. Any failure
//! removes what was stored.

use std::sync::Arc;

use std::collections::HashMap;

use archipel_client::Client;
use chrono::Utc;
use futures::StreamExt;

/// Objects of one transfer uploaded at once.
const UPLOADS_IN_FLIGHT: usize = 16;

use super::checks::Checked;
use super::pack::{self, FileToStore};
use super::progress;
use crate::keys;
use crate::model::{AipDescriptor, Reason, Transfer, UnitRecord, AIP_FORMAT};
use crate::service::Archive;

pub async fn store(a: &Arc<Archive>, t: &mut Transfer, mut c: Checked) -> Result<Vec<UnitRecord>, Vec<Reason>> {
    progress(a, t, "store").await;
    let ns = c.tenant.namespace.clone();
    let client = a.store.client().clone();
    let mut stored: Vec<String> = Vec::new();
    let mut undo = true;
    let fail = |step: &str, e: String| {
        vec![Reason {
            step: step.into(),
            subject: None,
            message: e,
        }]
    };
    let result: Result<(), Vec<Reason>> = async {
        // Small files go into tar packs, the rest alone; several uploads in flight, as each
        // waits on fsyncs and a Raft commit more than on this CPU.
        let mut files = Vec::with_capacity(c.files.len());
        for (key, path) in &c.files {
            let size = tokio::fs::metadata(path)
                .await
                .map_err(|e| fail("store", format!("cannot read the checked file {}: {e}", path.display())))?
                .len();
            files.push(FileToStore {
                key: key.clone(),
                path: path.clone(),
                size,
            });
        }
        let (packs, alone) = if a.config.pack_files_up_to > 0 {
            pack::plan(files, a.config.pack_files_up_to)
        } else {
            (Vec::new(), files)
        };
        let prefix = keys::aip_prefix(&c.aip_id);
        let started = std::time::Instant::now();
        let (pack_count, alone_count) = (packs.len(), alone.len());
        let jobs = packs
            .into_iter()
            .enumerate()
            .map(|(n, members)| Upload::Pack(keys::aip_pack(&c.aip_id, n), members))
            .chain(alone.into_iter().map(Upload::Alone))
            .map(|job| {
                let (client, ns, prefix) = (client.clone(), ns.clone(), prefix.clone());
                async move { job.run(&client, &ns, &prefix).await }
            });
        let mut uploads = futures::stream::iter(jobs).buffer_unordered(UPLOADS_IN_FLIGHT);
        let mut first_error = None;
        let mut packed: HashMap<String, pack::Packed> = HashMap::new();
        while let Some((key, r)) = uploads.next().await {
            match r {
                Ok(members) => {
                    for (member, offset) in members {
                        packed.insert(
                            member,
                            pack::Packed {
                                key: key.clone(),
                                offset,
                            },
                        );
                    }
                    stored.push(key);
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| fail("store", format!("storing {key} failed: {e}")));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        tracing::info!(
            transfer = %t.id,
            packs = pack_count,
            alone = alone_count,
            secs = started.elapsed().as_secs_f64(),
            "AIP objects stored"
        );
        // The records say where each packed file's bytes are, in the descriptor and the catalog.
        for o in c.units.iter_mut().flat_map(|u| u.objects.iter_mut()) {
            if let Some(p) = packed.get(&o.key) {
                o.key = p.key.clone();
                o.pack_offset = Some(p.offset);
            }
        }
        let manifest_key = keys::aip_manifest(&c.aip_id);
        client
            .put_object(
                &ns,
                &manifest_key,
                c.manifest_bytes.as_slice(),
                Some(c.manifest_bytes.len() as u64),
                None,
            )
            .await
            .map_err(|e| fail("store", format!("storing the manifest failed: {e}")))?;
        stored.push(manifest_key.clone());
        let descriptor = AipDescriptor {
            format: AIP_FORMAT.into(),
            aip_id: c.aip_id.clone(),
            tenant: t.tenant.clone(),
            transfer_id: t.id.clone(),
            seda_version: c.version.to_string(),
            message_identifier: c.manifest.message_identifier.clone().unwrap_or_default(),
            agreement: c.agreement.as_ref().map(|x| x.id.clone()),
            transferring_agency: c
                .manifest
                .transferring_agency
                .as_ref()
                .and_then(|x| x.identifier.clone())
                .unwrap_or_default(),
            archival_agency: c.tenant.archival_agency.clone(),
            created_at: Utc::now(),
            manifest_key,
            manifest_sha512: {
                let mut h = archipel_seda::digest::Hasher::new(archipel_seda::digest::DigestAlgorithm::Sha512);
                h.update(&c.manifest_bytes);
                h.finish()
            },
            units: c.units.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&descriptor).map_err(|e| fail("store", e.to_string()))?;
        let dkey = keys::aip_descriptor(&c.aip_id);
        client
            .put_object(&ns, &dkey, bytes.as_slice(), Some(bytes.len() as u64), None)
            .await
            .map_err(|e| fail("store", format!("storing the AIP descriptor failed: {e}")))?;
        stored.push(dkey);
        tracing::info!(transfer = %t.id, secs = started.elapsed().as_secs_f64(), "AIP manifest and descriptor stored");
        progress(a, t, "catalog").await;
        // Tests: hold the transfer here, stored but not committed, while the file exists.
        while a.config.ingest_pause_file.as_ref().is_some_and(|p| p.exists()) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let claim = super::message::still_held(a, t).await?;
        if let Err(e) = a.catalog.commit(&t.tenant, &c.aip_id, &t.id, &c.units, claim).await {
            // An unknown outcome may hide a commit: look before undoing anything.
            match a.store.get::<crate::catalog::AipRecord>(&keys::aip(&t.tenant, &c.aip_id)).await {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => return Err(fail("catalog", format!("committing the catalog failed: {e}"))),
                Err(check) => {
                    // Neither known nor undoable: keep everything; a reindex settles it.
                    undo = false;
                    t.uncertain_aip = Some(c.aip_id.clone());
                    return Err(fail(
                        "catalog",
                        format!("committing the catalog failed ({e}) and its outcome is unknown ({check}); nothing was removed: run `archipel archive reindex`"),
                    ));
                }
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            t.aip_id = Some(c.aip_id.clone());
            t.units = c.units.len();
            let distinct: std::collections::HashSet<&str> = c
                .units
                .iter()
                .flat_map(|u| u.objects.iter())
                .map(|o| o.sip_id.as_str())
                .collect();
            t.objects = distinct.len();
            crate::searching::index_units(a, &t.tenant, &c.units).await;
            // Only an approved elimination lifts it (docs/archive.md, "Execution").
            crate::disposal::locks::hold_committed(&a.store, &t.tenant, &ns, &c.aip_id, &c.units).await;
            Ok(c.units)
        }
        Err(reasons) if !undo => Err(reasons),
        Err(reasons) => {
            // Descriptor first, so a half-removed AIP never looks complete.
            for key in stored.iter().rev() {
                if let Err(e) = client.delete_object(&ns, key).await {
                    tracing::warn!("transfer {}: could not remove {ns}/{key} after a failure: {e}", t.id);
                }
            }
            if let Err(e) = a.catalog.discard(&t.tenant, &c.units).await {
                tracing::warn!("transfer {}: could not remove its unit records: {e}", t.id);
            }
            Err(reasons)
        }
    }
}

/// One object of the AIP to upload: a file alone, or a pack of small files built first.
enum Upload {
    Alone(FileToStore),
    Pack(String, Vec<FileToStore>),
}

impl Upload {
    /// Returns the key stored and, for a pack, each member's key and offset in it.
    async fn run(self, client: &Client, ns: &str, prefix: &str) -> (String, Result<Vec<(String, u64)>, String>) {
        match self {
            Upload::Alone(f) => {
                let r = client.put_object_file(ns, &f.key, &f.path, None).await;
                (f.key, r.map(|_| Vec::new()).map_err(|e| e.to_string()))
            }
            Upload::Pack(key, members) => {
                let r = upload_pack(client, ns, &key, members, prefix).await;
                (key, r)
            }
        }
    }
}

/// Builds the pack on a blocking thread while the upload streams it.
async fn upload_pack(
    client: &Client,
    ns: &str,
    key: &str,
    members: Vec<FileToStore>,
    prefix: &str,
) -> Result<Vec<(String, u64)>, String> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let prefix = prefix.to_owned();
    let build = tokio::task::spawn_blocking(move || {
        let mut writer = pack::ChannelWriter::new(tx);
        let built = pack::write_tar(&members, &prefix, &mut writer);
        if let Err(e) = &built {
            // The upload must fail, not store a pack cut short.
            writer.fail(e);
        }
        built
    });
    let mut rx = rx;
    let body = tokio_util::io::StreamReader::new(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let uploaded = client.put_object(ns, key, body, None, None).await;
    let built = build
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(format!("the packing thread stopped: {e}"))));
    match (built, uploaded) {
        (Ok(offsets), Ok(_)) => Ok(offsets),
        (Err(e), Ok(_)) => {
            // Only a builder that died without a word lets a pack end early: never keep it.
            if let Err(d) = client.delete_object(ns, key).await {
                tracing::warn!("could not remove the incomplete pack {ns}/{key}: {d}");
            }
            Err(format!("packing failed: {e}"))
        }
        (Err(e), Err(_)) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("packing failed: {e}")),
        (_, Err(e)) => Err(e.to_string()),
    }
}
