//! The ArchiveTransfer Archipel sends when archives leave it (transfer out to another archive,
//! restitution to the originating agency): a manifest describing stored units and objects,
//! so the recipient can ingest the package as any SIP.
//!
//! Written in the element order of the 2.1, 2.2 and 2.3 XSDs, using only what the three share
//! (plus HoldRule, which only 2.2 and 2.3 have, and is left out of a 2.1 message: the hold
//! stays with the sender's records). Each unit carries the rules it declares itself; the
//! recipient recomputes inheritance. ClassificationRule (which needs a level and an owner the
//! catalog keeps apart) is not written.

use chrono::{DateTime, NaiveDate, Utc};

use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::{ReplyError, SedaVersion};

const MESSAGE: &str = "ArchiveTransfer";

/// Rule categories written, in `ManagementGroup` order.
const CATEGORIES: [&str; 6] = [
    "StorageRule",
    "AppraisalRule",
    "AccessRule",
    "DisseminationRule",
    "ReuseRule",
    "HoldRule",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingTransfer {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    pub objects: Vec<OutObject>,
    /// The root units, their children nested.
    pub units: Vec<OutUnit>,
    pub originating_agency: Option<String>,
    pub submission_agency: Option<String>,
    /// The recipient.
    pub archival_agency: String,
    /// The sender (Archipel's archival agency).
    pub transferring_agency: String,
}

/// One binary object, in the DataObjectGroup `group_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutObject {
    /// xsd:ID in the manifest.
    pub id: String,
    pub group_id: String,
    pub version: Option<String>,
    /// Path of the file in the package.
    pub uri: String,
    pub sha512: String,
    pub size: u64,
    pub format_name: Option<String>,
    pub mime: Option<String>,
    pub puid: Option<String>,
    pub filename: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutUnit {
    /// xsd:ID in the manifest.
    pub id: String,
    /// DescriptionLevel (`Item` when unknown).
    pub level: Option<String>,
    pub title: String,
    pub description: Option<String>,
    /// The sender's identifier of the unit (ArchivalAgencyArchiveUnitIdentifier).
    pub archival_agency_identifier: Option<String>,
    pub originating_agency: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub rules: Vec<OutRules>,
    pub object_group: Option<String>,
    pub children: Vec<OutUnit>,
}

/// The rules of one category a unit declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutRules {
    pub category: String,
    pub rules: Vec<(String, Option<NaiveDate>)>,
    pub prevent_inheritance: bool,
    pub ref_non_rule_ids: Vec<String>,
    /// FinalAction (StorageRule, AppraisalRule).
    pub final_action: Option<String>,
}

/// The manifest as UTF-8 XML, valid against the XSD of `t.version`; fails naming the field
/// when an identifier is blank, an id is not an xsd:ID, or no unit is given.
pub fn write_outgoing_transfer(t: &OutgoingTransfer) -> Result<Vec<u8>, ReplyError> {
    let id = text::identifier(MESSAGE, "message_identifier", &t.message_identifier)?;
    let date = text::date_time("date", &t.date)?;
    if t.units.is_empty() {
        return Err(ReplyError::MissingField {
            message: MESSAGE,
            field: "units".into(),
        });
    }
    for o in &t.objects {
        text::xml_id(MESSAGE, "objects[].id", &o.id)?;
        text::xml_id(MESSAGE, "objects[].group_id", &o.group_id)?;
        text::digest_value("objects[].sha512", &o.sha512)?;
        text::identifier(MESSAGE, "objects[].uri", &o.uri)?;
    }
    check_units(&t.units)?;
    let archival = text::identifier(MESSAGE, "archival_agency", &t.archival_agency)?;
    let transferring = text::identifier(MESSAGE, "transferring_agency", &t.transferring_agency)?;
    let agreement = t
        .archival_agreement
        .as_deref()
        .filter(|a| !text::is_blank(a))
        .map(|a| text::identifier(MESSAGE, "archival_agreement", a))
        .transpose()?;
    let mut x = Xml::new()?;
    x.element(MESSAGE, &[("xmlns", t.version.namespace())], |x| {
        for c in &t.comments {
            x.text("Comment", &text::free_text(c))?;
        }
        x.text("Date", &date)?;
        x.text("MessageIdentifier", &id)?;
        x.opt_text("ArchivalAgreement", agreement.as_deref())?;
        x.element("CodeListVersions", &[], |x| {
            x.text(
                "MessageDigestAlgorithmCodeListVersion",
                "MessageDigestAlgorithmCodeListVersion0",
            )?;
            x.text("MimeTypeCodeListVersion", "MimeTypeCodeListVersion0")?;
            x.text("FileFormatCodeListVersion", "PRONOM")
        })?;
        x.element("DataObjectPackage", &[], |x| {
            write_groups(x, &t.objects)?;
            x.element("DescriptiveMetadata", &[], |x| {
                for u in &t.units {
                    write_unit(x, t.version, u)?;
                }
                Ok(())
            })?;
            x.element("ManagementMetadata", &[], |x| {
                x.opt_text("OriginatingAgencyIdentifier", t.originating_agency.as_deref())?;
                x.opt_text("SubmissionAgencyIdentifier", t.submission_agency.as_deref())
            })
        })?;
        x.organization("ArchivalAgency", &archival)?;
        x.organization("TransferringAgency", &transferring)
    })?;
    Ok(x.finish())
}

