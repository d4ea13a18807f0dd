//! A node's shards: large ones as files under `<data_dir>/shards/`, small ones packed in the
//! node's own RocksDB (`packed`). Both hold the same bytes; callers see one store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use super::format::{closing, encode_header, ShardFileHeader, FOOTER_LEN};
use super::packed::PackedShards;
use super::reader::ShardReader;
use super::writer::ShardWriter;
use super::{object_id_hex, parse_object_id, ObjectId};
use crate::rocks_memory::RocksMemory;
use crate::time::{Clock, SystemClock};

const SHARD_SUFFIX: &str = ".shard";
pub(super) const TMP_MARKER: &str = ".tmp-";

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

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
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

/// A shard found on this node: a file (or temp file), or a packed shard.
#[derive(Debug, Clone)]
pub struct StoredShard {
    pub object_id: ObjectId,
    pub index: u32,
    /// The file; for a packed shard, a name under the packed store that no file has.
    pub path: PathBuf,
    pub packed: bool,
    pub size: u64,
    pub modified: SystemTime,
    /// The file's identity (inode); a file renamed over it has another. 0 for a packed shard.
    pub inode: u64,
}

/// A whole one-stripe shard to store.
pub struct WholeShardWrite {
    pub object_id: ObjectId,
    pub header: ShardFileHeader,
    pub stripe: bytes::Bytes,
    pub object_size: u64,
    /// The table hash the coordinator computed: a shard that does not hash so is not stored.
    pub expected_table_hash: Option<[u8; 32]>,
}

/// What the node holds of one shard now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Present {
    pub bytes: u64,
    pub file: bool,
    pub packed: bool,
}

#[derive(Clone)]
pub struct ShardStore {
    root: PathBuf,
    capacity_bytes: u64,
    /// Bytes of finished shards, kept up to date on write and delete.
    used_bytes: Arc<AtomicU64>,
    packed: PackedShards,
    /// Shards up to this many bytes are packed (0: none).
    pack_max: u64,
    locks: Arc<ShardLocks>,
    probe: Arc<super::DiskProbe>,
    /// Stamps each shard's creation (`created_at_ms`), from which the collector ages a packed
    /// shard: the node's clock, so that a test or a simulation sets it.
    clock: Arc<dyn Clock>,
    /// Test fault: the store alters each stripe it is given, as a faulty node or disk would.
    #[cfg(test)]
    pub(crate) alter_stripes: Arc<std::sync::atomic::AtomicBool>,
    /// Test hook: runs inside `remove_if_unchanged`, after the check and before the delete.
    #[cfg(test)]
    #[allow(clippy::type_complexity)]
    pub(crate) between_check_and_delete: Arc<std::sync::Mutex<Option<Box<dyn Fn() + Send>>>>,
}

/// Per-shard locks, striped: a few dozen mutexes shared by every shard, held only around a rename,
/// a packed write or a check-and-delete.
struct ShardLocks {
    stripes: Vec<std::sync::Mutex<()>>,
}

impl ShardLocks {
    fn new() -> Self {
        Self {
            stripes: (0..64).map(|_| std::sync::Mutex::new(())).collect(),
        }
    }

    fn slot(&self, object_id: &ObjectId, index: u32) -> usize {
        let mix = u64::from(object_id[0]) ^ (u64::from(object_id[1]) << 8) ^ u64::from(index);
        (mix % self.stripes.len() as u64) as usize
    }

    fn lock(&self, object_id: &ObjectId, index: u32) -> std::sync::MutexGuard<'_, ()> {
        self.stripes[self.slot(object_id, index)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The slots of several shards, each once, in order (so two holders never deadlock).
    fn slots(&self, shards: impl Iterator<Item = (ObjectId, u32)>) -> Vec<usize> {
        let mut slots: Vec<usize> = shards.map(|(id, index)| self.slot(&id, index)).collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }
}

impl ShardStore {
    pub fn open(data_dir: &Path, capacity_bytes: u64, pack_max: u64) -> Result<Self, ShardError> {
        Self::open_with(data_dir, capacity_bytes, pack_max, &RocksMemory::default())
    }

