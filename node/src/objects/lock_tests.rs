//! Object locks decided in apply, on the leader's time, and the change rules.

use super::catalog::delete_txn;
use super::lock::*;
use super::model::{Manifest, Storage};
use super::put::commit_txn;
use super::test_sm::{committed_revision, failed, Sm};
use super::ObjectError;
use crate::raft::{Command, CommandResult};
use crate::shards::object_id_hex;

const NOW: u64 = 1_700_000_000_000;
const DAY: u64 = 24 * 3600 * 1000;
const UNLOCKED_CONDITION_OF_DELETE: usize = 2;
const UNLOCKED_CONDITION_OF_COMMIT: usize = 4;

fn manifest(key: &str, id: u8) -> Manifest {
    Manifest {
        namespace: "s3.bucket".into(),
        key: key.into(),
        object_id: [id; 16],
        size: 1,
        blake3: [0; 32],
        created_at_ms: NOW,
        retain_until_ms: 0,
        storage: Storage::Inline(vec![id]),
        sealed: None,
    }
}

fn lock_of(m: &Manifest, mode: Option<LockMode>, until: u64, legal_hold: bool) -> ObjectLock {
    ObjectLock {
        mode,
        retain_until_ms: until,
        legal_hold,
        object_id: object_id_hex(&m.object_id),
        changed_at_ms: NOW,
        changed_by: "test".into(),
        reason: String::new(),
    }
}

async fn store(sm: &mut Sm, m: &Manifest, lock: Option<&ObjectLock>) -> u64 {
    committed_revision(&sm.apply(NOW, commit_txn(m, None, vec![], u64::MAX, lock)).await)
}

fn succeeded(r: &CommandResult) -> bool {
    matches!(r, CommandResult::Txn { succeeded: true, .. })
}

fn user() -> LockActor {
    LockActor {
        subject: "client alice (archivist)".into(),
        privileged: false,
    }
}

fn operator() -> LockActor {
    LockActor {
        subject: "client ops (operator)".into(),
        privileged: true,
    }
}

/// A legal hold refuses delete and overwrite at any time, bypass or not; once it is cleared
/// the object goes.
#[tokio::test]
async fn a_legal_hold_refuses_delete_and_overwrite_until_cleared() {
    let mut sm = Sm::new();
    let m = manifest("aip/1.tar", 1);
    let held = lock_of(&m, None, 0, true);
    let rev = store(&mut sm, &m, Some(&held)).await;
    let years_later = NOW + 100 * 365 * DAY;
    for bypass in [false, true] {
        let r = sm.apply(years_later, delete_txn(&m, rev, bypass)).await;
        assert_eq!(failed(&r), Some(UNLOCKED_CONDITION_OF_DELETE), "{r:?}");
    }
    let newer = manifest("aip/1.tar", 2);
    let r = sm
        .apply(
            years_later,
            commit_txn(&newer, Some(&(m.clone(), rev)), vec![], u64::MAX, None),
        )
        .await;
    assert_eq!(failed(&r), Some(UNLOCKED_CONDITION_OF_COMMIT), "{r:?}");

    let cleared = lock_of(&m, None, 0, false);
    sm.apply(
        years_later,
        Command::Put {
            ns: lock_ns("s3.bucket"),
            key: b"aip/1.tar".to_vec(),
            value: cleared.encode(),
        },
    )
    .await;
    let r = sm.apply(years_later, delete_txn(&m, rev, false)).await;
    assert!(succeeded(&r), "{r:?}");
    assert!(
        sm.sm.view().get(&lock_ns("s3.bucket"), b"aip/1.tar").unwrap().is_none(),
        "the lock goes with its object"
    );
}

/// COMPLIANCE holds until its date on the leader's time, bypass or not; GOVERNANCE yields to a
/// bypass only.
#[tokio::test]
async fn retention_modes_are_decided_on_the_leaders_time() {
    let mut sm = Sm::new();
    let c = manifest("compliance", 3);
    let rc = store(
        &mut sm,
        &c,
        Some(&lock_of(&c, Some(LockMode::Compliance), NOW + DAY, false)),
    )
    .await;
    let g = manifest("governance", 4);
    let rg = store(
        &mut sm,
        &g,
        Some(&lock_of(&g, Some(LockMode::Governance), NOW + DAY, false)),
    )
    .await;

    for bypass in [false, true] {
        let r = sm.apply(NOW + DAY - 1, delete_txn(&c, rc, bypass)).await;
        assert_eq!(failed(&r), Some(UNLOCKED_CONDITION_OF_DELETE), "{r:?}");
    }
    let r = sm.apply(NOW + DAY - 1, delete_txn(&g, rg, false)).await;
    assert_eq!(failed(&r), Some(UNLOCKED_CONDITION_OF_DELETE), "{r:?}");
    let r = sm.apply(NOW + DAY - 1, delete_txn(&g, rg, true)).await;
    assert!(succeeded(&r), "{r:?}");
    let r = sm.apply(NOW + DAY, delete_txn(&c, rc, false)).await;
    assert!(succeeded(&r), "at its date the retention is over: {r:?}");
}

