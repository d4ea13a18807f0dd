//! Small files of an AIP go into tar packs: one cluster object per pack rather than per file,
//! so a transfer of a thousand small files costs a few large writes, not a thousand small ones.
//! A pack is a plain POSIX tar whose members are named as the files would be in the AIP
//! (`objects/<sha512>`), so it stays readable with standard tools. The descriptor records each
//! file's pack and offset, and a file is read back as a range of its pack.

use std::io::Write;
use std::path::PathBuf;

use crate::counted::Counted;

/// Files up to this size are packed by default; larger ones are objects of their own.
pub const PACK_MEMBER_MAX: u64 = 1 << 20;
/// A pack is closed once its files reach this size. Several packs upload at once, so a SIP of
/// small files keeps both the front and the cluster busy (64 MiB packs ingested 30 % slower).
pub const PACK_TARGET: u64 = 16 << 20;

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

/// Writes `members` as a tar stream into `out`, each named by its key relative to `prefix` (the
/// AIP's key prefix), and returns where each member's data starts. Each file must still have
/// the size it was checked with: a file that changed is an error, not a silently wrong pack.
pub fn write_tar<W: Write>(members: &[FileToStore], prefix: &str, out: W) -> std::io::Result<Vec<(String, u64)>> {
    let mut tar = tar::Builder::new(Counted::new(out));
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
        // The data ends where the stream is now, before padding to the next 512-byte block;
        // long names add extension headers before it, so count back from the end.
        let end = tar.get_ref().bytes;
        let padded = size.div_ceil(512) * 512;
        offsets.push((m.key.clone(), end - padded));
    }
    tar.into_inner()?.inner.flush()?;
    Ok(offsets)
}

/// A blocking writer whose bytes arrive as chunks on an async channel: a pack is built on a
/// blocking thread while the upload streams it, with no temp file between them.
pub struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>,
    buf: Vec<u8>,
}

const CHANNEL_CHUNK: usize = 1 << 20;

impl ChannelWriter {
    pub fn new(tx: tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(CHANNEL_CHUNK),
        }
    }

    /// Ends the stream with `error`, so the reader fails instead of seeing a clean end.
    pub fn fail(&mut self, error: &std::io::Error) {
        let _ = self
            .tx
            .blocking_send(Err(std::io::Error::new(error.kind(), error.to_string())));
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHANNEL_CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload of the pack stopped"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHANNEL_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::path::Path;

    /// The tests read packs back from a file; ingest streams them into the upload instead.
    fn build(members: &[FileToStore], prefix: &str, out: &Path) -> std::io::Result<Vec<(String, u64)>> {
        let mut file = std::fs::File::create(out)?;
        let offsets = write_tar(members, prefix, &mut file)?;
        file.flush()?;
        Ok(offsets)
    }

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

    #[tokio::test]
    async fn a_pack_streams_through_the_channel_and_a_failure_reaches_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let members = vec![
            file(dir.path(), "a", b"first file"),
            file(dir.path(), "b", &vec![3u8; 3 << 20]),
        ];
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let ms = members.clone();
        let built = tokio::task::spawn_blocking(move || write_tar(&ms, "aip/A/", &mut ChannelWriter::new(tx)));
        let mut streamed = Vec::new();
        while let Some(chunk) = rx.recv().await {
            streamed.extend_from_slice(&chunk.unwrap());
        }
        let offsets = built.await.unwrap().unwrap();
        let path = dir.path().join("pack.tar");
        assert_eq!(offsets, build(&members, "aip/A/", &path).unwrap());
        assert_eq!(
            streamed,
            std::fs::read(&path).unwrap(),
            "streamed and written packs are the same bytes"
        );

        let mut changed = members[1].clone();
        changed.size += 1;
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            let mut w = ChannelWriter::new(tx);
            let r = write_tar(&[changed], "aip/A/", &mut w);
            if let Err(e) = &r {
                w.fail(e);
            }
        });
        let mut failed = false;
        while let Some(chunk) = rx.recv().await {
            failed |= chunk.is_err();
        }
        assert!(failed, "the reader sees an error, not a clean end of a short pack");
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
        assert_eq!(packs.len(), 13, "12 packs of 16 files of 1 MiB, then 8");
        assert!(packs
            .iter()
            .all(|p| p.iter().map(|x| x.size).sum::<u64>() <= PACK_TARGET));
        assert_eq!(packs.iter().map(Vec::len).sum::<usize>(), 200);

        let (packs, alone) = plan(vec![f("only", 10)], PACK_MEMBER_MAX);
        assert!(packs.is_empty(), "a single small file is stored alone");
        assert_eq!(alone.len(), 1);
    }
}
