//! Appending: density, links, batches, contention between fronts, input checks.

#[path = "logbook_util.rs"]
mod util;

use std::collections::HashSet;
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};

use archipel_archive::logbook::{
    verify, ChainHead, Entry, Hash32, Logbook, LogbookError, LogbookStore, MemoryStore, NewEntry, Outcome, Seal,
    SealKey, StoreError, VerifyKeys,
};
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

/// Counts lost conditional appends, and yields between reading the head and writing, as a network would.
struct Contended {
    inner: MemoryStore,
    lost: AtomicU64,
}

#[async_trait::async_trait]
impl LogbookStore for Contended {
    async fn head(&self, tenant: &str) -> Result<Option<(ChainHead, u64)>, StoreError> {
        let head = self.inner.head(tenant).await;
        tokio::task::yield_now().await;
        head
    }
    async fn append(&self, t: &str, v: Option<u64>, e: &[Entry], h: &ChainHead) -> Result<bool, StoreError> {
        let ok = self.inner.append(t, v, e, h).await?;
        if !ok {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
        Ok(ok)
    }
    async fn entries(&self, t: &str, from: u64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        self.inner.entries(t, from, limit).await
    }
    async fn put_seal(&self, t: &str, s: &Seal, last: Option<u64>) -> Result<bool, StoreError> {
        self.inner.put_seal(t, s, last).await
    }
    async fn seals(&self, t: &str, from: u64, limit: usize) -> Result<Vec<Seal>, StoreError> {
        self.inner.seals(t, from, limit).await
    }
    async fn last_seal(&self, t: &str) -> Result<Option<Seal>, StoreError> {
        self.inner.last_seal(t).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fronts_leave_no_gap_and_no_fork() {
    let store = Arc::new(Contended {
        inner: MemoryStore::new(),
        lost: AtomicU64::new(0),
    });
    let key = SealKey::from_seed(&[7; 32]);
    let keys = VerifyKeys::new().with(&key.public()).unwrap();
    let logbook = Arc::new(Logbook::new(store.clone(), Arc::new(key)));
    let (tasks, per_task) = (16u64, 40u64);
    let mut handles = Vec::new();
    for t in 0..tasks {
        let logbook = logbook.clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..per_task {
                let entries = if i.is_multiple_of(5) {
                    vec![step(t * 1000 + i), step(t * 1000 + i)]
                } else {
                    vec![step(t * 1000 + i)]
                };
                for e in logbook.append_many("busy", entries).await.unwrap() {
                    seqs.push(e.seq);
                }
                if i.is_multiple_of(13) {
                    logbook.seal("busy").await.unwrap();
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
    assert!(
        store.lost.load(Ordering::Relaxed) > 0,
        "the test did not make fronts contend"
    );
    logbook.seal("busy").await.unwrap();
    let report = verify(store.as_ref(), "busy", &keys).await.unwrap();
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

/// Rough costs on the in-memory store (run with `--ignored --nocapture`); the cluster store adds a Raft round trip
/// per append.
#[tokio::test]
#[ignore]
async fn measure() {
    let n = 20_000u64;
    let f = fixture();
    let t = std::time::Instant::now();
    for i in 0..n {
        f.logbook.append("m", step(i)).await.unwrap();
    }
    let append = t.elapsed();
    let t = std::time::Instant::now();
    f.logbook.seal("m").await.unwrap();
    let seal = t.elapsed();
    let t = std::time::Instant::now();
    assert!(verify(f.store.as_ref(), "m", &f.keys).await.unwrap().is_intact());
    let check = t.elapsed();
    let t = std::time::Instant::now();
    let proof = f.logbook.prove("m", n / 2).await.unwrap();
    let prove = t.elapsed();
    println!(
        "{n} entries: append {:.1} us/entry, seal {:?} ({:.2} us/entry), verify {:.1} us/entry, prove {:?} (path {})",
        append.as_micros() as f64 / n as f64,
        seal,
        seal.as_micros() as f64 / n as f64,
        check.as_micros() as f64 / n as f64,
        prove,
        proof.path.len()
    );
}
