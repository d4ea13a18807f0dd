//! Object Lock operations: bucket default retention, per-object retention and legal hold.

use archipel_client::proto::object::{LockMode, ObjectLockSpec};
use archipel_client::CasExpect;
use s3s::dto::*;
use s3s::{s3_error, S3Result};

use crate::error::cluster_error;
use crate::gateway::{contended, encode, Bucket, Gateway};
use crate::keys::Identity;
use crate::lock;
use crate::records::*;

impl Gateway {
    pub(crate) async fn op_put_object_lock_configuration(
        &self,
        id: &Identity,
        input: &PutObjectLockConfigurationInput,
    ) -> S3Result<()> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let config = input
            .object_lock_configuration
            .as_ref()
            .ok_or_else(|| s3_error!(MalformedXML, "An Object Lock configuration is required."))?;
        if !bucket.record.object_lock {
            return Err(s3_error!(
                InvalidBucketState,
                "Object Lock configuration cannot be enabled on existing buckets"
            ));
        }
        if config
            .object_lock_enabled
            .as_ref()
            .is_some_and(|e| e.as_str() != "Enabled")
        {
            return Err(s3_error!(MalformedXML, "ObjectLockEnabled must be Enabled."));
        }
        let default_retention = match config.rule.as_ref().and_then(|r| r.default_retention.as_ref()) {
            None => None,
            Some(d) => {
                let mode = d
                    .mode
                    .as_ref()
                    .ok_or_else(|| s3_error!(MalformedXML, "A default retention needs a Mode."))?;
                lock::check_mode(mode.as_str())?;
                match (d.days, d.years) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(s3_error!(MalformedXML, "A default retention has either Days or Years."))
                    }
                    (Some(n), None) | (None, Some(n)) if n <= 0 => {
                        return Err(s3_error!(
                            InvalidArgument,
                            "Default retention period must be a positive integer value."
                        ))
                    }
                    _ => {}
                }
                Some(crate::records::DefaultRetention {
                    mode: mode.as_str().into(),
                    days: d.days,
                    years: d.years,
                })
            }
        };
        let mut record = bucket.record.clone();
        record.default_retention = default_retention;
        let outcome = self
            .client
            .meta_cas(
                BUCKETS_NS,
                bucket.name.as_bytes(),
                CasExpect::Revision(bucket.revision),
                Some(&encode(&record)?),
            )
            .await
            .map_err(cluster_error)?;
        if !outcome.succeeded {
            return Err(contended(&format!("bucket {}", bucket.name)));
        }
        Ok(())
    }

    pub(crate) async fn op_get_object_lock_configuration(
        &self,
        id: &Identity,
        bucket: &str,
    ) -> S3Result<GetObjectLockConfigurationOutput> {
        let bucket = self.bucket(id, bucket).await?;
        if !bucket.record.object_lock {
            return Err(s3_error!(
                ObjectLockConfigurationNotFoundError,
                "Object Lock configuration does not exist for this bucket"
            ));
        }
        Ok(GetObjectLockConfigurationOutput {
            object_lock_configuration: Some(ObjectLockConfiguration {
                object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
                rule: bucket.record.default_retention.as_ref().map(|d| ObjectLockRule {
                    default_retention: Some(s3s::dto::DefaultRetention {
                        days: d.days,
                        years: d.years,
                        mode: Some(ObjectLockRetentionMode::from(d.mode.clone())),
                    }),
                }),
            }),
        })
    }

    /// Changes an object's lock with `change`, which sees the current state.
    async fn update_lock(
        &self,
        bucket: &Bucket,
        key: &str,
        change: impl Fn(&LockState) -> S3Result<LockState>,
        bypass: bool,
        reason: &str,
    ) -> S3Result<()> {
        if !bucket.record.object_lock {
            return Err(s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration"));
        }
        for _ in 0..16 {
            let (mut record, rev) = self.object(bucket, key).await?;
            let old = record.lock.clone().unwrap_or_default();
            let new = change(&old)?;
            record.lock = Some(new);
            self.update_cluster_lock(bucket, &record, bypass, reason).await?;
            let outcome = self
                .client
                .meta_cas(
                    &bucket.objects_ns(),
                    key.as_bytes(),
                    CasExpect::Revision(rev),
                    Some(&encode(&record)?),
                )
                .await
                .map_err(cluster_error)?;
            if outcome.succeeded {
                return Ok(());
            }
        }
        Err(contended(key))
    }

    pub(crate) async fn op_put_object_retention(&self, id: &Identity, input: &PutObjectRetentionInput) -> S3Result<()> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let retention = input
            .retention
            .as_ref()
            .ok_or_else(|| s3_error!(MalformedXML, "A Retention element is required."))?;
        let mode = retention.mode.as_ref().map(|m| m.as_str().to_owned());
        if let Some(m) = &mode {
            lock::check_mode(m)?;
        }
        let until = match &retention.retain_until_date {
            Some(t) => Some(lock::timestamp_ms(t)?),
            None => None,
        };
        if mode.is_some() != until.is_some() {
            return Err(s3_error!(MalformedXML, "Mode and RetainUntilDate go together."));
        }
        if until.is_some_and(|u| u <= now_ms()) {
            return Err(s3_error!(
                InvalidArgument,
                "The retain until date must be in the future!"
            ));
        }
        let bypass = input.bypass_governance_retention.unwrap_or(false);
        self.update_lock(
            &bucket,
            &input.key,
            |old| {
                lock::check_retention_change(old, mode.as_deref(), until, bypass)?;
                Ok(LockState {
                    mode: mode.clone(),
                    retain_until_ms: until,
                    legal_hold: old.legal_hold,
                })
            },
            bypass,
            &format!("S3 PutObjectRetention by access key {}", id.access_key),
        )
        .await
    }

    pub(crate) async fn op_get_object_retention(
        &self,
        id: &Identity,
        input: &GetObjectRetentionInput,
    ) -> S3Result<GetObjectRetentionOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        if !bucket.record.object_lock {
            return Err(s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration"));
        }
        let (record, _) = self.object(&bucket, &input.key).await?;
        let l = record.lock.unwrap_or_default();
        if l.mode.is_none() {
            return Err(s3_error!(
                NoSuchObjectLockConfiguration,
                "The specified object does not have a ObjectLock configuration"
            ));
        }
        Ok(GetObjectRetentionOutput {
            retention: Some(ObjectLockRetention {
                mode: l.mode.map(ObjectLockRetentionMode::from),
                retain_until_date: l.retain_until_ms.map(lock::ms_timestamp),
            }),
        })
    }

    pub(crate) async fn op_put_object_legal_hold(
        &self,
        id: &Identity,
        input: &PutObjectLegalHoldInput,
    ) -> S3Result<()> {
        let bucket = self.bucket(id, &input.bucket).await?;
        let status = input
            .legal_hold
            .as_ref()
            .and_then(|h| h.status.as_ref())
            .ok_or_else(|| s3_error!(MalformedXML, "A LegalHold Status is required."))?;
        let on = lock::parse_legal_hold(status.as_str())?;
        self.update_lock(
            &bucket,
            &input.key,
            |old| {
                Ok(LockState {
                    legal_hold: on,
                    ..old.clone()
                })
            },
            false,
            &format!(
                "S3 PutObjectLegalHold {} by access key {}",
                status.as_str(),
                id.access_key
            ),
        )
        .await
    }

    pub(crate) async fn op_get_object_legal_hold(
        &self,
        id: &Identity,
        input: &GetObjectLegalHoldInput,
    ) -> S3Result<GetObjectLegalHoldOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        if !bucket.record.object_lock {
            return Err(s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration"));
        }
        let (record, _) = self.object(&bucket, &input.key).await?;
        let on = record.lock.is_some_and(|l| l.legal_hold);
        Ok(GetObjectLegalHoldOutput {
            legal_hold: Some(ObjectLockLegalHold {
                status: Some(ObjectLockLegalHoldStatus::from(
                    if on { "ON" } else { "OFF" }.to_owned(),
                )),
            }),
        })
    }

    /// Locks the data objects of a new object in the cluster before its record is committed,
    /// so it is never visible unlocked; the cluster then refuses their deletion itself.
    pub(crate) async fn apply_cluster_lock(
        &self,
        bucket: &Bucket,
        record: &ObjectRecord,
        reason: &str,
    ) -> S3Result<()> {
        let Some(lock) = record.lock.as_ref().filter(|l| holds(l)) else {
            return Ok(());
        };
        for piece in &record.pieces {
            self.client
                .set_object_lock(bucket.ns(), &piece.k, cluster_spec(lock), false, reason)
                .await
                .map_err(cluster_error)?;
        }
        Ok(())
    }

    /// Pushes a changed lock down to the data objects (shortening GOVERNANCE or clearing a
    /// legal hold goes with the bypass and the reason, which the cluster records).
    pub(crate) async fn update_cluster_lock(
        &self,
        bucket: &Bucket,
        record: &ObjectRecord,
        bypass: bool,
        reason: &str,
    ) -> S3Result<()> {
        let lock = record.lock.clone().unwrap_or_default();
        for piece in &record.pieces {
            self.client
                .set_object_lock(bucket.ns(), &piece.k, cluster_spec(&lock), bypass, reason)
                .await
                .map_err(cluster_error)?;
        }
        Ok(())
    }

    /// Deletes a locked object's data before its record: the cluster decides (on the leader's
    /// time) whether the lock still holds, exactly as for `archipel rm`.
    pub(crate) async fn delete_locked_data(
        &self,
        bucket: &Bucket,
        record: &ObjectRecord,
        bypass: bool,
        reason: &str,
    ) -> S3Result<()> {
        if record.lock.is_none() {
            return Ok(());
        }
        for piece in &record.pieces {
            let outcome = if bypass {
                self.client
                    .delete_object_bypassing_governance(bucket.ns(), &piece.k, reason)
                    .await
            } else {
                self.client.delete_object(bucket.ns(), &piece.k).await
            };
            match outcome {
                Ok(_) | Err(archipel_client::ClientError::NotFound(_)) => {}
                Err(archipel_client::ClientError::FailedPrecondition(m)) => {
                    return Err(s3_error!(
                        AccessDenied,
                        "Object is WORM protected and cannot be overwritten or deleted (Object Lock): {m}"
                    ))
                }
                Err(e) => return Err(cluster_error(e)),
            }
        }
        Ok(())
    }
}

/// Whether a lock asks the cluster for anything (a retention in force or a legal hold).
fn holds(lock: &LockState) -> bool {
    lock.legal_hold || lock.retain_until_ms.is_some_and(|u| u > now_ms())
}

fn cluster_spec(lock: &LockState) -> ObjectLockSpec {
    let mode = match lock.mode.as_deref() {
        Some(lock::GOVERNANCE) => LockMode::Governance,
        Some(lock::COMPLIANCE) => LockMode::Compliance,
        _ => LockMode::None,
    };
    ObjectLockSpec {
        mode: mode as i32,
        retain_until_ms: if mode == LockMode::None {
            0
        } else {
            lock.retain_until_ms.unwrap_or(0)
        },
        legal_hold: lock.legal_hold,
    }
}
