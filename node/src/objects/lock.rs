//! Per-object locks: a retention of the object's own (S3 Object Lock's GOVERNANCE and
//! COMPLIANCE modes) and a legal hold. The S3 gateway maps Object Lock onto them; the archive
//! keeps its AIPs under a legal hold that only an approved elimination clears.
//!
//! A lock lives beside the manifest, in `sys.lock/<namespace>` under the object key, so it can
//! change without rewriting the manifest. Whether it holds an object is decided in apply, on the
//! leader-stamped state time ([`Expect::Unlocked`]), by every delete and overwrite; a
//! coordinator only checks first for a clear error. Changes are compare-and-set on the lock and
//! the manifest's revision, validated on the coordinator's view of state time, which trails the
//! leader's: a retention it sees in force is in force.

use serde::{Deserialize, Serialize};

use crate::node::Node;
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::shards::object_id_hex;

use super::model::{manifest_ns, validate_object_key, Manifest};
use super::ObjectError;

pub use crate::sys_keys::NS_LOCK_PREFIX;
/// The longest retention an object may be given, as for a namespace's WORM retention.
const MAX_RETENTION_MS: u64 = 200 * 365 * 24 * 3600 * 1000;
/// What a GOVERNANCE bypass is called in refusals.
pub(super) const BYPASS_GOVERNANCE: &str = "bypassing a GOVERNANCE retention";
/// Reasons are logged and kept with the lock; a bound keeps the record small.
const MAX_REASON_BYTES: usize = 1024;

pub fn lock_ns(namespace: &str) -> String {
    format!("{NS_LOCK_PREFIX}{namespace}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    Governance,
    Compliance,
}

/// What a writer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockSpec {
    /// None exactly when `retain_until_ms` is 0.
    pub mode: Option<LockMode>,
    pub retain_until_ms: u64,
    pub legal_hold: bool,
}

impl LockSpec {
    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.retain_until_ms == 0 && !self.legal_hold
    }
}

/// The stored lock of one object version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLock {
    pub mode: Option<LockMode>,
    pub retain_until_ms: u64,
    pub legal_hold: bool,
    /// The object version it belongs to (hex id): a lock never carries over to another version.
    pub object_id: String,
    pub changed_at_ms: u64,
    pub changed_by: String,
    pub reason: String,
}

impl ObjectLock {
    pub fn encode(&self) -> Vec<u8> {
        // Plain data: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(raw: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(raw).map_err(|e| format!("unreadable object lock: {e}"))
    }

    pub fn spec(&self) -> LockSpec {
        LockSpec {
            mode: self.mode,
            retain_until_ms: self.retain_until_ms,
            legal_hold: self.legal_hold,
        }
    }

    fn retention_in_force(&self, now_ms: u64) -> bool {
        self.retain_until_ms > now_ms
    }

    /// Whether it forbids deleting or overwriting the object at state time `now_ms`.
    pub fn prevents_removal(&self, now_ms: u64, bypass_governance: bool) -> bool {
        if self.legal_hold {
            return true;
        }
        if !self.retention_in_force(now_ms) {
            return false;
        }
        !(bypass_governance && self.mode == Some(LockMode::Governance))
    }
}

/// Who asks for a lock change or a bypass, as the object service established it from the
/// caller's certificate.
#[derive(Debug, Clone)]
pub struct LockActor {
    pub subject: String,
    /// Operators, control authorities and nodes; never a tenant-confined certificate.
    pub privileged: bool,
}

/// Who asks for a lock change, whether they ask to bypass a GOVERNANCE retention, and why.
#[derive(Debug, Clone, Copy)]
pub struct LockChange<'a> {
    pub actor: &'a LockActor,
    pub bypass_governance: bool,
    pub reason: &'a str,
}

/// A bypass of a GOVERNANCE retention, or the clearing of a legal hold, with its reason.
#[derive(Debug, Clone)]
pub struct Override {
    pub actor: LockActor,
    pub reason: String,
}

/// The condition every delete and overwrite of `namespace/key` carries.
pub(super) fn unlocked(namespace: &str, key: &str, bypass_governance: bool) -> Condition {
    Condition {
        ns: lock_ns(namespace),
        key: key.as_bytes().to_vec(),
        expect: Expect::Unlocked { bypass_governance },
    }
}

/// The commands a manifest commit adds for the new version's lock: written when it has one,
/// else any lock of the version it replaces (which no longer holds, or the commit fails) goes.
pub(super) fn commit_lock(manifest: &Manifest, lock: Option<&ObjectLock>) -> Command {
    match lock {
        Some(l) => Command::Put {
            ns: lock_ns(&manifest.namespace),
            key: manifest.key.as_bytes().to_vec(),
            value: l.encode(),
        },
        None => forget(&manifest.namespace, &manifest.key),
    }
}

