//! Buckets: namespaces of the cluster owned by a tenant, registered in `s3.buckets`.

use archipel_client::{CasExpect, ClientError, Consistency, TxnOp};
use s3s::dto::*;
use s3s::{s3_error, S3Result};

use crate::error::cluster_error;
use crate::gateway::{contended, decode, encode, Bucket, Gateway};
use crate::keys::Identity;
use crate::records::*;

pub(crate) fn owner(tenant: &str) -> Owner {
    Owner {
        display_name: Some(tenant.into()),
        id: Some(tenant.into()),
    }
}

impl Gateway {
    pub(crate) async fn op_list_buckets(&self, id: &Identity, input: &ListBucketsInput) -> S3Result<ListBucketsOutput> {
        let max = match input.max_buckets {
            Some(n) if !(1..=10_000).contains(&n) => {
                return Err(s3_error!(InvalidArgument, "max-buckets must be between 1 and 10000"))
            }
            Some(n) => n as usize,
            None => usize::MAX,
        };
        let prefix = input.prefix.clone().unwrap_or_default();
        let mut buckets = Vec::new();
        let mut truncated = false;
        let mut after = input.continuation_token.clone().unwrap_or_default().into_bytes();
        loop {
            let (entries, more) = self
                .client
                .meta_scan(BUCKETS_NS, prefix.as_bytes(), &after, 1000, Consistency::Linearizable)
                .await
                .map_err(cluster_error)?;
            for e in &entries {
                let name = String::from_utf8_lossy(&e.key).into_owned();
                let r: BucketRecord = decode(&name, &e.value)?;
                if r.tenant == id.tenant && !r.deleting {
                    if buckets.len() == max {
                        truncated = true;
                        break;
                    }
                    buckets.push(s3s::dto::Bucket {
                        bucket_region: None,
                        creation_date: Some(crate::lock::ms_timestamp(r.created_ms)),
                        name: Some(name),
                    });
                }
            }
            match entries.last() {
                Some(last) if more && !truncated => after = last.key.clone(),
                _ => break,
            }
        }
        let continuation_token = buckets
            .last()
            .and_then(|b: &s3s::dto::Bucket| b.name.clone())
            .filter(|_| truncated);
        Ok(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner(&id.tenant)),
            continuation_token,
            prefix: input.prefix.clone(),
        })
    }

    pub(crate) async fn op_create_bucket(&self, id: &Identity, input: &CreateBucketInput) -> S3Result<()> {
        let name = &input.bucket;
        let namespace = namespace_for(&id.tenant, name);
        match self.client.create_namespace(&namespace, None, 0).await {
            Ok(_) => {}
            Err(ClientError::Conflict(m)) => {
                return Err(s3_error!(
                    BucketAlreadyExists,
                    "The namespace {namespace} exists with other settings: {m}"
                ))
            }
            Err(e) => return Err(cluster_error(e)),
        }
        let record = BucketRecord {
            tenant: id.tenant.clone(),
            namespace,
            created_ms: now_ms(),
            object_lock: input.object_lock_enabled_for_bucket.unwrap_or(false),
            default_retention: None,
            deleting: false,
        };
        let outcome = self
            .client
            .meta_cas(BUCKETS_NS, name.as_bytes(), CasExpect::Absent, Some(&encode(&record)?))
            .await
            .map_err(cluster_error)?;
        if outcome.succeeded {
            return Ok(());
        }
        let theirs: Option<BucketRecord> = match outcome.current {
            Some(e) => Some(decode(name, &e.value)?),
            None => None,
        };
        match theirs {
            // us-east-1's answer (the only region here): creating a bucket one owns succeeds.
            Some(r) if r.tenant == id.tenant && !r.deleting => Ok(()),
            _ => Err(s3_error!(
                BucketAlreadyExists,
                "The requested bucket name is not available. Please select a different name and try again."
            )),
        }
    }

    /// Deletes an empty bucket. The record is first marked `deleting`, which fails every write
    /// conditioned on the revision read before; only then is emptiness checked.
    pub(crate) async fn op_delete_bucket(&self, id: &Identity, name: &str) -> S3Result<()> {
        let bucket = self.bucket(id, name).await?;
        let mut marked = bucket.record.clone();
        marked.deleting = true;
        let outcome = self
            .client
            .meta_cas(
                BUCKETS_NS,
                name.as_bytes(),
                CasExpect::Revision(bucket.revision),
                Some(&encode(&marked)?),
            )
            .await
            .map_err(cluster_error)?;
        let Some(current) = outcome.current.filter(|_| outcome.succeeded) else {
            return Err(contended(&format!("bucket {name}")));
        };
        let (objects, _) = self
            .client
            .meta_scan(&bucket.objects_ns(), b"", b"", 1, Consistency::Linearizable)
            .await
            .map_err(cluster_error)?;
        if !objects.is_empty() {
            let restore = self
                .client
                .meta_cas(
                    BUCKETS_NS,
                    name.as_bytes(),
                    CasExpect::Revision(current.revision),
                    Some(&encode(&bucket.record)?),
                )
                .await
                .map_err(cluster_error)?;
            if !restore.succeeded {
                tracing::warn!("bucket {name}: could not clear the deleting mark");
            }
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty."
            ));
        }
        // Uploads still in progress are aborted with the bucket.
        let uns = uploads_ns(bucket.ns());
        let mut ops = vec![TxnOp {
            namespace: BUCKETS_NS.into(),
            key: name.as_bytes().to_vec(),
            value: None,
        }];
        let mut trash_ids = Vec::new();
        let (uploads, _) = self
            .client
            .meta_scan(&uns, b"", b"", 500, Consistency::Linearizable)
            .await
            .map_err(cluster_error)?;
        for u in &uploads {
            let upload_id = u.key.rsplit(|b| *b == 0).next().unwrap_or_default();
            ops.push(TxnOp {
                namespace: uns.clone(),
                key: u.key.clone(),
                value: None,
            });
            trash_ids.push(self.trash_op(
                TrashRecord {
                    namespace: bucket.ns().into(),
                    data: vec![],
                    upload_parts: Some(String::from_utf8_lossy(upload_id).into_owned()),
                    keep_if_used_by: None,
                },
                &mut ops,
            )?);
        }
        let done = self
            .client
            .meta_txn(
                &[(BUCKETS_NS, name.as_bytes(), CasExpect::Revision(current.revision))],
                ops,
            )
            .await
            .map_err(cluster_error)?;
        if !done.succeeded {
            return Err(contended(&format!("bucket {name}")));
        }
        for t in trash_ids {
            self.empty_trash_entry(&t).await;
        }
        Ok(())
    }

    pub(crate) async fn op_head_bucket(&self, id: &Identity, name: &str) -> S3Result<Bucket> {
        self.bucket(id, name).await
    }
}
