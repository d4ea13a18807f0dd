//! WORM retention and commit deadlines, on the state machine's time (leader-stamped, monotonic;
//! `raft::command::Command::Stamped`). A coordinator checks first for a quick, clear error, but
//! the decision is the conditions below, evaluated in apply: a node whose clock is wrong can
//! neither shorten a retention nor commit an upload after its deadline.

use crate::node::Node;
use crate::raft::{Condition, Expect};

use super::model::{manifest_ns, Manifest};
use super::ObjectError;

/// How far a coordinator's view of the state time may trail the time its commit applies at: the
/// view lags the leader by at most a tick interval (`raft::tick`) and the replication lag, and the
/// commit takes a moment. A WORM object's retention date is pushed back by this much and its
/// commit must apply within it after the retention's start, so the object is kept at least its
/// namespace's retention from its commit, and at most this much longer. An upload's deadline gets
/// the same allowance, so an idle cluster's stale view does not fail a prompt commit; that stays
/// far inside a collected mark's TTL (at least a day, or twice the grace), which is what makes the
/// deadline safe.
pub const RETENTION_SLACK_MS: u64 = 60_000;

/// The state time a new upload starts at. Refused while the cluster has none yet (a data dir
/// upgraded from a version without leader stamps, during its first seconds).
pub(super) fn upload_start(node: &Node) -> Result<u64, ObjectError> {
    match node.state_time_ms() {
        0 => Err(ObjectError::Unavailable(
            "the cluster's time is not established yet (no leader-stamped entry applied on this node); \
             retry in a few seconds"
                .into(),
        )),
        t => Ok(t),
    }
}

/// The retention date of an object created at state time `created_at_ms`; 0: none.
pub(super) fn retain_until(created_at_ms: u64, worm_retention_secs: u64) -> u64 {
    match worm_retention_secs {
        0 => 0,
        secs => created_at_ms
            .saturating_add(secs.saturating_mul(1000))
            .saturating_add(RETENTION_SLACK_MS),
    }
}

/// The coordinator's pre-check, on the state time it has applied: a fast, clear refusal.
pub(super) fn check_retention(m: &Manifest, state_time_ms: u64) -> Result<(), ObjectError> {
    if m.retain_until_ms > state_time_ms {
        return Err(locked(m));
    }
    Ok(())
}

pub(super) fn locked(m: &Manifest) -> ObjectError {
    ObjectError::RetentionLocked {
        namespace: m.namespace.clone(),
        key: m.key.clone(),
        until: crate::time::format_ms(m.retain_until_ms),
    }
}

/// The condition of a delete or overwrite of `namespace/key`: no retention holds it at the time
/// the command applies.
pub(super) fn unretained(namespace: &str, key: &str) -> Condition {
    Condition {
        ns: manifest_ns(namespace),
        key: key.as_bytes().to_vec(),
        expect: Expect::RetentionPassed,
    }
}

