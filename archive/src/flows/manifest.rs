//! Writes the SEDA ArchiveTransfer manifest with quick-xml's writer (every value escaped), in
//! the element order of the official 2.1/2.2/2.3 schemas (`seda-2.x-main.xsd` and its
//! includes). The three versions share everything this writer emits; only the namespace differs.

use std::io::Write;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::definition::{FinalAction, KeywordType, SedaVersion};

pub struct Manifest {
    pub version: SedaVersion,
    pub comment: Option<String>,
    /// xsd:dateTime.
    pub date: String,
    pub message_identifier: String,
    pub archival_agreement: String,
    pub archival_profile: String,
    pub originating_agency: String,
    pub submission_agency: String,
    pub archival_agency: String,
    pub transferring_agency: String,
    pub objects: Vec<DataObject>,
    pub units: Vec<Unit>,
}

/// One file, in its own DataObjectGroup.
pub struct DataObject {
    pub id: String,
    pub group_id: String,
    pub uri: String,
    pub sha512_hex: String,
    pub size: u64,
    pub format_name: Option<String>,
    pub mime: Option<String>,
    pub puid: Option<String>,
    pub filename: String,
    /// xsd:dateTime.
    pub last_modified: Option<String>,
}

pub struct Unit {
    pub id: String,
    pub level: &'static str,
    pub title: String,
    pub description: Option<String>,
    pub document_type: Option<String>,
    pub identifier: Option<String>,
    pub keywords: Vec<(KeywordType, String)>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub rules: Option<UnitRules>,
    pub object_group: Option<String>,
    pub children: Vec<Unit>,
}

pub struct UnitRules {
    pub appraisal: Option<(String, Option<String>, FinalAction)>,
    pub access: Option<(String, Option<String>)>,
}

type W<'w, O> = Writer<&'w mut O>;

impl Manifest {
    pub fn write_to<O: Write + ?Sized>(&self, out: &mut O) -> std::io::Result<()> {
        let mut w = Writer::new_with_indent(out, b' ', 1);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("ArchiveTransfer")
            .with_attribute(("xmlns", self.version.namespace()))
            .with_attribute(("xmlns:xlink", "http://www.w3.org/1999/xlink"))
            .write_inner_content(|w| {
                if let Some(c) = &self.comment {
                    leaf(w, "Comment", c)?;
                }
                leaf(w, "Date", &self.date)?;
                leaf(w, "MessageIdentifier", &self.message_identifier)?;
                leaf(w, "ArchivalAgreement", &self.archival_agreement)?;
                w.create_element("CodeListVersions").write_inner_content(|w| {
                    leaf(
                        w,
                        "MessageDigestAlgorithmCodeListVersion",
                        "MessageDigestAlgorithmCodeListVersion0",
                    )?;
                    leaf(w, "MimeTypeCodeListVersion", "MimeTypeCodeListVersion0")?;
                    leaf(w, "FileFormatCodeListVersion", "PRONOM")?;
                    Ok(())
                })?;
                w.create_element("DataObjectPackage").write_inner_content(|w| {
                    for o in &self.objects {
                        write_object(w, o)?;
                    }
                    w.create_element("DescriptiveMetadata").write_inner_content(|w| {
                        for u in &self.units {
                            write_unit(w, u)?;
                        }
                        Ok(())
                    })?;
                    w.create_element("ManagementMetadata").write_inner_content(|w| {
                        leaf(w, "ArchivalProfile", &self.archival_profile)?;
                        leaf(w, "AcquisitionInformation", "Versement")?;
                        leaf(w, "LegalStatus", "Public Archive")?;
                        leaf(w, "OriginatingAgencyIdentifier", &self.originating_agency)?;
                        leaf(w, "SubmissionAgencyIdentifier", &self.submission_agency)?;
                        Ok(())
                    })?;
                    Ok(())
                })?;
                organization(w, "ArchivalAgency", &self.archival_agency)?;
                organization(w, "TransferringAgency", &self.transferring_agency)?;
                Ok(())
            })?;
        Ok(())
    }
}

fn leaf<O: Write + ?Sized>(w: &mut W<'_, O>, name: &str, text: &str) -> std::io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(text))?;
    Ok(())
}

