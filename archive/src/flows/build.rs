//! `build_sip`: payloads in, one SEDA SIP out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::definition::{FileSpec, FlowDefinition, MismatchPolicy, Rules, SedaVersion};
use super::error::FlowError;
use super::group::{self, is_date, Group, Payload};
use super::manifest::{DataObject, Manifest, Unit, UnitRules};
use super::package::SipWriter;
use super::template::Template;

/// Who sends, who receives, and optional overrides for one build.
#[derive(Clone, Default)]
pub struct BuildContext<'a> {
    /// ArchivalAgency identifier (the archive service).
    pub archival_agency: String,
    /// TransferringAgency identifier (the partner sending).
    pub transferring_agency: String,
    /// OriginatingAgencyIdentifier; the transferring agency when `None`.
    pub originating_agency: Option<String>,
    /// ArchivalAgreement; the flow's `[agreement] id` when `None`.
    pub archival_agreement: Option<String>,
    pub comment: Option<String>,
    /// When given, formats are identified from the bytes; otherwise the flow's declared formats
    /// are written.
    pub identifier: Option<&'a archipel_pronom::Identifier>,
}

/// What was built.
#[derive(Clone, Debug, Serialize)]
pub struct BuildReport {
    pub flow: String,
    pub seda_version: SedaVersion,
    pub sip: PathBuf,
    pub sip_bytes: u64,
    pub message_identifier: String,
    pub groups: Vec<GroupReport>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupReport {
    pub kind: String,
    pub main: String,
    /// The encoding the main payload declared.
    pub encoding: String,
    pub title: String,
    /// Extracted fields (built-in names excluded).
    pub metadata: BTreeMap<String, Vec<String>>,
    pub files: Vec<FileReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub name: String,
    /// `main` or the attachment id.
    pub role: String,
    pub uri: String,
    pub size: u64,
    pub sha512: String,
    pub puid: Option<String>,
    pub mime: Option<String>,
    /// `pronom` when identified from the bytes, `flow` when taken from the definition.
    pub format_source: &'static str,
}

/// Groups `payloads` for `flow`, extracts their metadata and writes a SEDA SIP to `out`
/// (atomically: a temporary file in the same directory, synced, then renamed).
pub fn build_sip(
    flow: &FlowDefinition,
    payloads: &[PathBuf],
    ctx: &BuildContext<'_>,
    out: &Path,
) -> Result<BuildReport, FlowError> {
    for (what, v) in [
        ("archival agency", &ctx.archival_agency),
        ("transferring agency", &ctx.transferring_agency),
    ] {
        if v.trim().is_empty() || v.chars().any(char::is_whitespace) {
            return Err(FlowError::Package {
                path: out.to_path_buf(),
                message: format!("the {what} identifier {v:?} must be non-empty and without spaces"),
            });
        }
    }
    let grouping = group::group(flow, payloads)?;
    let mut warnings = grouping.warnings;
    let message_identifier = format!("ARCHIPEL-{}-{}", flow.id, uuid::Uuid::new_v4());

    // Formats first: a rejected format must stop the build before anything is written.
    let mut formats: Vec<Option<(Format, FileSpec)>> = grouping.payloads.iter().map(|_| None).collect();
    for g in &grouping.groups {
        let files = std::iter::once((g.main, g.doc.file.clone()))
            .chain(g.attachments.iter().map(|(i, spec)| (*i, spec.file_spec())));
        for (i, spec) in files {
            let f = identify(flow, ctx, &grouping.payloads[i], &spec, &mut warnings)?;
            formats[i] = Some((f, spec));
        }
    }

    let mut sip = SipWriter::create(out)?;
    let mut objects = Vec::new();
    let mut units = Vec::new();
    let mut reports = Vec::new();
    for (gi, g) in grouping.groups.iter().enumerate() {
        let main = &grouping.payloads[g.main];
        let mut unit = group_unit(flow, g, main, gi + 1, &mut warnings)?;
        let mut files = Vec::new();
        let members = std::iter::once((g.main, "main".to_string(), None)).chain(
            g.attachments
                .iter()
                .map(|(i, spec)| (*i, spec.id.clone(), spec.rules.as_ref())),
        );
        for (k, (i, role, rules)) in members.enumerate() {
            let p = &grouping.payloads[i];
            let Some((format, spec)) = formats[i].as_ref() else {
                continue;
            };
            let n = objects.len() + 1;
            let uri = format!("content/{n}_{}", sanitize(&p.name));
            let written = sip.add_file(&uri, &p.path, p.size)?;
            let mut values = g.values.clone();
            values.insert("file_name".into(), vec![p.name.clone()]);
            let title = non_blank(spec.label.render(&values)).unwrap_or_else(|| p.name.clone());
            let signatures = super::signature::pdf_signatures(&p.path)
                .map_err(|e| FlowError::io(&p.path, "reading (to find its signature)", e))?;
            unit.children.push(Unit {
                id: format!("AU{}_{}", gi + 1, k + 1),
                level: "Item",
                title,
                description: (!signatures.is_empty()).then(|| super::signature::describe(&signatures)),
                document_type: None,
                identifier: None,
                keywords: Vec::new(),
                start_date: None,
                end_date: None,
                rules: rules.map(|r| unit_rules(r, &g.values, &main.name, &mut warnings)),
                object_group: Some(format!("DOG{n}")),
                children: Vec::new(),
            });
            objects.push(DataObject {
                id: format!("BDO{n}"),
                group_id: format!("DOG{n}"),
                uri: uri.clone(),
                sha512_hex: written.sha512_hex.clone(),
                size: written.size,
                format_name: format.name.clone(),
                mime: format.mime.clone(),
                puid: format.puid.clone(),
                filename: p.name.clone(),
                last_modified: p.modified.map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string()
                }),
            });
            files.push(FileReport {
                name: p.name.clone(),
                role,
                uri,
                size: written.size,
                sha512: written.sha512_hex,
                puid: format.puid.clone(),
                mime: format.mime.clone(),
                format_source: format.source,
            });
        }
        let metadata = g
            .values
            .iter()
            .filter(|(k, _)| g.doc.fields.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        reports.push(GroupReport {
            kind: g.doc.kind.clone(),
            main: main.name.clone(),
            encoding: g.encoding.to_string(),
            title: unit.title.clone(),
            metadata,
            files,
        });
        units.push(unit);
    }

