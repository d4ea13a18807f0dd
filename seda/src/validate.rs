//! Structural checks of a parsed ArchiveTransfer: ids, references, the unit graph, object
//! locations, digests and sizes. Each problem is reported with the id, URI or element at fault;
//! an empty list means the manifest is sound (its files are checked against it elsewhere).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::digest::{decode_value, DigestAlgorithm, DigestError};
use crate::manifest::{ArchiveTransfer, BinaryDataObject, UnitGraph};

pub use crate::manifest::FlatUnit;

/// One structural problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum StructureError {
    #[error("the message has no {element}: add it")]
    MissingElement { element: &'static str },
    #[error("DescriptiveMetadata has no ArchiveUnit: describe at least one unit")]
    NoArchiveUnit,
    #[error("the id {id} is used by {first} and again by {second}: give each its own id")]
    DuplicateId { id: String, first: String, second: String },
    #[error("ArchiveUnit {unit} (line {line}) references the data object {reference}, which is not in the manifest: fix DataObjectReferenceId or add the object")]
    UnresolvedObjectReference { unit: String, reference: String, line: u32 },
    #[error("ArchiveUnit {unit} (line {line}) references the data object group {reference}, which is not in the manifest: fix DataObjectGroupReferenceId or add the group")]
    UnresolvedGroupReference { unit: String, reference: String, line: u32 },
    #[error("ArchiveUnit {unit} (line {line}) has an empty DataObjectReference: give a DataObjectReferenceId or DataObjectGroupReferenceId")]
    EmptyObjectReference { unit: String, line: u32 },
    #[error("data object {object} (line {line}) joins the group {reference}, which no object or DataObjectGroup opens: fix DataObjectGroupReferenceId")]
    UnresolvedObjectGroup {
        object: String,
        reference: String,
        line: u32,
    },
    #[error("data object {object} (line {line}) is referenced by no ArchiveUnit (directly or through its group): reference it or remove it")]
    UnreferencedObject { object: String, line: u32 },
    #[error("ArchiveUnit {unit} (line {line}) links with ArchiveUnitRefId to {target}, which is not an ArchiveUnit of the manifest")]
    UnresolvedUnitLink { unit: String, target: String, line: u32 },
    #[error("the ArchiveUnits form a cycle {}: a unit cannot be its own ancestor, remove one link", path.join(" -> "))]
    UnitCycle { path: Vec<String> },
    #[error("BinaryDataObject {object} (line {line}) has neither Uri nor Attachment: say where its content is")]
    NoLocation { object: String, line: u32 },
    #[error("BinaryDataObject {object} (line {line}) has both Uri and Attachment: keep one")]
    TwoLocations { object: String, line: u32 },
    #[error("BinaryDataObject {object} (line {line}) has the Uri \"{uri}\", which {reason}: use a relative path inside the SIP such as content/file.pdf")]
    BadUri {
        object: String,
        uri: String,
        reason: &'static str,
        line: u32,
    },
    #[error("BinaryDataObjects {first} and {second} have the same Uri \"{uri}\": each object needs its own file")]
    DuplicateUri { uri: String, first: String, second: String },
    #[error("BinaryDataObject {object} (line {line}) has no MessageDigest: add its SHA-256 or SHA-512")]
    MissingDigest { object: String, line: u32 },
    #[error("BinaryDataObject {object} (line {line}) has a MessageDigest without algorithm attribute: add algorithm=\"SHA-512\"")]
    MissingDigestAlgorithm { object: String, line: u32 },
    #[error("BinaryDataObject {object} (line {line}): {reason}")]
    UnknownDigestAlgorithm { object: String, reason: String, line: u32 },
    #[error(
        "BinaryDataObject {object} (line {line}) declares an MD5 digest, which is broken: declare SHA-256 or SHA-512"
    )]
    Md5Digest { object: String, line: u32 },
    #[error("BinaryDataObject {object} (line {line}) has a {algorithm} digest that is not {len} bytes in hex or base64: recompute it")]
    MalformedDigest {
        object: String,
        algorithm: DigestAlgorithm,
        len: usize,
        line: u32,
    },
    #[error("BinaryDataObject {object} (line {line}) has the Size \"{size}\", which is not a non-negative integer number of bytes")]
    BadSize { object: String, size: String, line: u32 },
}

