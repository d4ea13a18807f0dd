//! DataObjectGroup, BinaryDataObject and PhysicalDataObject.

use serde_json::Map;

use super::ctx::{child_path, required_id, text, Ctx};
use super::error::ManifestError;
use super::model::{
    Attachment, BinaryDataObject, DataObject, DataObjectGroup, Dimension, FileInfo, FormatIdentification, GroupFields,
    MessageDigest, PhysicalDataObject,
};
use super::tree::Node;

/// MinimalDataObjectType children the model keeps as JSON.
const OBJECT_OTHER: &[&str] = &[
    "DataObjectProfile",
    "DataObjectSystemId",
    "DataObjectGroupSystemId",
    "Relationship",
    "PersistentIdentifier",
    "DataObjectUse",
    "DataObjectNumber",
];

const BINARY_OTHER: &[&str] = &["Compressed", "Metadata", "OtherMetadata"];
const PHYSICAL_OTHER: &[&str] = &["PhysicalDimensions", "OtherDimensionsAbstract"];

pub(crate) fn group(ctx: &mut Ctx, node: Node, parent: &str) -> Result<DataObjectGroup, ManifestError> {
    let id = required_id(&node, parent)?;
    let path = child_path(parent, &node);
    let mut g = DataObjectGroup {
        id,
        line: node.line,
        objects: Vec::new(),
        other: Map::new(),
    };
    for child in node.children {
        match (child.foreign, child.name.as_str()) {
            (false, "BinaryDataObject" | "PhysicalDataObject") => g.objects.push(object(ctx, child, &path)?),
            _ => ctx.keep(&mut g.other, &path, child, &["LogBook"]),
        }
    }
    Ok(g)
}

/// A BinaryDataObject or PhysicalDataObject element.
pub(crate) fn object(ctx: &mut Ctx, node: Node, parent: &str) -> Result<DataObject, ManifestError> {
    if node.name == "BinaryDataObject" {
        binary(ctx, node, parent).map(|b| DataObject::Binary(Box::new(b)))
    } else {
        physical(ctx, node, parent).map(DataObject::Physical)
    }
}

/// Reads a child common to both object kinds; gives it back when it is not one.
fn common_child(group: &mut GroupFields, version: &mut Option<String>, child: Node) -> Option<Node> {
    if child.foreign {
        return Some(child);
    }
    match child.name.as_str() {
        "DataObjectGroupId" => group.data_object_group_id = text(&child),
        "DataObjectGroupReferenceId" => group.data_object_group_reference_id = text(&child),
        "DataObjectVersion" => *version = text(&child),
        _ => return Some(child),
    }
    None
}

fn binary(ctx: &mut Ctx, node: Node, parent: &str) -> Result<BinaryDataObject, ManifestError> {
    let id = required_id(&node, parent)?;
    let path = child_path(parent, &node);
    let mut b = BinaryDataObject {
        id,
        line: node.line,
        group: GroupFields::default(),
        data_object_version: None,
        uri: None,
        attachment: None,
        message_digest: None,
        size: None,
        format: None,
        file_info: None,
        other: Map::new(),
    };
    for child in node.children {
        let Some(child) = common_child(&mut b.group, &mut b.data_object_version, child) else {
            continue;
        };
        match (child.foreign, child.name.as_str()) {
            (false, "Uri") => b.uri = Some(child.text.trim().to_owned()),
            (false, "Attachment") => {
                b.attachment = Some(Attachment {
                    filename: child.attr("filename").map(str::to_owned),
                    base64: child.text,
                })
            }
            (false, "MessageDigest") => {
                b.message_digest = Some(MessageDigest {
                    algorithm: child.attr("algorithm").map(|a| a.trim().to_owned()),
                    value: child.text.trim().to_owned(),
                })
            }
            (false, "Size") => b.size = Some(child.text.trim().to_owned()),
            (false, "FormatIdentification") => b.format = Some(format(ctx, child, &path)),
            (false, "FileInfo") => b.file_info = Some(file_info(ctx, child, &path)),
            _ => {
                let known: Vec<&str> = OBJECT_OTHER.iter().chain(BINARY_OTHER).copied().collect();
                ctx.keep(&mut b.other, &path, child, &known);
            }
        }
    }
    Ok(b)
}

fn physical(ctx: &mut Ctx, node: Node, parent: &str) -> Result<PhysicalDataObject, ManifestError> {
    let id = required_id(&node, parent)?;
    let path = child_path(parent, &node);
    let mut p = PhysicalDataObject {
        id,
        line: node.line,
        group: GroupFields::default(),
        data_object_version: None,
        physical_id: None,
        dimensions: Vec::new(),
        other: Map::new(),
    };
    for child in node.children {
        let Some(child) = common_child(&mut p.group, &mut p.data_object_version, child) else {
            continue;
        };
        if !child.foreign && child.name == "PhysicalId" {
            p.physical_id = text(&child);
            continue;
        }
        if !child.foreign && child.name == "PhysicalDimensions" {
            p.dimensions = child
                .children
                .iter()
                .filter(|d| !d.foreign)
                .filter_map(|d| {
                    Some(Dimension {
                        name: d.name.clone(),
                        value: text(d)?,
                        unit: d.attr("unit").map(|u| u.trim().to_owned()),
                    })
                })
                .collect();
        }
        let known: Vec<&str> = OBJECT_OTHER.iter().chain(PHYSICAL_OTHER).copied().collect();
        ctx.keep(&mut p.other, &path, child, &known);
    }
    Ok(p)
}

