//! Looking objects up, listing and deleting them.

use crate::node::Node;
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::shards::object_id_hex;

use super::lock::{self, Override};
use super::model::{manifest_ns, validate_object_key, Manifest, NS_OBJECT_IDS};
use super::retention::{self, check_retention};
use super::ObjectError;

impl Node {
    /// The manifest of `namespace/key` in this node's applied state, with its revision.
    pub fn current_manifest(&self, namespace: &str, key: &str) -> Result<Option<(Manifest, u64)>, ObjectError> {
        let entry = self
            .state
            .get(&manifest_ns(namespace), key.as_bytes())
            .map_err(|e| ObjectError::Internal(e.to_string()))?;
        entry
            .map(|e| Manifest::decode(&e.value).map(|m| (m, e.revision)))
            .transpose()
            .map_err(ObjectError::Internal)
    }

    /// The latest manifest (linearizable).
    pub async fn stat_object(&self, namespace: &str, key: &str) -> Result<(Manifest, u64), ObjectError> {
        validate_object_key(key).map_err(ObjectError::Invalid)?;
        self.read_barrier().await?;
        self.namespace(namespace)?;
        self.current_manifest(namespace, key)?
            .ok_or_else(|| ObjectError::NotFound {
                namespace: namespace.into(),
                key: key.into(),
            })
    }

    pub async fn list_objects(
        &self,
        namespace: &str,
        prefix: &str,
        start_after: &str,
        limit: usize,
    ) -> Result<(Vec<(Manifest, u64)>, bool), ObjectError> {
        self.read_barrier().await?;
        self.namespace(namespace)?;
        let (entries, more) = self
            .state
            .scan(
                &manifest_ns(namespace),
                prefix.as_bytes(),
                start_after.as_bytes(),
                limit,
            )
            .map_err(|e| ObjectError::Internal(e.to_string()))?;
        let objects = entries
            .into_iter()
            .map(|e| Manifest::decode(&e.value).map(|m| (m, e.revision)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ObjectError::Internal)?;
        Ok((objects, more))
    }

    /// Removes the object; its shards are reclaimed by the orphan collector. Returns whether it
    /// existed. `bypass` lifts a GOVERNANCE retention of the object's own, nothing else.
    pub async fn delete_object(
        &self,
        namespace: &str,
        key: &str,
        bypass: Option<&Override>,
    ) -> Result<bool, ObjectError> {
        validate_object_key(key).map_err(ObjectError::Invalid)?;
        self.read_barrier().await?;
        self.namespace(namespace)?;
        let Some((manifest, revision)) = self.current_manifest(namespace, key)? else {
            return Ok(false);
        };
        // A quick refusal; the decision is the transaction's, on the state time it applies at.
        check_retention(&manifest, self.state_time_ms())?;
        if let Some(o) = bypass {
            lock::check_override(namespace, key, lock::BYPASS_GOVERNANCE, &o.actor, &o.reason)?;
        }
        self.check_unlocked(&manifest, bypass.is_some())?;
        let result = self.propose(delete_txn(&manifest, revision, bypass.is_some())).await?;
        match result {
            CommandResult::Txn { succeeded: true, .. } => {
                if let Some(o) = bypass {
                    tracing::warn!(namespace, key, by = %o.actor.subject, reason = %o.reason, "deleted bypassing a GOVERNANCE retention");
                }
                Ok(true)
            }
            CommandResult::Txn {
                failed_condition: Some(DELETE_UNLOCKED),
                ..
            } => Err(match self.object_lock(&manifest)? {
                Some(l) => lock::locked(&manifest, &l),
                None => ObjectError::Conflict,
            }),
            CommandResult::Txn {
                failed_condition: Some(DELETE_UNRETAINED),
                ..
            } => Err(retention::locked(&manifest)),
            CommandResult::Txn { succeeded: false, .. } => Err(ObjectError::Conflict),
            other => Err(ObjectError::Internal(format!("unexpected result {other:?}"))),
        }
    }
}

/// Which condition of [`delete_txn`] is the retention's.
const DELETE_UNRETAINED: usize = 1;
/// Which condition of [`delete_txn`] is the object lock's.
const DELETE_UNLOCKED: usize = 2;

/// Deletes the object `manifest` if its key is still at `revision` and no retention holds it at
/// the state time the transaction applies at (a GOVERNANCE retention of its own aside, with
/// `bypass_governance`).
pub(super) fn delete_txn(manifest: &Manifest, revision: u64, bypass_governance: bool) -> Command {
    let (namespace, key) = (manifest.namespace.as_str(), manifest.key.as_str());
    let mns = manifest_ns(namespace);
    let mut then = vec![
        Command::Delete {
            ns: mns.clone(),
            key: key.as_bytes().to_vec(),
        },
        Command::Delete {
            ns: NS_OBJECT_IDS.into(),
            key: object_id_hex(&manifest.object_id).into_bytes(),
        },
    ];
    then.extend(super::fixity::forget(manifest));
    then.push(lock::forget(namespace, key));
    Command::Txn {
        conditions: vec![
            Condition {
                ns: mns,
                key: key.as_bytes().to_vec(),
                expect: Expect::Revision(revision),
            },
            retention::unretained(namespace, key),
            lock::unlocked(namespace, key, bypass_governance),
        ],
        then,
    }
}
