//! Intents: every data object is announced in `s3.intents` before its bytes are stored, and the
//! commit that makes a record refer to it (object or part) removes the intent in the same
//! transaction. A gateway that dies between storing data and committing its record therefore
//! leaves an intent behind, and the sweep deletes that data once the intent has outlived its
//! time-to-live — measured on the Raft leader's stamped time, never this host's clock.
//!
//! The client crate exposes no cluster clock, but every object the cluster commits carries the
//! leader-stamped `created_at_ms`: the sweep stores an empty probe object and reads that. An
//! intent's age counts from the first sweep that saw it (`s3.intents.seen`), so a slow upload
//! keeps its data for at least the time-to-live. Removing an intent first marks it `doomed`,
//! which changes its revision: a late commit (conditioned on the revision it wrote) then fails
//! instead of referring to data about to be deleted.

use std::time::Duration;

use archipel_client::{CasExpect, ClientError, Consistency, TxnOp};
use s3s::{S3Error, S3ErrorCode, S3Result};
use serde::{Deserialize, Serialize};

use crate::error::cluster_error;
use crate::gateway::Gateway;

pub const INTENTS_NS: &str = "s3.intents";
/// Leader-stamped time at which a sweep first saw an intent (key as in `INTENTS_NS`).
pub const INTENTS_SEEN_NS: &str = "s3.intents.seen";

/// Data announced for longer than this without a record is an orphan. A single PUT of S3's
/// largest object (5 GiB) over a slow link stays far below it.
pub const DEFAULT_INTENT_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntentRecord {
    pub namespace: String,
    pub key: String,
    /// Set by the sweep before it deletes the data: no commit can use it any more.
    #[serde(default)]
    pub doomed: bool,
}

/// An intent this request wrote, to be consumed by its commit.
#[derive(Debug, Clone)]
pub struct Intent {
    pub namespace: String,
    pub key: String,
    pub revision: u64,
}

pub fn intent_key(namespace: &str, key: &str) -> Vec<u8> {
    format!("{namespace}/{key}").into_bytes()
}

impl Intent {
    /// The commit's condition: the intent is still the one this request wrote.
    pub fn condition(&self) -> (String, Vec<u8>, CasExpect) {
        (
            INTENTS_NS.to_owned(),
            intent_key(&self.namespace, &self.key),
            CasExpect::Revision(self.revision),
        )
    }

    /// The commit's writes: the intent (and its sweep mark) go away with the record's write.
    pub fn clear_ops(&self) -> [TxnOp; 2] {
        clear_ops(&self.namespace, &self.key)
    }
}

fn clear_ops(namespace: &str, key: &str) -> [TxnOp; 2] {
    let k = intent_key(namespace, key);
    [
        TxnOp {
            namespace: INTENTS_NS.into(),
            key: k.clone(),
            value: None,
        },
        TxnOp {
            namespace: INTENTS_SEEN_NS.into(),
            key: k,
            value: None,
        },
    ]
}

/// The answer when a commit finds its intent reclaimed by the sweep.
pub fn reclaimed() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::RequestTimeout,
        "The upload took longer than the gateway keeps unreferenced data (its intent expired and the data was reclaimed); send it again.",
    )
}

/// What one pass of the intent sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntentSweep {
    /// Intents still within their time-to-live (uploads in progress, or recent crashes).
    pub kept: usize,
    /// Orphaned data objects deleted (and their intents).
    pub removed: usize,
    /// Orphans the cluster refused to delete yet (locked before the crash): retried later.
    pub locked: usize,
}

/// Whether an intent first seen at `seen_ms` has expired at `now_ms` (both leader-stamped).
pub fn expired(seen_ms: u64, now_ms: u64, ttl: Duration) -> bool {
    now_ms.saturating_sub(seen_ms) >= ttl.as_millis() as u64
}

impl Gateway {
    /// Announces the data object `namespace/key` before any byte of it is stored.
    pub(crate) async fn announce(&self, namespace: &str, key: &str) -> S3Result<Intent> {
        let record = IntentRecord {
            namespace: namespace.into(),
            key: key.into(),
            doomed: false,
        };
        let value = crate::gateway::encode(&record)?;
        let outcome = self
            .client
            .meta_cas(INTENTS_NS, &intent_key(namespace, key), CasExpect::Absent, Some(&value))
            .await
            .map_err(cluster_error)?;
        match outcome.current.filter(|_| outcome.succeeded) {
            Some(entry) => Ok(Intent {
                namespace: namespace.into(),
                key: key.into(),
                revision: entry.revision,
            }),
            // Keys are fresh UUIDs: a collision means the cluster answered oddly.
            None => Err(S3Error::with_message(
                S3ErrorCode::InternalError,
                format!("the intent for {namespace}/{key} already exists"),
            )),
        }
    }