    /// Opens the store, the packed shards' memory counted in `memory` (shared with the metadata store).
    pub fn open_with(
        data_dir: &Path,
        capacity_bytes: u64,
        pack_max: u64,
        memory: &RocksMemory,
    ) -> Result<Self, ShardError> {
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
        let probe = Arc::new(super::DiskProbe::new(&root));
        let store = Self {
            root,
            capacity_bytes,
            used_bytes: Arc::new(AtomicU64::new(0)),
            packed: PackedShards::open_with(data_dir, memory)?,
            pack_max,
            locks: Arc::new(ShardLocks::new()),
            probe,
            clock: Arc::new(SystemClock),
            #[cfg(test)]
            alter_stripes: Default::default(),
            #[cfg(test)]
            between_check_and_delete: Default::default(),
        };
        let mut used = 0;
        for bucket in 0..=u8::MAX {
            used += store
                .list_bucket(bucket)?
                .iter()
                .filter(|s| !is_temp(&s.path))
                .map(|s| s.size)
                .sum::<u64>();
        }
        store.used_bytes.store(used, Ordering::Relaxed);
        Ok(store)
    }

    /// This store, stamping shards with `clock` (the node's) instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// `header` as stored: stamped with this store's clock.
    fn stamped(&self, header: &ShardFileHeader) -> ShardFileHeader {
        ShardFileHeader {
            created_at_ms: self.clock.now_ms(),
            ..header.clone()
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, object_id: &ObjectId, index: u32) -> PathBuf {
        let hex = object_id_hex(object_id);
        self.root.join(&hex[..2]).join(format!("{hex}.{index}{SHARD_SUFFIX}"))
    }

    /// The liveness check that writes and reads this store's disk.
    pub fn disk_probe(&self) -> &super::DiskProbe {
        &self.probe
    }

    pub fn used_bytes(&self) -> u64 {
        self.used_bytes.load(Ordering::Relaxed)
    }

    pub(super) fn used_counter(&self) -> &AtomicU64 {
        &self.used_bytes
    }

    pub(super) fn packed(&self) -> &PackedShards {
        &self.packed
    }

    pub(super) fn pack_max(&self) -> u64 {
        self.pack_max
    }

    /// The bytes that reach the disk for `stripe`: the same, except under an injected fault.
    pub(super) fn as_stored(&self, stripe: bytes::Bytes) -> bytes::Bytes {
        #[cfg(test)]
        if self.alter_stripes.load(Ordering::Relaxed) && !stripe.is_empty() {
            let mut altered = stripe.to_vec();
            altered[0] ^= 1;
            return altered.into();
        }
        stripe
    }

    /// Whether, and how, this node holds the shard now.
    pub fn present(&self, object_id: &ObjectId, index: u32) -> Present {
        let packed = self.packed.entry(object_id, index).ok().flatten();
        let file = std::fs::metadata(self.path(object_id, index)).ok();
        Present {
            bytes: packed.map(|e| e.size).unwrap_or(0) + file.as_ref().map(|m| m.len()).unwrap_or(0),
            file: file.is_some(),
            packed: packed.is_some(),
        }
    }

    pub fn contains(&self, object_id: &ObjectId, index: u32) -> bool {
        let p = self.present(object_id, index);
        p.file || p.packed
    }

    /// The shard is still the one listed (a repair may have replaced it since).
    pub fn unchanged(&self, shard: &StoredShard) -> bool {
        if shard.packed {
            return self
                .packed
                .entry(&shard.object_id, shard.index)
                .ok()
                .flatten()
                .is_some_and(|e| e.size == shard.size && e.created == shard.modified);
        }
        std::fs::metadata(&shard.path).is_ok_and(|m| {
            m.len() == shard.size
                && m.modified().ok() == Some(shard.modified)
                && std::os::unix::fs::MetadataExt::ino(&m) == shard.inode
        })
    }

    /// The lock that makes shard `index` of `object_id` visible or deletes it: a writer holds it
    /// to rename or pack a shard into place, the collector to check and delete one.
    pub(super) fn lock_shard(&self, object_id: &ObjectId, index: u32) -> std::sync::MutexGuard<'_, ()> {
        self.locks.lock(object_id, index)
    }

