//! Per-tenant search over the catalog of archive units.
//!
//! The catalog in the cluster is the truth; these indexes are a cache an archive front builds from it (in RAM or in a
//! throw-away local directory) and may rebuild at any time.
//!
//! - **Isolation by construction.** Each tenant has its own tantivy index ([`TenantIndex`]); there is no shared index
//!   and no tenant filter to forget. [`Indexes`] hands out a tenant's index, creating it on first use.
//! - **Write, then search.** [`TenantIndex::upsert`], [`TenantIndex::delete`] and [`TenantIndex::clear`] each commit and
//!   reload the reader before returning, so the very next search sees the change. A commit costs a segment flush (and
//!   an fsync on disk, tens of milliseconds), so callers should pass units in batches rather than one at a time.
//! - **French text.** Titles, descriptions, keywords and flattened metadata are lowercased, stripped of French stop
//!   words, folded to ASCII and stemmed (Snowball French), so `deliberations` finds `Délibération`.
//! - **Hostile queries.** Query text, limits, offsets and dates are bounded and checked; a malformed query is an error
//!   that says where and how to fix it, never a silent empty result.

mod cache_dir;
mod doc;
mod error;
mod indexes;
mod query;
mod schema;
mod tenant;

pub use doc::UnitDoc;
pub use error::SearchError;
pub use indexes::Indexes;
pub use query::{Hit, SearchPage, SearchQuery, MAX_LIMIT, MAX_OFFSET, MAX_QUERY_BYTES};
pub use tenant::TenantIndex;
