//! The flow definition format (see `docs/flows.md`): what the TOML files in `archive/flows/`
//! deserialize into. Unknown keys are rejected everywhere; templates and element paths are parsed
//! while deserializing, so their errors carry the key and line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::path::FieldPath;
use super::template::Template;

/// One flow: which payloads it accepts, what it extracts from them and how it describes them in
/// SEDA.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDefinition {
    /// Short stable identifier: lower-case letters, digits and '-'.
    pub id: String,
    pub name: String,
    pub description: String,
    /// The SEDA version of the manifests this flow emits.
    #[serde(default)]
    pub seda_version: SedaVersion,
    /// The kinds of main payloads (at least one), each recognised by its root element.
    #[serde(rename = "document")]
    pub documents: Vec<DocumentKind>,
    /// Rules for every unit of the flow, unless a document or attachment overrides them.
    #[serde(default)]
    pub rules: Rules,
    pub profile: Profile,
    pub agreement: AgreementTemplate,
}

/// A SEDA 2.x version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum SedaVersion {
    #[serde(rename = "2.1")]
    V2_1,
    #[default]
    #[serde(rename = "2.2")]
    V2_2,
    #[serde(rename = "2.3")]
    V2_3,
}

impl SedaVersion {
    pub fn as_str(&self) -> &'static str {
        match self {
            SedaVersion::V2_1 => "2.1",
            SedaVersion::V2_2 => "2.2",
            SedaVersion::V2_3 => "2.3",
        }
    }

    /// The XML namespace of the version's messages.
    pub fn namespace(&self) -> &'static str {
        match self {
            SedaVersion::V2_1 => "fr:gouv:culture:archivesdefrance:seda:v2.1",
            SedaVersion::V2_2 => "fr:gouv:culture:archivesdefrance:seda:v2.2",
            SedaVersion::V2_3 => "fr:gouv:culture:archivesdefrance:seda:v2.3",
        }
    }
}

/// A kind of main payload: how to recognise it, what to read from it, how to describe it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentKind {
    /// Identifier of the kind inside the flow, e.g. `pes-aller`.
    pub kind: String,
    /// What the kind is, for people.
    pub label: String,
    /// Local name of the root element.
    pub root: String,
    /// Namespace URI of the root element; empty for none.
    #[serde(default)]
    pub namespace: String,
    /// Metadata read from the payload, by field name.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
    /// DescriptionLevel of the unit of one payload group.
    #[serde(default = "Level::file")]
    pub level: Level,
    pub title: Template,
    #[serde(default)]
    pub description: Option<Template>,
    #[serde(default)]
    pub document_type: Option<Template>,
    /// Written as OriginatingAgencyArchiveUnitIdentifier.
    #[serde(default)]
    pub identifier: Option<Template>,
    #[serde(default)]
    pub start_date: Option<Template>,
    #[serde(default)]
    pub end_date: Option<Template>,
    #[serde(default)]
    pub keywords: Vec<KeywordSpec>,
    /// The main payload's own unit and format.
    pub file: FileSpec,
    /// Secondary files that go with one main payload.
    #[serde(default, rename = "attachment")]
    pub attachments: Vec<AttachmentSpec>,
    /// Overrides the flow's rules for this kind's units.
    #[serde(default)]
    pub rules: Option<Rules>,
    /// Rules that depend on the payload (an act's nature, a works contract's acceptance), each
    /// replacing the category it sets; for each category the first case that matches and sets
    /// it wins over `rules`.
    #[serde(default)]
    pub rules_when: Vec<RulesCase>,
}

/// Rules for payloads whose field has one of the given values.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RulesCase {
    /// A field of the document.
    pub field: String,
    /// Values that select the case; empty: any non-empty value.
    #[serde(default, rename = "in")]
    pub values: Vec<String>,
    /// The legal basis of these rules, for the archivist reading the flow.
    pub basis: String,
    #[serde(default)]
    pub appraisal: Option<AppraisalRule>,
    #[serde(default)]
    pub access: Option<AccessRule>,
}

impl RulesCase {
    pub fn matches(&self, values: &BTreeMap<String, Vec<String>>) -> bool {
        let found = values.get(&self.field).into_iter().flatten().map(|v| v.trim());
        let mut found = found.filter(|v| !v.is_empty()).peekable();
        if self.values.is_empty() {
            return found.peek().is_some();
        }
        found.any(|v| self.values.iter().any(|w| w == v))
    }
}

impl DocumentKind {
    /// The rules of this kind's group unit for a payload with `values`.
    pub fn rules_for(&self, flow_rules: &Rules, values: &BTreeMap<String, Vec<String>>) -> Rules {
        let mut rules = self.rules.clone().unwrap_or_else(|| flow_rules.clone());
        let cases: Vec<&RulesCase> = self.rules_when.iter().filter(|c| c.matches(values)).collect();
        if let Some(a) = cases.iter().find_map(|c| c.appraisal.clone()) {
            rules.appraisal = Some(a);
        }
        if let Some(a) = cases.iter().find_map(|c| c.access.clone()) {
            rules.access = Some(a);
        }
        rules
    }
}

/// One metadata field read from the payload.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub path: FieldPath,
    /// A required field that is missing or empty rejects the payload.
    #[serde(default)]
    pub required: bool,
    /// Collect every match instead of the first.
    #[serde(default)]
    pub multiple: bool,
    #[serde(default, rename = "type")]
    pub kind: FieldType,
}

/// What a field's value must look like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    #[default]
    Text,
    /// `YYYY-MM-DD`.
    Date,
}

