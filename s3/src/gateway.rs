//! The gateway's state and the steps every operation shares: who is calling, which bucket,
//! reading and committing object records, storing data objects, clean-up of replaced data.

use std::sync::Arc;

use archipel_client::{CasExpect, Client, ClientError, Consistency, TxnOp};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use tokio::io::AsyncRead;

use crate::error::cluster_error;
use crate::intents::{self, Intent};
use crate::keys::{Identity, Keys};
use crate::records::*;

/// Attempts at a record swap that lost a race with another writer before giving up.
const SWAP_ATTEMPTS: usize = 16;

#[derive(Clone)]
pub struct Gateway {
    pub(crate) client: Arc<Client>,
    pub(crate) keys: Arc<Keys>,
    pub(crate) faults: Faults,
}

/// Faults injected by tests of crash recovery; all off in service.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// PutObject aborts the process once the data is stored, before its record is committed.
    pub crash_after_data: bool,
}

/// What an object commit does besides writing the record: more writes and conditions in the
/// same transaction, and data to delete afterwards (the replaced object's is added).
pub struct Also {
    pub ops: Vec<TxnOp>,
    pub conditions: Vec<(String, Vec<u8>, CasExpect)>,
    pub trash: TrashRecord,
    /// Intents of the new data the record refers to, consumed by the commit.
    pub intents: Vec<Intent>,
}

impl Also {
    pub fn nothing(bucket: &Bucket) -> Self {
        Self {
            ops: vec![],
            conditions: vec![],
            trash: TrashRecord {
                namespace: bucket.ns().into(),
                data: vec![],
                upload_parts: None,
                keep_if_used_by: None,
            },
            intents: vec![],
        }
    }

    /// [`Also::nothing`] but consuming the intent of the record's new data.
    pub fn consuming(bucket: &Bucket, intent: Intent) -> Self {
        Self {
            intents: vec![intent],
            ..Self::nothing(bucket)
        }
    }
}

/// A bucket as resolved for one request.
pub struct Bucket {
    pub name: String,
    pub record: BucketRecord,
    pub revision: u64,
}

impl Bucket {
    pub fn objects_ns(&self) -> String {
        objects_ns(&self.record.namespace)
    }
    pub fn ns(&self) -> &str {
        &self.record.namespace
    }
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> S3Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| S3Error::with_message(S3ErrorCode::InternalError, format!("the record {what} is damaged: {e}")))
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> S3Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| S3Error::with_message(S3ErrorCode::InternalError, e.to_string()))
}

pub(crate) fn contended(what: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::OperationAborted,
        format!("A conflicting operation on {what} is in progress; try again."),
    )
}

impl Gateway {
    pub fn new(client: Arc<Client>, keys: Arc<Keys>) -> Self {
        Self {
            client,
            keys,
            faults: Faults::default(),
        }
    }

    pub fn with_faults(self, faults: Faults) -> Self {
        Self { faults, ..self }
    }

