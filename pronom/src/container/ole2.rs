//! OLE2 compound files, through the `cfb` crate.

use std::collections::HashMap;
use std::io::{Read, Seek};

use super::{Archive, Entry};
use crate::limits::Limits;

pub(crate) struct Ole2Archive<R: Read + Seek> {
    inner: cfb::CompoundFile<R>,
    /// Normalised path (no leading `/`, control characters such as the \u{1} of `\u{1}CompObj`
    /// removed from each name) → the entry's real path.
    paths: HashMap<String, String>,
}

/// `/\u{1}CompObj` → `CompObj`; `/Version/Data` → `Version/Data`.
fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(|c| c.trim_start_matches(char::is_control))
        .collect::<Vec<_>>()
        .join("/")
}

impl<R: Read + Seek> Ole2Archive<R> {
    pub(crate) fn open(reader: R, limits: &Limits) -> Result<Self, String> {
        let inner = cfb::CompoundFile::open(reader).map_err(|e| format!("not a readable OLE2 compound file: {e}"))?;
        let mut paths = HashMap::new();
        for (n, entry) in inner.walk().enumerate() {
            if n >= limits.container_entries {
                return Err(format!(
                    "the OLE2 file has more than {} entries, the most examined",
                    limits.container_entries
                ));
            }
            if entry.is_root() {
                continue;
            }
            let real = entry.path().to_string_lossy().into_owned();
            paths.entry(normalise(&real)).or_insert(real);
        }
        Ok(Ole2Archive { inner, paths })
    }
}

impl<R: Read + Seek> Archive for Ole2Archive<R> {
    fn has(&self, path: &str) -> bool {
        self.paths.contains_key(&normalise(path))
    }

    fn read(&mut self, path: &str, limit: u64) -> Result<Entry, String> {
        let real = self.paths.get(&normalise(path)).ok_or("no such stream")?.clone();
        let stream = self.inner.open_stream(&real).map_err(|e| e.to_string())?;
        let declared = stream.len();
        let mut data = Vec::with_capacity(declared.min(limit) as usize);
        stream.take(limit).read_to_end(&mut data).map_err(|e| e.to_string())?;
        Ok(Entry {
            data,
            declared,
            compressed: None,
        })
    }
}
