//! Storing a checked SIP as a self-describing AIP: the objects, the original manifest, then the
//! descriptor (last: an AIP without one is incomplete), then the catalog commit. Any failure
//! removes what was stored.

use std::sync::Arc;

use chrono::Utc;
use futures::StreamExt;

/// Objects of one transfer uploaded at once.
const UPLOADS_IN_FLIGHT: usize = 16;

use super::checks::Checked;
use super::progress;
use crate::keys;
use crate::model::{AipDescriptor, Reason, Transfer, UnitRecord, AIP_FORMAT};
use crate::service::Archive;

pub async fn store(a: &Arc<Archive>, t: &mut Transfer, c: Checked) -> Result<Vec<UnitRecord>, Vec<Reason>> {
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
        // Several uploads in flight: each waits on fsyncs and a Raft commit, not on this CPU.
        let jobs: Vec<_> = c
            .files
            .iter()
            .map(|(key, path)| {
                let (client, ns, key, path) = (client.clone(), ns.clone(), key.clone(), path.clone());
                async move {
                    let r = client.put_object_file(&ns, &key, &path, None).await;
                    (key, r)
                }
            })
            .collect();
        let mut uploads = futures::stream::iter(jobs).buffer_unordered(UPLOADS_IN_FLIGHT);
        let mut first_error = None;
        while let Some((key, r)) = uploads.next().await {
            match r {
                Ok(_) => stored.push(key),
                Err(e) => {
                    first_error.get_or_insert_with(|| fail("store", format!("storing {key} failed: {e}")));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
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
        progress(a, t, "catalog").await;
        if let Err(e) = a.catalog.commit(&t.tenant, &c.aip_id, &t.id, &c.units).await {
            // An unknown outcome may hide a commit: look before undoing anything.
            match a.store.get::<crate::catalog::AipRecord>(&keys::aip(&t.tenant, &c.aip_id)).await {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => return Err(fail("catalog", format!("committing the catalog failed: {e}"))),
                Err(check) => {
                    // Neither known nor undoable: keep everything; a reindex settles it.
                    undo = false;
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
