//! Turning what a door receives into the SIP zip that ingest reads: a bordereau plus a tar(.gz)
//! of its files (as@lae), or a tar(.gz) holding `manifest.xml` (Vitam). Nothing here checks SEDA:
//! ingest does that, once, for every door. This only refuses archives that are unsafe to unpack
//! or over the limits, before ingest ever sees them.
//!
//! Entries are copied, not decompressed to disk: each tar member becomes a stored zip entry of
//! the same name, streamed, so memory stays flat whatever the archive's size.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// What a door accepts in one archive.
#[derive(Debug, Clone)]
pub struct PackageLimits {
    /// Bytes of all files once unpacked.
    pub max_bytes: u64,
    /// Files in the archive.
    pub max_entries: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("entry `{0}` has an absolute path or `..`: every path must stay inside the archive")]
    Escapes(String),
    #[error("entry `{0}` is not a valid relative path (empty part, `.`, backslash or control character)")]
    BadName(String),
    #[error("entry `{0}` is a {1}: only regular files and directories are accepted")]
    NotAFile(String, &'static str),
    #[error("entry name is not UTF-8: {0:?}")]
    NotUtf8(String),
    #[error("entry `{0}` appears twice in the archive")]
    Duplicate(String),
    #[error("the archive holds `{0}`: the bordereau is sent apart, as `seda_message`")]
    ManifestInside(String),
    #[error("the archive holds no manifest.xml at its root")]
    NoManifest,
    #[error("the archive unpacks to more than {0} bytes: split the transfer")]
    TooLarge(u64),
    #[error("the archive holds more than {0} files: split the transfer")]
    TooManyEntries(usize),
    #[error("the archive is not a readable tar or tar.gz: {0}")]
    Unreadable(String),
    #[error("writing the SIP failed: {0}")]
    Write(String),
}

/// What kind of archive a file holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Gzip,
    /// Anything else is read as a plain tar (which has no reliable magic before byte 257).
    Tar,
}

pub fn sniff(path: &Path) -> std::io::Result<Kind> {
    let mut head = [0u8; 4];
    let mut f = File::open(path)?;
    let n = f.read(&mut head)?;
    Ok(match &head[..n] {
        [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => Kind::Zip,
        [0x1f, 0x8b, ..] => Kind::Gzip,
        _ => Kind::Tar,
    })
}

/// Writes into `out` a SIP zip made of `manifest` (when given, as `manifest.xml`) and every file
/// of the tar or tar.gz at `archive` under its own path. Returns the number of files copied.
pub fn zip_from_tar(
    archive: Option<&Path>,
    manifest: Option<&[u8]>,
    out: &Path,
    limits: &PackageLimits,
) -> Result<usize, PackageError> {
    let write_err = |e: &dyn std::fmt::Display| PackageError::Write(e.to_string());
    let file = File::create(out).map_err(|e| write_err(&e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let mut names = HashSet::new();
    if let Some(m) = manifest {
        zip.start_file("manifest.xml", stored(m.len() as u64))
            .map_err(|e| write_err(&e))?;
        zip.write_all(m).map_err(|e| write_err(&e))?;
        names.insert("manifest.xml".to_owned());
    }
    let mut copied = 0;
    if let Some(path) = archive {
        let kind = sniff(path).map_err(|e| PackageError::Unreadable(e.to_string()))?;
        let file = BufReader::new(File::open(path).map_err(|e| PackageError::Unreadable(e.to_string()))?);
        let reader: Box<dyn Read> = match kind {
            Kind::Gzip => Box::new(MultiGzDecoder::new(file)),
            Kind::Tar => Box::new(file),
            Kind::Zip => {
                return Err(PackageError::Unreadable(
                    "it is a zip; send a tar.gz (TARGZ) here".into(),
                ))
            }
        };
        copied = copy_entries(reader, &mut zip, &mut names, manifest.is_some(), limits)?;
    }
    if manifest.is_none() && !names.contains("manifest.xml") {
        return Err(PackageError::NoManifest);
    }
    let inner = zip.finish().map_err(|e| write_err(&e))?;
    let file = inner.into_inner().map_err(|e| write_err(&e))?;
    file.sync_all().map_err(|e| write_err(&e))?;
    Ok(copied)
}

fn stored(size: u64) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(size >= u64::from(u32::MAX))
}

fn copy_entries<W: Write + Seek>(
    reader: impl Read,
    zip: &mut zip::ZipWriter<W>,
    names: &mut HashSet<String>,
    manifest_apart: bool,
    limits: &PackageLimits,
) -> Result<usize, PackageError> {
    let unreadable = |e: std::io::Error| PackageError::Unreadable(e.to_string());
    let mut tar = tar::Archive::new(reader);
    let mut total = 0u64;
    let mut count = 0usize;
    for entry in tar.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let raw = entry.path_bytes().into_owned();
        let name = std::str::from_utf8(&raw)
            .map_err(|_| PackageError::NotUtf8(String::from_utf8_lossy(&raw).into_owned()))?
            .to_owned();
        let kind = entry.header().entry_type();
        let Some(clean) = clean_name(&name)? else {
            continue;
        };
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            let what = match kind {
                tar::EntryType::Symlink => "symbolic link",
                tar::EntryType::Link => "hard link",
                tar::EntryType::Char | tar::EntryType::Block => "device",
                tar::EntryType::Fifo => "FIFO",
                tar::EntryType::GNUSparse => "sparse file",
                _ => "special entry",
            };
            return Err(PackageError::NotAFile(clean, what));
        }
        if clean.eq_ignore_ascii_case("manifest.xml") && manifest_apart {
            return Err(PackageError::ManifestInside(clean));
        }
        // Zip names compare case-sensitively, but SIP readers refuse names differing only in case.
        if !names.insert(clean.clone()) || !names.insert(format!("\u{0}{}", clean.to_lowercase())) {
            return Err(PackageError::Duplicate(clean));
        }
        count += 1;
        if count > limits.max_entries {
            return Err(PackageError::TooManyEntries(limits.max_entries));
        }
        let size = entry.header().size().map_err(unreadable)?;
        if total.saturating_add(size) > limits.max_bytes {
            return Err(PackageError::TooLarge(limits.max_bytes));
        }
        zip.start_file(clean.as_str(), stored(size))
            .map_err(|e| PackageError::Write(e.to_string()))?;
        let copied = std::io::copy(&mut (&mut entry).take(size), zip).map_err(unreadable)?;
        if copied != size {
            return Err(PackageError::Unreadable(format!(
                "entry `{clean}` is cut short ({copied} of {size} bytes)"
            )));
        }
        total += size;
    }
    Ok(count)
}