impl StructureError {
    /// A stable code for the problem, for replies and logs.
    pub fn code(&self) -> &'static str {
        match self {
            StructureError::MissingElement { .. } => "missing_element",
            StructureError::NoArchiveUnit => "no_archive_unit",
            StructureError::DuplicateId { .. } => "duplicate_id",
            StructureError::UnresolvedObjectReference { .. } => "unresolved_object_reference",
            StructureError::UnresolvedGroupReference { .. } => "unresolved_group_reference",
            StructureError::EmptyObjectReference { .. } => "empty_object_reference",
            StructureError::UnresolvedObjectGroup { .. } => "unresolved_object_group",
            StructureError::UnreferencedObject { .. } => "unreferenced_object",
            StructureError::UnresolvedUnitLink { .. } => "unresolved_unit_link",
            StructureError::UnitCycle { .. } => "unit_cycle",
            StructureError::NoLocation { .. } => "no_location",
            StructureError::TwoLocations { .. } => "two_locations",
            StructureError::BadUri { .. } => "bad_uri",
            StructureError::DuplicateUri { .. } => "duplicate_uri",
            StructureError::MissingDigest { .. } => "missing_digest",
            StructureError::MissingDigestAlgorithm { .. } => "missing_digest_algorithm",
            StructureError::UnknownDigestAlgorithm { .. } => "unknown_digest_algorithm",
            StructureError::Md5Digest { .. } => "md5_digest",
            StructureError::MalformedDigest { .. } => "malformed_digest",
            StructureError::BadSize { .. } => "bad_size",
        }
    }
}

/// Every structural problem of `t`; empty when it is sound.
pub fn check_structure(t: &ArchiveTransfer) -> Vec<StructureError> {
    let mut errors = Vec::new();
    check_header(t, &mut errors);
    check_ids(t, &mut errors);
    check_references(t, &mut errors);
    check_units(t, &mut errors);
    let mut uris: HashMap<String, &str> = HashMap::new();
    for (object, _) in t.binary_objects() {
        check_location(object, &mut uris, &mut errors);
        check_digest(object, &mut errors);
        if object.size.is_some() && object.size_bytes().is_none() {
            errors.push(StructureError::BadSize {
                object: object.id.clone(),
                size: object.size.clone().unwrap_or_default(),
                line: object.line,
            });
        }
    }
    errors
}

/// The described units (links resolved, link units left out) with their parents, parents
/// before children, for one catalog record per unit. Fails on a cycle.
pub fn units_in_order(t: &ArchiveTransfer) -> Result<Vec<FlatUnit<'_>>, StructureError> {
    let graph = UnitGraph::new(t);
    graph.flatten().ok_or_else(|| {
        let path = graph.cycles().into_iter().next().unwrap_or_default();
        StructureError::UnitCycle {
            path: path.into_iter().map(str::to_owned).collect(),
        }
    })
}

fn check_header(t: &ArchiveTransfer, errors: &mut Vec<StructureError>) {
    let missing = [
        ("MessageIdentifier", t.message_identifier.is_none()),
        (
            "ArchivalAgency/Identifier",
            t.archival_agency.as_ref().and_then(|a| a.identifier.as_ref()).is_none(),
        ),
        (
            "TransferringAgency/Identifier",
            t.transferring_agency
                .as_ref()
                .and_then(|a| a.identifier.as_ref())
                .is_none(),
        ),
    ];
    for (element, absent) in missing {
        if absent {
            errors.push(StructureError::MissingElement { element });
        }
    }
    if t.all_units().is_empty() {
        errors.push(StructureError::NoArchiveUnit);
    }
}

