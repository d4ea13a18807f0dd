//! The Vitam door: what a Vitam client (Pastell's Vitam connector, VitamUI, Vitam's Java client,
//! curl scripts) calls to transfer, on a mutual-TLS listener of its own (`tls`).
//!
//! - `POST /ingest-external/v1/ingests`: the SIP (zip, tar or tar.gz) as the body, with
//!   `X-Tenant-Id` (the tenant's number, `alias`), `X-Action: RESUME` and `X-Context-Id:
//!   DEFAULT_WORKFLOW`. Answers 202 with `X-Request-Id`, the operation id (= the transfer id).
//! - `HEAD /admin-external/v1/operations/{id}`: 202 while running, 200 once done, with
//!   `X-Global-Execution-State` (RUNNING, COMPLETED) and `X-Global-Execution-Status` (STARTED,
//!   OK, WARNING, KO); `GET` adds Vitam's `RequestResponse` body (`$results[0].globalStatus`).
//! - `GET /ingest-external/v1/ingests/{id}/archivetransferreply` and `…/manifests`.
//!
//! The certificate decides the tenant; `X-Tenant-Id` must be that tenant's number.

pub mod alias;
pub mod tls;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::package;
use crate::auth::{Principal, Role};
use crate::error::ArchiveError;
use crate::model::{Transfer, TransferStatus};
use crate::service::Archive;

/// A Vitam-style error: `{httpCode, code, context, state, message, description}`.
pub struct VitamError {
    status: StatusCode,
    description: String,
}

impl VitamError {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }
}

impl From<ArchiveError> for VitamError {
    fn from(e: ArchiveError) -> Self {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for VitamError {
    fn into_response(self) -> Response {
        let body = json!({
            "httpCode": self.status.as_u16(),
            "code": self.status.canonical_reason().unwrap_or("").to_uppercase().replace(' ', "_"),
            "context": "ARCHIPEL_VITAM_DOOR",
            "state": "code_vitam",
            "message": self.status.canonical_reason().unwrap_or(""),
            "description": self.description,
        });
        (self.status, Json(body)).into_response()
    }
}

type VResult<T> = Result<T, VitamError>;

/// The caller: the tenant of its certificate, which `X-Tenant-Id` must name.
pub struct Caller {
    pub principal: Principal,
    pub tenant: String,
}

impl FromRequestParts<Arc<Archive>> for Caller {
    type Rejection = VitamError;

    async fn from_request_parts(parts: &mut Parts, a: &Arc<Archive>) -> VResult<Self> {
        let peer = parts
            .extensions
            .get::<tls::Peer>()
            .cloned()
            .ok_or_else(|| VitamError::new(StatusCode::UNAUTHORIZED, "no client certificate"))?;
        let cert = peer.cert.map_err(|e| VitamError::new(StatusCode::UNAUTHORIZED, e))?;
        let tenant = cert.tenant.clone().ok_or_else(|| {
            VitamError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "certificate {} ({}) is not a tenant certificate: issue one with `archipel cert issue --client NAME --role tenant --tenant T`",
                    cert.serial, cert.name
                ),
            )
        })?;
        let asked = parts
            .headers
            .get("X-Tenant-Id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .ok_or_else(|| VitamError::new(StatusCode::PRECONDITION_FAILED, "the X-Tenant-Id header is missing"))?;
        let asked: u32 = asked.parse().map_err(|_| {
            VitamError::new(
                StatusCode::PRECONDITION_FAILED,
                format!("X-Tenant-Id `{asked}` is not a tenant number"),
            )
        })?;
        let own = alias::alias_of(a, &tenant).await?;
        if asked != own {
            return Err(VitamError::new(
                StatusCode::UNAUTHORIZED,
                format!("this certificate is not allowed on tenant {asked}"),
            ));
        }
        let principal = Principal {
            id: format!("cert:{}:{}", cert.name, cert.serial),
            tenant: Some(tenant.clone()),
            role: Role::TransferringAgency,
            agency: None,
            access_contract: None,
            all_tenants: false,
        };
        a.authorize(&principal, &tenant, &[Role::TransferringAgency]).await?;
        Ok(Caller { principal, tenant })
    }
}

/// The door's routes, served by [`tls::serve`].
pub fn router(archive: Arc<Archive>) -> Router {
    Router::new()
        .route("/ingest-external/v1/ingests", post(ingest))
        .route("/ingest-external/v1/ingests/{id}/{kind}", get(download))
        .route("/ingest-external/v1/status", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/admin-external/v1/operations/{id}",
            head(operation).get(operation_details),
        )
        .route("/admin-external/v1/status", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(|| async { VitamError::new(StatusCode::NOT_FOUND, "no such route; see docs/connectors.md") })
        .layer(DefaultBodyLimit::disable())
        .with_state(archive)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

async fn ingest(State(a): State<Arc<Archive>>, c: Caller, headers: HeaderMap, body: Body) -> VResult<Response> {
    let action = header(&headers, "X-Action").unwrap_or("");
    if !action.eq_ignore_ascii_case("RESUME") {
        return Err(VitamError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("X-Action `{action}` is not supported: send X-Action: RESUME"),
        ));
    }
    let context = header(&headers, "X-Context-Id").unwrap_or("DEFAULT_WORKFLOW");
    if !matches!(context, "DEFAULT_WORKFLOW" | "DefaultIngestWorkflow") {
        return Err(VitamError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("X-Context-Id `{context}` is not supported: Archipel runs the ingest workflow only (DEFAULT_WORKFLOW); blank tests and filing or holding schemes are not served"),
        ));
    }
    let (spool, size) = spool_body(&a, body).await?;
    let kind =
        package::sniff(&spool).map_err(|e| ArchiveError::Internal(format!("the spooled SIP is unreadable: {e}")))?;
    let t = match kind {
        package::Kind::Zip => crate::ingest::submit(&a, &c.principal, &c.tenant, spool, size).await?,
        _ => super::submit(&a, &c.principal, &c.tenant, None, Some(spool.to_path_buf())).await?,
    };
    let body = json!({
        "httpCode": 202,
        "code": "202",
        "context": "ingest",
        "state": "Running",
        "message": "The ingest is in progress",
        "description": format!("Archipel transfer {} received ({} bytes)", t.id, t.size),
    });
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&t.id) {
        response.headers_mut().insert("X-Request-Id", v);
    }
    Ok(response)
}

