//! Fronts and SIPs for the access tests: a front whose access decisions take the day from a
//! file (the injected clock), and SIPs whose units carry an originating agency and AccessRules.

use std::path::Path;

use super::{zip, Front};
use crate::common::Tuning;

impl Front {
    /// A front like [`Front::start`], deciding access on the day written in `clock_file`.
    pub fn start_with_access_clock(clock_file: &Path) -> Self {
        Self::start_with(
            Tuning::default(),
            &["--access-clock-file".as_ref(), clock_file.as_os_str()],
        )
    }
}

/// One unit of [`access_sip`]: a file, and the AccessRule (rule id, start date) it declares.
pub struct AccessUnit<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub data: &'a [u8],
    pub access: Option<(&'a str, &'a str)>,
}

/// A SEDA 2.2 SIP of `units` (no root: each a top-level Item with one BinaryMaster file) from
/// the originating agency `agency`, written to `path`.
pub fn access_sip(path: &Path, message_id: &str, agreement: &str, agency: &str, units: &[AccessUnit]) {
    let mut groups = String::new();
    let mut described = String::new();
    for u in units {
        groups.push_str(&format!(
            "<DataObjectGroup id=\"G{id}\"><BinaryDataObject id=\"O{id}\"><DataObjectVersion>BinaryMaster_1</DataObjectVersion>\
             <Uri>content/{id}.txt</Uri><MessageDigest algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\">{digest}</MessageDigest>\
             <Size>{size}</Size><FileInfo><Filename>{id}.txt</Filename></FileInfo></BinaryDataObject></DataObjectGroup>",
            id = u.id,
            digest = super::sha256_hex(u.data).to_uppercase(),
            size = u.data.len()
        ));
        let management = match u.access {
            Some((rule, start)) => format!(
                "<Management><AccessRule><Rule>{rule}</Rule><StartDate>{start}</StartDate></AccessRule></Management>"
            ),
            None => String::new(),
        };
        described.push_str(&format!(
            "<ArchiveUnit id=\"U{id}\">{management}<Content><DescriptionLevel>Item</DescriptionLevel><Title>{title}</Title>\
             <StartDate>2020-01-01</StartDate><EndDate>2020-12-31</EndDate></Content>\
             <DataObjectReference><DataObjectGroupReferenceId>G{id}</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>",
            id = u.id,
            title = u.title
        ));
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-11-25T10:00:00</Date><MessageIdentifier>{message_id}</MessageIdentifier><ArchivalAgreement>{agreement}</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage>{groups}<DescriptiveMetadata>{described}</DescriptiveMetadata>\
         <ManagementMetadata><OriginatingAgencyIdentifier>{agency}</OriginatingAgencyIdentifier></ManagementMetadata></DataObjectPackage>\
         <ArchivalAgency><Identifier>Identifier4</Identifier></ArchivalAgency>\
         <TransferringAgency><Identifier>Identifier5</Identifier></TransferringAgency></ArchiveTransfer>"
    );
    let mut entries: Vec<(String, &[u8])> = vec![("manifest.xml".into(), xml.as_bytes())];
    for u in units {
        entries.push((format!("content/{}.txt", u.id), u.data));
    }
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    zip(path, &refs);
}
