//! `Logbook`: appending to a tenant's chain and sealing it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use super::entry::{check_tenant, Entry, NewEntry};
use super::error::LogbookError;
use super::hash::Hash32;
use super::merkle;
use super::seal::{Seal, SealStatement};
use super::stamp::Timestamper;
use super::store::{ChainHead, LogbookStore};
use super::time;

/// Most entries one `append_many` may write: one operation's steps, not a bulk import.
pub const MAX_BATCH: usize = 1000;
/// Conditional-write attempts before giving up; each loss means another front made progress.
const MAX_ATTEMPTS: u32 = 200;
/// Longest random pause between attempts, so contending fronts spread out instead of colliding again.
const MAX_BACKOFF_MICROS: u64 = 20_000;
/// Entries read per store call when walking the chain.
pub(crate) const PAGE: usize = 1000;

pub struct Logbook {
    store: Arc<dyn LogbookStore>,
    stamper: Arc<dyn Timestamper>,
}

impl Logbook {
    /// `stamper` is the cluster's `SealKey`, or an RFC 3161 client when a TSA is configured.
    pub fn new(store: Arc<dyn LogbookStore>, stamper: Arc<dyn Timestamper>) -> Self {
        Logbook { store, stamper }
    }

    pub fn store(&self) -> &Arc<dyn LogbookStore> {
        &self.store
    }

    /// Appends one entry; retries when another front appended first.
    pub async fn append(&self, tenant: &str, entry: NewEntry) -> Result<Entry, LogbookError> {
        let mut out = self.append_many(tenant, vec![entry]).await?;
        out.pop().ok_or(LogbookError::BatchSize(0))
    }

    /// Appends the steps of one operation as consecutive entries, all or none.
    pub async fn append_many(&self, tenant: &str, entries: Vec<NewEntry>) -> Result<Vec<Entry>, LogbookError> {
        check_tenant(tenant)?;
        if entries.is_empty() || entries.len() > MAX_BATCH {
            return Err(LogbookError::BatchSize(entries.len()));
        }
        for e in &entries {
            e.check()?;
        }
        for attempt in 0..MAX_ATTEMPTS {
            let head = self.store.head(tenant).await?;
            let (mut seq, mut prev, mut now, version) = match &head {
                Some((h, v)) => (h.seq, h.hash, h.time, Some(*v)),
                None => (0, Hash32::ZERO, chrono::DateTime::<Utc>::MIN_UTC, None),
            };
            // Times never go backwards along a chain, even when fronts' clocks disagree.
            now = now.max(time::truncate(Utc::now()));
            let mut built = Vec::with_capacity(entries.len());
            for e in &entries {
                seq += 1;
                let entry = e.clone().into_entry(tenant, seq, now, prev)?;
                prev = entry.hash;
                built.push(entry);
            }
            let new_head = ChainHead {
                seq,
                hash: prev,
                time: now,
            };
            if self.store.append(tenant, version, &built, &new_head).await? {
                return Ok(built);
            }
            let cap = (100u64 << attempt.min(8)).min(MAX_BACKOFF_MICROS);
            let pause = rand::thread_rng().gen_range(0..=cap);
            tokio::time::sleep(Duration::from_micros(pause)).await;
        }
        Err(LogbookError::Contention {
            tenant: tenant.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Seals the entries after the last seal up to the head. `None` when there is nothing new (two reads).
    pub async fn seal(&self, tenant: &str) -> Result<Option<Seal>, LogbookError> {
        check_tenant(tenant)?;
        for _ in 0..MAX_ATTEMPTS {
            let last = self.store.last_seal(tenant).await?;
            let Some((head, _)) = self.store.head(tenant).await? else {
                return Ok(None);
            };
            let first_seq = last.as_ref().map_or(1, |s| s.last_seq + 1);
            if head.seq < first_seq {
                return Ok(None);
            }
            let hashes = self.checked_hashes(tenant, first_seq, head.seq).await?;
            let root = merkle::root(&hashes).ok_or_else(|| LogbookError::Broken {
                tenant: tenant.to_string(),
                seq: first_seq,
                reason: "no entries to seal below the head".into(),
            })?;
            let statement = SealStatement {
                tenant: tenant.to_string(),
                index: last.as_ref().map_or(1, |s| s.index + 1),
                first_seq,
                last_seq: head.seq,
                root,
                prev_seal_hash: last.as_ref().map_or(Hash32::ZERO, |s| s.hash),
                time: last
                    .as_ref()
                    .map_or(head.time, |s| s.time.max(head.time))
                    .max(time::truncate(Utc::now())),
            };
            let token = self.stamper.stamp(&statement).await?;
            let seal = statement.into_seal(token);
            if self
                .store
                .put_seal(tenant, &seal, last.as_ref().map(|s| s.index))
                .await?
            {
                return Ok(Some(seal));
            }
            // Another front sealed first; look again, there may be nothing left.
        }
        Err(LogbookError::Contention {
            tenant: tenant.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Hashes of entries `from..=to`, after checking seqs, hashes and links (from the entry before `from`).
    pub(crate) async fn checked_hashes(&self, tenant: &str, from: u64, to: u64) -> Result<Vec<Hash32>, LogbookError> {
        let broken = |seq, reason: String| LogbookError::Broken {
            tenant: tenant.to_string(),
            seq,
            reason,
        };
        let mut next = from.saturating_sub(1).max(1);
        let mut prev = None;
        let mut out = Vec::with_capacity((to + 1).saturating_sub(from).min(1 << 20) as usize);
        while next <= to {
            let page = self.store.entries(tenant, next, PAGE).await?;
            if page.is_empty() {
                return Err(broken(next, "entry missing".into()));
            }
            for e in page {
                if next > to {
                    break;
                }
                if e.seq != next {
                    return Err(broken(next, format!("found seq {} instead", e.seq)));
                }
                let computed = e.compute_hash().map_err(|err| broken(e.seq, err.to_string()))?;
                if computed != e.hash {
                    return Err(broken(
                        e.seq,
                        format!("stored hash {} but content hashes to {computed}", e.hash),
                    ));
                }
                let expected_prev = prev.unwrap_or(if e.seq == 1 { Hash32::ZERO } else { e.prev_hash });
                if e.prev_hash != expected_prev {
                    return Err(broken(
                        e.seq,
                        format!("prev_hash {} but the previous entry is {expected_prev}", e.prev_hash),
                    ));
                }
                prev = Some(e.hash);
                if e.seq >= from {
                    out.push(e.hash);
                }
                next += 1;
            }
        }
        Ok(out)
    }
}
