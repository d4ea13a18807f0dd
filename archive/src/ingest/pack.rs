//! Small files of an AIP go into tar packs: one cluster object per pack rather than per file,
//! so a transfer of a thousand small files costs a few large writes, not a thousand small ones.
//! A pack is a plain POSIX tar whose members are named as the files would be in the AIP
//! (`objects/<sha512>`), so it stays readable with standard tools. The descriptor records each
//! file's pack and offset, and a file is read back as a range of its pack.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// Files up to this size are packed by default; larger ones are objects of their own.
pub const PACK_MEMBER_MAX: u64 = 1 << 20;
/// A pack is closed once its files reach this size.
pub const PACK_TARGET: u64 = 64 << 20;

/// A file to store: its object key within the AIP, where it is on disk, and its size.
#[derive(Debug, Clone)]
pub struct FileToStore {
    pub key: String,
    pub path: PathBuf,
    pub size: u64,
}

/// Where a packed file's bytes are: `offset` bytes into the pack.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub key: String,
    pub offset: u64,
}

/// Splits `files` into packs of the files up to `member_max` bytes (in order, each pack within
/// [`PACK_TARGET`]) and files stored alone.
pub fn plan(files: Vec<FileToStore>, member_max: u64) -> (Vec<Vec<FileToStore>>, Vec<FileToStore>) {
    let member_max = member_max.min(PACK_TARGET);
    let mut packs: Vec<Vec<FileToStore>> = Vec::new();
    let mut alone = Vec::new();
    let mut current: Vec<FileToStore> = Vec::new();
    let mut current_bytes = 0;
    for f in files {
        if f.size > member_max {
            alone.push(f);
            continue;
        }
        if !current.is_empty() && current_bytes + f.size > PACK_TARGET {
            packs.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += f.size;
        current.push(f);
    }
    if !current.is_empty() {
        packs.push(current);
    }
    // A pack of one file gains nothing.
    let (packs, singles): (Vec<_>, Vec<_>) = packs.into_iter().partition(|p| p.len() > 1);
    alone.extend(singles.into_iter().flatten());
    (packs, alone)
}

/// Writes `members` as a tar file at `out`, each named by its key relative to `prefix` (the
/// AIP's key prefix), and returns where each member's data starts. Each file must still have
/// the size it was checked with: a file that changed is an error, not a silently wrong pack.
pub fn build(members: &[FileToStore], prefix: &str, out: &Path) -> std::io::Result<Vec<(String, u64)>> {
    let file = std::fs::File::create(out)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, file));
    tar.mode(tar::HeaderMode::Deterministic);
    let mut offsets = Vec::with_capacity(members.len());
    for m in members {
        let name = m.key.strip_prefix(prefix).unwrap_or(&m.key);
        let mut source = std::fs::File::open(&m.path)?;
        let size = source.metadata()?.len();
        if size != m.size {
            return Err(std::io::Error::other(format!(
                "{} changed size while being packed ({} bytes, checked with {})",
                m.path.display(),
                size,
                m.size
            )));
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(0o444);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, &mut source)?;
        // The data ends at the current position, before padding to the next 512-byte block;
        // long names add extension headers before it, so count back from the end.
        let end = tar.get_mut().stream_position()?;
        let padded = size.div_ceil(512) * 512;
        offsets.push((m.key.clone(), end - padded));
    }
    let mut writer = tar.into_inner()?;
    writer.flush()?;
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn file(dir: &Path, name: &str, bytes: &[u8]) -> FileToStore {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        FileToStore {
            key: format!("aip/A/objects/{name}"),
            path,
            size: bytes.len() as u64,
        }
    }

    #[test]
    fn offsets_point_at_each_member_and_tar_reads_the_pack_back() {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(130); // past ustar's 100-byte name field
        let members = vec![
            file(dir.path(), "a", b"first file"),
            file(dir.path(), &long, &vec![7u8; 1000]),
            file(dir.path(), "empty", b""),
            file(dir.path(), "c", &vec![9u8; 513]),
        ];
        let out = dir.path().join("pack.tar");
        let offsets = build(&members, "aip/A/", &out).unwrap();
        let raw = std::fs::read(&out).unwrap();
        for (m, (key, offset)) in members.iter().zip(&offsets) {
            assert_eq!(key, &m.key);
            let want = std::fs::read(&m.path).unwrap();
            let at = *offset as usize;
            assert_eq!(&raw[at..at + want.len()], want.as_slice(), "{key}");
        }
        let mut archive = tar::Archive::new(std::fs::File::open(&out).unwrap());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            let m = members.iter().find(|m| m.key == format!("aip/A/{name}")).unwrap();
            assert_eq!(data, std::fs::read(&m.path).unwrap());
            names.push(name);
        }
        assert_eq!(names.len(), 4);
        assert!(names.contains(&format!("objects/{long}")));
    }

    #[test]
    fn a_file_that_changed_size_fails_the_pack() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = file(dir.path(), "a", b"12345");
        m.size = 4;
        let err = build(&[m], "aip/A/", &dir.path().join("p.tar")).unwrap_err();
        assert!(err.to_string().contains("changed size"), "{err}");
    }

    #[test]
    fn plan_packs_small_files_and_leaves_large_and_lone_ones() {
        let f = |n: &str, size: u64| FileToStore {
            key: n.into(),
            path: PathBuf::new(),
            size,
        };
        let mut files = vec![f("big", PACK_MEMBER_MAX + 1)];
        for i in 0..200 {
            files.push(f(&format!("s{i}"), 1 << 20));
        }
        let (packs, alone) = plan(files, PACK_MEMBER_MAX);
        assert_eq!(alone.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(), vec!["big"]);
        assert_eq!(packs.len(), 4, "64 + 64 + 64 + 8 files of 1 MiB");
        assert!(packs
            .iter()
            .all(|p| p.iter().map(|x| x.size).sum::<u64>() <= PACK_TARGET));
        assert_eq!(packs.iter().map(Vec::len).sum::<usize>(), 200);

        let (packs, alone) = plan(vec![f("only", 10)], PACK_MEMBER_MAX);
        assert!(packs.is_empty(), "a single small file is stored alone");
        assert_eq!(alone.len(), 1);
    }
}