/// The entry's path inside the SIP, `./` prefixes dropped; None for the root directory itself.
fn clean_name(name: &str) -> Result<Option<String>, PackageError> {
    let trimmed = name.trim_end_matches('/');
    if trimmed.starts_with('/') || name.starts_with('/') {
        return Err(PackageError::Escapes(name.into()));
    }
    let mut parts = Vec::new();
    for part in trimmed.split('/') {
        match part {
            ".." => return Err(PackageError::Escapes(name.into())),
            "." if parts.is_empty() => continue,
            "" | "." => return Err(PackageError::BadName(name.into())),
            p if p.contains('\\') || p.chars().any(char::is_control) => return Err(PackageError::BadName(name.into())),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> PackageLimits {
        PackageLimits {
            max_bytes: 1 << 20,
            max_entries: 10,
        }
    }

    /// A tar written with raw headers, so hostile names can be made (the builder refuses them).
    fn tar_with(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn run(tar: &[u8], manifest: Option<&[u8]>) -> Result<Vec<String>, PackageError> {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::write(&input, gz(tar)).unwrap();
        let out = dir.path().join("sip.zip");
        zip_from_tar(Some(&input), manifest, &out, &limits())?;
        let z = zip::ZipArchive::new(File::open(&out).unwrap()).unwrap();
        Ok(z.file_names().map(str::to_owned).collect())
    }

    #[test]
    fn files_keep_their_paths_beside_the_bordereau() {
        let t = tar_with(&[
            ("./content/", tar::EntryType::Directory, b""),
            ("./content/a.pdf", tar::EntryType::Regular, b"%PDF"),
            ("b.xml", tar::EntryType::Regular, b"<x/>"),
        ]);
        let mut names = run(&t, Some(b"<ArchiveTransfer/>")).unwrap();
        names.sort();
        assert_eq!(names, ["b.xml", "content/a.pdf", "manifest.xml"]);
    }

    #[test]
    fn hostile_entries_are_refused() {
        for (name, kind, want) in [
            ("../evil", tar::EntryType::Regular, "`..`"),
            ("/etc/passwd", tar::EntryType::Regular, "absolute"),
            ("a/../../b", tar::EntryType::Regular, "`..`"),
            ("a//b", tar::EntryType::Regular, "valid relative"),
            ("link", tar::EntryType::Symlink, "symbolic link"),
            ("hard", tar::EntryType::Link, "hard link"),
        ] {
            let t = tar_with(&[(name, kind, b"x")]);
            let e = run(&t, Some(b"<m/>")).unwrap_err().to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
    }

    #[test]
    fn duplicates_manifest_and_limits_are_refused() {
        let dup = tar_with(&[
            ("a.txt", tar::EntryType::Regular, b"1"),
            ("A.TXT", tar::EntryType::Regular, b"2"),
        ]);
        assert!(matches!(run(&dup, Some(b"<m/>")), Err(PackageError::Duplicate(_))));
        let inside = tar_with(&[("manifest.xml", tar::EntryType::Regular, b"<m/>")]);
        assert!(matches!(
            run(&inside, Some(b"<m/>")),
            Err(PackageError::ManifestInside(_))
        ));
        assert_eq!(run(&inside, None).unwrap(), ["manifest.xml"]);
        let none = tar_with(&[("a.txt", tar::EntryType::Regular, b"1")]);
        assert!(matches!(run(&none, None), Err(PackageError::NoManifest)));
        let big = vec![0u8; (1 << 20) + 1];
        let t = tar_with(&[("big", tar::EntryType::Regular, &big)]);
        assert!(matches!(run(&t, Some(b"<m/>")), Err(PackageError::TooLarge(_))));
        let many: Vec<(String, tar::EntryType, &[u8])> = (0..11)
            .map(|i| (format!("f{i}"), tar::EntryType::Regular, &b"x"[..]))
            .collect();
        let refs: Vec<(&str, tar::EntryType, &[u8])> = many.iter().map(|(n, k, d)| (n.as_str(), *k, *d)).collect();
        assert!(matches!(
            run(&tar_with(&refs), Some(b"<m/>")),
            Err(PackageError::TooManyEntries(10))
        ));
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::write(&input, gz(b"this is not a tar archive at all, just text")).unwrap();
        let e = zip_from_tar(Some(&input), Some(b"<m/>"), &dir.path().join("o.zip"), &limits());
        assert!(matches!(e, Err(PackageError::Unreadable(_)) | Ok(0)), "{e:?}");
    }
}
