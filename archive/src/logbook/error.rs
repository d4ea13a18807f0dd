//! Errors of the logbook's write and proof paths.

use super::entry::InvalidField;
use super::stamp::StampError;
use super::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LogbookError {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    #[error("logbook batch of {0} entries refused: send 1 to {max} entries per call", max = super::book::MAX_BATCH)]
    BatchSize(usize),
    #[error("tenant {tenant}: the head moved {attempts} times while appending; the store is overloaded, retry later")]
    Contention { tenant: String, attempts: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Stamp(#[from] StampError),
    /// The stored chain does not verify; sealing or proving on top of it would vouch for a tampered log.
    #[error("tenant {tenant}: the stored chain is broken at seq {seq}: {reason}; run the logbook verification")]
    Broken { tenant: String, seq: u64, reason: String },
    #[error("tenant {tenant}: entry {seq} does not exist (the chain ends at {head})")]
    NoSuchEntry { tenant: String, seq: u64, head: u64 },
    #[error(
        "tenant {tenant}: entry {seq} is not sealed yet (last sealed entry: {last_sealed}); retry after the next seal"
    )]
    NotSealed { tenant: String, seq: u64, last_sealed: u64 },
}
