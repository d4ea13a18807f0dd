//! Object Lock as S3 describes it, checked by the gateway before it asks the cluster.
//!
//! Modes: GOVERNANCE (lifted early only with `x-amz-bypass-governance-retention`) and
//! COMPLIANCE (never shortened, never bypassed); a legal hold blocks deletion until cleared.

use s3s::dto::Timestamp;
use s3s::{s3_error, S3Result};

use crate::gateway::Bucket;
use crate::records::{now_ms, DefaultRetention, LockState, ObjectRecord};

pub const GOVERNANCE: &str = "GOVERNANCE";
pub const COMPLIANCE: &str = "COMPLIANCE";

pub fn timestamp_ms(t: &Timestamp) -> S3Result<u64> {
    let mut buf = Vec::new();
    t.format(s3s::dto::TimestampFormat::EpochSeconds, &mut buf)
        .map_err(|_| s3_error!(InvalidArgument, "The retain-until date is not a valid date."))?;
    let text = String::from_utf8_lossy(&buf);
    let secs: f64 = text
        .parse()
        .map_err(|_| s3_error!(InvalidArgument, "The retain-until date is not a valid date."))?;
    if secs < 0.0 {
        return Err(s3_error!(InvalidArgument, "The retain-until date is before 1970."));
    }
    Ok((secs * 1000.0) as u64)
}

pub fn ms_timestamp(ms: u64) -> Timestamp {
    Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

/// Whether the lock forbids deleting or replacing the object now.
pub fn is_locked(lock: &LockState, bypass_governance: bool) -> bool {
    if lock.legal_hold {
        return true;
    }
    match (&lock.mode, lock.retain_until_ms) {
        (Some(mode), Some(until)) if until > now_ms() => !(mode == GOVERNANCE && bypass_governance),
        _ => false,
    }
}

fn locked_error() -> s3s::S3Error {
    s3_error!(
        AccessDenied,
        "Object is WORM protected and cannot be overwritten or deleted (Object Lock)."
    )
}

/// An overwrite replaces the object: refused while it is locked (no bypass: S3 would keep the
/// old version, and this gateway keeps no versions).
pub fn check_replace(_bucket: &Bucket, old: &ObjectRecord) -> S3Result<()> {
    match &old.lock {
        Some(l) if is_locked(l, false) => Err(locked_error()),
        _ => Ok(()),
    }
}

pub fn check_delete(old: &ObjectRecord, bypass_governance: bool) -> S3Result<()> {
    match &old.lock {
        Some(l) if is_locked(l, bypass_governance) => Err(locked_error()),
        _ => Ok(()),
    }
}

/// The lock a new object gets: explicit headers, else the bucket's default retention.
pub fn initial_lock(
    bucket: &Bucket,
    mode: Option<&str>,
    retain_until: Option<&Timestamp>,
    legal_hold: Option<&str>,
) -> S3Result<Option<LockState>> {
    let explicit = mode.is_some() || retain_until.is_some() || legal_hold.is_some();
    if !bucket.record.object_lock {
        if explicit {
            return Err(s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration"));
        }
        return Ok(None);
    }
    if mode.is_some() != retain_until.is_some() {
        return Err(s3_error!(
            InvalidArgument,
            "x-amz-object-lock-mode and x-amz-object-lock-retain-until-date must both be supplied"
        ));
    }
    let mut lock = LockState::default();
    if let (Some(mode), Some(until)) = (mode, retain_until) {
        check_mode(mode)?;
        let until = timestamp_ms(until)?;
        if until <= now_ms() {
            return Err(s3_error!(
                InvalidArgument,
                "The retain until date must be in the future!"
            ));
        }
        lock.mode = Some(mode.into());
        lock.retain_until_ms = Some(until);
    } else if let Some(d) = &bucket.record.default_retention {
        lock.mode = Some(d.mode.clone());
        lock.retain_until_ms = Some(now_ms() + default_period_ms(d));
    }
    if let Some(h) = legal_hold {
        lock.legal_hold = parse_legal_hold(h)?;
    }
    Ok(Some(lock))
}

pub fn check_mode(mode: &str) -> S3Result<()> {
    if mode == GOVERNANCE || mode == COMPLIANCE {
        Ok(())
    } else {
        Err(s3_error!(
            MalformedXML,
            "The lock mode must be GOVERNANCE or COMPLIANCE."
        ))
    }
}

pub fn parse_legal_hold(status: &str) -> S3Result<bool> {
    match status {
        "ON" => Ok(true),
        "OFF" => Ok(false),
        _ => Err(s3_error!(MalformedXML, "The legal hold status must be ON or OFF.")),
    }
}

pub fn default_period_ms(d: &DefaultRetention) -> u64 {
    const DAY_MS: u64 = 86_400_000;
    let days = d.days.unwrap_or(0).max(0) as u64 + d.years.unwrap_or(0).max(0) as u64 * 365;
    days * DAY_MS
}

/// A retention change: COMPLIANCE can only be extended; GOVERNANCE can be shortened, removed
/// or changed only with the bypass header.
pub fn check_retention_change(
    old: &LockState,
    new_mode: Option<&str>,
    new_until: Option<u64>,
    bypass: bool,
) -> S3Result<()> {
    let now = now_ms();
    let active = old.retain_until_ms.is_some_and(|u| u > now);
    if !active {
        return Ok(());
    }
    let old_until = old.retain_until_ms.unwrap_or(0);
    let weakens = new_until.is_none_or(|u| u < old_until) || new_mode != old.mode.as_deref();
    if !weakens {
        return Ok(());
    }
    match old.mode.as_deref() {
        Some(GOVERNANCE) if bypass => Ok(()),
        _ => Err(locked_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(mode: &str, until: u64, hold: bool) -> LockState {
        LockState {
            mode: Some(mode.into()),
            retain_until_ms: Some(until),
            legal_hold: hold,
        }
    }

    #[test]
    fn compliance_is_never_bypassed_governance_is_with_the_header() {
        let later = now_ms() + 60_000;
        assert!(is_locked(&lock(COMPLIANCE, later, false), true));
        assert!(is_locked(&lock(GOVERNANCE, later, false), false));
        assert!(!is_locked(&lock(GOVERNANCE, later, false), true));
        assert!(!is_locked(&lock(COMPLIANCE, 1, false), false), "expired");
        assert!(is_locked(&lock(GOVERNANCE, 1, true), true), "legal hold");
    }

    #[test]
    fn compliance_retention_only_grows() {
        let until = now_ms() + 60_000;
        let old = lock(COMPLIANCE, until, false);
        assert!(check_retention_change(&old, Some(COMPLIANCE), Some(until + 1), false).is_ok());
        assert!(check_retention_change(&old, Some(COMPLIANCE), Some(until - 1), true).is_err());
        assert!(check_retention_change(&old, Some(GOVERNANCE), Some(until + 1), true).is_err());
        let gov = lock(GOVERNANCE, until, false);
        assert!(check_retention_change(&gov, Some(GOVERNANCE), Some(until - 1), false).is_err());
        assert!(check_retention_change(&gov, Some(GOVERNANCE), Some(until - 1), true).is_ok());
    }
}
