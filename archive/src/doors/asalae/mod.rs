//! The as@lae REST door, under `/asalae` on the archive front: what Pastell's "as@lae (Rest)"
//! connector calls, with the shapes it sends and expects (docs/connectors.md).
//!
//! - Every call, ping included, carries HTTP Basic credentials: the login is an Archipel token's
//!   id, the password the lowercase hex SHA-256 of the token (the connector hashes what its
//!   form holds). Any refusal answers 401 with the same words, known login or not.
//! - `POST /sedaMessages` (multipart `seda_message` + `attachments` tar.gz) answers 200 with a
//!   JSON object once ingest took the transfer; with `send_chunked_attachments=true` it opens a
//!   chunk session instead, fed by `POST /sedaAttachmentsChunkFiles` (`chunks`).
//! - `GET /sedaMessages/sequence:ArchiveTransfer/message:{Acknowledgement|ArchiveTransferReply}/
//!   originOrganizationIdentification:{agency}/originMessageIdentifier:{message}` answers the
//!   XML once it exists, 404 before. The ATR is shown as the connector reads it (`reply`).

pub mod chunks;
pub mod reply;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::api::{ApiError, ApiResult};
use crate::auth::{Principal, Role};
use crate::error::ArchiveError;
use crate::model::Transfer;
use crate::service::Archive;
use chunks::{ChunkFields, ChunkStore, Progress};

/// The name a door's records go under (`keys::door_message`).
const DOOR: &str = "asalae";
const ROLES: &[Role] = &[Role::TransferringAgency, Role::Archivist];

/// The routes, to nest under `/asalae`.
pub fn router(archive: &Arc<Archive>) -> Router<Arc<Archive>> {
    let store = Arc::new(ChunkStore::new(&archive.config.spool_dir, archive.config.max_sip_bytes));
    Router::new()
        .route("/ping", get(ping))
        .route("/versions", get(versions))
        .route("/sedaMessages", post(seda_messages))
        .route("/sedaMessages/{*rest}", get(message))
        .route("/sedaAttachmentsChunkFiles", post(chunk))
        // Multipart bodies are bounded field by field below (bordereau, archive, chunk).
        .layer(DefaultBodyLimit::disable())
        .layer(Extension(store))
}

/// The caller, from HTTP Basic.
pub struct Basic(pub Principal);

impl FromRequestParts<Arc<Archive>> for Basic {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, a: &Arc<Archive>) -> Result<Self, Response> {
        let refused = || {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"archipel\"")],
                Json(json!({"error": {"code": "unauthenticated", "message": "wrong login or password"}})),
            )
                .into_response()
        };
        let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Err(refused());
        };
        let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
            return Err(refused());
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((login, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(refused());
        };
        match a.auth.authenticate_basic(login.trim(), password.trim()).await {
            Ok(p) => Ok(Basic(p)),
            Err(ArchiveError::Unauthenticated(_)) => Err(refused()),
            Err(e) => Err(ApiError(e).into_response()),
        }
    }
}

/// The caller's tenant, checked (and a refusal logged) like every API call.
async fn tenant_of(a: &Archive, who: &Principal) -> ApiResult<String> {
    let tenant = who.tenant.clone().ok_or_else(|| {
        ArchiveError::Forbidden(
            "an operator token belongs to no tenant: give Pastell a transferring-agency token".into(),
        )
    })?;
    a.authorize(who, &tenant, ROLES).await?;
    Ok(tenant)
}

async fn ping(State(a): State<Arc<Archive>>, Basic(who): Basic) -> ApiResult<Json<Value>> {
    let tenant = tenant_of(&a, &who).await?;
    Ok(Json(
        json!({"ping": "pong", "application": "archipel", "tenant": tenant}),
    ))
}

async fn versions(State(a): State<Arc<Archive>>, Basic(who): Basic) -> ApiResult<Json<Value>> {
    tenant_of(&a, &who).await?;
    Ok(Json(json!({
        "application": "archipel",
        "version": env!("CARGO_PKG_VERSION"),
        "api": "as@lae REST (sedaMessages, sedaAttachmentsChunkFiles)",
        "seda": ["2.1", "2.2", "2.3"],
    })))
}

/// What the bordereau says about who sends which message.
struct Bordereau {
    bytes: Vec<u8>,
    agency: String,
    message: String,
}

