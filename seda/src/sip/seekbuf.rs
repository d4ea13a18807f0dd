//! A read buffer that survives seeks landing inside it.
//!
//! `std::io::BufReader` drops its buffer on every seek, and the `zip` crate seeks after each
//! central-directory record and before each local header: unbuffered, opening 100k entries costs
//! about a dozen system calls per entry. Here a seek is only a position change.

use std::io::{self, Read, Seek, SeekFrom};

const CAPACITY: usize = 64 * 1024;

pub(crate) struct SeekBuf<R> {
    inner: R,
    buf: Box<[u8]>,
    /// Offset in `inner` of `buf[0]`, and how many bytes of `buf` are valid.
    buf_start: u64,
    filled: usize,
    pos: u64,
}

impl<R: Read + Seek> SeekBuf<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; CAPACITY].into_boxed_slice(),
            buf_start: 0,
            filled: 0,
            pos: 0,
        }
    }

    fn buffered(&self) -> Option<&[u8]> {
        let at = self.pos.checked_sub(self.buf_start)?;
        let at = usize::try_from(at).ok().filter(|&a| a < self.filled)?;
        Some(&self.buf[at..self.filled])
    }
}

impl<R: Read + Seek> Read for SeekBuf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.buffered().is_none() {
            self.inner.seek(SeekFrom::Start(self.pos))?;
            if out.len() >= self.buf.len() {
                let n = self.inner.read(out)?;
                self.pos += n as u64;
                return Ok(n);
            }
            self.filled = 0;
            self.buf_start = self.pos;
            self.filled = self.inner.read(&mut self.buf)?;
        }
        let Some(avail) = self.buffered() else { return Ok(0) };
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SeekBuf<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
            SeekFrom::End(delta) => {
                let end = self.inner.seek(SeekFrom::End(0))?;
                end.checked_add_signed(delta)
            }
        };
        self.pos =
            target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the file"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_match_the_underlying_bytes_across_seeks() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = SeekBuf::new(Cursor::new(data.clone()));
        let mut buf = [0u8; 100];
        for &at in &[0u64, 70_000, 65_500, 10, 199_950, 150_000] {
            r.seek(SeekFrom::Start(at)).unwrap();
            let n = r.read(&mut buf).unwrap();
            assert!(n > 0);
            assert_eq!(&buf[..n], &data[at as usize..at as usize + n]);
        }
        r.seek(SeekFrom::End(-5)).unwrap();
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &data[data.len() - 5..]);
        r.seek(SeekFrom::Start(1)).unwrap();
        let mut big = vec![0u8; 100_000];
        r.read_exact(&mut big).unwrap();
        assert_eq!(big, &data[1..100_001]);
        assert!(r.seek(SeekFrom::Current(-1_000_000)).is_err());
    }
}
