//! Elimination analysis, and the modification of stored units' rules (holds included).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{ApiResult, Caller};
use crate::auth::Role::{Archivist, ControlAuthority};
use crate::disposal::modification::{self, ModificationRecord, ModificationRequest};
use crate::disposal::proposal;
use crate::disposal::Analysis;
use crate::error::ArchiveError;
use crate::service::Archive;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisParams {
    /// The date the rules are judged at (default: today, UTC).
    pub at: Option<chrono::NaiveDate>,
}

pub async fn analysis(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    Query(p): Query<AnalysisParams>,
) -> ApiResult<Json<Arc<Analysis>>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let at = p.at.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let result = crate::disposal::analyse(&a, &tenant, at).await?;
    a.journal
        .record(
            &tenant,
            "elimination.analysis",
            "OK",
            &who.id,
            None,
            serde_json::json!({"at": at, "considered": result.considered, "destroy": result.destroy, "conflict": result.conflict}),
        )
        .await?;
    Ok(Json(result))
}

pub async fn modify_rules(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ModificationRecord>> {
    // The tenant check comes before the body is read: another tenant learns nothing.
    a.authorize(&who, &tenant, &[Archivist]).await?;
    let req: ModificationRequest = json_body(&body)?;
    match modification::modify(&a, &tenant, &who, req.clone()).await {
        Ok(record) => Ok(Json(record)),
        Err(e) => {
            let detail = serde_json::json!({"units": req.unit_ids.len(), "reason": e.to_string()});
            if let Err(log) = a
                .journal
                .record(&tenant, "unit.rules.modified", "KO", &who.id, None, detail)
                .await
            {
                tracing::error!("a refused rule modification could not be logged: {log}");
            }
            Err(e.into())
        }
    }
}

pub async fn modification(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, operation)): Path<(String, String)>,
) -> ApiResult<Json<ModificationRecord>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(modification::get(&a, &tenant, &operation).await?))
}

/// One ArchiveModificationNotification of a modification, by its MessageIdentifier.
pub async fn modification_notification(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, operation, message)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let record = modification::get(&a, &tenant, &operation).await?;
    let n = record
        .notifications
        .iter()
        .find(|n| n.message_identifier == message)
        .ok_or_else(|| ArchiveError::NotFound(format!("notification `{message}` of modification `{operation}`")))?;
    let t = a.refs.tenant(&tenant).await?;
    let mut xml = Vec::new();
    a.store
        .client()
        .get_object(&t.namespace, &n.key, 0, None, &mut xml, None)
        .await
        .map_err(ArchiveError::from)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

pub async fn propose(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<proposal::Proposal>> {
    a.authorize(&who, &tenant, &[Archivist]).await?;
    let req: proposal::ProposalRequest = json_body(&body)?;
    match proposal::propose(&a, &tenant, &who, req).await {
        Ok(p) => Ok(Json(p)),
        Err(e) => {
            log_refusal(&a, &tenant, "elimination.proposed", &who.id, None, &e).await;
            Err(e.into())
        }
    }
}

pub async fn eliminations(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<proposal::Proposal>>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(proposal::list(&a, &tenant).await?))
}

pub async fn elimination(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<proposal::Proposal>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(proposal::get(&a, &tenant, &id).await?.value))
}

