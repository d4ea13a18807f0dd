//! Reading flow definitions: TOML text, a file, a directory, or the flows shipped with Archipel.
//! Everything serde cannot check alone (names, cross-references, uniqueness) is checked here.

use std::collections::BTreeSet;
use std::path::Path;

use super::definition::{DocumentKind, FlowDefinition, Rules};
use super::error::FlowError;
use super::template::{is_name, Template, BUILTIN_NAMES};

/// The flows shipped with Archipel: (file name, TOML text).
pub const BUILTIN_FLOWS: &[(&str, &str)] = &[
    ("actes.toml", include_str!("../../flows/actes.toml")),
    ("pes.toml", include_str!("../../flows/pes.toml")),
    ("marches.toml", include_str!("../../flows/marches.toml")),
];

/// Flow definitions larger than this are refused: a flow is a page of configuration.
const MAX_DEFINITION_BYTES: u64 = 1 << 20;

impl FlowDefinition {
    /// Parses and checks a definition; `source_name` (usually the file name) prefixes errors.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<FlowDefinition, FlowError> {
        let flow: FlowDefinition = toml::from_str(text)
            .map_err(|e| FlowError::definition(source_name, e.to_string().trim_end().to_string()))?;
        flow.validate().map_err(|m| FlowError::definition(source_name, m))?;
        Ok(flow)
    }

    /// Reads and checks one definition file.
    pub fn load(path: &Path) -> Result<FlowDefinition, FlowError> {
        let meta = std::fs::metadata(path).map_err(|e| FlowError::io(path, "reading flow definition", e))?;
        if meta.len() > MAX_DEFINITION_BYTES {
            return Err(FlowError::definition(
                &path.display().to_string(),
                format!(
                    "{} bytes is more than a flow definition may hold ({MAX_DEFINITION_BYTES})",
                    meta.len()
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| FlowError::io(path, "reading flow definition", e))?;
        FlowDefinition::from_toml_str(&text, &path.display().to_string())
    }

    /// The document kind whose root element is `{namespace}local`, if any.
    pub fn document_for_root(&self, namespace: &str, local: &str) -> Option<&DocumentKind> {
        self.documents
            .iter()
            .find(|d| d.root == local && d.namespace == namespace)
    }

    fn validate(&self) -> Result<(), String> {
        check_id("id", &self.id)?;
        for (key, value) in [("name", &self.name), ("description", &self.description)] {
            if value.trim().is_empty() {
                return Err(format!("key '{key}' is empty; say what the flow is"));
            }
        }
        if self.documents.is_empty() {
            return Err("no [[document]]: a flow needs at least one kind of main payload".into());
        }
        let mut kinds = BTreeSet::new();
        let mut roots = BTreeSet::new();
        for doc in &self.documents {
            let at = format!("document '{}'", doc.kind);
            check_id(&format!("{at}: key 'kind'"), &doc.kind)?;
            if !kinds.insert(&doc.kind) {
                return Err(format!("{at} is declared twice; kinds must be unique"));
            }
            if !roots.insert((&doc.namespace, &doc.root)) {
                return Err(format!(
                    "{at}: another document already has root {{{}}}{}",
                    doc.namespace, doc.root
                ));
            }
            validate_document(doc, &at, &self.rules)?;
        }
        check_rules(&self.rules, "[rules]")?;
        check_token("[profile] key 'id'", &self.profile.id)?;
        for (key, list) in [
            ("[profile] allowed_formats", &self.profile.allowed_formats),
            ("[agreement] allowed_formats", &self.agreement.allowed_formats),
        ] {
            for puid in list {
                check_puid(puid).map_err(|e| format!("{key}: {e}"))?;
            }
        }
        check_token("[agreement] key 'id'", &self.agreement.id)?;
        if self.agreement.name.trim().is_empty() {
            return Err("[agreement] key 'name' is empty".into());
        }
        check_id(
            "[agreement] key 'storage_namespace_suffix'",
            &self.agreement.storage_namespace_suffix,
        )?;
        Ok(())
    }
}

/// Reads every `*.toml` in `dir`, sorted by name; flow ids must be unique.
pub fn load_dir(dir: &Path) -> Result<Vec<FlowDefinition>, FlowError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FlowError::io(dir, "listing flow definitions in", e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FlowError::io(dir, "listing flow definitions in", e))?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let flows = paths
        .iter()
        .map(|p| FlowDefinition::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_ids(&flows, &dir.display().to_string())?;
    Ok(flows)
}

/// The flows shipped with Archipel, parsed.
pub fn builtin_flows() -> Result<Vec<FlowDefinition>, FlowError> {
    let flows = BUILTIN_FLOWS
        .iter()
        .map(|(name, text)| FlowDefinition::from_toml_str(text, name))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_ids(&flows, "built-in flows")?;
    Ok(flows)
}

fn check_unique_ids(flows: &[FlowDefinition], source_name: &str) -> Result<(), FlowError> {
    let mut seen = BTreeSet::new();
    for flow in flows {
        if !seen.insert(&flow.id) {
            return Err(FlowError::definition(
                source_name,
                format!("two flows have id '{}'", flow.id),
            ));
        }
    }
    Ok(())
}

fn validate_document(doc: &DocumentKind, at: &str, flow_rules: &Rules) -> Result<(), String> {
    if doc.root.trim().is_empty() {
        return Err(format!("{at}: key 'root' is empty; give the root element's local name"));
    }
    for name in doc.fields.keys() {
        if !is_name(name) {
            return Err(format!("{at}: field name '{name}' must be letters, digits and '_'"));
        }
        if BUILTIN_NAMES.contains(&name.as_str()) {
            return Err(format!(
                "{at}: field name '{name}' is reserved (built-in names: {})",
                BUILTIN_NAMES.join(", ")
            ));
        }
    }
    let known = |t: &Template, key: &str| -> Result<(), String> {
        for f in t.fields() {
            if !doc.fields.contains_key(f) && !BUILTIN_NAMES.contains(&f) {
                return Err(format!(
                    "{at}: key '{key}' uses {{{f}}}, which is neither a field of this document nor a built-in name ({})",
                    BUILTIN_NAMES.join(", ")
                ));
            }
        }
        Ok(())
    };
    known(&doc.title, "title")?;
    let optional = [
        ("description", &doc.description),
        ("document_type", &doc.document_type),
        ("identifier", &doc.identifier),
        ("start_date", &doc.start_date),
        ("end_date", &doc.end_date),
    ];
    for (key, t) in optional {
        if let Some(t) = t {
            known(t, key)?;
        }
    }
    for k in &doc.keywords {
        known(&k.value, "keywords.value")?;
    }
    known(&doc.file.label, "file.label")?;
    check_format(&doc.file.puid, &format!("{at}: [document.file]"))?;
    let mut ids = BTreeSet::new();
    for a in &doc.attachments {
        let at_a = format!("{at}: attachment '{}'", a.id);
        check_id(&format!("{at_a}: key 'id'"), &a.id)?;
        if !ids.insert(&a.id) {
            return Err(format!("{at_a} is declared twice"));
        }
        known(&a.name, "attachment.name")?;
        let multi = a
            .name
            .fields()
            .filter(|f| doc.fields.get(*f).is_some_and(|s| s.multiple))
            .count();
        if multi > 1 {
            return Err(format!(
                "{at_a}: key 'name' uses {multi} multiple fields; it may use at most one"
            ));
        }
        known(&a.label, "attachment.label")?;
        if a.name.as_str().contains('/') || a.name.as_str().contains('\\') {
            return Err(format!("{at_a}: key 'name' must be a file name, without '/' or '\\'"));
        }
        if a.namespace.is_some() && a.root.is_none() {
            return Err(format!("{at_a}: key 'namespace' needs key 'root'"));
        }
        check_format(&a.puid, &at_a)?;
        if let Some(r) = &a.rules {
            check_rules(r, &format!("{at_a}: rules"))?;
            check_rule_templates(r, &known)?;
        }
    }
    if let Some(r) = &doc.rules {
        check_rules(r, &format!("{at}: rules"))?;
    }
    check_rule_templates(doc.rules.as_ref().unwrap_or(flow_rules), &known)?;
    for (n, case) in doc.rules_when.iter().enumerate() {
        let at_c = format!("{at}: rules_when[{n}]");
        if !doc.fields.contains_key(&case.field) {
            return Err(format!(
                "{at_c}: key 'field' names '{}', which is not a field of this document",
                case.field
            ));
        }
        if case.basis.trim().is_empty() {
            return Err(format!("{at_c}: key 'basis' is empty; cite the text the rules apply"));
        }
        if case.appraisal.is_none() && case.access.is_none() {
            return Err(format!("{at_c}: sets no rule; give 'appraisal' or 'access'"));
        }
        let rules = Rules {
            appraisal: case.appraisal.clone(),
            access: case.access.clone(),
        };
        check_rules(&rules, &at_c)?;
        check_rule_templates(&rules, &known)?;
    }
    Ok(())
}

fn check_rule_templates(rules: &Rules, known: &dyn Fn(&Template, &str) -> Result<(), String>) -> Result<(), String> {
    if let Some(t) = rules.appraisal.as_ref().and_then(|a| a.start_date.as_ref()) {
        known(t, "rules.appraisal.start_date")?;
    }
    if let Some(t) = rules.access.as_ref().and_then(|a| a.start_date.as_ref()) {
        known(t, "rules.access.start_date")?;
    }
    Ok(())
}

fn check_rules(rules: &Rules, at: &str) -> Result<(), String> {
    if let Some(a) = &rules.appraisal {
        check_token(&format!("{at}: appraisal.rule"), &a.rule)?;
    }
    if let Some(a) = &rules.access {
        check_token(&format!("{at}: access.rule"), &a.rule)?;
    }
    Ok(())
}

fn check_format(puid: &Option<String>, at: &str) -> Result<(), String> {
    match puid {
        Some(p) => check_puid(p).map_err(|e| format!("{at}: {e}")),
        None => Ok(()),
    }
}

/// `fmt/NNN` or `x-fmt/NNN`.
fn check_puid(puid: &str) -> Result<(), String> {
    let number = puid.strip_prefix("fmt/").or_else(|| puid.strip_prefix("x-fmt/"));
    match number {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(format!("'{puid}' is not a PRONOM identifier (fmt/NNN or x-fmt/NNN)")),
    }
}

/// Identifiers that end up in names: lower-case ASCII letters, digits, '-', 1 to 64 characters.
fn check_id(key: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key} = {value:?}: use 1 to 64 lower-case letters, digits or '-'"
        ))
    }
}

/// Values written as SEDA identifiers (rule ids, profile, agreement): non-empty, no spaces.
fn check_token(key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 128 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!(
            "{key} = {value:?}: use a non-empty identifier without spaces, at most 128 characters"
        ))
    } else {
        Ok(())
    }
}
