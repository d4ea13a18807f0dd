//! Shared helpers for turning the element tree into the model: text, booleans, ids, paths and
//! the record of extensions.

use serde_json::{Map, Value};

use super::error::ManifestError;
use super::json::{insert_child, to_json};
use super::model::{Extension, LangText};
use super::tree::Node;
use crate::version::SedaVersion;

pub(crate) struct Ctx {
    pub version: SedaVersion,
    pub extensions: Vec<Extension>,
}

impl Ctx {
    /// Keeps a child the model has no field for in `other`; reports it as an extension unless
    /// it is a SEDA element allowed at this place (`known`).
    pub fn keep(&mut self, other: &mut Map<String, Value>, path: &str, child: Node, known: &[&str]) {
        if child.foreign || !known.contains(&child.name.as_str()) {
            self.extensions.push(Extension {
                path: path.to_owned(),
                element: child.name.clone(),
                line: child.line,
            });
        }
        let name = child.name.clone();
        insert_child(other, name, to_json(child));
    }
}

/// Path of `node` below `parent`.
pub(crate) fn child_path(parent: &str, node: &Node) -> String {
    format!("{parent}/{}", node.label())
}

/// The element's text without surrounding whitespace, or None when empty.
pub(crate) fn text(node: &Node) -> Option<String> {
    let t = node.text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

pub(crate) fn lang_text(node: &Node) -> LangText {
    LangText {
        lang: node.attr("xml:lang").map(str::to_owned),
        text: node.text.trim().to_owned(),
    }
}

/// xsd:boolean.
pub(crate) fn boolean(node: &Node, path: &str) -> Result<bool, ManifestError> {
    match node.text.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ManifestError::Invalid {
            path: child_path(path, node),
            line: node.line,
            reason: format!("\"{other}\" is not a boolean: write true or false"),
        }),
    }
}

/// The required `id` attribute of an element.
pub(crate) fn required_id(node: &Node, parent: &str) -> Result<String, ManifestError> {
    match node.attr("id").map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(ManifestError::MissingAttribute {
            path: format!("{parent}/{}", node.name),
            line: node.line,
            attribute: "id".into(),
        }),
    }
}
