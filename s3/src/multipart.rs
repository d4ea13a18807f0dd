//! Multipart uploads. Each part is stored once, as its own data object; completing writes the
//! object record listing those data objects in order (no byte is copied), and a GET streams
//! across them. The upload and part records live in the metadata keyspace.

use archipel_client::{CasExpect, Consistency, TxnOp};
use md5::Digest;
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Result};

use crate::body::Wanted;
use crate::buckets::owner;
use crate::error::cluster_error;
use crate::gateway::{contended, decode, encode, Also, Bucket, Gateway};
use crate::intents::Intent;
use crate::keys::Identity;
use crate::lock::{self, ms_timestamp};
use crate::new_object::{DeclaresBody, NewObject};
use crate::objects::{check_conditions, etag};
use crate::records::*;

pub const MIN_PART_SIZE: u64 = 5 << 20;
pub const MAX_PARTS: i32 = 10_000;

fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=MAX_PARTS).contains(&n) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

impl Gateway {
    async fn upload(&self, bucket: &Bucket, key: &str, upload_id: &str) -> S3Result<(UploadRecord, u64)> {
        let entry = self
            .client
            .meta_get(
                &uploads_ns(bucket.ns()),
                &upload_entry_key(key, upload_id),
                Consistency::Linearizable,
            )
            .await
            .map_err(cluster_error)?
            .ok_or_else(no_such_upload)?;
        Ok((decode(upload_id, &entry.value)?, entry.revision))
    }

    /// Every part record of an upload, in part order.
    async fn parts(
        &self,
        bucket: &Bucket,
        upload_id: &str,
        after: i32,
        limit: usize,
    ) -> S3Result<(Vec<(i32, PartRecord)>, bool)> {
        let pns = parts_ns(bucket.ns());
        let prefix = format!("{upload_id}/");
        let mut cursor = if after > 0 {
            part_entry_key(upload_id, after)
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        loop {
            let want = (limit - out.len() + 1).min(1000) as u32;
            let (entries, more) = self
                .client
                .meta_scan(&pns, prefix.as_bytes(), &cursor, want, Consistency::Linearizable)
                .await
                .map_err(cluster_error)?;
            for e in &entries {
                if out.len() == limit {
                    return Ok((out, true));
                }
                let name = String::from_utf8_lossy(&e.key).into_owned();
                let number: i32 = name[prefix.len()..].parse().unwrap_or(0);
                out.push((number, decode(&name, &e.value)?));
            }
            match entries.last() {
                Some(last) if more => cursor = last.key.clone(),
                _ => return Ok((out, false)),
            }
        }
    }

    pub(crate) async fn op_create_multipart_upload(
        &self,
        id: &Identity,
        input: &CreateMultipartUploadInput,
    ) -> S3Result<CreateMultipartUploadOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        input.check_acl()?;
        let lock_state = input.lock(&bucket)?;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let record = UploadRecord {
            key: input.key.clone(),
            initiated_ms: now_ms(),
            headers: input.headers(),
            checksum_algorithm: input.checksum_algorithm.as_ref().map(|a| a.as_str().to_owned()),
            lock: lock_state,
        };
        let uns = uploads_ns(bucket.ns());
        let entry = upload_entry_key(&input.key, &upload_id);
        let outcome = self
            .client
            .meta_txn(
                &[(BUCKETS_NS, bucket.name.as_bytes(), CasExpect::Revision(bucket.revision))],
                vec![TxnOp {
                    namespace: uns,
                    key: entry,
                    value: Some(encode(&record)?),
                }],
            )
            .await
            .map_err(cluster_error)?;
        if !outcome.succeeded {
            return Err(contended(&format!("bucket {}", bucket.name)));
        }
        Ok(CreateMultipartUploadOutput {
            bucket: Some(bucket.name.clone()),
            key: Some(input.key.clone()),
            upload_id: Some(upload_id),
            checksum_algorithm: input.checksum_algorithm.clone(),
            ..Default::default()
        })
    }