/// A new version written over an object whose lock expired does not inherit that lock.
#[tokio::test]
async fn a_lock_never_carries_over_to_the_next_version() {
    let mut sm = Sm::new();
    let m = manifest("k", 5);
    let rev = store(
        &mut sm,
        &m,
        Some(&lock_of(&m, Some(LockMode::Governance), NOW + 10, false)),
    )
    .await;
    let newer = manifest("k", 6);
    let r = sm
        .apply(
            NOW + 11,
            commit_txn(&newer, Some(&(m.clone(), rev)), vec![], u64::MAX, None),
        )
        .await;
    assert!(succeeded(&r), "{r:?}");
    assert!(sm.sm.view().get(&lock_ns("s3.bucket"), b"k").unwrap().is_none());
}

/// An unreadable lock record keeps its object: refusing is the safe side.
#[tokio::test]
async fn an_unreadable_lock_keeps_its_object() {
    let mut sm = Sm::new();
    let m = manifest("k", 7);
    let rev = store(&mut sm, &m, None).await;
    sm.apply(
        NOW,
        Command::Put {
            ns: lock_ns("s3.bucket"),
            key: b"k".to_vec(),
            value: b"{not json".to_vec(),
        },
    )
    .await;
    let r = sm.apply(NOW + 365 * DAY, delete_txn(&m, rev, true)).await;
    assert_eq!(failed(&r), Some(UNLOCKED_CONDITION_OF_DELETE), "{r:?}");
}

fn change(
    current: Option<&ObjectLock>,
    new: LockSpec,
    actor: &LockActor,
    bypass: bool,
    reason: &str,
) -> Result<(), ObjectError> {
    let asked = LockChange {
        actor,
        bypass_governance: bypass,
        reason,
    };
    check_change("ns", "k", current, &new, NOW, asked)
}

fn spec(mode: Option<LockMode>, until: u64, legal_hold: bool) -> LockSpec {
    LockSpec {
        mode,
        retain_until_ms: until,
        legal_hold,
    }
}

#[test]
fn compliance_can_be_extended_by_anyone_and_shortened_by_no_one() {
    let m = manifest("k", 8);
    let cur = lock_of(&m, Some(LockMode::Compliance), NOW + DAY, false);
    assert!(change(
        Some(&cur),
        spec(Some(LockMode::Compliance), NOW + 2 * DAY, false),
        &user(),
        false,
        ""
    )
    .is_ok());
    for (new, who) in [
        (spec(Some(LockMode::Compliance), NOW + DAY / 2, false), operator()),
        (spec(Some(LockMode::Governance), NOW + 2 * DAY, false), operator()),
        (spec(None, 0, false), operator()),
    ] {
        let r = change(Some(&cur), new, &who, true, "visa 2026-12");
        assert!(matches!(r, Err(ObjectError::LockRefused { .. })), "{new:?}: {r:?}");
    }
    let expired = lock_of(&m, Some(LockMode::Compliance), NOW - 1, false);
    assert!(
        change(Some(&expired), spec(None, 0, false), &user(), false, "").is_ok(),
        "over: free"
    );
}

#[test]
fn governance_yields_only_to_a_privileged_bypass_with_a_reason() {
    let m = manifest("k", 9);
    let cur = lock_of(&m, Some(LockMode::Governance), NOW + DAY, false);
    let shorter = spec(Some(LockMode::Governance), NOW + 10, false);
    assert!(matches!(
        change(Some(&cur), shorter, &operator(), false, "why"),
        Err(ObjectError::LockRefused { .. })
    ));
    assert!(matches!(
        change(Some(&cur), shorter, &user(), true, "why"),
        Err(ObjectError::LockForbidden(_))
    ));
    assert!(matches!(
        change(Some(&cur), shorter, &operator(), true, " "),
        Err(ObjectError::LockRefused { .. })
    ));
    assert!(change(Some(&cur), shorter, &operator(), true, "ticket 42").is_ok());
    let upgraded = spec(Some(LockMode::Compliance), NOW + DAY, false);
    assert!(
        change(Some(&cur), upgraded, &user(), false, "").is_ok(),
        "upgrade to COMPLIANCE"
    );
}

#[test]
fn a_legal_hold_is_set_by_writers_and_cleared_by_privilege_with_a_reason() {
    assert!(change(None, spec(None, 0, true), &user(), false, "").is_ok());
    let m = manifest("k", 10);
    let held = lock_of(&m, None, 0, true);
    assert!(matches!(
        change(Some(&held), spec(None, 0, false), &user(), false, "visa"),
        Err(ObjectError::LockForbidden(_))
    ));
    assert!(matches!(
        change(Some(&held), spec(None, 0, false), &operator(), false, ""),
        Err(ObjectError::LockRefused { .. })
    ));
    assert!(change(
        Some(&held),
        spec(None, 0, false),
        &operator(),
        false,
        "visa DAD-2026-17"
    )
    .is_ok());
}

#[test]
fn new_retentions_are_checked() {
    assert!(
        check_new(&spec(Some(LockMode::Governance), NOW, false), NOW).is_err(),
        "not in the future"
    );
    assert!(
        check_new(&spec(None, NOW + DAY, false), NOW).is_err(),
        "date without mode"
    );
    assert!(
        check_new(&spec(Some(LockMode::Compliance), 0, false), NOW).is_err(),
        "mode without date"
    );
    assert!(check_new(&spec(Some(LockMode::Compliance), NOW + 201 * 365 * DAY, false), NOW).is_err());
    assert!(check_new(&spec(Some(LockMode::Compliance), NOW + DAY, true), NOW).is_ok());
    assert!(check_new(&LockSpec::default(), NOW).is_ok());
}
