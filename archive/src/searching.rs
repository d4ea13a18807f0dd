//! Keeps each tenant's search index in step with the catalog in the cluster.
//!
//! The index is local to a front and disposable (`search::Indexes`, on disk under the front's search directory).
//! Before a search, the front syncs it incrementally (`search::sync`): when the tenant's catalog generation moved,
//! it reads the committed AIPs page by page, indexes those it lacks from their self-describing descriptors, and
//! deletes the units of those that went. Only `reindex` empties it.

use std::collections::HashMap;
use std::sync::Arc;

use archipel_client::Consistency;
use async_trait::async_trait;

pub use crate::api::units::SearchParams;
use crate::catalog::AipRecord;
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{AipDescriptor, UnitRecord};
use crate::search::{
    CatalogSource, CommittedAip, CommunicableFilter, HoldFilter, RuleDoc, RuleFilter, SearchError, SearchQuery,
    SyncReport, UnitChange, UnitDoc,
};
use crate::service::Archive;
use crate::store::META_NS;

/// One lock per tenant: syncing one tenant from the cluster never delays another's searches.
#[derive(Default)]
pub struct SearchSync {
    tenants: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl SearchSync {
    fn tenant(&self, tenant: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut all = self.tenants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(all.entry(tenant.to_owned()).or_default())
    }
}

impl From<SearchError> for ArchiveError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Index { .. }
            | SearchError::CacheDir { .. }
            | SearchError::CacheInUse { .. }
            | SearchError::InvalidUnit { .. } => ArchiveError::Internal(e.to_string()),
            other => ArchiveError::Invalid(other.to_string()),
        }
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
        rules: u
            .rules
            .iter()
            .map(|r| RuleDoc {
                category: r.category.clone(),
                rule_id: r.rule_id.clone(),
                end_date: r.end_date,
                final_action: r.final_action.clone(),
            })
            .collect(),
        communicable_from: crate::access::Communicability::of(u).index_day(),
    }
}

/// The tenant's catalog in the cluster, read the way a sync needs it.
struct ClusterCatalog<'a> {
    archive: &'a Archive,
    tenant: &'a str,
}

