//! Helpers shared by the manifest tests: the corpus in ../shared, read in place.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

/// `shared/corpus/seda/<name>`, or None (and a SKIP line) when the corpus is absent.
pub fn corpus_file(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/seda")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        println!("SKIP: {} is absent", path.display());
        None
    }
}

/// One entry of a corpus zip.
pub fn zip_entry(zip: &PathBuf, entry: &str) -> Vec<u8> {
    let file = std::fs::File::open(zip).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut f = archive.by_name(entry).unwrap();
    let mut out = Vec::new();
    f.read_to_end(&mut out).unwrap();
    out
}

/// A minimal sound SEDA 2.x ArchiveTransfer; `objects` goes in DataObjectPackage before
/// DescriptiveMetadata, `units` inside it.
pub fn transfer(version: &str, objects: &str, units: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ArchiveTransfer xmlns="fr:gouv:culture:archivesdefrance:seda:v{version}">
  <Date>2024-01-01T00:00:00</Date>
  <MessageIdentifier>MSG-1</MessageIdentifier>
  <CodeListVersions/>
  <DataObjectPackage>
{objects}
    <DescriptiveMetadata>
{units}
    </DescriptiveMetadata>
    <ManagementMetadata><OriginatingAgencyIdentifier>AG</OriginatingAgencyIdentifier></ManagementMetadata>
  </DataObjectPackage>
  <ArchivalAgency><Identifier>AA</Identifier></ArchivalAgency>
  <TransferringAgency><Identifier>TA</Identifier></TransferringAgency>
</ArchiveTransfer>
"#
    )
}

pub const SHA512_OF_ABC: &str = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

/// A BinaryDataObject in a group, with a sound digest.
pub fn binary(group: &str, id: &str, uri: &str) -> String {
    format!(
        r#"<DataObjectGroup id="{group}"><BinaryDataObject id="{id}"><DataObjectVersion>BinaryMaster_1</DataObjectVersion><Uri>{uri}</Uri><MessageDigest algorithm="SHA-512">{SHA512_OF_ABC}</MessageDigest><Size>3</Size></BinaryDataObject></DataObjectGroup>"#
    )
}

/// A described unit referencing a group.
pub fn unit(id: &str, title: &str, group: &str) -> String {
    format!(
        r#"<ArchiveUnit id="{id}"><Content><DescriptionLevel>Item</DescriptionLevel><Title>{title}</Title></Content><DataObjectReference><DataObjectGroupReferenceId>{group}</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>"#
    )
}
