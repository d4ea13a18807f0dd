//! One tenant's index: its writer, its reader, and the write-then-search-immediately contract.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use tantivy::collector::{Count, TopDocs};
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::QueryParser;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, Term};

use super::cache_dir::{self, Mark, OpenOutcome};
use super::hits::{self, Snippets};
use super::query::{self, SearchPage, SearchQuery};
use super::schema::{self, Fields};
use super::{facets, SearchError, UnitDoc};

/// One indexing thread per tenant: the machine's cores are shared by every tenant and by the archive's other work.
const WRITER_THREADS: usize = 1;
/// Merges are background tidying; tantivy's default of four threads per index would multiply by the tenant count.
const MERGE_THREADS: usize = 1;
/// Tantivy's floor is 15 MB per thread; a little above it flushes 10k catalog units in a few segments. This is
/// the bound on what indexing holds in RAM: beyond it tantivy writes a segment to disk, however large the batch.
const WRITER_BUDGET_BYTES: usize = 32_000_000;

/// A tenant's search index. Every write commits and reloads before returning, so the next search sees it. A commit
/// flushes a segment (and fsyncs on disk): measured at ~20 ms in RAM and ~120 ms on disk per call whatever its size,
/// against ~0.3 ms per unit inside a batch, so pass a transfer's units to one `upsert` rather than one by one.
pub struct TenantIndex {
    fields: Fields,
    parser: QueryParser,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// What the last commit recorded; changed only under the writer lock.
    mark: Mutex<Mark>,
    outcome: OpenOutcome,
}

impl TenantIndex {
    /// An index that lives in memory only, gone when dropped.
    pub fn in_ram() -> Result<Self, SearchError> {
        let (schema, _) = schema::schema();
        Self::from_index(Index::create_in_ram(schema), Mark::fresh(), OpenOutcome::Created)
    }

    /// Opens the index cached in `dir`, creating it if absent. A cache written by another schema version, by
    /// another program, or one that cannot be opened, is emptied and recreated with a log line saying why
    /// ([`TenantIndex::outcome`] tells which happened); the next sync then builds it from the catalog.
    pub fn open_or_create(dir: &Path) -> Result<Self, SearchError> {
        let (index, mark, outcome) = cache_dir::open(dir)?;
        let fresh = outcome != OpenOutcome::Reused;
        let tenant_index = Self::from_index(index, mark, outcome)?;
        if fresh {
            // Mark it at once, so an index interrupted before its first sync is still recognised as ours.
            tenant_index.write(|_, _| Ok(()), |mark| mark)?;
        }
        Ok(tenant_index)
    }

    fn from_index(index: Index, mark: Mark, outcome: OpenOutcome) -> Result<Self, SearchError> {
        schema::register_analyzers(&index);
        let fields = fields_of(&index)?;
        let parser = query::query_parser(&index, &fields);
        // Manual reload: we reload right after each commit, which is what makes writes visible at once.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(SearchError::index("opening the index reader"))?;
        let options = IndexWriterOptions::builder()
            .num_worker_threads(WRITER_THREADS)
            .num_merge_threads(MERGE_THREADS)
            .memory_budget_per_thread(WRITER_BUDGET_BYTES)
            .build();
        let writer = index.writer_with_options(options).map_err(SearchError::index(
            "opening the index writer (is another process using this cache?)",
        ))?;
        Ok(TenantIndex {
            fields,
            parser,
            reader,
            writer: Mutex::new(writer),
            mark: Mutex::new(mark),
            outcome,
        })
    }

    /// How the index was found when opened: reused, created, or rebuilt (and why).
    pub fn outcome(&self) -> &OpenOutcome {
        &self.outcome
    }

    /// The catalog generation the index last reflected in full, as recorded by its last commit; `None` before the
    /// first complete sync (or after [`TenantIndex::clear`]).
    pub fn synced_generation(&self) -> Option<i64> {
        self.mark.lock().unwrap_or_else(|p| p.into_inner()).generation
    }

    /// The newest catalog unit change the index has applied (`None`: none yet, or cleared).
    pub fn changes_seen(&self) -> Option<i64> {
        self.mark.lock().unwrap_or_else(|p| p.into_inner()).changes_seen
    }

    /// Adds the units, replacing any indexed unit with the same `unit_id` (the last one wins within a batch). The
    /// whole batch is checked first, so a bad unit leaves the index untouched; then it is committed as one.
    pub fn upsert(&self, units: &[UnitDoc]) -> Result<(), SearchError> {
        if units.is_empty() {
            return Ok(());
        }
        self.apply(&[], units, None)
    }

