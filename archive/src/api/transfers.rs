//! Transfers: a SIP zip in, a transfer id out at once; status and ATR by polling.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{ApiError, ApiResult, Caller};
use crate::auth::Role::{Archivist, Operator, TransferringAgency};
use crate::error::ArchiveError;
use crate::model::Transfer;
use crate::service::Archive;

/// Body: the SIP zip. Answers 202 with the transfer record; poll its status.
pub async fn submit(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Transfer>)> {
    a.authorize(&who, &tenant, &[TransferringAgency, Archivist]).await?;
    let spool = tempfile::Builder::new()
        .prefix("sip-")
        .suffix(".zip")
        .tempfile_in(&a.config.spool_dir)
        .map_err(|e| ArchiveError::Internal(format!("cannot create a spool file: {e}")))?;
    let (std_file, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(std_file);
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    loop {
        // A client that stops sending must not hold a spool file and a connection forever.
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
            return Err(ApiError(ArchiveError::TooLarge(format!(
                "the SIP exceeds this front's limit of {} bytes; split the transfer",
                a.config.max_sip_bytes
            ))));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ArchiveError::Internal(format!("spooling the SIP failed: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ArchiveError::Internal(format!("spooling the SIP failed: {e}")))?;
    drop(file);
    let transfer = crate::ingest::submit(&a, &who, &tenant, path, size).await?;
    Ok((StatusCode::ACCEPTED, Json(transfer)))
}

pub async fn status(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<Transfer>> {
    a.authorize(&who, &tenant, &[TransferringAgency, Archivist, Operator])
        .await?;
    let t = crate::ingest::transfer(&a, &tenant, &id).await?;
    crate::access::guard::check_transfer(&a, &who, &tenant, &t).await?;
    Ok(Json(t))
}

/// The transfer holding a (TransferringAgency, MessageIdentifier) pair (`ingest::message`).
pub async fn by_message(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, agency, message)): Path<(String, String, String)>,
) -> ApiResult<Json<Transfer>> {
    a.authorize(&who, &tenant, &[TransferringAgency, Archivist, Operator])
        .await?;
    let t = crate::ingest::message::by_message(&a, &tenant, &agency, &message).await?;
    crate::access::guard::check_transfer(&a, &who, &tenant, &t).await?;
    Ok(Json(t))
}

pub async fn list(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Transfer>>> {
    a.authorize(&who, &tenant, &[TransferringAgency, Archivist, Operator])
        .await?;
    let mut all = crate::ingest::transfers(&a, &tenant).await?;
    // A transferring agency follows its own transfers only.
    all.retain(|t| crate::access::guard::own_transfer(&who, t));
    Ok(Json(all))
}

/// The ArchiveTransferReply, once the transfer is finished.
pub async fn atr(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[TransferringAgency, Archivist, Operator])
        .await?;
    let t = crate::ingest::transfer(&a, &tenant, &id).await?;
    crate::access::guard::check_transfer(&a, &who, &tenant, &t).await?;
    let key = t.atr_key.ok_or_else(|| {
        ArchiveError::Conflict(format!("transfer `{id}` is {:?}: its reply is not ready yet", t.status))
    })?;
    let ns = crate::keys::object_namespace(&tenant);
    let mut xml = Vec::new();
    a.store
        .client()
        .get_object(&ns, &key, 0, None, &mut xml, None)
        .await
        .map_err(ArchiveError::from)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// The Acknowledgement sent once the transfer's manifest was read.
pub async fn ack(
    State(a): State<Arc<Archive>>,
    Caller(who): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    a.authorize(&who, &tenant, &[TransferringAgency, Archivist, Operator])
        .await?;
    let t = crate::ingest::transfer(&a, &tenant, &id).await?;
    crate::access::guard::check_transfer(&a, &who, &tenant, &t).await?;
    let key = t.ack_key.ok_or_else(|| {
        ArchiveError::NotFound(format!(
            "transfer `{id}` has no acknowledgement: its manifest could not be read"
        ))
    })?;
    let mut xml = Vec::new();
    a.store
        .client()
        .get_object(&crate::keys::object_namespace(&tenant), &key, 0, None, &mut xml, None)
        .await
        .map_err(ArchiveError::from)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}
