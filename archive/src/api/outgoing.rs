//! Restitution and transfer out: start (archivist), follow, download the package and the
//! messages, record the recipient's answer (archivist; the answer is the recipient's message).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{ApiResult, Caller};
use crate::auth::Role::{Archivist, ControlAuthority};
use crate::disposal::outgoing::{self, AnswerInput, Kind, Outgoing, OutgoingRequest};
use crate::error::ArchiveError;
use crate::service::Archive;

async fn start(
    a: Arc<Archive>,
    who: crate::auth::Principal,
    tenant: String,
    kind: Kind,
    body: &[u8],
) -> ApiResult<Json<Outgoing>> {
    a.authorize(&who, &tenant, &[Archivist]).await?;
    let req: OutgoingRequest =
        serde_json::from_slice(body).map_err(|e| ArchiveError::Invalid(format!("the JSON body is invalid: {e}")))?;
    match outgoing::start(&a, &tenant, &who, kind, req).await {
        Ok(o) => Ok(Json(o)),
        Err(e) => {
            refused(&a, &tenant, &format!("{}.started", kind.event()), &who.id, None, &e).await;
            Err(e.into())
        }
    }
}

pub async fn start_restitution(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Outgoing>> {
    start(a, who, tenant, Kind::Restitution, &body).await
}

pub async fn start_transfer_out(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Outgoing>> {
    start(a, who, tenant, Kind::TransferOut, &body).await
}

async fn refused(a: &Archive, tenant: &str, event: &str, actor: &str, subject: Option<&str>, e: &ArchiveError) {
    let detail = serde_json::json!({"reason": e.to_string()});
    if let Err(log) = a.journal.record(tenant, event, "KO", actor, subject, detail).await {
        tracing::error!("a refused {event} could not be logged: {log}");
    }
}

pub async fn list_restitutions(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Outgoing>>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(outgoing::list(&a, &tenant, Kind::Restitution).await?))
}

pub async fn list_transfers_out(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Outgoing>>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(outgoing::list(&a, &tenant, Kind::TransferOut).await?))
}

pub async fn restitution(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Outgoing>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(outgoing::get(&a, &tenant, Kind::Restitution, &id).await?))
}

pub async fn transfer_out(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Outgoing>> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    Ok(Json(outgoing::get(&a, &tenant, Kind::TransferOut, &id).await?))
}

async fn package(
    a: Arc<Archive>,
    who: crate::auth::Principal,
    tenant: String,
    kind: Kind,
    id: String,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist]).await?;
    let o = outgoing::get(&a, &tenant, kind, &id).await?;
    let Some(p) = o
        .package
        .clone()
        .filter(|_| matches!(o.status, outgoing::Status::Ready | outgoing::Status::Accepted))
    else {
        return Err(ArchiveError::Conflict(format!(
            "{id} has no package to download ({:?}): {}",
            o.status,
            match o.status {
                outgoing::Status::Executed => "the units left, and their package was deleted with them",
                outgoing::Status::Rejected => "the recipient refused it and the package was deleted",
                outgoing::Status::Failed => "its build failed; start a new one",
                _ => "wait for status ready",
            }
        ))
        .into());
    };
    a.journal
        .record(
            &tenant,
            &format!("{}.package.downloaded", kind.event()),
            "OK",
            &who.id,
            Some(&id),
            serde_json::json!({"size": p.size, "sha512": p.sha512}),
        )
        .await?;
    let t = a.refs.tenant(&tenant).await?;
    let (mut w, r) = tokio::io::duplex(256 << 10);
    let client = a.store.client().clone();
    let (ns, key) = (t.namespace.clone(), p.key.clone());
    tokio::spawn(async move {
        if let Err(e) = client.get_object(&ns, &key, 0, None, &mut w, None).await {
            tracing::warn!("streaming the package {ns}/{key} failed: {e}");
        }
    });
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::new(r)).into_response();
    let headers = [
        (header::CONTENT_TYPE, "application/zip".to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{id}.zip\""),
        ),
        (header::CONTENT_LENGTH, p.size.to_string()),
    ];
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            resp.headers_mut().insert(k, v);
        }
    }
    Ok(resp)
}

pub async fn restitution_package(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    package(a, who, tenant, Kind::Restitution, id).await
}

pub async fn transfer_out_package(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    package(a, who, tenant, Kind::TransferOut, id).await
}

async fn message(
    a: Arc<Archive>,
    who: crate::auth::Principal,
    tenant: String,
    kind: Kind,
    id: String,
    name: String,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[Archivist, ControlAuthority]).await?;
    let o = outgoing::get(&a, &tenant, kind, &id).await?;
    let m = o.message(&name).ok_or_else(|| {
        ArchiveError::NotFound(format!(
            "message `{name}` of {id} (request, reply, transfer, answer, or a MessageIdentifier)"
        ))
    })?;
    let t = a.refs.tenant(&tenant).await?;
    let mut xml = Vec::new();
    a.store
        .client()
        .get_object(&t.namespace, &m.key, 0, None, &mut xml, None)
        .await
        .map_err(ArchiveError::from)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

pub async fn restitution_message(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    message(a, who, tenant, Kind::Restitution, id, name).await
}

pub async fn transfer_out_message(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    message(a, who, tenant, Kind::TransferOut, id, name).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Received {
    /// Must be true: the agency confirms it received the package.
    received: bool,
    #[serde(default)]
    comment: Option<String>,
}

async fn answer(
    a: Arc<Archive>,
    who: crate::auth::Principal,
    tenant: String,
    kind: Kind,
    id: String,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> ApiResult<Json<Outgoing>> {
    a.authorize(&who, &tenant, &[Archivist]).await?;
    let xml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("xml"));
    let input = if xml {
        Ok(AnswerInput::Xml(body.to_vec()))
    } else {
        match serde_json::from_slice::<Received>(body) {
            Ok(r) if r.received => Ok(AnswerInput::Received { comment: r.comment }),
            Ok(_) => Err(ArchiveError::Invalid(
                "received is false: record the acknowledgement once the agency confirms receipt".into(),
            )),
            Err(e) => Err(ArchiveError::Invalid(format!(
                "send the recipient's message as XML (Content-Type: application/xml), or {{\"received\": true}} for a restitution: {e}"
            ))),
        }
    };
    let result = match input {
        Ok(input) => outgoing::answer(&a, &tenant, &who, kind, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(o) => Ok(Json(o)),
        Err(e) => {
            refused(
                &a,
                &tenant,
                &format!("{}.answered", kind.event()),
                &who.id,
                Some(&id),
                &e,
            )
            .await;
            Err(e.into())
        }
    }
}

pub async fn restitution_acknowledgement(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Outgoing>> {
    answer(a, who, tenant, Kind::Restitution, id, &headers, &body).await
}

pub async fn transfer_out_reply(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Outgoing>> {
    answer(a, who, tenant, Kind::TransferOut, id, &headers, &body).await
}
