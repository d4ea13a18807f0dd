//! Writing an ArchiveTransferReply (ATR).
//!
//! Element order, identical in the 2.1, 2.2 and 2.3 XSDs (`seda-2.x-main.xsd`): `MessageType`
//! gives `Comment*, Date, MessageIdentifier`; `BusinessMessageType` adds `ArchivalAgreement?,
//! CodeListVersions, DataObjectPackage?`; `BusinessReplyMessageType` adds `ReplyCode?,
//! Operation?, MessageRequestIdentifier`; `ArchiveTransferReplyType` ends with `GrantDate?,
//! ArchivalAgency, TransferringAgency`. The versions differ elsewhere (2.2 adds
//! `DataObjectProfile` and `LinkingAgentIdentifier`, 2.3 `PersistentIdentifier`, `DataObjectUse`
//! …, 2.1 allows empty identifiers) but not in the elements written here, so one writer
//! serves all three; only the namespace changes.
//!
//! Where the system ids go: SEDA has a place for them, so they are not events. Each object is
//! a `BinaryDataObject` carrying the SIP's `id` and Archipel's `DataObjectSystemId`, with the
//! identified format and computed digest; each unit is an `ArchiveUnit` with the SIP's `id`
//! and Archipel's id as `Content/SystemId`, which is what the SEDA ontology defines it for
//! ("identifiant attribué par le SAE"). This is the way Vitam answers too, so existing
//! clients already read it. The `DataObjectPackage` requires `DescriptiveMetadata` and
//! `ManagementMetadata`; they are written even when empty.
//!
//! Objects of a DataObjectGroup are written inside a `DataObjectGroup` carrying the SIP's group
//! id, each with Archipel's group id as `DataObjectGroupSystemId` (SEDA has no system id for the
//! group element itself), as Vitam answers. A `PhysicalDataObject` carries its `PhysicalId` and
//! the `PhysicalDimensions` the schema accepts (known element, decimal value, listed unit).
//!
//! Events go in `Operation/Event`; `EventType` has no reference to an object, so the subject
//! is written as JSON in `EventDetailData` (e.g. `{"DataObject":"ID12"}`), as Vitam does with
//! its event detail data.

use std::collections::{HashMap, HashSet};
use std::io;

use super::text::{self, MAX_IDENTIFIER_CHARS};
use super::xml::Xml;
use super::{EventSubject, ReplyCode, ReplyError, ReplyEvent, ReplyObject, TransferReply, UNKNOWN_REQUEST_IDENTIFIER};

const MESSAGE: &str = "ArchiveTransferReply";

/// Written as `ReplyCodeListVersion`: the list `OK`, `WARNING`, `KO` of [`ReplyCode`], under
/// the name Vitam's replies and most SIPs in the field use for it.
pub const REPLY_CODE_LIST_VERSION: &str = "ReplyCodeListVersion0";
/// Written as `FileFormatCodeListVersion` when a format is given by PUID.
pub const FILE_FORMAT_CODE_LIST_VERSION: &str = "PRONOM";

/// The ATR for `r`, as UTF-8 XML valid against the XSD of `r.version`.
///
/// Fails, naming the field, when a required field is blank, an identifier is too long or
/// not a valid `xsd:ID` where one is needed, two objects/units share an id, a digest is not
/// hex or base64, or a date is outside years 1–9999. Free text is cleaned and cut, never an
/// error (see [`text`]).
pub fn write_transfer_reply(r: &TransferReply) -> Result<Vec<u8>, ReplyError> {
    let checked = Checked::from(r)?;
    Ok(checked.write(r)?)
}

/// Every value of the reply, cleaned and checked, so that writing cannot produce an
/// invalid message.
struct Checked {
    comments: Vec<String>,
    date: String,
    message_identifier: String,
    archival_agreement: Option<String>,
    objects: Vec<Object>,
    units: Vec<(String, String)>,
    events: Vec<Event>,
    message_request_identifier: String,
    grant_date: Option<String>,
    archival_agency: String,
    transferring_agency: String,
}

struct Object {
    id: String,
    system_id: String,
    /// The SIP's group id and Archipel's.
    group: Option<(String, String)>,
    version: Option<String>,
    digest: Option<(String, String)>,
    size: Option<String>,
    puid: Option<String>,
    name: Option<String>,
    mime: Option<String>,
    physical: Option<Physical>,
}

