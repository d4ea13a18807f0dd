//! Writing shard files atomically (temp file, fsync, rename, fsync dir) and reading them back.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::format::{encode_header, Footer, ShardFileHeader, FOOTER_LEN, HEADER_MAGIC, MAX_HEADER_LEN};
use super::{object_id_hex, parse_object_id, ObjectId};

const SHARD_SUFFIX: &str = ".shard";
const TMP_MARKER: &str = ".tmp-";

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("shard I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("node disk full: {needed} bytes needed, {free} free (capacity and filesystem both count)")]
    DiskFull { needed: u64, free: u64 },
    #[error("shard {path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("shard {0} is not on this node")]
    NotFound(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
    move |source| {
        if source.raw_os_error() == Some(libc::ENOSPC) {
            ShardError::DiskFull { needed: 0, free: 0 }
        } else {
            ShardError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

/// A shard file found on disk.
#[derive(Debug, Clone)]
pub struct StoredShard {
    pub object_id: ObjectId,
    pub index: u32,
    pub path: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
}

#[derive(Clone)]
pub struct ShardStore {
    root: PathBuf,
    capacity_bytes: u64,
    /// Bytes of finished shard files, kept up to date on write and delete.
    used_bytes: Arc<AtomicU64>,
}

impl ShardStore {
    pub fn open(data_dir: &Path, capacity_bytes: u64) -> Result<Self, ShardError> {
        let root = data_dir.join("shards");
        std::fs::create_dir_all(&root).map_err(io_err(&root))?;
        // All 256 prefix directories exist, durably, before any shard: a shard's own directory
        // fsync then suffices to make it survive a crash.
        for prefix in 0..=255u8 {
            let dir = root.join(format!("{prefix:02x}"));
            if !dir.exists() {
                std::fs::create_dir(&dir).map_err(io_err(&dir))?;
            }
        }
        std::fs::File::open(&root)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&root))?;
        let store = Self {
            root,
            capacity_bytes,
            used_bytes: Arc::new(AtomicU64::new(0)),
        };
        let used: u64 = store.list()?.iter().filter(|s| !is_temp(&s.path)).map(|s| s.size).sum();
        store.used_bytes.store(used, Ordering::Relaxed);
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, object_id: &ObjectId, index: u32) -> PathBuf {
        let hex = object_id_hex(object_id);
        self.root.join(&hex[..2]).join(format!("{hex}.{index}{SHARD_SUFFIX}"))
    }

    pub fn used_bytes(&self) -> u64 {
        self.used_bytes.load(Ordering::Relaxed)
    }

    /// What this node can still take: the lesser of its declared capacity and the filesystem's
    /// free space (minus a 1% reserve, so RocksDB never starves).
    pub fn free_bytes(&self) -> u64 {
        let by_capacity = self.capacity_bytes.saturating_sub(self.used_bytes());
        by_capacity.min(filesystem_free(&self.root).unwrap_or(u64::MAX))
    }

    pub fn reserve(&self, bytes: u64) -> Result<u64, ShardError> {
        let free = self.free_bytes();
        if bytes > free {
            return Err(ShardError::DiskFull { needed: bytes, free });
        }
        Ok(free)
    }

    pub async fn create(&self, object_id: &ObjectId, header: &ShardFileHeader) -> Result<ShardWriter, ShardError> {
        let final_path = self.path(object_id, header.index);
        let dir = final_path.parent().unwrap_or(&self.root).to_owned();
        tokio::fs::create_dir_all(&dir).await.map_err(io_err(&dir))?;
        let tmp_path = dir.join(format!(
            "{}{TMP_MARKER}{:016x}",
            final_path.file_name().and_then(|n| n.to_str()).unwrap_or("shard"),
            rand::random::<u64>()
        ));
        let mut file = tokio::fs::File::create(&tmp_path).await.map_err(io_err(&tmp_path))?;
        let head = encode_header(header);
        file.write_all(&head).await.map_err(io_err(&tmp_path))?;
        Ok(ShardWriter {
            encoded_header: head.clone(),
            file: Some(file),
            tmp_path,
            final_path,
            dir,
            hashes: Vec::new(),
            written: head.len() as u64,
            used_bytes: self.used_bytes.clone(),
        })
    }

    pub async fn open_reader(&self, object_id: &ObjectId, index: u32) -> Result<ShardReader, ShardError> {
        ShardReader::open(self.path(object_id, index)).await
    }

    /// Every finished shard file, and every temp file, as found on disk.
    pub fn list(&self) -> Result<Vec<StoredShard>, ShardError> {
        let mut out = Vec::new();
        let top = std::fs::read_dir(&self.root).map_err(io_err(&self.root))?;
        for dir in top.flatten() {
            let Ok(files) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                let Some((id, index)) = parse_file_name(&name) else {
                    continue;
                };
                let Ok(meta) = f.metadata() else { continue };
                out.push(StoredShard {
                    object_id: id,
                    index,
                    path: f.path(),
                    size: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
        Ok(out)
    }

    /// Removes a shard file (or temp file) and its accounting.
    pub fn remove(&self, shard: &StoredShard) -> Result<(), ShardError> {
        match std::fs::remove_file(&shard.path) {
            Ok(()) => {
                if !is_temp(&shard.path) {
                    self.used_bytes
                        .fetch_sub(shard.size.min(self.used_bytes()), Ordering::Relaxed);
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&shard.path)(e)),
        }
    }
}

pub fn is_temp(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains(TMP_MARKER))
}

/// `<hex>.<index>.shard` or `<hex>.<index>.shard.tmp-<rand>`.
fn parse_file_name(name: &str) -> Option<(ObjectId, u32)> {
    let base = match name.find(TMP_MARKER) {
        Some(i) => &name[..i],
        None => name,
    };
    let stem = base.strip_suffix(SHARD_SUFFIX)?;
    let (hex, index) = stem.split_once('.')?;
    Some((parse_object_id(hex)?, index.parse().ok()?))
}

fn filesystem_free(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and stat a valid out-pointer.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    let free = stat.f_bavail as u64 * stat.f_frsize as u64;
    let total = stat.f_blocks as u64 * stat.f_frsize as u64;
    Some(free.saturating_sub(total / 100))
}

/// A shard being written. Dropped before `finish`, it deletes its temp file: nothing half-written
/// ever carries a shard's final name.
pub struct ShardWriter {
    encoded_header: Vec<u8>,
    file: Option<tokio::fs::File>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    dir: PathBuf,
    hashes: Vec<[u8; 32]>,
    written: u64,
    used_bytes: Arc<AtomicU64>,
}

impl ShardWriter {
    pub async fn write_stripe(&mut self, data: &[u8]) -> Result<(), ShardError> {
        let file = self.file.as_mut().ok_or_else(|| ShardError::Corrupt {
            path: self.tmp_path.clone(),
            reason: "write after finish".into(),
        })?;
        file.write_all(data).await.map_err(io_err(&self.tmp_path))?;
        self.hashes.push(*blake3::hash(data).as_bytes());
        self.written += data.len() as u64;
        Ok(())
    }

    pub fn stripes(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// Writes the table and footer, fsyncs, renames into place and fsyncs the directory.
    /// Returns BLAKE3(table) and the file size.
    pub async fn finish(mut self, object_size: u64, expected: Option<[u8; 32]>) -> Result<([u8; 32], u64), ShardError> {
        let mut file = self.file.take().ok_or_else(|| ShardError::Corrupt {
            path: self.tmp_path.clone(),
            reason: "finished twice".into(),
        })?;
        let table: Vec<u8> = self.hashes.iter().flatten().copied().collect();
        let table_hash = *blake3::hash(&table).as_bytes();
        if expected.is_some_and(|e| e != table_hash) {
            // Dropping self removes the temp file; the existing shard, if any, stays untouched.
            return Err(ShardError::Corrupt {
                path: self.final_path.clone(),
                reason: "the rebuilt shard does not hash as the manifest recorded; not replacing anything".into(),
            });
        }
        let stripe_count = self.hashes.len() as u64;
        let footer = Footer {
            table_hash,
            seal: Footer::compute_seal(&self.encoded_header, &table_hash, stripe_count, object_size),
            stripe_count,
            object_size,
        };
        let path = self.tmp_path.clone();
        file.write_all(&table).await.map_err(io_err(&path))?;
        file.write_all(&footer.encode()).await.map_err(io_err(&path))?;
        file.sync_all().await.map_err(io_err(&path))?;
        drop(file);
        let replaced = tokio::fs::metadata(&self.final_path)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        tokio::fs::rename(&self.tmp_path, &self.final_path)
            .await
            .map_err(io_err(&path))?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(&dir).and_then(|d| d.sync_all()))
            .await
            .map_err(|e| ShardError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other(e),
            })?
            .map_err(io_err(&self.dir))?;
        let size = self.written + table.len() as u64 + FOOTER_LEN as u64;
        self.used_bytes.fetch_add(size, Ordering::Relaxed);
        let used = self.used_bytes.load(Ordering::Relaxed);
        self.used_bytes.fetch_sub(replaced.min(used), Ordering::Relaxed);
        // The temp name no longer exists; make Drop a no-op.
        self.tmp_path = PathBuf::new();
        Ok((footer.table_hash, size))
    }
}

impl Drop for ShardWriter {
    fn drop(&mut self) {
        if !self.tmp_path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// An open shard file whose footer and table have been read and checked against each other.
pub struct ShardReader {
    file: tokio::fs::File,
    pub path: PathBuf,
    pub header: ShardFileHeader,
    pub table: Vec<u8>,
    pub table_hash: [u8; 32],
    pub stripe_count: u64,
    pub object_size: u64,
    data_start: u64,
    table_start: u64,
}

impl ShardReader {
    pub async fn open(path: PathBuf) -> Result<Self, ShardError> {
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ShardError::NotFound(path)),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let corrupt = |reason: &str| ShardError::Corrupt {
            path: path.clone(),
            reason: reason.into(),
        };
        let len = file.metadata().await.map_err(io_err(&path))?.len();
        let mut prefix = [0u8; 12];
        file.read_exact(&mut prefix)
            .await
            .map_err(|_| corrupt("truncated header"))?;
        if &prefix[..8] != HEADER_MAGIC {
            return Err(corrupt("not an Archipel shard (bad magic)"));
        }
        let header_len = u32::from_le_bytes(prefix[8..12].try_into().unwrap_or_default());
        if header_len > MAX_HEADER_LEN {
            return Err(corrupt("header length out of range"));
        }
        let mut raw_header = vec![0u8; header_len as usize];
        file.read_exact(&mut raw_header)
            .await
            .map_err(|_| corrupt("truncated header"))?;
        let header: ShardFileHeader = serde_json::from_slice(&raw_header).map_err(|_| corrupt("unreadable header"))?;
        let mut encoded_header = prefix.to_vec();
        encoded_header.extend_from_slice(&raw_header);
        let data_start = 12 + header_len as u64;
        if len < data_start + FOOTER_LEN as u64 {
            return Err(corrupt("truncated: no footer"));
        }
        file.seek(SeekFrom::Start(len - FOOTER_LEN as u64))
            .await
            .map_err(io_err(&path))?;
        let mut raw_footer = [0u8; FOOTER_LEN];
        file.read_exact(&mut raw_footer).await.map_err(io_err(&path))?;
        let footer = Footer::decode(&raw_footer).ok_or_else(|| corrupt("bad footer"))?;
        let table_len = footer
            .stripe_count
            .checked_mul(32)
            .filter(|t| data_start + t + (FOOTER_LEN as u64) <= len)
            .ok_or_else(|| corrupt("stripe count does not fit the file"))?;
        let table_start = len - FOOTER_LEN as u64 - table_len;
        file.seek(SeekFrom::Start(table_start)).await.map_err(io_err(&path))?;
        let mut table = vec![0u8; table_len as usize];
        file.read_exact(&mut table).await.map_err(io_err(&path))?;
        if *blake3::hash(&table).as_bytes() != footer.table_hash {
            return Err(corrupt("stripe table does not match its hash"));
        }
        let seal = Footer::compute_seal(
            &encoded_header,
            &footer.table_hash,
            footer.stripe_count,
            footer.object_size,
        );
        if seal != footer.seal {
            return Err(corrupt("header or footer damaged (seal mismatch)"));
        }
        Ok(Self {
            file,
            path,
            header,
            table,
            table_hash: footer.table_hash,
            stripe_count: footer.stripe_count,
            object_size: footer.object_size,
            data_start,
            table_start,
        })
    }

    fn stripe_range(&self, stripe: u64) -> Option<(u64, u64)> {
        if stripe >= self.stripe_count {
            return None;
        }
        // The header is on-disk input: a damaged shard_len must not overflow or over-allocate.
        let start = stripe
            .checked_mul(self.header.shard_len)
            .and_then(|o| o.checked_add(self.data_start))?;
        let end = if stripe + 1 == self.stripe_count {
            self.table_start
        } else {
            start.checked_add(self.header.shard_len)?
        };
        (start <= end && end <= self.table_start && end - start <= self.header.shard_len).then_some((start, end))
    }

    /// The bytes of one stripe, unverified (see `verify`).
    pub async fn read_stripe(&mut self, stripe: u64) -> Result<Vec<u8>, ShardError> {
        let (start, end) = self.stripe_range(stripe).ok_or_else(|| ShardError::Corrupt {
            path: self.path.clone(),
            reason: format!("no stripe {stripe} (the shard has {})", self.stripe_count),
        })?;
        self.file
            .seek(SeekFrom::Start(start))
            .await
            .map_err(io_err(&self.path))?;
        let mut data = vec![0u8; (end - start) as usize];
        self.file.read_exact(&mut data).await.map_err(io_err(&self.path))?;
        Ok(data)
    }

    pub fn expected_hash(&self, stripe: u64) -> Option<&[u8]> {
        let i = stripe as usize * 32;
        self.table.get(i..i + 32)
    }

    pub fn verify(&self, stripe: u64, data: &[u8]) -> bool {
        self.expected_hash(stripe) == Some(blake3::hash(data).as_bytes().as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(index: u32) -> ShardFileHeader {
        ShardFileHeader {
            format: 1,
            object_id: "00".repeat(16),
            namespace: "ns".into(),
            key: "k".into(),
            index,
            profile: "2+1".into(),
            stripe_size: 8,
            shard_len: 4,
            created_at_ms: 0,
        }
    }

    #[tokio::test]
    async fn write_finish_read_verify() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30).unwrap();
        let id = [7u8; 16];
        let mut w = store.create(&id, &header(1)).await.unwrap();
        w.write_stripe(b"abcd").await.unwrap();
        w.write_stripe(b"ef").await.unwrap();
        let (table_hash, size) = w.finish(6, None).await.unwrap();
        assert_eq!(store.used_bytes(), size);
        let mut r = store.open_reader(&id, 1).await.unwrap();
        assert_eq!(r.table_hash, table_hash);
        assert_eq!(r.stripe_count, 2);
        let s0 = r.read_stripe(0).await.unwrap();
        let s1 = r.read_stripe(1).await.unwrap();
        assert_eq!((s0.as_slice(), s1.as_slice()), (&b"abcd"[..], &b"ef"[..]));
        assert!(r.verify(0, &s0) && r.verify(1, &s1));
        assert!(!r.verify(0, b"abce"), "one changed byte is detected");
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].object_id, listed[0].index), (id, 1));
    }

    #[tokio::test]
    async fn an_unfinished_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30).unwrap();
        let mut w = store.create(&[1u8; 16], &header(0)).await.unwrap();
        w.write_stripe(b"data").await.unwrap();
        drop(w);
        assert!(store.list().unwrap().is_empty());
        assert!(matches!(
            store.open_reader(&[1u8; 16], 0).await,
            Err(ShardError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn damage_is_reported_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30).unwrap();
        let id = [2u8; 16];
        let mut w = store.create(&id, &header(0)).await.unwrap();
        w.write_stripe(b"abcd").await.unwrap();
        w.finish(4, None).await.unwrap();
        let path = store.path(&id, 0);
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - FOOTER_LEN - 1] ^= 1; // inside the table
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            store.open_reader(&id, 0).await,
            Err(ShardError::Corrupt { .. })
        ));
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(
            store.open_reader(&id, 0).await,
            Err(ShardError::Corrupt { .. })
        ));
    }

    #[test]
    fn capacity_is_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 100).unwrap();
        assert!(store.reserve(50).is_ok());
        assert!(matches!(store.reserve(500), Err(ShardError::DiskFull { .. })));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any single flipped bit, anywhere in a shard file, is caught: by the header or footer
        /// checks when opening, by the table hash, or by the stripe's BLAKE3 when reading.
        #[test]
        fn a_flipped_bit_anywhere_is_detected(
            stripes in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..64), 1..5),
            bit in proptest::prelude::any::<u64>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = ShardStore::open(dir.path(), 1 << 30).unwrap();
                let id = [9u8; 16];
                let mut h = header(0);
                h.shard_len = 64;
                let mut w = store.create(&id, &h).await.unwrap();
                for s in &stripes {
                    w.write_stripe(s).await.unwrap();
                }
                let (table_hash, _) = w.finish(0, None).await.unwrap();
                let path = store.path(&id, 0);
                let mut bytes = std::fs::read(&path).unwrap();
                let bit = bit % (bytes.len() as u64 * 8);
                bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
                std::fs::write(&path, &bytes).unwrap();
                let detected = match store.open_reader(&id, 0).await {
                    Err(_) => true,
                    Ok(r) if r.table_hash != table_hash => true,
                    Ok(mut r) => {
                        let mut bad = false;
                        for i in 0..r.stripe_count {
                            match r.read_stripe(i).await {
                                Ok(d) => bad |= !r.verify(i, &d),
                                Err(_) => bad = true,
                            }
                        }
                        bad
                    }
                };
                assert!(detected, "flip of bit {bit} went unnoticed");
            });
        }
    }

    #[test]
    fn file_names_round_trip() {
        let id = [0xabu8; 16];
        let name = format!("{}.3.shard", object_id_hex(&id));
        assert_eq!(parse_file_name(&name), Some((id, 3)));
        assert_eq!(parse_file_name(&format!("{name}.tmp-0011")), Some((id, 3)));
        assert_eq!(parse_file_name("junk"), None);
    }
}
