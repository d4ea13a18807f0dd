//! Communication requests and their DIPs, with the derogation workflow of the Code du
//! patrimoine (L213-3).
//!
//! A request (`submit`) names units (by id, by search, or in an ArchiveDeliveryRequest). When
//! every unit is communicable to the caller, a DIP is built at once (`dip`); when some are not
//! and the request asks for a derogation, the request waits for the originating agency, then
//! the control authority (`derogation`), each asked with its SEDA authorisation message and
//! answering with the matching reply. Only with both approvals is the DIP built, for that
//! requester only. Every step is in the tenant's logbook.

pub mod derogation;
mod digests;
pub mod dip;
mod dip_read;
pub mod dip_zip;
pub mod download;
pub mod plans;
pub mod resume;
pub mod submit;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use archipel_seda::authorization::{AuthorityKind, AuthorizationDecision};

use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::service::Archive;
use crate::store::{Expect, Write};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for the originating agency's consent to a derogation.
    PendingOriginatingAgency,
    /// Waiting for the control authority's decision on a derogation.
    PendingControlAuthority,
    /// A derogation was refused: nothing is built.
    Refused,
    /// The DIP is being built.
    Building,
    /// The DIP can be downloaded until `expires_at`.
    Ready,
    /// The build failed (`error` says why); nothing is downloadable.
    Failed,
    /// The DIP was downloadable and no longer is.
    Expired,
}

/// A unit that was not communicable to the requester when asked for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Restricted {
    pub unit: String,
    pub originating_agency: Option<String>,
    pub reason: String,
}

/// One authority's part in a derogation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthorizationStep {
    pub authority: AuthorityKind,
    /// The authority's identifier in the SEDA messages.
    pub authority_id: String,
    /// The units it is asked about.
    pub units: Vec<String>,
    /// `MessageIdentifier` of the request sent to it, and where the message is stored.
    pub request_message_id: String,
    pub request_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<AuthorizationDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    pub objects_total: u64,
    pub objects_done: u64,
    pub bytes_total: u64,
    pub bytes_done: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub tenant: String,
    /// The token that asked: the only one that may download the DIP.
    pub requested_by: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_contract: Option<String>,
    /// The requester's identifier in SEDA messages (`Requester/Identifier`).
    pub requester: String,
    /// The request's `MessageIdentifier` (the delivery id for a JSON request).
    pub message_identifier: String,
    pub seda_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub derogation: bool,
    pub units: Vec<String>,
    /// Units not communicable when asked for, and why: what the derogation is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restricted: Vec<Restricted>,
    pub status: DeliveryStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizations: Vec<AuthorizationStep>,
    #[serde(default)]
    pub progress: Progress,
    /// Which build of the DIP owns the record: a build whose front stopped is taken over by
    /// another front (`resume`) under the next number, and the old one may no longer write.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_key: Option<String>,
    /// Where the DIP's plan is ([`dip_zip::DipPlan`]): its zip is written at each download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dip_plan: Option<String>,
    /// A DIP stored whole, as versions before streamed DIPs built them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dip_key: Option<String>,
    /// The zip's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dip_size: Option<u64>,
    /// The SHA-512 of a DIP stored whole (a streamed one's objects are each checked instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dip_sha512: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Delivery {
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status,
            DeliveryStatus::PendingOriginatingAgency | DeliveryStatus::PendingControlAuthority
        )
    }
}

/// Loads a delivery; another tenant's looks like none.
pub async fn load(a: &Archive, tenant: &str, id: &str) -> Result<crate::store::Versioned<Delivery>> {
    crate::model::check_id("delivery", id).map_err(|_| ArchiveError::NotFound(format!("delivery `{id}`")))?;
    a.store
        .get::<Delivery>(&keys::delivery(tenant, id))
        .await?
        .ok_or_else(|| ArchiveError::NotFound(format!("delivery `{id}`")))
}

/// Writes `d` if its record is still at `revision`; `false` when someone changed it meanwhile.
pub async fn save_if(a: &Archive, d: &Delivery, revision: u64, extra: Vec<Write>) -> Result<bool> {
    let key = keys::delivery(&d.tenant, &d.id);
    let mut writes = vec![Write::put(key.clone(), d)?];
    writes.extend(extra);
    a.store.atomically(&[Expect::Revision(key, revision)], writes).await
}

pub async fn list(a: &Archive, tenant: &str) -> Result<Vec<Delivery>> {
    Ok(a.store
        .scan(&keys::deliveries(tenant))
        .await?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}

/// Stores a SEDA message of a delivery in the tenant's namespace; returns its key.
pub async fn store_message(a: &Archive, tenant: &str, delivery: &str, name: &str, xml: &[u8]) -> Result<String> {
    let key = keys::delivery_message(delivery, name);
    a.store
        .client()
        .put_object(&keys::object_namespace(tenant), &key, xml, Some(xml.len() as u64), None)
        .await?;
    Ok(key)
}

/// A new delivery id: 16 hex characters.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}
