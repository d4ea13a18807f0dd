//! PUT, GET, HEAD, DELETE, DeleteObjects and server-side CopyObject.

use std::sync::Arc;

use archipel_client::{CasExpect, TxnOp};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use crate::body::{self, HashingReader, Wanted};
use crate::error::cluster_error;
use crate::gateway::{contended, Also, Bucket, Gateway};
use crate::integrity::Declared;
use crate::intents::Intent;
use crate::keys::Identity;
use crate::lock;
use crate::new_object::{DeclaresBody, NewObject};
use crate::records::*;

/// A GET or HEAD answer: the same headers from the record and the selected range, plus the
/// fields only one of them has (the body). The two s3s types share field names, not a trait.
macro_rules! object_output {
    ($output:ident, $record:expr, $sel:expr, $full:expr, { $($field:ident: $value:expr,)* }) => {{
        let (record, sel, full) = ($record, $sel, $full);
        let c = record.checksums.clone();
        let h = &record.headers;
        let (mode, until, hold) = lock_fields(record);
        $output {
            $($field: $value,)*
            accept_ranges: Some("bytes".into()),
            content_length: Some((sel.range.end - sel.range.start) as i64),
            content_range: sel.partial.then(|| {
                format!(
                    "bytes {}-{}/{}",
                    sel.range.start,
                    sel.range.end.saturating_sub(1),
                    record.size
                )
            }),
            e_tag: Some(etag(&record.etag)),
            last_modified: Some(lock::ms_timestamp(record.modified_ms)),
            content_type: Some(h.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into())),
            content_encoding: h.content_encoding.clone(),
            content_disposition: h.content_disposition.clone(),
            content_language: h.content_language.clone(),
            cache_control: h.cache_control.clone(),
            expires: parse_expires(h),
            metadata: Some(h.user.clone().into_iter().collect()),
            parts_count: sel.parts_count,
            checksum_crc32: c.crc32.filter(|_| full),
            checksum_crc32c: c.crc32c.filter(|_| full),
            checksum_sha1: c.sha1.filter(|_| full),
            checksum_sha256: c.sha256.filter(|_| full),
            object_lock_mode: mode,
            object_lock_retain_until_date: until,
            object_lock_legal_hold_status: hold,
            ..Default::default()
        }
    }};
}

/// Data objects of simple uploads and copies live under this prefix of the namespace.
pub const DATA_PREFIX: &str = "d/";

pub(crate) fn etag(record_etag: &str) -> ETag {
    ETag::Strong(record_etag.into())
}

fn etag_matches(cond: &ETagCondition, current: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value().trim_matches('"') == current,
    }
}

/// HTTP dates have whole seconds: compare at that precision.
fn secs(ms: u64) -> u64 {
    ms / 1000
}

