//! Entry points for the fuzz targets in `pronom/fuzz/` (not a stable API).

use std::io::Cursor;

use crate::container_file::ContainerKind;
use crate::identifier::Identifier;

/// Opens `data` as a container of `kind` and evaluates the container signatures on it, as
/// identification does once a trigger format matched. Returns how many signatures matched and
/// the warnings, or why the container is unreadable.
pub fn container(id: &Identifier, kind: ContainerKind, data: &[u8]) -> Result<(usize, Vec<String>), String> {
    id.containers()
        .identify(kind, Cursor::new(data), id.limits())
        .map(|f| (f.matched.len(), f.warnings))
}

/// Parses a PRONOM byte-sequence expression (as in container signature files).
pub fn expression(text: &str) -> Result<usize, String> {
    crate::expr::parse(text).map(|e| e.len()).map_err(|e| e.to_string())
}
