//! State-machine behaviour through openraft's traits, on a real RocksDB in a temp dir.

use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::{CommittedLeaderId, EntryPayload, RaftLogReader, RaftSnapshotBuilder};

use super::*;
use crate::cluster_map::{NodeEntry, NodeState};
use crate::raft::{Command, CommandResult, Entry, Expect, LogId};

fn entry(index: u64, cmd: Command) -> Entry {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(cmd),
    }
}

fn put(ns: &str, key: &str, value: &str) -> Command {
    Command::Put {
        ns: ns.into(),
        key: key.into(),
        value: value.into(),
    }
}

fn open() -> (tempfile::TempDir, StateMachineStore) {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path()).unwrap();
    (dir, StateMachineStore::open(db).unwrap())
}

fn node(id: u64) -> NodeEntry {
    NodeEntry {
        id,
        site: "region".into(),
        addr: format!("n{id}:1"),
        capacity_bytes: 1,
        state: NodeState::Up,
    }
}

#[tokio::test]
async fn cas_sees_earlier_writes_of_the_same_batch() {
    let (_d, mut sm) = open();
    let results = sm
        .apply(vec![
            entry(1, put("ns", "k", "a")),
            entry(
                2,
                Command::Cas {
                    ns: "ns".into(),
                    key: b"k".to_vec(),
                    expect: Expect::Value(b"a".to_vec()),
                    new_value: Some(b"b".to_vec()),
                },
            ),
            entry(
                3,
                Command::Cas {
                    ns: "ns".into(),
                    key: b"k".to_vec(),
                    expect: Expect::Value(b"a".to_vec()),
                    new_value: Some(b"c".to_vec()),
                },
            ),
            entry(
                4,
                Command::Cas {
                    ns: "ns".into(),
                    key: b"k".to_vec(),
                    expect: Expect::Revision(2),
                    new_value: None,
                },
            ),
            entry(
                5,
                Command::Cas {
                    ns: "ns".into(),
                    key: b"k".to_vec(),
                    expect: Expect::Absent,
                    new_value: Some(b"d".to_vec()),
                },
            ),
        ])
        .await
        .unwrap();
    let succeeded: Vec<bool> = results
        .iter()
        .filter_map(|r| match r {
            CommandResult::Cas { succeeded, .. } => Some(*succeeded),
            _ => None,
        })
        .collect();
    assert_eq!(succeeded, vec![true, false, true, true]);
    let view = sm.view();
    let e = view.get("ns", b"k").unwrap().unwrap();
    assert_eq!((e.value.as_slice(), e.revision), (&b"d"[..], 5));
    let (applied, _) = sm.applied_state().await.unwrap();
    assert_eq!(applied.unwrap().index, 5);
}

#[tokio::test]
async fn scan_pages_stay_inside_the_namespace_and_prefix() {
    let (_d, mut sm) = open();
    let mut cmds = vec![];
    for (i, k) in ["a1", "a2", "a3", "b1"].iter().enumerate() {
        cmds.push(entry(i as u64 + 1, put("ns", k, "v")));
    }
    cmds.push(entry(5, put("ns2", "a0", "other namespace")));
    cmds.push(entry(6, put("n", "sa1", "namespace that is a prefix")));
    sm.apply(cmds).await.unwrap();
    let view = sm.view();
    let (page, more) = view.scan("ns", b"a", b"", 2).unwrap();
    assert_eq!(
        page.iter().map(|e| e.key.clone()).collect::<Vec<_>>(),
        vec![b"a1".to_vec(), b"a2".to_vec()]
    );
    assert!(more);
    let (page, more) = view.scan("ns", b"a", b"a2", 2).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].key, b"a3");
    assert!(!more);
    let (all, _) = view.scan("ns", b"", b"", 100).unwrap();
    assert_eq!(all.len(), 4, "nothing from ns2 or n");
    let (none, _) = view.scan("ns", b"a", b"zzz", 10).unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_snapshot_rebuilds_the_same_state_elsewhere() {
    let (_d, mut sm) = open();
    sm.apply(vec![
        entry(
            1,
            Command::InitCluster {
                cluster_id: "c".into(),
                node: node(1),
            },
        ),
        entry(2, Command::AddNode(node(2))),
        entry(3, put("ns", "x", "1")),
        entry(4, put("ns", "y", "2")),
    ])
    .await
    .unwrap();
    let snapshot = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    assert_eq!(snapshot.meta.last_log_id.unwrap().index, 4);

    let (_d2, mut other) = open();
    // Stale state in the receiver must disappear.
    other.apply(vec![entry(1, put("ns", "stale", "!"))]).await.unwrap();
    other.install_snapshot(&snapshot.meta, snapshot.snapshot).await.unwrap();
    let view = other.view();
    assert!(view.get("ns", b"stale").unwrap().is_none());
    assert_eq!(view.get("ns", b"y").unwrap().unwrap().value, b"2");
    assert_eq!(view.cluster_map(), sm.view().cluster_map());
    assert_eq!(view.cluster_map().nodes.len(), 2);
    let (applied, _) = other.applied_state().await.unwrap();
    assert_eq!(applied.unwrap().index, 4);
    let current = other.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta.snapshot_id, snapshot.meta.snapshot_id);
}

