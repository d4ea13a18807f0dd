//! Snapshot files: the state machine written as a stream of rows, so neither building, sending
//! nor installing a snapshot holds the keyspace in memory.
//!
//! Layout: `ARCHSNP1`, a length-prefixed bincode header (last applied log id, membership, cluster
//! map), then one record per keyspace row (`1`, key length, value length, key, value; lengths
//! u32 little-endian), then `0` and the BLAKE3 of every byte before it. A truncated or altered
//! file fails the hash and is never installed.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster_map::ClusterMap;
use crate::raft::{LogId, StoredMembership};

const MAGIC: &[u8; 8] = b"ARCHSNP1";
const ROW: u8 = 1;
const END: u8 = 0;
/// Rows are RocksDB keys and values of the keyspace: far below this.
const MAX_FIELD: u32 = 256 << 20;
const MAX_HEADER: u32 = 64 << 20;

/// One keyspace row: key, value.
pub type Row = (Box<[u8]>, Box<[u8]>);

/// What a snapshot says besides its rows.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub cluster_map: ClusterMap,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `<dir>/<name>` from `header` and `rows` (temp file, fsync, rename, fsync the
/// directory), so the path exists only once the whole snapshot is durable.
pub fn write<I>(dir: &Path, name: &str, header: &SnapshotHeader, rows: I) -> io::Result<PathBuf>
where
    I: IntoIterator<Item = io::Result<Row>>,
{
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut out = Hashing {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: blake3::Hasher::new(),
        };
        out.write_all(MAGIC)?;
        let head = bincode::serialize(header).map_err(|e| invalid(format!("snapshot header: {e}")))?;
        out.write_all(&(head.len() as u32).to_le_bytes())?;
        out.write_all(&head)?;
        for row in rows {
            let (k, v) = row?;
            out.write_all(&[ROW])?;
            out.write_all(&(k.len() as u32).to_le_bytes())?;
            out.write_all(&(v.len() as u32).to_le_bytes())?;
            out.write_all(&k)?;
            out.write_all(&v)?;
        }
        out.write_all(&[END])?;
        let digest = out.hasher.finalize();
        let mut file = out.inner.into_inner().map_err(|e| e.into_error())?;
        file.write_all(digest.as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let path = dir.join(name);
    std::fs::rename(&tmp, &path)?;
    File::open(dir)?.sync_all()?;
    Ok(path)
}

/// Copies a received snapshot from `from` into `<dir>/<name>`, durably, checking its format and
/// hash on the way: a partial or altered transfer leaves no file.
pub fn copy_verified(from: impl Read, dir: &Path, name: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut reader = Reader::start(Tee {
            from,
            to: BufWriter::with_capacity(1 << 20, file),
        })?;
        while reader.next_row()?.is_some() {}
        let mut out = reader.finish()?.to;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let path = dir.join(name);
    std::fs::rename(&tmp, &path)?;
    File::open(dir)?.sync_all()?;
    Ok(path)
}

/// Reads from one side and writes what it read to the other.
struct Tee<R, W> {
    from: R,
    to: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.from.read(buf)?;
        self.to.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Reads a snapshot row by row; [`Reader::finish`] checks the trailing hash.
pub struct Reader<R> {
    input: BufReader<R>,
    hasher: blake3::Hasher,
    pub header: SnapshotHeader,
    ended: bool,
}

impl Reader<File> {
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::start(File::open(path)?)
    }
}

impl<R: Read> Reader<R> {
    pub fn start(input: R) -> io::Result<Self> {
        let mut input = BufReader::with_capacity(1 << 20, input);
        let mut hasher = blake3::Hasher::new();
        let mut magic = [0u8; 8];
        read_hashed(&mut input, &mut hasher, &mut magic)?;
        if &magic != MAGIC {
            return Err(invalid("not an Archipel snapshot file (bad magic)"));
        }
        let len = read_u32(&mut input, &mut hasher)?;
        if len > MAX_HEADER {
            return Err(invalid(format!("snapshot header of {len} bytes is implausible")));
        }
        let mut head = vec![0u8; len as usize];
        read_hashed(&mut input, &mut hasher, &mut head)?;
        let header = bincode::deserialize(&head).map_err(|e| invalid(format!("snapshot header: {e}")))?;
        Ok(Self {
            input,
            hasher,
            header,
            ended: false,
        })
    }

    /// The next keyspace row, or None after the last one.
    pub fn next_row(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        if self.ended {
            return Ok(None);
        }
        let mut tag = [0u8; 1];
        read_hashed(&mut self.input, &mut self.hasher, &mut tag)?;
        match tag[0] {
            END => {
                self.ended = true;
                Ok(None)
            }
            ROW => {
                let klen = read_u32(&mut self.input, &mut self.hasher)?;
                let vlen = read_u32(&mut self.input, &mut self.hasher)?;
                if klen > MAX_FIELD || vlen > MAX_FIELD {
                    return Err(invalid(format!("snapshot row of {klen}+{vlen} bytes is implausible")));
                }
                let mut k = vec![0u8; klen as usize];
                read_hashed(&mut self.input, &mut self.hasher, &mut k)?;
                let mut v = vec![0u8; vlen as usize];
                read_hashed(&mut self.input, &mut self.hasher, &mut v)?;
                Ok(Some((k, v)))
            }
            other => Err(invalid(format!("snapshot record tag {other} is unknown"))),
        }
    }

    /// Checks the hash after the last row; returns the input for what follows it.
    pub fn finish(mut self) -> io::Result<R> {
        while self.next_row()?.is_some() {}
        let mut digest = [0u8; 32];
        self.input.read_exact(&mut digest).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => invalid("snapshot ends before its hash: the file is truncated"),
            _ => e,
        })?;
        if &digest != self.hasher.finalize().as_bytes() {
            return Err(invalid("snapshot hash mismatch: the file is truncated or altered"));
        }
        let mut rest = [0u8; 1];
        if self.input.read(&mut rest)? != 0 {
            return Err(invalid("bytes after the snapshot's hash"));
        }
        Ok(self.input.into_inner())
    }
}

