//! The archive's records. Referentials are versioned: every change writes a new version and the
//! history stays readable.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ArchiveError, Result};

/// Tenant and referential identifiers: short, lowercase, safe in keys, paths and namespaces.
pub fn check_id(kind: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(ArchiveError::Invalid(format!(
            "{kind} id `{}` is invalid: use 1-64 ASCII letters, digits, '-', '_' or '.', not starting with '.' or '-'",
            id.escape_default()
        )))
    }
}

/// Tenant ids are stricter: lowercase, as they name namespaces and logbooks.
pub fn check_tenant_id(id: &str) -> Result<()> {
    check_id("tenant", id)?;
    if id.bytes().any(|b| b.is_ascii_uppercase() || b == b'.') || id.starts_with('_') {
        return Err(ArchiveError::Invalid(format!(
            "tenant id `{id}` is invalid: use lowercase letters, digits, '-' or '_', not starting with '_' or '-'"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// The archival agency's identifier (service d'archives), as it appears in SEDA messages.
    pub archival_agency: String,
    /// The object-store namespace holding this tenant's AIPs.
    pub namespace: String,
    pub created_at: DateTime<Utc>,
}

/// A transferring agency (service versant) registered under a tenant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Agency {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Warn,
    Reject,
}

/// An archival agreement (contrat d'entrée).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Agreement {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// Agencies allowed to transfer under this agreement; empty means none.
    pub transferring_agencies: Vec<String>,
    pub profile: Option<String>,
    /// Allowed PUIDs; empty means any.
    #[serde(default)]
    pub allowed_formats: Vec<String>,
    /// What an identified format that differs from the declared one means.
    #[serde(default)]
    pub format_mismatch: Severity,
    /// What a file whose format cannot be identified means.
    #[serde(default)]
    pub unidentified_format: Severity,
    /// What a file whose format the agreement or its profile does not list means: rejected,
    /// unless the agreement says warn (as a flow installed with `on_format_mismatch = "warn"`
    /// does, so build-sip and ingest agree).
    #[serde(default = "reject")]
    pub disallowed_format: Severity,
    /// The pilot flow this agreement is for, if any (used by search).
    #[serde(default)]
    pub flow: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    pub updated_at: DateTime<Utc>,
    /// A RELAX NG grammar every manifest under this agreement must match (beside its profile's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rng: Option<String>,
}

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn reject() -> Severity {
    Severity::Reject
}

/// An archival profile: what a transfer under it must describe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// Content fields every top-level unit must carry (e.g. `Title`, `StartDate`).
    #[serde(default)]
    pub required_fields: Vec<String>,
    /// Allowed PUIDs in addition to the agreement's restriction; empty means any.
    #[serde(default)]
    pub allowed_formats: Vec<String>,
    /// A RELAX NG grammar (as SHERPA or as@lae export it) every manifest under this profile
    /// must match (`ingest::rng`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rng: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Measurement {
    #[serde(alias = "year", alias = "YEAR")]
    Year,
    #[serde(alias = "month", alias = "MONTH")]
    Month,
    #[serde(alias = "day", alias = "DAY")]
    Day,
}

impl Measurement {
    /// Reads a measurement whatever its case (`YEAR`, `Year`, `year`), as Vitam's files vary.
    pub fn parse(s: &str) -> Option<Measurement> {
        [
            ("year", Measurement::Year),
            ("month", Measurement::Month),
            ("day", Measurement::Day),
        ]
        .into_iter()
        .find(|(name, _)| s.trim().eq_ignore_ascii_case(name))
        .map(|(_, m)| m)
    }
}

/// What a rule without a duration means.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoDuration {
    /// The rule never ends (`unlimited` in the CSV). Records older than this field meant it.
    #[default]
    Unlimited,
    /// The duration is not set (an empty cell, HoldRule only): a hold then ends at its
    /// HoldEndDate, or when lifted.
    Undefined,
}

/// A management rule of the tenant's referential.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rule {
    pub id: String,
    /// SEDA category: AppraisalRule, AccessRule, StorageRule, DisseminationRule, ReuseRule,
    /// ClassificationRule or HoldRule.
    pub rule_type: String,
    pub value: String,
    #[serde(default)]
    pub description: String,
    /// None: no duration, see `no_duration`.
    pub duration: Option<u32>,
    pub measurement: Measurement,
    /// Whether a missing duration means unlimited or undefined.
    #[serde(default)]
    pub no_duration: NoDuration,
    /// Version of this rule in the referential (1 at its first import).
    #[serde(default)]
    pub version: u32,
}

