//! Archive units: search, description, content download; the logbook and reindexing.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{ApiResult, Caller};
use crate::access::guard;
use crate::auth::Role::{Archivist, ControlAuthority, Operator, Requester};
use crate::error::ArchiveError;
use crate::model::UnitRecord;
use crate::service::Archive;

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub q: Option<String>,
    pub flow: Option<String>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub level: Option<String>,
    pub originating_agency: Option<String>,
    /// Units with a rule of this SEDA category (`AppraisalRule`, …); with the three below, on the same rule.
    pub rule_category: Option<String>,
    pub final_action: Option<String>,
    pub rule_end_from: Option<chrono::NaiveDate>,
    pub rule_end_to: Option<chrono::NaiveDate>,
    pub rule_id: Option<String>,
    /// `true`: units under a HoldRule in force on `hold_on` (default today); `false`: units under none.
    pub hold: Option<bool>,
    pub hold_on: Option<chrono::NaiveDate>,
    /// `true`: units freely communicable on `communicable_at` (default: today); `false`: units
    /// that are not (`access::communicability`).
    pub communicable: Option<bool>,
    pub communicable_at: Option<chrono::NaiveDate>,
    /// Facet counts (level, flow, originating agency, year); on unless `false`.
    pub facets: Option<bool>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

pub async fn search(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<serde_json::Value>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, Requester])
        .await?;
    let scope = guard::scope(&a, &who, &tenant).await?;
    let page = crate::searching::search_within(&a, &tenant, p, &scope).await?;
    a.journal
        .record(
            &tenant,
            "access.search",
            "OK",
            &who.id,
            None,
            serde_json::json!({"hits": page["total"]}),
        )
        .await?;
    Ok(Json(page))
}

/// A unit as the API shows it: its catalog record (`own_rules` are the rules it declares,
/// `rules` those in force), plus `inherited_rules`, the name the rules view goes by in Vitam.
#[derive(serde::Serialize)]
pub struct UnitView {
    #[serde(flatten)]
    pub unit: UnitRecord,
    pub inherited_rules: Vec<crate::model::AppliedRule>,
    /// When the unit is freely communicable, and why (`access::communicability`).
    pub communicability: crate::access::Communicability,
    /// Whether it is communicable today (the access clock's day).
    pub communicable: bool,
}

pub async fn unit(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<UnitView>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, Requester])
        .await?;
    let scope = guard::scope(&a, &who, &tenant).await?;
    let today = a.config.access_clock.today(a.store.client()).await?;
    let mut u = a.catalog.unit(&tenant, &id).await?;
    let communicability = guard::view(&a, &who, &tenant, &scope, &u, today).await?;
    if let Some(contract) = scope.contract() {
        // A requester sees only the versions its contract lets it take.
        u.objects.retain(|o| contract.covers_version(o.version.as_deref()));
    }
    a.journal
        .record(&tenant, "access.unit", "OK", &who.id, Some(&id), serde_json::json!({}))
        .await?;
    Ok(Json(UnitView {
        inherited_rules: u.rules.clone(),
        communicable: communicability.on(today),
        communicability,
        unit: u,
    }))
}

/// Streams one binary object of a unit (communication of the original).
pub async fn object(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id, object)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist, Requester]).await?;
    let scope = guard::scope(&a, &who, &tenant).await?;
    let today = a.config.access_clock.today(a.store.client()).await?;
    let u = a.catalog.unit(&tenant, &id).await?;
    // Outside the contract, the unit does not exist for the caller: checked before the object.
    guard::view(&a, &who, &tenant, &scope, &u, today).await?;
    let o = u
        .objects
        .iter()
        .find(|o| o.id == object || o.sip_id == object)
        .ok_or_else(|| ArchiveError::NotFound(format!("object `{object}` of unit `{id}`")))?
        .clone();
    guard::download(&a, &who, &tenant, &scope, &u, &o, today).await?;
    a.journal
        .record(
            &tenant,
            "access.object",
            "OK",
            &who.id,
            Some(&o.id),
            serde_json::json!({"unit": id, "size": o.size}),
        )
        .await?;
    let (mut w, r) = tokio::io::duplex(256 << 10);
    let ns = crate::keys::object_namespace(&tenant);
    let client = a.store.client().clone();
    let key = o.key.clone();
    // A packed file is a range of its pack.
    let (offset, length) = match o.pack_offset {
        Some(offset) => (offset, Some(o.size)),
        None => (0, None),
    };
    tokio::spawn(async move {
        if let Err(e) = client.get_object(&ns, &key, offset, length, &mut w, None).await {
            tracing::warn!("streaming {ns}/{key} failed: {e}");
        }
    });
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(r));
    let mime = o.mime.unwrap_or_else(|| "application/octet-stream".into());
    let name = o.filename.unwrap_or(o.id).replace(['"', '\\', '\r', '\n'], "_");
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CONTENT_LENGTH, o.size.to_string()),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogbookParams {
    pub from: Option<u64>,
    pub limit: Option<usize>,
}

pub async fn logbook(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    Query(p): Query<LogbookParams>,
) -> ApiResult<Json<serde_json::Value>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, Operator])
        .await?;
    let entries = a
        .journal
        .entries(&tenant, p.from.unwrap_or(1), p.limit.unwrap_or(100).min(1000))
        .await?;
    Ok(Json(serde_json::to_value(entries)?))
}

pub async fn verify_logbook(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, Operator])
        .await?;
    Ok(Json(a.journal.verify(&tenant).await?))
}

pub async fn seal_logbook(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    a.authorize(&who, &tenant, &[Archivist, Operator]).await?;
    Ok(Json(a.journal.seal(&tenant).await?))
}

/// Rebuilds the tenant's catalog and search index from the AIPs in the cluster.
pub async fn reindex(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<crate::catalog::ReindexReport>> {
    a.authorize(&who, &tenant, &[Archivist, Operator]).await?;
    let t = a.refs.tenant(&tenant).await?;
    let report = a.catalog.reindex(&tenant, &t.namespace).await?;
    crate::searching::rebuild(&a, &tenant).await?;
    a.journal
        .record(
            &tenant,
            "catalog.reindexed",
            "OK",
            &who.id,
            None,
            serde_json::to_value(&report)?,
        )
        .await?;
    Ok(Json(report))
}

/// The logbook as a third party verifies it: entries and seals as JSON lines, and the key.
pub async fn export_logbook(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, Operator])
        .await?;
    Ok(Json(a.journal.export(&tenant).await?))
}
