//! Many files at once: walking directories and identifying in parallel.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::identifier::Identifier;
use crate::result::Identification;

/// One file's outcome.
#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    pub result: Result<Identification>,
}

/// The regular files under `paths` (a file stands for itself; directories are walked, sorted by
/// name, without following symbolic links to directories). Unreadable directories are reported
/// as errors in place.
pub fn collect_files(paths: &[PathBuf]) -> Vec<(PathBuf, Option<Error>)> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut out),
            Ok(_) => out.push((p.clone(), None)),
            Err(source) => out.push((
                p.clone(),
                Some(Error::Io {
                    path: p.clone(),
                    source,
                }),
            )),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<Error>)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            out.push((
                dir.to_owned(),
                Some(Error::Io {
                    path: dir.to_owned(),
                    source,
                }),
            ));
            return;
        }
    };
    let mut children: Vec<(PathBuf, std::io::Result<std::fs::FileType>)> = entries
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), e.file_type()))
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in children {
        match kind {
            Ok(k) if k.is_dir() => walk(&path, out),
            Ok(k) if k.is_file() => out.push((path, None)),
            Ok(k) if k.is_symlink() => {
                // A link to a file is identified; a link to a directory is not followed.
                if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                    out.push((path, None));
                }
            }
            Ok(_) => {}
            Err(source) => out.push((path.clone(), Some(Error::Io { path, source }))),
        }
    }
}

impl Identifier {
    /// Identifies every file under `paths` on `threads` worker threads (0: one per core),
    /// results in walk order.
    pub fn identify_all_with(&self, paths: &[PathBuf], threads: usize) -> Result<Vec<FileResult>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("identify-{i}"))
            .build()
            .map_err(|e| Error::Io {
                path: PathBuf::from("(thread pool)"),
                source: std::io::Error::other(e),
            })?;
        Ok(pool.install(|| self.identify_all(paths)))
    }

    /// Identifies every file under `paths`, on the current rayon thread pool, results in walk
    /// order.
    pub fn identify_all(&self, paths: &[PathBuf]) -> Vec<FileResult> {
        collect_files(paths)
            .into_par_iter()
            .map(|(path, err)| {
                let result = match err {
                    Some(e) => Err(e),
                    None => self.identify_path(&path),
                };
                FileResult { path, result }
            })
            .collect()
    }
}