async fn spool_body(a: &Archive, body: Body) -> VResult<(tempfile::TempPath, u64)> {
    let spool = tempfile::Builder::new()
        .prefix("vitam-sip-")
        .tempfile_in(&a.config.spool_dir)
        .map_err(|e| ArchiveError::Internal(format!("cannot create a spool file: {e}")))?;
    let (file, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    loop {
        let idle = a.config.body_idle_timeout;
        let next = tokio::time::timeout(idle, stream.next()).await.map_err(|_| {
            ArchiveError::Invalid(format!(
                "the upload stalled: nothing received for {}s after {size} bytes; send the SIP again",
                idle.as_secs()
            ))
        })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| ArchiveError::Invalid(format!("the upload broke after {size} bytes: {e}")))?;
        size += chunk.len() as u64;
        if size > a.config.max_sip_bytes {
            return Err(ArchiveError::TooLarge(format!(
                "the SIP exceeds this front's limit of {} bytes; split the transfer",
                a.config.max_sip_bytes
            ))
            .into());
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ArchiveError::Internal(format!("spooling the SIP failed: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ArchiveError::Internal(format!("spooling the SIP failed: {e}")))?;
    if size == 0 {
        return Err(VitamError::new(
            StatusCode::BAD_REQUEST,
            "the body is empty: send the SIP (zip, tar or tar.gz)",
        ));
    }
    Ok((path, size))
}

/// Vitam's (state, status) of an operation.
pub fn execution(t: &Transfer) -> (&'static str, &'static str) {
    match t.status {
        TransferStatus::Received | TransferStatus::Running => ("RUNNING", "STARTED"),
        TransferStatus::Ok => ("COMPLETED", "OK"),
        TransferStatus::Warning => ("COMPLETED", "WARNING"),
        // A transfer whose front stopped is reported KO by ingest; it stored nothing.
        TransferStatus::Ko => ("COMPLETED", "KO"),
    }
}

async fn operation(State(a): State<Arc<Archive>>, c: Caller, Path(id): Path<String>) -> VResult<Response> {
    let t = crate::ingest::transfer(&a, &c.tenant, &id).await?;
    let (state, status) = execution(&t);
    let code = if state == "COMPLETED" {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        code,
        [
            ("X-Global-Execution-State", state),
            ("X-Global-Execution-Status", status),
            ("X-Context-Id", "INGEST"),
        ],
    )
        .into_response())
}

/// `GET operations/{id}`: the same answer as a Vitam `RequestResponse` holding one `ItemStatus`,
/// for scripts that poll `$results[0].globalStatus`.
async fn operation_details(State(a): State<Arc<Archive>>, c: Caller, Path(id): Path<String>) -> VResult<Response> {
    let t = crate::ingest::transfer(&a, &c.tenant, &id).await?;
    let (state, status) = execution(&t);
    let code = if state == "COMPLETED" {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let body = json!({
        "httpCode": code.as_u16(),
        "$hits": {"total": 1, "offset": 0, "limit": 1, "size": 1},
        "$results": [{
            "itemId": t.id,
            "globalState": state,
            "globalStatus": status,
            "logbookTypeProcess": "INGEST",
            "message": t.errors.first().map(|r| r.message.clone()),
        }],
        "$context": {},
    });
    Ok((
        code,
        [
            ("X-Global-Execution-State", state),
            ("X-Global-Execution-Status", status),
            ("X-Context-Id", "INGEST"),
        ],
        Json(body),
    )
        .into_response())
}

async fn download(
    State(a): State<Arc<Archive>>,
    c: Caller,
    Path((id, kind)): Path<(String, String)>,
) -> VResult<Response> {
    let t = crate::ingest::transfer(&a, &c.tenant, &id).await?;
    let key = match kind.as_str() {
        "archivetransferreply" => t.atr_key.clone().ok_or_else(|| {
            VitamError::new(
                StatusCode::NOT_FOUND,
                format!("operation {id} is still running: its ArchiveTransferReply is not ready"),
            )
        })?,
        "manifests" => {
            let aip = t.aip_id.clone().ok_or_else(|| {
                VitamError::new(
                    StatusCode::NOT_FOUND,
                    format!("operation {id} stored no AIP (running or KO): Archipel keeps the manifest of accepted transfers only"),
                )
            })?;
            crate::keys::aip_manifest(&aip)
        }
        other => {
            return Err(VitamError::new(
                StatusCode::NOT_FOUND,
                format!("`{other}`: ask for archivetransferreply or manifests"),
            ))
        }
    };
    let xml = super::read_reply(&a, &c.tenant, &key).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// The Vitam tenant number of `tenant`, for operators (`GET /v1/tenants/{tenant}/doors`).
pub async fn tenant_number(a: &Archive, tenant: &str) -> crate::error::Result<u32> {
    alias::alias_of(a, tenant).await
}
