//! What identification says about one file.

use serde::Serialize;

/// Why a format was chosen, as Siegfried reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A byte signature matched, and the file's extension agrees with the format (or the format
    /// lists no extension, or the file has none).
    ByteMatch,
    /// The entries of a ZIP or OLE2 container matched a container signature, and the extension
    /// agrees.
    ContainerMatch,
    /// A byte or container signature matched, but the file's extension is not one the format
    /// lists.
    ExtensionMismatch,
    /// No signature matched: the extension alone names the format.
    ExtensionOnly,
    /// No signature matched and the extension names no single format, but the content is
    /// plain text (UTF-8, ASCII or UTF-16 with a byte-order mark): `x-fmt/111`.
    TextMatch,
    /// Nothing matched; `puid` is `None`.
    Unknown,
}

impl Basis {
    pub fn as_str(&self) -> &'static str {
        match self {
            Basis::ByteMatch => "byte match",
            Basis::ContainerMatch => "container match",
            Basis::ExtensionMismatch => "extension mismatch",
            Basis::ExtensionOnly => "extension only",
            Basis::TextMatch => "text match",
            Basis::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Basis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identification of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identification {
    /// The PRONOM identifier, e.g. `fmt/412`; `None` when the format is unknown.
    pub puid: Option<String>,
    pub format: Option<String>,
    pub version: Option<String>,
    pub mime: Option<String>,
    pub basis: Basis,
    /// The evidence, for people: which signature matched where, which extension.
    pub detail: String,
    /// Other formats that matched as well as the chosen one (ranked lower), or that the
    /// extension allows when nothing matched.
    pub candidates: Vec<String>,
    pub warnings: Vec<String>,
    /// Bytes read from the file (windows plus container structures), to show nothing was read
    /// whole.
    pub bytes_read: u64,
}

/// How an identified format compares with the one a submission declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// The declared PUID is the identified one.
    Same,
    /// The declared PUID matched too, but ranked below the identified one.
    Candidate,
    /// A format was identified by signature and it is not the declared one.
    Different,
    /// Nothing was identified by signature (extension only, text or unknown): nothing to
    /// contradict.
    Unverified,
}

impl Identification {
    /// Compares with the PUID a submission declares (the archive layer decides what a
    /// disagreement means under the transfer agreement).
    pub fn compare_declared(&self, declared: &str) -> Agreement {
        let declared = declared.trim();
        let by_signature = matches!(
            self.basis,
            Basis::ByteMatch | Basis::ContainerMatch | Basis::ExtensionMismatch
        );
        if !by_signature {
            return Agreement::Unverified;
        }
        if self.puid.as_deref() == Some(declared) {
            Agreement::Same
        } else if self.candidates.iter().any(|c| c == declared) {
            Agreement::Candidate
        } else {
            Agreement::Different
        }
    }

    /// Identified by a byte or container signature (whatever the extension says).
    pub fn is_by_signature(&self) -> bool {
        matches!(
            self.basis,
            Basis::ByteMatch | Basis::ContainerMatch | Basis::ExtensionMismatch
        )
    }
}
