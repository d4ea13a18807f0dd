//! Safe reading of a SIP: a ZIP holding `manifest.xml` and the files the manifest describes.
//!
//! The zip comes from outside and is hostile. [`Sip::open`] checks the whole central directory
//! before a single byte is decompressed: entry count, names (traversal, absolute paths,
//! backslashes, drive letters, control characters, duplicates, case and Unicode-form
//! collisions, depth), symlinks and special files, encryption, compression methods, declared
//! sizes and ratios, local headers that disagree with the directory, and overlapping entries.
//! Readers then hold every entry to its declared size on the bytes actually produced.

mod cdir;
mod check;
mod error;
mod layout;
mod limits;
mod names;
mod reader;
mod seekbuf;
mod uri;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use zip::ZipArchive;

use seekbuf::SeekBuf;

pub use error::{NameProblem, SipError};
pub use limits::SipLimits;
pub use reader::EntryReader;

/// A content file of the SIP, as listed by [`Sip::entries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipEntry {
    name: String,
    index: usize,
    size: u64,
    compressed_size: u64,
}

impl SipEntry {
    /// Path relative to the package root (the manifest's directory), as a manifest Uri names it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Declared uncompressed size, within the limits; reading yields exactly this many bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn compressed_size(&self) -> u64 {
        self.compressed_size
    }
}

/// An opened, checked SIP.
pub struct Sip {
    archive: ZipArchive<SeekBuf<File>>,
    limits: SipLimits,
    root: String,
    manifest: SipEntry,
    entries: Vec<SipEntry>,
    exact: HashMap<String, usize>,
    folded: HashMap<String, usize>,
}

fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// `name` without the package root, whose letter case may differ (`PKG/x` under `pkg/`).
fn relative<'a>(name: &'a str, root: &str) -> &'a str {
    match name.split_at_checked(root.len()) {
        Some((head, tail)) if head.eq_ignore_ascii_case(root) => tail,
        _ => name,
    }
}

impl Sip {
    /// Opens the SIP at `path` and checks its central directory against `limits`.
    pub fn open(path: &Path, limits: &SipLimits) -> Result<Sip, SipError> {
        let io = |source| SipError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > limits.max_zip_bytes {
            return Err(SipError::ZipTooLarge {
                size: len,
                max: limits.max_zip_bytes,
            });
        }
        let cd = cdir::read(&mut file, len, limits)?;
        let mut file = SeekBuf::new(file);
        let mut archive = ZipArchive::new(SeekBuf::new(File::open(path).map_err(io)?))
            .map_err(|e| SipError::NotZip { reason: e.to_string() })?;
        if archive.len() != cd.entries.len() {
            let mut seen = HashSet::new();
            if let Some(dup) = cd.entries.iter().find(|e| !seen.insert(&e.name)) {
                return Err(SipError::Duplicate { name: lossy(&dup.name) });
            }
            let reason = "its central directory is inconsistent".to_owned();
            return Err(SipError::NotZip { reason });
        }

        let mut checked = Vec::with_capacity(cd.entries.len());
        let mut total = 0u64;
        for (i, raw) in cd.entries.iter().enumerate() {
            let zf = archive.by_index_raw(i).map_err(|e| SipError::Malformed {
                name: lossy(&raw.name),
                reason: e.to_string(),
            })?;
            if zf.name_raw() != raw.name.as_slice() {
                let reason = format!("its central directory is inconsistent at `{}`", lossy(&raw.name));
                return Err(SipError::NotZip { reason });
            }
            let entry = check::entry(&zf, raw, limits)?;
            drop(zf);
            check::local_header(&mut file, entry.header_start, raw, &entry.name)?;
            total = total.saturating_add(entry.size);
            if total > limits.max_total_bytes {
                return Err(SipError::TotalTooLarge {
                    total,
                    max: limits.max_total_bytes,
                });
            }
            checked.push(entry);
        }
        check::no_overlap(&checked, cd.start)?;
        if total > limits.ratio_exempt_bytes && u128::from(total) > u128::from(len) * u128::from(limits.max_ratio) {
            let max = limits.max_ratio;
            return Err(SipError::PackageRatio {
                total,
                zip_size: len,
                max,
            });
        }
        names::check_collisions(checked.iter().map(|c| c.name.as_str()))?;
        let all: Vec<&str> = checked.iter().map(|c| c.name.as_str()).collect();
        let layout = layout::locate(&all)?;

        let mut entries = Vec::new();
        let (mut exact, mut folded) = (HashMap::new(), HashMap::new());
        let mut manifest = None;
        for (index, c) in checked.iter().enumerate() {
            if c.is_dir {
                continue;
            }
            let name = relative(&c.name, &layout.root).to_owned();
            let entry = SipEntry {
                name,
                index,
                size: c.size,
                compressed_size: c.compressed,
            };
            if index == layout.manifest {
                manifest = Some(entry);
                continue;
            }
            exact.insert(entry.name.clone(), entries.len());
            folded.insert(names::fold(&entry.name), entries.len());
            entries.push(entry);
        }
        let manifest = manifest.ok_or_else(|| SipError::ManifestMissing { hint: String::new() })?;
        Ok(Sip {
            archive,
            limits: limits.clone(),
            root: layout.root,
            manifest,
            entries,
            exact,
            folded,
        })
    }