    let manifest = Manifest {
        version: flow.seda_version,
        comment: ctx
            .comment
            .clone()
            .or_else(|| Some(format!("{} ({})", flow.name, flow.id))),
        date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        message_identifier: message_identifier.clone(),
        archival_agreement: ctx
            .archival_agreement
            .clone()
            .unwrap_or_else(|| flow.agreement.id.clone()),
        archival_profile: flow.profile.id.clone(),
        originating_agency: ctx
            .originating_agency
            .clone()
            .unwrap_or_else(|| ctx.transferring_agency.clone()),
        submission_agency: ctx.transferring_agency.clone(),
        archival_agency: ctx.archival_agency.clone(),
        transferring_agency: ctx.transferring_agency.clone(),
        objects,
        units,
    };
    sip.add_entry("manifest.xml", |w| manifest.write_to(w))?;
    let sip_bytes = sip.commit()?;
    Ok(BuildReport {
        flow: flow.id.clone(),
        seda_version: flow.seda_version,
        sip: out.to_path_buf(),
        sip_bytes,
        message_identifier,
        groups: reports,
        warnings,
    })
}

/// The unit describing one payload group, with its rules; children are added by the caller.
fn group_unit(
    flow: &FlowDefinition,
    g: &Group<'_>,
    main: &Payload,
    number: usize,
    warnings: &mut Vec<String>,
) -> Result<Unit, FlowError> {
    let doc = g.doc;
    let render = |t: &Option<Template>| {
        t.as_ref()
            .and_then(|t| t.render_complete(&g.values))
            .and_then(non_blank)
    };
    let date = |key: &str, t: &Option<Template>| -> Result<Option<String>, FlowError> {
        match render(t) {
            Some(v) if !is_date(&v) => Err(FlowError::InvalidField {
                file: main.path.clone(),
                field: key.to_string(),
                value: v,
                reason: "the rendered date is not YYYY-MM-DD; fix the flow's template or the field's path".into(),
            }),
            other => Ok(other),
        }
    };
    let title = non_blank(doc.title.render(&g.values)).unwrap_or_else(|| main.name.clone());
    let keywords: Vec<_> = doc
        .keywords
        .iter()
        .filter_map(|k| {
            k.value
                .render_complete(&g.values)
                .and_then(non_blank)
                .map(|v| (k.kind, v))
        })
        .collect();
    let unit = Unit {
        id: format!("AU{number}"),
        level: doc.level.as_str(),
        title,
        description: render(&doc.description),
        document_type: render(&doc.document_type),
        identifier: render(&doc.identifier),
        keywords,
        start_date: date("start_date", &doc.start_date)?,
        end_date: date("end_date", &doc.end_date)?,
        rules: Some(unit_rules(
            &doc.rules_for(&flow.rules, &g.values),
            &g.values,
            &main.name,
            warnings,
        )),
        object_group: None,
        children: Vec::new(),
    };
    for element in &flow.profile.required_elements {
        use super::definition::DescriptiveElement as E;
        let present = match element {
            E::Title => !unit.title.is_empty(),
            E::Description => unit.description.is_some(),
            E::DocumentType => unit.document_type.is_some(),
            E::OriginatingAgencyArchiveUnitIdentifier => unit.identifier.is_some(),
            E::Keyword => !unit.keywords.is_empty(),
            E::StartDate => unit.start_date.is_some(),
            E::EndDate => unit.end_date.is_some(),
        };
        if !present {
            return Err(FlowError::ProfileViolation {
                file: main.path.clone(),
                element: element.as_str().to_string(),
            });
        }
    }
    Ok(unit)
}