struct Physical {
    physical_id: Option<String>,
    /// In the schema's order, each at most once: (element, value, unit).
    dimensions: Vec<(&'static str, String, Option<String>)>,
}

/// DimensionsType's elements in schema order, with the units each accepts (None: no unit).
const DIMENSIONS: [(&str, Option<&[&str]>); 9] = [
    ("Width", Some(LENGTH_UNITS)),
    ("Height", Some(LENGTH_UNITS)),
    ("Depth", Some(LENGTH_UNITS)),
    ("Shape", None),
    ("Diameter", Some(LENGTH_UNITS)),
    ("Length", Some(LENGTH_UNITS)),
    ("Thickness", Some(LENGTH_UNITS)),
    ("Weight", Some(WEIGHT_UNITS)),
    ("NumberOfPage", None),
];
/// MeasurementUnitsType, the same in SEDA 2.1, 2.2 and 2.3.
const LENGTH_UNITS: &[&str] = &[
    "micrometre",
    "4H",
    "millimetre",
    "MMT",
    "centimetre",
    "CMT",
    "metre",
    "inch",
    "INH",
    "foot",
    "FOT",
];
/// MeasurementWeightUnitsType.
const WEIGHT_UNITS: &[&str] = &["microgram", "MC", "milligram", "MGM", "gram", "GRM", "kilogram", "KGM"];

struct Event {
    type_code: String,
    date: String,
    outcome: ReplyCode,
    detail: Option<String>,
    subject: Option<String>,
}

impl Checked {
    fn from(r: &TransferReply) -> Result<Self, ReplyError> {
        let mut ids = HashSet::new();
        let mut groups = HashMap::new();
        let mut objects = Vec::with_capacity(r.objects.len());
        for (i, o) in r.objects.iter().enumerate() {
            objects.push(check_object(i, o, &mut ids, &mut groups)?);
        }
        let mut units = Vec::with_capacity(r.units.len());
        for (i, u) in r.units.iter().enumerate() {
            let field = format!("units[{i}].unit_id");
            let id = unique_id(&field, &u.unit_id, &mut ids)?;
            let sys = text::identifier(MESSAGE, &format!("units[{i}].system_id"), &u.system_id)?;
            units.push((id, sys));
        }
        let events = r
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| check_event(i, e))
            .collect::<Result<_, _>>()?;
        Ok(Checked {
            comments: r.comments.iter().map(|c| text::free_text(c)).collect(),
            date: text::date_time("date", &r.date)?,
            message_identifier: text::identifier(MESSAGE, "message_identifier", &r.message_identifier)?,
            archival_agreement: optional_identifier("archival_agreement", r.archival_agreement.as_deref())?,
            objects,
            units,
            events,
            message_request_identifier: text::request_identifier(
                MESSAGE,
                "message_request_identifier",
                r.message_request_identifier.as_deref(),
                UNKNOWN_REQUEST_IDENTIFIER,
            )?,
            grant_date: r
                .grant_date
                .as_ref()
                .map(|d| text::date_time("grant_date", d))
                .transpose()?,
            archival_agency: text::identifier(MESSAGE, "archival_agency", &r.archival_agency)?,
            transferring_agency: text::identifier(MESSAGE, "transferring_agency", &r.transferring_agency)?,
        })
    }

    fn write(&self, r: &TransferReply) -> io::Result<Vec<u8>> {
        let mut x = Xml::new()?;
        x.element(MESSAGE, &[("xmlns", r.version.namespace())], |x| {
            for c in &self.comments {
                x.text("Comment", c)?;
            }
            x.text("Date", &self.date)?;
            x.text("MessageIdentifier", &self.message_identifier)?;
            x.opt_text("ArchivalAgreement", self.archival_agreement.as_deref())?;
            self.write_code_lists(x)?;
            if !self.objects.is_empty() || !self.units.is_empty() {
                self.write_package(x)?;
            }
            x.text("ReplyCode", r.reply_code.as_str())?;
            if !self.events.is_empty() {
                x.element("Operation", &[], |x| {
                    self.events.iter().try_for_each(|e| write_event(x, e))
                })?;
            }
            x.text("MessageRequestIdentifier", &self.message_request_identifier)?;
            x.opt_text("GrantDate", self.grant_date.as_deref())?;
            x.organization("ArchivalAgency", &self.archival_agency)?;
            x.organization("TransferringAgency", &self.transferring_agency)
        })?;
        Ok(x.finish())
    }

    fn write_code_lists(&self, x: &mut Xml) -> io::Result<()> {
        x.element("CodeListVersions", &[], |x| {
            x.text("ReplyCodeListVersion", REPLY_CODE_LIST_VERSION)?;
            if self.objects.iter().any(|o| o.puid.is_some()) {
                x.text("FileFormatCodeListVersion", FILE_FORMAT_CODE_LIST_VERSION)?;
            }
            Ok(())
        })
    }

