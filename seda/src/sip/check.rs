//! Per-entry checks on central-directory metadata, done before any byte is decompressed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use zip::read::ZipFile;
use zip::CompressionMethod;

use super::cdir::RawEntry;
use super::error::{NameProblem, SipError};
use super::limits::SipLimits;
use super::names;
use super::seekbuf::SeekBuf;

const FLAG_ENCRYPTED: u16 = 1;
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
const FLAG_UTF8: u16 = 1 << 11;

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const LOCAL_LEN: usize = 30;

/// What the rest of the SIP needs to know about an entry that passed its checks.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub compressed: u64,
    pub header_start: u64,
    pub data_end: u64,
}

fn malformed(name: &str, reason: impl Into<String>) -> SipError {
    SipError::Malformed {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn entry(zf: &ZipFile<'_, SeekBuf<File>>, raw: &RawEntry, limits: &SipLimits) -> Result<Checked, SipError> {
    let name = zf.name().to_owned();
    let unsafe_name = |problem| SipError::UnsafeName {
        name: name.clone(),
        problem,
    };
    if raw.flags & FLAG_UTF8 != 0 && std::str::from_utf8(&raw.name).is_err() {
        return Err(unsafe_name(NameProblem::InvalidUtf8));
    }
    names::check(&name, limits.max_name_len, limits.max_depth).map_err(unsafe_name)?;
    let is_dir = name.ends_with('/');

    // AES (method 99) also sets bit 0, so this catches every scheme.
    if zf.encrypted() || raw.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) != 0 {
        return Err(SipError::Encrypted { name });
    }
    if let Some(mode) = zf.unix_mode() {
        match mode & S_IFMT {
            // Zero: permission bits only, as some Windows tools write.
            0 | S_IFREG | S_IFDIR => {}
            S_IFLNK => return Err(SipError::Symlink { name }),
            _ => return Err(SipError::SpecialFile { name, mode }),
        }
    }

    let (size, compressed) = (zf.size(), zf.compressed_size());
    match zf.compression() {
        CompressionMethod::Stored if size != compressed => {
            let reason = format!("stored, yet declares {size} bytes from {compressed} bytes");
            return Err(malformed(&name, reason));
        }
        CompressionMethod::Stored | CompressionMethod::Deflated => {}
        other => {
            return Err(SipError::UnsupportedMethod {
                name,
                method: format!("{other:?}"),
            })
        }
    }
    if is_dir && size != 0 {
        return Err(malformed(
            &name,
            format!("a directory that declares {size} bytes of content"),
        ));
    }
    if size > limits.max_entry_bytes {
        return Err(SipError::EntryTooLarge {
            name,
            size,
            max: limits.max_entry_bytes,
        });
    }
    if size > limits.ratio_exempt_bytes && u128::from(size) > u128::from(compressed) * u128::from(limits.max_ratio) {
        let max = limits.max_ratio;
        return Err(SipError::EntryRatio {
            name,
            size,
            compressed,
            max,
        });
    }
    let data_start = zf
        .data_start()
        .ok_or_else(|| malformed(&name, "its local header could not be located"))?;
    let data_end = data_start
        .checked_add(compressed)
        .ok_or_else(|| malformed(&name, "its data ends past any possible file size"))?;
    Ok(Checked {
        name,
        is_dir,
        size,
        compressed,
        header_start: zf.header_start(),
        data_end,
    })
}

/// The local header must name the entry as the central directory does: tools that read one or
/// the other would otherwise see different packages.
pub(crate) fn local_header(file: &mut SeekBuf<File>, at: u64, raw: &RawEntry, name: &str) -> Result<(), SipError> {
    let mut head = [0u8; LOCAL_LEN];
    let mut local_name = vec![0u8; raw.name.len()];
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(&mut head))
        .map_err(|e| malformed(name, format!("its local header at offset {at} is unreadable: {e}")))?;
    if &head[..4] != LOCAL_SIG {
        return Err(malformed(name, format!("no local header at offset {at}")));
    }
    let name_len = usize::from(u16::from_le_bytes([head[26], head[27]]));
    if name_len != raw.name.len() || file.read_exact(&mut local_name).is_err() || local_name != raw.name {
        return Err(malformed(name, "its local header gives a different name"));
    }
    Ok(())
}

/// No two entries may share bytes (the overlapping-entries zip bomb), and none may run into the
/// central directory.
pub(crate) fn no_overlap(entries: &[Checked], directory_start: u64) -> Result<(), SipError> {
    let mut spans: Vec<&Checked> = entries.iter().collect();
    spans.sort_by_key(|c| c.header_start);
    for pair in spans.windows(2) {
        if pair[0].data_end > pair[1].header_start {
            let reason = format!("its data overlaps entry `{}`", pair[1].name);
            return Err(malformed(&pair[0].name, reason));
        }
    }
    if let Some(last) = spans.last() {
        if last.data_end > directory_start {
            return Err(malformed(&last.name, "its data runs into the central directory"));
        }
    }
    Ok(())
}
