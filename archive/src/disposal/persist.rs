//! Writing changed units back, descriptor first: an AIP's `aip.json` is the truth the catalog
//! is rebuilt from (invariant 5), so a change reaches it before the catalog records, and a
//! reindex after a failure in between finds the change, never the old state.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;

use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{AipDescriptor, UnitRecord, AIP_FORMAT};
use crate::store::{Store, Write};

pub async fn read_descriptor(store: &Store, namespace: &str, aip_id: &str) -> Result<AipDescriptor> {
    let key = keys::aip_descriptor(aip_id);
    let mut bytes = Vec::new();
    store
        .client()
        .get_object(namespace, &key, 0, None, &mut bytes, None)
        .await?;
    let d: AipDescriptor = serde_json::from_slice(&bytes)
        .map_err(|e| ArchiveError::Internal(format!("AIP descriptor `{key}` is unreadable: {e}")))?;
    if d.format != AIP_FORMAT || d.aip_id != aip_id {
        return Err(ArchiveError::Internal(format!(
            "`{key}` does not describe AIP `{aip_id}` in format {AIP_FORMAT}"
        )));
    }
    Ok(d)
}

pub async fn write_descriptor(store: &Store, namespace: &str, d: &AipDescriptor) -> Result<()> {
    let key = keys::aip_descriptor(&d.aip_id);
    let bytes = serde_json::to_vec(d)?;
    store
        .client()
        .put_object(namespace, &key, bytes.as_slice(), Some(bytes.len() as u64), None)
        .await?;
    Ok(())
}

/// Rewrites the descriptors holding `changed` (and drops the units in `removed` from them),
/// then the catalog records, then bumps the catalog generation. Returns the AIPs rewritten.
pub async fn write_units(
    store: &Store,
    tenant: &str,
    namespace: &str,
    changed: &[&UnitRecord],
    removed: &HashSet<String>,
) -> Result<Vec<String>> {
    let mut by_aip: BTreeMap<&str, HashMap<&str, &UnitRecord>> = BTreeMap::new();
    for u in changed {
        by_aip.entry(u.aip_id.as_str()).or_default().insert(u.id.as_str(), *u);
    }
    // Other fronts' search indexes follow in-place changes through these records (`search::sync`).
    let ids: Vec<String> = changed
        .iter()
        .map(|u| u.id.clone())
        .chain(removed.iter().cloned())
        .collect();
    crate::catalog::note_unit_changes(store, tenant, &ids).await?;
    let mut rewritten = Vec::new();
    for (aip, units) in &by_aip {
        let mut d = read_descriptor(store, namespace, aip).await?;
        for u in &mut d.units {
            if let Some(new) = units.get(u.id.as_str()) {
                *u = (*new).clone();
            }
        }
        d.units.retain(|u| !removed.contains(&u.id));
        write_descriptor(store, namespace, &d).await?;
        rewritten.push(aip.to_string());
    }
    let mut writes: Vec<Write> = Vec::new();
    for u in changed {
        writes.push(Write::put(keys::unit(tenant, &u.id), *u)?);
    }
    for id in removed {
        writes.push(Write::Delete(keys::unit(tenant, id)));
    }
    for batch in crate::catalog::batches(writes) {
        store.atomically(&[], batch).await?;
    }
    store
        .put(&keys::catalog_generation(tenant), &Utc::now().timestamp_micros())
        .await?;
    Ok(rewritten)
}
