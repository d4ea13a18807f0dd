//! The archive's use of the logbook: its store over the cluster's metadata, the cluster's seal
//! key, and one call per logged event.
//!
//! Keys, per tenant: `t/{tenant}/log/head` (the chain head), `t/{tenant}/log/e/{seq}` (entries),
//! `t/{tenant}/log/s/{index}` (seals) and `t/{tenant}/log/seal-head` (the last seal).
//! The seal key lives in the cluster (`logbook/seal-key`) so that every front signs with it; a
//! node operator can read it, which is why an RFC 3161 authority is the stronger choice.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::logbook::{
    self, ChainHead, Entry, Logbook, LogbookError, LogbookStore, NewEntry, Outcome, Seal, SealKey, StoreError,
    VerifyKeys,
};
use crate::service::Archive;
use crate::store::{Expect, Store, Write};

/// The logbook of platform operations that belong to no tenant (operator actions, denials
/// aimed at tenants that do not exist).
pub const PLATFORM: &str = "_platform";
const SEAL_KEY: &str = "logbook/seal-key";

fn head_key(t: &str) -> String {
    format!("t/{t}/log/head")
}
fn entry_key(t: &str, seq: u64) -> String {
    format!("t/{t}/log/e/{seq:020}")
}
fn seal_key(t: &str, index: u64) -> String {
    format!("t/{t}/log/s/{index:020}")
}
fn seal_head_key(t: &str) -> String {
    format!("t/{t}/log/seal-head")
}

fn unavailable(e: ArchiveError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The logbook's storage in the cluster's metadata keyspace.
pub struct ClusterLogStore {
    store: Store,
}

#[async_trait]
impl LogbookStore for ClusterLogStore {
    async fn head(&self, tenant: &str) -> Result<Option<(ChainHead, u64)>, StoreError> {
        let v = self
            .store
            .get::<ChainHead>(&head_key(tenant))
            .await
            .map_err(unavailable)?;
        Ok(v.map(|v| (v.value, v.revision)))
    }

    async fn append(
        &self,
        tenant: &str,
        expected: Option<u64>,
        entries: &[Entry],
        new_head: &ChainHead,
    ) -> Result<bool, StoreError> {
        let hk = head_key(tenant);
        let cond = match expected {
            Some(rev) => Expect::Revision(hk.clone(), rev),
            None => Expect::Absent(hk.clone()),
        };
        let mut writes = Vec::with_capacity(entries.len() + 1);
        for e in entries {
            writes.push(Write::put(entry_key(tenant, e.seq), e).map_err(unavailable)?);
        }
        writes.push(Write::put(hk, new_head).map_err(unavailable)?);
        self.store.atomically(&[cond], writes).await.map_err(unavailable)
    }

    async fn entries(&self, tenant: &str, from_seq: u64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        self.range(tenant, "e", from_seq, limit).await
    }

    async fn put_seal(&self, tenant: &str, seal: &Seal, expected_last_sealed: Option<u64>) -> Result<bool, StoreError> {
        let hk = seal_head_key(tenant);
        let current = self.store.get::<Seal>(&hk).await.map_err(unavailable)?;
        let cond = match (&current, expected_last_sealed) {
            (None, None) => Expect::Absent(hk.clone()),
            (Some(c), Some(i)) if c.value.index == i => Expect::Revision(hk.clone(), c.revision),
            _ => return Ok(false),
        };
        let writes = vec![
            Write::put(seal_key(tenant, seal.index), seal).map_err(unavailable)?,
            Write::put(hk, seal).map_err(unavailable)?,
        ];
        self.store.atomically(&[cond], writes).await.map_err(unavailable)
    }

    async fn seals(&self, tenant: &str, from_index: u64, limit: usize) -> Result<Vec<Seal>, StoreError> {
        self.range(tenant, "s", from_index, limit).await
    }

    async fn last_seal(&self, tenant: &str) -> Result<Option<Seal>, StoreError> {
        let v = self
            .store
            .get::<Seal>(&seal_head_key(tenant))
            .await
            .map_err(unavailable)?;
        Ok(v.map(|v| v.value))
    }
}

impl ClusterLogStore {
    /// Records `t/{tenant}/log/{kind}/{n}` for n >= from, at most `limit`.
    async fn range<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &str,
        kind: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let prefix = format!("t/{tenant}/log/{kind}/");
        let start_after = if from <= 1 {
            Vec::new()
        } else {
            format!("{prefix}{:020}", from - 1).into_bytes()
        };
        let (page, _) = self
            .store
            .client()
            .meta_scan(
                crate::store::META_NS,
                prefix.as_bytes(),
                &start_after,
                limit.min(1000) as u32,
                archipel_client::Consistency::Linearizable,
            )
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        page.iter()
            .map(|e| {
                serde_json::from_slice(&e.value).map_err(|err| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&e.key).into_owned(),
                    reason: err.to_string(),
                })
            })
            .collect()
    }
}

