//! The on-disk cache directory of one index: versioned, and emptied only of what tantivy itself wrote there.

use std::fs;
use std::path::Path;

use super::schema::SCHEMA_VERSION;
use super::SearchError;

const VERSION_FILE: &str = "archipel-search-version";
const TANTIVY_FILES: [&str; 4] = [
    "meta.json",
    ".managed.json",
    ".tantivy-meta.lock",
    ".tantivy-writer.lock",
];

fn io_error(dir: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::CacheDir {
        path: dir.display().to_string(),
        source,
    }
}

/// Creates `dir` if needed and empties it if it holds an index of another schema version.
pub(crate) fn prepare(dir: &Path) -> Result<(), SearchError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let has_index = dir.join("meta.json").exists();
    let version = fs::read_to_string(dir.join(VERSION_FILE)).ok();
    if has_index && version.as_deref().map(str::trim) != Some(SCHEMA_VERSION.to_string().as_str()) {
        tracing::info!(dir = %dir.display(), ?version, "search cache from another schema version; emptying it");
        wipe(dir)?;
    }
    Ok(())
}

/// Records that the index in `dir` follows the current schema version.
pub(crate) fn mark_current(dir: &Path) -> Result<(), SearchError> {
    fs::write(dir.join(VERSION_FILE), SCHEMA_VERSION.to_string()).map_err(io_error(dir))
}

/// Removes tantivy's files from `dir`, leaving anything else alone in case the directory was shared by mistake.
pub(crate) fn wipe(dir: &Path) -> Result<(), SearchError> {
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_tantivy_file(&name) || name == VERSION_FILE {
            fs::remove_file(entry.path()).map_err(io_error(dir))?;
        }
    }
    Ok(())
}

/// Segment files are named after the segment's UUID in 32 hex digits, then an extension.
fn is_tantivy_file(name: &str) -> bool {
    if TANTIVY_FILES.contains(&name) {
        return true;
    }
    let (stem, rest) = name.split_at(name.len().min(32));
    stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit()) && rest.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tantivy_files_are_recognised() {
        assert!(is_tantivy_file("meta.json"));
        assert!(is_tantivy_file("0123456789abcdef0123456789abcdef.store"));
        assert!(is_tantivy_file("0123456789abcdef0123456789abcdef.12.del"));
        assert!(!is_tantivy_file("notes.txt"));
        assert!(!is_tantivy_file("0123456789abcdef0123456789abcdeg.store"));
        assert!(!is_tantivy_file("0123456789abcdef0123456789abcdef"));
    }
}
