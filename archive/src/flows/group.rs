//! Sorting payloads into groups: each main payload (recognised by its root element) with the
//! attachments its flow names for it. Every payload must land in exactly one group.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::definition::{AttachmentSpec, DocumentKind, FieldType, FlowDefinition};
use super::error::FlowError;
use super::xml::{self, RootName, ScanError};

/// A payload after the first checks.
pub struct Payload {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
    /// The root element, or why the file is not XML.
    pub root: Result<RootName, String>,
}

/// A main payload and its attachments.
pub struct Group<'f> {
    pub doc: &'f DocumentKind,
    pub main: usize,
    pub encoding: &'static str,
    /// Extracted fields plus the built-in names.
    pub values: BTreeMap<String, Vec<String>>,
    /// (payload index, attachment spec).
    pub attachments: Vec<(usize, &'f AttachmentSpec)>,
}

pub struct Grouping<'f> {
    pub payloads: Vec<Payload>,
    pub groups: Vec<Group<'f>>,
    pub warnings: Vec<String>,
}

/// Checks the payloads and groups them for `flow`.
pub fn group<'f>(flow: &'f FlowDefinition, paths: &[PathBuf]) -> Result<Grouping<'f>, FlowError> {
    if paths.is_empty() {
        return Err(FlowError::NoPayloads);
    }
    let mut payloads = Vec::with_capacity(paths.len());
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for path in paths {
        let p = inspect(path)?;
        if by_name.insert(p.name.clone(), payloads.len()).is_some() {
            return Err(FlowError::DuplicateName { name: p.name });
        }
        payloads.push(p);
    }

    let mut warnings = Vec::new();
    let mut groups = Vec::new();
    let mut owner: Vec<Option<usize>> = vec![None; payloads.len()];
    for (i, p) in payloads.iter().enumerate() {
        let Ok(root) = &p.root else { continue };
        let Some(doc) = flow.document_for_root(&root.namespace, &root.local) else {
            continue;
        };
        owner[i] = Some(i);
        let scan = xml::extract(&p.path, &doc.fields).map_err(|e| scan_error(&p.path, e))?;
        let mut values = scan.values;
        check_fields(doc, &p.path, &values)?;
        let stem = Path::new(&p.name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (k, v) in [
            ("file_name", p.name.clone()),
            ("file_stem", stem),
            ("flow_id", flow.id.clone()),
            ("flow_name", flow.name.clone()),
            ("kind", doc.kind.clone()),
        ] {
            values.insert(k.to_string(), vec![v]);
        }
        groups.push(Group {
            doc,
            main: i,
            encoding: scan.encoding,
            values,
            attachments: Vec::new(),
        });
    }

    for g in groups.iter_mut() {
        let main = &payloads[g.main];
        for spec in &g.doc.attachments {
            let names = attachment_names(spec, g.doc, &g.values);
            if names.is_empty() {
                if spec.required {
                    return Err(FlowError::MissingAttachment {
                        main: main.path.clone(),
                        attachment: spec.id.clone(),
                        expected: format!("{} (a field it uses is empty)", spec.name.as_str()),
                    });
                }
                continue;
            }
            for expected in names {
                let Some(&j) = by_name.get(&expected) else {
                    if spec.required {
                        return Err(FlowError::MissingAttachment {
                            main: main.path.clone(),
                            attachment: spec.id.clone(),
                            expected,
                        });
                    }
                    warnings.push(format!(
                        "{}: no optional attachment '{}' ({expected})",
                        main.name, spec.id
                    ));
                    continue;
                };
                let att = &payloads[j];
                if let Some(root) = &spec.root {
                    let want = RootName {
                        namespace: spec.namespace.clone().unwrap_or_default(),
                        local: root.clone(),
                    };
                    let found = match &att.root {
                        Ok(r) => r.to_string(),
                        Err(reason) => format!("none (not XML: {reason})"),
                    };
                    if att.root.as_ref().ok() != Some(&want) {
                        return Err(FlowError::AttachmentMismatch {
                            file: att.path.clone(),
                            main: main.path.clone(),
                            attachment: spec.id.clone(),
                            found,
                            expected: want.to_string(),
                        });
                    }
                }
                match owner[j] {
                    // A main payload of its own cannot also be an attachment.
                    Some(first) if first == j => {
                        return Err(FlowError::AttachmentMismatch {
                            file: att.path.clone(),
                            main: main.path.clone(),
                            attachment: spec.id.clone(),
                            found: att.root.as_ref().map(|r| r.to_string()).unwrap_or_default(),
                            expected: "a file that is not itself a main payload of the flow".into(),
                        });
                    }
                    Some(first) => {
                        return Err(FlowError::AmbiguousAttachment {
                            file: att.path.clone(),
                            first: payloads[first].path.clone(),
                            second: main.path.clone(),
                        });
                    }
                    None => {}
                }
                owner[j] = Some(g.main);
                g.attachments.push((j, spec));
            }
        }
    }

    if let Some(i) = owner.iter().position(Option::is_none) {
        let p = &payloads[i];
        return Err(match &p.root {
            Ok(found) => FlowError::Unmatched {
                file: p.path.clone(),
                found: found.to_string(),
                flow: flow.id.clone(),
                expected: expected_roots(flow),
            },
            Err(reason) => FlowError::OrphanFile {
                file: p.path.clone(),
                flow: flow.id.clone(),
                reason: reason.clone(),
            },
        });
    }
    Ok(Grouping {
        payloads,
        groups,
        warnings,
    })
}

