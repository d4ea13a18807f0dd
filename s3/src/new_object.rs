//! What a request that creates an object (PutObject, CopyObject, CreateMultipartUpload) asks for
//! it, and what a request that carries bytes (PutObject, UploadPart) declares of them. The s3s
//! inputs share field names, not a trait: one macro reads each group alike.

use s3s::dto::*;
use s3s::S3Result;

use crate::gateway::Bucket;
use crate::integrity::Declared;
use crate::lock;
use crate::objects::headers_from;
use crate::records::{Headers, LockState};

pub(crate) trait NewObject {
    /// Refuses the ACLs the gateway does not keep (`acl::check_requested`).
    fn check_acl(&self) -> S3Result<()>;
    /// Its lock: the one asked for, else the bucket's default retention (`lock::initial_lock`).
    fn lock(&self, bucket: &Bucket) -> S3Result<Option<LockState>>;
    /// The headers kept with it.
    fn headers(&self) -> Headers;
}

macro_rules! new_object {
    ($($input:ty),*) => {$(
        impl NewObject for $input {
            fn check_acl(&self) -> S3Result<()> {
                crate::acl::check_requested(
                    self.acl.as_ref().map(|a| a.as_str()),
                    &[
                        self.grant_full_control.as_ref(),
                        self.grant_read.as_ref(),
                        self.grant_read_acp.as_ref(),
                        self.grant_write_acp.as_ref(),
                    ],
                )
            }

            fn lock(&self, bucket: &Bucket) -> S3Result<Option<LockState>> {
                lock::initial_lock(
                    bucket,
                    self.object_lock_mode.as_ref().map(|m| m.as_str()),
                    self.object_lock_retain_until_date.as_ref(),
                    self.object_lock_legal_hold_status.as_ref().map(|s| s.as_str()),
                )
            }

            fn headers(&self) -> Headers {
                headers_from(
                    self.content_type.as_deref(),
                    self.content_encoding.as_deref(),
                    self.content_disposition.as_deref(),
                    self.content_language.as_deref(),
                    self.cache_control.as_deref(),
                    self.expires.as_ref(),
                    self.metadata.as_ref(),
                )
            }
        }
    )*};
}

new_object!(PutObjectInput, CopyObjectInput, CreateMultipartUploadInput);

pub(crate) trait DeclaresBody {
    /// The digests declared of the body; a request naming no checksum algorithm has
    /// `algorithm` (a part: its upload's).
    fn declared(&self, algorithm: Option<&str>) -> S3Result<Declared>;
}

macro_rules! declares_body {
    ($($input:ty),*) => {$(
        impl DeclaresBody for $input {
            fn declared(&self, algorithm: Option<&str>) -> S3Result<Declared> {
                Declared::new(
                    self.content_md5.as_deref(),
                    self.checksum_algorithm.as_ref().map(|a| a.as_str()).or(algorithm),
                    self.checksum_crc32.as_ref(),
                    self.checksum_crc32c.as_ref(),
                    self.checksum_sha1.as_ref(),
                    self.checksum_sha256.as_ref(),
                )
            }
        }
    )*};
}

declares_body!(PutObjectInput, UploadPartInput);
