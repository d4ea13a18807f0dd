//! A writer that counts the bytes going through it: where a tar member's data starts in a pack
//! (`ingest::pack`), a DIP's size before its bytes exist and the check of each download against
//! it (`delivery`).

use std::io::Write;

/// Counts what goes through to `inner`. Its `flush` does not reach `inner`: the caller flushes
/// `inner` itself once it is done (a download only after its count is checked, so a short zip
/// is never sent as complete).
pub(crate) struct Counted<W> {
    pub inner: W,
    pub bytes: u64,
}

impl<W> Counted<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, bytes: 0 }
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(data)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