    pub(crate) async fn op_upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<UploadPartOutput> {
        let id = self.writer(&req.credentials).await?;
        crate::integrity::refuse_empty_md5(&req.headers)?;
        let trailers = req.trailing_headers.clone();
        let input = req.input;
        check_part_number(input.part_number)?;
        let bucket = self.bucket(&id, &input.bucket).await?;
        let (upload, _) = self.upload(&bucket, &input.key, &input.upload_id).await?;
        let declared = input.declared(upload.checksum_algorithm.as_deref())?;
        let prefix = format!("p/{}/", input.upload_id);
        let (piece, digests, intent) = self
            .store_body(&bucket, &prefix, input.body, &declared, trailers.as_ref())
            .await?;
        let part = PartRecord {
            piece,
            etag: hex::encode(digests.md5),
            modified_ms: now_ms(),
            checksums: digests.checksums,
        };
        self.commit_part(&bucket, &input.key, &input.upload_id, input.part_number, &part, &intent)
            .await?;
        let c = part.checksums;
        Ok(UploadPartOutput {
            e_tag: Some(etag(&part.etag)),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
            ..Default::default()
        })
    }

    /// Records a part, if its upload is still open, consuming the intent of its data. A
    /// replaced part bumps the upload record, so that a completion that read the old part fails
    /// and starts again.
    async fn commit_part(
        &self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        number: i32,
        part: &PartRecord,
        intent: &Intent,
    ) -> S3Result<()> {
        let uns = uploads_ns(bucket.ns());
        let pns = parts_ns(bucket.ns());
        let ukey = upload_entry_key(key, upload_id);
        let pkey = part_entry_key(upload_id, number);
        let value = encode(part)?;
        for _ in 0..32 {
            let upload = self
                .client
                .meta_get(&uns, &ukey, Consistency::Linearizable)
                .await
                .map_err(cluster_error)?;
            let Some(upload) = upload else {
                self.discard(bucket.ns(), &part.piece.k).await;
                return Err(no_such_upload());
            };
            let old = self
                .client
                .meta_get(&pns, &pkey, Consistency::Linearizable)
                .await
                .map_err(cluster_error)?;
            let mut ops = vec![TxnOp {
                namespace: pns.clone(),
                key: pkey.clone(),
                value: Some(value.clone()),
            }];
            ops.extend(intent.clear_ops());
            let mut trash = None;
            if let Some(old) = &old {
                let old_part: PartRecord = decode("part", &old.value)?;
                ops.push(TxnOp {
                    namespace: uns.clone(),
                    key: ukey.clone(),
                    value: Some(upload.value.clone()),
                });
                trash = Some(self.trash_op(
                    TrashRecord {
                        namespace: bucket.ns().into(),
                        data: vec![old_part.piece.k],
                        upload_parts: None,
                        keep_if_used_by: Some(key.into()),
                    },
                    &mut ops,
                )?);
            }
            let expect_part = match &old {
                Some(o) => CasExpect::Revision(o.revision),
                None => CasExpect::Absent,
            };
            let (ins, ikey, iexpect) = intent.condition();
            let outcome = self
                .client
                .meta_txn(
                    &[
                        (&uns, &ukey, CasExpect::Revision(upload.revision)),
                        (&pns, &pkey, expect_part),
                        (&ins, &ikey, iexpect),
                    ],
                    ops,
                )
                .await
                .map_err(cluster_error)?;
            if outcome.succeeded {
                if let Some(t) = trash {
                    self.empty_trash_entry(&t).await;
                }
                return Ok(());
            }
            if outcome.failed_condition == Some(2) {
                return Err(crate::intents::reclaimed());
            }
        }
        self.discard(bucket.ns(), &part.piece.k).await;
        Err(contended(&format!("upload {upload_id}")))
    }