/// Ids share one space in the document (xsd:ID), whatever element carries them.
fn check_ids(t: &ArchiveTransfer, errors: &mut Vec<StructureError>) {
    let mut owners: Vec<(&str, String)> = Vec::new();
    owners.extend(t.xml_id.as_deref().map(|id| (id, "ArchiveTransfer".to_owned())));
    if let Some(p) = &t.package {
        owners.extend(p.xml_id.as_deref().map(|id| (id, "DataObjectPackage".to_owned())));
        for g in &p.groups {
            owners.push((&g.id, format!("DataObjectGroup (line {})", g.line)));
        }
    }
    for (o, _) in t.data_objects() {
        owners.push((o.id(), format!("data object (line {})", o.line())));
        if let Some(gid) = &o.group_fields().data_object_group_id {
            owners.push((gid, format!("DataObjectGroupId (line {})", o.line())));
        }
    }
    for u in t.all_units() {
        owners.push((&u.id, format!("ArchiveUnit (line {})", u.line)));
    }
    let mut seen: HashMap<&str, String> = HashMap::new();
    for (id, owner) in owners {
        match seen.get(id) {
            Some(first) => errors.push(StructureError::DuplicateId {
                id: id.to_owned(),
                first: first.clone(),
                second: owner,
            }),
            None => {
                seen.insert(id, owner);
            }
        }
    }
}

fn check_references(t: &ArchiveTransfer, errors: &mut Vec<StructureError>) {
    let objects = t.data_objects();
    let object_ids: HashSet<&str> = objects.iter().map(|(o, _)| o.id()).collect();
    let mut group_ids: HashSet<&str> = t
        .package
        .iter()
        .flat_map(|p| p.groups.iter().map(|g| g.id.as_str()))
        .collect();
    group_ids.extend(
        objects
            .iter()
            .filter_map(|(o, _)| o.group_fields().data_object_group_id.as_deref()),
    );
    for (o, _) in &objects {
        if let Some(r) = &o.group_fields().data_object_group_reference_id {
            if !group_ids.contains(r.as_str()) {
                errors.push(StructureError::UnresolvedObjectGroup {
                    object: o.id().to_owned(),
                    reference: r.clone(),
                    line: o.line(),
                });
            }
        }
    }
    let mut referenced_objects: HashSet<&str> = HashSet::new();
    let mut referenced_groups: HashSet<&str> = HashSet::new();
    for u in t.all_units() {
        for r in &u.data_object_references {
            match (&r.data_object_reference_id, &r.data_object_group_reference_id) {
                (Some(id), _) if !object_ids.contains(id.as_str()) => {
                    errors.push(StructureError::UnresolvedObjectReference {
                        unit: u.id.clone(),
                        reference: id.clone(),
                        line: r.line,
                    })
                }
                (Some(id), _) => {
                    referenced_objects.insert(id);
                }
                (None, Some(id)) if !group_ids.contains(id.as_str()) => {
                    errors.push(StructureError::UnresolvedGroupReference {
                        unit: u.id.clone(),
                        reference: id.clone(),
                        line: r.line,
                    })
                }
                (None, Some(id)) => {
                    referenced_groups.insert(id);
                }
                (None, None) => errors.push(StructureError::EmptyObjectReference {
                    unit: u.id.clone(),
                    line: r.line,
                }),
            }
        }
    }
    // A grouped object is referenced through its group (SEDA's DataObjectVersionGroup): naming
    // one version attaches the whole group, as Vitam reads it.
    for (o, group) in &objects {
        if let Some(g) = group.filter(|_| referenced_objects.contains(o.id())) {
            referenced_groups.insert(g);
        }
    }
    for (o, group) in &objects {
        let via_group = group.is_some_and(|g| referenced_groups.contains(g));
        if !via_group && !referenced_objects.contains(o.id()) {
            errors.push(StructureError::UnreferencedObject {
                object: o.id().to_owned(),
                line: o.line(),
            });
        }
    }
}

fn check_units(t: &ArchiveTransfer, errors: &mut Vec<StructureError>) {
    let graph = UnitGraph::new(t);
    for u in &graph.units {
        if let Some(target) = &u.archive_unit_ref_id {
            if !graph.index.contains_key(target.as_str()) {
                errors.push(StructureError::UnresolvedUnitLink {
                    unit: u.id.clone(),
                    target: target.clone(),
                    line: u.line,
                });
            }
        }
    }
    for path in graph.cycles() {
        errors.push(StructureError::UnitCycle {
            path: path.into_iter().map(str::to_owned).collect(),
        });
    }
}

