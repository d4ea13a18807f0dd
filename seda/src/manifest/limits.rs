//! Bounds on what a manifest may contain, checked while reading so a hostile manifest cannot
//! exhaust memory or stack before it is refused.

use serde::{Deserialize, Serialize};

/// Limits applied by [`super::parse`]. The defaults fit the largest transfers seen in practice
/// (a few hundred thousand units) with a wide margin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseLimits {
    /// Size of manifest.xml in bytes.
    pub max_bytes: usize,
    /// Element nesting depth; ArchiveUnit trees deeper than this are refused.
    pub max_depth: usize,
    /// Elements in the whole document.
    pub max_elements: usize,
    /// Characters of text (or of one attribute value) in one element.
    pub max_text_len: usize,
    /// ArchiveUnit elements.
    pub max_units: usize,
    /// BinaryDataObject plus PhysicalDataObject elements.
    pub max_objects: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            // 64 MiB holds ~90k units each with a SHA-512-described file; split larger transfers.
            max_bytes: 64 * 1024 * 1024,
            // Real plans of classification are < 20 levels; 256 leaves room and bounds recursion.
            max_depth: 256,
            max_elements: 5_000_000,
            // A TextContent of a long mail fits; a base64 Attachment larger than this should be a file.
            max_text_len: 1024 * 1024,
            max_units: 1_000_000,
            max_objects: 1_000_000,
        }
    }
}
