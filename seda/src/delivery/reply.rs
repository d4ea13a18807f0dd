//! ArchiveDeliveryRequestReply: the manifest of a DIP.

use std::collections::HashSet;
use std::io;

use chrono::{DateTime, NaiveDate, Utc};

use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::{ReplyCode, ReplyError};
use crate::version::SedaVersion;

const MESSAGE: &str = "ArchiveDeliveryRequestReply";

/// The rule categories written, in the schema's order (`ManagementGroup`); those with extra
/// required elements (FinalAction, ClassificationLevel…) are left to the unit's JSON.
const RULE_CATEGORIES: [&str; 3] = ["AccessRule", "DisseminationRule", "ReuseRule"];

/// `LevelType`, the same in 2.1–2.3.
const LEVELS: [&str; 11] = [
    "Fonds",
    "Subfonds",
    "Class",
    "Collection",
    "Series",
    "Subseries",
    "RecordGrp",
    "SubGrp",
    "File",
    "Item",
    "OtherLevel",
];

/// A management rule in force on a delivered unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRule {
    /// `AccessRule`, `DisseminationRule` or `ReuseRule`; other categories are not written.
    pub category: String,
    pub rule_id: String,
    pub start_date: Option<NaiveDate>,
}

/// A binary object in the DIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryObject {
    /// Archipel's id, written as `DataObjectSystemId` (and, prefixed, as the element's `id`).
    pub system_id: String,
    pub group_system_id: Option<String>,
    pub version: Option<String>,
    /// Where the file is in the DIP zip, e.g. `Content/obj1.pdf`.
    pub uri: String,
    /// SHA-512, hex.
    pub sha512: String,
    pub size: u64,
    pub puid: Option<String>,
    pub format_name: Option<String>,
    pub mime: Option<String>,
    pub filename: Option<String>,
}

/// A delivered unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUnit {
    /// Archipel's id, written as `Content/SystemId` and `UnitIdentifier`.
    pub system_id: String,
    pub title: String,
    pub level: Option<String>,
    pub description: Option<String>,
    pub originating_agency: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub rules: Vec<DeliveryRule>,
    pub need_authorization: bool,
    /// System ids of this unit's objects among [`DeliveryReply::objects`].
    pub objects: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReply {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    pub reply_code: ReplyCode,
    /// The request's `MessageIdentifier` (a JSON request gets the delivery id).
    pub message_request_identifier: String,
    /// The control authority's reply that authorised a derogation, when there was one.
    pub authorization_reply_identifier: Option<String>,
    pub units: Vec<DeliveryUnit>,
    pub objects: Vec<DeliveryObject>,
    pub archival_agency: String,
    pub requester: String,
}

/// The XML `id` of an object or unit: Archipel's ids are not always NCNames (they may start
/// with a digit), so they are prefixed and any other character becomes `_`.
fn xml_id(prefix: &str, system_id: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + system_id.len());
    id.push_str(prefix);
    id.extend(system_id.chars().map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
            c
        } else {
            '_'
        }
    }));
    id
}

/// Writes the manifest, valid against the XSD of `r.version`. Fails, naming the field, on a
/// blank required field, a unit without units, an object or unit given twice, a reference
/// to an object not in the package, or a digest that is not hexadecimal.
pub fn write_delivery_reply(r: &DeliveryReply) -> Result<Vec<u8>, ReplyError> {
    let date = text::date_time("date", &r.date)?;
    let id = text::identifier(MESSAGE, "message_identifier", &r.message_identifier)?;
    let request = text::identifier(MESSAGE, "message_request_identifier", &r.message_request_identifier)?;
    let authorization = match r.authorization_reply_identifier.as_deref() {
        Some(a) if !text::is_blank(a) => Some(text::identifier(MESSAGE, "authorization_reply_identifier", a)?),
        _ => None,
    };
    let agreement = match r.archival_agreement.as_deref() {
        Some(a) if !text::is_blank(a) => Some(text::identifier(MESSAGE, "archival_agreement", a)?),
        _ => None,
    };
    let agency = text::identifier(MESSAGE, "archival_agency", &r.archival_agency)?;
    let requester = text::identifier(MESSAGE, "requester", &r.requester)?;
    if r.units.is_empty() {
        return Err(ReplyError::MissingField {
            message: MESSAGE,
            field: "units".into(),
        });
    }
    let mut ids = HashSet::new();
    for (i, o) in r.objects.iter().enumerate() {
        text::identifier(MESSAGE, &format!("objects[{i}].system_id"), &o.system_id)?;
        text::identifier(MESSAGE, &format!("objects[{i}].uri"), &o.uri)?;
        if !ids.insert(xml_id("obj-", &o.system_id)) {
            return Err(ReplyError::DuplicateId {
                field: format!("objects[{i}].system_id"),
                value: text::for_error(&o.system_id),
            });
        }
        if o.sha512.is_empty() || !o.sha512.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReplyError::InvalidDigest {
                field: format!("objects[{i}].sha512"),
                value: text::for_error(&o.sha512),
            });
        }
    }
    for (i, u) in r.units.iter().enumerate() {
        text::identifier(MESSAGE, &format!("units[{i}].system_id"), &u.system_id)?;
        if !ids.insert(xml_id("unit-", &u.system_id)) {
            return Err(ReplyError::DuplicateId {
                field: format!("units[{i}].system_id"),
                value: text::for_error(&u.system_id),
            });
        }
        if let Some(missing) = u.objects.iter().find(|o| !ids.contains(&xml_id("obj-", o))) {
            return Err(ReplyError::MissingField {
                message: MESSAGE,
                field: format!(
                    "objects (unit {} references {})",
                    text::for_error(&u.system_id),
                    text::for_error(missing)
                ),
            });
        }
    }
    let comments: Vec<String> = r.comments.iter().map(|c| text::free_text(c)).collect();
    let mut x = Xml::new()?;
    x.element(MESSAGE, &[("xmlns", r.version.namespace())], |x| {
        for c in &comments {
            x.text("Comment", c)?;
        }
        x.text("Date", &date)?;
        x.text("MessageIdentifier", &id)?;
        x.opt_text("ArchivalAgreement", agreement.as_deref())?;
        x.element("CodeListVersions", &[], |x| {
            x.text("ReplyCodeListVersion", crate::reply::transfer::REPLY_CODE_LIST_VERSION)?;
            if r.objects
                .iter()
                .any(|o| o.puid.as_deref().is_some_and(|p| !text::is_blank(p)))
            {
                x.text(
                    "FileFormatCodeListVersion",
                    crate::reply::transfer::FILE_FORMAT_CODE_LIST_VERSION,
                )?;
            }
            Ok(())
        })?;
        x.element("DataObjectPackage", &[], |x| {
            for o in &r.objects {
                write_object(x, o)?;
            }
            x.element("DescriptiveMetadata", &[], |x| {
                r.units.iter().try_for_each(|u| write_unit(x, u))
            })?;
            x.empty("ManagementMetadata")
        })?;
        x.text("ReplyCode", r.reply_code.as_str())?;
        x.text("MessageRequestIdentifier", &request)?;
        x.opt_text("AuthorizationRequestReplyIdentifier", authorization.as_deref())?;
        for u in &r.units {
            x.text("UnitIdentifier", u.system_id.trim())?;
        }
        x.organization("ArchivalAgency", &agency)?;
        x.organization("Requester", &requester)
    })?;
    Ok(x.finish())
}