    fn write_package(&self, x: &mut Xml) -> io::Result<()> {
        x.element("DataObjectPackage", &[], |x| {
            // Each group once, where its first object was, holding all its objects.
            let mut written = HashSet::new();
            for o in &self.objects {
                match &o.group {
                    None => write_object(x, o)?,
                    Some((g, _)) if written.insert(g.as_str()) => {
                        x.element("DataObjectGroup", &[("id", g.as_str())], |x| {
                            self.objects
                                .iter()
                                .filter(|m| m.group.as_ref().is_some_and(|(mg, _)| mg == g))
                                .try_for_each(|m| write_object(x, m))
                        })?;
                    }
                    Some(_) => {}
                }
            }
            x.element("DescriptiveMetadata", &[], |x| {
                for (id, sys) in &self.units {
                    x.element("ArchiveUnit", &[("id", id)], |x| {
                        x.element("Content", &[], |x| x.text("SystemId", sys))
                    })?;
                }
                Ok(())
            })?;
            x.empty("ManagementMetadata")
        })
    }
}

fn write_object(x: &mut Xml, o: &Object) -> io::Result<()> {
    let kind = if o.physical.is_some() {
        "PhysicalDataObject"
    } else {
        "BinaryDataObject"
    };
    x.element(kind, &[("id", &o.id)], |x| {
        x.text("DataObjectSystemId", &o.system_id)?;
        if let Some((_, group_system_id)) = &o.group {
            x.text("DataObjectGroupSystemId", group_system_id)?;
        }
        x.opt_text("DataObjectVersion", o.version.as_deref())?;
        if let Some(p) = &o.physical {
            x.opt_text("PhysicalId", p.physical_id.as_deref())?;
            if !p.dimensions.is_empty() {
                x.element("PhysicalDimensions", &[], |x| {
                    p.dimensions.iter().try_for_each(|(name, value, unit)| match unit {
                        Some(u) => x.text_with(name, &[("unit", u)], value),
                        None => x.text(name, value),
                    })
                })?;
            }
            return Ok(());
        }
        if let Some((algorithm, value)) = &o.digest {
            x.text_with("MessageDigest", &[("algorithm", algorithm)], value)?;
        }
        x.opt_text("Size", o.size.as_deref())?;
        if o.name.is_some() || o.mime.is_some() || o.puid.is_some() {
            x.element("FormatIdentification", &[], |x| {
                x.opt_text("FormatLitteral", o.name.as_deref())?;
                x.opt_text("MimeType", o.mime.as_deref())?;
                x.opt_text("FormatId", o.puid.as_deref())
            })?;
        }
        Ok(())
    })
}

fn write_event(x: &mut Xml, e: &Event) -> io::Result<()> {
    x.element("Event", &[], |x| {
        x.text("EventTypeCode", &e.type_code)?;
        x.text("EventDateTime", &e.date)?;
        x.text("Outcome", e.outcome.as_str())?;
        // Vitam's convention: "<step>.<outcome>", a key clients can match on.
        x.text("OutcomeDetail", &format!("{}.{}", e.type_code, e.outcome.as_str()))?;
        x.opt_text("OutcomeDetailMessage", e.detail.as_deref())?;
        x.opt_text("EventDetailData", e.subject.as_deref())
    })
}

fn check_object(
    i: usize,
    o: &ReplyObject,
    ids: &mut HashSet<String>,
    groups: &mut HashMap<String, String>,
) -> Result<Object, ReplyError> {
    let id = unique_id(&format!("objects[{i}].data_object_id"), &o.data_object_id, ids)?;
    let system_id = text::identifier(MESSAGE, &format!("objects[{i}].system_id"), &o.system_id)?;
    let group = match &o.group {
        Some(g) => {
            let field = format!("objects[{i}].group.group_id");
            let gid = text::xml_id(MESSAGE, &field, &g.group_id)?;
            let sys = text::identifier(MESSAGE, &format!("objects[{i}].group.system_id"), &g.system_id)?;
            match groups.get(&gid) {
                // One group, one system id: a second one would contradict the first.
                Some(known) if *known != sys => {
                    return Err(ReplyError::DuplicateId {
                        field,
                        value: text::for_error(&gid),
                    })
                }
                Some(_) => {}
                None => {
                    if !ids.insert(gid.clone()) {
                        return Err(ReplyError::DuplicateId {
                            field,
                            value: text::for_error(&gid),
                        });
                    }
                    groups.insert(gid.clone(), sys.clone());
                }
            }
            Some((gid, sys))
        }
        None => None,
    };
    let version = optional_identifier(&format!("objects[{i}].version"), o.version.as_deref())?;
    let physical = o.physical.as_ref().map(|p| {
        Ok::<_, ReplyError>(Physical {
            physical_id: optional_identifier(&format!("objects[{i}].physical.physical_id"), p.physical_id.as_deref())?,
            dimensions: schema_dimensions(&p.dimensions),
        })
    });
    let physical = physical.transpose()?;
    let digest = match &o.digest {
        Some(d) => Some((
            text::identifier(MESSAGE, &format!("objects[{i}].digest.algorithm"), &d.algorithm)?,
            text::digest_value(&format!("objects[{i}].digest.value"), &d.value)?,
        )),
        None => None,
    };
    let format = o.format.clone().unwrap_or_default();
    let token = |name: &str, v: Option<&str>| optional_identifier(&format!("objects[{i}].format.{name}"), v);
    Ok(Object {
        id,
        system_id,
        group,
        version,
        physical,
        digest,
        size: o.size.filter(|&s| s > 0).map(|s| s.to_string()),
        puid: token("puid", format.puid.as_deref())?,
        name: text::optional_text(format.name.as_deref()),
        mime: token("mime", format.mime.as_deref())?,
    })
}

