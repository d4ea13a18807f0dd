//! Bringing an index up to the catalog incrementally: a merge of two sorted lists, the AIPs the index holds units
//! of (its term dictionary) and the AIPs committed in the catalog, both read page by page.
//!
//! - An AIP committed but not indexed has its units read and added; one indexed but no longer committed has its
//!   units deleted. Nothing else is touched, and memory holds a page of ids and a batch of units, whatever the size
//!   of the catalog.
//! - The catalog generation is read *after* the index view is taken, and recorded (in the commit payload) only by
//!   the last commit of a sync that went to the end: an AIP committed meanwhile changed the generation, so the next
//!   sync looks again; an interrupted sync leaves a generation that no longer matches, so the next one resumes.

use std::sync::Arc;

use async_trait::async_trait;

use super::{aips, SearchError, TenantIndex, UnitDoc};

/// Ids read per page from either side.
const PAGE: usize = 1000;
/// Units added per commit while syncing: a commit costs ~0.1 s on disk, a unit ~0.3 ms; the writer's own budget
/// bounds the RAM either way.
const UNITS_PER_COMMIT: usize = 20_000;
/// AIPs removed per commit.
const REMOVALS_PER_COMMIT: usize = 10_000;

/// Changes older than the newest one applied by this much are read again at each sync: fronts' clocks differ, so
/// a change written later may carry an earlier time. Re-applying one is harmless.
const CHANGE_WINDOW_MICROS: i64 = 10 * 60 * 1_000_000;

/// Units whose catalog records changed in place (rules recomputed, units eliminated from an AIP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitChange {
    /// Its place in the catalog's list: the next page starts after it.
    pub key: String,
    /// When it was written, in microseconds (the writing front's clock).
    pub at: i64,
    pub unit_ids: Vec<String>,
}

/// A committed AIP as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedAip {
    pub aip_id: String,
    /// Units it holds; an AIP without any is never read.
    pub units: usize,
}