/// The state time after which a commit of `manifest`, from an upload that started at state time
/// `started_ms` (as the coordinator saw it), is refused in apply: past the orphan grace the
/// collector may have taken its shards, and a WORM object's retention must start shortly before
/// its commit.
pub(super) fn commit_deadline(manifest: &Manifest, started_ms: u64, orphan_grace_ms: u64) -> u64 {
    let grace = started_ms
        .saturating_add(orphan_grace_ms)
        .saturating_add(RETENTION_SLACK_MS);
    if manifest.retain_until_ms == 0 {
        return grace;
    }
    grace.min(manifest.created_at_ms.saturating_add(RETENTION_SLACK_MS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::catalog::delete_txn;
    use crate::objects::model::Storage;
    use crate::objects::put::commit_txn;
    use crate::objects::test_sm::{failed, Sm};
    use crate::raft::CommandResult;

    const DAY_MS: u64 = 24 * 3600 * 1000;
    const LEADER_NOW: u64 = 1_700_000_000_000;
    const GRACE_MS: u64 = 3600 * 1000;

    fn manifest(key: &str, id: u8, created_at_ms: u64, worm_secs: u64) -> Manifest {
        Manifest {
            namespace: "acts".into(),
            key: key.into(),
            object_id: [id; 16],
            size: 1,
            blake3: [0; 32],
            created_at_ms,
            retain_until_ms: retain_until(created_at_ms, worm_secs),
            storage: Storage::Inline(vec![id]),
            sealed: None,
        }
    }

    /// A coordinator whose clock is a year ahead believes a 30-day retention is over, passes its
    /// own pre-check and proposes the delete and the overwrite. Apply judges on the leader's time
    /// and refuses both, until the retention is really over.
    #[tokio::test]
    async fn a_coordinator_a_year_ahead_cannot_delete_or_overwrite_a_locked_object() {
        let mut sm = Sm::new();
        let locked = manifest("deliberation.pdf", 1, LEADER_NOW, 30 * 24 * 3600);
        let commit = commit_txn(&locked, None, vec![], LEADER_NOW + GRACE_MS, None);
        let stored = sm.apply(LEADER_NOW, commit).await;
        let CommandResult::Txn {
            succeeded: true,
            results,
            ..
        } = stored
        else {
            panic!("{stored:?}")
        };
        let CommandResult::Put { revision } = results[0] else {
            panic!()
        };

        let coordinator_now = LEADER_NOW + 365 * DAY_MS;
        assert!(
            check_retention(&locked, coordinator_now).is_ok(),
            "its own clock lets it through"
        );

        let leader_now = LEADER_NOW + DAY_MS;
        let delete = sm.apply(leader_now, delete_txn(&locked, revision, false)).await;
        assert_eq!(failed(&delete), Some(1), "{delete:?}");
        let newer = manifest("deliberation.pdf", 2, coordinator_now, 0);
        let overwrite = commit_txn(&newer, Some(&(locked.clone(), revision)), vec![], u64::MAX, None);
        let overwrite = sm.apply(leader_now, overwrite).await;
        assert_eq!(failed(&overwrite), Some(2), "{overwrite:?}");
        let kept = sm.sm.view().get("sys.obj/acts", b"deliberation.pdf").unwrap().unwrap();
        assert_eq!(Manifest::decode(&kept.value).unwrap(), locked);

        let after_retention = locked.retain_until_ms;
        let delete = sm.apply(after_retention, delete_txn(&locked, revision, false)).await;
        assert!(
            matches!(delete, CommandResult::Txn { succeeded: true, .. }),
            "{delete:?}"
        );
    }

    /// A manifest commit that reaches the log after its deadline (a re-delivered or late
    /// proposal) is refused by the same condition on every node, and writes nothing.
    #[tokio::test]
    async fn a_commit_applied_after_its_deadline_is_refused_on_every_node() {
        let started = LEADER_NOW;
        let m = manifest("late.bin", 3, started, 0);
        let deadline = commit_deadline(&m, started, GRACE_MS);
        assert_eq!(deadline, started + GRACE_MS + RETENTION_SLACK_MS);
        for _node in 0..3 {
            let mut sm = Sm::new();
            let result = sm.apply(deadline, commit_txn(&m, None, vec![], deadline, None)).await;
            assert_eq!(failed(&result), Some(3), "{result:?}");
            assert!(sm.sm.view().get("sys.obj/acts", b"late.bin").unwrap().is_none());
            let result = sm
                .apply(deadline - 1, commit_txn(&m, None, vec![], deadline, None))
                .await;
            assert_eq!(failed(&result), Some(3), "the state time never goes back: {result:?}");
        }
        let mut sm = Sm::new();
        let result = sm
            .apply(deadline - 1, commit_txn(&m, None, vec![], deadline, None))
            .await;
        assert!(
            matches!(result, CommandResult::Txn { succeeded: true, .. }),
            "{result:?}"
        );
    }

    /// A WORM object's retention starts shortly before its commit: a commit that applies more
    /// than the slack after the retention's start is refused (its retention would be short).
    #[test]
    fn a_worm_commit_must_apply_within_the_slack_of_its_retention_start() {
        let m = manifest("a", 4, LEADER_NOW, 10);
        assert_eq!(
            commit_deadline(&m, LEADER_NOW - GRACE_MS / 2, GRACE_MS),
            LEADER_NOW + RETENTION_SLACK_MS
        );
        let long_upload = LEADER_NOW - GRACE_MS - RETENTION_SLACK_MS / 2;
        assert_eq!(
            commit_deadline(&m, long_upload, GRACE_MS),
            LEADER_NOW + RETENTION_SLACK_MS / 2
        );
    }

    #[test]
    fn retention_is_counted_from_the_state_time_with_slack() {
        assert_eq!(retain_until(1_000, 0), 0);
        assert_eq!(retain_until(1_000, 10), 1_000 + 10_000 + RETENTION_SLACK_MS);
        assert_eq!(retain_until(u64::MAX - 5, 10), u64::MAX);
    }
}
