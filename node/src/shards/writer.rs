//! Writing a shard. It is held in memory while it is small enough to pack; past that it goes
//! to a temp file, which is fsync'd, renamed into place, and its directory fsync'd. Either way
//! nothing is visible under the shard's name before `finish` has made it durable.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;

use super::format::{closing, FOOTER_LEN};
use super::store::{io_err, ShardError, ShardStore, TMP_MARKER};
use super::ObjectId;

enum Sink {
    Memory(Vec<u8>),
    File(tokio::fs::File),
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
            sink: Some(Sink::Memory(head)),
            tmp_path: PathBuf::new(),
            hashes: Vec::new(),
        }
    }

    pub async fn write_stripe(&mut self, data: &[u8]) -> Result<(), ShardError> {
        let projected = self.written + data.len() as u64 + (self.hashes.len() as u64 + 1) * 32 + FOOTER_LEN as u64;
        match self.sink.take() {
            Some(Sink::Memory(mut buf)) if projected <= self.store.pack_max() => {
                buf.extend_from_slice(data);
                self.sink = Some(Sink::Memory(buf));
            }
            Some(Sink::Memory(buf)) => {
                let mut file = self.spill().await?;
                file.write_all(&buf).await.map_err(io_err(&self.tmp_path))?;
                file.write_all(data).await.map_err(io_err(&self.tmp_path))?;
                self.sink = Some(Sink::File(file));
            }
            Some(Sink::File(mut file)) => {
                file.write_all(data).await.map_err(io_err(&self.tmp_path))?;
                self.sink = Some(Sink::File(file));
            }
            None => {
                return Err(ShardError::Corrupt {
                    path: self.store.path(&self.object_id, self.index),
                    reason: "write after finish".into(),
                })
            }
        }
        self.hashes.push(*blake3::hash(data).as_bytes());
        self.written += data.len() as u64;
        Ok(())
    }

    /// Creates the temp file beside the shard's final name.
    async fn spill(&mut self) -> Result<tokio::fs::File, ShardError> {
        let final_path = self.store.path(&self.object_id, self.index);
        let dir = final_path.parent().unwrap_or(self.store.root()).to_owned();
        tokio::fs::create_dir_all(&dir).await.map_err(io_err(&dir))?;
        self.tmp_path = dir.join(format!(
            "{}{TMP_MARKER}{:016x}",
            final_path.file_name().and_then(|n| n.to_str()).unwrap_or("shard"),
            rand::random::<u64>()
        ));
        tokio::fs::File::create(&self.tmp_path)
            .await
            .map_err(io_err(&self.tmp_path))
    }

    pub fn stripes(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// Writes the table and footer and makes the shard durable under its name. Returns
    /// BLAKE3(table) and the stored size. With `expected` (a repair), a shard that does not hash
    /// to it is refused and whatever the node held before stays untouched.
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
                reason: "the rebuilt shard does not hash as the manifest recorded; not replacing anything".into(),
            });
        }
        let size = self.written + tail.len() as u64;
        let replaced = self.store.present(&self.object_id, self.index);
        match sink {
            Sink::Memory(mut buf) => {
                buf.extend_from_slice(&tail);
                let (store, id, index, created) = (self.store.clone(), self.object_id, self.index, self.created_ms);
                tokio::task::spawn_blocking(move || store.packed().put(&id, index, &buf, created))
                    .await
                    .map_err(|e| io_err(&final_path)(std::io::Error::other(e)))??;
                // A file of the same shard (written before packing was on) is now stale.
                if replaced.file {
                    let _ = tokio::fs::remove_file(&final_path).await;
                }
            }
            Sink::File(mut file) => {
                let path = self.tmp_path.clone();
                file.write_all(&tail).await.map_err(io_err(&path))?;
                file.sync_all().await.map_err(io_err(&path))?;
                drop(file);
                tokio::fs::rename(&self.tmp_path, &final_path)
                    .await
                    .map_err(io_err(&path))?;
                // The temp name no longer exists; make Drop a no-op.
                self.tmp_path = PathBuf::new();
                let dir = final_path.parent().unwrap_or(self.store.root()).to_owned();
                let synced = dir.clone();
                tokio::task::spawn_blocking(move || std::fs::File::open(&synced).and_then(|d| d.sync_all()))
                    .await
                    .map_err(|e| io_err(&dir)(std::io::Error::other(e)))?
                    .map_err(io_err(&dir))?;
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
