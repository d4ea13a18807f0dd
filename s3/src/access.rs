//! The check s3s runs before every operation, signed or not: unsigned requests are refused,
//! but a bucket that does not exist says so first (`NoSuchBucket`, as S3 answers).
//!
//! Which tenant may touch which bucket is decided by the operations themselves (`Gateway::bucket`).

use std::sync::Arc;

use archipel_client::{Client, Consistency};
use s3s::access::{S3Access, S3AccessContext};
use s3s::{s3_error, S3Result};

use crate::error::cluster_error;
use crate::records::BUCKETS_NS;

pub(crate) struct Access {
    pub client: Arc<Client>,
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_some() {
            return Ok(());
        }
        if let Some(bucket) = cx.s3_path().get_bucket_name() {
            let entry = self
                .client
                .meta_get(BUCKETS_NS, bucket.as_bytes(), Consistency::Linearizable)
                .await
                .map_err(cluster_error)?;
            if entry.is_none() {
                return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist."));
            }
        }
        Err(s3_error!(
            AccessDenied,
            "Anonymous access is not allowed: sign the request with an access key."
        ))
    }
}