fn organization<O: Write + ?Sized>(w: &mut W<'_, O>, name: &str, id: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_inner_content(|w| leaf(w, "Identifier", id))?;
    Ok(())
}

fn write_object<O: Write + ?Sized>(w: &mut W<'_, O>, o: &DataObject) -> std::io::Result<()> {
    w.create_element("DataObjectGroup")
        .with_attribute(("id", o.group_id.as_str()))
        .write_inner_content(|w| {
            w.create_element("BinaryDataObject")
                .with_attribute(("id", o.id.as_str()))
                .write_inner_content(|w| {
                    leaf(w, "DataObjectVersion", "BinaryMaster_1")?;
                    leaf(w, "Uri", &o.uri)?;
                    w.create_element("MessageDigest")
                        .with_attribute(("algorithm", "SHA-512"))
                        .write_text_content(BytesText::new(&o.sha512_hex))?;
                    leaf(w, "Size", &o.size.to_string())?;
                    w.create_element("FormatIdentification").write_inner_content(|w| {
                        if let Some(v) = &o.format_name {
                            leaf(w, "FormatLitteral", v)?;
                        }
                        if let Some(v) = &o.mime {
                            leaf(w, "MimeType", v)?;
                        }
                        if let Some(v) = &o.puid {
                            leaf(w, "FormatId", v)?;
                        }
                        Ok(())
                    })?;
                    w.create_element("FileInfo").write_inner_content(|w| {
                        leaf(w, "Filename", &o.filename)?;
                        if let Some(v) = &o.last_modified {
                            leaf(w, "LastModified", v)?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn write_unit<O: Write + ?Sized>(w: &mut W<'_, O>, u: &Unit) -> std::io::Result<()> {
    w.create_element("ArchiveUnit")
        .with_attribute(("id", u.id.as_str()))
        .write_inner_content(|w| {
            if let Some(r) = &u.rules {
                write_rules(w, r)?;
            }
            w.create_element("Content").write_inner_content(|w| {
                // BaseObjectGroup order: Level, Title, Identifier, Description, …, DocumentType,
                // …, Keyword, …, Date groups.
                leaf(w, "DescriptionLevel", u.level)?;
                leaf(w, "Title", &u.title)?;
                if let Some(v) = &u.identifier {
                    leaf(w, "OriginatingAgencyArchiveUnitIdentifier", v)?;
                }
                if let Some(v) = &u.description {
                    leaf(w, "Description", v)?;
                }
                if let Some(v) = &u.document_type {
                    leaf(w, "DocumentType", v)?;
                }
                for (kind, value) in &u.keywords {
                    w.create_element("Keyword").write_inner_content(|w| {
                        leaf(w, "KeywordContent", value)?;
                        leaf(w, "KeywordType", kind.as_str())
                    })?;
                }
                if let Some(v) = &u.start_date {
                    leaf(w, "StartDate", v)?;
                }
                if let Some(v) = &u.end_date {
                    leaf(w, "EndDate", v)?;
                }
                Ok(())
            })?;
            for child in &u.children {
                write_unit(w, child)?;
            }
            if let Some(g) = &u.object_group {
                w.create_element("DataObjectReference")
                    .write_inner_content(|w| leaf(w, "DataObjectGroupReferenceId", g))?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_rules<O: Write + ?Sized>(w: &mut W<'_, O>, r: &UnitRules) -> std::io::Result<()> {
    // ManagementGroup order: StorageRule, AppraisalRule, AccessRule, …
    w.create_element("Management").write_inner_content(|w| {
        if let Some((rule, start, action)) = &r.appraisal {
            w.create_element("AppraisalRule").write_inner_content(|w| {
                leaf(w, "Rule", rule)?;
                if let Some(s) = start {
                    leaf(w, "StartDate", s)?;
                }
                leaf(
                    w,
                    "FinalAction",
                    match action {
                        FinalAction::Keep => "Keep",
                        FinalAction::Destroy => "Destroy",
                    },
                )
            })?;
        }
        if let Some((rule, start)) = &r.access {
            w.create_element("AccessRule").write_inner_content(|w| {
                leaf(w, "Rule", rule)?;
                if let Some(s) = start {
                    leaf(w, "StartDate", s)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}