pub(super) fn forget(namespace: &str, key: &str) -> Command {
    Command::Delete {
        ns: lock_ns(namespace),
        key: key.as_bytes().to_vec(),
    }
}

/// Checks that `actor` may do `what` (bypass a GOVERNANCE retention, clear a legal hold) to
/// `namespace/key`: a privileged certificate, and a reason to record.
pub(super) fn check_override(
    namespace: &str,
    key: &str,
    what: &str,
    actor: &LockActor,
    reason: &str,
) -> Result<(), ObjectError> {
    if !actor.privileged {
        return Err(ObjectError::LockForbidden(format!(
            "{what} on `{namespace}/{key}` needs an operator or control-authority certificate; {} is neither",
            actor.subject
        )));
    }
    if reason.trim().is_empty() {
        return Err(ObjectError::LockRefused {
            namespace: namespace.into(),
            key: key.into(),
            why: format!("{what} needs a reason (e.g. the visa or decision it applies)"),
        });
    }
    Ok(())
}

/// Checks a lock asked for at upload time, at state time `now_ms`.
pub fn check_new(spec: &LockSpec, now_ms: u64) -> Result<(), ObjectError> {
    match (spec.mode, spec.retain_until_ms) {
        (None, 0) => Ok(()),
        (None, _) => Err(ObjectError::Invalid(
            "a retention date needs a mode (GOVERNANCE or COMPLIANCE)".into(),
        )),
        (Some(_), 0) => Err(ObjectError::Invalid("a retention mode needs a retention date".into())),
        (Some(_), until) if until <= now_ms => Err(ObjectError::Invalid(format!(
            "the retention date {} is not in the future (cluster time {})",
            crate::time::format_ms(until),
            crate::time::format_ms(now_ms)
        ))),
        (Some(_), until) if until - now_ms > MAX_RETENTION_MS => Err(ObjectError::Invalid(format!(
            "the retention date {} is more than 200 years away",
            crate::time::format_ms(until)
        ))),
        (Some(_), _) => Ok(()),
    }
}

/// Checks the change of `current` into `new` at state time `now_ms`, as `asked`.
pub fn check_change(
    namespace: &str,
    key: &str,
    current: Option<&ObjectLock>,
    new: &LockSpec,
    now_ms: u64,
    asked: LockChange<'_>,
) -> Result<(), ObjectError> {
    let LockChange {
        actor,
        bypass_governance,
        reason,
    } = asked;
    if reason.len() > MAX_REASON_BYTES {
        return Err(ObjectError::Invalid(format!(
            "the reason is {} bytes; the limit is {MAX_REASON_BYTES}",
            reason.len()
        )));
    }
    let refuse = |why: String| ObjectError::LockRefused {
        namespace: namespace.into(),
        key: key.into(),
        why,
    };
    let needs_privilege = |what: &str| check_override(namespace, key, what, actor, reason);
    let unchanged_retention = current.is_some_and(|c| c.retain_until_ms == new.retain_until_ms && c.mode == new.mode);
    if !unchanged_retention {
        check_new(
            &LockSpec {
                legal_hold: false,
                ..*new
            },
            now_ms,
        )?;
    }
    let Some(current) = current else {
        return Ok(());
    };
    if current.legal_hold && !new.legal_hold {
        needs_privilege("clearing a legal hold")?;
    }
    if current.retention_in_force(now_ms) {
        let shortened = new.retain_until_ms < current.retain_until_ms;
        match current.mode {
            Some(LockMode::Compliance) if shortened || new.mode != Some(LockMode::Compliance) => {
                return Err(refuse(format!(
                    "its COMPLIANCE retention runs until {} and can be neither shortened, weakened nor bypassed, by anyone",
                    crate::time::format_ms(current.retain_until_ms)
                )));
            }
            Some(LockMode::Governance) if shortened || new.mode.is_none() => {
                if !bypass_governance {
                    return Err(refuse(format!(
                        "its GOVERNANCE retention runs until {}: shortening it needs bypass_governance",
                        crate::time::format_ms(current.retain_until_ms)
                    )));
                }
                needs_privilege(BYPASS_GOVERNANCE)?;
            }
            _ => {}
        }
    }
    Ok(())
}

impl Node {
    /// The lock of `manifest`'s version in this node's applied state.
    pub fn object_lock(&self, manifest: &Manifest) -> Result<Option<ObjectLock>, ObjectError> {
        let entry = self
            .state
            .get(&lock_ns(&manifest.namespace), manifest.key.as_bytes())
            .map_err(|e| ObjectError::Internal(e.to_string()))?;
        let Some(entry) = entry else {
            return Ok(None);
        };
        let lock = ObjectLock::decode(&entry.value).map_err(ObjectError::Internal)?;
        Ok((lock.object_id == object_id_hex(&manifest.object_id)).then_some(lock))
    }

