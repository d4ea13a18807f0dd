//! Writing a shard. It is held in memory while it is small enough to pack; past that it goes
//! to a temp file, which is fsync'd, renamed into place, and its directory fsync'd. Either way
//! nothing is visible under the shard's name before `finish` has made it durable.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use super::format::{closing, FOOTER_LEN};
use super::store::{io_err, ShardError, ShardStore, TMP_MARKER};
use super::ObjectId;

enum Sink {
    Memory(Vec<u8>),
    /// Written on blocking threads straight from the caller's buffers: no copy on the way.
    File(Arc<std::fs::File>),
}

/// Runs `op` on a blocking thread.
async fn blocking<T: Send + 'static>(
    path: &Path,
    op: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, ShardError> {
    tokio::task::spawn_blocking(op)
        .await
        .map_err(|e| io_err(path)(std::io::Error::other(e)))?
        .map_err(io_err(path))
}

/// A shard being written. Dropped before `finish`, it leaves nothing: a temp file, if it came
/// to one, is deleted.
pub struct ShardWriter {
    store: ShardStore,
    object_id: ObjectId,
    index: u32,
    created_ms: u64,
    encoded_header: Vec<u8>,
    sink: Option<Sink>,
    /// Empty until the shard spills to a file, and again once the file is renamed.
    tmp_path: PathBuf,
    hashes: Vec<[u8; 32]>,
    written: u64,
    /// Bytes before this offset were handed to the disk's writeback already.
    writeback_from: u64,
}

/// Early writeback once this many bytes of a shard file are dirty.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// Asks the kernel to start writing `len` bytes from `from` without waiting for them (the final
/// fsync still makes them durable). Best effort: a failure only loses the head start.
fn start_writeback(file: &std::fs::File, from: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(from), Ok(len)) = (libc::off64_t::try_from(from), libc::off64_t::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a file descriptor we hold open.
    unsafe { libc::sync_file_range(file.as_raw_fd(), from, len, libc::SYNC_FILE_RANGE_WRITE) };
}

impl ShardWriter {
    pub(super) fn new(store: ShardStore, object_id: ObjectId, index: u32, created_ms: u64, head: Vec<u8>) -> Self {
        Self {
            store,
            object_id,
            index,
            created_ms,
            encoded_header: head.clone(),
            written: head.len() as u64,
            writeback_from: 0,
            sink: Some(Sink::Memory(head)),
            tmp_path: PathBuf::new(),
            hashes: Vec::new(),
        }
    }

    pub async fn write_stripe(&mut self, data: impl Into<Bytes>) -> Result<(), ShardError> {
        let data: Bytes = self.store.as_stored(data.into());
        let hash = *blake3::hash(&data).as_bytes();
        let len = data.len() as u64;
        let projected = self.written + len + (self.hashes.len() as u64 + 1) * 32 + FOOTER_LEN as u64;
        match self.sink.take() {
            Some(Sink::Memory(mut buf)) if projected <= self.store.pack_max() => {
                buf.extend_from_slice(&data);
                self.sink = Some(Sink::Memory(buf));
            }
            Some(Sink::Memory(buf)) => {
                let file = Arc::new(self.spill().await?);
                let f = file.clone();
                blocking(&self.tmp_path, move || {
                    (&*f).write_all(&buf)?;
                    (&*f).write_all(&data)
                })
                .await?;
                self.sink = Some(Sink::File(file));
            }
            Some(Sink::File(file)) => {
                let f = file.clone();
                self.sink = Some(Sink::File(file));
                // Start writing back what piled up, so `finish`'s fsync does not meet the whole
                // shard at once and the disk works while the stripes still arrive.
                let unsynced = self.written + len - self.writeback_from;
                let writeback = (unsynced >= WRITEBACK_EVERY).then_some(self.writeback_from);
                blocking(&self.tmp_path, move || {
                    (&*f).write_all(&data)?;
                    if let Some(from) = writeback {
                        start_writeback(&f, from, unsynced);
                    }
                    Ok(())
                })
                .await?;
                if writeback.is_some() {
                    self.writeback_from += unsynced;
                }
            }
            None => {
                return Err(ShardError::Corrupt {
                    path: self.store.path(&self.object_id, self.index),
                    reason: "write after finish".into(),
                })
            }
        }
        self.hashes.push(hash);
        self.written += len;
        Ok(())
    }

