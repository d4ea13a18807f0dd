//! Keeps each tenant's search index in step with the catalog in the cluster.
//!
//! The index is local to a front and disposable. Before a search, a front compares the tenant's
//! catalog generation with the one it last saw; when it moved, it indexes the AIPs it has not
//! seen (from their self-describing descriptors), or rebuilds when some disappeared.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::api::units::SearchParams;
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{AipDescriptor, UnitRecord};
use crate::search::{SearchError, SearchQuery, UnitDoc};
use crate::service::Archive;

/// What a front's index holds for one tenant.
#[derive(Default)]
pub struct SyncState {
    generation: i64,
    indexed_aips: HashSet<String>,
}

/// One lock per tenant: syncing one tenant from the cluster never delays another's searches.
#[derive(Default)]
pub struct SearchSync {
    tenants: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<SyncState>>>>,
}

impl SearchSync {
    fn tenant(&self, tenant: &str) -> Arc<tokio::sync::Mutex<SyncState>> {
        let mut all = self.tenants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(all.entry(tenant.to_owned()).or_default())
    }
}

fn search_error(e: SearchError) -> ArchiveError {
    match e {
        SearchError::Index { .. } | SearchError::CacheDir { .. } | SearchError::InvalidUnit { .. } => {
            ArchiveError::Internal(e.to_string())
        }
        other => ArchiveError::Invalid(other.to_string()),
    }
}

/// Every string in a JSON value, space-separated: the unit's descriptive text for full-text search.
fn flatten_text(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => {
            out.push_str(s);
            out.push(' ');
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| flatten_text(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| flatten_text(x, out)),
        _ => {}
    }
}

pub fn to_doc(u: &UnitRecord) -> UnitDoc {
    let mut text = String::new();
    flatten_text(&u.content, &mut text);
    UnitDoc {
        unit_id: u.id.clone(),
        sip_unit_id: u.sip_id.clone(),
        transfer_id: u.transfer_id.clone(),
        aip_id: u.aip_id.clone(),
        parent_id: u.parent_id.clone(),
        flow: u.flow.clone(),
        title: u.title.clone(),
        description: u.description.clone().unwrap_or_default(),
        description_level: u.level.clone().unwrap_or_default(),
        start_date: u.start_date,
        end_date: u.end_date,
        originating_agency: u.originating_agency.clone().unwrap_or_default(),
        keywords: u.keywords.clone(),
        text,
        ingested_at: u.ingested_at,
    }
}

async fn upsert(a: &Archive, tenant: &str, units: &[UnitRecord]) -> Result<()> {
    let index = a.search.get(tenant).map_err(search_error)?;
    let docs: Vec<UnitDoc> = units.iter().map(to_doc).collect();
    tokio::task::spawn_blocking(move || index.upsert(&docs))
        .await
        .map_err(|e| ArchiveError::Internal(format!("indexing failed: {e}")))?
        .map_err(search_error)
}

/// Indexes units this front just committed. A failure only delays them to the next sync.
pub async fn index_units(a: &Arc<Archive>, tenant: &str, units: &[UnitRecord]) {
    match upsert(a, tenant, units).await {
        Ok(()) => {
            if let Some(aip) = units.first().map(|u| u.aip_id.clone()) {
                a.search_sync.tenant(tenant).lock().await.indexed_aips.insert(aip);
            }
        }
        Err(e) => tracing::warn!(
            "indexing {} units of {tenant} failed: {e}; the next search retries",
            units.len()
        ),
    }
}

/// Brings the tenant's index up to the catalog.
pub async fn sync(a: &Archive, tenant: &str) -> Result<()> {
    let lock = a.search_sync.tenant(tenant);
    let mut state = lock.lock().await;
    let generation = a.catalog.generation(tenant).await?;
    if generation == state.generation && generation != 0 {
        return Ok(());
    }
    let committed = a.catalog.committed_aips(tenant).await?;
    if state.indexed_aips.iter().any(|x| !committed.contains(x)) {
        a.search
            .get(tenant)
            .map_err(search_error)?
            .clear()
            .map_err(search_error)?;
        state.indexed_aips.clear();
    }
    let ns = keys::object_namespace(tenant);
    let missing: Vec<&String> = committed.iter().filter(|x| !state.indexed_aips.contains(*x)).collect();
    for aip in missing {
        let mut bytes = Vec::new();
        a.store
            .client()
            .get_object(&ns, &keys::aip_descriptor(aip), 0, None, &mut bytes, None)
            .await?;
        let d: AipDescriptor = serde_json::from_slice(&bytes)?;
        upsert(a, tenant, &d.units).await?;
        state.indexed_aips.insert(aip.clone());
    }
    state.generation = generation;
    Ok(())
}

/// Drops the tenant's index and builds it again from the cluster.
pub async fn rebuild(a: &Archive, tenant: &str) -> Result<()> {
    a.search
        .get(tenant)
        .map_err(search_error)?
        .clear()
        .map_err(search_error)?;
    *a.search_sync.tenant(tenant).lock().await = SyncState::default();
    sync(a, tenant).await
}

pub async fn search(a: &Archive, tenant: &str, p: SearchParams) -> Result<serde_json::Value> {
    sync(a, tenant).await?;
    let query = SearchQuery {
        q: p.q,
        flow: p.flow,
        from: p.from,
        to: p.to,
        level: p.level,
        limit: p.limit.unwrap_or(20),
        offset: p.offset.unwrap_or(0),
    };
    let index = a.search.get(tenant).map_err(search_error)?;
    let page = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|e| ArchiveError::Internal(format!("search failed: {e}")))?
        .map_err(search_error)?;
    Ok(serde_json::to_value(page)?)
}
