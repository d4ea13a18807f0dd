//! How much of a file identification may read and decode.

/// Bounds on the work done for one file. The defaults suit archives of office documents, images
/// and multi-gigabyte media alike; see `docs/pronom.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes read from the beginning of the file. Beginning-anchored signatures and the
    /// variable-position ones are matched inside this window (and the end window).
    pub bof_window: u64,
    /// Bytes read from the end of the file (when it is larger than both windows together).
    pub eof_window: u64,
    /// Raw bytes a container reader (ZIP central directory, OLE2 allocation tables, entries) may
    /// read from the file, on top of the two windows.
    pub container_read: u64,
    /// Decompressed bytes read from one container entry; signatures see at most this prefix.
    pub entry_bytes: u64,
    /// Decompressed bytes read from all the entries of one container.
    pub container_bytes: u64,
    /// Entries in a container beyond which it is not examined.
    pub container_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bof_window: 1 << 20,
            eof_window: 1 << 20,
            container_read: 32 << 20,
            entry_bytes: 1 << 20,
            container_bytes: 16 << 20,
            container_entries: 100_000,
        }
    }
}
