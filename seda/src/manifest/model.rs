//! The ArchiveTransfer model shared by SEDA 2.1, 2.2 and 2.3.
//!
//! Values are kept as the producer wrote them (dates, sizes, digests as text): checking them is
//! [`crate::validate`]'s job, so one malformed value yields a precise error instead of a failed
//! parse. Every element the model has no field for is kept in an `other` JSON map, so nothing
//! the producer sent is lost.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::version::SedaVersion;

/// A parsed SEDA ArchiveTransfer message (manifest.xml).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchiveTransfer {
    pub version: SedaVersion,
    pub xml_id: Option<String>,
    pub comments: Vec<LangText>,
    /// xsd:dateTime as written.
    pub date: Option<String>,
    pub message_identifier: Option<String>,
    pub archival_agreement: Option<String>,
    /// CodeListVersions children, element name -> value, as written.
    pub code_list_versions: Map<String, Value>,
    pub package: Option<DataObjectPackage>,
    pub related_transfer_references: Vec<String>,
    pub transfer_request_reply_identifier: Option<String>,
    pub archival_agency: Option<Agency>,
    pub transferring_agency: Option<Agency>,
    /// SEDA elements of the message the model has no field for (Signature, ...).
    pub other: Map<String, Value>,
    /// Elements outside Content that are not in the SEDA schema (a warning for the ATR).
    pub extensions: Vec<Extension>,
}

/// An element the SEDA schema does not define at that place, kept and reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Path of the parent, e.g. `ArchiveTransfer/DataObjectPackage/DataObjectGroup[ID16]/PhysicalDataObject[ID18]`.
    pub path: String,
    pub element: String,
    pub line: u32,
}

/// A text with its optional xml:lang.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LangText {
    pub lang: Option<String>,
    pub text: String,
}

