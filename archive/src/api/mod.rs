//! The REST API (axum). Every route resolves the caller from its bearer token first; the tenant
//! in the path is then checked against the credential, never trusted on its own.

pub mod access;
pub mod admin;
mod audit;
pub mod deliveries;
mod disposal;
mod openapi;
pub mod outgoing;
pub mod referentials;
mod transfers;
pub(crate) mod units;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};

use crate::auth::Principal;
use crate::error::ArchiveError;
use crate::service::Archive;

/// An error as the API returns it: `{"error": {"code": …, "message": …}}` with its HTTP status.
pub struct ApiError(pub ArchiveError);

impl From<ArchiveError> for ApiError {
    fn from(e: ArchiveError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({"error": {"code": self.0.code(), "message": self.0.to_string()}});
        (status, Json(body)).into_response()
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The authenticated caller of a request.
pub struct Caller(pub Principal);

impl FromRequestParts<Arc<Archive>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, archive: &Arc<Archive>) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        match header {
            Some(h) => {
                let token = h.strip_prefix("Bearer ").ok_or_else(|| {
                    ApiError(ArchiveError::Unauthenticated(
                        "the Authorization header must read `Bearer <token>`".into(),
                    ))
                })?;
                Ok(Caller(archive.auth.authenticate(token.trim()).await?))
            }
            None => {
                let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
                if archive.config.dev_trust_loopback && peer.is_some_and(|p| p.ip().is_loopback()) {
                    return Ok(Caller(Principal::dev_superuser()));
                }
                Err(ApiError(ArchiveError::Unauthenticated(
                    "no credential: send `Authorization: Bearer <token>` (see `archipel archive token create`)".into(),
                )))
            }
        }
    }
}