    /// The caller's identity; anonymous requests are refused (s3s already did for signed
    /// routes, this also covers a key revoked since).
    pub(crate) async fn identity(&self, credentials: &Option<s3s::auth::Credentials>) -> S3Result<Identity> {
        let Some(c) = credentials else {
            return Err(s3_error!(
                AccessDenied,
                "Anonymous access is not allowed: sign the request."
            ));
        };
        match self.keys.identity(&c.access_key).await {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(s3_error!(InvalidAccessKeyId)),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn writer(&self, credentials: &Option<s3s::auth::Credentials>) -> S3Result<Identity> {
        let id = self.identity(credentials).await?;
        if id.read_only {
            return Err(s3_error!(AccessDenied, "This access key is read-only."));
        }
        Ok(id)
    }

    /// The bucket, if it exists and belongs to the caller's tenant. Another tenant's bucket
    /// answers NoSuchBucket, so its existence does not leak.
    pub(crate) async fn bucket(&self, id: &Identity, name: &str) -> S3Result<Bucket> {
        let entry = self
            .client
            .meta_get(BUCKETS_NS, name.as_bytes(), Consistency::Linearizable)
            .await
            .map_err(cluster_error)?;
        let Some(entry) = entry else {
            return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist."));
        };
        let record: BucketRecord = decode(name, &entry.value)?;
        if record.tenant != id.tenant || record.deleting {
            return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist."));
        }
        Ok(Bucket {
            name: name.into(),
            record,
            revision: entry.revision,
        })
    }

    pub(crate) async fn object_entry(&self, bucket: &Bucket, key: &str) -> S3Result<Option<(ObjectRecord, u64)>> {
        let entry = self
            .client
            .meta_get(&bucket.objects_ns(), key.as_bytes(), Consistency::Linearizable)
            .await
            .map_err(cluster_error)?;
        match entry {
            Some(e) => Ok(Some((decode(key, &e.value)?, e.revision))),
            None => Ok(None),
        }
    }

    pub(crate) async fn object(&self, bucket: &Bucket, key: &str) -> S3Result<(ObjectRecord, u64)> {
        self.object_entry(bucket, key)
            .await?
            .ok_or_else(|| s3_error!(NoSuchKey, "The specified key does not exist."))
    }

    /// Stores `reader` as a new data object of the bucket's namespace under a fresh key,
    /// announced first by an intent that the record's commit must consume (see `intents`).
    pub(crate) async fn store<R: AsyncRead + Unpin + Send>(
        &self,
        bucket: &Bucket,
        prefix: &str,
        reader: R,
        size: Option<u64>,
    ) -> S3Result<Intent> {
        let key = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
        let intent = self.announce(bucket.ns(), &key).await?;
        let stored = self.client.put_object(bucket.ns(), &key, reader, size, None).await;
        let err = match stored {
            Ok(_) => return Ok(intent),
            Err(ClientError::InvalidArgument(m)) if m.starts_with("reading the input failed") => {
                S3Error::with_message(S3ErrorCode::IncompleteBody, m)
            }
            Err(ClientError::InvalidArgument(m)) if m.contains("bytes") => {
                S3Error::with_message(S3ErrorCode::IncompleteBody, m)
            }
            // The data may yet be committed: its intent stays for the sweep to judge.
            Err(e @ ClientError::Indeterminate(_)) => return Err(cluster_error(e)),
            Err(e) => cluster_error(e),
        };
        self.discard(bucket.ns(), &key).await;
        Err(err)
    }

    /// Makes `record` the object at `key`, replacing whatever was there, if the bucket is
    /// unchanged and `check` accepts the current entry. The replaced data is deleted.
    pub(crate) async fn commit_object(
        &self,
        bucket: &Bucket,
        key: &str,
        record: &ObjectRecord,
        with: Also,
        check: impl Fn(Option<&ObjectRecord>) -> S3Result<()>,
    ) -> S3Result<()> {
        let Also {
            ops: extra,
            conditions: extra_conditions,
            trash,
            intents: fresh,
        } = with;
        let ons = bucket.objects_ns();
        let value = encode(record)?;
        for _ in 0..SWAP_ATTEMPTS {
            let current = self.object_entry(bucket, key).await?;
            check(current.as_ref().map(|(r, _)| r))?;
            if let Some((old, _)) = &current {
                crate::lock::check_replace(bucket, old)?;
            }
            let expect = match &current {
                Some((_, rev)) => CasExpect::Revision(*rev),
                None => CasExpect::Absent,
            };
            let mut conditions: Vec<(&str, &[u8], CasExpect)> = vec![
                (BUCKETS_NS, bucket.name.as_bytes(), CasExpect::Revision(bucket.revision)),
                (&ons, key.as_bytes(), expect),
            ];
            for (ns, k, e) in &extra_conditions {
                conditions.push((ns, k, e.clone()));
            }
            let first_intent = conditions.len();
            let intent_conditions: Vec<_> = fresh.iter().map(Intent::condition).collect();
            for (ns, k, e) in &intent_conditions {
                conditions.push((ns, k, e.clone()));
            }
            let mut ops = vec![TxnOp {
                namespace: ons.clone(),
                key: key.as_bytes().to_vec(),
                value: Some(value.clone()),
            }];
            ops.extend(extra.iter().cloned());
            ops.extend(fresh.iter().flat_map(Intent::clear_ops));
            let mut trash = trash.clone();
            if let Some((old, _)) = &current {
                trash.data.extend(old.pieces.iter().map(|p| p.k.clone()));
            }
            let trash_id = if trash.data.is_empty() && trash.upload_parts.is_none() {
                None
            } else {
                Some(self.trash_op(trash, &mut ops)?)
            };
            let outcome = self.client.meta_txn(&conditions, ops).await.map_err(cluster_error)?;
            if outcome.succeeded {
                if let Some(id) = trash_id {
                    self.empty_trash_entry(&id).await;
                }
                return Ok(());
            }
            match outcome.failed_condition {
                Some(0) => return Err(contended(&format!("bucket {}", bucket.name))),
                Some(i) if i >= first_intent => return Err(intents::reclaimed()),
                Some(i) if i >= 2 => {
                    return Err(s3_error!(
                        NoSuchUpload,
                        "The specified multipart upload does not exist."
                    ))
                }
                _ => continue,
            }
        }
        Err(contended(key))
    }

    /// Adds to `ops` a trash entry and returns its id.
    pub(crate) fn trash_op(&self, record: TrashRecord, ops: &mut Vec<TxnOp>) -> S3Result<String> {
        let id = format!("{:016x}-{}", now_ms(), uuid::Uuid::new_v4().simple());
        ops.push(TxnOp {
            namespace: TRASH_NS.into(),
            key: id.clone().into_bytes(),
            value: Some(encode(&record)?),
        });
        Ok(id)
    }

    /// Deletes what a trash entry lists, then the entry. Failures are left for the sweeper.
    pub(crate) async fn empty_trash_entry(&self, id: &str) {
        if let Err(e) = self.try_empty_trash_entry(id).await {
            tracing::warn!("clean-up {id} left for later: {e}");
        }
    }

    async fn try_empty_trash_entry(&self, id: &str) -> Result<(), ClientError> {
        let Some(entry) = self
            .client
            .meta_get(TRASH_NS, id.as_bytes(), Consistency::Linearizable)
            .await?
        else {
            return Ok(());
        };
        let record: TrashRecord = match serde_json::from_slice(&entry.value) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("trash entry {id} is damaged ({e}); left in place");
                return Ok(());
            }
        };
        let ns = &record.namespace;
        let kept: std::collections::HashSet<String> = match &record.keep_if_used_by {
            Some(key) => match self
                .client
                .meta_get(&objects_ns(ns), key.as_bytes(), Consistency::Linearizable)
                .await?
            {
                Some(e) => match serde_json::from_slice::<ObjectRecord>(&e.value) {
                    Ok(o) => o.pieces.into_iter().map(|p| p.k).collect(),
                    Err(err) => {
                        tracing::error!("object record {ns}/{key} is damaged ({err}); trash {id} left in place");
                        return Ok(());
                    }
                },
                None => Default::default(),
            },
            None => Default::default(),
        };
        for k in record.data.iter().filter(|k| !kept.contains(*k)) {
            self.delete_data(ns, k).await?;
        }
        if let Some(upload) = &record.upload_parts {
            let pns = parts_ns(ns);
            let prefix = format!("{upload}/");
            loop {
                let (entries, more) = self
                    .client
                    .meta_scan(&pns, prefix.as_bytes(), b"", 1000, Consistency::Linearizable)
                    .await?;
                for e in &entries {
                    if let Ok(part) = serde_json::from_slice::<PartRecord>(&e.value) {
                        if !kept.contains(&part.piece.k) {
                            self.delete_data(ns, &part.piece.k).await?;
                        }
                    }
                    self.client.meta_delete(&pns, &e.key).await?;
                }
                if !more || entries.is_empty() {
                    break;
                }
            }
        }
        self.client.meta_delete(TRASH_NS, id.as_bytes()).await?;
        Ok(())
    }

    pub(crate) async fn delete_data(&self, namespace: &str, key: &str) -> Result<(), ClientError> {
        match self.client.delete_object(namespace, key).await {
            Ok(_) | Err(ClientError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Works through every trash entry (called at start-up and periodically).
    pub async fn sweep(&self) -> Result<usize, ClientError> {
        let mut done = 0;
        let mut after = Vec::new();
        loop {
            let (entries, more) = self
                .client
                .meta_scan(TRASH_NS, b"", &after, 100, Consistency::Linearizable)
                .await?;
            for e in &entries {
                let id = String::from_utf8_lossy(&e.key).into_owned();
                self.try_empty_trash_entry(&id).await?;
                done += 1;
            }
            match entries.last() {
                Some(last) if more => after = last.key.clone(),
                _ => return Ok(done),
            }
        }
    }
}