/// ArchivalAgency, TransferringAgency and the like.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    pub identifier: Option<String>,
    pub other: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataObjectPackage {
    pub xml_id: Option<String>,
    pub groups: Vec<DataObjectGroup>,
    /// SEDA 2.1-style objects outside any DataObjectGroup element (grouped, if at all, by
    /// DataObjectGroupId / DataObjectGroupReferenceId).
    pub ungrouped: Vec<DataObject>,
    /// Top-level ArchiveUnits of DescriptiveMetadata, in document order.
    pub units: Vec<ArchiveUnit>,
    pub management: Option<ManagementMetadata>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataObjectGroup {
    pub id: String,
    pub line: u32,
    pub objects: Vec<DataObject>,
    pub other: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum DataObject {
    // Boxed: a binary object is several times the size of a physical one.
    Binary(Box<BinaryDataObject>),
    Physical(PhysicalDataObject),
}

impl DataObject {
    pub fn id(&self) -> &str {
        match self {
            DataObject::Binary(b) => &b.id,
            DataObject::Physical(p) => &p.id,
        }
    }

    pub fn line(&self) -> u32 {
        match self {
            DataObject::Binary(b) => b.line,
            DataObject::Physical(p) => p.line,
        }
    }

    pub fn group_fields(&self) -> &GroupFields {
        match self {
            DataObject::Binary(b) => &b.group,
            DataObject::Physical(p) => &p.group,
        }
    }

    pub fn as_binary(&self) -> Option<&BinaryDataObject> {
        match self {
            DataObject::Binary(b) => Some(b),
            DataObject::Physical(_) => None,
        }
    }
}

/// SEDA 2.1's in-object grouping: an object either opens a group (DataObjectGroupId) or joins
/// one opened elsewhere (DataObjectGroupReferenceId).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFields {
    pub data_object_group_id: Option<String>,
    pub data_object_group_reference_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinaryDataObject {
    pub id: String,
    pub line: u32,
    pub group: GroupFields,
    pub data_object_version: Option<String>,
    pub uri: Option<String>,
    /// The base64 content of an Attachment, as written.
    pub attachment: Option<Attachment>,
    pub message_digest: Option<MessageDigest>,
    /// xsd:nonNegativeInteger as written; see [`BinaryDataObject::size_bytes`].
    pub size: Option<String>,
    pub format: Option<FormatIdentification>,
    pub file_info: Option<FileInfo>,
    pub other: Map<String, Value>,
}

impl BinaryDataObject {
    /// The declared size when it is a valid non-negative integer.
    pub fn size_bytes(&self) -> Option<u64> {
        let s = self.size.as_deref()?.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: Option<String>,
    pub base64: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDigest {
    /// The algorithm attribute as written ("SHA-512", an XML-DSig URI, ...).
    pub algorithm: Option<String>,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatIdentification {
    pub format_litteral: Option<String>,
    pub mime_type: Option<String>,
    pub format_id: Option<String>,
    pub encoding: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub filename: Option<String>,
    pub creating_application_name: Option<String>,
    pub creating_application_version: Option<String>,
    pub date_created_by_application: Option<String>,
    pub creating_os: Option<String>,
    pub creating_os_version: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhysicalDataObject {
    pub id: String,
    pub line: u32,
    pub group: GroupFields,
    pub data_object_version: Option<String>,
    pub physical_id: Option<String>,
    /// The measurements of PhysicalDimensions, in document order (also kept in `other`).
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    /// PhysicalDimensions and the rest, as JSON.
    pub other: Map<String, Value>,
}

/// One measurement of a PhysicalDimensions (`Width`, `Weight`, `NumberOfPage`, …) as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimension {
    pub name: String,
    pub value: String,
    /// The `unit` attribute of measured dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One ArchiveUnit: either a full description or a link (ArchiveUnitRefId) to a unit described
/// elsewhere in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchiveUnit {
    pub id: String,
    pub line: u32,
    pub archive_unit_ref_id: Option<String>,
    pub archive_unit_profile: Option<String>,
    pub management: Option<Management>,
    pub content: Option<Content>,
    pub children: Vec<ArchiveUnit>,
    pub data_object_references: Vec<DataObjectReference>,
    pub other: Map<String, Value>,
}

impl ArchiveUnit {
    /// This unit and every nested unit, depth first in document order.
    pub fn walk(&self) -> Vec<&ArchiveUnit> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(u) = stack.pop() {
            out.push(u);
            stack.extend(u.children.iter().rev());
        }
        out
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataObjectReference {
    pub line: u32,
    pub data_object_reference_id: Option<String>,
    pub data_object_group_reference_id: Option<String>,
}

/// The rule categories of SEDA (HoldRule exists from 2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RuleCategory {
    Storage,
    Appraisal,
    Access,
    Dissemination,
    Reuse,
    Classification,
    Hold,
}

impl RuleCategory {
    pub const ALL: [RuleCategory; 7] = [
        RuleCategory::Storage,
        RuleCategory::Appraisal,
        RuleCategory::Access,
        RuleCategory::Dissemination,
        RuleCategory::Reuse,
        RuleCategory::Classification,
        RuleCategory::Hold,
    ];

    /// The element name, e.g. "AccessRule".
    pub fn element(self) -> &'static str {
        match self {
            RuleCategory::Storage => "StorageRule",
            RuleCategory::Appraisal => "AppraisalRule",
            RuleCategory::Access => "AccessRule",
            RuleCategory::Dissemination => "DisseminationRule",
            RuleCategory::Reuse => "ReuseRule",
            RuleCategory::Classification => "ClassificationRule",
            RuleCategory::Hold => "HoldRule",
        }
    }

    pub fn from_element(name: &str) -> Option<RuleCategory> {
        RuleCategory::ALL.into_iter().find(|c| c.element() == name)
    }
}

/// The management rules of a unit, or the defaults of ManagementMetadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Management {
    pub rules: Vec<RuleBlock>,
    pub need_authorization: Option<bool>,
    /// LogBook, UpdateOperation and the rest, as JSON.
    pub other: Map<String, Value>,
}

impl Management {
    pub fn rule(&self, category: RuleCategory) -> Option<&RuleBlock> {
        self.rules.iter().find(|r| r.category == category)
    }
}

/// One rule category element (AccessRule, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleBlock {
    pub category: RuleCategory,
    pub rules: Vec<Rule>,
    pub prevent_inheritance: Option<bool>,
    pub ref_non_rule_ids: Vec<String>,
    pub final_action: Option<String>,
    /// Elements the model has no field for, as JSON.
    pub other: Map<String, Value>,
    /// ClassificationRule's attributes, as written.
    #[serde(default)]
    pub classification: ClassificationFields,
    /// Line of the category element, for error messages.
    #[serde(default)]
    pub line: u32,
}

/// ClassificationRule's attributes besides its rules, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassificationFields {
    pub audience: Option<String>,
    pub level: Option<String>,
    pub owner: Option<String>,
    /// xsd:date as written.
    pub reassessing_date: Option<String>,
    /// xsd:boolean as written.
    pub need_reassessing_authorization: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub rule_id: String,
    /// xsd:date as written.
    pub start_date: Option<String>,
    /// Elements the model has no field for, as JSON.
    pub other: Map<String, Value>,
    /// HoldRule's fields (SEDA 2.2+), as written.
    #[serde(default)]
    pub hold: HoldFields,
    /// Line of the Rule element, for error messages.
    #[serde(default)]
    pub line: u32,
}

/// The fields a HoldRule's Rule may carry, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldFields {
    /// xsd:date as written.
    pub end_date: Option<String>,
    pub owner: Option<String>,
    /// xsd:date as written.
    pub reassessing_date: Option<String>,
    pub reason: Option<String>,
    /// xsd:boolean as written.
    pub prevent_rearrangement: Option<String>,
}