fn opt_token(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !text::is_blank(s))
}

fn write_object(x: &mut Xml, o: &DeliveryObject) -> io::Result<()> {
    x.element("BinaryDataObject", &[("id", &xml_id("obj-", &o.system_id))], |x| {
        x.text("DataObjectSystemId", o.system_id.trim())?;
        x.opt_text("DataObjectGroupSystemId", opt_token(o.group_system_id.as_deref()))?;
        x.opt_text("DataObjectVersion", opt_token(o.version.as_deref()))?;
        x.text("Uri", o.uri.trim())?;
        x.text_with("MessageDigest", &[("algorithm", "SHA-512")], &o.sha512)?;
        if o.size > 0 {
            x.text("Size", &o.size.to_string())?;
        }
        let (name, mime, puid) = (
            opt_token(o.format_name.as_deref()),
            opt_token(o.mime.as_deref()),
            opt_token(o.puid.as_deref()),
        );
        if name.is_some() || mime.is_some() || puid.is_some() {
            x.element("FormatIdentification", &[], |x| {
                x.opt_text("FormatLitteral", name.map(text::free_text).as_deref())?;
                x.opt_text("MimeType", mime)?;
                x.opt_text("FormatId", puid)
            })?;
        }
        if let Some(f) = opt_token(o.filename.as_deref()) {
            x.element("FileInfo", &[], |x| x.text("Filename", &text::free_text(f)))?;
        }
        Ok(())
    })
}

fn write_unit(x: &mut Xml, u: &DeliveryUnit) -> io::Result<()> {
    x.element("ArchiveUnit", &[("id", &xml_id("unit-", &u.system_id))], |x| {
        let written: Vec<&str> = RULE_CATEGORIES
            .iter()
            .copied()
            .filter(|c| u.rules.iter().any(|r| r.category == *c && !text::is_blank(&r.rule_id)))
            .collect();
        if !written.is_empty() || u.need_authorization {
            x.element("Management", &[], |x| {
                for category in &written {
                    x.element(category, &[], |x| {
                        for rule in u
                            .rules
                            .iter()
                            .filter(|r| r.category == *category && !text::is_blank(&r.rule_id))
                        {
                            x.text("Rule", rule.rule_id.trim())?;
                            if let Some(d) = rule.start_date {
                                x.text("StartDate", &d.format("%Y-%m-%d").to_string())?;
                            }
                        }
                        Ok(())
                    })?;
                }
                if u.need_authorization {
                    x.text("NeedAuthorization", "true")?;
                }
                Ok(())
            })?;
        }
        x.element("Content", &[], |x| {
            if let Some(level) = u.level.as_deref().map(str::trim).filter(|l| LEVELS.contains(l)) {
                x.text("DescriptionLevel", level)?;
            }
            x.text("Title", &text::free_text(&u.title))?;
            x.text("SystemId", u.system_id.trim())?;
            if let Some(d) = u.description.as_deref().filter(|d| !text::is_blank(d)) {
                x.text("Description", &text::free_text(d))?;
            }
            if let Some(agency) = opt_token(u.originating_agency.as_deref()) {
                x.organization("OriginatingAgency", agency)?;
            }
            if let Some(d) = u.start_date {
                x.text("StartDate", &d.format("%Y-%m-%d").to_string())?;
            }
            if let Some(d) = u.end_date {
                x.text("EndDate", &d.format("%Y-%m-%d").to_string())?;
            }
            Ok(())
        })?;
        for o in &u.objects {
            x.element("DataObjectReference", &[], |x| {
                x.text("DataObjectReferenceId", &xml_id("obj-", o))
            })?;
        }
        Ok(())
    })
}
