//! The bounds a SIP must stay within before anything in it is read.

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Limits checked against the central directory at open time and again, on the actual
/// decompressed bytes, while an entry is read: a header can lie, the bytes cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipLimits {
    /// Size of the zip file itself.
    pub max_zip_bytes: u64,
    /// Number of central-directory entries, directories included.
    pub max_entries: usize,
    /// Uncompressed size of any one entry.
    pub max_entry_bytes: u64,
    /// Uncompressed size of all entries together.
    pub max_total_bytes: u64,
    /// Uncompressed/compressed, per entry and for the whole package. Deflate tops out near
    /// 1032:1, real documents rarely pass 20:1; a higher ratio is a bomb's signature.
    pub max_ratio: u64,
    /// Entries up to this uncompressed size are exempt from the per-entry ratio: a small file of
    /// blanks legitimately compresses 500:1 and can do no harm.
    pub ratio_exempt_bytes: u64,
    /// Bytes of `manifest.xml` read into memory.
    pub max_manifest_bytes: u64,
    /// Length of an entry name, in bytes.
    pub max_name_len: usize,
    /// Number of path components in an entry name.
    pub max_depth: usize,
}

impl Default for SipLimits {
    fn default() -> Self {
        Self {
            max_zip_bytes: 64 * GIB,
            max_entries: 100_000,
            max_entry_bytes: 16 * GIB,
            max_total_bytes: 64 * GIB,
            max_ratio: 200,
            ratio_exempt_bytes: MIB,
            max_manifest_bytes: 64 * MIB,
            // Windows tools cap paths at 260 characters; 1024 bytes leaves room for UTF-8.
            max_name_len: 1024,
            max_depth: 32,
        }
    }
}
