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

fn stamped(ms: u64, cmd: Command) -> Command {
    cmd.stamped(ms)
}

fn txn_put(ns: &str, key: &str, value: &str) -> Command {
    Command::Txn {
        conditions: vec![],
        then: vec![put(ns, key, value)],
    }
}

fn revision_of(result: &CommandResult) -> u64 {
    match result {
        CommandResult::Put { revision } => *revision,
        CommandResult::Txn { results, .. } => revision_of(&results[0]),
        other => panic!("no revision in {other:?}"),
    }
}

/// Two grouped commits writing one key in one entry: each version has its own revision, so a
/// compare-and-swap on the first version's revision cannot overwrite the second.
#[tokio::test]
async fn each_transaction_of_a_grouped_entry_gets_its_own_revision() {
    let (_d, mut sm) = open();
    let results = sm
        .apply(vec![
            entry(
                7,
                Command::Batch(vec![txn_put("ns", "k", "first"), txn_put("ns", "k", "second")]),
            ),
            entry(8, put("ns", "other", "x")),
        ])
        .await
        .unwrap();
    let CommandResult::Batch(members) = &results[0] else {
        panic!("{:?}", results[0])
    };
    let (first, second) = (revision_of(&members[0]), revision_of(&members[1]));
    assert_eq!(
        (first, second),
        (7, 8),
        "revisions start at the log index and never repeat"
    );
    assert_eq!(revision_of(&results[1]), 9, "the next entry continues after the batch");
    let stored = sm.view().get("ns", b"k").unwrap().unwrap();
    assert_eq!((stored.value.as_slice(), stored.revision), (&b"second"[..], second));

    let cas = sm
        .apply(vec![entry(
            9,
            Command::Cas {
                ns: "ns".into(),
                key: b"k".to_vec(),
                expect: Expect::Revision(first),
                new_value: Some(b"lost update".to_vec()),
            },
        )])
        .await
        .unwrap();
    assert!(
        matches!(cas[0], CommandResult::Cas { succeeded: false, .. }),
        "{:?}",
        cas[0]
    );
}

/// The state time is the largest stamp applied: a leader whose clock went back cannot move it
/// back, and it survives a restart and a snapshot.
#[tokio::test]
async fn the_state_time_only_moves_forward_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let year_ms = 365 * 24 * 3600 * 1000;
    let t = 1_700_000_000_000;
    {
        let mut sm = StateMachineStore::open(open_db(dir.path()).unwrap()).unwrap();
        assert_eq!(sm.view().state_time_ms(), 0);
        sm.apply(vec![entry(1, stamped(t + year_ms, put("ns", "a", "1")))])
            .await
            .unwrap();
        sm.apply(vec![
            entry(2, stamped(t, put("ns", "b", "2"))),
            entry(3, put("ns", "c", "3")),
        ])
        .await
        .unwrap();
        assert_eq!(sm.view().state_time_ms(), t + year_ms);
    }
    let mut sm = StateMachineStore::open(open_db(dir.path()).unwrap()).unwrap();
    assert_eq!(sm.view().state_time_ms(), t + year_ms, "kept across a restart");
    let next = sm.apply(vec![entry(4, put("ns", "d", "4"))]).await.unwrap();
    assert_eq!(revision_of(&next[0]), 4);

    let snapshot = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    let (_d2, mut other) = open();
    other.install_snapshot(&snapshot.meta, snapshot.snapshot).await.unwrap();
    assert_eq!(other.view().state_time_ms(), t + year_ms, "carried by snapshots");
}

/// A log entry written before stamps existed (no envelope) still decodes and applies.
#[tokio::test]
async fn entries_from_before_the_envelope_still_decode() {
    // bincode numbers enum variants in declaration order: an old `Put` is variant 3.
    let old = crate::raft::codec::encode(&put("ns", "k", "v")).unwrap();
    assert_eq!(&old[..4], &3u32.to_le_bytes());
    let decoded: Command = crate::raft::codec::decode(&old).unwrap();
    assert_eq!(decoded, put("ns", "k", "v"));
    let new = crate::raft::codec::encode(&stamped(5, put("ns", "k", "v"))).unwrap();
    assert_eq!(
        &new[..4],
        &8u32.to_le_bytes(),
        "the envelope is a new variant, appended last"
    );
}

