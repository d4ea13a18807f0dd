//! The package of a restitution or a transfer out: a zip holding `manifest.xml` (an
//! ArchiveTransfer from Archipel's archival agency to the recipient, so that the recipient can
//! ingest it as any SIP), `Content/<object id>[.ext]` (each object re-hashed while copied and
//! compared with the SHA-512 recorded at ingest: nothing altered leaves). Nothing else: a SIP
//! holding files its manifest does not reference is refused (by Archipel's own ingest too).
//!
//! Objects come one at a time through the spool (the zip is built in a temporary file there,
//! synced and renamed, then stored whole in the cluster), so memory stays flat; the spool must
//! hold the package once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use archipel_seda::outgoing::{write_outgoing_transfer, OutObject, OutRules, OutUnit, OutgoingTransfer};
use chrono::Utc;
use sha2::{Digest, Sha512};

use super::outgoing::{self, Outgoing, Package};
use crate::error::{ArchiveError, Result};
use crate::flows::SipWriter;
use crate::model::{ObjectRecord, Tenant, UnitRecord};
use crate::service::Archive;

/// How often the build's progress is written to the record.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// One file of the package.
struct Entry {
    object: ObjectRecord,
    path: String,
}

/// The manifest of `units` (every unit of the package, parents before or after children).
fn manifest(o: &Outgoing, t: &Tenant, units: &[UnitRecord], entries: &[Entry]) -> Result<Vec<u8>> {
    let in_package: HashSet<&str> = units.iter().map(|u| u.id.as_str()).collect();
    let mut children: BTreeMap<&str, Vec<&UnitRecord>> = BTreeMap::new();
    let mut roots = Vec::new();
    for u in units {
        let parent = u
            .parent_ids
            .iter()
            .chain(&u.parent_id)
            .find(|p| in_package.contains(p.as_str()));
        match parent {
            Some(p) => children.entry(p.as_str()).or_default().push(u),
            None => roots.push(u),
        }
    }
    // xsd:IDs of the manifest: the catalog's ids may start with a digit.
    let mut group_ids: HashMap<String, String> = HashMap::new();
    let mut unit_group: HashMap<&str, String> = HashMap::new();
    let mut objects = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let ob = &e.object;
        let group_key = ob.group_system_id.clone().unwrap_or_else(|| ob.id.clone());
        let n = group_ids.len() + 1;
        let group = group_ids.entry(group_key).or_insert_with(|| format!("G{n}")).clone();
        objects.push(OutObject {
            id: format!("O{}", i + 1),
            group_id: group,
            version: ob.version.clone(),
            uri: e.path.clone(),
            sha512: ob.sha512.clone(),
            size: ob.size,
            format_name: ob.format_name.clone(),
            mime: ob.mime.clone(),
            puid: ob.puid.clone(),
            filename: ob.filename.clone(),
        });
    }
    for u in units {
        if let Some(first) = u.objects.first() {
            let key = first.group_system_id.clone().unwrap_or_else(|| first.id.clone());
            if let Some(g) = group_ids.get(&key) {
                unit_group.insert(u.id.as_str(), g.clone());
            }
        }
    }
    let mut counter = 0usize;
    fn tree(
        u: &UnitRecord,
        children: &BTreeMap<&str, Vec<&UnitRecord>>,
        unit_group: &HashMap<&str, String>,
        counter: &mut usize,
        seen: &mut HashSet<String>,
    ) -> OutUnit {
        *counter += 1;
        let id = format!("U{counter}");
        seen.insert(u.id.clone());
        let mut kids = Vec::new();
        for c in children.get(u.id.as_str()).into_iter().flatten() {
            // A unit reached by two parents is written once, under the first.
            if !seen.contains(&c.id) {
                kids.push(tree(c, children, unit_group, counter, seen));
            }
        }
        OutUnit {
            id,
            level: u.level.clone(),
            title: if u.title.trim().is_empty() {
                u.id.clone()
            } else {
                u.title.clone()
            },
            description: u.description.clone(),
            archival_agency_identifier: Some(u.id.clone()),
            originating_agency: u.originating_agency.clone(),
            start_date: u.start_date,
            end_date: u.end_date,
            rules: own_rules(u),
            object_group: unit_group.get(u.id.as_str()).cloned(),
            children: kids,
        }
    }
    let mut seen = HashSet::new();
    let out_units: Vec<OutUnit> = roots
        .iter()
        .map(|u| tree(u, &children, &unit_group, &mut counter, &mut seen))
        .collect();
    let agencies: HashSet<Option<&String>> = units.iter().map(|u| u.originating_agency.as_ref()).collect();
    let single_agency = match agencies.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(a)] => Some((*a).clone()),
        _ => None,
    };
    let version = super::modification::seda_version(Some(&o.seda_version))?;
    let transfer = OutgoingTransfer {
        version,
        message_identifier: o.message_identifier(),
        date: Utc::now(),
        comments: vec![match o.kind {
            outgoing::Kind::Restitution => format!("Restitution {} au service producteur {}", o.id, o.recipient),
            outgoing::Kind::TransferOut => format!("Transfert {} au service d'archives {}", o.id, o.recipient),
        }]
        .into_iter()
        .chain(o.comment.clone())
        .collect(),
        archival_agreement: o.archival_agreement.clone(),
        objects,
        units: out_units,
        originating_agency: single_agency.clone(),
        submission_agency: single_agency,
        archival_agency: o.recipient.clone(),
        transferring_agency: t.archival_agency.clone(),
    };
    write_outgoing_transfer(&transfer)
        .map_err(|e| ArchiveError::Invalid(format!("the package's ArchiveTransfer cannot be written: {e}")))
}