/// The catalog, as an index syncs from it.
#[async_trait]
pub trait CatalogSource: Send + Sync {
    type Error: From<SearchError> + Send;
    /// Changes whenever an AIP is committed or removed.
    async fn generation(&self) -> Result<i64, Self::Error>;
    /// Up to `limit` committed AIPs whose id sorts (bytewise) strictly after `after`, in that order.
    async fn committed_after(&self, after: &str, limit: usize) -> Result<Vec<CommittedAip>, Self::Error>;
    /// The units of a committed AIP.
    async fn units(&self, aip_id: &str) -> Result<Vec<UnitDoc>, Self::Error>;
    /// Up to `limit` unit changes written at or after `since` (microseconds) whose key sorts after `after` (empty:
    /// from the first), in key order. A catalog whose units never change in place has none.
    async fn unit_changes(&self, _since: i64, _after: &str, _limit: usize) -> Result<Vec<UnitChange>, Self::Error> {
        Ok(Vec::new())
    }
    /// A unit's current record; `None` when it no longer exists.
    async fn unit(&self, _unit_id: &str) -> Result<Option<UnitDoc>, Self::Error> {
        Ok(None)
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// The catalog generation the index now reflects.
    pub generation: i64,
    /// The generation had not moved: nothing was read beyond it.
    pub up_to_date: bool,
    pub added_aips: usize,
    pub added_units: usize,
    pub removed_aips: usize,
    /// Units the index refused (see the log), left out of search.
    pub skipped_units: usize,
    /// Units re-read because their records changed in place (or removed, when gone).
    pub changed_units: usize,
}

/// Brings `index` up to `catalog`. Callers serialise syncs of one index (a second concurrent sync would only
/// repeat work, but there is no point).
pub async fn sync<S: CatalogSource>(index: &Arc<TenantIndex>, catalog: &S) -> Result<SyncReport, S::Error> {
    let searcher = index.searcher();
    let generation = catalog.generation().await?;
    let mut report = SyncReport {
        generation,
        ..SyncReport::default()
    };
    if index.synced_generation() == Some(generation) {
        report.up_to_date = true;
        return Ok(report);
    }
    let mut batch = Batch::default();
    let merged = match merge(index, catalog, &searcher, &mut batch, &mut report).await {
        Ok(()) => follow_changes(index, catalog, &mut batch, &mut report).await,
        Err(e) => Err(e),
    };
    match merged {
        Ok(seen) => {
            batch.changes_seen = seen;
            batch.commit(index, Some(generation)).await?
        }
        Err(e) => {
            // Keep what was read: the next sync then resumes instead of starting over.
            if let Err(commit) = batch.commit(index, None).await {
                tracing::warn!("search index: keeping a partial sync failed: {commit}");
            }
            return Err(e);
        }
    }
    if report.added_aips + report.removed_aips > 0 {
        tracing::info!(
            generation,
            added_aips = report.added_aips,
            added_units = report.added_units,
            removed_aips = report.removed_aips,
            "search index synced from the catalog"
        );
    }
    Ok(report)
}

/// The merge itself; what it finds goes to `batch`, committed whenever it is large.
async fn merge<S: CatalogSource>(
    index: &Arc<TenantIndex>,
    catalog: &S,
    searcher: &tantivy::Searcher,
    batch: &mut Batch,
    report: &mut SyncReport,
) -> Result<(), S::Error> {
    let aip_field = index.fields().aip_id;
    let mut indexed = Cursor::default();
    let mut committed = Cursor::default();
    loop {
        if indexed.needs_page() {
            let after = indexed.after.clone();
            let s = searcher.clone();
            let page = blocking(move || aips::indexed_after(&s, aip_field, &after, PAGE)).await?;
            indexed.fill(
                page.into_iter()
                    .map(|id| CommittedAip { aip_id: id, units: 0 })
                    .collect(),
            );
        }
        if committed.needs_page() {
            let page = catalog.committed_after(&committed.after, PAGE).await?;
            committed.fill(page);
        }
        let step = match (indexed.head(), committed.head()) {
            (None, None) => break,
            (Some(i), Some(c)) if i.aip_id == c.aip_id => Step::Both,
            (Some(i), Some(c)) if i.aip_id < c.aip_id => Step::Remove,
            (Some(_), None) => Step::Remove,
            (_, Some(_)) => Step::Add,
        };
        match step {
            Step::Both => {
                indexed.next();
                committed.next();
            }
            Step::Remove => {
                if let Some(gone) = indexed.next() {
                    batch.remove.push(gone.aip_id);
                    report.removed_aips += 1;
                }
            }
            Step::Add => {
                if let Some(new) = committed.next() {
                    if new.units > 0 {
                        for unit in catalog.units(&new.aip_id).await? {
                            // One bad record must not keep a whole tenant from being searchable.
                            match unit.check() {
                                Ok(()) => {
                                    report.added_units += 1;
                                    batch.add.push(unit);
                                }
                                Err(e) => {
                                    tracing::warn!("search index: skipping a unit of AIP {}: {e}", new.aip_id);
                                    report.skipped_units += 1;
                                }
                            }
                        }
                    }
                    report.added_aips += 1;
                }
            }
        }
        if batch.add.len() >= UNITS_PER_COMMIT || batch.remove.len() >= REMOVALS_PER_COMMIT {
            std::mem::take(batch).commit(index, None).await?;
        }
    }
    Ok(())
}

/// Re-reads the units whose records changed in place since the index last looked (with a margin for clocks), and
/// returns the newest change seen.
async fn follow_changes<S: CatalogSource>(
    index: &Arc<TenantIndex>,
    catalog: &S,
    batch: &mut Batch,
    report: &mut SyncReport,
) -> Result<Option<i64>, S::Error> {
    let seen = index.changes_seen();
    let since = seen.map_or(0, |s| s.saturating_sub(CHANGE_WINDOW_MICROS));
    let mut newest = seen;
    let mut units = std::collections::BTreeSet::new();
    let mut after = String::new();
    loop {
        let page = catalog.unit_changes(since, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.key.clone();
        for change in page {
            newest = Some(newest.map_or(change.at, |n| n.max(change.at)));
            units.extend(change.unit_ids);
        }
    }
    // Each unit once, as it is now: the last of several changes is what its record says.
    for id in units {
        report.changed_units += 1;
        match catalog.unit(&id).await? {
            Some(doc) => match doc.check() {
                Ok(()) => batch.add.push(doc),
                Err(e) => {
                    tracing::warn!("search index: skipping changed unit {id}: {e}");
                    report.skipped_units += 1;
                }
            },
            None => batch.remove_units.push(id),
        }
        if batch.add.len() >= UNITS_PER_COMMIT || batch.remove_units.len() >= REMOVALS_PER_COMMIT {
            std::mem::take(batch).commit(index, None).await?;
        }
    }
    Ok(newest)
}

/// Where the merge goes next: the same AIP on both sides, one only indexed, or one only committed.
enum Step {
    Both,
    Remove,
    Add,
}

#[derive(Default)]
struct Batch {
    remove: Vec<String>,
    remove_units: Vec<String>,
    add: Vec<UnitDoc>,
    /// Recorded with the sync's last commit only, as the generation is.
    changes_seen: Option<i64>,
}

impl Batch {
    async fn commit(self, index: &Arc<TenantIndex>, synced: Option<i64>) -> Result<(), SearchError> {
        let index = Arc::clone(index);
        let seen = synced.and(self.changes_seen);
        blocking(move || index.apply_changes(&self.remove, &self.remove_units, &self.add, synced, seen)).await
    }
}

/// One side of the merge: a page of ids and where the next page starts.
#[derive(Default)]
struct Cursor {
    page: std::collections::VecDeque<CommittedAip>,
    after: String,
    exhausted: bool,
}

impl Cursor {
    fn needs_page(&self) -> bool {
        self.page.is_empty() && !self.exhausted
    }

    fn fill(&mut self, page: Vec<CommittedAip>) {
        match page.last() {
            Some(last) => self.after = last.aip_id.clone(),
            None => self.exhausted = true,
        }
        self.page = page.into();
    }

    fn head(&self) -> Option<&CommittedAip> {
        self.page.front()
    }

    fn next(&mut self) -> Option<CommittedAip> {
        self.page.pop_front()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SearchError::Index {
        action: "running an index task",
        source: tantivy::TantivyError::InternalError(e.to_string()),
    })?
}
