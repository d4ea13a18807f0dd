//! Where entries and seals live. The archive implements this over the cluster's metadata keyspace
//! (multi-key conditional batches, prefix scans, revisions); `MemoryStore` implements it for tests.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entry::Entry;
use super::hash::Hash32;
use super::seal::Seal;

/// The last entry of a tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: Hash32,
    #[serde(with = "super::time")]
    pub time: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing store could not be reached or did not answer; retrying later may work.
    #[error("logbook store unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be read back; the store needs an operator.
    #[error("logbook store holds an unreadable value at {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The caller broke the store's contract (e.g. non-consecutive seqs); a bug, not contention.
    #[error("logbook store refused the write: {0}")]
    Refused(String),
}

#[async_trait]
pub trait LogbookStore: Send + Sync {
    /// The chain head of a tenant with an opaque version for conditional writes.
    async fn head(&self, tenant: &str) -> Result<Option<(ChainHead, u64)>, StoreError>;

    /// Atomically: store `entries` (consecutive seqs following the head) and move the head to `new_head`, only if
    /// the head is still at version `expected` (`None` = no head yet). `Ok(false)` when someone else appended first.
    async fn append(
        &self,
        tenant: &str,
        expected: Option<u64>,
        entries: &[Entry],
        new_head: &ChainHead,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` entries with `seq >= from_seq`, in seq order.
    async fn entries(&self, tenant: &str, from_seq: u64, limit: usize) -> Result<Vec<Entry>, StoreError>;

    /// Stores `seal` only if the last stored seal index is still `expected_last_sealed` (`None` = no seal yet).
    async fn put_seal(&self, tenant: &str, seal: &Seal, expected_last_sealed: Option<u64>) -> Result<bool, StoreError>;

    /// Up to `limit` seals with `index >= from_index`, in index order.
    async fn seals(&self, tenant: &str, from_index: u64, limit: usize) -> Result<Vec<Seal>, StoreError>;

    /// The seal with the highest index (one key read in the real store: the seal head).
    async fn last_seal(&self, tenant: &str) -> Result<Option<Seal>, StoreError>;
}