/// The rules a unit declares itself, grouped by category, with its category declarations.
fn own_rules(u: &UnitRecord) -> Vec<OutRules> {
    let mut by: BTreeMap<String, OutRules> = BTreeMap::new();
    for r in &u.own_rules {
        let e = by.entry(r.category.clone()).or_insert_with(|| OutRules {
            category: r.category.clone(),
            ..Default::default()
        });
        let rule = (r.rule_id.clone(), r.start_date);
        if !e.rules.contains(&rule) {
            e.rules.push(rule);
        }
        if e.final_action.is_none() {
            e.final_action = r.final_action.clone();
        }
    }
    for c in &u.categories {
        let e = by.entry(c.category.clone()).or_insert_with(|| OutRules {
            category: c.category.clone(),
            ..Default::default()
        });
        e.prevent_inheritance |= c.prevent_inheritance;
        e.ref_non_rule_ids.extend(c.ref_non_rule_ids.iter().cloned());
        if let Some(a) = c.properties.get("FinalAction").and_then(|v| v.as_str()) {
            e.final_action = Some(a.to_owned());
        }
    }
    by.into_values().collect()
}

/// Builds and stores the package of `o`, updating its progress; returns what was stored.
pub async fn build(a: &Arc<Archive>, o: &mut Outgoing, t: &Tenant) -> Result<(Package, String)> {
    let mut units = Vec::with_capacity(o.units.len());
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen = HashSet::new();
    for pu in &o.units {
        let unit = a.catalog.unit(&o.tenant, &pu.unit_id).await?;
        for ob in &unit.objects {
            if seen.insert(ob.id.clone()) {
                entries.push(Entry {
                    path: crate::delivery::dip::content_path(ob),
                    object: ob.clone(),
                });
            }
        }
        units.push(unit);
    }
    o.progress.objects_total = entries.len() as u64;
    o.progress.bytes_total = entries.iter().map(|e| e.object.size).sum();
    outgoing::save(a, o).await?;
    let manifest = manifest(o, t, &units, &entries)?;
    let dir = tempfile::Builder::new()
        .prefix("outgoing-")
        .tempdir_in(&a.config.spool_dir)
        .map_err(|e| ArchiveError::Internal(format!("cannot create a package directory in the spool: {e}")))?;
    let zip_path = dir.path().join("package.zip");
    let objects_done = Arc::new(AtomicU64::new(0));
    let bytes_done = Arc::new(AtomicU64::new(0));
    let writer = {
        let (client, ns) = (a.store.client().clone(), t.namespace.clone());
        let (objects_done, bytes_done) = (objects_done.clone(), bytes_done.clone());
        let handle = tokio::runtime::Handle::current();
        let (zip_path, work) = (zip_path.clone(), dir.path().to_path_buf());
        tokio::task::spawn_blocking(move || {
            write_zip(
                &handle,
                &client,
                &ns,
                &entries,
                &manifest,
                &zip_path,
                &work,
                &objects_done,
                &bytes_done,
            )
            .map(|digest| (digest, manifest))
        })
    };
    tokio::pin!(writer);
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    ticker.tick().await;
    let written = loop {
        tokio::select! {
            r = &mut writer => break r,
            _ = ticker.tick() => {
                o.progress.objects_done = objects_done.load(Ordering::Relaxed);
                o.progress.bytes_done = bytes_done.load(Ordering::Relaxed);
                if let Err(e) = outgoing::save(a, o).await {
                    tracing::warn!("progress of {} not saved: {e}", o.id);
                }
            }
        }
    };
    let ((size, sha512), manifest) =
        written.map_err(|e| ArchiveError::Internal(format!("the package writer stopped: {e}")))??;
    let key = outgoing::object_key(&o.id, "package.zip");
    a.store
        .client()
        .put_object_file(&t.namespace, &key, &zip_path, None)
        .await?;
    let manifest_key = outgoing::object_key(&o.id, "manifest.xml");
    a.store
        .client()
        .put_object(
            &t.namespace,
            &manifest_key,
            manifest.as_slice(),
            Some(manifest.len() as u64),
            None,
        )
        .await?;
    o.progress.objects_done = o.progress.objects_total;
    o.progress.bytes_done = o.progress.bytes_total;
    Ok((
        Package {
            key,
            size,
            sha512,
            message_identifier: o.message_identifier(),
        },
        manifest_key,
    ))
}