#[tokio::test]
async fn rejected_commands_change_nothing() {
    let (_d, mut sm) = open();
    let results = sm
        .apply(vec![
            entry(
                1,
                Command::InitCluster {
                    cluster_id: "c".into(),
                    node: node(1),
                },
            ),
            entry(
                2,
                Command::InitCluster {
                    cluster_id: "other".into(),
                    node: node(9),
                },
            ),
        ])
        .await
        .unwrap();
    assert!(matches!(results[1], CommandResult::Rejected(_)));
    let map = sm.view().cluster_map();
    assert_eq!(map.cluster_id, "c");
    assert_eq!(map.nodes.len(), 1);
}

#[tokio::test]
async fn the_log_survives_reopen_and_truncates_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open_db(dir.path()).unwrap();
        let mut log = LogStore::new(db).unwrap();
        let entries: Vec<Entry> = (1..=10).map(|i| entry(i, put("ns", "k", "v"))).collect();
        // The flush callback is internal to openraft; use the blocking helper.
        openraft::storage::RaftLogStorageExt::blocking_append(&mut log, entries)
            .await
            .unwrap();
        log.truncate(LogId::new(CommittedLeaderId::new(1, 1), 9)).await.unwrap();
        log.purge(LogId::new(CommittedLeaderId::new(1, 1), 3)).await.unwrap();
    }
    let db = open_db(dir.path()).unwrap();
    let mut log = LogStore::new(db).unwrap();
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id.unwrap().index, 8);
    assert_eq!(state.last_purged_log_id.unwrap().index, 3);
    let got = log.try_get_log_entries(0..100).await.unwrap();
    assert_eq!(
        got.iter().map(|e| e.log_id.index).collect::<Vec<_>>(),
        (4..=8).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_transaction_applies_all_or_nothing() {
    let (_d, mut sm) = open();
    let cond = |expect| crate::raft::Condition {
        ns: "ns".into(),
        key: b"k".to_vec(),
        expect,
    };
    let results = sm
        .apply(vec![
            entry(1, put("ns", "k", "a")),
            entry(
                2,
                Command::Txn {
                    conditions: vec![cond(Expect::Value(b"zzz".to_vec()))],
                    then: vec![put("ns", "x", "1"), put("ns", "k", "b")],
                },
            ),
            entry(
                3,
                Command::Txn {
                    conditions: vec![cond(Expect::Revision(1))],
                    then: vec![
                        put("ns", "y", "1"),
                        Command::Delete {
                            ns: "ns".into(),
                            key: b"k".to_vec(),
                        },
                    ],
                },
            ),
        ])
        .await
        .unwrap();
    assert!(matches!(
        results[1],
        CommandResult::Txn {
            succeeded: false,
            failed_condition: Some(0),
            ..
        }
    ));
    assert!(matches!(results[2], CommandResult::Txn { succeeded: true, .. }));
    let view = sm.view();
    assert!(
        view.get("ns", b"x").unwrap().is_none(),
        "the failed transaction wrote nothing"
    );
    assert!(view.get("ns", b"y").unwrap().is_some());
    assert!(view.get("ns", b"k").unwrap().is_none());
}