pub struct Journal {
    book: Arc<Logbook>,
    store: Arc<ClusterLogStore>,
    keys: VerifyKeys,
    public: logbook::PublicSealKey,
}

fn log_error(e: LogbookError) -> ArchiveError {
    ArchiveError::Unavailable(format!("the logbook could not be written: {e}"))
}

impl Journal {
    /// Loads the cluster's seal key, creating it on first use. With `tsa_trust`, RFC 3161 tokens
    /// are verified in full (TSA signature and chain) at seal time and by `verify`.
    pub async fn new(store: Store, tsa_url: Option<String>, tsa_trust: Option<logbook::TsaTrust>) -> Result<Self> {
        let seed = match store.get::<String>(SEAL_KEY).await? {
            Some(v) => v.value,
            None => {
                let mut seed = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut seed);
                let fresh = hex::encode(seed);
                if store.create(SEAL_KEY, &fresh).await? {
                    fresh
                } else {
                    store
                        .get::<String>(SEAL_KEY)
                        .await?
                        .ok_or_else(|| ArchiveError::Internal("the seal key vanished".into()))?
                        .value
                }
            }
        };
        let bytes: [u8; 32] = hex::decode(&seed)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| ArchiveError::Internal(format!("`{SEAL_KEY}` is not a 32-byte hex seed")))?;
        let key = SealKey::from_seed(&bytes);
        let public = key.public();
        let mut keys = VerifyKeys::new()
            .with(&key.public())
            .map_err(|e| ArchiveError::Internal(format!("seal key: {e}")))?;
        if let Some(trust) = &tsa_trust {
            keys = keys.with_tsa_trust(trust.clone());
        }
        let stamper: Arc<dyn logbook::Timestamper> = match tsa_url {
            Some(url) => {
                let client = logbook::Rfc3161Client::new(&url).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
                match tsa_trust {
                    Some(trust) => Arc::new(client.with_trust(trust)),
                    None => Arc::new(client),
                }
            }
            None => Arc::new(key),
        };
        let cluster_store = Arc::new(ClusterLogStore { store });
        let book = Arc::new(Logbook::new(cluster_store.clone(), stamper));
        Ok(Self {
            book,
            store: cluster_store,
            keys,
            public,
        })
    }

    /// Appends one entry to `tenant`'s logbook.
    pub async fn record(
        &self,
        tenant: &str,
        event_type: &str,
        outcome: &str,
        actor: &str,
        subject: Option<&str>,
        detail: Value,
    ) -> Result<()> {
        let outcome = match outcome {
            "OK" => Outcome::Ok,
            "WARNING" => Outcome::Warning,
            _ => Outcome::Ko,
        };
        let operation = uuid::Uuid::new_v4().simple().to_string();
        let mut e = NewEntry::new(operation, event_type, outcome, actor).detail(detail);
        if let Some(s) = subject {
            e = e.subject(s);
        }
        self.book.append(tenant, e).await.map(|_| ()).map_err(log_error)
    }

    /// Logs a refused call. Best effort: a refusal is returned to the caller even when the
    /// logbook cannot be written, and the failure goes to the front's own log.
    pub async fn denied(&self, book: &str, tenant: &str, who: &Principal, why: &ArchiveError) {
        let detail = json!({"tenant": tenant, "role": who.role.to_string(), "reason": why.to_string()});
        if let Err(e) = self.record(book, "access.denied", "KO", &who.id, None, detail).await {
            tracing::error!("a denied call on `{tenant}` by {} could not be logged: {e}", who.id);
        }
    }

    /// Logs the steps of one transfer as consecutive entries, in one write.
    pub async fn record_steps(
        &self,
        tenant: &str,
        actor: &str,
        transfer: &str,
        steps: &[crate::model::Step],
    ) -> Result<()> {
        if steps.is_empty() {
            return Ok(());
        }
        let operation = transfer.to_owned();
        let entries = steps
            .iter()
            .map(|s| {
                let outcome = match s.outcome.as_str() {
                    "OK" => Outcome::Ok,
                    "WARNING" => Outcome::Warning,
                    _ => Outcome::Ko,
                };
                NewEntry::new(operation.clone(), format!("transfer.step.{}", s.name), outcome, actor)
                    .subject(transfer)
                    .detail(json!({"at": s.at.to_rfc3339(), "detail": s.detail}))
            })
            .collect();
        self.book
            .append_many(tenant, entries)
            .await
            .map(|_| ())
            .map_err(log_error)
    }

    /// One OK entry per subject of one operation (a unit each), in one write.
    pub async fn record_each(
        &self,
        tenant: &str,
        event_type: &str,
        actor: &str,
        operation: &str,
        items: Vec<(String, Value)>,
    ) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut entries: Vec<NewEntry> = items
            .into_iter()
            .map(|(subject, detail)| {
                NewEntry::new(operation.to_owned(), event_type, Outcome::Ok, actor)
                    .subject(subject)
                    .detail(detail)
            })
            .collect();
        // Chunks keep each append inside one cluster transaction.
        while !entries.is_empty() {
            let rest = entries.split_off(entries.len().min(200));
            self.book.append_many(tenant, entries).await.map_err(log_error)?;
            entries = rest;
        }
        Ok(())
    }

    pub async fn entries(&self, tenant: &str, from: u64, limit: usize) -> Result<Vec<Entry>> {
        self.store
            .entries(tenant, from, limit)
            .await
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))
    }

    /// How many entries `tenant`'s logbook holds (its last sequence number), 0 when empty.
    pub async fn last_seq(&self, tenant: &str) -> Result<u64> {
        let head = self
            .store
            .head(tenant)
            .await
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))?;
        Ok(head.map_or(0, |(h, _)| h.seq))
    }

    /// The latest seal of `tenant`'s logbook, if it was ever sealed.
    pub async fn last_seal(&self, tenant: &str) -> Result<Option<Seal>> {
        self.store
            .last_seal(tenant)
            .await
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))
    }

    /// Re-checks the chain and every seal.
    pub async fn verify(&self, tenant: &str) -> Result<Value> {
        let report = logbook::verify(self.store.as_ref(), tenant, &self.keys)
            .await
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))?;
        Ok(json!({
            "ok": report.is_intact(),
            "tenant": tenant,
            "entries": report.entries_checked,
            "seals": report.seals_checked,
            "last_sealed_seq": report.last_sealed_seq,
            "tokens": report.tokens,
            "problem": report.first_break,
        }))
    }

    /// Everything a third party needs to re-verify the logbook (docs/logbook.md): the entries
    /// and seals as canonical JSON lines, and the public seal key.
    pub async fn export(&self, tenant: &str) -> Result<Value> {
        let (mut entries, mut seals) = (Vec::new(), Vec::new());
        logbook::export_jsonl(self.store.as_ref(), tenant, &mut entries, &mut seals)
            .await
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))?;
        Ok(json!({
            "entries_jsonl": String::from_utf8_lossy(&entries),
            "seals_jsonl": String::from_utf8_lossy(&seals),
            "keys": [self.public],
        }))
    }

    /// The proof that entry `seq` is under a seal (it must be sealed already), and whether it
    /// checks against this front's keys.
    pub async fn prove(&self, tenant: &str, seq: u64) -> Result<(logbook::InclusionProof, bool)> {
        let proof = self
            .book
            .prove(tenant, seq)
            .await
            .map_err(|e| ArchiveError::Unavailable(format!("no inclusion proof for entry {seq}: {e}")))?;
        let ok = logbook::verify_inclusion(&proof, &self.keys).is_ok();
        Ok((proof, ok))
    }

    /// The public seal key a third party checks seals with.
    pub fn public_key(&self) -> &logbook::PublicSealKey {
        &self.public
    }

    /// Seals what was written since the last seal.
    pub async fn seal(&self, tenant: &str) -> Result<Value> {
        let seal = self.book.seal(tenant).await.map_err(log_error)?;
        Ok(serde_json::to_value(seal)?)
    }

    /// Seals every tenant's logbook (and the platform's); failures are logged, not returned.
    pub async fn seal_all(&self, a: &Archive) {
        let mut tenants: Vec<String> = match a.refs.tenants().await {
            Ok(t) => t.into_iter().map(|t| t.id).collect(),
            Err(e) => {
                tracing::warn!("sealing skipped: cannot list tenants: {e}");
                return;
            }
        };
        tenants.push(PLATFORM.into());
        for t in tenants {
            if let Err(e) = self.book.seal(&t).await {
                tracing::warn!("sealing the logbook of {t} failed: {e}");
            }
        }
    }
}
