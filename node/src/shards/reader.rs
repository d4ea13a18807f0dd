//! Reading a shard back, from its file or from the packed store: on open, the footer, table and
//! seal are checked against each other; each stripe is checked against the table when read.

use std::io::SeekFrom;
use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::format::{Footer, ShardFileHeader, FOOTER_LEN, HEADER_MAGIC, MAX_HEADER_LEN};
use super::store::{io_err, ShardError};

/// Where a shard's bytes are.
enum Source {
    File(tokio::fs::File),
    Memory(Vec<u8>),
}

impl Source {
    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            Source::File(f) => {
                f.seek(SeekFrom::Start(offset)).await?;
                f.read_exact(buf).await?;
                Ok(())
            }
            Source::Memory(bytes) => {
                let slice = usize::try_from(offset)
                    .ok()
                    .and_then(|start| bytes.get(start..start.checked_add(buf.len())?))
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
                buf.copy_from_slice(slice);
                Ok(())
            }
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
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ShardError::NotFound(path)),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let len = file.metadata().await.map_err(io_err(&path))?.len();
        Self::parse(Source::File(file), len, path).await
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
        let mut prefix = [0u8; 12];
        source
            .read_at(0, &mut prefix)
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
        source
            .read_at(12, &mut raw_header)
            .await
            .map_err(|_| corrupt("truncated header"))?;
        let header: ShardFileHeader = serde_json::from_slice(&raw_header).map_err(|_| corrupt("unreadable header"))?;
        let mut encoded_header = prefix.to_vec();
        encoded_header.extend_from_slice(&raw_header);
        let data_start = 12 + header_len as u64;
        if len < data_start + FOOTER_LEN as u64 {
            return Err(corrupt("truncated: no footer"));
        }
        let mut raw_footer = [0u8; FOOTER_LEN];
        source
            .read_at(len - FOOTER_LEN as u64, &mut raw_footer)
            .await
            .map_err(io_err(&path))?;
        let footer = Footer::decode(&raw_footer).ok_or_else(|| corrupt("bad footer"))?;
        let table_len = footer
            .stripe_count
            .checked_mul(32)
            .filter(|t| data_start + t + (FOOTER_LEN as u64) <= len)
            .ok_or_else(|| corrupt("stripe count does not fit the file"))?;
        let table_start = len - FOOTER_LEN as u64 - table_len;
        let mut table = vec![0u8; table_len as usize];
        source.read_at(table_start, &mut table).await.map_err(io_err(&path))?;
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
        let mut data = vec![0u8; (end - start) as usize];
        self.source
            .read_at(start, &mut data)
            .await
            .map_err(io_err(&self.path))?;
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