    /// `""`, or the single top-level directory (`"dir/"`) holding the manifest and every file.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The manifest entry; its name is relative to [`Sip::root`].
    pub fn manifest(&self) -> &SipEntry {
        &self.manifest
    }

    /// Content files (no directories, not the manifest), in central-directory order, so the
    /// caller can check that the manifest references every one.
    pub fn entries(&self) -> &[SipEntry] {
        &self.entries
    }

    /// The manifest's bytes, at most `max_manifest_bytes` of them whatever the header says.
    pub fn manifest_bytes(&mut self) -> Result<Vec<u8>, SipError> {
        let max = self.limits.max_manifest_bytes;
        let name = self.manifest.name.clone();
        if self.manifest.size > max {
            return Err(SipError::ManifestTooLarge { name, max });
        }
        let manifest = self.manifest.clone();
        let mut out = Vec::with_capacity(usize::try_from(manifest.size).unwrap_or(0));
        self.open_entry(&manifest)?
            .take(max.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| match e.into_inner().map(|inner| inner.downcast::<SipError>()) {
                Some(Ok(sip)) => *sip,
                Some(Err(other)) => SipError::Corrupt {
                    name: name.clone(),
                    reason: other.to_string(),
                },
                None => SipError::Corrupt {
                    name: name.clone(),
                    reason: "read failed".to_owned(),
                },
            })?;
        if out.len() as u64 > max {
            return Err(SipError::ManifestTooLarge { name, max });
        }
        Ok(out)
    }

    /// The content file a manifest Uri names. Tries the Uri as written (less a leading `./`),
    /// then percent-decoded; then, if nothing matched exactly, ignoring letter case and Unicode
    /// form, which is unambiguous because such collisions are refused at open.
    pub fn lookup(&self, uri: &str) -> Result<&SipEntry, SipError> {
        let candidates = uri::candidates(uri, self.limits.max_name_len, self.limits.max_depth)?;
        let exact: Vec<usize> = candidates.iter().filter_map(|c| self.exact.get(c).copied()).collect();
        let found: Vec<usize> = if exact.is_empty() {
            let mut f: Vec<usize> = candidates
                .iter()
                .filter_map(|c| self.folded.get(&names::fold(c)).copied())
                .collect();
            f.dedup();
            f
        } else {
            exact
        };
        match found.as_slice() {
            [one] => Ok(&self.entries[*one]),
            [] => Err(SipError::NotFound { uri: uri.to_owned() }),
            many => Err(SipError::AmbiguousUri {
                uri: uri.to_owned(),
                candidates: many.iter().map(|&i| format!("`{}`", self.entries[i].name)).collect(),
            }),
        }
    }

    /// A reader over the content file a manifest Uri names (see [`Sip::lookup`]).
    pub fn entry(&mut self, uri: &str) -> Result<EntryReader<'_>, SipError> {
        let entry = self.lookup(uri)?.clone();
        self.open_entry(&entry)
    }

    fn open_entry(&mut self, entry: &SipEntry) -> Result<EntryReader<'_>, SipError> {
        let zf = self.archive.by_index(entry.index).map_err(|e| SipError::Corrupt {
            name: entry.name.clone(),
            reason: e.to_string(),
        })?;
        Ok(EntryReader::new(zf, entry.name.clone(), entry.size))
    }
}
