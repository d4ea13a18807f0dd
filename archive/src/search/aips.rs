//! Which AIPs an index holds units of, read page by page from its term dictionary: the index itself is the record
//! of what it has indexed, so there is no second list to keep in step, and nothing proportional to the catalog in RAM.

use std::collections::BTreeSet;

use tantivy::schema::IndexRecordOption;
use tantivy::{DocSet, Searcher, SegmentReader, TERMINATED};

use super::SearchError;

/// Up to `limit` AIP ids, in byte order, strictly after `after`, that have at least one live unit in `searcher`'s
/// view. Deleted units linger in the term dictionary until their segment is merged, hence the liveness check.
pub(crate) fn indexed_after(
    searcher: &Searcher,
    field: tantivy::schema::Field,
    after: &str,
    limit: usize,
) -> Result<Vec<String>, SearchError> {
    // Each segment gives its first `limit` live ids after `after`; the overall first `limit` are among them.
    let mut ids = BTreeSet::new();
    for segment in searcher.segment_readers() {
        let found = live_after(segment, field, after, limit).map_err(|e| SearchError::Index {
            action: "listing the indexed AIPs",
            source: e,
        })?;
        ids.extend(found);
    }
    Ok(ids.into_iter().take(limit).collect())
}

fn live_after(
    segment: &SegmentReader,
    field: tantivy::schema::Field,
    after: &str,
    limit: usize,
) -> tantivy::Result<Vec<String>> {
    let inverted = segment.inverted_index(field)?;
    let mut terms = inverted.terms().range().gt(after.as_bytes()).into_stream()?;
    let mut out = Vec::new();
    while out.len() < limit && terms.advance() {
        let alive = match segment.alive_bitset() {
            None => true,
            Some(bitset) => {
                let mut postings = inverted.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
                let mut alive = false;
                while postings.doc() != TERMINATED {
                    if bitset.is_alive(postings.doc()) {
                        alive = true;
                        break;
                    }
                    postings.advance();
                }
                alive
            }
        };
        if alive {
            out.push(String::from_utf8_lossy(terms.key()).into_owned());
        }
    }
    Ok(out)
}
