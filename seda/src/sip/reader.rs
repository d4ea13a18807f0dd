//! Reading one entry with its limits enforced on the bytes actually produced.

use std::fs::File;

use super::seekbuf::SeekBuf;
use std::io::{self, Read};

use super::error::SipError;

/// The decompressed bytes of one SIP entry.
///
/// Never yields more than the size the central directory declared (which open checked against
/// the size and ratio limits), and fails if the data runs past or stops short of it: a forged
/// header yields an error after at most one byte too many, never a full disk. The compressed
/// input is bounded by the declared compressed size, so the actual ratio is bounded too.
/// Errors are `io::Error`s of kind `InvalidData` wrapping a [`SipError`] naming the entry.
pub struct EntryReader<'a> {
    inner: zip::read::ZipFile<'a, SeekBuf<File>>,
    name: String,
    declared: u64,
    produced: u64,
}

impl<'a> EntryReader<'a> {
    pub(crate) fn new(inner: zip::read::ZipFile<'a, SeekBuf<File>>, name: String, declared: u64) -> Self {
        Self {
            inner,
            name,
            declared,
            produced: 0,
        }
    }

    /// The entry's name relative to the package root (the manifest's directory).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The uncompressed size the central directory declares, and the exact number of bytes a
    /// successful read produces.
    pub fn entry_size(&self) -> u64 {
        self.declared
    }

    fn fail(&self, err: SipError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Ask for one byte past the declared end, to catch a stream that goes on.
        let room = (self.declared - self.produced).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                let reason = e.to_string();
                return Err(self.fail(SipError::Corrupt {
                    name: self.name.clone(),
                    reason,
                }));
            }
        };
        self.produced += n as u64;
        if self.produced > self.declared {
            let name = self.name.clone();
            return Err(self.fail(SipError::Oversized {
                name,
                declared: self.declared,
            }));
        }
        if n == 0 && self.produced < self.declared {
            let (name, declared, actual) = (self.name.clone(), self.declared, self.produced);
            return Err(self.fail(SipError::Undersized { name, declared, actual }));
        }
        Ok(n)
    }
}