    /// Creates the temp file beside the shard's final name.
    async fn spill(&mut self) -> Result<std::fs::File, ShardError> {
        let final_path = self.store.path(&self.object_id, self.index);
        let dir = final_path.parent().unwrap_or(self.store.root()).to_owned();
        self.tmp_path = dir.join(format!(
            "{}{TMP_MARKER}{:016x}",
            final_path.file_name().and_then(|n| n.to_str()).unwrap_or("shard"),
            rand::random::<u64>()
        ));
        let path = self.tmp_path.clone();
        blocking(&self.tmp_path, move || {
            std::fs::create_dir_all(&dir)?;
            std::fs::File::create(&path)
        })
        .await
    }

    pub fn stripes(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// Writes the table and footer and makes the shard durable under its name. Returns
    /// BLAKE3(table) and the stored size. With `expected` (the coordinator's own hash of what it
    /// sent), a shard that does not hash to it is refused and whatever the node held before stays
    /// untouched.
    pub async fn finish(mut self, object_size: u64, expected: Option<[u8; 32]>) -> Result<([u8; 32], u64), ShardError> {
        let final_path = self.store.path(&self.object_id, self.index);
        let sink = self.sink.take().ok_or_else(|| ShardError::Corrupt {
            path: final_path.clone(),
            reason: "finished twice".into(),
        })?;
        let (tail, table_hash) = closing(&self.encoded_header, &self.hashes, object_size);
        if expected.is_some_and(|e| e != table_hash) {
            // Dropping self removes a temp file; the existing shard, if any, stays untouched.
            return Err(ShardError::Corrupt {
                path: final_path,
                reason: "the shard received does not hash as its coordinator computed; not replacing anything".into(),
            });
        }
        let size = self.written + tail.len() as u64;
        let replaced = self.store.present(&self.object_id, self.index);
        match sink {
            Sink::Memory(mut buf) => {
                buf.extend_from_slice(&tail);
                let (store, id, index, created) = (self.store.clone(), self.object_id, self.index, self.created_ms);
                tokio::task::spawn_blocking(move || {
                    let _guard = store.lock_shard(&id, index);
                    store.packed().put(&id, index, &buf, created)
                })
                .await
                .map_err(|e| io_err(&final_path)(std::io::Error::other(e)))??;
                // A file of the same shard (written before packing was on) is now stale.
                if replaced.file {
                    let _ = tokio::fs::remove_file(&final_path).await;
                }
            }
            Sink::File(file) => {
                let (tmp, target) = (self.tmp_path.clone(), final_path.clone());
                let (store, id, index) = (self.store.clone(), self.object_id, self.index);
                blocking(&self.tmp_path, move || {
                    (&*file).write_all(&tail)?;
                    file.sync_all()?;
                    drop(file);
                    // The collector checks and deletes under this lock: never between the two.
                    let guard = store.lock_shard(&id, index);
                    std::fs::rename(&tmp, &target)?;
                    drop(guard);
                    // The rename is durable once the directory is.
                    let dir = target.parent().map(Path::to_owned).unwrap_or_default();
                    std::fs::File::open(dir)?.sync_all()
                })
                .await?;
                // The temp name no longer exists; make Drop a no-op.
                self.tmp_path = PathBuf::new();
                if replaced.packed {
                    self.store.packed().delete(&self.object_id, self.index)?;
                }
            }
        }
        let used = self.store.used_counter();
        used.fetch_add(size, Ordering::Relaxed);
        let now = used.load(Ordering::Relaxed);
        used.fetch_sub(replaced.bytes.min(now), Ordering::Relaxed);
        Ok((table_hash, size))
    }
}

impl Drop for ShardWriter {
    fn drop(&mut self) {
        if !self.tmp_path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}