fn check_event(i: usize, e: &ReplyEvent) -> Result<Event, ReplyError> {
    let subject = e.subject.as_ref().map(|s| {
        let (kind, value) = match s {
            EventSubject::DataObject(v) => ("DataObject", v),
            EventSubject::ArchiveUnit(v) => ("ArchiveUnit", v),
            EventSubject::Element(v) => ("Element", v),
            EventSubject::SipEntry(v) => ("SipEntry", v),
        };
        // A subject describes; cutting it loses detail but never misleads, so it is cut
        // rather than refused: a KO reply must go out even for an absurd SIP.
        let mut map = serde_json::Map::new();
        map.insert(kind.to_owned(), text::cut(value, MAX_IDENTIFIER_CHARS).into());
        serde_json::Value::Object(map).to_string()
    });
    Ok(Event {
        type_code: text::identifier(MESSAGE, &format!("events[{i}].event_type"), &e.event_type)?,
        date: text::date_time(&format!("events[{i}].date"), &e.date)?,
        outcome: e.outcome,
        detail: text::optional_text(Some(&e.detail)),
        subject,
    })
}

fn unique_id(field: &str, s: &str, ids: &mut HashSet<String>) -> Result<String, ReplyError> {
    let id = text::xml_id(MESSAGE, field, s)?;
    if !ids.insert(id.clone()) {
        return Err(ReplyError::DuplicateId {
            field: field.to_owned(),
            value: text::for_error(&id),
        });
    }
    Ok(id)
}

fn optional_identifier(field: &str, s: Option<&str>) -> Result<Option<String>, ReplyError> {
    match s {
        Some(v) if !text::is_blank(v) => text::identifier(MESSAGE, field, v).map(Some),
        _ => Ok(None),
    }
}

/// The dimensions the schema accepts, in its order, the first of each name: a measured one
/// needs a decimal value and a listed unit, NumberOfPage an integer.
fn schema_dimensions(given: &[(String, String, Option<String>)]) -> Vec<(&'static str, String, Option<String>)> {
    let mut out = Vec::new();
    for (name, units) in DIMENSIONS {
        let found = given.iter().find(|(n, value, unit)| {
            let value = value.trim();
            n == name
                && match (name, units) {
                    ("NumberOfPage", _) => value.parse::<i32>().is_ok(),
                    (_, Some(units)) => is_decimal(value) && unit.as_deref().is_some_and(|u| units.contains(&u.trim())),
                    (_, None) => !text::is_blank(value),
                }
        });
        if let Some((_, value, unit)) = found {
            let unit = units.and(unit.as_ref()).map(|u| u.trim().to_owned());
            let value = if units.is_some() || name == "NumberOfPage" {
                value.trim().to_owned()
            } else {
                text::free_text(value)
            };
            out.push((name, value, unit));
        }
    }
    out
}

/// xsd:decimal: an optional sign, digits with at most one point, at least one digit.
fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dimensions_the_schema_accepts_are_kept_in_its_order() {
        let d = |n: &str, v: &str, u: Option<&str>| (n.to_owned(), v.to_owned(), u.map(str::to_owned));
        let kept = schema_dimensions(&[
            d("NumberOfPage", "12", None),
            d("Width", "21", Some("centimetre")),
            d("Height", "29,7", Some("centimetre")),
            d("Height", "29.7", Some("centimetre")),
            d("Depth", "3", Some("parsec")),
            d("Weight", "-0.5", Some("KGM")),
            d("Color", "blue", None),
        ]);
        let names: Vec<_> = kept.iter().map(|(n, v, _)| format!("{n}={v}")).collect();
        assert_eq!(names, ["Width=21", "Height=29.7", "Weight=-0.5", "NumberOfPage=12"]);
        assert!(!is_decimal(".") && !is_decimal("1e3") && is_decimal(".5") && is_decimal("7."));
    }
}
