//! The scenario's SIP: a file of deliberations with a PNG plan, a text note, and a unit whose
//! title is a script (it must come back escaped everywhere).

use std::io::Write;

use sha2::Digest;

pub const SCRIPT_TITLE: &str = "<script>alert(\"xss\")</script> Plan & coupe";

/// A valid 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x60, 0x60, 0xF8, 0x0F, 0x00, 0x01, 0x04, 0x01, 0x00, 0x5F, 0xE5, 0xC3, 0x4B,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

pub fn note() -> Vec<u8> {
    "Note de synthèse du conseil municipal.\n".repeat(200).into_bytes()
}

fn sha256(data: &[u8]) -> String {
    hex::encode_upper(sha2::Sha256::digest(data))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn object(id: &str, name: &str, data: &[u8], mime: &str, puid: &str) -> String {
    format!(
        "<DataObjectGroup id=\"G{id}\"><BinaryDataObject id=\"{id}\"><DataObjectVersion>BinaryMaster_1</DataObjectVersion>\
         <Uri>content/{name}</Uri><MessageDigest algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\">{digest}</MessageDigest>\
         <Size>{size}</Size><FormatIdentification><MimeType>{mime}</MimeType><FormatId>{puid}</FormatId></FormatIdentification>\
         <FileInfo><Filename>{name}</Filename></FileInfo></BinaryDataObject></DataObjectGroup>",
        digest = sha256(data),
        size = data.len()
    )
}

/// A SEDA 2.2 SIP addressed to `archival_agency` from `transferring_agency` under `agreement`.
pub fn build(path: &std::path::Path, archival_agency: &str, transferring_agency: &str, agreement: &str, message: &str) {
    let note = note();
    let groups = [
        object("O1", "plan.png", PNG, "image/png", "fmt/11"),
        object("O2", "note.txt", &note, "text/plain", "x-fmt/111"),
    ]
    .concat();
    let manifest = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-11-25T10:00:00</Date><MessageIdentifier>{message}</MessageIdentifier><ArchivalAgreement>{agreement}</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage>{groups}<DescriptiveMetadata>\
         <ArchiveUnit id=\"ROOT\"><Management><AppraisalRule><Rule>APP-00002</Rule><StartDate>2020-01-01</StartDate><FinalAction>Destroy</FinalAction></AppraisalRule>\
         <AccessRule><Rule>ACC-00002</Rule><StartDate>2020-12-31</StartDate></AccessRule></Management>\
         <Content><DescriptionLevel>File</DescriptionLevel><Title>Délibérations du conseil municipal 2020</Title>\
         <Description>Registre des délibérations et pièces annexes.</Description><OriginatingAgency><Identifier>VILLE-DGS</Identifier></OriginatingAgency>\
         <StartDate>2020-01-01</StartDate><EndDate>2020-12-31</EndDate></Content>\
         <ArchiveUnit id=\"U1\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>{script}</Title></Content>\
         <DataObjectReference><DataObjectGroupReferenceId>GO1</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>\
         <ArchiveUnit id=\"U2\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>Note de synthèse</Title></Content>\
         <DataObjectReference><DataObjectGroupReferenceId>GO2</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>\
         </ArchiveUnit></DescriptiveMetadata><ManagementMetadata/></DataObjectPackage>\
         <ArchivalAgency><Identifier>{archival_agency}</Identifier></ArchivalAgency>\
         <TransferringAgency><Identifier>{transferring_agency}</Identifier></TransferringAgency></ArchiveTransfer>",
        script = escape(SCRIPT_TITLE)
    );
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (name, data) in [
        ("manifest.xml", manifest.as_bytes()),
        ("content/plan.png", PNG),
        ("content/note.txt", &note[..]),
    ] {
        w.start_file(name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

pub const RULES_CSV: &str = "RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\n\
ACC-00001,AccessRule,Communicable,,0,YEAR\nACC-00002,AccessRule,25 ans,Délai de droit commun,25,YEAR\n\
APP-00001,AppraisalRule,10 ans,,10,YEAR\nAPP-00002,AppraisalRule,5 ans,Délibérations : DUA de 5 ans,5,YEAR\n\
STO-00001,StorageRule,Conservation,,5,YEAR\n";
