//! Why a received SEDA business message was refused.

use thiserror::Error;

use crate::manifest::ManifestError;

/// A received message Archipel refuses; each variant names the element at fault.
#[derive(Debug, Error)]
pub enum MessageError {
    #[error("the message is {size} bytes, over the limit of {limit} for a SEDA business message: send the message alone, without attachments")]
    TooLarge { size: usize, limit: usize },
    /// Syntax, encoding, DTD, entity or size problems (the reader is the manifest's, so the
    /// text may name "manifest.xml").
    #[error("the message is not acceptable XML: {0}")]
    Xml(#[from] ManifestError),
    #[error("the root element {found} is not in a SEDA 2.1, 2.2 or 2.3 namespace: declare xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\" (or v2.1, v2.3)")]
    NotSeda { found: String },
    #[error("the root element is {found}, not {expected}: send {expected} here")]
    WrongRoot { expected: String, found: String },
    #[error("{message}: {parent} has no {element}, which the SEDA schema requires")]
    Missing {
        message: &'static str,
        element: &'static str,
        parent: String,
    },
    #[error("{message}: the element {element} at line {line} is not allowed there (expected {expected}): follow the element order of the SEDA schema")]
    Unexpected {
        message: &'static str,
        element: String,
        line: u32,
        expected: String,
    },
    #[error("{message}: {element} at line {line} is {value:?}, {reason}")]
    Invalid {
        message: &'static str,
        element: &'static str,
        line: u32,
        value: String,
        reason: &'static str,
    },
}
