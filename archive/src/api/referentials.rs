//! Agencies, agreements, profiles and rules of a tenant (archivists; operators may read).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use super::{ApiResult, Caller};
use crate::auth::Role::{Archivist, Operator};
use crate::model::{Agency, Agreement, Profile, Rule, Severity};
use crate::referentials::{Versioned, AGENCY, AGREEMENT, PROFILE, RULE};
use crate::service::Archive;

const READERS: &[crate::auth::Role] = &[Archivist, Operator];
const WRITERS: &[crate::auth::Role] = &[Archivist];

pub async fn put_agency(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    Json(agency): Json<Agency>,
) -> ApiResult<Json<Agency>> {
    a.authorize(&who, &tenant, WRITERS).await?;
    a.refs.put_agency(&tenant, &agency).await?;
    a.journal
        .record(
            &tenant,
            "agency.saved",
            "OK",
            &who.id,
            Some(&agency.id),
            serde_json::json!({"name": agency.name}),
        )
        .await?;
    Ok(Json(agency))
}

pub async fn list_agencies(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Agency>>> {
    a.authorize(&who, &tenant, READERS).await?;
    Ok(Json(a.refs.list(&tenant, AGENCY).await?))
}

/// An agreement as submitted: the version and date are the server's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementSpec {
    #[serde(default)]
    pub name: String,
    pub transferring_agencies: Vec<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub allowed_formats: Vec<String>,
    #[serde(default)]
    pub format_mismatch: Severity,
    #[serde(default)]
    pub unidentified_format: Severity,
    #[serde(default = "crate::model::reject")]
    pub disallowed_format: Severity,
    #[serde(default)]
    pub flow: Option<String>,
    #[serde(default = "crate::model::yes")]
    pub active: bool,
    /// A RELAX NG grammar the manifests must match, as for a profile.
    #[serde(default)]
    pub rng: Option<String>,
}

/// Saves `record` as the next version of its `kind` and logs `<kind>.saved` with that version.
async fn save_version<T: Versioned>(
    a: &Archive,
    actor: &str,
    tenant: &str,
    kind: &str,
    record: T,
) -> ApiResult<Json<T>> {
    let saved = a.refs.put_versioned(tenant, kind, record).await?;
    a.journal
        .record(
            tenant,
            &format!("{kind}.saved"),
            "OK",
            actor,
            Some(saved.id()),
            serde_json::json!({"version": saved.version()}),
        )
        .await?;
    Ok(Json(saved))
}

/// A grammar that does not compile would reject every transfer: refused when saved.
async fn check_rng(schema: Option<&str>) -> crate::error::Result<()> {
    use crate::ingest::rng::{check_schema, RngError};
    let Some(schema) = schema else {
        return Ok(());
    };
    check_schema(schema).await.map_err(|e| match e {
        RngError::BadSchema(_) => crate::error::ArchiveError::Invalid(format!("{e}; fix the RNG file")),
        other => crate::error::ArchiveError::Internal(other.to_string()),
    })
}

pub async fn put_agreement(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
    Json(s): Json<AgreementSpec>,
) -> ApiResult<Json<Agreement>> {
    a.authorize(&who, &tenant, WRITERS).await?;
    if let Some(p) = &s.profile {
        a.refs.get::<Profile>(&tenant, PROFILE, p).await?;
    }
    check_rng(s.rng.as_deref()).await?;
    // Agencies named in an agreement are registered, so the referential stays complete.
    for agency in &s.transferring_agencies {
        crate::model::check_id("agency", agency)?;
        if let Err(crate::error::ArchiveError::NotFound(_)) = a.refs.get::<Agency>(&tenant, AGENCY, agency).await {
            a.refs
                .put_agency(
                    &tenant,
                    &Agency {
                        id: agency.clone(),
                        name: agency.clone(),
                    },
                )
                .await?;
        }
    }
    let agreement = Agreement {
        name: if s.name.is_empty() { id.clone() } else { s.name },
        id,
        version: 0,
        transferring_agencies: s.transferring_agencies,
        profile: s.profile,
        allowed_formats: s.allowed_formats,
        format_mismatch: s.format_mismatch,
        unidentified_format: s.unidentified_format,
        disallowed_format: s.disallowed_format,
        flow: s.flow,
        active: s.active,
        updated_at: Utc::now(),
        rng: s.rng,
    };
    save_version(&a, &who.id, &tenant, AGREEMENT, agreement).await
}

pub async fn get_agreement(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Agreement>> {
    a.authorize(&who, &tenant, READERS).await?;
    Ok(Json(a.refs.get(&tenant, AGREEMENT, &id).await?))
}

pub async fn list_agreements(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Agreement>>> {
    a.authorize(&who, &tenant, READERS).await?;
    Ok(Json(a.refs.list(&tenant, AGREEMENT).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub required_fields: Vec<String>,
    #[serde(default)]
    pub allowed_formats: Vec<String>,
    /// A RELAX NG grammar the manifests must match.
    #[serde(default)]
    pub rng: Option<String>,
}

pub async fn put_profile(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
    Json(s): Json<ProfileSpec>,
) -> ApiResult<Json<Profile>> {
    a.authorize(&who, &tenant, WRITERS).await?;
    check_rng(s.rng.as_deref()).await?;
    let profile = Profile {
        name: if s.name.is_empty() { id.clone() } else { s.name },
        id,
        version: 0,
        required_fields: s.required_fields,
        allowed_formats: s.allowed_formats,
        rng: s.rng,
        updated_at: Utc::now(),
    };
    save_version(&a, &who.id, &tenant, PROFILE, profile).await
}

pub async fn get_profile(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Profile>> {
    a.authorize(&who, &tenant, READERS).await?;
    Ok(Json(a.refs.get(&tenant, PROFILE, &id).await?))
}

pub async fn list_profiles(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Profile>>> {
    a.authorize(&who, &tenant, READERS).await?;
    Ok(Json(a.refs.list(&tenant, PROFILE).await?))
}

/// Body: the rules CSV.
pub async fn import_rules(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: String,
) -> ApiResult<Json<Vec<Rule>>> {
    a.authorize(&who, &tenant, WRITERS).await?;
    Ok(Json(crate::rules_import::import_rules(&a, &who, &tenant, &body).await?))
}

pub async fn list_rules(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Rule>>> {
    a.authorize(&who, &tenant, READERS).await?;
    Ok(Json(a.refs.list(&tenant, RULE).await?))
}