/// The SEDA rule categories. The search index codes a category by its place here
/// (`search/rules.rs`): add new ones at the end, or bump `search::schema::SCHEMA_VERSION`.
pub const RULE_TYPES: [&str; 7] = [
    "AppraisalRule",
    "AccessRule",
    "StorageRule",
    "DisseminationRule",
    "ReuseRule",
    "ClassificationRule",
    "HoldRule",
];

impl Rule {
    /// The end of the rule's period starting at `start`; None when unlimited or out of range.
    pub fn end_date(&self, start: NaiveDate) -> Option<NaiveDate> {
        let n = self.duration?;
        match self.measurement {
            Measurement::Year => start.checked_add_months(chrono::Months::new(n.checked_mul(12)?)),
            Measurement::Month => start.checked_add_months(chrono::Months::new(n)),
            Measurement::Day => start.checked_add_days(chrono::Days::new(u64::from(n))),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum TransferStatus {
    Received,
    Running,
    Ok,
    Warning,
    Ko,
}

impl TransferStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Ok | Self::Warning | Self::Ko)
    }
}

/// Why a transfer was rejected or warned about: which step, which element or object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reason {
    pub step: String,
    /// The element, object or entry at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub message: String,
}

/// One ingest step as it ran, for the status and the logbook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub name: String,
    /// OK, WARNING or KO.
    pub outcome: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transfer {
    pub id: String,
    pub tenant: String,
    pub status: TransferStatus,
    /// The step running now, or the last one run.
    pub step: String,
    pub submitted_by: String,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub size: u64,
    pub seda_version: Option<String>,
    pub message_identifier: Option<String>,
    #[serde(default)]
    pub transferring_agency: Option<String>,
    pub agreement: Option<String>,
    pub aip_id: Option<String>,
    pub units: usize,
    pub objects: usize,
    pub errors: Vec<Reason>,
    pub warnings: Vec<Reason>,
    /// Object key of the ArchiveTransferReply in the tenant's namespace.
    pub atr_key: Option<String>,
    /// Object key of the Acknowledgement sent once the manifest was read.
    #[serde(default)]
    pub ack_key: Option<String>,
    /// Last sign of life of the front running it: a stale one was interrupted.
    pub heartbeat: DateTime<Utc>,
    /// The steps run so far.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// This transfer resent a message an earlier transfer holds (same agency, MessageIdentifier
    /// and manifest): it stored nothing, and its status and reply are that transfer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resend_of: Option<String>,
    /// An AIP whose catalog commit had an unknown outcome when this transfer ended KO: a
    /// reindex decides whether it is visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertain_aip: Option<String>,
}

/// One stored binary object of a unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectRecord {
    /// Archipel's id.
    pub id: String,
    /// The id the SIP gave it.
    pub sip_id: String,
    pub group_id: Option<String>,
    pub version: Option<String>,
    pub filename: Option<String>,
    pub size: u64,
    /// SHA-512 computed at ingest (the AIP's own fixity reference).
    pub sha512: String,
    /// BLAKE3 of the same bytes, hex, computed in the same pass as `sha512`; absent on records
    /// older than it. A DIP checks what it sends against this one: as strong, and several times
    /// cheaper to recompute (docs/archive.md, "Access and communication").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    pub declared_algorithm: String,
    pub declared_digest: String,
    pub puid: Option<String>,
    pub format_name: Option<String>,
    pub mime: Option<String>,
    pub declared_puid: Option<String>,
    /// Object key in the tenant's namespace: the file itself, or the tar pack holding it.
    pub key: String,
    /// Where the file's bytes start in the pack `key` (`size` bytes long); absent when `key` is
    /// the file alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_offset: Option<u64>,
    /// Archipel's id of the object's DataObjectGroup, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_system_id: Option<String>,
}

/// A PhysicalDataObject of a unit (a paper original, a box…): described, not stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PhysicalObjectRecord {
    /// Archipel's id.
    pub id: String,
    /// The id the SIP gave it.
    pub sip_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_system_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its external identifier (a barcode, a shelf mark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    /// PhysicalDimensions, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<archipel_seda::manifest::Dimension>,
}

