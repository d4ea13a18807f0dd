//! The S3 operations this gateway answers; every other one is NotImplemented (s3s's default).

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, S3};

use crate::gateway::Gateway;

fn ok<T>(output: T) -> S3Result<S3Response<T>> {
    Ok(S3Response::new(output))
}

#[async_trait::async_trait]
impl S3 for Gateway {
    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_list_buckets(&id, &req.input).await?)
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let id = self.writer(&req.credentials).await?;
        let i = &req.input;
        crate::acl::check_requested(
            i.acl.as_ref().map(|a| a.as_str()),
            &[
                i.grant_full_control.as_ref(),
                i.grant_read.as_ref(),
                i.grant_read_acp.as_ref(),
                i.grant_write.as_ref(),
                i.grant_write_acp.as_ref(),
            ],
        )?;
        crate::acl::check_ownership(i.object_ownership.as_ref())?;
        self.op_create_bucket(&id, &req.input).await?;
        ok(CreateBucketOutput {
            location: Some(format!("/{}", req.input.bucket)),
        })
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_delete_bucket(&id, &req.input.bucket).await?;
        ok(DeleteBucketOutput {})
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let id = self.identity(&req.credentials).await?;
        self.op_head_bucket(&id, &req.input.bucket).await?;
        ok(HeadBucketOutput::default())
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let id = self.identity(&req.credentials).await?;
        self.op_head_bucket(&id, &req.input.bucket).await?;
        ok(GetBucketLocationOutput::default())
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        // Never versioned: the empty answer is S3's for a bucket that never had versioning.
        let id = self.identity(&req.credentials).await?;
        self.op_head_bucket(&id, &req.input.bucket).await?;
        ok(GetBucketVersioningOutput::default())
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_head_bucket(&id, &req.input.bucket).await?;
        Err(s3s::s3_error!(
            NotImplemented,
            "Versioning is not supported: an object has one version. For WORM copies use Object Lock, which works here without versioning (docs/s3.md)."
        ))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.op_put_object(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.op_get_object(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.op_head_object(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_delete_object(&id, &req.input).await?;
        ok(DeleteObjectOutput::default())
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let id = self.writer(&req.credentials).await?;
        ok(self.op_delete_objects(&id, &req.input).await?)
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let id = self.writer(&req.credentials).await?;
        ok(self.op_copy_object(&id, req.input).await?)
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_list_objects(&id, &req.input).await?)
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_list_objects_v2(&id, &req.input).await?)
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_list_object_versions(&id, &req.input).await?)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let id = self.writer(&req.credentials).await?;
        ok(self.op_create_multipart_upload(&id, &req.input).await?)
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        ok(self.op_upload_part(req).await?)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let id = self.writer(&req.credentials).await?;
        ok(self.op_upload_part_copy(&id, &req.input).await?)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let id = self.writer(&req.credentials).await?;
        ok(self.op_complete_multipart_upload(&id, &req.input).await?)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_abort_multipart_upload(&id, &req.input).await?;
        ok(AbortMultipartUploadOutput::default())
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_list_parts(&id, &req.input).await?)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_list_multipart_uploads(&id, &req.input).await?)
    }

    async fn get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_get_bucket_acl(&id, &req.input.bucket).await?)
    }

    async fn put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
        let id = self.writer(&req.credentials).await?;
        let i = &req.input;
        self.op_put_acl(
            &id,
            &i.bucket,
            None,
            i.acl.as_ref().map(|a| a.as_str()),
            i.access_control_policy.as_ref(),
            &[
                i.grant_full_control.as_ref(),
                i.grant_read.as_ref(),
                i.grant_read_acp.as_ref(),
                i.grant_write.as_ref(),
                i.grant_write_acp.as_ref(),
            ],
        )
        .await?;
        ok(PutBucketAclOutput {})
    }

    async fn get_object_acl(&self, req: S3Request<GetObjectAclInput>) -> S3Result<S3Response<GetObjectAclOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_get_object_acl(&id, &req.input).await?)
    }

    async fn put_object_acl(&self, req: S3Request<PutObjectAclInput>) -> S3Result<S3Response<PutObjectAclOutput>> {
        let id = self.writer(&req.credentials).await?;
        let i = &req.input;
        self.op_put_acl(
            &id,
            &i.bucket,
            Some(&i.key),
            i.acl.as_ref().map(|a| a.as_str()),
            i.access_control_policy.as_ref(),
            &[
                i.grant_full_control.as_ref(),
                i.grant_read.as_ref(),
                i.grant_read_acp.as_ref(),
                i.grant_write_acp.as_ref(),
            ],
        )
        .await?;
        ok(PutObjectAclOutput::default())
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_get_bucket_ownership_controls(&id, &req.input.bucket).await?)
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_get_bucket_policy(&id, &req.input.bucket).await?)
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_put_bucket_policy(&id, &req.input.bucket).await?;
        ok(PutBucketPolicyOutput {})
    }

    async fn put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_put_object_lock_configuration(&id, &req.input).await?;
        ok(PutObjectLockConfigurationOutput::default())
    }

    async fn get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_get_object_lock_configuration(&id, &req.input.bucket).await?)
    }

    async fn put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_put_object_retention(&id, &req.input).await?;
        ok(PutObjectRetentionOutput::default())
    }

    async fn get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_get_object_retention(&id, &req.input).await?)
    }

    async fn put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        let id = self.writer(&req.credentials).await?;
        self.op_put_object_legal_hold(&id, &req.input).await?;
        ok(PutObjectLegalHoldOutput::default())
    }

    async fn get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        let id = self.identity(&req.credentials).await?;
        ok(self.op_get_object_legal_hold(&id, &req.input).await?)
    }
}