fn check_units(units: &[OutUnit]) -> Result<(), ReplyError> {
    for u in units {
        text::xml_id(MESSAGE, "units[].id", &u.id)?;
        if text::is_blank(&u.title) {
            return Err(ReplyError::MissingField {
                message: MESSAGE,
                field: format!("units[{}].title", u.id),
            });
        }
        check_units(&u.children)?;
    }
    Ok(())
}

fn write_groups(x: &mut Xml, objects: &[OutObject]) -> std::io::Result<()> {
    let mut groups: Vec<&str> = Vec::new();
    for o in objects {
        if !groups.contains(&o.group_id.as_str()) {
            groups.push(&o.group_id);
        }
    }
    for g in groups {
        x.element("DataObjectGroup", &[("id", g)], |x| {
            for o in objects.iter().filter(|o| o.group_id == g) {
                x.element("BinaryDataObject", &[("id", o.id.as_str())], |x| {
                    x.text("DataObjectVersion", o.version.as_deref().unwrap_or("BinaryMaster_1"))?;
                    x.text("Uri", &o.uri)?;
                    x.text_with("MessageDigest", &[("algorithm", "SHA-512")], &o.sha512)?;
                    x.text("Size", &o.size.to_string())?;
                    if o.format_name.is_some() || o.mime.is_some() || o.puid.is_some() {
                        x.element("FormatIdentification", &[], |x| {
                            x.opt_text("FormatLitteral", o.format_name.as_deref())?;
                            x.opt_text("MimeType", o.mime.as_deref())?;
                            x.opt_text("FormatId", o.puid.as_deref())
                        })?;
                    }
                    if let Some(name) = o.filename.as_deref().filter(|n| !text::is_blank(n)) {
                        x.element("FileInfo", &[], |x| x.text("Filename", &text::free_text(name)))?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn write_unit(x: &mut Xml, version: SedaVersion, u: &OutUnit) -> std::io::Result<()> {
    x.element("ArchiveUnit", &[("id", u.id.as_str())], |x| {
        let written: Vec<&OutRules> = CATEGORIES
            .iter()
            .filter(|c| **c != "HoldRule" || version != SedaVersion::V2_1)
            .filter_map(|c| u.rules.iter().find(|r| r.category == *c))
            .filter(|r| !r.rules.is_empty() || r.prevent_inheritance || !r.ref_non_rule_ids.is_empty())
            .collect();
        if !written.is_empty() {
            x.element("Management", &[], |x| {
                for r in written {
                    write_rules(x, r)?;
                }
                Ok(())
            })?;
        }
        x.element("Content", &[], |x| {
            x.text("DescriptionLevel", u.level.as_deref().unwrap_or("Item"))?;
            x.text("Title", &text::free_text(&u.title))?;
            x.opt_text(
                "ArchivalAgencyArchiveUnitIdentifier",
                u.archival_agency_identifier.as_deref(),
            )?;
            if let Some(d) = u.description.as_deref().filter(|d| !text::is_blank(d)) {
                x.text("Description", &text::free_text(d))?;
            }
            if let Some(a) = u.originating_agency.as_deref().filter(|a| !text::is_blank(a)) {
                x.organization("OriginatingAgency", a)?;
            }
            if let Some(d) = u.start_date {
                x.text("StartDate", &d.format("%Y-%m-%d").to_string())?;
            }
            if let Some(d) = u.end_date {
                x.text("EndDate", &d.format("%Y-%m-%d").to_string())?;
            }
            Ok(())
        })?;
        for c in &u.children {
            write_unit(x, version, c)?;
        }
        if let Some(g) = &u.object_group {
            x.element("DataObjectReference", &[], |x| x.text("DataObjectGroupReferenceId", g))?;
        }
        Ok(())
    })
}

fn write_rules(x: &mut Xml, r: &OutRules) -> std::io::Result<()> {
    x.element(&r.category, &[], |x| {
        for (rule, start) in &r.rules {
            x.text("Rule", rule)?;
            if let Some(s) = start {
                x.text("StartDate", &s.format("%Y-%m-%d").to_string())?;
            }
        }
        if r.prevent_inheritance {
            x.text("PreventInheritance", "true")?;
        } else {
            for id in &r.ref_non_rule_ids {
                x.text("RefNonRuleId", id)?;
            }
        }
        // FinalAction is required for these two; the SEDA defaults when the unit names none.
        match r.category.as_str() {
            "AppraisalRule" => x.text("FinalAction", r.final_action.as_deref().unwrap_or("Keep")),
            "StorageRule" => x.text("FinalAction", r.final_action.as_deref().unwrap_or("Copy")),
            _ => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(version: SedaVersion) -> OutgoingTransfer {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        OutgoingTransfer {
            version,
            message_identifier: "TOUT-1".into(),
            date: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            comments: vec!["Transfert <sortant>".into()],
            archival_agreement: Some("AGR-IN".into()),
            objects: vec![OutObject {
                id: "O1".into(),
                group_id: "G1".into(),
                version: None,
                uri: "Content/O1.txt".into(),
                sha512: "ab".repeat(64),
                size: 3,
                format_name: Some("Plain Text".into()),
                mime: Some("text/plain".into()),
                puid: Some("x-fmt/111".into()),
                filename: Some("a & b.txt".into()),
            }],
            units: vec![OutUnit {
                id: "U1".into(),
                level: Some("File".into()),
                title: "Dossier".into(),
                description: None,
                archival_agency_identifier: Some("aaa-1".into()),
                originating_agency: Some("OA".into()),
                start_date: Some(d("2020-01-01")),
                end_date: None,
                rules: vec![
                    OutRules {
                        category: "HoldRule".into(),
                        rules: vec![("HOL-1".into(), None)],
                        ..Default::default()
                    },
                    OutRules {
                        category: "AppraisalRule".into(),
                        rules: vec![("APP-1".into(), Some(d("2020-01-01")))],
                        final_action: Some("Destroy".into()),
                        ..Default::default()
                    },
                ],
                object_group: None,
                children: vec![OutUnit {
                    id: "U2".into(),
                    level: None,
                    title: "Pièce".into(),
                    description: Some("d".into()),
                    archival_agency_identifier: None,
                    originating_agency: None,
                    start_date: None,
                    end_date: None,
                    rules: vec![],
                    object_group: Some("G1".into()),
                    children: vec![],
                }],
            }],
            originating_agency: Some("OA".into()),
            submission_agency: None,
            archival_agency: "AD".into(),
            transferring_agency: "REGION".into(),
        }
    }

    #[test]
    fn rules_in_schema_order_and_hold_only_after_2_1() {
        let xml = String::from_utf8(write_outgoing_transfer(&sample(SedaVersion::V2_2)).unwrap()).unwrap();
        let order = [
            "<DataObjectGroup id=\"G1\">",
            "<MessageDigest algorithm=\"SHA-512\">",
            "<Filename>a &amp; b.txt</Filename>",
            "<ArchiveUnit id=\"U1\">",
            "<AppraisalRule>",
            "<FinalAction>Destroy</FinalAction>",
            "<HoldRule>",
            "<Title>Dossier</Title>",
            "<ArchiveUnit id=\"U2\">",
            "<DataObjectGroupReferenceId>G1<",
            "<ManagementMetadata>",
            "<ArchivalAgency>",
            "<TransferringAgency>",
        ];
        let mut at = 0;
        for part in order {
            let found = xml[at..]
                .find(part)
                .unwrap_or_else(|| panic!("{part} missing or out of order:\n{xml}"));
            at += found + part.len();
        }
        let old = String::from_utf8(write_outgoing_transfer(&sample(SedaVersion::V2_1)).unwrap()).unwrap();
        assert!(!old.contains("HoldRule"), "{old}");
    }

    #[test]
    fn refuses_bad_ids_and_empty_packages() {
        let mut t = sample(SedaVersion::V2_3);
        t.units[0].id = "1-starts-with-a-digit".into();
        assert!(matches!(write_outgoing_transfer(&t), Err(ReplyError::InvalidId { .. })));
        let mut t = sample(SedaVersion::V2_3);
        t.units.clear();
        assert!(write_outgoing_transfer(&t).is_err());
        let mut t = sample(SedaVersion::V2_3);
        t.objects[0].sha512 = "not a digest!".into();
        assert!(write_outgoing_transfer(&t).is_err());
    }
}
