//! ArchiveUnit trees, their Content and their DataObjectReferences.

use serde_json::{Map, Value};

use super::ctx::{child_path, lang_text, required_id, text, Ctx};
use super::error::ManifestError;
use super::json::{insert_child, to_json};
use super::model::{ArchiveUnit, Content, DataObjectReference, Keyword};
use super::rules::management;
use super::tree::Node;

pub(crate) fn unit(ctx: &mut Ctx, node: Node, parent: &str) -> Result<ArchiveUnit, ManifestError> {
    let id = required_id(&node, parent)?;
    let path = child_path(parent, &node);
    let mut u = ArchiveUnit {
        id,
        line: node.line,
        archive_unit_ref_id: None,
        archive_unit_profile: None,
        management: None,
        content: None,
        children: Vec::new(),
        data_object_references: Vec::new(),
        other: Map::new(),
    };
    for child in node.children {
        if child.foreign {
            ctx.keep(&mut u.other, &path, child, &[]);
            continue;
        }
        match child.name.as_str() {
            "ArchiveUnitRefId" => u.archive_unit_ref_id = Some(child.text.trim().to_owned()),
            "ArchiveUnitProfile" => u.archive_unit_profile = text(&child),
            "Management" => u.management = Some(management(ctx, child, &path)?),
            "Content" => {
                if u.content.is_some() {
                    return Err(ManifestError::Invalid {
                        path: child_path(&path, &child),
                        line: child.line,
                        reason: "a second Content: an ArchiveUnit has exactly one".into(),
                    });
                }
                u.content = Some(content(child))
            }
            "ArchiveUnit" => u.children.push(unit(ctx, child, &path)?),
            "DataObjectReference" => u.data_object_references.push(reference(ctx, child, &path)),
            _ => ctx.keep(&mut u.other, &path, child, &[]),
        }
    }
    if u.archive_unit_ref_id.is_some() && (u.content.is_some() || u.management.is_some() || !u.children.is_empty()) {
        return Err(ManifestError::Invalid {
            path,
            line: u.line,
            reason: "an ArchiveUnit with ArchiveUnitRefId is a link and may hold nothing else: \
                     move its Content, Management and children to the unit it points to"
                .into(),
        });
    }
    Ok(u)
}

fn reference(ctx: &mut Ctx, node: Node, parent: &str) -> DataObjectReference {
    let path = child_path(parent, &node);
    let mut r = DataObjectReference {
        line: node.line,
        ..DataObjectReference::default()
    };
    let mut ignored = Map::new();
    for child in node.children {
        match (child.foreign, child.name.as_str()) {
            (false, "DataObjectReferenceId") => r.data_object_reference_id = text(&child),
            (false, "DataObjectGroupReferenceId") => r.data_object_group_reference_id = text(&child),
            _ => ctx.keep(&mut ignored, &path, child, &[]),
        }
    }
    r
}

/// Content: the common fields typed, and every child (whatever its name) kept in `raw`.
fn content(node: Node) -> Content {
    let mut c = Content::default();
    let mut raw = Map::new();
    for child in node.children {
        if !child.foreign {
            let slot = match child.name.as_str() {
                "DescriptionLevel" => Some(&mut c.description_level),
                "StartDate" => Some(&mut c.start_date),
                "EndDate" => Some(&mut c.end_date),
                "CreatedDate" => Some(&mut c.created_date),
                "TransactedDate" => Some(&mut c.transacted_date),
                "AcquiredDate" => Some(&mut c.acquired_date),
                "SentDate" => Some(&mut c.sent_date),
                "ReceivedDate" => Some(&mut c.received_date),
                "RegisteredDate" => Some(&mut c.registered_date),
                _ => None,
            };
            match (slot, child.name.as_str()) {
                (Some(slot), _) => *slot = text(&child),
                (None, "Title") => c.titles.push(lang_text(&child)),
                (None, "Description") => c.descriptions.push(lang_text(&child)),
                (None, "OriginatingAgencyArchiveUnitIdentifier") => {
                    c.originating_agency_archive_unit_identifiers.extend(text(&child))
                }
                (None, "Keyword") => c.keywords.push(keyword(&child)),
                _ => {}
            }
        }
        let name = child.name.clone();
        insert_child(&mut raw, name, to_json(child));
    }
    c.raw = Value::Object(raw);
    c
}

fn keyword(node: &Node) -> Keyword {
    let mut k = Keyword::default();
    for child in &node.children {
        match child.name.as_str() {
            "KeywordContent" => k.content = text(child),
            "KeywordReference" => k.reference = text(child),
            "KeywordType" => k.keyword_type = text(child),
            _ => {}
        }
    }
    k
}