fn format(ctx: &mut Ctx, node: Node, parent: &str) -> FormatIdentification {
    let path = child_path(parent, &node);
    let mut f = FormatIdentification::default();
    let mut ignored = Map::new();
    for child in node.children {
        let slot = match (child.foreign, child.name.as_str()) {
            (false, "FormatLitteral") => &mut f.format_litteral,
            (false, "MimeType") => &mut f.mime_type,
            (false, "FormatId") => &mut f.format_id,
            (false, "Encoding") => &mut f.encoding,
            _ => {
                ctx.keep(&mut ignored, &path, child, &[]);
                continue;
            }
        };
        *slot = text(&child);
    }
    f
}

fn file_info(ctx: &mut Ctx, node: Node, parent: &str) -> FileInfo {
    let path = child_path(parent, &node);
    let mut f = FileInfo::default();
    let mut ignored = Map::new();
    for child in node.children {
        let slot = match (child.foreign, child.name.as_str()) {
            (false, "Filename") => &mut f.filename,
            (false, "CreatingApplicationName") => &mut f.creating_application_name,
            (false, "CreatingApplicationVersion") => &mut f.creating_application_version,
            (false, "DateCreatedByApplication") => &mut f.date_created_by_application,
            (false, "CreatingOs") => &mut f.creating_os,
            (false, "CreatingOsVersion") => &mut f.creating_os_version,
            (false, "LastModified") => &mut f.last_modified,
            _ => {
                ctx.keep(&mut ignored, &path, child, &[]);
                continue;
            }
        };
        *slot = text(&child);
    }
    f
}

/// What a DataObjectVersion says an object is for: SEDA's usages (as Vitam reads them), each
/// with a rank, `BinaryMaster_2` being the second master. A bare usage is rank 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionUsage {
    BinaryMaster,
    Dissemination,
    Thumbnail,
    TextContent,
    PhysicalMaster,
}

impl VersionUsage {
    pub const ALL: [VersionUsage; 5] = [
        VersionUsage::BinaryMaster,
        VersionUsage::Dissemination,
        VersionUsage::Thumbnail,
        VersionUsage::TextContent,
        VersionUsage::PhysicalMaster,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VersionUsage::BinaryMaster => "BinaryMaster",
            VersionUsage::Dissemination => "Dissemination",
            VersionUsage::Thumbnail => "Thumbnail",
            VersionUsage::TextContent => "TextContent",
            VersionUsage::PhysicalMaster => "PhysicalMaster",
        }
    }
}

/// A parsed DataObjectVersion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjectVersion {
    pub usage: VersionUsage,
    pub rank: u32,
}

impl ObjectVersion {
    /// Reads `BinaryMaster`, `Dissemination_2`, …; the error says what is accepted.
    pub fn parse(s: &str) -> Result<ObjectVersion, String> {
        let s = s.trim();
        let (name, rank) = match s.split_once('_') {
            Some((name, n)) => {
                let rank = (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
                    .then(|| n.parse::<u32>().ok())
                    .flatten()
                    .ok_or_else(|| {
                        format!(
                            "DataObjectVersion `{s}`: the rank after `_` must be a positive number, as in `{name}_1`"
                        )
                    })?;
                (name, rank)
            }
            None => (s, 1),
        };
        let usage = VersionUsage::ALL.into_iter().find(|u| u.as_str() == name).ok_or_else(|| {
            format!(
                "DataObjectVersion `{s}` is not a SEDA usage: use BinaryMaster, Dissemination, Thumbnail, TextContent or PhysicalMaster, optionally followed by `_` and a rank"
            )
        })?;
        Ok(ObjectVersion { usage, rank })
    }
}

impl std::fmt::Display for ObjectVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.usage.as_str(), self.rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_with_their_rank_and_bad_ones_refused() {
        let v = ObjectVersion::parse("BinaryMaster_2").unwrap();
        assert_eq!((v.usage, v.rank), (VersionUsage::BinaryMaster, 2));
        assert_eq!(ObjectVersion::parse(" Thumbnail ").unwrap().to_string(), "Thumbnail_1");
        assert_eq!(
            ObjectVersion::parse("PhysicalMaster_10").unwrap().usage,
            VersionUsage::PhysicalMaster
        );
        for bad in [
            "Master",
            "BinaryMaster_",
            "BinaryMaster_0",
            "BinaryMaster_x",
            "binarymaster_1",
            "TextContent_01",
        ] {
            assert!(ObjectVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
