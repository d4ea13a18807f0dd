//! The on-disk index as a front keeps it: reused across restarts, synced from the catalog AIP by AIP, rebuilt only
//! when it is unusable, and never shared by two fronts.

mod search_support;

use std::path::Path;
use std::sync::Arc;

use archipel_archive::search::{sync, Indexes, OpenOutcome, SearchError, SearchQuery, TenantIndex};
use search_support::{ids, unit, FakeCatalog};

fn open(path: &Path) -> Arc<TenantIndex> {
    Arc::new(TenantIndex::open_or_create(path).unwrap())
}

/// Edits the commit payload in the index's `meta.json`, as another version or program would have left it.
fn rewrite_payload(dir: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let meta_path = dir.join("meta.json");
    let mut meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    change(&mut meta["payload"]);
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
}

fn titled(index: &TenantIndex, q: &str) -> Vec<String> {
    ids(&index.search(&SearchQuery::text(q)).unwrap())
}

/// The units indexed for one AIP.
fn of_aip(index: &TenantIndex, aip: &str) -> Vec<String> {
    titled(index, &format!("aip_id:\"{aip}\""))
}

#[tokio::test]
async fn a_restarted_front_reuses_its_index_and_reads_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant");
    let catalog = FakeCatalog::default();
    for aip in ["aip-a", "aip-b", "aip-c"] {
        catalog.commit(aip, 2);
    }
    {
        let index = open(&path);
        assert_eq!(index.outcome(), &OpenOutcome::Created);
        let report = sync(&index, &catalog).await.unwrap();
        assert_eq!((report.added_aips, report.added_units, report.removed_aips), (3, 6, 0));
        assert_eq!(catalog.reads(), 3);
    }

    let index = open(&path);
    assert_eq!(index.outcome(), &OpenOutcome::Reused, "a restart must not rebuild");
    assert_eq!(index.count(), 6);
    assert_eq!(
        index.synced_generation(),
        Some(3),
        "the generation survives in the commit payload"
    );
    let report = sync(&index, &catalog).await.unwrap();
    assert!(report.up_to_date, "{report:?}");
    assert_eq!(catalog.reads(), 3, "nothing is read again after a restart");

    catalog.commit("aip-d", 1);
    let report = sync(&index, &catalog).await.unwrap();
    assert_eq!((report.added_aips, report.removed_aips), (1, 0));
    assert_eq!(catalog.reads(), 4, "only the new AIP is read");
    assert_eq!(of_aip(&index, "aip-d"), ["aip-d-u0"]);
}

#[tokio::test]
async fn a_removed_aip_loses_its_units_and_nothing_else_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant");
    let catalog = FakeCatalog::default();
    for aip in ["aip-a", "aip-b", "aip-c"] {
        catalog.commit(aip, 3);
    }
    let index = open(&path);
    sync(&index, &catalog).await.unwrap();
    assert_eq!(of_aip(&index, "aip-b"), ["aip-b-u0", "aip-b-u1", "aip-b-u2"]);

    catalog.remove("aip-b");
    let report = sync(&index, &catalog).await.unwrap();
    assert_eq!((report.added_aips, report.removed_aips), (0, 1), "{report:?}");
    assert_eq!(catalog.reads(), 3, "no AIP is read again: no rebuild");
    assert!(of_aip(&index, "aip-b").is_empty());
    assert_eq!(index.count(), 6);
    assert_eq!(of_aip(&index, "aip-a").len(), 3);

    // The deletion is committed with the generation: a restart neither brings the units back nor rebuilds.
    drop(index);
    let index = open(&path);
    assert_eq!(index.outcome(), &OpenOutcome::Reused);
    assert!(sync(&index, &catalog).await.unwrap().up_to_date);
    assert!(of_aip(&index, "aip-b").is_empty());
    assert_eq!(index.count(), 6);

    // An AIP removed, then one added under a later id, in one sync.
    catalog.remove("aip-a");
    catalog.commit("aip-z", 1);
    let report = sync(&index, &catalog).await.unwrap();
    assert_eq!((report.added_aips, report.removed_aips), (1, 1), "{report:?}");
    assert_eq!(index.count(), 4);
}

#[tokio::test]
async fn an_interrupted_sync_keeps_its_progress_and_the_next_one_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = FakeCatalog::default();
    for aip in ["aip-a", "aip-b", "aip-c"] {
        catalog.commit(aip, 2);
    }
    *catalog.failing.lock().unwrap() = Some("aip-b".into());
    let index = open(&dir.path().join("tenant"));
    let err = sync(&index, &catalog).await.unwrap_err();
    assert!(err.0.contains("aip-b"), "{err:?}");
    assert_eq!(index.count(), 2, "what was read before the failure is kept");
    assert_eq!(
        index.synced_generation(),
        None,
        "but the index does not claim to be up to date"
    );

    *catalog.failing.lock().unwrap() = None;
    let report = sync(&index, &catalog).await.unwrap();
    assert_eq!(
        report.added_aips, 2,
        "only aip-b and aip-c are left to read: {report:?}"
    );
    assert_eq!(catalog.reads(), 3);
    assert_eq!(index.count(), 6);
}