    /// The coordinator's quick refusal of a delete or overwrite; apply decides.
    pub(super) fn check_unlocked(&self, manifest: &Manifest, bypass_governance: bool) -> Result<(), ObjectError> {
        match self.object_lock(manifest)? {
            Some(lock) if lock.prevents_removal(self.state_time_ms(), bypass_governance) => {
                Err(locked(manifest, &lock))
            }
            _ => Ok(()),
        }
    }

    /// The lock a new upload commits with, once `check_new` accepted it.
    pub(super) fn new_lock(&self, manifest: &Manifest, spec: &LockSpec, actor: &LockActor) -> Option<ObjectLock> {
        (!spec.is_empty()).then(|| ObjectLock {
            mode: spec.mode,
            retain_until_ms: spec.retain_until_ms,
            legal_hold: spec.legal_hold,
            object_id: object_id_hex(&manifest.object_id),
            changed_at_ms: manifest.created_at_ms,
            changed_by: actor.subject.clone(),
            reason: "set at upload".into(),
        })
    }

    /// Replaces the lock of `namespace/key` with `spec`, if the rules allow it (`check_change`).
    pub async fn set_object_lock(
        &self,
        namespace: &str,
        key: &str,
        spec: LockSpec,
        asked: LockChange<'_>,
    ) -> Result<ObjectLock, ObjectError> {
        let LockChange {
            actor,
            bypass_governance,
            reason,
        } = asked;
        validate_object_key(key).map_err(ObjectError::Invalid)?;
        self.read_barrier().await?;
        self.namespace(namespace)?;
        let (manifest, revision) = self
            .current_manifest(namespace, key)?
            .ok_or_else(|| ObjectError::NotFound {
                namespace: namespace.into(),
                key: key.into(),
            })?;
        let current = self.object_lock(&manifest)?;
        let now = self.state_time_ms();
        check_change(namespace, key, current.as_ref(), &spec, now, asked)?;
        let lock = ObjectLock {
            mode: spec.mode,
            retain_until_ms: spec.retain_until_ms,
            legal_hold: spec.legal_hold,
            object_id: object_id_hex(&manifest.object_id),
            changed_at_ms: now,
            changed_by: actor.subject.clone(),
            reason: reason.to_owned(),
        };
        let lns = lock_ns(namespace);
        let raw_current = self
            .state
            .get(&lns, key.as_bytes())
            .map_err(|e| ObjectError::Internal(e.to_string()))?;
        let lock_expect = match raw_current {
            Some(e) => Expect::Value(e.value),
            None => Expect::Absent,
        };
        let then = if spec.is_empty() {
            vec![forget(namespace, key)]
        } else {
            vec![Command::Put {
                ns: lns.clone(),
                key: key.as_bytes().to_vec(),
                value: lock.encode(),
            }]
        };
        let txn = Command::Txn {
            conditions: vec![
                Condition {
                    ns: manifest_ns(namespace),
                    key: key.as_bytes().to_vec(),
                    expect: Expect::Revision(revision),
                },
                Condition {
                    ns: lns,
                    key: key.as_bytes().to_vec(),
                    expect: lock_expect,
                },
            ],
            then,
        };
        match self.propose(txn).await? {
            CommandResult::Txn { succeeded: true, .. } => {
                tracing::info!(
                    namespace,
                    key,
                    by = %actor.subject,
                    legal_hold = lock.legal_hold,
                    retain_until = %crate::time::format_ms(lock.retain_until_ms),
                    bypass_governance,
                    reason,
                    "object lock changed"
                );
                Ok(lock)
            }
            // The object was replaced or deleted, or its lock changed, meanwhile.
            CommandResult::Txn { succeeded: false, .. } => Err(ObjectError::Conflict),
            other => Err(ObjectError::Internal(format!("unexpected result {other:?}"))),
        }
    }
}

pub(super) fn locked(manifest: &Manifest, lock: &ObjectLock) -> ObjectError {
    let why = if lock.legal_hold {
        "it is under a legal hold".to_owned()
    } else {
        let mode = match lock.mode {
            Some(LockMode::Compliance) => "COMPLIANCE",
            _ => "GOVERNANCE",
        };
        format!(
            "its {mode} retention runs until {}",
            crate::time::format_ms(lock.retain_until_ms)
        )
    };
    ObjectError::LockRefused {
        namespace: manifest.namespace.clone(),
        key: manifest.key.clone(),
        why: format!("{why}: it cannot be overwritten or deleted"),
    }
}
