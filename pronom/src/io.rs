//! Reading a file's windows, and metering what container readers read.

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

use crate::limits::Limits;

/// The bytes identification looks at: the beginning of the file, and its end when the file is
/// larger than both windows together (otherwise `bof` holds the whole file and `eof` is empty).
pub(crate) struct Windows {
    pub(crate) len: u64,
    pub(crate) bof: Vec<u8>,
    pub(crate) eof: Vec<u8>,
}

/// Reads the windows of a source of `len` bytes. A source that turns out shorter than `len`
/// (a file truncated while being read) is seen at the length actually read.
pub(crate) fn read_windows<R: Read + Seek>(r: &mut R, len: u64, limits: &Limits) -> io::Result<Windows> {
    let bof_len = limits.bof_window.max(1);
    if len <= bof_len.saturating_add(limits.eof_window) {
        r.seek(SeekFrom::Start(0))?;
        let mut bof = Vec::with_capacity(len as usize);
        r.take(len).read_to_end(&mut bof)?;
        return Ok(Windows {
            len: bof.len() as u64,
            bof,
            eof: Vec::new(),
        });
    }
    r.seek(SeekFrom::Start(0))?;
    let mut bof = Vec::with_capacity(bof_len as usize);
    r.take(bof_len).read_to_end(&mut bof)?;
    let eof_start = len - limits.eof_window;
    r.seek(SeekFrom::Start(eof_start))?;
    let mut eof = Vec::with_capacity(limits.eof_window as usize);
    r.take(limits.eof_window).read_to_end(&mut eof)?;
    if (bof.len() as u64) < bof_len || (eof.len() as u64) < limits.eof_window {
        // Shrunk under our feet: what was read of the beginning is all we can trust.
        return Ok(Windows {
            len: bof.len() as u64,
            bof,
            eof: Vec::new(),
        });
    }
    Ok(Windows { len, bof, eof })
}

/// A reader that counts the bytes it reads into a shared counter and fails once a limit is
/// passed, so that no container parser can read a file whole.
pub(crate) struct Metered<R> {
    inner: R,
    read: Rc<Cell<u64>>,
    limit: u64,
}

impl<R> Metered<R> {
    pub(crate) fn new(inner: R, read: Rc<Cell<u64>>, limit: u64) -> Self {
        Metered { inner, read, limit }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.limit.saturating_sub(self.read.get());
        if left == 0 && !buf.is_empty() {
            return Err(io::Error::other(format!(
                "read limit reached: container readers may read {} bytes of a file",
                self.limit
            )));
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.read.set(self.read.get() + got as u64);
        Ok(got)
    }
}

impl<R: Seek> Seek for Metered<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn windows_of_small_and_large_sources() {
        let limits = Limits {
            bof_window: 4,
            eof_window: 3,
            ..Limits::default()
        };
        let w = read_windows(&mut Cursor::new(b"abcdef".to_vec()), 6, &limits).unwrap();
        assert_eq!((w.len, &w.bof[..], &w.eof[..]), (6, &b"abcdef"[..], &b""[..]));
        let w = read_windows(&mut Cursor::new(b"abcdefghij".to_vec()), 10, &limits).unwrap();
        assert_eq!((w.len, &w.bof[..], &w.eof[..]), (10, &b"abcd"[..], &b"hij"[..]));
        let w = read_windows(&mut Cursor::new(b"abc".to_vec()), 10, &limits).unwrap();
        assert_eq!((w.len, &w.bof[..]), (3, &b"abc"[..]));
    }

    #[test]
    fn metered_reader_stops_at_its_limit() {
        let count = Rc::new(Cell::new(0));
        let mut m = Metered::new(Cursor::new(vec![0u8; 100]), count.clone(), 10);
        let mut buf = Vec::new();
        assert!(m.read_to_end(&mut buf).is_err());
        assert_eq!((buf.len(), count.get()), (10, 10));
    }
}
