//! What the matcher sees of a file: its length and up to two windows of bytes.

/// A window of a file: bytes starting at a file offset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment<'a> {
    pub(crate) start: u64,
    pub(crate) data: &'a [u8],
}

impl Segment<'_> {
    pub(crate) fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

/// A file seen through its beginning-of-file window and, when the file is larger than both
/// windows together, its end-of-file window. A pattern matches only inside one window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    len: u64,
    segs: [Segment<'a>; 2],
    n: usize,
}

impl<'a> View<'a> {
    /// The whole file is in memory.
    pub(crate) fn whole(data: &'a [u8]) -> Self {
        let seg = Segment { start: 0, data };
        View {
            len: data.len() as u64,
            segs: [seg, seg],
            n: 1,
        }
    }

    /// `bof` is the file's first bytes and `eof` its last; `len` is the file's length.
    pub(crate) fn windows(len: u64, bof: &'a [u8], eof: &'a [u8]) -> Self {
        let first = Segment { start: 0, data: bof };
        if eof.is_empty() {
            return View {
                len,
                segs: [first, first],
                n: 1,
            };
        }
        let second = Segment {
            start: len - eof.len() as u64,
            data: eof,
        };
        View {
            len,
            segs: [first, second],
            n: 2,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn segments(&self) -> &[Segment<'a>] {
        &self.segs[..self.n]
    }

    /// `n` bytes at `pos`, when they lie inside one window.
    pub(crate) fn slice(&self, pos: u64, n: usize) -> Option<&'a [u8]> {
        let end = pos.checked_add(n as u64)?;
        self.segments()
            .iter()
            .find(|s| pos >= s.start && end <= s.end())
            .map(|s| {
                let from = (pos - s.start) as usize;
                &s.data[from..from + n]
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_stay_inside_one_window() {
        let v = View::windows(100, b"abcd", b"wxyz");
        assert_eq!(v.slice(1, 2), Some(&b"bc"[..]));
        assert_eq!(v.slice(97, 3), Some(&b"xyz"[..]));
        assert_eq!(v.slice(3, 2), None);
        assert_eq!(v.slice(50, 1), None);
        assert_eq!(v.slice(u64::MAX, 2), None);
    }
}