/// A management rule as applied to a unit, with its computed end.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppliedRule {
    pub category: String,
    pub rule_id: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_action: Option<String>,
    /// Comes from a parent unit rather than the unit itself.
    #[serde(default)]
    pub inherited: bool,
    /// How `end_date` was obtained (absent on records written before end kinds existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_kind: Option<EndKind>,
    /// The unit that declares the rule (system id): the unit itself for its own rules. One
    /// entry per origin, as Vitam lists inherited rules.
    #[serde(default)]
    pub unit_ids: Vec<String>,
    /// The same origin by the id the SIP gave it.
    #[serde(default)]
    pub sip_unit_ids: Vec<String>,
    /// Every path from this unit up to the origin (system ids, this unit first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<Vec<String>>,
    /// More paths lead to the origin than are listed (a hostile DAG can have exponentially many).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paths_truncated: bool,
    /// HoldRule's attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldAttributes>,
}

/// How a rule's end date was obtained.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// StartDate plus the referential's duration.
    Computed,
    /// A HoldRule whose referential rule has no duration ends at its HoldEndDate.
    HoldEndDate,
    /// The referential rule is unlimited: no end.
    Unlimited,
    /// The rule has a duration but no StartDate: its end cannot be known yet.
    Unknown,
    /// A HoldRule with neither duration nor HoldEndDate: in force until lifted.
    Indefinite,
}

/// A HoldRule's attributes (SEDA 2.2+).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HoldAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_end_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_reassessing_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prevent_rearrangement: Option<bool>,
}

/// What a unit declares for one rule category besides its rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CategoryDeclaration {
    /// AccessRule, AppraisalRule, ...
    pub category: String,
    #[serde(default)]
    pub prevent_inheritance: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ref_non_rule_ids: Vec<String>,
    /// FinalAction and ClassificationRule's attributes, by SEDA element name.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// A category attribute (FinalAction, ClassificationLevel, ...) or a global one
/// (NeedAuthorization) as it applies to a unit, with where it comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppliedProperty {
    /// The rule category, or None for NeedAuthorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub name: String,
    pub value: serde_json::Value,
    pub unit_ids: Vec<String>,
    pub sip_unit_ids: Vec<String>,
    #[serde(default)]
    pub paths: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paths_truncated: bool,
    /// Not written anywhere: Vitam's default (FinalAction Keep for AppraisalRule).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implicit: bool,
}

/// A catalog record: one archive unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnitRecord {
    pub id: String,
    pub sip_id: String,
    pub tenant: String,
    pub aip_id: String,
    pub transfer_id: String,
    pub parent_id: Option<String>,
    pub flow: Option<String>,
    pub agreement: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub level: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub originating_agency: Option<String>,
    pub keywords: Vec<String>,
    /// The rules in force on the unit (Vitam's inherited rules view): its own and those it
    /// inherits along every parent path, each with its origin.
    pub rules: Vec<AppliedRule>,
    pub objects: Vec<ObjectRecord>,
    /// Its PhysicalDataObjects (records written before they were kept have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub physical_objects: Vec<PhysicalObjectRecord>,
    /// Every descriptive element, losslessly.
    pub content: serde_json::Value,
    pub ingested_at: DateTime<Utc>,
    /// Every parent in the SIP (system ids); `parent_id` is the first.
    #[serde(default)]
    pub parent_ids: Vec<String>,
    /// The rules the unit declares itself (ManagementMetadata's merged in for a root unit).
    #[serde(default)]
    pub own_rules: Vec<AppliedRule>,
    /// PreventInheritance, RefNonRuleId and category attributes the unit declares itself.
    #[serde(default)]
    pub categories: Vec<CategoryDeclaration>,
    /// Category attributes and NeedAuthorization in force, with their origins.
    #[serde(default)]
    pub properties: Vec<AppliedProperty>,
    /// The unit's own NeedAuthorization (ManagementMetadata's for a root unit without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_authorization: Option<bool>,
    /// Management/LogBook, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logbook: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_unit_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquisition_information: Option<String>,
    /// Version of the tenant's rules referential the end dates were computed with (the
    /// greatest version among the rules used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_version: Option<u32>,
    /// Version of the agreement (contrat d'entrée) the unit was accepted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_version: Option<u32>,
    /// The archival profile the unit was checked against, and its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_version: Option<u32>,
}

/// What makes an AIP self-describing: stored beside its objects, enough to rebuild the catalog.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AipDescriptor {
    pub format: String,
    pub aip_id: String,
    pub tenant: String,
    pub transfer_id: String,
    pub seda_version: String,
    pub message_identifier: String,
    pub agreement: Option<String>,
    pub transferring_agency: String,
    pub archival_agency: String,
    pub created_at: DateTime<Utc>,
    /// Key and SHA-512 of the original manifest.
    pub manifest_key: String,
    pub manifest_sha512: String,
    pub units: Vec<UnitRecord>,
}

pub const AIP_FORMAT: &str = "archipel-aip/1";
