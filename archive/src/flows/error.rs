//! Everything that can go wrong loading a flow or building a SIP, each naming the file, key or
//! field at fault and saying what to do.

use std::path::PathBuf;

/// An error from flow definitions or from [`build_sip`](super::build_sip).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("flow definition {source_name}: {message}")]
    Definition { source_name: String, message: String },

    #[error("{action} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("no payload given: pass at least one file of the flow")]
    NoPayloads,

    #[error("payload {}: not a regular file; pass files, not directories or devices", file.display())]
    NotAFile { file: PathBuf },

    #[error("payload {}: the file is empty; an empty file cannot be archived (check the export that produced it)", file.display())]
    EmptyFile { file: PathBuf },

    #[error("two payloads are named {name}: a SIP names its files uniquely; rename one of them")]
    DuplicateName { name: String },

    #[error("payload {}: not well-formed XML ({reason}); a main payload of this flow must be XML", file.display())]
    NotXml { file: PathBuf, reason: String },

    #[error(
        "payload {}: not XML ({reason}) and no main payload of flow '{flow}' names it as an attachment; \
         send it with the XML payload it belongs to, or check its name",
        file.display()
    )]
    OrphanFile {
        file: PathBuf,
        flow: String,
        reason: String,
    },

    #[error(
        "payload {}: root element {found} matches no document of flow '{flow}' (expects {expected}) \
         and no main payload names it as an attachment; choose the flow this file belongs to",
        file.display()
    )]
    Unmatched {
        file: PathBuf,
        found: String,
        flow: String,
        expected: String,
    },

    #[error("payload {}: root element {found} matches none of the installed flows; install a flow for it first", file.display())]
    NoFlowMatches { file: PathBuf, found: String },

    #[error(
        "payload {}: required field '{field}' ({path}) is missing or empty; the sender must fill it, \
         or the flow must mark it optional",
        file.display()
    )]
    MissingField { file: PathBuf, field: String, path: String },

    #[error("payload {}: field '{field}' has value {value:?}: {reason}", file.display())]
    InvalidField {
        file: PathBuf,
        field: String,
        value: String,
        reason: String,
    },

    #[error(
        "payload {}: attachment '{attachment}' is required but no payload is named {expected}; \
         add that file to the payloads",
        main.display()
    )]
    MissingAttachment {
        main: PathBuf,
        attachment: String,
        expected: String,
    },

    #[error(
        "payload {}: expected as attachment '{attachment}' of {}, but its root element is {found} \
         (expects {expected})",
        file.display(), main.display()
    )]
    AttachmentMismatch {
        file: PathBuf,
        main: PathBuf,
        attachment: String,
        found: String,
        expected: String,
    },

    #[error(
        "payload {}: claimed as an attachment by both {} and {}; a file belongs to one group only",
        file.display(), first.display(), second.display()
    )]
    AmbiguousAttachment {
        file: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },

    #[error(
        "payload {}: format {puid} is not allowed by {by} (allowed: {allowed}); convert the file \
         or ask the archivist to extend the agreement",
        file.display()
    )]
    FormatRejected {
        file: PathBuf,
        puid: String,
        by: String,
        allowed: String,
    },

    #[error(
        "payload {}: the archival profile requires {element} in its description, but the flow's \
         template produced nothing (a field it uses is empty)",
        file.display()
    )]
    ProfileViolation { file: PathBuf, element: String },

    #[error("payload {}: format identification failed: {message}", file.display())]
    Identification { file: PathBuf, message: String },

    #[error("writing the SIP {}: {message}", path.display())]
    Package { path: PathBuf, message: String },
}

impl FlowError {
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        FlowError::Io {
            path: path.into(),
            action,
            source,
        }
    }

    pub(crate) fn definition(source_name: &str, message: impl Into<String>) -> Self {
        FlowError::Definition {
            source_name: source_name.to_string(),
            message: message.into(),
        }
    }
}