fn check_location<'a>(
    object: &'a BinaryDataObject,
    uris: &mut HashMap<String, &'a str>,
    errors: &mut Vec<StructureError>,
) {
    let (object_id, line) = (object.id.clone(), object.line);
    match (&object.uri, &object.attachment) {
        (None, None) => errors.push(StructureError::NoLocation {
            object: object_id,
            line,
        }),
        (Some(_), Some(_)) => errors.push(StructureError::TwoLocations {
            object: object_id,
            line,
        }),
        (None, Some(_)) => {}
        (Some(uri), None) => match uri_problem(uri) {
            Some(reason) => errors.push(StructureError::BadUri {
                object: object_id,
                uri: uri.clone(),
                reason,
                line,
            }),
            None => {
                let key = normalize_uri(uri);
                if let Some(first) = uris.get(&key) {
                    errors.push(StructureError::DuplicateUri {
                        uri: uri.clone(),
                        first: (*first).to_owned(),
                        second: object_id,
                    });
                } else {
                    uris.insert(key, &object.id);
                }
            }
        },
    }
}

/// Why a Uri cannot name a file inside the SIP, if it cannot.
fn uri_problem(uri: &str) -> Option<&'static str> {
    let decoded = percent_decode(uri);
    for form in [uri, decoded.as_str()] {
        if form.is_empty() {
            return Some("is empty");
        }
        if form.contains('\\') {
            return Some("contains a backslash (use /)");
        }
        if form.chars().any(char::is_control) {
            return Some("contains control characters");
        }
        if form.starts_with('/') {
            return Some("is absolute");
        }
        if let Some((scheme, _)) = form.split_once(':') {
            let is_scheme = scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if scheme.len() == 1 && is_scheme {
                return Some("starts with a drive letter");
            }
            if is_scheme && scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Some("is an absolute URI with a scheme");
            }
        }
        if form.split('/').any(|seg| seg == "..") {
            return Some("climbs out of the SIP with \"..\"");
        }
    }
    None
}

/// The path a Uri names, for spotting two spellings of the same file.
fn normalize_uri(uri: &str) -> String {
    percent_decode(uri)
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// %XX decoding; malformed escapes are kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // Byte-wise: slicing the str could cut a multi-byte character.
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_digest(object: &BinaryDataObject, errors: &mut Vec<StructureError>) {
    let (id, line) = (object.id.clone(), object.line);
    let Some(digest) = &object.message_digest else {
        errors.push(StructureError::MissingDigest { object: id, line });
        return;
    };
    let Some(name) = &digest.algorithm else {
        errors.push(StructureError::MissingDigestAlgorithm { object: id, line });
        return;
    };
    match DigestAlgorithm::parse(name) {
        Err(DigestError::Md5(_)) => errors.push(StructureError::Md5Digest { object: id, line }),
        Err(e) => errors.push(StructureError::UnknownDigestAlgorithm {
            object: id,
            reason: e.to_string(),
            line,
        }),
        Ok(algorithm) => {
            if decode_value(&digest.value).map(|v| v.len()) != Some(algorithm.output_len()) {
                errors.push(StructureError::MalformedDigest {
                    object: id,
                    algorithm,
                    len: algorithm.output_len(),
                    line,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_rules() {
        for ok in ["content/a.pdf", "Content/ID13.txt", "a%20b.txt", "./x/y", "dir/.hidden"] {
            assert_eq!(uri_problem(ok), None, "{ok}");
        }
        let bad = [
            ("/etc/passwd", "is absolute"),
            ("C:/x", "starts with a drive letter"),
            ("c:x", "starts with a drive letter"),
            ("file:///etc/passwd", "is an absolute URI with a scheme"),
            ("content\\a.pdf", "contains a backslash (use /)"),
            ("content/../../x", "climbs out of the SIP with \"..\""),
            ("content/%2e%2e/x", "climbs out of the SIP with \"..\""),
            ("%2Fetc", "is absolute"),
            ("", "is empty"),
        ];
        for (uri, reason) in bad {
            assert_eq!(uri_problem(uri), Some(reason), "{uri}");
        }
        assert_eq!(normalize_uri("./content//a%20b"), normalize_uri("content/a b"));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
    }
}
