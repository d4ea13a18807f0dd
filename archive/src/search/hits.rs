//! Turning matched documents into hits: stored fields and a snippet around the matched words.

use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::query::Hit;
use super::schema::{day_from_number, Fields};
use super::SearchError;

/// Enough context around the matched words to judge a hit, short enough for a result list.
const SNIPPET_CHARS: usize = 180;

pub(crate) fn hit(
    searcher: &Searcher,
    f: &Fields,
    snippets: &Snippets,
    score: f32,
    at: DocAddress,
) -> Result<Hit, SearchError> {
    let doc: TantivyDocument = searcher.doc(at).map_err(SearchError::index("reading a hit"))?;
    let text = |field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_string);
    let day = |field| doc.get_first(field).and_then(|v| v.as_i64()).and_then(day_from_number);
    Ok(Hit {
        unit_id: text(f.unit_id).unwrap_or_default(),
        title: text(f.title).unwrap_or_default(),
        flow: text(f.flow),
        level: text(f.description_level).unwrap_or_default(),
        originating_agency: text(f.originating_agency).unwrap_or_default(),
        start_date: day(f.start_day),
        end_date: day(f.end_day),
        score,
        snippet: snippets.of(&doc),
    })
}

/// Excerpts around the matched words, from the description or else the flattened metadata.
pub(crate) struct Snippets {
    generators: Vec<SnippetGenerator>,
}

impl Snippets {
    pub fn none() -> Self {
        Snippets { generators: Vec::new() }
    }

    pub fn new(searcher: &Searcher, query: &dyn tantivy::query::Query, f: &Fields) -> Result<Self, SearchError> {
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
