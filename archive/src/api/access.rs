//! Access contracts (archivists write, archivists and operators read) and the legal table of
//! communication delays.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use super::{ApiResult, Caller};
use crate::access::{legal, AccessContract, ACCESS_CONTRACT};
use crate::auth::Role::{Archivist, ControlAuthority, Operator};
use crate::service::Archive;

/// A contract as submitted: the version and date are the server's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessContractSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub originating_agencies: Vec<String>,
    #[serde(default)]
    pub all_originating_agencies: bool,
    #[serde(default)]
    pub see_non_communicable: bool,
    #[serde(default)]
    pub object_usages: Vec<String>,
    #[serde(default = "crate::model::yes")]
    pub may_request_dips: bool,
    #[serde(default = "crate::model::yes")]
    pub active: bool,
}

pub async fn put_contract(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
    Json(s): Json<AccessContractSpec>,
) -> ApiResult<Json<AccessContract>> {
    a.authorize(&who, &tenant, &[Archivist]).await?;
    let contract = AccessContract {
        name: if s.name.is_empty() { id.clone() } else { s.name },
        id,
        version: 0,
        originating_agencies: s.originating_agencies,
        all_originating_agencies: s.all_originating_agencies,
        see_non_communicable: s.see_non_communicable,
        object_usages: s.object_usages,
        may_request_dips: s.may_request_dips,
        active: s.active,
        updated_at: Utc::now(),
    };
    contract.check()?;
    let saved = a.refs.put_versioned(&tenant, ACCESS_CONTRACT, contract).await?;
    a.journal
        .record(
            &tenant,
            "access_contract.saved",
            "OK",
            &who.id,
            Some(&saved.id),
            serde_json::to_value(&saved)?,
        )
        .await?;
    Ok(Json(saved))
}

pub async fn get_contract(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, Operator])
        .await?;
    let current: AccessContract = a.refs.get(&tenant, ACCESS_CONTRACT, &id).await?;
    let history: Vec<AccessContract> = a.refs.history(&tenant, ACCESS_CONTRACT, &id).await?;
    let mut v = serde_json::to_value(current)?;
    v["history"] = serde_json::to_value(history)?;
    Ok(Json(v))
}

pub async fn list_contracts(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<AccessContract>>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, Operator])
        .await?;
    Ok(Json(a.refs.list(&tenant, ACCESS_CONTRACT).await?))
}

/// The communication delays of the Code du patrimoine (public, no tenant data).
pub async fn legal_delays() -> Json<&'static [legal::LegalDelay]> {
    Json(legal::LEGAL_DELAYS)
}
