//! The container signature file (`container-signature-*.xml`): formats recognised by the entries
//! of a ZIP or OLE2 file.

use crate::model::Signature;
use crate::sigparse;
use crate::xml::{self, XmlError};

/// The two kinds of container PRONOM describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerKind {
    /// OLE2 compound file (Microsoft Office 97-2003, Outlook .msg, …).
    Ole2,
    /// ZIP (OOXML, OpenDocument, EPUB, …).
    Zip,
}

impl std::fmt::Display for ContainerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ContainerKind::Ole2 => "OLE2",
            ContainerKind::Zip => "ZIP",
        })
    }
}

/// An entry the container must have; when it has signatures, one of them must match its content.
#[derive(Debug)]
pub(crate) struct FileRule {
    pub(crate) path: String,
    pub(crate) signatures: Vec<Signature>,
}

#[derive(Debug)]
pub(crate) struct ContainerSignature {
    pub(crate) id: u32,
    pub(crate) kind: ContainerKind,
    pub(crate) description: String,
    pub(crate) puids: Vec<String>,
    pub(crate) files: Vec<FileRule>,
}

pub(crate) struct ContainerFile {
    pub(crate) version: String,
    pub(crate) signatures: Vec<ContainerSignature>,
    /// Byte-identified formats that call for a look inside the container.
    pub(crate) triggers: Vec<(ContainerKind, String)>,
    /// What was skipped while loading (unknown container types, unmapped signatures).
    pub(crate) notes: Vec<String>,
}

fn kind_of(s: &str) -> Option<ContainerKind> {
    match s.trim() {
        "OLE2" => Some(ContainerKind::Ole2),
        "ZIP" => Some(ContainerKind::Zip),
        _ => None,
    }
}

pub(crate) fn parse(data: &[u8]) -> Result<ContainerFile, XmlError> {
    let root = xml::parse(data)?;
    if root.name != "ContainerSignatureMapping" {
        return Err(root.error(format!(
            "the root element is <{}>, expected <ContainerSignatureMapping>",
            root.name
        )));
    }
    let version = root.attr("signatureVersion").unwrap_or("unknown").to_owned();
    let mut notes = Vec::new();
    let mut signatures = Vec::new();
    let sigs = root
        .child("ContainerSignatures")
        .ok_or_else(|| root.error("no <ContainerSignatures>: this is not a container signature file"))?;
    for el in sigs.children("ContainerSignature") {
        let id = el
            .num::<u32>("Id")?
            .ok_or_else(|| el.error("<ContainerSignature> has no Id attribute"))?;
        let kind_text = el.req("ContainerType")?;
        let Some(kind) = kind_of(kind_text) else {
            notes.push(format!(
                "container signature {id}: container type {kind_text} is not supported; skipped"
            ));
            continue;
        };
        let description = el
            .child("Description")
            .map(|d| d.text.trim().to_owned())
            .unwrap_or_default();
        let mut files = Vec::new();
        for file in el.child("Files").into_iter().flat_map(|f| f.children("File")) {
            let path = file
                .child("Path")
                .map(|p| p.text.trim().to_owned())
                .filter(|p| !p.is_empty())
                .ok_or_else(|| file.error(format!("container signature {id}: a <File> has no <Path>")))?;
            let mut signatures = Vec::new();
            for coll in file
                .children("BinarySignatures")
                .flat_map(|b| b.children("InternalSignatureCollection"))
            {
                for s in coll.children("InternalSignature") {
                    signatures.push(sigparse::internal_signature(s).map_err(|e| XmlError {
                        line: e.line,
                        message: format!("container signature {id}, file {path}: {}", e.message),
                    })?);
                }
            }
            files.push(FileRule { path, signatures });
        }
        if files.is_empty() {
            return Err(el.error(format!("container signature {id} names no file")));
        }
        signatures.push(ContainerSignature {
            id,
            kind,
            description,
            puids: Vec::new(),
            files,
        });
    }
    for m in root
        .children("FileFormatMappings")
        .flat_map(|m| m.children("FileFormatMapping"))
    {
        let id = m
            .num::<u32>("signatureId")?
            .ok_or_else(|| m.error("<FileFormatMapping> has no signatureId"))?;
        let puid = m.req("Puid")?.trim().to_owned();
        match signatures.iter_mut().find(|s| s.id == id) {
            Some(sig) => sig.puids.push(puid),
            None => notes.push(format!(
                "format mapping for unknown container signature {id} ({puid}) ignored"
            )),
        }
    }
    for sig in signatures.iter().filter(|s| s.puids.is_empty()) {
        notes.push(format!(
            "container signature {} ({}) maps to no format; never reported",
            sig.id, sig.description
        ));
    }
    signatures.retain(|s| !s.puids.is_empty());
    let mut triggers = Vec::new();
    for t in root.children("TriggerPuids").flat_map(|t| t.children("TriggerPuid")) {
        if let Some(kind) = kind_of(t.req("ContainerType")?) {
            triggers.push((kind, t.req("Puid")?.trim().to_owned()));
        }
    }
    Ok(ContainerFile {
        version,
        signatures,
        triggers,
        notes,
    })
}
