//! The on-disk cache directory of one index: opened as it is when it is ours and current, otherwise emptied (only of
//! what tantivy wrote there) and created afresh, with a log line saying why.
//!
//! What the index holds is recorded in tantivy's commit payload ([`Mark`]): it is written in the same atomic
//! `meta.json` replacement as the commit itself, so the mark can never disagree with the segments it describes.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::Index;

use super::schema::{self, SCHEMA_VERSION};
use super::SearchError;

/// Written by schema version 1, before the version moved into the commit payload; removed by [`wipe`].
const LEGACY_VERSION_FILE: &str = "archipel-search-version";
const TANTIVY_FILES: [&str; 4] = [
    "meta.json",
    ".managed.json",
    ".tantivy-meta.lock",
    ".tantivy-writer.lock",
];

/// What a commit says about the index: its schema version and the catalog generation it reflects in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    pub schema: u32,
    /// `None` until a sync from the catalog has completed once.
    pub generation: Option<i64>,
    /// The newest catalog unit change (`catalog::UnitChange`, microseconds) the index has applied.
    #[serde(default)]
    pub changes_seen: Option<i64>,
}

impl Mark {
    pub fn fresh() -> Self {
        Mark {
            schema: SCHEMA_VERSION,
            generation: None,
            changes_seen: None,
        }
    }

    pub fn to_payload(self) -> String {
        // A struct of two numbers always serialises.
        serde_json::to_string(&self).unwrap_or_default()
    }
}

/// How an on-disk index was found when its front opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// Reused as it was: only what the catalog changed since is indexed.
    Reused,
    /// There was none: it is built from the catalog.
    Created,
    /// It was unusable (unreadable, foreign, another schema version): emptied, then built from the catalog.
    Rebuilt { reason: String },
}

fn io_error(dir: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::CacheDir {
        path: dir.display().to_string(),
        source,
    }
}

/// Opens the index in `dir` if it is ours and current, or empties `dir` and creates one.
pub(crate) fn open(dir: &Path) -> Result<(Index, Mark, OpenOutcome), SearchError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let (expected, _) = schema::schema();
    let create = || -> Result<Index, SearchError> {
        let directory = MmapDirectory::open(dir).map_err(|e| SearchError::Index {
            action: "opening the index directory",
            source: e.into(),
        })?;
        Index::create(directory, expected.clone(), Default::default())
            .map_err(SearchError::index("creating the on-disk index"))
    };
    if !dir.join("meta.json").exists() {
        return Ok((create()?, Mark::fresh(), OpenOutcome::Created));
    }
    let reason = match existing(dir, &expected) {
        Ok((index, mark)) => return Ok((index, mark, OpenOutcome::Reused)),
        Err(reason) => reason,
    };
    tracing::warn!(
        dir = %dir.display(),
        "search index {reason}; emptying it and rebuilding it from the catalog"
    );
    wipe(dir)?;
    Ok((create()?, Mark::fresh(), OpenOutcome::Rebuilt { reason }))
}

/// The index in `dir` and its mark, or why it cannot be reused.
fn existing(dir: &Path, expected: &tantivy::schema::Schema) -> Result<(Index, Mark), String> {
    let directory = MmapDirectory::open(dir).map_err(|e| format!("cannot be opened ({e})"))?;
    let index = Index::open(directory).map_err(|e| format!("is unreadable ({e})"))?;
    if index.schema() != *expected {
        return Err("has fields Archipel does not write (a foreign index)".into());
    }
    let payload = index.load_metas().map_err(|e| format!("is unreadable ({e})"))?.payload;
    let mark: Mark = payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(|| "carries no Archipel mark (a foreign or interrupted index)".to_string())?;
    if mark.schema != SCHEMA_VERSION {
        return Err(format!(
            "was written in schema version {}, this front uses version {SCHEMA_VERSION}",
            mark.schema
        ));
    }
    Ok((index, mark))
}

/// Removes tantivy's files from `dir`, leaving anything else alone in case the directory was shared by mistake.
pub(crate) fn wipe(dir: &Path) -> Result<(), SearchError> {
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_tantivy_file(&name) || name == LEGACY_VERSION_FILE {
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

    #[test]
    fn marks_round_trip_through_the_payload() {
        let mark = Mark {
            schema: SCHEMA_VERSION,
            generation: Some(42),
            changes_seen: Some(7),
        };
        assert_eq!(serde_json::from_str::<Mark>(&mark.to_payload()).unwrap(), mark);
    }
}
