//! ZIP containers, through the `zip` crate, with guards against zip bombs.

use std::io::{Read, Seek};

use super::{Archive, Entry};
use crate::limits::Limits;

pub(crate) struct ZipArchive<R: Read + Seek> {
    inner: ::zip::ZipArchive<R>,
}

impl<R: Read + Seek> ZipArchive<R> {
    pub(crate) fn open(reader: R, limits: &Limits) -> Result<Self, String> {
        let inner = ::zip::ZipArchive::new(reader).map_err(|e| format!("not a readable ZIP: {e}"))?;
        if inner.len() > limits.container_entries {
            return Err(format!(
                "the ZIP lists {} entries, more than the {} examined at most",
                inner.len(),
                limits.container_entries
            ));
        }
        Ok(ZipArchive { inner })
    }
}

impl<R: Read + Seek> Archive for ZipArchive<R> {
    fn has(&self, path: &str) -> bool {
        if path.ends_with('/') {
            return self.inner.file_names().any(|n| n.starts_with(path));
        }
        self.inner.index_for_name(path).is_some()
    }

    fn read(&mut self, path: &str, limit: u64) -> Result<Entry, String> {
        let file = self.inner.by_name(path).map_err(|e| e.to_string())?;
        let declared = file.size();
        let compressed = file.compressed_size();
        // Decompress at most `limit` bytes, whatever the header claims: a zip bomb's entry is
        // read up to the limit and no further.
        let mut data = Vec::with_capacity(declared.min(limit) as usize);
        file.take(limit).read_to_end(&mut data).map_err(|e| e.to_string())?;
        Ok(Entry {
            data,
            declared,
            compressed: Some(compressed),
        })
    }
}