fn read_hashed(input: &mut impl Read, hasher: &mut blake3::Hasher, buf: &mut [u8]) -> io::Result<()> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => invalid("snapshot ends early: the file is truncated"),
        _ => e,
    })?;
    hasher.update(buf);
    Ok(())
}

fn read_u32(input: &mut impl Read, hasher: &mut blake3::Hasher) -> io::Result<u32> {
    let mut b = [0u8; 4];
    read_hashed(input, hasher, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> SnapshotHeader {
        SnapshotHeader {
            last_applied: None,
            membership: StoredMembership::default(),
            cluster_map: ClusterMap::default(),
        }
    }

    fn rows(n: usize) -> Vec<io::Result<Row>> {
        (0..n)
            .map(|i| Ok((format!("k{i:05}").into_bytes().into(), vec![i as u8; i % 300].into())))
            .collect()
    }

    #[test]
    fn rows_come_back_in_order_and_the_hash_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "s1", &header(), rows(1000)).unwrap();
        let mut r = Reader::open(&path).unwrap();
        let mut n = 0;
        while let Some((k, v)) = r.next_row().unwrap() {
            assert_eq!(k, format!("k{n:05}").into_bytes());
            assert_eq!(v.len(), n % 300);
            n += 1;
        }
        assert_eq!(n, 1000);
        r.finish().unwrap();
        assert!(!dir.path().join("s1.tmp").exists());
    }

    #[test]
    fn a_truncated_or_flipped_copy_is_refused_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "s1", &header(), rows(100)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let cut = &bytes[..bytes.len() - 10];
        let err = copy_verified(cut, dir.path(), "cut").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(!dir.path().join("cut").exists() && !dir.path().join("cut.tmp").exists());
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 1;
        let err = copy_verified(&flipped[..], dir.path(), "flip").unwrap_err();
        assert!(
            err.to_string().contains("hash") || err.kind() == io::ErrorKind::InvalidData,
            "{err}"
        );
        assert!(!dir.path().join("flip").exists());
        let good = copy_verified(&bytes[..], dir.path(), "good").unwrap();
        assert_eq!(std::fs::read(good).unwrap(), bytes);
    }
}
