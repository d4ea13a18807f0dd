//! What a transfer reply says, independent of XML.

use chrono::{DateTime, Utc};

use super::SedaVersion;

/// The overall verdict on a transfer, written as `ReplyCode` and as each event's `Outcome`.
///
/// The codes are those Vitam and as@lae use with `ReplyCodeListVersion`: `OK`, `WARNING`, `KO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyCode {
    /// Accepted as is.
    Ok,
    /// Accepted, with remarks listed in the events.
    Warning,
    /// Rejected; the events say why.
    Ko,
}

impl ReplyCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyCode::Ok => "OK",
            ReplyCode::Warning => "WARNING",
            ReplyCode::Ko => "KO",
        }
    }
}

/// What an event is about, so the transferring agency can find it in its SIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSubject {
    /// A data object, by the `id` the SIP gave it.
    DataObject(String),
    /// An archive unit, by the `id` the SIP gave it.
    ArchiveUnit(String),
    /// A manifest element, by its path (e.g. `/ArchiveTransfer/ArchivalAgreement`).
    Element(String),
    /// A zip entry of the SIP, by its name.
    SipEntry(String),
}

/// One step of the transfer's processing, typically one per failed check or object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyEvent {
    /// A stable code for the step, e.g. `CHECK_DIGEST`; written as `EventTypeCode`.
    pub event_type: String,
    pub outcome: ReplyCode,
    /// What happened and what to do, for a person; written as `OutcomeDetailMessage`.
    pub detail: String,
    pub subject: Option<EventSubject>,
    pub date: DateTime<Utc>,
}

/// The format Archipel identified for a data object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormatIdentified {
    /// PRONOM identifier, e.g. `fmt/354`.
    pub puid: Option<String>,
    /// Format name, e.g. `Acrobat PDF/A - Portable Document Format`.
    pub name: Option<String>,
    pub mime: Option<String>,
}

/// A digest of a data object as Archipel computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyDigest {
    /// The SEDA algorithm code, e.g. `SHA-512`.
    pub algorithm: String,
    /// Hexadecimal (or base64) digest value.
    pub value: String,
}

/// A data object of the SIP, as archived: binary, or physical when `physical` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyObject {
    /// The `id` the SIP gave the object.
    pub data_object_id: String,
    /// Archipel's identifier for the archived object.
    pub system_id: String,
    pub format: Option<FormatIdentified>,
    pub digest: Option<ReplyDigest>,
    /// Size in bytes; SEDA's `Size` must be positive, so 0 is not written.
    pub size: Option<u64>,
    /// The object's DataObjectGroup: objects of one group are written inside it.
    pub group: Option<ReplyGroup>,
    /// DataObjectVersion as the SIP wrote it (`BinaryMaster_1`, …).
    pub version: Option<String>,
    /// Set for a PhysicalDataObject (which has no digest, size or format).
    pub physical: Option<ReplyPhysical>,
}

/// A DataObjectGroup of the SIP, as archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyGroup {
    /// The `id` the SIP gave the group.
    pub group_id: String,
    /// Archipel's identifier for the group, written as each member's `DataObjectGroupSystemId`.
    pub system_id: String,
}

/// What a PhysicalDataObject's reply carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplyPhysical {
    pub physical_id: Option<String>,
    /// (element, value, unit) as the SIP wrote them; those the schema would refuse are left out.
    pub dimensions: Vec<(String, String, Option<String>)>,
}

/// An archive unit of the SIP, as archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyUnit {
    /// The `id` the SIP gave the unit.
    pub unit_id: String,
    /// Archipel's identifier for the archived unit.
    pub system_id: String,
}

/// An ArchiveTransferReply: Archipel's answer to an ArchiveTransfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReply {
    /// The SEDA version of the transfer; the reply is written in the same one.
    pub version: SedaVersion,
    /// This reply's own identifier.
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub reply_code: ReplyCode,
    /// The transfer's `MessageIdentifier`; `None` (or blank) when the manifest could not be
    /// read, and [`super::UNKNOWN_REQUEST_IDENTIFIER`] is written instead.
    pub message_request_identifier: Option<String>,
    /// When Archipel took charge of the archives; usually only for an accepted transfer.
    pub grant_date: Option<DateTime<Utc>>,
    /// Identifier of the archival agency answering (Archipel's tenant). Required.
    pub archival_agency: String,
    /// Identifier of the transferring agency; when the manifest is unreadable, the
    /// authenticated sender. Required.
    pub transferring_agency: String,
    pub archival_agreement: Option<String>,
    pub comments: Vec<String>,
    /// The reasons, one per failed (or notable) step or object.
    pub events: Vec<ReplyEvent>,
    pub objects: Vec<ReplyObject>,
    pub units: Vec<ReplyUnit>,
}