/// SEDA DescriptionLevel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum Level {
    Fonds,
    Subfonds,
    Class,
    Collection,
    Series,
    Subseries,
    RecordGrp,
    SubGrp,
    File,
    Item,
    OtherLevel,
}

impl Level {
    fn file() -> Level {
        Level::File
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Fonds => "Fonds",
            Level::Subfonds => "Subfonds",
            Level::Class => "Class",
            Level::Collection => "Collection",
            Level::Series => "Series",
            Level::Subseries => "Subseries",
            Level::RecordGrp => "RecordGrp",
            Level::SubGrp => "SubGrp",
            Level::File => "File",
            Level::Item => "Item",
            Level::OtherLevel => "OtherLevel",
        }
    }
}

/// A SEDA Keyword.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordSpec {
    #[serde(rename = "type")]
    pub kind: KeywordType,
    pub value: Template,
}

/// SEDA KeywordType.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordType {
    Corpname,
    Famname,
    Geogname,
    Name,
    Occupation,
    Persname,
    Subject,
    Genreform,
    Function,
}

impl KeywordType {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeywordType::Corpname => "corpname",
            KeywordType::Famname => "famname",
            KeywordType::Geogname => "geogname",
            KeywordType::Name => "name",
            KeywordType::Occupation => "occupation",
            KeywordType::Persname => "persname",
            KeywordType::Subject => "subject",
            KeywordType::Genreform => "genreform",
            KeywordType::Function => "function",
        }
    }
}

/// How one file is described: the title of its unit and its declared format (used when no
/// PRONOM identifier is given, and as FormatLitteral).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Title of the file's unit, e.g. `"Flux PES_Aller {file_name}"`.
    pub label: Template,
    #[serde(default)]
    pub puid: Option<String>,
    #[serde(default)]
    pub mime: Option<String>,
    #[serde(default)]
    pub format_name: Option<String>,
}

/// A secondary file that goes with one main payload, found by name.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSpec {
    pub id: String,
    /// The attachment's file name, from the main payload's name and fields, e.g.
    /// `"ACQUIT_{file_name}"` or `"{NomFichier}"`. A multi-valued field gives one file per value.
    pub name: Template,
    #[serde(default)]
    pub required: bool,
    /// When set, the attachment must be XML with this root element.
    #[serde(default)]
    pub root: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Title of the attachment's unit.
    pub label: Template,
    #[serde(default)]
    pub puid: Option<String>,
    #[serde(default)]
    pub mime: Option<String>,
    #[serde(default)]
    pub format_name: Option<String>,
    #[serde(default)]
    pub rules: Option<Rules>,
}

impl AttachmentSpec {
    /// The attachment's unit title and declared format, as for a main payload.
    pub fn file_spec(&self) -> FileSpec {
        FileSpec {
            label: self.label.clone(),
            puid: self.puid.clone(),
            mime: self.mime.clone(),
            format_name: self.format_name.clone(),
        }
    }
}

/// Management rules, written in the unit's Management block.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub appraisal: Option<AppraisalRule>,
    #[serde(default)]
    pub access: Option<AccessRule>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppraisalRule {
    /// Rule identifier in the platform's rule referential, e.g. `APP-PES-10Y`.
    pub rule: String,
    pub final_action: FinalAction,
    /// Start of the duration, `YYYY-MM-DD` once rendered.
    #[serde(default)]
    pub start_date: Option<Template>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum FinalAction {
    Keep,
    Destroy,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// Rule identifier, e.g. `AR038`.
    pub rule: String,
    #[serde(default)]
    pub start_date: Option<Template>,
}

/// The archival profile the flow's SIPs follow.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Written as ArchivalProfile.
    pub id: String,
    /// Descriptive elements every payload group's unit must carry.
    #[serde(default)]
    pub required_elements: Vec<DescriptiveElement>,
    /// PUIDs the profile expects; empty accepts any.
    #[serde(default)]
    pub allowed_formats: Vec<String>,
}

/// Descriptive elements a profile may require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum DescriptiveElement {
    Title,
    Description,
    DocumentType,
    OriginatingAgencyArchiveUnitIdentifier,
    Keyword,
    StartDate,
    EndDate,
}

impl DescriptiveElement {
    pub fn as_str(&self) -> &'static str {
        match self {
            DescriptiveElement::Title => "Title",
            DescriptiveElement::Description => "Description",
            DescriptiveElement::DocumentType => "DocumentType",
            DescriptiveElement::OriginatingAgencyArchiveUnitIdentifier => "OriginatingAgencyArchiveUnitIdentifier",
            DescriptiveElement::Keyword => "Keyword",
            DescriptiveElement::StartDate => "StartDate",
            DescriptiveElement::EndDate => "EndDate",
        }
    }
}

/// The ingest agreement to create when the flow is installed for a tenant.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementTemplate {
    /// Written as ArchivalAgreement unless the build context names another.
    pub id: String,
    pub name: String,
    /// PUIDs the agreement accepts; empty accepts any.
    #[serde(default)]
    pub allowed_formats: Vec<String>,
    pub on_format_mismatch: MismatchPolicy,
    /// Suffix of the object-store namespace the flow's archives go to, e.g. `pes`.
    pub storage_namespace_suffix: String,
}

/// What a file whose format the agreement or profile does not allow does to the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MismatchPolicy {
    /// Build anyway and report a warning.
    Warn,
    /// Refuse the transfer.
    Reject,
}