/// The roots `flow` accepts, for messages.
pub fn expected_roots(flow: &FlowDefinition) -> String {
    flow.documents
        .iter()
        .map(|d| {
            RootName {
                namespace: d.namespace.clone(),
                local: d.root.clone(),
            }
            .to_string()
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn inspect(path: &Path) -> Result<Payload, FlowError> {
    let meta = std::fs::metadata(path).map_err(|e| FlowError::io(path, "reading payload", e))?;
    if !meta.is_file() {
        return Err(FlowError::NotAFile {
            file: path.to_path_buf(),
        });
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.chars().any(char::is_control))
        .ok_or_else(|| FlowError::NotAFile {
            file: path.to_path_buf(),
        })?
        .to_string();
    if meta.len() == 0 {
        return Err(FlowError::EmptyFile {
            file: path.to_path_buf(),
        });
    }
    let root = match xml::sniff_root(path) {
        Ok(r) => Ok(r),
        Err(ScanError::Xml(reason)) => Err(reason),
        Err(ScanError::Io(e)) => return Err(FlowError::io(path, "reading payload", e)),
    };
    Ok(Payload {
        path: path.to_path_buf(),
        name,
        size: meta.len(),
        modified: meta.modified().ok(),
        root,
    })
}

fn scan_error(path: &Path, e: ScanError) -> FlowError {
    match e {
        ScanError::Io(e) => FlowError::io(path, "reading payload", e),
        ScanError::Xml(reason) => FlowError::NotXml {
            file: path.to_path_buf(),
            reason,
        },
    }
}

fn check_fields(doc: &DocumentKind, path: &Path, values: &BTreeMap<String, Vec<String>>) -> Result<(), FlowError> {
    for (name, spec) in &doc.fields {
        match values.get(name) {
            None if spec.required => {
                return Err(FlowError::MissingField {
                    file: path.to_path_buf(),
                    field: name.clone(),
                    path: spec.path.to_string(),
                })
            }
            Some(vs) if spec.kind == FieldType::Date => {
                for v in vs {
                    if !is_date(v) {
                        return Err(FlowError::InvalidField {
                            file: path.to_path_buf(),
                            field: name.clone(),
                            value: v.clone(),
                            reason: "not a date (expected YYYY-MM-DD)".into(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `YYYY-MM-DD`, a real calendar date.
pub fn is_date(v: &str) -> bool {
    v.len() == 10 && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()
}

/// The file names an attachment spec expects: one per value of the multi-valued field its name
/// uses, else one; none when a field it uses is empty.
fn attachment_names(spec: &AttachmentSpec, doc: &DocumentKind, values: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let multi = spec
        .name
        .fields()
        .find(|f| doc.fields.get(*f).is_some_and(|s| s.multiple));
    match multi {
        None => spec.name.render_complete(values).into_iter().collect(),
        Some(field) => {
            let all = values.get(field).cloned().unwrap_or_default();
            all.into_iter()
                .filter_map(|v| {
                    let mut one = values.clone();
                    one.insert(field.to_string(), vec![v]);
                    spec.name.render_complete(&one)
                })
                .collect()
        }
    }
}
