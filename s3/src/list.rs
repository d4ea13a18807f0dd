//! ListObjects (v1 and v2): a walk over the bucket's object records in key order, folding keys
//! that share a prefix up to the delimiter into one common prefix and jumping past them.

use archipel_client::Consistency;
use s3s::dto::*;
use s3s::{s3_error, S3Result};

use crate::buckets::owner;
use crate::error::cluster_error;
use crate::gateway::{decode, Bucket, Gateway};
use crate::keys::Identity;
use crate::lock::ms_timestamp;
use crate::objects::etag;
use crate::records::ObjectRecord;

const MAX_KEYS: i32 = 1000;

/// One page of a listing.
pub(crate) struct Page {
    pub objects: Vec<(String, ObjectRecord)>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or prefix returned: where the next page starts.
    pub last: Option<String>,
}

/// The smallest byte string above every key that starts with `prefix` (UTF-8 never holds 0xFF).
fn past(prefix: &str) -> Vec<u8> {
    let mut v = prefix.as_bytes().to_vec();
    v.push(0xFF);
    v
}

impl Gateway {
    /// Keys under `prefix` strictly after `after`, at most `max` keys and prefixes together.
    pub(crate) async fn walk(
        &self,
        ns: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: &str,
        max: usize,
    ) -> S3Result<Page> {
        let mut page = Page {
            objects: Vec::new(),
            prefixes: Vec::new(),
            truncated: false,
            last: None,
        };
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut cursor = after.as_bytes().to_vec();
        // A marker inside a common prefix: continue after the whole prefix.
        if let Some(d) = delimiter {
            if let Some(rest) = after.strip_prefix(prefix) {
                if let Some(i) = rest.find(d) {
                    let cp = &after[..prefix.len() + i + d.len()];
                    if cp.len() <= after.len() {
                        cursor = past(cp);
                    }
                }
            }
        }
        if max == 0 {
            return Ok(page);
        }
        loop {
            let want = (max - page.objects.len() - page.prefixes.len() + 1).min(1000) as u32;
            let (entries, more) = self
                .client
                .meta_scan(ns, prefix.as_bytes(), &cursor, want, Consistency::Linearizable)
                .await
                .map_err(cluster_error)?;
            let mut jumped = false;
            for e in &entries {
                let key = String::from_utf8_lossy(&e.key).into_owned();
                let folded = delimiter.and_then(|d| {
                    key[prefix.len()..]
                        .find(d)
                        .map(|i| key[..prefix.len() + i + d.len()].to_owned())
                });
                if page.objects.len() + page.prefixes.len() == max {
                    page.truncated = true;
                    return Ok(page);
                }
                match folded {
                    Some(cp) => {
                        cursor = past(&cp);
                        page.last = Some(cp.clone());
                        page.prefixes.push(cp);
                        jumped = true;
                        break; // scan again from past the prefix
                    }
                    None => {
                        cursor = e.key.clone();
                        page.last = Some(key.clone());
                        page.objects.push((key.clone(), decode(&key, &e.value)?));
                    }
                }
            }
            if !jumped && !more {
                return Ok(page);
            }
            if entries.is_empty() {
                return Ok(page);
            }
        }
    }

    pub(crate) async fn op_list_objects_v2(
        &self,
        id: &Identity,
        input: &ListObjectsV2Input,
    ) -> S3Result<ListObjectsV2Output> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let max = max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = match &input.continuation_token {
            Some(t) => decode_token(t)?,
            None => input.start_after.clone().unwrap_or_default(),
        };
        let page = self
            .walk(&bucket.objects_ns(), &prefix, input.delimiter.as_deref(), &after, max)
            .await?;
        let enc = Encoder::new(input.encoding_type.as_ref());
        let key_count = (page.objects.len() + page.prefixes.len()) as i32;
        let fetch_owner = input.fetch_owner.unwrap_or(false);
        Ok(ListObjectsV2Output {
            name: Some(bucket.name.clone()),
            prefix: Some(enc.apply(&prefix)),
            max_keys: Some(max as i32),
            key_count: Some(key_count),
            continuation_token: input.continuation_token.clone(),
            next_continuation_token: page.last.as_ref().filter(|_| page.truncated).map(|l| encode_token(l)),
            is_truncated: Some(page.truncated),
            contents: Some(contents(&page, &enc, fetch_owner.then_some(&bucket))),
            common_prefixes: Some(prefixes(&page, &enc)),
            delimiter: input
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| enc.apply(d)),
            encoding_type: input.encoding_type.clone(),
            start_after: input.start_after.as_deref().map(|s| enc.apply(s)),
            ..Default::default()
        })
    }

    pub(crate) async fn op_list_objects(&self, id: &Identity, input: &ListObjectsInput) -> S3Result<ListObjectsOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let max = max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let marker = input.marker.clone().unwrap_or_default();
        let page = self
            .walk(&bucket.objects_ns(), &prefix, input.delimiter.as_deref(), &marker, max)
            .await?;
        let enc = Encoder::new(input.encoding_type.as_ref());
        let has_delimiter = input.delimiter.as_deref().is_some_and(|d| !d.is_empty());
        Ok(ListObjectsOutput {
            name: Some(bucket.name.clone()),
            prefix: Some(enc.apply(&prefix)),
            marker: Some(enc.apply(&marker)),
            max_keys: Some(max as i32),
            is_truncated: Some(page.truncated),
            // S3 gives NextMarker only with a delimiter; clients otherwise use the last key.
            next_marker: page
                .last
                .as_deref()
                .filter(|_| page.truncated && has_delimiter)
                .map(|l| enc.apply(l)),
            contents: Some(contents(&page, &enc, Some(&bucket))),
            common_prefixes: Some(prefixes(&page, &enc)),
            delimiter: input
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| enc.apply(d)),
            encoding_type: input.encoding_type.clone(),
            ..Default::default()
        })
    }
}

