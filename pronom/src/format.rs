//! What PRONOM says about a file format.

use serde::Serialize;

/// A PRONOM file format, as the DROID signature file describes it.
#[derive(Clone, Debug, Serialize)]
pub struct FileFormat {
    /// The PRONOM unique identifier, e.g. `fmt/276`.
    pub puid: String,
    pub name: String,
    pub version: Option<String>,
    /// MIME type(s), as PRONOM gives them (sometimes a comma-separated list).
    pub mime: Option<String>,
    /// Extensions without the dot, lower case.
    pub extensions: Vec<String>,
    /// DROID's internal format ID, used by priorities.
    #[serde(skip)]
    pub(crate) id: u32,
    #[serde(skip)]
    pub(crate) signature_ids: Vec<u32>,
    /// DROID format IDs this format takes priority over when both match.
    #[serde(skip)]
    pub(crate) priority_over: Vec<u32>,
}
