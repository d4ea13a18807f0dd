//! Why a SIP was refused. Each message names the entry at fault and says what the producer must do.

use std::path::PathBuf;

/// What is wrong with an entry name (or a manifest URI, which is checked the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    Absolute,
    ParentDir,
    Backslash,
    DriveLetter,
    ControlChar,
    EmptyComponent,
    DotComponent,
    TooLong { len: usize, max: usize },
    TooDeep { depth: usize, max: usize },
    InvalidUtf8,
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => write!(f, "is empty: every entry needs a name"),
            Self::Absolute => {
                write!(f, "is an absolute path: paths must be relative and stay inside the SIP")
            }
            Self::ParentDir => {
                write!(f, "leaves the package: paths must be relative and stay inside the SIP")
            }
            Self::Backslash => write!(f, "contains a backslash: use `/` as the path separator"),
            Self::DriveLetter => write!(f, "starts with a drive letter: paths must be relative"),
            Self::ControlChar => {
                write!(f, "contains a NUL or control character: rename the file")
            }
            Self::EmptyComponent => write!(f, "contains an empty path component (`//`): remove it"),
            Self::DotComponent => write!(f, "contains a `.` path component: remove it"),
            Self::TooLong { len, max } => {
                write!(f, "is {len} bytes long, over the {max}-byte limit: shorten it")
            }
            Self::TooDeep { depth, max } => {
                write!(
                    f,
                    "is {depth} directories deep, over the limit of {max}: flatten the tree"
                )
            }
            Self::InvalidUtf8 => write!(
                f,
                "is flagged UTF-8 but is not valid UTF-8: re-create the zip with a conforming tool"
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot read the SIP `{}`: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    #[error("the SIP is {size} bytes, over the {max}-byte limit: split the transfer into smaller SIPs")]
    ZipTooLarge { size: u64, max: u64 },

    #[error("the SIP is not a readable ZIP archive ({reason}): send the package as a complete, unencrypted ZIP file")]
    NotZip { reason: String },

    #[error("the SIP holds {count} entries, over the limit of {max}: split the transfer into smaller SIPs")]
    TooManyEntries { count: u64, max: usize },

    #[error("entry `{name}` {problem}")]
    UnsafeName { name: String, problem: NameProblem },

    #[error("entry `{name}` appears more than once in the ZIP directory: each file must appear once")]
    Duplicate { name: String },

    #[error("entries `{first}` and `{second}` differ only by letter case or Unicode form and would collide on many file systems: rename one")]
    Collision { first: String, second: String },

    #[error("entry `{name}` is a symbolic link: SIPs may hold only regular files and directories; put the target file itself in the package")]
    Symlink { name: String },

    #[error("entry `{name}` is a special file (unix mode {mode:o}): SIPs may hold only regular files and directories")]
    SpecialFile { name: String, mode: u32 },

    #[error("entry `{name}` is encrypted: archives must be readable without a password; send it unencrypted")]
    Encrypted { name: String },

    #[error("entry `{name}` uses compression method {method}: only stored (0) and deflate (8) are accepted; re-create the zip with deflate")]
    UnsupportedMethod { name: String, method: String },

    #[error("entry `{name}` is {size} bytes uncompressed, over the {max}-byte limit per file: split the transfer or ask for a higher limit")]
    EntryTooLarge { name: String, size: u64, max: u64 },

    #[error("the SIP's entries add up to {total} bytes uncompressed, over the {max}-byte limit: split the transfer into smaller SIPs")]
    TotalTooLarge { total: u64, max: u64 },

    #[error("entry `{name}` expands {size} bytes from {compressed} compressed, more than {max}:1 (a possible zip bomb): store it uncompressed or ask for a higher limit")]
    EntryRatio {
        name: String,
        size: u64,
        compressed: u64,
        max: u64,
    },

    #[error("the SIP expands to {total} bytes from {zip_size} bytes, more than {max}:1 (a possible zip bomb): store the files uncompressed or ask for a higher limit")]
    PackageRatio { total: u64, zip_size: u64, max: u64 },

    #[error("entry `{name}` is malformed: {reason}; re-create the zip with a conforming tool")]
    Malformed { name: String, reason: String },

    #[error("the SIP has no `manifest.xml` at its root{hint}: put the SEDA manifest at the top of the zip as `manifest.xml`")]
    ManifestMissing { hint: String },

    #[error("the SIP has several candidate manifests ({}): keep a single `manifest.xml` at the root", candidates.join(", "))]
    ManifestAmbiguous { candidates: Vec<String> },

    #[error("entry `{name}` (the manifest) is larger than the {max}-byte limit for manifests: split the transfer into smaller SIPs")]
    ManifestTooLarge { name: String, max: u64 },

    #[error("URI `{uri}` {problem}")]
    UnsafeUri { uri: String, problem: NameProblem },

    #[error("URI `{uri}` is not a valid percent-encoded path ({reason}): fix the Uri in the manifest")]
    BadUri { uri: String, reason: String },

    #[error("URI `{uri}` names no file in the SIP: add the file or fix the Uri in the manifest")]
    NotFound { uri: String },

    #[error("URI `{uri}` could name several entries ({}): make the Uri match one entry exactly", candidates.join(", "))]
    AmbiguousUri { uri: String, candidates: Vec<String> },

    #[error("entry `{name}` holds more data than the {declared} bytes its header declares: the zip is corrupt or forged; re-create it")]
    Oversized { name: String, declared: u64 },

    #[error("entry `{name}` ends after {actual} bytes, short of the {declared} bytes its header declares: the zip is truncated or corrupt; send it again")]
    Undersized { name: String, declared: u64, actual: u64 },

    #[error("entry `{name}` cannot be decompressed ({reason}): the zip is corrupt; send it again")]
    Corrupt { name: String, reason: String },
}