#[tokio::test]
async fn clearing_is_the_only_way_to_a_full_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = FakeCatalog::default();
    catalog.commit("aip-a", 2);
    let index = open(&dir.path().join("tenant"));
    sync(&index, &catalog).await.unwrap();
    index.clear().unwrap();
    assert_eq!(index.synced_generation(), None);
    let report = sync(&index, &catalog).await.unwrap();
    assert_eq!((report.added_aips, report.added_units), (1, 2));
    assert_eq!(catalog.reads(), 2);
}

#[test]
fn an_index_of_another_schema_version_is_rebuilt_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant");
    {
        let index = TenantIndex::open_or_create(&path).unwrap();
        index.upsert(&[unit("u1", "Alpha")]).unwrap();
    }
    std::fs::write(path.join("notes.txt"), "not ours").unwrap();
    rewrite_payload(&path, |payload| {
        let mut mark: serde_json::Value = serde_json::from_str(payload.as_str().expect("a payload")).unwrap();
        assert!(
            mark["schema"].is_u64(),
            "the payload carries the schema version: {mark}"
        );
        mark["schema"] = 1.into();
        *payload = mark.to_string().into();
    });

    let index = TenantIndex::open_or_create(&path).unwrap();
    match index.outcome() {
        OpenOutcome::Rebuilt { reason } => assert!(reason.contains("schema version 1"), "{reason}"),
        other => panic!("expected a rebuild, got {other:?}"),
    }
    assert_eq!(index.count(), 0, "emptied, for the next sync to rebuild");
    assert!(
        path.join("notes.txt").exists(),
        "files tantivy did not write are left alone"
    );
    index.upsert(&[unit("u3", "Gamma")]).unwrap();
    assert_eq!(titled(&index, "gamma"), ["u3"]);
}

#[test]
fn a_corrupt_or_foreign_index_directory_is_rebuilt_and_says_why() {
    let dir = tempfile::tempdir().unwrap();

    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(corrupt.join("meta.json"), "{ half a file").unwrap();
    let index = TenantIndex::open_or_create(&corrupt).unwrap();
    assert!(
        matches!(index.outcome(), OpenOutcome::Rebuilt { reason } if reason.contains("unreadable")),
        "{:?}",
        index.outcome()
    );
    index.upsert(&[unit("u1", "Alpha")]).unwrap();
    assert_eq!(titled(&index, "alpha"), ["u1"]);

    // A tantivy index some other program wrote: another schema.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    {
        let mut schema = tantivy::schema::Schema::builder();
        let body = schema.add_text_field("body", tantivy::schema::TEXT);
        let index = tantivy::Index::create_in_dir(&foreign, schema.build()).unwrap();
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        writer.add_document(tantivy::doc!(body => "hello")).unwrap();
        writer.commit().unwrap();
    }
    let index = TenantIndex::open_or_create(&foreign).unwrap();
    assert!(
        matches!(index.outcome(), OpenOutcome::Rebuilt { reason } if reason.contains("foreign")),
        "{:?}",
        index.outcome()
    );
    assert_eq!(index.count(), 0);

    // Our schema, but a commit without our mark (an interrupted or hand-made index).
    let unmarked = dir.path().join("unmarked");
    {
        let index = TenantIndex::open_or_create(&unmarked).unwrap();
        index.upsert(&[unit("u1", "Alpha")]).unwrap();
    }
    rewrite_payload(&unmarked, |payload| *payload = serde_json::Value::Null);
    let index = TenantIndex::open_or_create(&unmarked).unwrap();
    assert!(
        matches!(index.outcome(), OpenOutcome::Rebuilt { reason } if reason.contains("mark")),
        "{:?}",
        index.outcome()
    );
}

#[test]
fn two_fronts_cannot_share_a_search_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = Indexes::on_disk(dir.path()).unwrap();
    first.get("region").unwrap();
    match Indexes::on_disk(dir.path()) {
        Err(e @ SearchError::CacheInUse { .. }) => {
            assert!(e.to_string().contains("--search-dir"), "{e}")
        }
        Err(other) => panic!("expected CacheInUse, got {other}"),
        Ok(_) => panic!("a second front took a directory already in use"),
    }
    drop(first);
    let second = Indexes::on_disk(dir.path()).expect("free again once the first front is gone");
    assert_eq!(
        second.get("region").unwrap().outcome(),
        &OpenOutcome::Reused,
        "and the next front reuses the index"
    );
}

#[tokio::test]
async fn each_tenant_syncs_its_own_index_from_its_own_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let indexes = Indexes::on_disk(dir.path()).unwrap();
    let (region, ville) = (FakeCatalog::default(), FakeCatalog::default());
    // The same AIP id in both tenants must still be two separate things.
    region.commit("aip-shared", 2);
    region.commit("aip-region", 1);
    ville.commit("aip-shared", 1);
    let region_index = indexes.get("region").unwrap();
    let ville_index = indexes.get("ville").unwrap();
    sync(&region_index, &region).await.unwrap();
    sync(&ville_index, &ville).await.unwrap();
    assert_eq!((region_index.count(), ville_index.count()), (3, 1));
    assert!(of_aip(&ville_index, "aip-region").is_empty());

    ville.remove("aip-shared");
    sync(&ville_index, &ville).await.unwrap();
    assert!(sync(&region_index, &region).await.unwrap().up_to_date);
    assert_eq!(
        (region_index.count(), ville_index.count()),
        (3, 0),
        "a removal in one tenant spares the other"
    );
    assert!(dir.path().join("region").join("meta.json").exists());
    assert!(dir.path().join("ville").join("meta.json").exists());
}
