//! Communication requests (deliveries), their DIPs and the derogation answers.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{ApiResult, Caller};
use crate::access::guard;
use crate::auth::Principal;
use crate::auth::Role::{self, Archivist, ControlAuthority, Requester, TransferringAgency};
use crate::delivery::derogation::{Answer, AnswerInput};
use crate::delivery::submit::{DeliverySpec, Input};
use crate::delivery::{self, Delivery, DeliveryStatus};
use crate::error::ArchiveError;
use crate::service::Archive;

const READERS: &[Role] = &[Archivist, ControlAuthority, Requester, TransferringAgency];

fn is_xml(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/xml") || v.starts_with("text/xml"))
}

fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ArchiveError> {
    serde_json::from_slice(body).map_err(|e| ArchiveError::Invalid(format!("the JSON body is invalid: {e}")))
}

/// Whether `who` may see `d`: archivists and the control authority see every delivery, a
/// requester its own, a transferring agency those awaiting its consent.
fn sees(who: &Principal, d: &Delivery) -> bool {
    if who.all_tenants {
        return true;
    }
    match who.role {
        Archivist | ControlAuthority => true,
        TransferringAgency => d.authorizations.iter().any(|s| {
            s.authority == archipel_seda::authorization::AuthorityKind::OriginatingAgency
                && who.agency.as_deref() == Some(s.authority_id.as_str())
        }),
        _ => d.requested_by == who.id,
    }
}

async fn visible(a: &Archive, who: &Principal, tenant: &str, id: &str) -> Result<Delivery, ArchiveError> {
    let d = delivery::load(a, tenant, id).await?.value;
    if !sees(who, &d) {
        let logged = ArchiveError::Forbidden(format!("delivery `{id}` belongs to another requester"));
        guard::refuse(a, who, tenant, id, logged).await;
        return Err(ArchiveError::NotFound(format!("delivery `{id}`")));
    }
    Ok(d)
}

pub async fn submit(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Delivery>)> {
    a.authorize(&who, &tenant, &[Archivist, Requester]).await?;
    let input = match is_xml(&headers) {
        true => Input::Xml(body.to_vec()),
        false => Input::Json(Box::new(json_body::<DeliverySpec>(&body)?)),
    };
    let d = delivery::submit::submit(&a, &who, &tenant, input).await?;
    Ok((StatusCode::ACCEPTED, Json(d)))
}

pub async fn list(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Delivery>>> {
    a.authorize(&who, &tenant, READERS).await?;
    let mut all = delivery::list(&a, &tenant).await?;
    all.retain(|d| sees(&who, d));
    Ok(Json(all))
}

pub async fn status(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Delivery>> {
    a.authorize(&who, &tenant, READERS).await?;
    Ok(Json(visible(&a, &who, &tenant, &id).await?))
}

/// A SEDA message of the delivery: its request, an authorisation request or reply.
pub async fn message(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, READERS).await?;
    let d = visible(&a, &who, &tenant, &id).await?;
    let key = if name == "request" {
        d.request_key.clone()
    } else {
        d.authorizations.iter().find_map(|s| {
            if s.request_message_id == name {
                Some(s.request_key.clone())
            } else if s.reply_message_id.as_deref() == Some(name.as_str()) {
                s.reply_key.clone()
            } else {
                None
            }
        })
    };
    let key = key.ok_or_else(|| ArchiveError::NotFound(format!("message `{name}` of delivery `{id}`")))?;
    let mut xml = Vec::new();
    a.store
        .client()
        .get_object(&crate::keys::object_namespace(&tenant), &key, 0, None, &mut xml, None)
        .await
        .map_err(ArchiveError::from)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// An authority's answer to a derogation: JSON (`{"decision": "approved"|"refused", "reason"}`)
/// or its SEDA reply message.
pub async fn authorize(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Delivery>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority, TransferringAgency])
        .await?;
    // Only those who see the delivery may answer; the entitlement check is per authority.
    visible(&a, &who, &tenant, &id).await?;
    let input = match is_xml(&headers) {
        true => AnswerInput::Xml(body.to_vec()),
        false => AnswerInput::Json(json_body::<Answer>(&body)?),
    };
    Ok(Json(delivery::derogation::answer(&a, &who, &tenant, &id, input).await?))
}

/// Streams the DIP to the requester that asked for it, until it expires.
pub async fn dip(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist, Requester]).await?;
    let current = delivery::load(&a, &tenant, &id).await?;
    let mut d = current.value;
    if d.requested_by != who.id && !who.all_tenants {
        let logged = ArchiveError::Forbidden(format!(
            "the DIP of delivery `{id}` is for {}, not for this token",
            d.requested_by
        ));
        guard::refuse(&a, &who, &tenant, &id, logged).await;
        return Err(ArchiveError::NotFound(format!("delivery `{id}`")).into());
    }
    let now = a.config.access_clock.now(a.store.client()).await?;
    if d.status == DeliveryStatus::Ready && d.expires_at.is_some_and(|e| e <= now) {
        let ns = crate::keys::object_namespace(&tenant);
        for key in d.dip_plan.iter().chain(&d.dip_key) {
            if let Err(e) = a.store.client().delete_object(&ns, key).await {
                tracing::warn!("the expired DIP {ns}/{key} could not be removed: {e}");
            }
        }
        d.status = DeliveryStatus::Expired;
        d.updated_at = chrono::Utc::now();
        delivery::save_if(&a, &d, current.revision, vec![]).await?;
        a.journal
            .record(
                &tenant,
                "delivery.expired",
                "OK",
                &who.id,
                Some(&id),
                serde_json::json!({"expired_at": d.expires_at}),
            )
            .await?;
    }
    if d.status != DeliveryStatus::Ready {
        return Err(ArchiveError::Conflict(format!(
            "delivery `{id}` is {:?}: {}",
            d.status,
            match d.status {
                DeliveryStatus::Expired => "its DIP expired; ask again",
                DeliveryStatus::Refused => "the derogation was refused",
                DeliveryStatus::Failed => "its build failed; see `error`",
                _ => "its DIP is not ready yet; wait for status ready",
            }
        ))
        .into());
    }
    let dip = delivery::download::open(&a, &d).await?;
    a.journal
        .record(
            &tenant,
            "delivery.downloaded",
            "OK",
            &who.id,
            Some(&id),
            serde_json::json!({"size": d.dip_size, "sha512": d.dip_sha512}),
        )
        .await?;
    Ok(zip_response(dip, &id))
}

/// The response carrying a DIP: a zip attachment, with its length when known.
pub fn zip_response(dip: delivery::download::DipDownload, id: &str) -> Response {
    let mut resp = Body::from_stream(dip.body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = format!("attachment; filename=\"dip-{id}.zip\"").parse() {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(size) = dip.size {
        h.insert(header::CONTENT_LENGTH, size.into());
    }
    resp
}
