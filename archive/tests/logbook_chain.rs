//! Appending: density, links, batches, contention between fronts, input checks.

#[path = "logbook_util.rs"]
mod util;

use std::collections::HashSet;
use std::sync::Arc;

use archipel_archive::logbook::{verify, Hash32, LogbookError, NewEntry, Outcome};
use util::{filled, fixture, step};

#[tokio::test]
async fn appends_are_dense_and_linked() {
    let f = fixture();
    let a = f.logbook.append("t1", step(0)).await.unwrap();
    let batch = f
        .logbook
        .append_many("t1", vec![step(1), step(2), step(3)])
        .await
        .unwrap();
    assert_eq!(a.seq, 1);
    assert_eq!(a.prev_hash, Hash32::ZERO);
    assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(batch[0].prev_hash, a.hash);
    assert_eq!(batch[2].prev_hash, batch[1].hash);
    // Tenants have separate chains.
    assert_eq!(f.logbook.append("t2", step(9)).await.unwrap().seq, 1);
    let report = verify(f.store.as_ref(), "t1", &f.keys).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries_checked, 4);
}

#[tokio::test]
async fn refuses_bad_input_before_writing() {
    let f = fixture();
    let err = f.logbook.append("Bad Tenant", step(0)).await.unwrap_err();
    assert!(
        matches!(err, LogbookError::Invalid(ref e) if e.field == "tenant"),
        "{err}"
    );
    let float = step(0).detail(serde_json::json!({"ratio": 0.25}));
    let err = f.logbook.append("t1", float).await.unwrap_err();
    assert!(
        err.to_string().contains("detail") && err.to_string().contains("ratio"),
        "{err}"
    );
    let err = f.logbook.append_many("t1", vec![]).await.unwrap_err();
    assert!(matches!(err, LogbookError::BatchSize(0)));
    // One bad entry refuses the whole batch.
    let bad = NewEntry::new("op", "no spaces allowed", Outcome::Ko, "system");
    assert!(f.logbook.append_many("t1", vec![step(1), bad]).await.is_err());
    assert!(f.store.edit("t1", |t| t.entries.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fronts_leave_no_gap_and_no_fork() {
    let f = Arc::new(fixture());
    let (tasks, per_task) = (16u64, 40u64);
    let mut handles = Vec::new();
    for t in 0..tasks {
        let f = f.clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..per_task {
                let entries = if i.is_multiple_of(5) {
                    vec![step(t * 1000 + i), step(t * 1000 + i)]
                } else {
                    vec![step(t * 1000 + i)]
                };
                for e in f.logbook.append_many("busy", entries).await.unwrap() {
                    seqs.push(e.seq);
                }
                if i.is_multiple_of(13) {
                    f.logbook.seal("busy").await.unwrap();
                }
            }
            seqs
        }));
    }
    let mut all = HashSet::new();
    for h in handles {
        for seq in h.await.unwrap() {
            assert!(all.insert(seq), "seq {seq} handed out twice");
        }
    }
    let total = tasks * per_task + tasks * per_task.div_ceil(5);
    assert_eq!(all.len() as u64, total);
    assert_eq!(all.iter().max().copied(), Some(total));
    f.logbook.seal("busy").await.unwrap();
    let report = verify(f.store.as_ref(), "busy", &f.keys).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries_checked, total);
    assert_eq!(report.last_sealed_seq, total);
}

#[tokio::test]
async fn seal_is_none_when_nothing_changed_and_seals_chain() {
    let f = filled("t1", 10, 0).await;
    assert!(f.logbook.seal("nobody").await.unwrap().is_none());
    let s1 = f.logbook.seal("t1").await.unwrap().unwrap();
    assert_eq!(
        (s1.index, s1.first_seq, s1.last_seq, s1.prev_seal_hash),
        (1, 1, 10, Hash32::ZERO)
    );
    assert!(f.logbook.seal("t1").await.unwrap().is_none());
    f.logbook.append("t1", step(10)).await.unwrap();
    let s2 = f.logbook.seal("t1").await.unwrap().unwrap();
    assert_eq!(
        (s2.index, s2.first_seq, s2.last_seq, s2.prev_seal_hash),
        (2, 11, 11, s1.hash)
    );
    assert!(s2.time >= s1.time);
}

#[tokio::test]
async fn times_never_go_backwards() {
    let f = filled("t1", 30, 0).await;
    let entries = f.store.edit("t1", |t| t.entries.values().cloned().collect::<Vec<_>>());
    assert!(entries.windows(2).all(|w| w[0].time <= w[1].time));
}
