//! What can go wrong while indexing or searching, phrased for the person who can fix it.

use chrono::NaiveDate;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("query `{query}` is malformed{position}: {reason}; quote phrases with \"…\" and escape the characters + - ( ) : ^ [ ] {{ }} ~ ! \\ \" with a backslash")]
    MalformedQuery {
        query: String,
        position: String,
        reason: String,
    },

    #[error("query is {len} bytes long, more than the {max} allowed; shorten it")]
    QueryTooLong { len: usize, max: usize },

    #[error("query nests parentheses {depth} deep, more than the {max} allowed; flatten it")]
    QueryTooDeep { depth: usize, max: usize },

    #[error("limit {limit} is more than the {max} allowed; ask for fewer hits per page")]
    LimitTooLarge { limit: usize, max: usize },

    #[error("offset {offset} is more than the {max} allowed; narrow the query instead of paging this deep")]
    OffsetTooLarge { offset: usize, max: usize },

    #[error("date range is empty: `from` {from} is after `to` {to}; swap them")]
    EmptyDateRange { from: NaiveDate, to: NaiveDate },

    #[error("rule filter is invalid: {reason}")]
    InvalidRuleFilter { reason: String },

    #[error("search index directory {path} is already used by another archive front on this machine; give each front its own search directory (--search-dir)")]
    CacheInUse { path: String },

    #[error("archive unit `{unit_id}` cannot be indexed: {reason}")]
    InvalidUnit { unit_id: String, reason: String },

    #[error("tenant `{tenant}` cannot have a search index: {reason}")]
    InvalidTenant { tenant: String, reason: String },

    #[error("search index cache at {path} is unusable: {source}; check the directory's permissions or point the cache elsewhere")]
    CacheDir { path: String, source: std::io::Error },

    #[error("search index failed while {action}: {source}; the index is only a cache: delete it and rebuild it from the catalog")]
    Index {
        action: &'static str,
        source: tantivy::TantivyError,
    },
}

impl SearchError {
    pub(crate) fn index(action: &'static str) -> impl FnOnce(tantivy::TantivyError) -> SearchError {
        move |source| SearchError::Index { action, source }
    }
}