    /// Deletes `shard` if it is still the one listed, checked and deleted under the shard's lock,
    /// so that a shard a repair renamed or packed in since is never the one removed. Returns
    /// whether it was removed.
    pub fn remove_if_unchanged(&self, shard: &StoredShard) -> Result<bool, ShardError> {
        let _guard = self.lock_shard(&shard.object_id, shard.index);
        if !self.unchanged(shard) {
            return Ok(false);
        }
        #[cfg(test)]
        if let Some(hook) = self
            .between_check_and_delete
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            hook();
        }
        self.remove(shard)?;
        Ok(true)
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

    /// Starts a shard; nothing is written under its name before [`ShardWriter::finish`].
    pub async fn create(&self, object_id: &ObjectId, header: &ShardFileHeader) -> Result<ShardWriter, ShardError> {
        let header = &self.stamped(header);
        Ok(ShardWriter::new(
            self.clone(),
            *object_id,
            header.index,
            header.created_at_ms,
            encode_header(header),
        ))
    }

    pub async fn open_reader(&self, object_id: &ObjectId, index: u32) -> Result<ShardReader, ShardError> {
        let (packed, id) = (self.packed.clone(), *object_id);
        let bytes = tokio::task::spawn_blocking(move || packed.get(&id, index))
            .await
            .map_err(|e| io_err(&self.root)(std::io::Error::other(e)))??;
        match bytes {
            Some(bytes) => ShardReader::from_bytes(self.packed.display_path(object_id, index), bytes).await,
            None => ShardReader::open(self.path(object_id, index)).await,
        }
    }

    /// [`Self::open_reader`] for verification: reads come from the disk, not the page cache or
    /// RocksDB's block cache, and leave those caches as they were.
    pub async fn open_reader_from_disk(&self, object_id: &ObjectId, index: u32) -> Result<ShardReader, ShardError> {
        let (packed, id) = (self.packed.clone(), *object_id);
        let bytes = tokio::task::spawn_blocking(move || packed.get_from_disk(&id, index))
            .await
            .map_err(|e| io_err(&self.root)(std::io::Error::other(e)))??;
        match bytes {
            Some(bytes) => ShardReader::from_bytes(self.packed.display_path(object_id, index), bytes).await,
            None => ShardReader::open_from_disk(self.path(object_id, index)).await,
        }
    }

    /// Stores whole one-stripe shards (a batch from `WriteShards`): those that fit the pack limit
    /// with one synced write, any other as a file. Returns each shard's table hash and size, in
    /// order, or why that shard alone was refused (it does not hash as its coordinator computed);
    /// a failure of the shared write fails them all.
    pub async fn put_whole_many(
        &self,
        shards: Vec<WholeShardWrite>,
    ) -> Result<Vec<Result<([u8; 32], u64), ShardError>>, ShardError> {
        let mut out = Vec::with_capacity(shards.len());
        let mut packed: Vec<(ObjectId, u32, Vec<u8>, u64)> = Vec::new();
        let mut replaced = 0u64;
        let mut stale_files = Vec::new();
        for mut s in shards {
            s.header = self.stamped(&s.header);
            let head = encode_header(&s.header);
            let size = (head.len() + s.stripe.len()) as u64 + 32 + FOOTER_LEN as u64;
            if self.pack_max == 0 || size > self.pack_max {
                let mut w = self.create(&s.object_id, &s.header).await?;
                w.write_stripe(s.stripe).await?;
                out.push(w.finish(s.object_size, s.expected_table_hash).await);
                continue;
            }
            let stripe = self.as_stored(s.stripe);
            let (tail, table_hash) = closing(&head, &[*blake3::hash(&stripe).as_bytes()], s.object_size);
            if s.expected_table_hash.is_some_and(|e| e != table_hash) {
                out.push(Err(ShardError::Corrupt {
                    path: self.packed.display_path(&s.object_id, s.header.index),
                    reason: "the shard received does not hash as its coordinator computed; not stored".into(),
                }));
                continue;
            }
            let present = self.present(&s.object_id, s.header.index);
            replaced += present.bytes;
            if present.file {
                stale_files.push(self.path(&s.object_id, s.header.index));
            }
            let mut bytes = head;
            bytes.reserve(stripe.len() + tail.len());
            bytes.extend_from_slice(&stripe);
            bytes.extend_from_slice(&tail);
            packed.push((s.object_id, s.header.index, bytes, s.header.created_at_ms));
            out.push(Ok((table_hash, size)));
        }
        if !packed.is_empty() {
            let added: u64 = packed.iter().map(|p| p.2.len() as u64).sum();
            let (store, locks) = (self.packed.clone(), self.locks.clone());
            tokio::task::spawn_blocking(move || {
                let slots = locks.slots(packed.iter().map(|p| (p.0, p.1)));
                let _guards: Vec<_> = slots
                    .iter()
                    .map(|&i| locks.stripes[i].lock().unwrap_or_else(|p| p.into_inner()))
                    .collect();
                store.put_many(&packed)
            })
            .await
            .map_err(|e| io_err(&self.root)(std::io::Error::other(e)))??;
            for path in stale_files {
                let _ = tokio::fs::remove_file(&path).await;
            }
            self.used_bytes.fetch_add(added, Ordering::Relaxed);
            self.used_bytes
                .fetch_sub(replaced.min(self.used_bytes()), Ordering::Relaxed);
        }
        Ok(out)
    }