/// A message of an elimination: `request`, `reply`, `notification-<n>`.
pub async fn elimination_message(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let p = proposal::get(&a, &tenant, &id).await?.value;
    let key = match name.as_str() {
        "request" => Some(p.request.key.clone()),
        "reply" => p.visa.as_ref().map(|v| v.key.clone()),
        other => p.execution.as_ref().and_then(|e| {
            e.notifications
                .iter()
                .find(|n| n.message_identifier == other || n.key.ends_with(&format!("/{other}.xml")))
                .map(|n| n.key.clone())
        }),
    }
    .ok_or_else(|| {
        ArchiveError::NotFound(format!(
            "message `{name}` of elimination `{id}` (request, reply, or a notification's MessageIdentifier)"
        ))
    })?;
    let t = a.refs.tenant(&tenant).await?;
    let mut xml = Vec::new();
    a.store
        .client()
        .get_object(&t.namespace, &key, 0, None, &mut xml, None)
        .await
        .map_err(ArchiveError::from)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// The control authority's answer: JSON (`{"decision": "approved"|"refused", "refused_units":
/// […], "comment": …}`) or its own AuthorizationControlAuthorityRequestReply (XML body).
pub async fn decide(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<proposal::Proposal>> {
    // The archivist (or anyone else) is refused and the refusal logged.
    a.authorize(&who, &tenant, &[ControlAuthority]).await?;
    let xml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("xml"));
    let input = if xml {
        proposal::DecisionInput::Xml(body.to_vec())
    } else {
        proposal::DecisionInput::Json(serde_json::from_slice(&body).map_err(|e| {
            ArchiveError::Invalid(format!(
                "the decision is not JSON like {{\"decision\": \"approved\"}} nor an XML reply: {e}"
            ))
        })?)
    };
    match proposal::decide(&a, &tenant, &who, &id, input).await {
        Ok(p) => Ok(Json(p)),
        Err(e) => {
            log_refusal(&a, &tenant, "elimination.visa", &who.id, Some(&id), &e).await;
            Err(e.into())
        }
    }
}

pub async fn execute(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<proposal::Proposal>> {
    a.authorize(&who, &tenant, &[Archivist]).await?;
    match crate::disposal::execute::execute(&a, &tenant, &who, &id).await {
        Ok(p) => Ok(Json(p)),
        Err(e) => {
            log_refusal(&a, &tenant, "elimination.executed", &who.id, Some(&id), &e).await;
            Err(e.into())
        }
    }
}

async fn log_refusal(a: &Archive, tenant: &str, event: &str, actor: &str, subject: Option<&str>, e: &ArchiveError) {
    let detail = serde_json::json!({"reason": e.to_string()});
    if let Err(log) = a.journal.record(tenant, event, "KO", actor, subject, detail).await {
        tracing::error!("a refused {event} could not be logged: {log}");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterParams {
    pub originating_agency: Option<String>,
}

pub async fn accession_register(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    Query(p): Query<RegisterParams>,
) -> ApiResult<Json<crate::disposal::register::Register>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let r = crate::disposal::register::register(&a, &tenant, p.originating_agency.as_deref()).await?;
    a.journal
        .record(
            &tenant,
            "register.read",
            "OK",
            &who.id,
            None,
            serde_json::json!({"originating_agency": p.originating_agency}),
        )
        .await?;
    Ok(Json(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// YYYY-MM. Optional for the extractor, so that a missing one is reported after the caller
    /// is checked (another tenant learns nothing about the route).
    pub month: Option<String>,
}

impl UsageParams {
    fn month(&self) -> Result<&str, ArchiveError> {
        self.month
            .as_deref()
            .ok_or_else(|| ArchiveError::Invalid("give the month: ?month=YYYY-MM".into()))
    }
}

pub async fn tenant_usage(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    Query(p): Query<UsageParams>,
) -> ApiResult<Json<Vec<crate::disposal::usage::UsageRow>>> {
    a.authorize(&who, &tenant, &[Archivist]).await?;
    Ok(Json(crate::disposal::usage::usage(&a, &tenant, p.month()?).await?))
}

/// Every tenant's usage (the convention is between partners): operators.
pub async fn platform_usage(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Query(p): Query<UsageParams>,
) -> ApiResult<Json<Vec<crate::disposal::usage::UsageRow>>> {
    a.authorize_operator(&who).await?;
    let month = p.month()?;
    crate::disposal::usage::month_bounds(month)?;
    let mut rows = Vec::new();
    for t in a.refs.tenants().await? {
        rows.extend(crate::disposal::usage::usage(&a, &t.id, month).await?);
    }
    a.journal
        .record(
            crate::journal::PLATFORM,
            "usage.read",
            "OK",
            &who.id,
            None,
            serde_json::json!({"month": p.month, "rows": rows.len()}),
        )
        .await?;
    Ok(Json(rows))
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ArchiveError> {
    serde_json::from_slice(body).map_err(|e| ArchiveError::Invalid(format!("the JSON body is invalid: {e}")))
}
