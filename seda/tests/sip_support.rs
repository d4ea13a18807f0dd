//! Hand-made ZIPs for the SIP tests, byte by byte, so they can lie where a zip writer refuses to.
//! Included by the `sip_*` tests through `#[path]`; it holds no tests of its own.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};

/// One entry as it will be written; every field may be forged.
#[derive(Clone)]
pub struct Raw {
    pub name: Vec<u8>,
    /// Bytes as stored in the zip (already compressed for deflate).
    pub data: Vec<u8>,
    pub method: u16,
    pub crc: u32,
    pub size: u32,
    pub csize: u32,
    pub flags: u16,
    pub made_by: u16,
    pub external: u32,
    /// Name written in the local header, when it should differ from the central one.
    pub local_name: Option<Vec<u8>>,
    /// Central-directory offset of the local header, when it should lie.
    pub offset: Option<u32>,
}

fn crc(data: &[u8]) -> u32 {
    let mut c = Crc::new();
    c.update(data);
    c.sum()
}

pub fn stored(name: &str, data: &[u8]) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        data: data.to_vec(),
        method: 0,
        crc: crc(data),
        size: data.len() as u32,
        csize: data.len() as u32,
        flags: 1 << 11,
        made_by: 3 << 8 | 20,
        external: 0o100_644 << 16,
        local_name: None,
        offset: None,
    }
}

pub fn dir(name: &str) -> Raw {
    let mut d = stored(name, b"");
    d.external = (0o040_755 << 16) | 0x10;
    d
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn deflated(name: &str, data: &[u8]) -> Raw {
    let packed = deflate(data);
    Raw {
        method: 8,
        csize: packed.len() as u32,
        data: packed,
        ..stored(name, data)
    }
}

/// `len` zero bytes, deflated in chunks so the plain bytes never sit in memory.
pub fn deflated_zeros(name: &str, len: u64) -> Raw {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![0u8; 1 << 20];
    let mut c = Crc::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        e.write_all(&chunk[..n]).unwrap();
        c.update(&chunk[..n]);
        left -= n as u64;
    }
    let packed = e.finish().unwrap();
    Raw {
        method: 8,
        crc: c.sum(),
        size: u32::try_from(len).unwrap_or(u32::MAX),
        csize: packed.len() as u32,
        data: packed,
        ..stored(name, b"")
    }
}

fn le16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn le32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A complete ZIP: local headers and data, central directory, end record.
pub fn build(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for e in entries {
        offsets.push(out.len() as u32);
        let local = e.local_name.as_ref().unwrap_or(&e.name);
        out.extend_from_slice(b"PK\x03\x04");
        le16(&mut out, 20);
        le16(&mut out, e.flags);
        le16(&mut out, e.method);
        le32(&mut out, 0); // time and date
        le32(&mut out, e.crc);
        le32(&mut out, e.csize);
        le32(&mut out, e.size);
        le16(&mut out, local.len() as u16);
        le16(&mut out, 0);
        out.extend_from_slice(local);
        out.extend_from_slice(&e.data);
    }
    let cd_start = out.len() as u32;
    for (e, off) in entries.iter().zip(&offsets) {
        out.extend_from_slice(b"PK\x01\x02");
        le16(&mut out, e.made_by);
        le16(&mut out, 20);
        le16(&mut out, e.flags);
        le16(&mut out, e.method);
        le32(&mut out, 0);
        le32(&mut out, e.crc);
        le32(&mut out, e.csize);
        le32(&mut out, e.size);
        le16(&mut out, e.name.len() as u16);
        le16(&mut out, 0); // extra
        le16(&mut out, 0); // comment
        le16(&mut out, 0); // disk
        le16(&mut out, 0); // internal attributes
        le32(&mut out, e.external);
        le32(&mut out, e.offset.unwrap_or(*off));
        out.extend_from_slice(&e.name);
    }
    let cd_len = out.len() as u32 - cd_start;
    out.extend_from_slice(b"PK\x05\x06");
    le16(&mut out, 0);
    le16(&mut out, 0);
    le16(&mut out, entries.len() as u16);
    le16(&mut out, entries.len() as u16);
    le32(&mut out, cd_len);
    le32(&mut out, cd_start);
    le16(&mut out, 0);
    out
}

pub const MANIFEST: &[u8] = b"<?xml version=\"1.0\"?><ArchiveTransfer/>";

/// A minimal valid SIP plus `extra` entries.
pub fn sip_with(extra: Vec<Raw>) -> Vec<Raw> {
    let mut v = vec![deflated("manifest.xml", MANIFEST), dir("content/")];
    v.extend(extra);
    v
}

/// Writes `bytes` to a temp file that lives as long as the returned guard.
pub fn write(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sip.zip");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

pub fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared").join(rel)
}