fn max_keys(given: Option<i32>) -> S3Result<usize> {
    match given {
        None => Ok(MAX_KEYS as usize),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must be a positive number")),
        Some(n) => Ok(n.min(MAX_KEYS) as usize),
    }
}

fn contents(page: &Page, enc: &Encoder, owner_of: Option<&Bucket>) -> Vec<Object> {
    page.objects
        .iter()
        .map(|(k, r)| Object {
            key: Some(enc.apply(k)),
            e_tag: Some(etag(&r.etag)),
            last_modified: Some(ms_timestamp(r.modified_ms)),
            size: Some(r.size as i64),
            storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
            owner: owner_of.map(|b| owner(&b.record.tenant)),
            ..Default::default()
        })
        .collect()
}

fn prefixes(page: &Page, enc: &Encoder) -> Vec<CommonPrefix> {
    page.prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc.apply(p)),
        })
        .collect()
}

/// `encoding-type=url`: keys are percent-encoded in the answer.
struct Encoder {
    url: bool,
}

impl Encoder {
    fn new(t: Option<&EncodingType>) -> Self {
        Self {
            url: t.is_some_and(|t| t.as_str() == "url"),
        }
    }
    fn apply(&self, s: &str) -> String {
        if self.url {
            urlencoding::encode(s).replace("%2F", "/")
        } else {
            s.to_owned()
        }
    }
}

/// Continuation tokens are opaque to clients: the hex of the last key returned.
fn encode_token(last: &str) -> String {
    hex::encode(last.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))
}

impl Gateway {
    /// ListObjectVersions of a bucket that never had versioning: each object is its only
    /// version, `null`, as S3 answers for such buckets (clients and s3-tests' clean-up use it).
    pub(crate) async fn op_list_object_versions(
        &self,
        id: &Identity,
        input: &ListObjectVersionsInput,
    ) -> S3Result<ListObjectVersionsOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let max = max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let marker = input.key_marker.clone().unwrap_or_default();
        let page = self
            .walk(&bucket.objects_ns(), &prefix, input.delimiter.as_deref(), &marker, max)
            .await?;
        let enc = Encoder::new(input.encoding_type.as_ref());
        let versions = page
            .objects
            .iter()
            .map(|(k, r)| ObjectVersion {
                key: Some(enc.apply(k)),
                version_id: Some("null".into()),
                is_latest: Some(true),
                e_tag: Some(etag(&r.etag)),
                last_modified: Some(ms_timestamp(r.modified_ms)),
                size: Some(r.size as i64),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                owner: Some(owner(&bucket.record.tenant)),
                ..Default::default()
            })
            .collect();
        Ok(ListObjectVersionsOutput {
            name: Some(bucket.name.clone()),
            prefix: Some(enc.apply(&prefix)),
            key_marker: Some(enc.apply(&marker)),
            max_keys: Some(max as i32),
            is_truncated: Some(page.truncated),
            next_key_marker: page.last.as_deref().filter(|_| page.truncated).map(|l| enc.apply(l)),
            next_version_id_marker: page.last.as_ref().filter(|_| page.truncated).map(|_| "null".into()),
            versions: Some(versions),
            common_prefixes: Some(prefixes(&page, &enc)),
            delimiter: input
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| enc.apply(d)),
            encoding_type: input.encoding_type.clone(),
            ..Default::default()
        })
    }
}