    pub(crate) async fn op_upload_part_copy(
        &self,
        id: &Identity,
        input: &UploadPartCopyInput,
    ) -> S3Result<UploadPartCopyOutput> {
        check_part_number(input.part_number)?;
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
        let src = self.bucket(id, src_bucket).await?;
        self.upload(&dst, &input.key, &input.upload_id).await?;
        let (source, _) = self.object(&src, src_key).await?;
        check_conditions(
            &source,
            input.copy_source_if_match.as_ref(),
            input.copy_source_if_none_match.as_ref(),
            input.copy_source_if_modified_since.as_ref(),
            input.copy_source_if_unmodified_since.as_ref(),
            s3s::S3ErrorCode::PreconditionFailed,
        )?;
        let range = match &input.copy_source_range {
            None => 0..source.size,
            Some(text) => parse_copy_range(text, source.size)?,
        };
        let prefix = format!("p/{}/", input.upload_id);
        let (piece, digests, intent) = self
            .copy_bytes(&src, &source, range, &dst, &prefix, Wanted::default())
            .await?;
        let part = PartRecord {
            piece,
            etag: hex::encode(digests.md5),
            modified_ms: now_ms(),
            checksums: digests.checksums,
        };
        self.commit_part(&dst, &input.key, &input.upload_id, input.part_number, &part, &intent)
            .await?;
        Ok(UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(etag(&part.etag)),
                last_modified: Some(ms_timestamp(part.modified_ms)),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    pub(crate) async fn op_complete_multipart_upload(
        &self,
        id: &Identity,
        input: &CompleteMultipartUploadInput,
    ) -> S3Result<CompleteMultipartUploadOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let asked: Vec<&CompletedPart> = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map(|p| p.iter().collect())
            .unwrap_or_default();
        if asked.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        for _ in 0..8 {
            let (upload, upload_rev) = match self.upload(&bucket, &input.key, &input.upload_id).await {
                Ok(u) => u,
                // Completed already (a client retrying after a lost answer): the same answer.
                Err(e) => match self.object_entry(&bucket, &input.key).await? {
                    Some((done, _)) if done.upload_id.as_deref() == Some(input.upload_id.as_str()) => {
                        return Ok(CompleteMultipartUploadOutput {
                            bucket: Some(bucket.name.clone()),
                            key: Some(input.key.clone()),
                            e_tag: Some(etag(&done.etag)),
                            ..Default::default()
                        })
                    }
                    _ => return Err(e),
                },
            };
            let (stored, _) = self.parts(&bucket, &input.upload_id, 0, MAX_PARTS as usize).await?;
            let stored: std::collections::BTreeMap<i32, PartRecord> = stored.into_iter().collect();
            let mut pieces = Vec::with_capacity(asked.len());
            let mut md5s = md5::Md5::new();
            let mut size = 0u64;
            let mut previous = 0;
            for (i, p) in asked.iter().enumerate() {
                let n = p.part_number.unwrap_or(0);
                if n <= previous {
                    return Err(s3_error!(InvalidPartOrder, "The list of parts was not in ascending order. The parts list must be specified in order by part number."));
                }
                previous = n;
                let Some(part) = stored.get(&n) else {
                    return Err(s3_error!(InvalidPart, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."));
                };
                if let Some(e) = &p.e_tag {
                    if e.value().trim_matches('"') != part.etag {
                        return Err(s3_error!(InvalidPart, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."));
                    }
                }
                if i + 1 < asked.len() && part.piece.size < MIN_PART_SIZE {
                    return Err(s3_error!(EntityTooSmall, "Your proposed upload is smaller than the minimum allowed object size: each part but the last must be at least 5 MiB."));
                }
                let raw = hex::decode(&part.etag).unwrap_or_default();
                md5s.update(&raw);
                size += part.piece.size;
                pieces.push(part.piece.clone());
            }
            let record = ObjectRecord {
                size,
                etag: format!("{}-{}", hex::encode(md5s.finalize()), asked.len()),
                modified_ms: now_ms(),
                pieces,
                headers: upload.headers.clone(),
                checksums: Checksums::default(),
                lock: upload.lock.clone(),
                upload_id: Some(input.upload_id.clone()),
            };
            let reason = format!("S3 CompleteMultipartUpload by access key {}", id.access_key);
            if record.lock.is_some() {
                if let Some((current, _)) = self.object_entry(&bucket, &input.key).await? {
                    lock::check_replace(&bucket, &current)?;
                }
            }
            self.apply_cluster_lock(&bucket, &record, &reason).await?;
            let uns = uploads_ns(bucket.ns());
            let ukey = upload_entry_key(&input.key, &input.upload_id);
            let trash = TrashRecord {
                namespace: bucket.ns().into(),
                data: vec![],
                upload_parts: Some(input.upload_id.clone()),
                keep_if_used_by: Some(input.key.clone()),
            };
            let if_none_match = input.if_none_match.clone();
            let if_match = input.if_match.clone();
            let outcome = self
                .commit_object(
                    &bucket,
                    &input.key,
                    &record,
                    Also {
                        ops: vec![TxnOp {
                            namespace: uns,
                            key: ukey.clone(),
                            value: None,
                        }],
                        conditions: vec![(uploads_ns(bucket.ns()), ukey, CasExpect::Revision(upload_rev))],
                        trash,
                        // The parts' intents were consumed when each part was recorded.
                        intents: vec![],
                    },
                    |current| match (current, &if_none_match, &if_match) {
                        (Some(_), Some(c), _) if c.is_any() => Err(s3_error!(PreconditionFailed)),
                        (None, _, Some(_)) => Err(s3_error!(NoSuchKey)),
                        (Some(cur), _, Some(c)) if c.as_etag().is_some_and(|e| e.value() != cur.etag) => {
                            Err(s3_error!(PreconditionFailed))
                        }
                        _ => Ok(()),
                    },
                )
                .await;
            match outcome {
                Ok(()) => {
                    return Ok(CompleteMultipartUploadOutput {
                        bucket: Some(bucket.name.clone()),
                        key: Some(input.key.clone()),
                        e_tag: Some(etag(&record.etag)),
                        ..Default::default()
                    });
                }
                // The upload changed (a part replaced) or went: read it again.
                Err(e) if e.code() == &s3s::S3ErrorCode::NoSuchUpload => continue,
                Err(e) => return Err(e),
            }
        }
        Err(contended(&format!("upload {}", input.upload_id)))
    }

    pub(crate) async fn op_abort_multipart_upload(
        &self,
        id: &Identity,
        input: &AbortMultipartUploadInput,
    ) -> S3Result<()> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let (_, rev) = self.upload(&bucket, &input.key, &input.upload_id).await?;
        let uns = uploads_ns(bucket.ns());
        let ukey = upload_entry_key(&input.key, &input.upload_id);
        let mut ops = vec![TxnOp {
            namespace: uns.clone(),
            key: ukey.clone(),
            value: None,
        }];
        let trash = self.trash_op(
            TrashRecord {
                namespace: bucket.ns().into(),
                data: vec![],
                upload_parts: Some(input.upload_id.clone()),
                keep_if_used_by: None,
            },
            &mut ops,
        )?;
        let outcome = self
            .client
            .meta_txn(&[(&uns, &ukey, CasExpect::Revision(rev))], ops)
            .await
            .map_err(cluster_error)?;
        if !outcome.succeeded {
            return Err(no_such_upload());
        }
        self.empty_trash_entry(&trash).await;
        Ok(())
    }

    pub(crate) async fn op_list_parts(&self, id: &Identity, input: &ListPartsInput) -> S3Result<ListPartsOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        self.upload(&bucket, &input.key, &input.upload_id).await?;
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
        let marker: i32 = input.part_number_marker.unwrap_or(0).max(0);
        let (parts, truncated) = self.parts(&bucket, &input.upload_id, marker, max).await?;
        let next = parts.last().map(|(n, _)| *n);
        Ok(ListPartsOutput {
            bucket: Some(bucket.name.clone()),
            key: Some(input.key.clone()),
            upload_id: Some(input.upload_id.clone()),
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: next,
            owner: Some(owner(&id.tenant)),
            initiator: Some(Initiator {
                display_name: Some(id.tenant.clone()),
                id: Some(id.tenant.clone()),
            }),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            parts: Some(
                parts
                    .into_iter()
                    .map(|(n, p)| Part {
                        part_number: Some(n),
                        e_tag: Some(etag(&p.etag)),
                        size: Some(p.piece.size as i64),
                        last_modified: Some(ms_timestamp(p.modified_ms)),
                        checksum_crc32: p.checksums.crc32,
                        checksum_crc32c: p.checksums.crc32c,
                        checksum_sha1: p.checksums.sha1,
                        checksum_sha256: p.checksums.sha256,
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        })
    }

    pub(crate) async fn op_list_multipart_uploads(
        &self,
        id: &Identity,
        input: &ListMultipartUploadsInput,
    ) -> S3Result<ListMultipartUploadsOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let uns = uploads_ns(bucket.ns());
        let mut cursor = match (&input.key_marker, &input.upload_id_marker) {
            (Some(k), Some(u)) => upload_entry_key(k, u),
            (Some(k), None) => {
                let mut c = k.as_bytes().to_vec();
                c.push(0);
                c.push(0xFF);
                c
            }
            _ => Vec::new(),
        };
        let mut uploads = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut truncated = false;
        let mut next: Option<(String, String)> = None;
        'scan: loop {
            let (entries, more) = self
                .client
                .meta_scan(&uns, prefix.as_bytes(), &cursor, 1000, Consistency::Linearizable)
                .await
                .map_err(cluster_error)?;
            for e in &entries {
                cursor = e.key.clone();
                let record: UploadRecord = decode("upload", &e.value)?;
                let upload_id = e
                    .key
                    .rsplit(|b| *b == 0)
                    .next()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                if uploads.len() + prefixes.len() == max {
                    truncated = true;
                    break 'scan;
                }
                if let Some(d) = &delimiter {
                    if let Some(i) = record.key[prefix.len()..].find(d.as_str()) {
                        let cp = record.key[..prefix.len() + i + d.len()].to_owned();
                        if prefixes.last() != Some(&cp) {
                            prefixes.push(cp);
                        }
                        continue;
                    }
                }
                next = Some((record.key.clone(), upload_id.clone()));
                uploads.push(MultipartUpload {
                    key: Some(record.key.clone()),
                    upload_id: Some(upload_id),
                    initiated: Some(ms_timestamp(record.initiated_ms)),
                    initiator: Some(Initiator {
                        display_name: Some(id.tenant.clone()),
                        id: Some(id.tenant.clone()),
                    }),
                    owner: Some(owner(&id.tenant)),
                    storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                    ..Default::default()
                });
            }
            if !more || entries.is_empty() {
                break;
            }
        }
        Ok(ListMultipartUploadsOutput {
            bucket: Some(bucket.name.clone()),
            prefix: input.prefix.clone(),
            delimiter: input.delimiter.clone(),
            key_marker: input.key_marker.clone(),
            upload_id_marker: input.upload_id_marker.clone(),
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            next_key_marker: next.as_ref().filter(|_| truncated).map(|(k, _)| k.clone()),
            next_upload_id_marker: next.as_ref().filter(|_| truncated).map(|(_, u)| u.clone()),
            uploads: Some(uploads),
            common_prefixes: Some(prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(p) }).collect()),
            ..Default::default()
        })
    }
}

/// `bytes=first-last` of `x-amz-copy-source-range`, inside the source.
fn parse_copy_range(text: &str, size: u64) -> S3Result<std::ops::Range<u64>> {
    let bad = || {
        s3_error!(InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
    };
    let spec = text.strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let first: u64 = a.parse().map_err(|_| bad())?;
    let last: u64 = b.parse().map_err(|_| bad())?;
    if first > last {
        return Err(bad());
    }
    if last >= size {
        return Err(s3_error!(InvalidRange, "The requested range is not satisfiable"));
    }
    Ok(first..last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges() {
        assert_eq!(parse_copy_range("bytes=0-9", 10).unwrap(), 0..10);
        assert!(parse_copy_range("bytes=0-10", 10).is_err());
        assert!(parse_copy_range("bytes=5-1", 10).is_err());
        assert!(parse_copy_range("0-1", 10).is_err());
    }
}
