//! Writes the SIP zip: content files streamed in (hashed with SHA-512 on the way, so the digest
//! is of the bytes archived), then `manifest.xml`. The zip is built in a temporary file next to
//! the target, synced, then renamed over it: a reader sees no SIP or a whole one.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha512};
use tempfile::NamedTempFile;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::error::FlowError;

/// A zip being built in a temporary file.
pub struct SipWriter {
    zip: ZipWriter<NamedTempFile>,
    out: PathBuf,
}

/// What was written for one content file.
pub struct Written {
    pub size: u64,
    pub sha512_hex: String,
}

impl SipWriter {
    pub fn create(out: &Path) -> Result<SipWriter, FlowError> {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".sip-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| FlowError::io(dir, "creating a temporary SIP in", e))?;
        Ok(SipWriter {
            zip: ZipWriter::new(tmp),
            out: out.to_path_buf(),
        })
    }

    /// Copies `source` into entry `name`; `expected_size` is the size seen when the payload was
    /// checked: a file that changes while it is packed is refused.
    pub fn add_file(&mut self, name: &str, source: &Path, expected_size: u64) -> Result<Written, FlowError> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(expected_size >= u32::MAX as u64);
        self.zip.start_file(name, options).map_err(|e| self.package_error(e))?;
        let mut file = File::open(source).map_err(|e| FlowError::io(source, "reading payload", e))?;
        let mut hasher = Sha512::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| FlowError::io(source, "reading payload", e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            self.zip
                .write_all(&buf[..n])
                .map_err(|e| FlowError::io(&self.out, "writing SIP", e))?;
            size += n as u64;
        }
        if size != expected_size {
            return Err(FlowError::Package {
                path: self.out.clone(),
                message: format!(
                    "payload {} changed while it was packed ({expected_size} bytes, then {size}); build again once it is stable",
                    source.display()
                ),
            });
        }
        Ok(Written {
            size,
            sha512_hex: hex::encode(hasher.finalize()),
        })
    }

    /// Writes entry `name` with the bytes `write` produces.
    pub fn add_entry(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), FlowError> {
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        self.zip.start_file(name, options).map_err(|e| self.package_error(e))?;
        write(&mut self.zip).map_err(|e| FlowError::io(&self.out, "writing SIP", e))
    }

    /// Finishes the zip, syncs it and renames it to its final name; returns its size.
    pub fn commit(self) -> Result<u64, FlowError> {
        let out = self.out;
        let tmp = self.zip.finish().map_err(|e| FlowError::Package {
            path: out.clone(),
            message: e.to_string(),
        })?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| FlowError::io(&out, "syncing SIP", e))?;
        let size = tmp
            .as_file()
            .metadata()
            .map_err(|e| FlowError::io(&out, "syncing SIP", e))?
            .len();
        tmp.persist(&out)
            .map_err(|e| FlowError::io(&out, "renaming the finished SIP to", e.error))?;
        // The rename is durable once the directory is synced.
        if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                d.sync_all().map_err(|e| FlowError::io(dir, "syncing directory", e))?;
            }
        }
        Ok(size)
    }

    fn package_error(&self, e: zip::result::ZipError) -> FlowError {
        FlowError::Package {
            path: self.out.clone(),
            message: e.to_string(),
        }
    }
}