/// A damaged WAL record with synced records after it: the store refuses to open, where
/// point-in-time recovery used to open without the records after the damage.
#[test]
fn a_damaged_wal_record_stops_the_store_instead_of_dropping_entries() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open_db(dir.path()).unwrap();
        let cf_kv = db.cf_handle(super::db::CF_KV).unwrap();
        for i in 0..20u32 {
            let value = vec![b'v'; 200];
            db.put_cf_opt(cf_kv, format!("key{i:03}"), &value, &super::db::sync_write())
                .unwrap();
        }
    }
    let wal = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a WAL file");
    let mut bytes = std::fs::read(&wal).unwrap();
    assert!(bytes.len() > 2000, "the WAL holds the records");
    // A byte inside an early record's payload: its checksum no longer matches.
    let at = bytes.len() / 4;
    bytes[at] ^= 0xff;
    std::fs::write(&wal, &bytes).unwrap();

    match open_db(dir.path()) {
        Err(StoreError::Damaged { message, .. }) => assert!(message.contains("Corruption"), "{message}"),
        Err(other) => panic!("expected a clear damage error, got {other}"),
        Ok(db) => {
            let cf_kv = db.cf_handle(super::db::CF_KV).unwrap();
            let kept = (0..20u32)
                .filter(|i| db.get_cf(cf_kv, format!("key{i:03}")).unwrap().is_some())
                .count();
            panic!("the store opened with {kept} of 20 synced records");
        }
    }
}

/// A build that read the state before an install finished must not replace the installed,
/// more recent snapshot with its older one.
#[tokio::test]
async fn an_older_snapshot_never_replaces_a_newer_one() {
    let (_d, mut sm) = open();
    sm.apply(vec![entry(1, put("ns", "a", "1"))]).await.unwrap();
    let older = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    sm.apply(vec![entry(2, put("ns", "b", "2")), entry(3, put("ns", "c", "3"))])
        .await
        .unwrap();
    let newer = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    assert_eq!(newer.meta.last_log_id.unwrap().index, 3);

    // The older build's file, as if its build finished just now.
    let older_name = state_machine::file_name(&older.meta.snapshot_id).unwrap();
    let mut bytes = Vec::new();
    let mut older_file = older.snapshot;
    tokio::io::AsyncReadExt::read_to_end(&mut *older_file, &mut bytes)
        .await
        .unwrap();
    std::fs::write(sm.snapshot_dir().join(&older_name), bytes).unwrap();
    let stored = sm.save_snapshot(&older.meta, &older_name).unwrap();
    assert!(!stored, "the older snapshot was stored over the newer one");
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta.snapshot_id, newer.meta.snapshot_id);
    assert!(
        !sm.snapshot_dir().join(&older_name).exists(),
        "the refused file is removed"
    );
}

async fn read_all(mut file: Box<tokio::fs::File>) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    file.seek(std::io::SeekFrom::Start(0)).await.unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).await.unwrap();
    bytes
}

async fn receiving_file(sm: &mut StateMachineStore, bytes: &[u8]) -> Box<tokio::fs::File> {
    use tokio::io::AsyncWriteExt;
    let mut file = sm.begin_receiving_snapshot().await.unwrap();
    file.write_all(bytes).await.unwrap();
    file.flush().await.unwrap();
    file
}

