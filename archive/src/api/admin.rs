//! Platform administration: tenants and credentials (operators).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{ApiResult, Caller};
use crate::auth::{IssuedToken, Role, TokenRecord};
use crate::model::Tenant;
use crate::service::Archive;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Defaults to the tenant id.
    #[serde(default)]
    pub archival_agency: Option<String>,
}

pub async fn add_tenant(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Json(t): Json<NewTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    a.authorize_operator(&who).await?;
    let agency = t.archival_agency.unwrap_or_else(|| t.id.clone());
    let tenant = a.refs.add_tenant(&t.id, &t.name, &agency).await?;
    a.journal
        .record(
            &tenant.id,
            "tenant.created",
            "OK",
            &who.id,
            None,
            serde_json::json!({"name": tenant.name}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

/// Operators see every tenant; anyone else sees only their own.
pub async fn list_tenants(State(a): State<Arc<Archive>>, Caller(who): Caller) -> ApiResult<Json<Vec<Tenant>>> {
    let all = a.refs.tenants().await?;
    let visible = all
        .into_iter()
        .filter(|t| who.all_tenants || who.role == Role::Operator || who.tenant.as_deref() == Some(&t.id))
        .collect();
    Ok(Json(visible))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub tenant: Option<String>,
    pub role: String,
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(default)]
    pub label: String,
    /// For requester tokens: the access contract they act under.
    #[serde(default)]
    pub access_contract: Option<String>,
}

pub async fn create_token(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Json(t): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    a.authorize_operator(&who).await?;
    let role: Role = t.role.parse()?;
    if let Some(tenant) = &t.tenant {
        a.refs.tenant(tenant).await?;
        if let Some(contract) = &t.access_contract {
            a.refs
                .get::<crate::access::AccessContract>(tenant, crate::access::ACCESS_CONTRACT, contract)
                .await?;
        }
    }
    let issued = a
        .auth
        .create_with_contract(
            t.tenant.as_deref(),
            role,
            t.agency.as_deref(),
            t.access_contract.as_deref(),
            &t.label,
        )
        .await?;
    let book = t.tenant.as_deref().unwrap_or(crate::journal::PLATFORM);
    a.journal
        .record(
            book,
            "token.created",
            "OK",
            &who.id,
            Some(&issued.id),
            serde_json::json!({"role": role.to_string(), "label": t.label, "access_contract": t.access_contract}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

pub async fn list_tokens(State(a): State<Arc<Archive>>, Caller(who): Caller) -> ApiResult<Json<Vec<TokenRecord>>> {
    a.authorize_operator(&who).await?;
    Ok(Json(a.auth.list().await?))
}

pub async fn revoke_token(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenRecord>> {
    a.authorize_operator(&who).await?;
    let r = a.auth.revoke(&id).await?;
    let book = r.tenant.as_deref().unwrap_or(crate::journal::PLATFORM);
    a.journal
        .record(book, "token.revoked", "OK", &who.id, Some(&id), serde_json::json!({}))
        .await?;
    Ok(Json(r))
}
