//! Shared by the integration tests: the signature files in `../shared/pronom` when present, a
//! small built-in signature set otherwise, and builders of test files.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use archipel_pronom::Identifier;

/// `../shared/pronom` from the workspace root.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/pronom")
}

/// The identifier over the shared signature files, or `None` (with the reason printed) when
/// they are absent, so that the test can skip.
pub fn identifier() -> Option<&'static Identifier> {
    static ID: OnceLock<Option<Identifier>> = OnceLock::new();
    ID.get_or_init(|| {
        let dir = shared_dir();
        let droid = dir.join("DROID_SignatureFile_V118.xml");
        let container = dir.join("container-signature-20240501.xml");
        if !droid.is_file() || !container.is_file() {
            eprintln!(
                "SKIP: signature files not found in {} (../shared/pronom)",
                dir.display()
            );
            return None;
        }
        Some(Identifier::load(&droid, &container).expect("the shared signature files load"))
    })
    .as_ref()
}

pub const MINI_DROID: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<FFSignatureFile Version="1" xmlns="http://www.nationalarchives.gov.uk/pronom/SignatureFile">
  <InternalSignatureCollection>
    <InternalSignature ID="1"><ByteSequence Reference="BOFoffset">
      <SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>504B0304</Sequence></SubSequence>
    </ByteSequence></InternalSignature>
    <InternalSignature ID="2"><ByteSequence Reference="BOFoffset">
      <SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>D0CF11E0A1B11AE1</Sequence></SubSequence>
    </ByteSequence></InternalSignature>
    <InternalSignature ID="3"><ByteSequence Reference="BOFoffset">
      <SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>255044462D</Sequence>
        <RightFragment Position="1" MinOffset="0" MaxOffset="0">[30:39]</RightFragment></SubSequence>
    </ByteSequence><ByteSequence Reference="EOFoffset">
      <SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="1024"><Sequence>2525454F46</Sequence></SubSequence>
    </ByteSequence></InternalSignature>
  </InternalSignatureCollection>
  <FileFormatCollection>
    <FileFormat ID="10" Name="ZIP Format" PUID="x-fmt/263" MIMEType="application/zip">
      <InternalSignatureID>1</InternalSignatureID><Extension>zip</Extension></FileFormat>
    <FileFormat ID="11" Name="OLE2 Compound Document Format" PUID="fmt/111">
      <InternalSignatureID>2</InternalSignatureID></FileFormat>
    <FileFormat ID="12" Name="Acrobat PDF" Version="1.x" PUID="fmt/14" MIMEType="application/pdf">
      <InternalSignatureID>3</InternalSignatureID><Extension>pdf</Extension></FileFormat>
    <FileFormat ID="13" Name="Word OOXML" PUID="fmt/412"><Extension>docx</Extension></FileFormat>
    <FileFormat ID="14" Name="Plain Text File" PUID="x-fmt/111"><Extension>txt</Extension></FileFormat>
  </FileFormatCollection>
</FFSignatureFile>"#;

pub const MINI_CONTAINER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ContainerSignatureMapping schemaVersion="1.0" signatureVersion="1">
  <ContainerSignatures>
    <ContainerSignature Id="1030" ContainerType="ZIP">
      <Description>Microsoft Word OOXML</Description>
      <Files><File><Path>[Content_Types].xml</Path><BinarySignatures><InternalSignatureCollection>
        <InternalSignature ID="302"><ByteSequence Reference="BOFoffset">
          <SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="32768">
            <Sequence>'wordprocessingml.document.main+xml'</Sequence></SubSequence>
        </ByteSequence></InternalSignature>
      </InternalSignatureCollection></BinarySignatures></File></Files>
    </ContainerSignature>
  </ContainerSignatures>
  <FileFormatMappings><FileFormatMapping signatureId="1030" Puid="fmt/412"/></FileFormatMappings>
  <TriggerPuids>
    <TriggerPuid ContainerType="OLE2" Puid="fmt/111"/>
    <TriggerPuid ContainerType="ZIP" Puid="x-fmt/263"/>
  </TriggerPuids>
</ContainerSignatureMapping>"#;

/// An identifier over a handful of formats (ZIP, OLE2, PDF, DOCX as a container, text), for
/// tests that must run without `../shared`.
pub fn mini() -> &'static Identifier {
    static ID: OnceLock<Identifier> = OnceLock::new();
    ID.get_or_init(|| Identifier::from_xml(MINI_DROID.as_bytes(), MINI_CONTAINER.as_bytes()).expect("mini signatures"))
}

pub const CONTENT_TYPES: &[u8] =
    br#"<?xml version="1.0"?><Types><Override ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

/// A ZIP entry: name, method (0 stored, 8 deflated), data as stored, CRC and uncompressed size.
pub struct ZipEntry<'a> {
    pub name: &'a str,
    pub method: u16,
    pub data: &'a [u8],
    pub crc: u32,
    pub size: u32,
}

impl<'a> ZipEntry<'a> {
    pub fn stored(name: &'a str, data: &'a [u8]) -> Self {
        ZipEntry {
            name,
            method: 0,
            data,
            crc: crc32(data),
            size: data.len() as u32,
        }
    }
}

/// Writes a ZIP archive by hand (no compression library needed for stored entries).
pub fn zip(entries: &[ZipEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let header = |sig: &[u8], central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(sig);
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&e.method.to_le_bytes());
            h.extend_from_slice(&[0, 0, 0, 0]);
            h.extend_from_slice(&e.crc.to_le_bytes());
            h.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            h.extend_from_slice(&e.size.to_le_bytes());
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                // Comment length, disk number, internal and external attributes.
                h.extend_from_slice(&[0; 10]);
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(e.name.as_bytes());
            h
        };
        out.extend(header(b"PK\x03\x04", false));
        out.extend_from_slice(e.data);
        central.extend(header(b"PK\x01\x02", true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A raw deflate stream that expands to `mib` MiB of zeros, built from one compressed MiB
/// repeated (non-final blocks ending on a sync flush concatenate), then an empty final block.
pub fn deflated_zeros(mib: usize) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut block = Vec::with_capacity(4 << 10);
    c.compress_vec(&zeros, &mut block, flate2::FlushCompress::Sync)
        .expect("deflate");
    assert_eq!(c.total_in(), zeros.len() as u64, "one call compresses the whole MiB");
    let mut out = Vec::with_capacity(block.len() * mib + 2);
    for _ in 0..mib {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&[0x03, 0x00]); // final empty fixed-Huffman block
    out
}

pub fn write_temp(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(data))
        .expect("write test file");
    path
}