    /// Every finished shard, packed or not, and every temp file. Holds them all: passes over a
    /// whole store walk [`Self::list_bucket`] instead.
    pub fn list(&self) -> Result<Vec<StoredShard>, ShardError> {
        let mut out = Vec::new();
        for bucket in 0..=u8::MAX {
            out.extend(self.list_bucket(bucket)?);
        }
        Ok(out)
    }

    /// The shards and temp files whose object id starts with byte `bucket`, sorted by name: one
    /// of 256 slices of the store, so a pass over all of them holds one slice at a time.
    pub fn list_bucket(&self, bucket: u8) -> Result<Vec<StoredShard>, ShardError> {
        let mut out: Vec<StoredShard> = self
            .packed
            .list_bucket(bucket)?
            .into_iter()
            .map(|e| StoredShard {
                object_id: e.object_id,
                index: e.index,
                path: self.packed.display_path(&e.object_id, e.index),
                packed: true,
                size: e.size,
                modified: e.created,
                inode: 0,
            })
            .collect();
        let dir = self.root.join(hex::encode([bucket]));
        let files = match std::fs::read_dir(&dir) {
            Ok(files) => files,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(sorted(out)),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        {
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
                    packed: false,
                    size: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    inode: std::os::unix::fs::MetadataExt::ino(&meta),
                });
            }
        }
        Ok(sorted(out))
    }

    /// Removes a shard (or temp file) and its accounting.
    pub fn remove(&self, shard: &StoredShard) -> Result<(), ShardError> {
        if shard.packed {
            self.packed.delete(&shard.object_id, shard.index)?;
            self.used_bytes
                .fetch_sub(shard.size.min(self.used_bytes()), Ordering::Relaxed);
            return Ok(());
        }
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

fn sorted(mut shards: Vec<StoredShard>) -> Vec<StoredShard> {
    shards.sort_by(|a, b| (a.object_id, a.index, &a.path).cmp(&(b.object_id, b.index, &b.path)));
    shards
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

#[cfg(test)]
mod tests {
    use super::super::format::FOOTER_LEN;
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

    /// Packing on (every test shard fits) or off (every shard a file).
    fn open(dir: &Path, packed: bool) -> ShardStore {
        ShardStore::open(dir, 1 << 30, if packed { 1 << 20 } else { 0 }).unwrap()
    }

    /// The stored bytes of a shard, wherever they are.
    fn raw(store: &ShardStore, id: &ObjectId, index: u32) -> Vec<u8> {
        match store.packed.get(id, index).unwrap() {
            Some(bytes) => bytes,
            None => std::fs::read(store.path(id, index)).unwrap(),
        }
    }

    fn overwrite(store: &ShardStore, id: &ObjectId, index: u32, bytes: &[u8]) {
        if store.packed.get(id, index).unwrap().is_some() {
            store.packed.put(id, index, bytes, 0).unwrap();
        } else {
            std::fs::write(store.path(id, index), bytes).unwrap();
        }
    }

    /// A packed shard's creation, from which the collector ages it, is the injected clock's time.
    #[tokio::test]
    async fn a_packed_shard_is_stamped_with_the_store_clock() {
        let dir = tempfile::tempdir().unwrap();
        let at = 1_700_000_000_000;
        let store = open(dir.path(), true).with_clock(Arc::new(crate::time::ManualClock::new(at)));
        let mut w = store.create(&[1; 16], &header(0)).await.unwrap();
        w.write_stripe(bytes::Bytes::copy_from_slice(b"abcd")).await.unwrap();
        w.finish(4, None).await.unwrap();
        let whole = WholeShardWrite {
            object_id: [2; 16],
            header: header(0),
            stripe: bytes::Bytes::copy_from_slice(b"efgh"),
            object_size: 4,
            expected_table_hash: None,
        };
        store.put_whole_many(vec![whole]).await.unwrap().remove(0).unwrap();
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 2);
        for s in listed {
            assert!(s.packed);
            assert_eq!(
                s.modified,
                SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(at)
            );
        }
    }

    #[tokio::test]
    async fn write_finish_read_verify() {
        for packed in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path(), packed);
            let id = [7u8; 16];
            let mut w = store.create(&id, &header(1)).await.unwrap();
            w.write_stripe(bytes::Bytes::copy_from_slice(b"abcd")).await.unwrap();
            w.write_stripe(bytes::Bytes::copy_from_slice(b"ef")).await.unwrap();
            let (table_hash, size) = w.finish(6, None).await.unwrap();
            assert_eq!(store.used_bytes(), size);
            assert_eq!(store.path(&id, 1).exists(), !packed, "packed: {packed}");
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
            assert_eq!(
                (listed[0].object_id, listed[0].index, listed[0].packed),
                (id, 1, packed)
            );
            assert!(store.contains(&id, 1) && store.unchanged(&listed[0]));
            // Reopened, the accounting is rebuilt from what is stored.
            drop((r, store));
            let store = open(dir.path(), packed);
            assert_eq!(store.used_bytes(), size);
            store.remove(&listed[0]).unwrap();
            assert!(!store.contains(&id, 1));
            assert_eq!(store.used_bytes(), 0);
        }
    }

    /// The 256 buckets partition the store: every shard, packed or a file, in exactly one,
    /// each sorted by name, so passes over the store hold one bucket at a time.
    #[tokio::test]
    async fn buckets_partition_the_store_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30, 64 << 10).unwrap();
        let mut written = Vec::new();
        for (i, first) in [0x00u8, 0x00, 0x7f, 0xff, 0xff, 0xa1].into_iter().enumerate() {
            let mut id = [i as u8; 16];
            id[0] = first;
            // Odd ones spill to files (past the 64 KiB pack limit), even ones are packed.
            let len = if i % 2 == 0 { 4 } else { 100 << 10 };
            let mut h = header(i as u32);
            h.shard_len = len as u64;
            let mut w = store.create(&id, &h).await.unwrap();
            w.write_stripe(bytes::Bytes::from(vec![i as u8; len])).await.unwrap();
            w.finish(len as u64, None).await.unwrap();
            written.push((id, i as u32));
        }
        let mut seen = Vec::new();
        for bucket in 0..=u8::MAX {
            let slice = store.list_bucket(bucket).unwrap();
            assert!(slice.iter().all(|s| s.object_id[0] == bucket), "bucket {bucket:02x}");
            let keys: Vec<_> = slice.iter().map(|s| (s.object_id, s.index)).collect();
            let mut sorted_keys = keys.clone();
            sorted_keys.sort();
            assert_eq!(keys, sorted_keys, "bucket {bucket:02x} is in name order");
            seen.extend(keys);
        }
        written.sort();
        assert_eq!(seen, written);
        assert!(store.list().unwrap().iter().any(|s| s.packed) && store.list().unwrap().iter().any(|s| !s.packed));
    }

    #[tokio::test]
    async fn a_shard_past_the_pack_limit_spills_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30, 1024).unwrap();
        let id = [3u8; 16];
        let mut h = header(0);
        h.shard_len = 600;
        let mut w = store.create(&id, &h).await.unwrap();
        w.write_stripe(bytes::Bytes::copy_from_slice(&[1u8; 600]))
            .await
            .unwrap();
        w.write_stripe(bytes::Bytes::copy_from_slice(&[2u8; 600]))
            .await
            .unwrap();
        w.finish(1200, None).await.unwrap();
        let p = store.present(&id, 0);
        assert!(p.file && !p.packed, "{p:?}");
        let mut r = store.open_reader(&id, 0).await.unwrap();
        assert_eq!(r.read_stripe(1).await.unwrap(), vec![2u8; 600]);
    }

    #[tokio::test]
    async fn an_unfinished_writer_leaves_nothing() {
        for (packed, stripe) in [(true, vec![0u8; 4]), (false, vec![0u8; 4]), (true, vec![0u8; 2 << 20])] {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path(), packed);
            let mut h = header(0);
            h.shard_len = stripe.len() as u64;
            let mut w = store.create(&[1u8; 16], &h).await.unwrap();
            w.write_stripe(bytes::Bytes::copy_from_slice(&stripe)).await.unwrap();
            drop(w);
            assert!(store.list().unwrap().is_empty());
            assert!(matches!(
                store.open_reader(&[1u8; 16], 0).await,
                Err(ShardError::NotFound(_))
            ));
        }
    }

    #[tokio::test]
    async fn a_rebuilt_shard_that_hashes_wrong_replaces_nothing() {
        for packed in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path(), packed);
            let id = [4u8; 16];
            let mut w = store.create(&id, &header(0)).await.unwrap();
            w.write_stripe(bytes::Bytes::copy_from_slice(b"good")).await.unwrap();
            let (good, _) = w.finish(4, None).await.unwrap();
            let mut w = store.create(&id, &header(0)).await.unwrap();
            w.write_stripe(bytes::Bytes::copy_from_slice(b"evil")).await.unwrap();
            assert!(w.finish(4, Some(good)).await.is_err());
            let r = store.open_reader(&id, 0).await.unwrap();
            assert_eq!(r.table_hash, good, "packed: {packed}");
        }
    }

    #[tokio::test]
    async fn damage_is_reported_not_served() {
        for packed in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path(), packed);
            let id = [2u8; 16];
            let mut w = store.create(&id, &header(0)).await.unwrap();
            w.write_stripe(bytes::Bytes::copy_from_slice(b"abcd")).await.unwrap();
            w.finish(4, None).await.unwrap();
            let mut bytes = raw(&store, &id, 0);
            let n = bytes.len();
            bytes[n - FOOTER_LEN - 1] ^= 1; // inside the table
            overwrite(&store, &id, 0, &bytes);
            assert!(matches!(
                store.open_reader(&id, 0).await,
                Err(ShardError::Corrupt { .. })
            ));
            overwrite(&store, &id, 0, b"garbage");
            assert!(matches!(
                store.open_reader(&id, 0).await,
                Err(ShardError::Corrupt { .. })
            ));
        }
    }

    #[test]
    fn capacity_is_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 100, 0).unwrap();
        assert!(store.reserve(50).is_ok());
        assert!(matches!(store.reserve(500), Err(ShardError::DiskFull { .. })));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any single flipped bit, anywhere in a shard, file or packed, is caught: by the header or
        /// footer checks when opening, by the table hash, or by the stripe's BLAKE3 when reading.
        #[test]
        fn a_flipped_bit_anywhere_is_detected(
            stripes in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..64), 1..5),
            bit in proptest::prelude::any::<u64>(),
            packed in proptest::prelude::any::<bool>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = open(dir.path(), packed);
                let id = [9u8; 16];
                let mut h = header(0);
                h.shard_len = 64;
                let mut w = store.create(&id, &h).await.unwrap();
                for s in &stripes {
                    w.write_stripe(bytes::Bytes::copy_from_slice(s)).await.unwrap();
                }
                let (table_hash, _) = w.finish(0, None).await.unwrap();
                let mut bytes = raw(&store, &id, 0);
                let bit = bit % (bytes.len() as u64 * 8);
                bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
                overwrite(&store, &id, 0, &bytes);
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
                assert!(detected, "flip of bit {bit} went unnoticed (packed: {packed})");
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

#[cfg(test)]
#[path = "collect_race_tests.rs"]
mod collect_race_tests;
