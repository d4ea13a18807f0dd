//! Integrity audits: start one (tenant, units or search), follow it, fetch its report.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{ApiResult, Caller};
use crate::auth::Role::{Archivist, ControlAuthority};
use crate::disposal::audit::{self, Audit, AuditRequest};
use crate::error::ArchiveError;
use crate::service::Archive;

pub async fn start(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Audit>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    // An empty body audits the whole tenant.
    let req: AuditRequest = if body.iter().all(u8::is_ascii_whitespace) {
        AuditRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ArchiveError::Invalid(format!("the JSON body is invalid: {e}")))?
    };
    match audit::start(&a, &tenant, &who, req).await {
        Ok(x) => Ok(Json(x)),
        Err(e) => {
            if let Err(log) = a
                .journal
                .record(
                    &tenant,
                    "audit.started",
                    "KO",
                    &who.id,
                    None,
                    serde_json::json!({"reason": e.to_string()}),
                )
                .await
            {
                tracing::error!("a refused audit could not be logged: {log}");
            }
            Err(e.into())
        }
    }
}

pub async fn list(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Audit>>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(audit::list(&a, &tenant).await?))
}

pub async fn show(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Audit>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(audit::get(&a, &tenant, &id).await?))
}

pub async fn report(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let bytes = audit::report(&a, &tenant, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// A relevé de valeur probante of the units named (`{"unit_ids": […]}`), built, stored and
/// logged at once.
pub async fn probative(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<crate::disposal::probative::Stored>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let req: crate::disposal::probative::ProbativeRequest = serde_json::from_slice(&body)
        .map_err(|e| ArchiveError::Invalid(format!("the JSON body is invalid (want {{\"unit_ids\": […]}}): {e}")))?;
    match crate::disposal::probative::build(&a, &tenant, &who, req).await {
        Ok(r) => Ok(Json(r)),
        Err(e) => {
            if let Err(log) = a
                .journal
                .record(
                    &tenant,
                    "probative.report",
                    "KO",
                    &who.id,
                    None,
                    serde_json::json!({"reason": e.to_string()}),
                )
                .await
            {
                tracing::error!("a refused probative-value report could not be logged: {log}");
            }
            Err(e.into())
        }
    }
}

/// A stored relevé, byte for byte as logged.
pub async fn probative_report(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let bytes = crate::disposal::probative::get(&a, &tenant, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// Retries now the legal holds that failed at commit (the front also does it every few
/// minutes): operators.
pub async fn sweep_holds(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
) -> ApiResult<Json<crate::disposal::locks::SweepReport>> {
    a.authorize_operator(&who).await?;
    let report = crate::server::sweep_holds(&a).await?;
    a.journal
        .record(
            crate::journal::PLATFORM,
            "holds.swept",
            if report.failing.is_empty() { "OK" } else { "WARNING" },
            &who.id,
            None,
            serde_json::json!({"held_aips": report.held_aips, "objects_held": report.objects_held,
                               "objects_gone": report.objects_gone, "failing": report.failing}),
        )
        .await?;
    Ok(Json(report))
}
