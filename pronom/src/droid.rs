//! The DROID signature file (`DROID_SignatureFile_V*.xml`): byte signatures and formats.

use crate::format::FileFormat;
use crate::model::Signature;
use crate::sigparse;
use crate::xml::{self, XmlError};

/// The parsed content of a DROID signature file.
pub(crate) struct DroidFile {
    pub(crate) version: String,
    pub(crate) signatures: Vec<Signature>,
    pub(crate) formats: Vec<FileFormat>,
}

pub(crate) fn parse(data: &[u8]) -> Result<DroidFile, XmlError> {
    let root = xml::parse(data)?;
    if root.name != "FFSignatureFile" {
        return Err(root.error(format!(
            "the root element is <{}>, expected <FFSignatureFile>",
            root.name
        )));
    }
    let version = root.attr("Version").unwrap_or("unknown").to_owned();
    let mut signatures = Vec::new();
    if let Some(coll) = root.child("InternalSignatureCollection") {
        for el in coll.children("InternalSignature") {
            signatures.push(sigparse::internal_signature(el)?);
        }
    }
    let coll = root
        .child("FileFormatCollection")
        .ok_or_else(|| root.error("no <FileFormatCollection>: this is not a DROID signature file"))?;
    let mut formats = Vec::new();
    for el in coll.children("FileFormat") {
        let id = el
            .num::<u32>("ID")?
            .ok_or_else(|| el.error("<FileFormat> has no ID attribute"))?;
        let puid = el.req("PUID")?.trim().to_owned();
        if puid.is_empty() {
            return Err(el.error(format!("format {id} has an empty PUID")));
        }
        let non_empty = |v: Option<&str>| v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let mut format = FileFormat {
            puid,
            name: el.attr("Name").unwrap_or("").trim().to_owned(),
            version: non_empty(el.attr("Version")),
            mime: non_empty(el.attr("MIMEType")),
            extensions: Vec::new(),
            id,
            signature_ids: Vec::new(),
            priority_over: Vec::new(),
        };
        for child in &el.children {
            match child.name.as_str() {
                "InternalSignatureID" => format.signature_ids.push(child.text_num()?),
                "HasPriorityOverFileFormatID" => format.priority_over.push(child.text_num()?),
                "Extension" => {
                    let ext = child.text.trim().trim_start_matches('.').to_lowercase();
                    if !ext.is_empty() && !format.extensions.contains(&ext) {
                        format.extensions.push(ext);
                    }
                }
                _ => {}
            }
        }
        formats.push(format);
    }
    if formats.is_empty() {
        return Err(coll.error("the signature file lists no file format"));
    }
    Ok(DroidFile {
        version,
        signatures,
        formats,
    })
}
