//! Why a manifest was refused. Every variant names the element path and line at fault and says
//! what the producer should do.

use crate::version::VersionError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest.xml is {size} bytes, over the limit of {limit}: split the transfer into smaller SIPs")]
    TooLarge { size: usize, limit: usize },
    #[error("manifest.xml is encoded in {encoding}: Archipel reads UTF-8 (or ISO-8859-1); re-encode it as UTF-8")]
    UnsupportedEncoding { encoding: String },
    #[error("manifest.xml is not valid UTF-8 at byte {position}: re-encode it as UTF-8 or declare its real encoding")]
    NotUtf8 { position: usize },
    #[error("manifest.xml declares a DTD (line {line}); SEDA messages must not: remove the DOCTYPE")]
    Dtd { line: u32 },
    #[error("manifest.xml is not well-formed XML at line {line} (byte {position}): {reason}")]
    Syntax { line: u32, position: u64, reason: String },
    #[error("{path} (line {line}) uses the entity &{name};, which is not defined: only &lt; &gt; &amp; &quot; &apos; and character references are allowed")]
    UndefinedEntity { path: String, line: u32, name: String },
    #[error("{path} (line {line}) is nested deeper than {limit} elements: flatten the ArchiveUnit tree (ArchiveUnitRefId) or split the transfer")]
    TooDeep { path: String, line: u32, limit: usize },
    #[error("manifest.xml has more than {limit} elements (line {line}): split the transfer into smaller SIPs")]
    TooManyElements { line: u32, limit: usize },
    #[error(
        "{path} (line {line}) has more than {limit} characters of text: move large content into a file of the SIP"
    )]
    TextTooLong { path: String, line: u32, limit: usize },
    #[error("{path} (line {line}) has more than {limit} attributes: SEDA elements have a handful")]
    TooManyAttributes { path: String, line: u32, limit: usize },
    #[error("{path} (line {line}) repeats the attribute {attribute}: give each attribute once")]
    DuplicateAttribute { path: String, line: u32, attribute: String },
    #[error("manifest.xml has more than {limit} ArchiveUnit elements (line {line}): split the transfer")]
    TooManyUnits { line: u32, limit: usize },
    #[error("manifest.xml has more than {limit} data objects (line {line}): split the transfer")]
    TooManyObjects { line: u32, limit: usize },
    #[error(transparent)]
    Version(#[from] VersionError),
    #[error("{path} (line {line}) has no {attribute} attribute: SEDA requires it")]
    MissingAttribute { path: String, line: u32, attribute: String },
    #[error("{path} (line {line}): {reason}")]
    Invalid { path: String, line: u32, reason: String },
}

impl ManifestError {
    /// The line the error is on, when it has one.
    pub fn line(&self) -> Option<u32> {
        match self {
            ManifestError::Dtd { line }
            | ManifestError::Syntax { line, .. }
            | ManifestError::UndefinedEntity { line, .. }
            | ManifestError::TooDeep { line, .. }
            | ManifestError::TooManyElements { line, .. }
            | ManifestError::TextTooLong { line, .. }
            | ManifestError::TooManyAttributes { line, .. }
            | ManifestError::DuplicateAttribute { line, .. }
            | ManifestError::TooManyUnits { line, .. }
            | ManifestError::TooManyObjects { line, .. }
            | ManifestError::MissingAttribute { line, .. }
            | ManifestError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }
}
