//! The collector's check-then-delete against a repair renaming (or packing) the same shard in.

use std::sync::{mpsc, Mutex};
use std::time::Duration;

use super::*;

fn header() -> ShardFileHeader {
    ShardFileHeader {
        format: 1,
        object_id: "05".repeat(16),
        namespace: "ns".into(),
        key: "k".into(),
        index: 0,
        profile: "2+1".into(),
        stripe_size: 8,
        shard_len: 4,
        created_at_ms: 0,
    }
}

const ID: ObjectId = [5; 16];

/// The repair's finish is started right after the collector's check: it must not land between
/// the check and the delete, so what the collector deletes is the old shard, never the new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_written_during_the_collector_s_check_is_never_deleted() {
    for pack_max in [0, 1 << 20] {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30, pack_max).unwrap();
        let mut old = store.create(&ID, &header()).await.unwrap();
        old.write_stripe(bytes::Bytes::from_static(b"old!")).await.unwrap();
        old.finish(4, None).await.unwrap();
        let listed = store.list().unwrap().into_iter().find(|s| s.object_id == ID).unwrap();

        let mut repair = store.create(&ID, &header()).await.unwrap();
        repair.write_stripe(bytes::Bytes::from_static(b"new!")).await.unwrap();
        let repair = Mutex::new(Some(repair));
        let runtime = tokio::runtime::Handle::current();
        let (done_tx, done_rx) = mpsc::channel();
        let (result_tx, result_rx) = tokio::sync::oneshot::channel();
        let result_tx = Mutex::new(Some(result_tx));
        *store.between_check_and_delete.lock().unwrap() = Some(Box::new(move || {
            let (Some(w), Some(result_tx)) = (repair.lock().unwrap().take(), result_tx.lock().unwrap().take()) else {
                return;
            };
            let done_tx = done_tx.clone();
            runtime.spawn(async move {
                let finished = w.finish(4, None).await;
                let _ = done_tx.send(());
                let _ = result_tx.send(finished);
            });
            // Give the repair every chance to land here; the shard's lock must hold it off.
            let _ = done_rx.recv_timeout(Duration::from_millis(300));
        }));

        let collector = store.clone();
        let removed = tokio::task::spawn_blocking(move || collector.remove_if_unchanged(&listed))
            .await
            .unwrap()
            .unwrap();
        assert!(removed, "pack_max {pack_max}: the old shard was still the listed one");
        let (new_hash, _) = result_rx.await.unwrap().unwrap();
        assert!(
            store.contains(&ID, 0),
            "pack_max {pack_max}: the repaired shard was deleted"
        );
        let reader = store.open_reader(&ID, 0).await.unwrap();
        assert_eq!(reader.table_hash, new_hash, "pack_max {pack_max}");
    }
}

/// A file renamed over the listed one is another file, even with the same size and time.
#[tokio::test]
async fn a_replaced_file_is_not_the_listed_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = ShardStore::open(dir.path(), 1 << 30, 0).unwrap();
    let mut w = store.create(&ID, &header()).await.unwrap();
    w.write_stripe(bytes::Bytes::from_static(b"old!")).await.unwrap();
    w.finish(4, None).await.unwrap();
    let listed = store.list().unwrap().into_iter().find(|s| s.object_id == ID).unwrap();
    let path = store.path(&ID, 0);
    let copy = path.with_extension("copy");
    std::fs::copy(&path, &copy).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::rename(&copy, &path).unwrap();
    assert!(!store.remove_if_unchanged(&listed).unwrap());
    assert!(store.contains(&ID, 0));
}
