//! A minimal, bounded walk of the ZIP central directory, done before the `zip` crate parses it.
//!
//! Why our own walk: the entry count is checked before anything is allocated for it, and
//! duplicate names are seen at all (the `zip` crate keys entries by name and silently keeps
//! one of two duplicates).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use super::error::SipError;
use super::limits::SipLimits;

const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const EOCD_LEN: u64 = 22;
const LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const LOCATOR_LEN: u64 = 20;
const EOCD64_SIG: &[u8; 4] = b"PK\x06\x06";
const EOCD64_LEN: u64 = 56;
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const CENTRAL_LEN: usize = 46;
const MAX_COMMENT: u64 = 0xFFFF;

/// One central-directory record as written, before any decoding.
pub(crate) struct RawEntry {
    pub name: Vec<u8>,
    /// General-purpose flags: bit 0 encrypted, bit 6 strong encryption, bit 11 UTF-8 name.
    pub flags: u16,
}

pub(crate) struct CentralDirectory {
    pub entries: Vec<RawEntry>,
    /// Where the directory starts: every entry's data must end before it.
    pub start: u64,
}

fn not_zip(reason: impl Into<String>) -> SipError {
    SipError::NotZip { reason: reason.into() }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn read_at(file: &mut File, at: u64, buf: &mut [u8]) -> Result<(), SipError> {
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| not_zip(format!("cannot read {} bytes at offset {at}: {e}", buf.len())))
}

/// Directory location and size, from the end-of-central-directory records.
struct Eocd {
    count: u64,
    size: u64,
    /// Where the record that follows the directory starts (EOCD64 if present, else EOCD).
    record_pos: u64,
}

fn find_eocd(file: &mut File, len: u64) -> Result<Eocd, SipError> {
    if len < EOCD_LEN {
        return Err(not_zip(format!("{len} bytes is too short for a ZIP")));
    }
    let tail_len = len.min(EOCD_LEN + MAX_COMMENT);
    let tail_start = len - tail_len;
    let mut tail = vec![0u8; tail_len as usize];
    read_at(file, tail_start, &mut tail)?;
    // The last signature whose comment fits in the file: a comment may itself hold "PK\5\6".
    let found = (0..=tail.len() - EOCD_LEN as usize)
        .rev()
        .find(|&i| &tail[i..i + 4] == EOCD_SIG && i as u64 + EOCD_LEN + u64::from(u16_at(&tail, i + 20)) <= tail_len);
    let Some(i) = found else {
        return Err(not_zip("no end-of-central-directory record: not a ZIP, or truncated"));
    };
    let rec = &tail[i..];
    let eocd_pos = tail_start + i as u64;
    let (disk, cd_disk) = (u16_at(rec, 4), u16_at(rec, 6));
    let (count, size, offset) = (u16_at(rec, 10), u32_at(rec, 12), u32_at(rec, 16));
    let needs64 = count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF;
    if !needs64 {
        if disk != 0 || cd_disk != 0 {
            return Err(not_zip("multi-volume ZIPs are not accepted"));
        }
        let (count, size) = (u64::from(count), u64::from(size));
        return Ok(Eocd {
            count,
            size,
            record_pos: eocd_pos,
        });
    }
    let Some(loc_pos) = eocd_pos.checked_sub(LOCATOR_LEN) else {
        return Err(not_zip("ZIP64 locator missing before the end record"));
    };
    let mut loc = [0u8; LOCATOR_LEN as usize];
    read_at(file, loc_pos, &mut loc)?;
    if &loc[..4] != LOCATOR_SIG {
        return Err(not_zip("ZIP64 locator missing before the end record"));
    }
    let eocd64_pos = u64_at(&loc, 8);
    if eocd64_pos.checked_add(EOCD64_LEN).is_none_or(|end| end > loc_pos) {
        return Err(not_zip("ZIP64 end record points outside the file"));
    }
    let mut rec64 = [0u8; EOCD64_LEN as usize];
    read_at(file, eocd64_pos, &mut rec64)?;
    if &rec64[..4] != EOCD64_SIG {
        return Err(not_zip("ZIP64 end record has a bad signature"));
    }
    if u32_at(&rec64, 16) != 0 || u32_at(&rec64, 20) != 0 {
        return Err(not_zip("multi-volume ZIPs are not accepted"));
    }
    Ok(Eocd {
        count: u64_at(&rec64, 32),
        size: u64_at(&rec64, 40),
        record_pos: eocd64_pos,
    })
}

/// Reads the central directory's entry names, rejecting an over-long directory before reading it.
pub(crate) fn read(file: &mut File, len: u64, limits: &SipLimits) -> Result<CentralDirectory, SipError> {
    let eocd = find_eocd(file, len)?;
    if eocd.count > limits.max_entries as u64 {
        return Err(SipError::TooManyEntries {
            count: eocd.count,
            max: limits.max_entries,
        });
    }
    // Each record takes at least 46 bytes: a count the directory cannot hold is a forgery.
    if eocd.count.saturating_mul(CENTRAL_LEN as u64) > eocd.size || eocd.size > eocd.record_pos {
        return Err(not_zip(format!(
            "the directory claims {} entries in {} bytes",
            eocd.count, eocd.size
        )));
    }
    // Data prepended to the zip shifts every offset; the directory always ends at the end record.
    let start = eocd.record_pos - eocd.size;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| not_zip(format!("cannot seek to the directory: {e}")))?;
    let mut r = BufReader::new(file.take(eocd.size));
    let mut entries = Vec::with_capacity(eocd.count as usize);
    let mut head = [0u8; CENTRAL_LEN];
    for n in 0..eocd.count {
        r.read_exact(&mut head)
            .map_err(|_| not_zip(format!("central directory record {n} is truncated")))?;
        if &head[..4] != CENTRAL_SIG {
            return Err(not_zip(format!("central directory record {n} has a bad signature")));
        }
        let name_len = usize::from(u16_at(&head, 28));
        let skip = u64::from(u16_at(&head, 30)) + u64::from(u16_at(&head, 32));
        let mut name = vec![0u8; name_len];
        r.read_exact(&mut name)
            .map_err(|_| not_zip(format!("central directory record {n} is truncated")))?;
        let skipped = std::io::copy(&mut (&mut r).take(skip), &mut std::io::sink())
            .map_err(|e| not_zip(format!("central directory record {n}: {e}")))?;
        if skipped != skip {
            return Err(not_zip(format!("central directory record {n} is truncated")));
        }
        entries.push(RawEntry {
            name,
            flags: u16_at(&head, 8),
        });
    }
    Ok(CentralDirectory { entries, start })
}