    /// [`TenantIndex::apply`], also removing the units `remove_units` and recording in the mark the newest catalog
    /// unit change applied.
    pub fn apply_changes(
        &self,
        remove_aips: &[String],
        remove_units: &[String],
        add: &[UnitDoc],
        synced: Option<i64>,
        changes_seen: Option<i64>,
    ) -> Result<(), SearchError> {
        for unit in add {
            unit.check()?;
        }
        self.write(
            |writer, f| {
                for aip in remove_aips {
                    writer.delete_term(Term::from_field_text(f.aip_id, aip));
                }
                for unit in remove_units {
                    writer.delete_term(Term::from_field_text(f.unit_id, unit));
                }
                for unit in add {
                    writer.delete_term(Term::from_field_text(f.unit_id, &unit.unit_id));
                    writer
                        .add_document(schema::to_document(f, unit))
                        .map_err(SearchError::index("adding a unit to the index"))?;
                }
                Ok(())
            },
            |mark| Mark {
                generation: synced.or(mark.generation),
                changes_seen: changes_seen.or(mark.changes_seen),
                ..mark
            },
        )
    }

    /// In one commit: removes every unit of the AIPs `remove_aips`, adds (or replaces) `add`, and, when `synced`
    /// is given, records that the index now reflects that catalog generation. Checked first, all or nothing.
    pub fn apply(&self, remove_aips: &[String], add: &[UnitDoc], synced: Option<i64>) -> Result<(), SearchError> {
        self.apply_changes(remove_aips, &[], add, synced, None)
    }

    /// Removes the unit from the index; removing a unit that is not there is not an error.
    pub fn delete(&self, unit_id: &str) -> Result<(), SearchError> {
        self.write(
            |writer, f| {
                writer.delete_term(Term::from_field_text(f.unit_id, unit_id));
                Ok(())
            },
            |mark| mark,
        )
    }

    /// Empties the index, for a rebuild from the catalog; it then reflects no generation.
    pub fn clear(&self) -> Result<(), SearchError> {
        self.write(
            |writer, _| {
                writer
                    .delete_all_documents()
                    .map_err(SearchError::index("clearing the index"))?;
                Ok(())
            },
            |_| Mark::fresh(),
        )
    }

    /// Units currently visible to search.
    pub fn count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// A consistent view of the index as of the last commit, for reading many things from one state.
    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn search(&self, req: &SearchQuery) -> Result<SearchPage, SearchError> {
        req.check()?;
        let query::Built {
            query,
            text: text_query,
        } = query::build(&self.parser, &self.fields, req)?;
        let searcher = self.reader.searcher();
        let facets_collector = if req.facets { Some(facets::collector()?) } else { None };
        // A zero limit still counts: TopDocs refuses a limit of 0, so ask for one hit and drop it.
        let top = TopDocs::with_limit(req.limit.max(1)).and_offset(req.offset);
        let (top, total, aggregations) = searcher
            .search(&*query, &(top, Count, facets_collector))
            .map_err(SearchError::index("searching"))?;
        let facets = aggregations
            .map(|results| facets::from_results(&results, total))
            .transpose()?;
        let hits = if req.limit == 0 {
            Vec::new()
        } else {
            let snippets = match &text_query {
                Some(text_query) => Snippets::new(&searcher, &**text_query, &self.fields)?,
                None => Snippets::none(),
            };
            top.into_iter()
                .map(|(score, address)| hits::hit(&searcher, &self.fields, &snippets, score, address))
                .collect::<Result<_, _>>()?
        };
        Ok(SearchPage { total, hits, facets })
    }

    /// Runs `change` under the writer lock, then commits with the mark `next_mark` makes of the current one, and
    /// reloads; on failure, staged changes are rolled back so a half-applied batch is never published by a later
    /// commit, and the mark is unchanged.
    fn write(
        &self,
        change: impl FnOnce(&mut IndexWriter, &Fields) -> Result<(), SearchError>,
        next_mark: impl FnOnce(Mark) -> Mark,
    ) -> Result<(), SearchError> {
        let mut writer = self.lock_writer()?;
        let mark = next_mark(*self.mark.lock().unwrap_or_else(|p| p.into_inner()));
        let result = change(&mut writer, &self.fields).and_then(|()| {
            let mut commit = writer.prepare_commit().map_err(SearchError::index("committing"))?;
            commit.set_payload(&mark.to_payload());
            commit.commit().map_err(SearchError::index("committing"))?;
            Ok(())
        });
        if result.is_err() {
            writer
                .rollback()
                .map_err(SearchError::index("rolling back a failed write"))?;
            return result;
        }
        *self.mark.lock().unwrap_or_else(|p| p.into_inner()) = mark;
        self.reader
            .reload()
            .map_err(SearchError::index("reloading the reader after a commit"))
    }

    fn lock_writer(&self) -> Result<MutexGuard<'_, IndexWriter>, SearchError> {
        match self.writer.lock() {
            Ok(guard) => Ok(guard),
            // A panic mid-write may have left changes staged: drop them before anyone commits.
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard
                    .rollback()
                    .map_err(SearchError::index("rolling back after a panicked write"))?;
                self.writer.clear_poison();
                Ok(guard)
            }
        }
    }
}

/// Looks up our fields by name, which also proves an opened on-disk index has the schema we expect.
fn fields_of(index: &Index) -> Result<Fields, SearchError> {
    let (expected, fields) = schema::schema();
    if index.schema() != expected {
        return Err(SearchError::Index {
            action: "checking the index schema",
            source: tantivy::TantivyError::SchemaError("the cached index has another schema".into()),
        });
    }
    Ok(fields)
}
