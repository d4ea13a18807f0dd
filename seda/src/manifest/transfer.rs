//! The ArchiveTransfer root, its header and its DataObjectPackage.

use serde_json::{Map, Value};

use super::ctx::{child_path, lang_text, text, Ctx};
use super::error::ManifestError;
use super::json::{insert_child, to_json};
use super::model::{Agency, ArchiveTransfer, DataObjectPackage};
use super::objects::{group, object};
use super::rules::management_metadata;
use super::tree::Node;
use super::units::unit;

/// ArchiveTransfer children the model keeps as JSON.
const TRANSFER_OTHER: &[&str] = &["Signature"];

pub(crate) fn transfer(ctx: &mut Ctx, root: Node) -> Result<ArchiveTransfer, ManifestError> {
    let path = root.name.clone();
    let mut t = ArchiveTransfer {
        version: ctx.version,
        xml_id: root.attr("xml:id").map(str::to_owned),
        comments: Vec::new(),
        date: None,
        message_identifier: None,
        archival_agreement: None,
        code_list_versions: Map::new(),
        package: None,
        related_transfer_references: Vec::new(),
        transfer_request_reply_identifier: None,
        archival_agency: None,
        transferring_agency: None,
        other: Map::new(),
        extensions: Vec::new(),
    };
    for child in root.children {
        if child.foreign {
            ctx.keep(&mut t.other, &path, child, &[]);
            continue;
        }
        match child.name.as_str() {
            "Comment" => t.comments.push(lang_text(&child)),
            "Date" => t.date = text(&child),
            "MessageIdentifier" => t.message_identifier = text(&child),
            "ArchivalAgreement" => t.archival_agreement = text(&child),
            "CodeListVersions" => {
                for code in child.children {
                    let name = code.name.clone();
                    let value = match text(&code) {
                        Some(s) if code.children.is_empty() => Value::String(s),
                        _ => to_json(code),
                    };
                    insert_child(&mut t.code_list_versions, name, value);
                }
            }
            "DataObjectPackage" => {
                if t.package.is_some() {
                    return Err(ManifestError::Invalid {
                        path: child_path(&path, &child),
                        line: child.line,
                        reason: "a second DataObjectPackage: a transfer has one".into(),
                    });
                }
                t.package = Some(package(ctx, child, &path)?)
            }
            "RelatedTransferReference" => t.related_transfer_references.extend(text(&child)),
            "TransferRequestReplyIdentifier" => t.transfer_request_reply_identifier = text(&child),
            "ArchivalAgency" => t.archival_agency = Some(agency(child)),
            "TransferringAgency" => t.transferring_agency = Some(agency(child)),
            _ => ctx.keep(&mut t.other, &path, child, TRANSFER_OTHER),
        }
    }
    Ok(t)
}

/// OrganizationWithIdType: an Identifier and optional descriptive metadata, kept as JSON.
fn agency(node: Node) -> Agency {
    let mut a = Agency::default();
    for child in node.children {
        if !child.foreign && child.name == "Identifier" {
            a.identifier = text(&child);
        } else {
            let name = child.name.clone();
            insert_child(&mut a.other, name, to_json(child));
        }
    }
    a
}

fn package(ctx: &mut Ctx, node: Node, parent: &str) -> Result<DataObjectPackage, ManifestError> {
    let path = child_path(parent, &node);
    let mut p = DataObjectPackage {
        xml_id: node.attr("xml:id").map(str::to_owned),
        ..DataObjectPackage::default()
    };
    let mut ignored = Map::new();
    for child in node.children {
        match (child.foreign, child.name.as_str()) {
            (false, "DataObjectGroup") => p.groups.push(group(ctx, child, &path)?),
            (false, "BinaryDataObject" | "PhysicalDataObject") => p.ungrouped.push(object(ctx, child, &path)?),
            (false, "DescriptiveMetadata") => {
                let dm_path = child_path(&path, &child);
                for u in child.children {
                    if !u.foreign && u.name == "ArchiveUnit" {
                        p.units.push(unit(ctx, u, &dm_path)?);
                    } else {
                        ctx.keep(&mut ignored, &dm_path, u, &[]);
                    }
                }
            }
            (false, "ManagementMetadata") => p.management = Some(management_metadata(ctx, child, &path)?),
            _ => ctx.keep(&mut ignored, &path, child, &[]),
        }
    }
    Ok(p)
}