/// GET/HEAD conditionals (RFC 9110 order, as S3 applies them).
pub(crate) fn check_conditions(
    record: &ObjectRecord,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
    not_modified: S3ErrorCode,
) -> S3Result<()> {
    let modified = secs(record.modified_ms);
    match if_match {
        Some(c) if !etag_matches(c, &record.etag) => {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ))
        }
        None => {
            if let Some(t) = if_unmodified_since {
                if modified > secs(lock::timestamp_ms(t)?) {
                    return Err(s3_error!(
                        PreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold"
                    ));
                }
            }
        }
        _ => {}
    }
    let unmodified = || {
        let mut e = S3Error::new(not_modified.clone());
        if not_modified == S3ErrorCode::NotModified {
            // A 304 still names the representation (RFC 9110 15.4.5).
            let mut headers = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", record.etag)) {
                headers.insert(http::header::ETAG, v);
            }
            e.set_headers(headers);
        }
        e
    };
    match if_none_match {
        Some(c) if etag_matches(c, &record.etag) => return Err(unmodified()),
        None => {
            if let Some(t) = if_modified_since {
                if modified <= secs(lock::timestamp_ms(t)?) {
                    return Err(unmodified());
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Conditions of a conditional delete (If-Match, x-amz-if-match-size/-last-modified-time, or
/// the per-object ETag/Size/LastModifiedTime of DeleteObjects). A missing object deletes fine.
#[derive(Default)]
pub(crate) struct DeleteIf {
    pub etag: Option<ETagCondition>,
    pub size: Option<i64>,
    pub modified: Option<Timestamp>,
}

impl DeleteIf {
    fn check(&self, record: &ObjectRecord) -> S3Result<()> {
        if let Some(c) = &self.etag {
            if !etag_matches(c, &record.etag) {
                return Err(precondition());
            }
        }
        if self.size.is_some_and(|s| s != record.size as i64) {
            return Err(precondition());
        }
        if let Some(t) = &self.modified {
            if secs(lock::timestamp_ms(t)?) != secs(record.modified_ms) {
                return Err(precondition());
            }
        }
        Ok(())
    }
}

pub(crate) fn headers_from(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    content_disposition: Option<&str>,
    content_language: Option<&str>,
    cache_control: Option<&str>,
    expires: Option<&Timestamp>,
    metadata: Option<&Metadata>,
) -> Headers {
    let expires = expires.and_then(|t| {
        let mut buf = Vec::new();
        t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
        String::from_utf8(buf).ok()
    });
    Headers {
        content_type: content_type.map(str::to_owned),
        content_encoding: content_encoding.and_then(stored_encoding),
        content_disposition: content_disposition.map(str::to_owned),
        content_language: content_language.map(str::to_owned),
        cache_control: cache_control.map(str::to_owned),
        expires,
        user: metadata
            .map(|m| m.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

/// The Content-Encoding kept with an object: `aws-chunked` describes how this request's body
/// was framed, not the object, so S3 drops it (and the header when nothing else remains).
fn stored_encoding(header: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

fn parse_expires(h: &Headers) -> Option<Timestamp> {
    h.expires
        .as_deref()
        .and_then(|s| Timestamp::parse(TimestampFormat::HttpDate, s).ok())
}

/// Where a GET or HEAD reads.
struct Selection {
    range: std::ops::Range<u64>,
    partial: bool,
    parts_count: Option<i32>,
}

fn select(record: &ObjectRecord, range: Option<&Range>, part_number: Option<i32>) -> S3Result<Selection> {
    if let Some(n) = part_number {
        if range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            ));
        }
        let count = record.pieces.len() as i32;
        if record.is_multipart() {
            if n < 1 || n > count {
                return Err(invalid_part_number());
            }
            let start: u64 = record.pieces[..(n - 1) as usize].iter().map(|p| p.size).sum();
            let end = start + record.pieces[(n - 1) as usize].size;
            return Ok(Selection {
                range: start..end,
                partial: true,
                parts_count: Some(count),
            });
        }
        if n != 1 {
            return Err(invalid_part_number());
        }
    }
    match range {
        None => Ok(Selection {
            range: 0..record.size,
            partial: false,
            parts_count: record.is_multipart().then_some(record.pieces.len() as i32),
        }),
        Some(r) => {
            let checked = r
                .check(record.size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            Ok(Selection {
                range: checked,
                partial: true,
                parts_count: None,
            })
        }
    }
}

impl Gateway {
    pub(crate) async fn op_put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let id = self.writer(&req.credentials).await?;
        crate::integrity::refuse_empty_md5(&req.headers)?;
        let trailers = req.trailing_headers.clone();
        let input = req.input;
        let bucket = self.bucket(&id, &input.bucket).await?;
        input.check_acl()?;
        let declared = input.declared(None)?;
        let lock_state = input.lock(&bucket)?;
        // Refuse early what the commit would refuse, before any byte is stored (and, in a
        // locked bucket, locked: locked data cannot be deleted again).
        let must_be_new = input.if_none_match.as_ref().is_some_and(|c| c.is_any());
        if must_be_new || bucket.record.object_lock {
            if let Some((current, _)) = self.object_entry(&bucket, &input.key).await? {
                if must_be_new {
                    return Err(precondition());
                }
                lock::check_replace(&bucket, &current)?;
            }
        }
        let headers = input.headers();
        let (piece, digests, intent) = self
            .store_body(&bucket, DATA_PREFIX, input.body, &declared, trailers.as_ref())
            .await?;
        let record = ObjectRecord {
            size: digests.size,
            etag: hex::encode(digests.md5),
            modified_ms: now_ms(),
            pieces: vec![piece.clone()],
            headers,
            checksums: digests.checksums.clone(),
            lock: lock_state,
            upload_id: None,
        };
        let reason = format!("S3 PutObject by access key {}", id.access_key);
        if let Err(e) = self.apply_cluster_lock(&bucket, &record, &reason).await {
            self.discard(bucket.ns(), &piece.k).await;
            return Err(e);
        }
        if self.faults.crash_after_data {
            tracing::error!(
                "fault injection: stopping between the data and the record of {}",
                input.key
            );
            std::process::abort();
        }
        let if_match = input.if_match.clone();
        let if_none_match = input.if_none_match.clone();
        let committed = self
            .commit_object(
                &bucket,
                &input.key,
                &record,
                Also::consuming(&bucket, intent),
                |current| match (current, &if_none_match, &if_match) {
                    (Some(_), Some(c), _) if c.is_any() => Err(precondition()),
                    (Some(cur), Some(c), _) if etag_matches(c, &cur.etag) => Err(precondition()),
                    (None, _, Some(_)) => Err(s3_error!(NoSuchKey, "The specified key does not exist.")),
                    (Some(cur), _, Some(c)) if !etag_matches(c, &cur.etag) => Err(precondition()),
                    _ => Ok(()),
                },
            )
            .await;
        if let Err(e) = committed {
            self.discard(bucket.ns(), &piece.k).await;
            return Err(e);
        }
        let c = record.checksums;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&record.etag)),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
            ..Default::default()
        }))
    }

    /// Streams a request body into a new data object, verifying what the client declared.
    /// On any failure nothing stays stored.
    pub(crate) async fn store_body(
        &self,
        bucket: &Bucket,
        prefix: &str,
        body: Option<StreamingBlob>,
        declared: &Declared,
        trailers: Option<&s3s::TrailingHeaders>,
    ) -> S3Result<(Piece, body::Digests, Intent)> {
        let wanted = declared.wanted();
        let (intent, digests) = match body {
            Some(b) => {
                let mut reader = HashingReader::new(body::body_reader(b), wanted);
                let intent = self.store(bucket, prefix, &mut reader, None).await?;
                (intent, reader.finish())
            }
            None => {
                let mut reader = HashingReader::new(&[][..], wanted);
                let intent = self.store(bucket, prefix, &mut reader, Some(0)).await?;
                (intent, reader.finish())
            }
        };
        if let Err(e) = declared.verify(&digests, trailers) {
            self.discard(bucket.ns(), &intent.key).await;
            return Err(e);
        }
        Ok((
            Piece {
                k: intent.key.clone(),
                size: digests.size,
            },
            digests,
            intent,
        ))
    }

    /// Deletes a data object nothing refers to (a refused upload), then its intent. If the
    /// data cannot be deleted, the intent stays and the sweep retries.
    pub(crate) async fn discard(&self, namespace: &str, key: &str) {
        match self.delete_data(namespace, key).await {
            Ok(()) => self.forget(namespace, key).await,
            Err(e) => tracing::warn!("{namespace}/{key} was refused but could not be deleted yet: {e}"),
        }
    }

    pub(crate) async fn op_get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let id = self.identity(&req.credentials).await?;
        let input = req.input;
        let bucket = self.bucket(&id, &input.bucket).await?;
        let (record, _) = self.object(&bucket, &input.key).await?;
        check_conditions(
            &record,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
            S3ErrorCode::NotModified,
        )?;
        let sel = select(&record, input.range.as_ref(), input.part_number)?;
        let stream = body::stream_pieces(
            Arc::clone(&self.client),
            bucket.ns().to_owned(),
            record.pieces.clone(),
            sel.range.clone(),
        );
        let full = !sel.partial && input.checksum_mode.as_ref().is_some_and(|m| m.as_str() == "ENABLED");
        Ok(S3Response::new(object_output!(GetObjectOutput, &record, &sel, full, {
            body: Some(body::blob(stream)),
        })))
    }

    pub(crate) async fn op_head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let id = self.identity(&req.credentials).await?;
        let input = req.input;
        let bucket = self.bucket(&id, &input.bucket).await?;
        let (record, _) = self.object(&bucket, &input.key).await?;
        check_conditions(
            &record,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
            S3ErrorCode::NotModified,
        )?;
        let sel = select(&record, input.range.as_ref(), input.part_number)?;
        let full = !sel.partial && input.checksum_mode.as_ref().is_some_and(|m| m.as_str() == "ENABLED");
        Ok(S3Response::new(object_output!(
            HeadObjectOutput,
            &record,
            &sel,
            full,
            {}
        )))
    }

    /// Deletes `key` (absent is fine, as in S3). Locked objects are refused.
    pub(crate) async fn delete_one(
        &self,
        id: &Identity,
        bucket: &Bucket,
        key: &str,
        bypass_governance: bool,
        cond: &DeleteIf,
    ) -> S3Result<()> {
        let ons = bucket.objects_ns();
        for _ in 0..16 {
            let Some((record, revision)) = self.object_entry(bucket, key).await? else {
                return Ok(());
            };
            cond.check(&record)?;
            lock::check_delete(&record, bypass_governance)?;
            let reason = format!("S3 DeleteObject by access key {}", id.access_key);
            self.delete_locked_data(bucket, &record, bypass_governance, &reason)
                .await?;
            let mut ops = vec![TxnOp {
                namespace: ons.clone(),
                key: key.as_bytes().to_vec(),
                value: None,
            }];
            let trash = self.trash_op(
                TrashRecord {
                    namespace: bucket.ns().into(),
                    data: record.pieces.iter().map(|p| p.k.clone()).collect(),
                    upload_parts: None,
                    keep_if_used_by: None,
                },
                &mut ops,
            )?;
            let outcome = self
                .client
                .meta_txn(&[(&ons, key.as_bytes(), CasExpect::Revision(revision))], ops)
                .await
                .map_err(cluster_error)?;
            if outcome.succeeded {
                self.empty_trash_entry(&trash).await;
                return Ok(());
            }
        }
        Err(contended(key))
    }

    pub(crate) async fn op_delete_object(&self, id: &Identity, input: &DeleteObjectInput) -> S3Result<()> {
        let bucket = self.bucket(id, &input.bucket).await?;
        check_version(input.version_id.as_deref())?;
        let cond = DeleteIf {
            etag: input.if_match.clone(),
            size: input.if_match_size,
            modified: input.if_match_last_modified_time.clone(),
        };
        self.delete_one(
            id,
            &bucket,
            &input.key,
            input.bypass_governance_retention.unwrap_or(false),
            &cond,
        )
        .await
    }

    pub(crate) async fn op_delete_objects(
        &self,
        id: &Identity,
        input: &DeleteObjectsInput,
    ) -> S3Result<DeleteObjectsOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        if input.delete.objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "A DeleteObjects request names at most 1000 keys."
            ));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let bypass = input.bypass_governance_retention.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for o in &input.delete.objects {
            let outcome = match check_version(o.version_id.as_deref()) {
                Ok(()) => {
                    let cond = DeleteIf {
                        etag: o.e_tag.clone().map(ETagCondition::ETag),
                        size: o.size,
                        modified: o.last_modified_time.clone(),
                    };
                    self.delete_one(id, &bucket, &o.key, bypass, &cond).await
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {
                    if !quiet {
                        deleted.push(DeletedObject {
                            key: Some(o.key.clone()),
                            ..Default::default()
                        })
                    }
                }
                Err(e) => errors.push(s3s::dto::Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(o.key.clone()),
                    message: e.message().map(str::to_owned),
                    version_id: None,
                }),
            }
        }
        Ok(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: Some(errors),
            ..Default::default()
        })
    }

    pub(crate) async fn op_copy_object(&self, id: &Identity, input: CopyObjectInput) -> S3Result<CopyObjectOutput> {
        let CopySource::Bucket {
            bucket: src_bucket,
            key: src_key,
            ..
        } = &input.copy_source
        else {
            return Err(s3_error!(
                NotImplemented,
                "Copying from an access point is not supported."
            ));
        };
        let dst = self.bucket(id, &input.bucket).await?;
        input.check_acl()?;
        let src = if **src_bucket == *input.bucket {
            None
        } else {
            Some(self.bucket(id, src_bucket).await?)
        };
        let src_ref = src.as_ref().unwrap_or(&dst);
        let (source, _) = self.object(src_ref, src_key).await?;
        check_conditions(
            &source,
            input.copy_source_if_match.as_ref(),
            input.copy_source_if_none_match.as_ref(),
            input.copy_source_if_modified_since.as_ref(),
            input.copy_source_if_unmodified_since.as_ref(),
            S3ErrorCode::PreconditionFailed,
        )?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == "REPLACE");
        if src.is_none() && **src_key == *input.key && !replace {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let headers = if replace {
            input.headers()
        } else {
            source.headers.clone()
        };
        let lock_state = input.lock(&dst)?;
        if dst.record.object_lock {
            if let Some((current, _)) = self.object_entry(&dst, &input.key).await? {
                lock::check_replace(&dst, &current)?;
            }
        }
        let (piece, digests, intent) = self
            .copy_bytes(
                src_ref,
                &source,
                0..source.size,
                &dst,
                DATA_PREFIX,
                Wanted::covering(&source.checksums),
            )
            .await?;
        let record = ObjectRecord {
            size: digests.size,
            etag: hex::encode(digests.md5),
            modified_ms: now_ms(),
            pieces: vec![piece.clone()],
            headers,
            checksums: digests.checksums,
            lock: lock_state,
            upload_id: None,
        };
        let reason = format!("S3 CopyObject by access key {}", id.access_key);
        if let Err(e) = self.apply_cluster_lock(&dst, &record, &reason).await {
            self.discard(dst.ns(), &piece.k).await;
            return Err(e);
        }
        if let Err(e) = self
            .commit_object(&dst, &input.key, &record, Also::consuming(&dst, intent), |_| Ok(()))
            .await
        {
            self.discard(dst.ns(), &piece.k).await;
            return Err(e);
        }
        Ok(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(etag(&record.etag)),
                last_modified: Some(lock::ms_timestamp(record.modified_ms)),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// Server-side copy of `range` of `source` into a new data object of `dst`: the bytes go
    /// from the cluster to the cluster through this process, never to the client.
    pub(crate) async fn copy_bytes(
        &self,
        src: &Bucket,
        source: &ObjectRecord,
        range: std::ops::Range<u64>,
        dst: &Bucket,
        prefix: &str,
        wanted: Wanted,
    ) -> S3Result<(Piece, body::Digests, Intent)> {
        let len = range.end - range.start;
        let stream = body::stream_pieces(
            Arc::clone(&self.client),
            src.ns().to_owned(),
            source.pieces.clone(),
            range,
        );
        let mut reader = HashingReader::new(body::reader_of(stream), wanted);
        let intent = self.store(dst, prefix, &mut reader, Some(len)).await?;
        let digests = reader.finish();
        Ok((
            Piece {
                k: intent.key.clone(),
                size: digests.size,
            },
            digests,
            intent,
        ))
    }
}

/// Buckets are never versioned: the only version of an object is `null`.
fn check_version(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        None | Some("null") => Ok(()),
        Some(_) => Err(s3_error!(NoSuchVersion, "The specified version does not exist.")),
    }
}

