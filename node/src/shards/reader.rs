//! Reading a shard back, from its file or from the packed store: on open, the footer, table and
//! seal are checked against each other; each stripe is checked against the table when read.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::format::{Footer, ShardFileHeader, FOOTER_LEN, HEADER_MAGIC, MAX_HEADER_LEN};
use super::store::{io_err, ShardError};

/// Where a shard's bytes are.
enum Source {
    /// Read with `pread` on a blocking thread, straight into the caller's buffer. With `from_disk`,
    /// the pages read are dropped from the page cache after each read.
    File {
        file: Arc<std::fs::File>,
        from_disk: bool,
    },
    Memory(Vec<u8>),
}

/// Drops the clean cached pages of a file range (len 0: to the end), so that the next read of it
/// comes from the disk and a scrub does not crowd out what reads need. Best effort: a failure only
/// means a cached read.
pub(super) fn drop_cached(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // The kernel drops only whole pages inside the range: widen it to page bounds, so the pages a
    // stripe shares with its neighbours go too.
    const PAGE: u64 = 4096;
    let start = offset - offset % PAGE;
    let len = match len {
        0 => 0,
        len => (offset + len).next_multiple_of(PAGE) - start,
    };
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(start), libc::off_t::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a file descriptor we hold open.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED) };
}

impl Drop for Source {
    fn drop(&mut self) {
        // Read-ahead may have brought in pages past the last read.
        if let Source::File { file, from_disk: true } = self {
            drop_cached(file, 0, 0);
        }
    }
}

impl Source {
    async fn read_at(&mut self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        match self {
            Source::File { file, from_disk } => {
                let (f, from_disk) = (file.clone(), *from_disk);
                tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; len];
                    f.read_exact_at(&mut buf, offset)?;
                    if from_disk {
                        drop_cached(&f, offset, len as u64);
                    }
                    Ok(buf)
                })
                .await
                .map_err(std::io::Error::other)?
            }
            Source::Memory(bytes) => usize::try_from(offset)
                .ok()
                .and_then(|start| bytes.get(start..start.checked_add(len)?))
                .map(<[u8]>::to_vec)
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
        }
    }
}

/// An open shard whose footer and table have been read and checked against each other.
pub struct ShardReader {
    source: Source,
    /// The file, or for a packed shard a name under the packed store (no such file exists).
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
        Self::open_file(path, false).await
    }

    /// Opens a shard file to read it from the disk, not the page cache: what verification needs
    /// (a cached copy would hide a rotten sector), leaving the cache to the reads that use it.
    pub async fn open_from_disk(path: PathBuf) -> Result<Self, ShardError> {
        Self::open_file(path, true).await
    }

    async fn open_file(path: PathBuf, from_disk: bool) -> Result<Self, ShardError> {
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(&path)?;
                let len = file.metadata()?.len();
                if from_disk {
                    drop_cached(&file, 0, 0);
                }
                Ok::<_, std::io::Error>((file, len))
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
        };
        let (file, len) = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ShardError::NotFound(path)),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let source = Source::File {
            file: Arc::new(file),
            from_disk,
        };
        Self::parse(source, len, path).await
    }

    /// A packed shard, whose bytes are those a shard file would hold.
    pub async fn from_bytes(path: PathBuf, bytes: Vec<u8>) -> Result<Self, ShardError> {
        let len = bytes.len() as u64;
        Self::parse(Source::Memory(bytes), len, path).await
    }

    async fn parse(mut source: Source, len: u64, path: PathBuf) -> Result<Self, ShardError> {
        let corrupt = |reason: &str| ShardError::Corrupt {
            path: path.clone(),
            reason: reason.into(),
        };
        let prefix = source.read_at(0, 12).await.map_err(|_| corrupt("truncated header"))?;
        if &prefix[..8] != HEADER_MAGIC {
            return Err(corrupt("not an Archipel shard (bad magic)"));
        }
        let header_len = u32::from_le_bytes(prefix[8..12].try_into().unwrap_or_default());
        if header_len > MAX_HEADER_LEN {
            return Err(corrupt("header length out of range"));
        }
        let raw_header = source
            .read_at(12, header_len as usize)
            .await
            .map_err(|_| corrupt("truncated header"))?;
        let header: ShardFileHeader = serde_json::from_slice(&raw_header).map_err(|_| corrupt("unreadable header"))?;
        let mut encoded_header = prefix.to_vec();
        encoded_header.extend_from_slice(&raw_header);
        let data_start = 12 + header_len as u64;
        if len < data_start + FOOTER_LEN as u64 {
            return Err(corrupt("truncated: no footer"));
        }
        let raw_footer = source
            .read_at(len - FOOTER_LEN as u64, FOOTER_LEN)
            .await
            .map_err(io_err(&path))?;
        let footer = Footer::decode(&raw_footer).ok_or_else(|| corrupt("bad footer"))?;
        let table_len = footer
            .stripe_count
            .checked_mul(32)
            .filter(|t| data_start + t + (FOOTER_LEN as u64) <= len)
            .ok_or_else(|| corrupt("stripe count does not fit the file"))?;
        let table_start = len - FOOTER_LEN as u64 - table_len;
        let table = source
            .read_at(table_start, table_len as usize)
            .await
            .map_err(io_err(&path))?;
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
            source,
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
        self.source
            .read_at(start, (end - start) as usize)
            .await
            .map_err(io_err(&self.path))
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
#[path = "from_disk_tests.rs"]
mod from_disk_tests;