/// Writes the zip at `out` (temporary file, synced, renamed); returns its size and SHA-512.
#[allow(clippy::too_many_arguments)]
fn write_zip(
    handle: &tokio::runtime::Handle,
    client: &Arc<archipel_client::Client>,
    ns: &str,
    entries: &[Entry],
    manifest: &[u8],
    out: &Path,
    work: &Path,
    objects_done: &AtomicU64,
    bytes_done: &AtomicU64,
) -> Result<(u64, String)> {
    let zip_err = |e: crate::flows::FlowError| ArchiveError::Internal(format!("writing the package failed: {e}"));
    let mut zip = SipWriter::create(out).map_err(zip_err)?;
    for e in entries {
        let o = &e.object;
        let staged: PathBuf = work.join("object");
        let (offset, length) = match o.pack_offset {
            Some(offset) => (offset, Some(o.size)),
            None => (0, None),
        };
        handle.block_on(async {
            let mut f = tokio::fs::File::create(&staged)
                .await
                .map_err(|err| ArchiveError::Internal(format!("cannot stage object {} in the spool: {err}", o.id)))?;
            client.get_object(ns, &o.key, offset, length, &mut f, None).await?;
            tokio::io::AsyncWriteExt::flush(&mut f)
                .await
                .map_err(|err| ArchiveError::Internal(format!("cannot stage object {} in the spool: {err}", o.id)))?;
            Ok::<_, ArchiveError>(())
        })?;
        let written = zip.add_file(&e.path, &staged, o.size).map_err(|err| {
            ArchiveError::Internal(format!(
                "object {} read back from the cluster is not the {} bytes recorded at ingest ({err}): nothing altered leaves; run an integrity audit",
                o.id, o.size
            ))
        })?;
        if !written.sha512_hex.eq_ignore_ascii_case(&o.sha512) {
            return Err(ArchiveError::Internal(format!(
                "object {} read back with SHA-512 {}, but {} was recorded at ingest: nothing altered leaves; run an integrity audit",
                o.id, written.sha512_hex, o.sha512
            )));
        }
        objects_done.fetch_add(1, Ordering::Relaxed);
        bytes_done.fetch_add(o.size, Ordering::Relaxed);
    }
    zip.add_entry("manifest.xml", |w| w.write_all(manifest))
        .map_err(zip_err)?;
    let size = zip.commit().map_err(zip_err)?;
    let mut f =
        std::fs::File::open(out).map_err(|e| ArchiveError::Internal(format!("cannot read the package back: {e}")))?;
    let mut hasher = Sha512::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| ArchiveError::Internal(format!("cannot read the package back: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}