fn read_bordereau(bytes: Vec<u8>, who: &Principal) -> ApiResult<Bordereau> {
    use archipel_seda::manifest::{self, ParseLimits};
    let parsed = manifest::parse(&bytes, &ParseLimits::default())
        .map_err(|e| ArchiveError::Invalid(format!("seda_message is not a readable SEDA bordereau: {e}")))?;
    let agency = parsed
        .transferring_agency
        .as_ref()
        .and_then(|x| x.identifier.clone())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ArchiveError::Invalid("the bordereau has no TransferringAgency/Identifier".into()))?;
    let message = parsed
        .message_identifier
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ArchiveError::Invalid("the bordereau has no MessageIdentifier".into()))?;
    // Checked here, not only by ingest: the door's record of this message must not be another
    // agency's to overwrite.
    if let Some(own) = &who.agency {
        if *own != agency {
            return Err(ApiError(ArchiveError::Forbidden(format!(
                "your credential transfers for agency `{own}`, and this bordereau is from `{agency}`"
            ))));
        }
    }
    Ok(Bordereau { bytes, agency, message })
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError(ArchiveError::Invalid(format!("the multipart body is malformed: {e}")))
}

/// Reads a field whole into memory, up to `max` bytes.
async fn field_bytes(a: &Archive, mut field: axum::extract::multipart::Field<'_>, max: usize) -> ApiResult<Vec<u8>> {
    let name = field.name().unwrap_or("").to_owned();
    let mut out = Vec::new();
    while let Some(chunk) = next_chunk(a, &mut field).await? {
        if out.len() + chunk.len() > max {
            return Err(ApiError(ArchiveError::TooLarge(format!(
                "field `{name}` exceeds {max} bytes"
            ))));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Streams a field into a new spool file in `dir`, up to `max` bytes.
async fn field_file(
    a: &Archive,
    mut field: axum::extract::multipart::Field<'_>,
    dir: &std::path::Path,
    max: u64,
) -> ApiResult<(tempfile::TempPath, u64)> {
    let name = field.name().unwrap_or("").to_owned();
    let spool = tempfile::Builder::new()
        .prefix("door-")
        .tempfile_in(dir)
        .map_err(|e| ArchiveError::Internal(format!("cannot create a spool file: {e}")))?;
    let (file, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut size = 0u64;
    while let Some(chunk) = next_chunk(a, &mut field).await? {
        size += chunk.len() as u64;
        if size > max {
            return Err(ApiError(ArchiveError::TooLarge(format!(
                "field `{name}` exceeds this front's limit of {max} bytes; split the transfer"
            ))));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ArchiveError::Internal(format!("spooling `{name}` failed: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ArchiveError::Internal(format!("spooling `{name}` failed: {e}")))?;
    Ok((path, size))
}

/// The next piece of a field; a client silent for the idle limit is cut off.
async fn next_chunk(a: &Archive, field: &mut axum::extract::multipart::Field<'_>) -> ApiResult<Option<bytes::Bytes>> {
    let idle: Duration = a.config.body_idle_timeout;
    tokio::time::timeout(idle, field.chunk())
        .await
        .map_err(|_| {
            ApiError(ArchiveError::Invalid(format!(
                "the upload stalled: nothing received for {}s; send it again",
                idle.as_secs()
            )))
        })?
        .map_err(multipart_error)
}

fn accepted(t: &Transfer, resent: bool) -> Json<Value> {
    Json(json!({
        "transfer_id": t.id,
        "message_identifier": t.message_identifier,
        "status": t.status,
        "resent": resent,
    }))
}

/// Submits a complete transfer through ingest, or answers with the transfer that already holds
/// this very bordereau.
async fn transfer(
    a: &Arc<Archive>,
    who: &Principal,
    tenant: &str,
    b: Bordereau,
    archive: Option<std::path::PathBuf>,
) -> ApiResult<Json<Value>> {
    if let Some(t) = super::earlier(a, tenant, &b.agency, &b.message, &b.bytes).await? {
        a.journal
            .record(
                tenant,
                "transfer.resent",
                "OK",
                &who.id,
                Some(&t.id),
                json!({"door": DOOR, "message_identifier": b.message}),
            )
            .await?;
        return Ok(accepted(&t, true));
    }
    let t = super::submit(a, who, tenant, Some(b.bytes), archive).await?;
    super::remember(a, DOOR, tenant, &b.agency, &b.message, &t.id).await?;
    Ok(accepted(&t, false))
}

async fn seda_messages(
    State(a): State<Arc<Archive>>,
    Extension(store): Extension<Arc<ChunkStore>>,
    Basic(who): Basic,
    mut form: Multipart,
) -> ApiResult<Json<Value>> {
    let tenant = tenant_of(&a, &who).await?;
    let max_bordereau = archipel_seda::manifest::ParseLimits::default().max_bytes;
    let mut bordereau = None;
    let mut attachments = None;
    let mut chunked = false;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or("") {
            "seda_message" => bordereau = Some(field_bytes(&a, field, max_bordereau).await?),
            "attachments" => {
                attachments = Some(
                    field_file(&a, field, &a.config.spool_dir, a.config.max_sip_bytes)
                        .await?
                        .0,
                )
            }
            "send_chunked_attachments" => {
                let v = field_bytes(&a, field, 16).await?;
                chunked = matches!(String::from_utf8_lossy(&v).trim(), "true" | "1");
            }
            // Unknown fields are read and ignored, as as@lae does.
            _ => {
                field_bytes(&a, field, 1 << 20).await?;
            }
        }
    }
    let bordereau =
        bordereau.ok_or_else(|| ArchiveError::Invalid("the seda_message field (the bordereau) is missing".into()))?;
    // Parsing a large bordereau is CPU work: off the async threads.
    let caller = who.clone();
    let b = tokio::task::spawn_blocking(move || read_bordereau(bordereau, &caller))
        .await
        .map_err(|e| ArchiveError::Internal(format!("reading the bordereau failed: {e}")))??;
    if chunked {
        if attachments.is_some() {
            return Err(ApiError(ArchiveError::Invalid(
                "send_chunked_attachments=true: send the attachments by /sedaAttachmentsChunkFiles, not here".into(),
            )));
        }
        let (session, security) = store.open(&who, &tenant, &b.agency, &b.message, &b.bytes)?;
        return Ok(Json(json!({
            "chunk_session_identifier": session,
            "chunk_security_identifier": security,
            "message_identifier": b.message,
        })));
    }
    transfer(&a, &who, &tenant, b, attachments.as_ref().map(|p| p.to_path_buf())).await
}

async fn chunk(
    State(a): State<Arc<Archive>>,
    Extension(store): Extension<Arc<ChunkStore>>,
    Basic(who): Basic,
    form: Multipart,
) -> ApiResult<Json<Value>> {
    let tenant = tenant_of(&a, &who).await?;
    let mut fields = ChunkFields::default();
    let read = read_chunk(&a, &store, form, &mut fields).await;
    let (path, len) = match read {
        Ok(Some(c)) => c,
        Ok(None) => {
            if let Some(id) = &fields.session_identifier {
                store.discard(&who, id.trim()).await;
            }
            return Err(ApiError(ArchiveError::Invalid(
                "the chunk_content file part is missing".into(),
            )));
        }
        Err(e) => {
            if let Some(id) = &fields.session_identifier {
                store.discard(&who, id.trim()).await;
            }
            return Err(e);
        }
    };
    match store.add(&who, &fields, &path, len).await? {
        Progress::More { received, of } => Ok(Json(json!({
            "session_identifier": fields.session_identifier.as_deref().map(str::trim),
            "chunks_received": received,
            "number_of_chunks": of,
        }))),
        Progress::Complete(done) => {
            if done.tenant != tenant {
                return Err(ApiError(ArchiveError::NotFound("chunk session".into())));
            }
            let b = Bordereau {
                bytes: done.bordereau.clone(),
                agency: done.transferring_agency.clone(),
                message: done.message_identifier.clone(),
            };
            // `done` holds the session directory until the SIP is packed, then removes it.
            let answer = transfer(&a, &who, &tenant, b, Some(done.archive.clone())).await;
            drop(done);
            answer
        }
    }
}

async fn read_chunk(
    a: &Archive,
    store: &ChunkStore,
    mut form: Multipart,
    fields: &mut ChunkFields,
) -> ApiResult<Option<(tempfile::TempPath, u64)>> {
    let mut content = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "chunk_content" {
            let dir = store.incoming_dir()?.to_path_buf();
            content = Some(field_file(a, field, &dir, chunks::MAX_CHUNK_BYTES).await?);
            continue;
        }
        let text = String::from_utf8_lossy(&field_bytes(a, field, 4096).await?).into_owned();
        let slot = match name.as_str() {
            "session_identifier" => &mut fields.session_identifier,
            "security_identifier" => &mut fields.security_identifier,
            "number_of_files" => &mut fields.number_of_files,
            "file_index" => &mut fields.file_index,
            "file_name" => &mut fields.file_name,
            "compression_algorithm" => &mut fields.compression_algorithm,
            "number_of_chunks" => &mut fields.number_of_chunks,
            "chunk_index" => &mut fields.chunk_index,
            _ => continue,
        };
        *slot = Some(text);
    }
    Ok(content)
}

/// `GET /sedaMessages/sequence:ArchiveTransfer/message:M/originOrganizationIdentification:A/originMessageIdentifier:I`
async fn message(State(a): State<Arc<Archive>>, Basic(who): Basic, uri: Uri) -> ApiResult<Response> {
    let tenant = tenant_of(&a, &who).await?;
    let raw = uri.path();
    let rest = raw
        .split_once("/sedaMessages/")
        .map(|(_, r)| r)
        .ok_or_else(|| ArchiveError::NotFound("no such route".into()))?;
    let q = parse_query(rest)?;
    if q.sequence != "ArchiveTransfer" {
        return Err(ApiError(ArchiveError::NotFound(format!(
            "sequence `{}`: only ArchiveTransfer is served",
            q.sequence
        ))));
    }
    // A transferring agency sees its own messages only; another's look like none.
    if who.agency.as_deref().is_some_and(|own| own != q.agency) {
        return Err(ApiError(ArchiveError::NotFound(format!(
            "no transfer of message `{}` from agency `{}`",
            q.message, q.agency
        ))));
    }
    let t = super::find(&a, DOOR, &tenant, &q.agency, &q.message).await?;
    let xml = match q.kind.as_str() {
        "Acknowledgement" => {
            let key = t
                .ack_key
                .clone()
                .ok_or_else(|| ArchiveError::NotFound(format!("transfer {} has no Acknowledgement (yet)", t.id)))?;
            super::read_reply(&a, &tenant, &key).await?
        }
        "ArchiveTransferReply" => {
            let key = t.atr_key.clone().ok_or_else(|| {
                ArchiveError::NotFound(format!(
                    "transfer {} is {:?}: its reply is not ready yet",
                    t.id, t.status
                ))
            })?;
            let stored = super::read_reply(&a, &tenant, &key).await?;
            reply::asalae_atr(&stored, t.aip_id.as_deref()).map_err(|e| {
                ArchiveError::Internal(format!("the stored ATR of transfer {} is unreadable: {e}", t.id))
            })?
        }
        other => {
            return Err(ApiError(ArchiveError::NotFound(format!(
                "message `{other}`: use Acknowledgement or ArchiveTransferReply"
            ))))
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

#[derive(Debug, PartialEq)]
struct Query {
    sequence: String,
    kind: String,
    agency: String,
    message: String,
}

/// The four `key:value` segments, each value decoded as PHP's `urlencode` writes it (`+` is a
/// space, `%XX` a byte); values sent raw decode to themselves.
fn parse_query(rest: &str) -> ApiResult<Query> {
    let bad = || {
        ApiError(ArchiveError::NotFound(
            "expected sequence:ArchiveTransfer/message:M/originOrganizationIdentification:A/originMessageIdentifier:I"
                .into(),
        ))
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [s, m, o, i] = parts.as_slice() else {
        return Err(bad());
    };
    let value = |seg: &str, key: &str| -> ApiResult<String> {
        let v = seg
            .strip_prefix(key)
            .and_then(|v| v.strip_prefix(':'))
            .ok_or_else(bad)?;
        let spaced = v.replace('+', " ");
        let decoded = percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map_err(|_| ApiError(ArchiveError::Invalid(format!("`{key}` is not UTF-8 once decoded"))))?;
        Ok(decoded.into_owned())
    };
    Ok(Query {
        sequence: value(s, "sequence")?,
        kind: value(m, "message")?,
        agency: value(o, "originOrganizationIdentification")?,
        message: value(i, "originMessageIdentifier")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_like_php_urlencode() {
        let q = parse_query(
            "sequence:ArchiveTransfer/message:ArchiveTransferReply/originOrganizationIdentification:FR%2FAD+01/originMessageIdentifier:MSG%3A1",
        )
        .unwrap_or_else(|e| panic!("{}", e.0));
        assert_eq!(q.agency, "FR/AD 01");
        assert_eq!(q.message, "MSG:1");
        assert_eq!(q.kind, "ArchiveTransferReply");
        let raw = parse_query(
            "sequence:ArchiveTransfer/message:Acknowledgement/originOrganizationIdentification:Identifier5/originMessageIdentifier:M-1",
        )
        .unwrap_or_else(|e| panic!("{}", e.0));
        assert_eq!((raw.agency.as_str(), raw.message.as_str()), ("Identifier5", "M-1"));
        assert!(parse_query("sequence:ArchiveTransfer/message:X").is_err());
        assert!(parse_query(
            "seq:ArchiveTransfer/message:X/originOrganizationIdentification:a/originMessageIdentifier:b"
        )
        .is_err());
    }
}