    /// Drops the intent of data that was deleted (a refused upload). Failures leave it to the
    /// sweep, which finds the data gone and removes the intent.
    pub(crate) async fn forget(&self, namespace: &str, key: &str) {
        if let Err(e) = self.client.meta_txn(&[], clear_ops(namespace, key).to_vec()).await {
            tracing::warn!("the intent of {namespace}/{key} is left for the sweep: {e}");
        }
    }

    /// Deletes the data of intents older than `ttl` on the leader-stamped clock.
    pub async fn sweep_intents(&self, ttl: Duration) -> Result<IntentSweep, ClientError> {
        let mut report = IntentSweep::default();
        let mut clock: Option<u64> = None;
        let mut after = Vec::new();
        loop {
            let (entries, more) = self
                .client
                .meta_scan(INTENTS_NS, b"", &after, 100, Consistency::Linearizable)
                .await?;
            for e in &entries {
                let record: IntentRecord = match serde_json::from_slice(&e.value) {
                    Ok(r) => r,
                    Err(err) => {
                        tracing::error!(
                            "intent {} is damaged ({err}); left in place",
                            String::from_utf8_lossy(&e.key)
                        );
                        continue;
                    }
                };
                // One reading per pass: the intents are judged against the same instant.
                let now = match clock {
                    Some(t) => t,
                    None => *clock.insert(self.client.cluster_time_ms().await?),
                };
                self.judge(&e.key, e.revision, record, now, ttl, &mut report).await?;
            }
            match entries.last() {
                Some(last) if more => after = last.key.clone(),
                _ => return Ok(report),
            }
        }
    }

    async fn judge(
        &self,
        ikey: &[u8],
        revision: u64,
        mut record: IntentRecord,
        now: u64,
        ttl: Duration,
        report: &mut IntentSweep,
    ) -> Result<(), ClientError> {
        if !record.doomed {
            let seen = match self
                .client
                .meta_get(INTENTS_SEEN_NS, ikey, Consistency::Linearizable)
                .await?
            {
                Some(s) => std::str::from_utf8(&s.value)
                    .ok()
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(now),
                None => {
                    self.client
                        .meta_put(INTENTS_SEEN_NS, ikey, now.to_string().as_bytes())
                        .await?;
                    now
                }
            };
            if !expired(seen, now, ttl) {
                report.kept += 1;
                return Ok(());
            }
            record.doomed = true;
            let value = serde_json::to_vec(&record).map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
            let outcome = self
                .client
                .meta_cas(INTENTS_NS, ikey, CasExpect::Revision(revision), Some(&value))
                .await?;
            if !outcome.succeeded {
                // Committed (or discarded) since the scan: not an orphan.
                return Ok(());
            }
        }
        match self.delete_data(&record.namespace, &record.key).await {
            Ok(()) => {}
            Err(ClientError::PermissionDenied(m)) | Err(ClientError::FailedPrecondition(m)) => {
                tracing::warn!(
                    "orphaned data {}/{} is locked ({m}); it is deleted once its lock ends",
                    record.namespace,
                    record.key
                );
                report.locked += 1;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        self.client
            .meta_txn(&[], clear_ops(&record.namespace, &record.key).to_vec())
            .await?;
        tracing::info!(
            "s3 gateway: deleted orphaned data {}/{} (no record after its intent expired)",
            record.namespace,
            record.key
        );
        report.removed += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_intent_expires_only_after_its_ttl_on_the_stamped_clock() {
        let ttl = Duration::from_secs(60);
        assert!(!expired(1_000_000, 1_000_000, ttl));
        assert!(!expired(1_000_000, 1_059_999, ttl));
        assert!(expired(1_000_000, 1_060_000, ttl));
        // A stamped time behind the first sighting (another leader) never expires early.
        assert!(!expired(1_000_000, 999_000, ttl));
        assert!(expired(5, 5, Duration::ZERO));
    }

    #[test]
    fn intent_keys_name_namespace_and_data() {
        assert_eq!(intent_key("region.s3.b", "d/abc"), b"region.s3.b/d/abc".to_vec());
        let i = Intent {
            namespace: "n".into(),
            key: "p/u/1".into(),
            revision: 7,
        };
        let (ns, k, e) = i.condition();
        assert_eq!((ns.as_str(), k), (INTENTS_NS, b"n/p/u/1".to_vec()));
        assert!(matches!(e, CasExpect::Revision(7)));
        assert!(i.clear_ops().iter().all(|op| op.value.is_none()));
    }
}