/// Snapshots are files: one snapshot file at a time, none left by a received transfer, and a
/// truncated transfer is refused without touching the receiver's state.
#[tokio::test]
async fn a_truncated_snapshot_is_refused_and_the_state_kept() {
    let (_d, mut sm) = open();
    let rows: Vec<Entry> = (1..=200)
        .map(|i| entry(i, put("ns", &format!("k{i:04}"), "v")))
        .collect();
    sm.apply(rows).await.unwrap();
    let snapshot = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    let files: Vec<_> = std::fs::read_dir(sm.snapshot_dir()).unwrap().collect();
    assert_eq!(files.len(), 1, "superseded snapshot files are removed: {files:?}");
    let bytes = read_all(snapshot.snapshot).await;

    let (_d2, mut other) = open();
    other.apply(vec![entry(1, put("ns", "mine", "!"))]).await.unwrap();
    let cut = receiving_file(&mut other, &bytes[..bytes.len() / 2]).await;
    other.install_snapshot(&snapshot.meta, cut).await.unwrap_err();
    assert_eq!(other.view().get("ns", b"mine").unwrap().unwrap().value, b"!");
    assert!(other.view().get("ns", b"k0001").unwrap().is_none());
    assert!(other.get_current_snapshot().await.unwrap().is_none());
    let whole = receiving_file(&mut other, &bytes).await;
    other.install_snapshot(&snapshot.meta, whole).await.unwrap();
    assert!(other.view().get("ns", b"mine").unwrap().is_none());
    assert_eq!(other.view().scan("ns", b"", b"", 1000).unwrap().0.len(), 200);
    let names: Vec<String> = std::fs::read_dir(other.snapshot_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![state_machine::file_name(&snapshot.meta.snapshot_id).unwrap()]
    );
}

/// A crash while a received snapshot replaces the state (some rows written, the applied log id
/// not yet) is finished when the store opens again, from the kept file.
#[tokio::test]
async fn an_interrupted_install_is_finished_on_open() {
    let (_d, mut sm) = open();
    let rows: Vec<Entry> = (1..=50)
        .map(|i| entry(i, put("ns", &format!("k{i:04}"), "v")))
        .collect();
    sm.apply(rows).await.unwrap();
    let snapshot = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    let bytes = read_all(snapshot.snapshot).await;

    let dir = tempfile::tempdir().unwrap();
    {
        let mut other = StateMachineStore::open(open_db(dir.path()).unwrap()).unwrap();
        other.apply(vec![entry(1, put("ns", "mine", "!"))]).await.unwrap();
        // What `install` does before the crash: the file kept, the install recorded, some rows
        // of the snapshot written over the old state.
        let name = state_machine::file_name(&snapshot.meta.snapshot_id).unwrap();
        std::fs::create_dir_all(other.snapshot_dir()).unwrap();
        std::fs::write(other.snapshot_dir().join(&name), &bytes).unwrap();
        other.record_install_for_test(&snapshot.meta, &name);
        other.apply(vec![entry(2, put("ns", "k0001", "v"))]).await.unwrap();
    }
    let mut reopened = StateMachineStore::open(open_db(dir.path()).unwrap()).unwrap();
    let (applied, _) = reopened.applied_state().await.unwrap();
    assert_eq!(applied.unwrap().index, 50);
    assert!(reopened.view().get("ns", b"mine").unwrap().is_none());
    assert_eq!(reopened.view().scan("ns", b"", b"", 1000).unwrap().0.len(), 50);
    let current = reopened.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta.snapshot_id, snapshot.meta.snapshot_id);
}

fn io<E: std::error::Error + 'static>(e: &E) -> crate::raft::StorageError {
    openraft::StorageIOError::write(e).into()
}

/// Builds a fresh log store and state machine on a temp RocksDB for openraft's suite.
struct RocksStoreBuilder;

impl openraft::testing::StoreBuilder<crate::raft::TypeConfig, LogStore, StateMachineStore, tempfile::TempDir>
    for RocksStoreBuilder
{
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), crate::raft::StorageError> {
        let dir = tempfile::tempdir().map_err(|e| io(&e))?;
        let db = open_db(dir.path()).map_err(|e| io(&e))?;
        let log = LogStore::new(db.clone()).map_err(|e| io(&e))?;
        let sm = StateMachineStore::open(db)?;
        Ok((dir, log, sm))
    }
}

/// openraft's own conformance suite for the storage traits (log, vote, purge, truncate, apply of
/// membership, snapshots), against the RocksDB implementation.
#[test]
fn openraft_storage_suite_passes() {
    openraft::testing::Suite::test_all(RocksStoreBuilder).unwrap();
}
