//! Doors: the partners' own tools talking to Archipel unchanged (docs/connectors.md).
//!
//! - `asalae`: Pastell's "as@lae REST" connector, under `/asalae` on the archive front.
//! - `vitam`: Vitam's ingest-external and admin-external operations, on a mutual-TLS listener of
//!   its own.
//!
//! A door is a thin adapter: it authenticates the way its client expects, turns what it
//! receives into a SIP zip (`package`) and hands it to [`crate::ingest::submit`], then answers
//! from the transfer record and the replies ingest stored. There is no second ingest pipeline:
//! every check, the idempotence by (TransferringAgency, MessageIdentifier), the ATR and the
//! logbook are ingest's own. The tenant always comes from the credential.

pub mod asalae;
pub mod package;
pub mod vitam;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::Transfer;
use crate::service::Archive;
use package::{PackageError, PackageLimits};

/// Files one door archive may hold.
const MAX_ENTRIES: usize = 100_000;

/// The last transfer a door received for a (TransferringAgency, MessageIdentifier) pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoorMessage {
    pub transfer_id: String,
    pub at: DateTime<Utc>,
}

impl From<PackageError> for ArchiveError {
    fn from(e: PackageError) -> Self {
        match e {
            PackageError::TooLarge(_) | PackageError::TooManyEntries(_) => ArchiveError::TooLarge(e.to_string()),
            PackageError::Write(_) => ArchiveError::Internal(e.to_string()),
            _ => ArchiveError::Invalid(e.to_string()),
        }
    }
}

/// Builds the SIP zip from a bordereau and/or an archive, then submits it to ingest. The spool
/// files are removed whatever happens (the zip once ingest is done with it).
pub(crate) async fn submit(
    a: &Arc<Archive>,
    who: &Principal,
    tenant: &str,
    manifest: Option<Vec<u8>>,
    archive: Option<PathBuf>,
) -> Result<Transfer> {
    let spool = tempfile::Builder::new()
        .prefix("door-sip-")
        .suffix(".zip")
        .tempfile_in(&a.config.spool_dir)
        .map_err(|e| ArchiveError::Internal(format!("cannot create a spool file: {e}")))?
        .into_temp_path();
    let limits = PackageLimits {
        max_bytes: a.config.max_sip_bytes,
        max_entries: MAX_ENTRIES,
    };
    let out = spool.to_path_buf();
    tokio::task::spawn_blocking(move || package::zip_from_tar(archive.as_deref(), manifest.as_deref(), &out, &limits))
        .await
        .map_err(|e| ArchiveError::Internal(format!("packing the SIP failed: {e}")))??;
    let size = std::fs::metadata(&spool)
        .map_err(|e| ArchiveError::Internal(format!("the packed SIP vanished: {e}")))?
        .len();
    crate::ingest::submit(a, who, tenant, spool, size).await
}

/// Remembers that `door` received `transfer` for `agency`'s `message`.
pub(crate) async fn remember(
    a: &Archive,
    door: &str,
    tenant: &str,
    agency: &str,
    message: &str,
    transfer: &str,
) -> Result<()> {
    let record = DoorMessage {
        transfer_id: transfer.into(),
        at: Utc::now(),
    };
    a.store
        .put(&keys::door_message(tenant, door, agency, message), &record)
        .await
}

/// The transfer a door answers for `agency`'s `message`: the last one it received, or else the
/// one holding the pair (sent through the REST API, for instance).
pub(crate) async fn find(a: &Archive, door: &str, tenant: &str, agency: &str, message: &str) -> Result<Transfer> {
    if let Some(rec) = a
        .store
        .get::<DoorMessage>(&keys::door_message(tenant, door, agency, message))
        .await?
    {
        return crate::ingest::transfer(a, tenant, &rec.value.transfer_id).await;
    }
    crate::ingest::message::by_message(a, tenant, agency, message).await
}

/// Reads a stored reply (ATR or Acknowledgement) of `tenant`.
pub(crate) async fn read_reply(a: &Archive, tenant: &str, key: &str) -> Result<Vec<u8>> {
    let mut xml = Vec::new();
    a.store
        .client()
        .get_object(&keys::object_namespace(tenant), key, 0, None, &mut xml, None)
        .await?;
    Ok(xml)
}

/// The transfer that already holds `agency`'s `message` with this very manifest and did not end
/// KO: a resend (Pastell retries) is answered with it, and nothing new is stored.
pub(crate) async fn earlier(
    a: &Archive,
    tenant: &str,
    agency: &str,
    message: &str,
    manifest: &[u8],
) -> Result<Option<Transfer>> {
    use crate::ingest::message::{manifest_digest, MessageClaim};
    let Some(held) = a
        .store
        .get::<MessageClaim>(&keys::transfer_message(tenant, agency, message))
        .await?
    else {
        return Ok(None);
    };
    if held.value.manifest_sha512 != manifest_digest(manifest) {
        // Another manifest under the same identifier: ingest refuses it with a KO saying why.
        return Ok(None);
    }
    match crate::ingest::transfer(a, tenant, &held.value.transfer_id).await {
        Ok(t) if t.status != crate::model::TransferStatus::Ko => Ok(Some(t)),
        Ok(_) | Err(ArchiveError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `GET /v1/tenants/{tenant}/doors`: what a partner's administrator types in a connector form
/// for this tenant (its Vitam tenant number is given on first ask).
pub async fn info(
    axum::extract::State(a): axum::extract::State<Arc<Archive>>,
    crate::api::Caller(who): crate::api::Caller,
    axum::extract::Path(tenant): axum::extract::Path<String>,
) -> crate::api::ApiResult<axum::Json<serde_json::Value>> {
    use crate::auth::Role::{Archivist, Operator, TransferringAgency};
    a.authorize(&who, &tenant, &[TransferringAgency, Archivist, Operator])
        .await?;
    let number = vitam::tenant_number(&a, &tenant).await?;
    Ok(axum::Json(serde_json::json!({
        "tenant": tenant,
        "asalae_path": "/asalae",
        "vitam_tenant": number,
    })))
}