/// An ArchiveUnit's Content. The typed fields are copies of the common elements; `raw` holds
/// every child of Content (extensions included) as JSON, for indexing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub description_level: Option<String>,
    pub titles: Vec<LangText>,
    pub descriptions: Vec<LangText>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub created_date: Option<String>,
    pub transacted_date: Option<String>,
    pub acquired_date: Option<String>,
    pub sent_date: Option<String>,
    pub received_date: Option<String>,
    pub registered_date: Option<String>,
    pub originating_agency_archive_unit_identifiers: Vec<String>,
    pub keywords: Vec<Keyword>,
    /// Element name -> string, array or object: the whole of Content, losslessly.
    pub raw: Value,
}

impl Content {
    /// The first title, whatever its language.
    pub fn title(&self) -> Option<&str> {
        self.titles.first().map(|t| t.text.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyword {
    pub content: Option<String>,
    pub reference: Option<String>,
    pub keyword_type: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagementMetadata {
    pub archival_profile: Option<String>,
    pub service_level: Option<String>,
    pub acquisition_information: Option<String>,
    pub legal_status: Option<String>,
    pub originating_agency_identifier: Option<String>,
    pub submission_agency_identifier: Option<String>,
    /// Default rules for every unit of the transfer.
    pub rules: Management,
}

impl ArchiveTransfer {
    /// Every data object with the id of the group it belongs to (its DataObjectGroup, or for
    /// ungrouped 2.1 objects the group it opens or joins).
    pub fn data_objects(&self) -> Vec<(&DataObject, Option<&str>)> {
        let Some(pkg) = &self.package else {
            return Vec::new();
        };
        let grouped = pkg
            .groups
            .iter()
            .flat_map(|g| g.objects.iter().map(move |o| (o, Some(g.id.as_str()))));
        let loose = pkg.ungrouped.iter().map(|o| {
            let g = o.group_fields();
            let id = g
                .data_object_group_id
                .as_deref()
                .or(g.data_object_group_reference_id.as_deref());
            (o, id)
        });
        grouped.chain(loose).collect()
    }

    /// Every BinaryDataObject with its group id.
    pub fn binary_objects(&self) -> Vec<(&BinaryDataObject, Option<&str>)> {
        self.data_objects()
            .into_iter()
            .filter_map(|(o, g)| o.as_binary().map(|b| (b, g)))
            .collect()
    }

    /// Every ArchiveUnit, nested ones included, depth first in document order.
    pub fn all_units(&self) -> Vec<&ArchiveUnit> {
        self.package
            .iter()
            .flat_map(|p| p.units.iter())
            .flat_map(ArchiveUnit::walk)
            .collect()
    }
}