#[async_trait]
impl CatalogSource for ClusterCatalog<'_> {
    type Error = ArchiveError;

    async fn generation(&self) -> Result<i64> {
        self.archive.catalog.generation(self.tenant).await
    }

    async fn committed_after(&self, after: &str, limit: usize) -> Result<Vec<CommittedAip>> {
        let prefix = keys::aips(self.tenant);
        let start = if after.is_empty() {
            Vec::new()
        } else {
            keys::aip(self.tenant, after).into_bytes()
        };
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let (page, _) = self
            .archive
            .store
            .client()
            .meta_scan(META_NS, prefix.as_bytes(), &start, limit, Consistency::Linearizable)
            .await?;
        page.into_iter()
            .map(|e| {
                let record: AipRecord = serde_json::from_slice(&e.value)?;
                Ok(CommittedAip {
                    aip_id: record.aip_id,
                    units: record.units,
                })
            })
            .collect()
    }

    async fn units(&self, aip_id: &str) -> Result<Vec<UnitDoc>> {
        let ns = keys::object_namespace(self.tenant);
        let key = keys::aip_descriptor(aip_id);
        let mut bytes = Vec::new();
        self.archive
            .store
            .client()
            .get_object(&ns, &key, 0, None, &mut bytes, None)
            .await?;
        let d: AipDescriptor = serde_json::from_slice(&bytes).map_err(|e| {
            ArchiveError::Internal(format!(
                "AIP descriptor `{key}` is unreadable ({e}); run `archipel archive reindex`"
            ))
        })?;
        if d.tenant != self.tenant || d.aip_id != aip_id {
            return Err(ArchiveError::Internal(format!(
                "AIP descriptor `{key}` describes AIP `{}` of tenant `{}`, not `{aip_id}` of `{}`",
                d.aip_id, d.tenant, self.tenant
            )));
        }
        Ok(d.units.iter().map(to_doc).collect())
    }

    async fn unit_changes(&self, since: i64, after: &str, limit: usize) -> Result<Vec<UnitChange>> {
        let prefix = keys::unit_changes(self.tenant);
        // Keys sort by time: start just before the first one written at `since`.
        let start = if after.is_empty() {
            keys::unit_change(self.tenant, since, "")
        } else {
            after.to_owned()
        };
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let (page, _) = self
            .archive
            .store
            .client()
            .meta_scan(
                META_NS,
                prefix.as_bytes(),
                start.as_bytes(),
                limit,
                Consistency::Linearizable,
            )
            .await?;
        page.into_iter()
            .map(|e| {
                let c: crate::catalog::UnitChange = serde_json::from_slice(&e.value)?;
                Ok(UnitChange {
                    key: String::from_utf8_lossy(&e.key).into_owned(),
                    at: c.at,
                    unit_ids: c.unit_ids,
                })
            })
            .collect()
    }

    async fn unit(&self, unit_id: &str) -> Result<Option<UnitDoc>> {
        match self.archive.catalog.unit(self.tenant, unit_id).await {
            Ok(u) => Ok(Some(to_doc(&u))),
            Err(ArchiveError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Indexes units this front just committed. A failure only delays them to the next sync.
pub async fn index_units(a: &Arc<Archive>, tenant: &str, units: &[UnitRecord]) {
    let result = async {
        let index = a.search.get(tenant)?;
        let docs: Vec<UnitDoc> = units.iter().map(to_doc).collect();
        tokio::task::spawn_blocking(move || index.upsert(&docs))
            .await
            .map_err(|e| ArchiveError::Internal(format!("indexing failed: {e}")))??;
        Ok::<_, ArchiveError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(
            "indexing {} units of {tenant} failed: {e}; the next search retries",
            units.len()
        );
    }
}

/// Brings the tenant's index up to the catalog.
pub async fn sync(a: &Archive, tenant: &str) -> Result<SyncReport> {
    let lock = a.search_sync.tenant(tenant);
    let _serialised = lock.lock().await;
    let index = a.search.get(tenant)?;
    crate::search::sync(&index, &ClusterCatalog { archive: a, tenant }).await
}

/// Empties the tenant's index and builds it again from the cluster.
pub async fn rebuild(a: &Archive, tenant: &str) -> Result<SyncReport> {
    let lock = a.search_sync.tenant(tenant);
    let _serialised = lock.lock().await;
    let index = a.search.get(tenant)?;
    let cleared = Arc::clone(&index);
    tokio::task::spawn_blocking(move || cleared.clear())
        .await
        .map_err(|e| ArchiveError::Internal(format!("clearing the search index failed: {e}")))??;
    tracing::info!(
        tenant,
        "search index emptied on request; rebuilding it from the catalog"
    );
    crate::search::sync(&index, &ClusterCatalog { archive: a, tenant }).await
}

/// The search request a query string asks for. `today` decides what `hold=true` means without `hold_on`.
pub fn to_query(p: SearchParams, today: chrono::NaiveDate) -> Result<SearchQuery> {
    if p.communicable_at.is_some() && p.communicable.is_none() {
        return Err(ArchiveError::Invalid(
            "communicable_at needs communicable=true (units communicable that day) or communicable=false".into(),
        ));
    }
    if p.hold_on.is_some() && p.hold.is_none() {
        return Err(ArchiveError::Invalid(
            "hold_on needs hold=true (units under a hold that day) or hold=false (units under none)".into(),
        ));
    }
    Ok(SearchQuery {
        q: p.q,
        flow: p.flow,
        from: p.from,
        to: p.to,
        level: p.level,
        originating_agency: p.originating_agency,
        rule_id: p.rule_id,
        rules: RuleFilter {
            category: p.rule_category,
            final_action: p.final_action,
            end_from: p.rule_end_from,
            end_to: p.rule_end_to,
        },
        hold: p.hold.map(|held| HoldFilter {
            held,
            on: p.hold_on.unwrap_or(today),
        }),
        communicable: p.communicable.map(|communicable| CommunicableFilter {
            communicable,
            on: p.communicable_at.unwrap_or(today),
        }),
        originating_agencies: None,
        facets: p.facets.unwrap_or(true),
        limit: p.limit.unwrap_or(20),
        offset: p.offset.unwrap_or(0),
    })
}

pub async fn search(a: &Archive, tenant: &str, p: SearchParams) -> Result<serde_json::Value> {
    search_within(a, tenant, p, &crate::access::Scope::TenantWide).await
}

/// [`search`], typed (the web interface renders it).
pub async fn search_page(a: &Archive, tenant: &str, p: SearchParams) -> Result<crate::search::SearchPage> {
    search_page_within(a, tenant, p, &crate::access::Scope::TenantWide).await
}

/// [`search`] restricted to what `scope` may see.
pub async fn search_within(
    a: &Archive,
    tenant: &str,
    p: SearchParams,
    scope: &crate::access::Scope,
) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(search_page_within(a, tenant, p, scope).await?)?)
}

/// The search as `scope` may see it: a requester's contract limits the originating agencies and,
/// unless it sees non-communicable units, adds "communicable today".
pub async fn search_page_within(
    a: &Archive,
    tenant: &str,
    p: SearchParams,
    scope: &crate::access::Scope,
) -> Result<crate::search::SearchPage> {
    // A search filter, not a decision: elimination re-checks holds against the leader's clock,
    // and downloads re-check communicability (`access::guard`).
    let today = a.config.access_clock.today(a.store.client()).await?;
    let mut query = to_query(p, today)?;
    if let Some(contract) = scope.contract() {
        if !contract.all_originating_agencies {
            query.originating_agencies = Some(contract.originating_agencies.clone());
        }
        if !contract.see_non_communicable {
            // The caller's own filter still applies: asking for non-communicable units gives none.
            let own = query.communicable;
            query.communicable = Some(CommunicableFilter {
                communicable: true,
                on: today,
            });
            if own.is_some_and(|c| !c.communicable) {
                query.originating_agencies = Some(Vec::new());
            }
        }
    }
    sync(a, tenant).await?;
    let index = a.search.get(tenant)?;
    let page = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|e| ArchiveError::Internal(format!("search failed: {e}")))??;
    Ok(page)
}