fn invalid_part_number() -> S3Error {
    s3_error!(InvalidPart, "The requested partnumber is not satisfiable")
}

fn precondition() -> S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

pub(crate) fn lock_fields(
    record: &ObjectRecord,
) -> (
    Option<ObjectLockMode>,
    Option<ObjectLockRetainUntilDate>,
    Option<ObjectLockLegalHoldStatus>,
) {
    match &record.lock {
        None => (None, None, None),
        Some(l) => (
            l.mode.clone().map(ObjectLockMode::from),
            l.retain_until_ms.map(lock::ms_timestamp),
            Some(ObjectLockLegalHoldStatus::from(
                if l.legal_hold { "ON" } else { "OFF" }.to_owned(),
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_is_never_kept_as_the_objects_encoding() {
        assert_eq!(stored_encoding("gzip").as_deref(), Some("gzip"));
        assert_eq!(stored_encoding("deflate, gzip").as_deref(), Some("deflate, gzip"));
        assert_eq!(stored_encoding("gzip, aws-chunked").as_deref(), Some("gzip"));
        assert_eq!(stored_encoding("aws-chunked, gzip").as_deref(), Some("gzip"));
        assert_eq!(stored_encoding("aws-chunked"), None);
        assert_eq!(stored_encoding("AWS-Chunked, aws-chunked"), None);
    }
}