fn unit_rules(
    rules: &Rules,
    values: &BTreeMap<String, Vec<String>>,
    main: &str,
    warnings: &mut Vec<String>,
) -> UnitRules {
    let mut start = |rule: &str, t: &Option<Template>| -> Option<String> {
        let t = t.as_ref()?;
        match t.render_complete(values).and_then(non_blank) {
            Some(v) if is_date(&v) => Some(v),
            Some(v) => {
                warnings.push(format!(
                    "{main}: rule {rule}: start date {v:?} is not YYYY-MM-DD; written without a start date"
                ));
                None
            }
            None => {
                warnings.push(format!(
                    "{main}: rule {rule}: no start date (a field of '{}' is empty)",
                    t.as_str()
                ));
                None
            }
        }
    };
    let appraisal = rules
        .appraisal
        .as_ref()
        .map(|a| (a.rule.clone(), start(&a.rule, &a.start_date), a.final_action));
    let access = rules
        .access
        .as_ref()
        .map(|a| (a.rule.clone(), start(&a.rule, &a.start_date)));
    UnitRules { appraisal, access }
}

struct Format {
    puid: Option<String>,
    mime: Option<String>,
    name: Option<String>,
    source: &'static str,
}

/// The file's format (identified, or declared by the flow), checked against the profile and
/// the agreement.
fn identify(
    flow: &FlowDefinition,
    ctx: &BuildContext<'_>,
    p: &Payload,
    spec: &FileSpec,
    warnings: &mut Vec<String>,
) -> Result<Format, FlowError> {
    let declared = Format {
        puid: spec.puid.clone(),
        mime: spec.mime.clone(),
        name: spec.format_name.clone(),
        source: "flow",
    };
    let format = match ctx.identifier {
        None => declared,
        Some(id) => {
            let found = id.identify_path(&p.path).map_err(|e| FlowError::Identification {
                file: p.path.clone(),
                message: e.to_string(),
            })?;
            match found.puid.clone() {
                Some(puid) => {
                    if let Some(d) = &spec.puid {
                        if d != &puid {
                            warnings.push(format!(
                                "{}: the flow declares {d}, PRONOM identifies {puid} ({})",
                                p.name, found.basis
                            ));
                        }
                    }
                    let mime = found
                        .mime
                        .as_deref()
                        .map(|m| m.split(',').next().unwrap_or(m).trim().to_string());
                    Format {
                        puid: Some(puid),
                        mime: mime.or(declared.mime),
                        name: found.format.clone(),
                        source: "pronom",
                    }
                }
                None => {
                    warnings.push(format!(
                        "{}: PRONOM does not identify the format; using the flow's declaration",
                        p.name
                    ));
                    declared
                }
            }
        }
    };
    for (by, allowed) in [
        (format!("profile {}", flow.profile.id), &flow.profile.allowed_formats),
        (
            format!("agreement {}", flow.agreement.id),
            &flow.agreement.allowed_formats,
        ),
    ] {
        if allowed.is_empty() || format.puid.as_ref().is_some_and(|p| allowed.contains(p)) {
            continue;
        }
        let puid = format.puid.clone().unwrap_or_else(|| "unknown".into());
        match flow.agreement.on_format_mismatch {
            MismatchPolicy::Reject => {
                return Err(FlowError::FormatRejected {
                    file: p.path.clone(),
                    puid,
                    by,
                    allowed: allowed.join(", "),
                })
            }
            MismatchPolicy::Warn => warnings.push(format!(
                "{}: format {puid} is not allowed by {by} (allowed: {})",
                p.name,
                allowed.join(", ")
            )),
        }
    }
    Ok(format)
}

fn non_blank(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Zip entry names keep ASCII letters, digits, '.', '-' and '_'; the original name is in the
/// manifest's Filename.
fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.trim_start_matches('.').to_string()
}