pub fn router(archive: Arc<Archive>) -> Router {
    // Buffered bodies (JSON, rules, profiles) only; the SIP upload streams under its own limits.
    let body_limit = axum::extract::DefaultBodyLimit::max(archive.config.max_request_body_bytes);
    Router::new()
        .route(
            "/v1/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/tenants", post(admin::add_tenant).get(admin::list_tenants))
        .route("/v1/tokens", post(admin::create_token).get(admin::list_tokens))
        .route("/v1/tokens/{id}", axum::routing::delete(admin::revoke_token))
        .route(
            "/v1/tenants/{tenant}/agencies",
            post(referentials::put_agency).get(referentials::list_agencies),
        )
        .route("/v1/tenants/{tenant}/agreements", get(referentials::list_agreements))
        .route(
            "/v1/tenants/{tenant}/agreements/{id}",
            put(referentials::put_agreement).get(referentials::get_agreement),
        )
        .route("/v1/tenants/{tenant}/profiles", get(referentials::list_profiles))
        .route(
            "/v1/tenants/{tenant}/profiles/{id}",
            put(referentials::put_profile).get(referentials::get_profile),
        )
        .route(
            "/v1/tenants/{tenant}/rules",
            post(referentials::import_rules).get(referentials::list_rules),
        )
        .route(
            "/v1/tenants/{tenant}/transfers",
            post(transfers::submit).get(transfers::list),
        )
        .route("/v1/tenants/{tenant}/transfers/{id}", get(transfers::status))
        .route(
            "/v1/tenants/{tenant}/transfers/by-message/{agency}/{message_id}",
            get(transfers::by_message),
        )
        .route("/v1/tenants/{tenant}/transfers/{id}/atr", get(transfers::atr))
        .route("/v1/tenants/{tenant}/transfers/{id}/ack", get(transfers::ack))
        .route("/v1/tenants/{tenant}/units", get(units::search))
        .route("/v1/tenants/{tenant}/units/{id}", get(units::unit))
        .route("/v1/tenants/{tenant}/units/{id}/objects/{object}", get(units::object))
        .route("/v1/tenants/{tenant}/logbook", get(units::logbook))
        .route("/v1/tenants/{tenant}/logbook/verify", post(units::verify_logbook))
        .route("/v1/tenants/{tenant}/logbook/seal", post(units::seal_logbook))
        .route("/v1/tenants/{tenant}/logbook/export", get(units::export_logbook))
        .route("/v1/tenants/{tenant}/reindex", post(units::reindex))
        // Pastell's as@lae REST connector (docs/connectors.md).
        .nest("/asalae", crate::doors::asalae::router(&archive))
        .route("/v1/tenants/{tenant}/doors", get(crate::doors::info))
        .route("/v1/tenants/{tenant}/eliminations/analysis", get(disposal::analysis))
        .route("/v1/tenants/{tenant}/units/rules", post(disposal::modify_rules))
        .route(
            "/v1/tenants/{tenant}/accession-register",
            get(disposal::accession_register),
        )
        .route("/v1/tenants/{tenant}/usage", get(disposal::tenant_usage))
        .route("/v1/usage", get(disposal::platform_usage))
        .route(
            "/v1/tenants/{tenant}/eliminations",
            post(disposal::propose).get(disposal::eliminations),
        )
        .route("/v1/tenants/{tenant}/eliminations/{id}", get(disposal::elimination))
        .route(
            "/v1/tenants/{tenant}/eliminations/{id}/messages/{name}",
            get(disposal::elimination_message),
        )
        .route(
            "/v1/tenants/{tenant}/eliminations/{id}/decision",
            post(disposal::decide),
        )
        .route(
            "/v1/tenants/{tenant}/eliminations/{id}/execute",
            post(disposal::execute),
        )
        .route(
            "/v1/tenants/{tenant}/modifications/{operation}",
            get(disposal::modification),
        )
        .route(
            "/v1/tenants/{tenant}/modifications/{operation}/notifications/{message}",
            get(disposal::modification_notification),
        )
        // Restitution and transfer out (#20).
        .route(
            "/v1/tenants/{tenant}/restitutions",
            post(outgoing::start_restitution).get(outgoing::list_restitutions),
        )
        .route("/v1/tenants/{tenant}/restitutions/{id}", get(outgoing::restitution))
        .route(
            "/v1/tenants/{tenant}/restitutions/{id}/package",
            get(outgoing::restitution_package),
        )
        .route(
            "/v1/tenants/{tenant}/restitutions/{id}/messages/{name}",
            get(outgoing::restitution_message),
        )
        .route(
            "/v1/tenants/{tenant}/restitutions/{id}/acknowledgement",
            post(outgoing::restitution_acknowledgement),
        )
        .route(
            "/v1/tenants/{tenant}/transfers-out",
            post(outgoing::start_transfer_out).get(outgoing::list_transfers_out),
        )
        .route("/v1/tenants/{tenant}/transfers-out/{id}", get(outgoing::transfer_out))
        .route(
            "/v1/tenants/{tenant}/transfers-out/{id}/package",
            get(outgoing::transfer_out_package),
        )
        .route(
            "/v1/tenants/{tenant}/transfers-out/{id}/messages/{name}",
            get(outgoing::transfer_out_message),
        )
        .route(
            "/v1/tenants/{tenant}/transfers-out/{id}/reply",
            post(outgoing::transfer_out_reply),
        )
        // Integrity audits (#20).
        .route("/v1/tenants/{tenant}/audits", post(audit::start).get(audit::list))
        .route("/v1/tenants/{tenant}/audits/{id}", get(audit::show))
        .route("/v1/tenants/{tenant}/audits/{id}/report", get(audit::report))
        .route("/v1/tenants/{tenant}/probative-reports", post(audit::probative))
        .route("/v1/holds/sweep", post(audit::sweep_holds))
        .route(
            "/v1/tenants/{tenant}/probative-reports/{id}",
            get(audit::probative_report),
        )
        .route("/v1/access/legal-delays", get(access::legal_delays))
        .route("/v1/tenants/{tenant}/access-contracts", get(access::list_contracts))
        .route(
            "/v1/tenants/{tenant}/access-contracts/{id}",
            put(access::put_contract).get(access::get_contract),
        )
        .route(
            "/v1/tenants/{tenant}/deliveries",
            post(deliveries::submit).get(deliveries::list),
        )
        .route("/v1/tenants/{tenant}/deliveries/{id}", get(deliveries::status))
        .route("/v1/tenants/{tenant}/deliveries/{id}/dip", get(deliveries::dip))
        .route(
            "/v1/tenants/{tenant}/deliveries/{id}/authorization",
            post(deliveries::authorize),
        )
        .route(
            "/v1/tenants/{tenant}/deliveries/{id}/messages/{name}",
            get(deliveries::message),
        )
        .fallback(|| async {
            ApiError(ArchiveError::NotFound(
                "no such route; see /v1/openapi.json for the API".into(),
            ))
        })
        .layer(body_limit)
        .layer(axum::middleware::map_response(json_errors))
        .with_state(archive)
}

/// Errors made by axum itself (a malformed JSON body or query string, a wrong method) get the
/// same JSON shape as the API's own.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&body).trim().to_owned();
    let code = match status.as_u16() {
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "too_large",
        415 => "unsupported_media_type",
        s if s >= 500 => "internal",
        _ => "invalid",
    };
    let message = if message.is_empty() {
        status.to_string()
    } else {
        message
    };
    (
        status,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}
