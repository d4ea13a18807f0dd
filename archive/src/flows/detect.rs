//! Choosing the flow for a payload by its root element.

use std::path::Path;

use super::definition::FlowDefinition;
use super::error::FlowError;
use super::xml::{self, ScanError};

/// The first of `flows` with a document kind whose root element is `payload`'s.
pub fn detect_flow<'f>(flows: &'f [FlowDefinition], payload: &Path) -> Result<&'f FlowDefinition, FlowError> {
    let root = match xml::sniff_root(payload) {
        Ok(r) => r,
        Err(ScanError::Io(e)) => return Err(FlowError::io(payload, "reading payload", e)),
        Err(ScanError::Xml(reason)) => {
            return Err(FlowError::NotXml {
                file: payload.to_path_buf(),
                reason,
            })
        }
    };
    flows
        .iter()
        .find(|f| f.document_for_root(&root.namespace, &root.local).is_some())
        .ok_or_else(|| FlowError::NoFlowMatches {
            file: payload.to_path_buf(),
            found: root.to_string(),
        })
}
