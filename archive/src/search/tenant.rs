//! One tenant's index: its writer, its reader, and the write-then-search-immediately contract.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::QueryParser;
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::cache_dir;
use super::query::{self, Hit, SearchPage, SearchQuery};
use super::schema::{self, day_from_number, Fields};
use super::{SearchError, UnitDoc};

/// One indexing thread per tenant: the machine's cores are shared by every tenant and by the archive's other work.
const WRITER_THREADS: usize = 1;
/// Merges are background tidying; tantivy's default of four threads per index would multiply by the tenant count.
const MERGE_THREADS: usize = 1;
/// Tantivy's floor is 15 MB per thread; a little above it flushes 10k catalog units in a few segments.
const WRITER_BUDGET_BYTES: usize = 32_000_000;
/// Enough context around the matched words to judge a hit, short enough for a result list.
const SNIPPET_CHARS: usize = 180;

/// A tenant's search index. Every write commits and reloads before returning, so the next search sees it. A commit
/// flushes a segment (and fsyncs on disk): measured at ~20 ms in RAM and ~120 ms on disk per call whatever its size,
/// against ~0.3 ms per unit inside a batch, so pass a transfer's units to one `upsert` rather than one by one.
pub struct TenantIndex {
    fields: Fields,
    parser: QueryParser,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
}

impl TenantIndex {
    /// An index that lives in memory only, gone when dropped.
    pub fn in_ram() -> Result<Self, SearchError> {
        let (schema, _) = schema::schema();
        Self::from_index(Index::create_in_ram(schema))
    }

    /// Opens the index cached in `dir`, creating it if absent. A cache written by another schema version, or one that
    /// cannot be opened, is emptied and recreated: the caller then sees `count() == 0` and rebuilds from the catalog.
    pub fn open_or_create(dir: &Path) -> Result<Self, SearchError> {
        cache_dir::prepare(dir)?;
        let (schema, _) = schema::schema();
        let open = || -> tantivy::Result<Index> {
            let directory = MmapDirectory::open(dir)?;
            Index::open_or_create(directory, schema.clone())
        };
        let index = match open() {
            Ok(index) => index,
            Err(first) => {
                tracing::warn!(dir = %dir.display(), error = %first, "search cache unreadable; recreating it");
                cache_dir::wipe(dir)?;
                open().map_err(SearchError::index("recreating the on-disk index"))?
            }
        };
        cache_dir::mark_current(dir)?;
        Self::from_index(index)
    }

    fn from_index(index: Index) -> Result<Self, SearchError> {
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
        })
    }

    /// Adds the units, replacing any indexed unit with the same `unit_id` (the last one wins within a batch). The
    /// whole batch is checked first, so a bad unit leaves the index untouched; then it is committed as one.
    pub fn upsert(&self, units: &[UnitDoc]) -> Result<(), SearchError> {
        for unit in units {
            unit.check()?;
        }
        if units.is_empty() {
            return Ok(());
        }
        self.write(|writer, f| {
            for unit in units {
                writer.delete_term(Term::from_field_text(f.unit_id, &unit.unit_id));
                writer
                    .add_document(schema::to_document(f, unit))
                    .map_err(SearchError::index("adding a unit to the index"))?;
            }
            Ok(())
        })
    }

    /// Removes the unit from the index; removing a unit that is not there is not an error.
    pub fn delete(&self, unit_id: &str) -> Result<(), SearchError> {
        self.write(|writer, f| {
            writer.delete_term(Term::from_field_text(f.unit_id, unit_id));
            Ok(())
        })
    }

    /// Empties the index, for a rebuild from the catalog.
    pub fn clear(&self) -> Result<(), SearchError> {
        self.write(|writer, _| {
            writer
                .delete_all_documents()
                .map_err(SearchError::index("clearing the index"))?;
            Ok(())
        })
    }

    /// Units currently visible to search.
    pub fn count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn search(&self, req: &SearchQuery) -> Result<SearchPage, SearchError> {
        req.check()?;
        let query::Built {
            query,
            text: text_query,
        } = query::build(&self.parser, &self.fields, req)?;
        let searcher = self.reader.searcher();
        if req.limit == 0 {
            let total = searcher
                .search(&*query, &Count)
                .map_err(SearchError::index("counting hits"))?;
            return Ok(SearchPage {
                total,
                hits: Vec::new(),
            });
        }
        let collector = (TopDocs::with_limit(req.limit).and_offset(req.offset), Count);
        let (top, total) = searcher
            .search(&*query, &collector)
            .map_err(SearchError::index("searching"))?;
        let snippets = match &text_query {
            Some(text_query) => Snippets::new(&searcher, &**text_query, &self.fields)?,
            None => Snippets::none(),
        };
        let hits = top
            .into_iter()
            .map(|(score, address)| self.hit(&searcher, &snippets, score, address))
            .collect::<Result<_, _>>()?;
        Ok(SearchPage { total, hits })
    }

    fn hit(&self, searcher: &Searcher, snippets: &Snippets, score: f32, at: DocAddress) -> Result<Hit, SearchError> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher.doc(at).map_err(SearchError::index("reading a hit"))?;
        let text = |field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_string);
        let day = |field| doc.get_first(field).and_then(|v| v.as_i64()).and_then(day_from_number);
        Ok(Hit {
            unit_id: text(f.unit_id).unwrap_or_default(),
            title: text(f.title).unwrap_or_default(),
            flow: text(f.flow),
            start_date: day(f.start_day),
            end_date: day(f.end_day),
            score,
            snippet: snippets.of(&doc),
        })
    }

    /// Runs `change` under the writer lock, then commits and reloads; on failure, staged changes are rolled back so a
    /// half-applied batch is never published by a later commit.
    fn write(
        &self,
        change: impl FnOnce(&mut IndexWriter, &Fields) -> Result<(), SearchError>,
    ) -> Result<(), SearchError> {
        let mut writer = self.lock_writer()?;
        let result = change(&mut writer, &self.fields).and_then(|()| {
            writer.commit().map_err(SearchError::index("committing"))?;
            Ok(())
        });
        if result.is_err() {
            writer
                .rollback()
                .map_err(SearchError::index("rolling back a failed write"))?;
            return result;
        }
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

/// Excerpts around the matched words, from the description or else the flattened metadata.
struct Snippets {
    generators: Vec<SnippetGenerator>,
}

impl Snippets {
    fn none() -> Self {
        Snippets { generators: Vec::new() }
    }

    fn new(searcher: &Searcher, query: &dyn tantivy::query::Query, f: &Fields) -> Result<Self, SearchError> {
        let mut generators = Vec::new();
        for field in [f.description, f.text] {
            let mut generator =
                SnippetGenerator::create(searcher, query, field).map_err(SearchError::index("preparing snippets"))?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            generators.push(generator);
        }
        Ok(Snippets { generators })
    }

    fn of(&self, doc: &TantivyDocument) -> Option<String> {
        self.generators
            .iter()
            .map(|g| g.snippet_from_doc(doc))
            .find(|s| !s.is_empty() && !s.highlighted().is_empty())
            .map(|s| s.fragment().to_string())
    }
}
