//! Per-tenant search over the catalog of archive units.
//!
//! The catalog in the cluster is the truth; these indexes are a cache an archive front builds from it (in RAM or in a
//! throw-away local directory) and may rebuild at any time.
//!
//! - **On disk, incremental.** A front keeps each tenant's index in its own directory (tantivy's `MmapDirectory`),
//!   reopens it after a restart, and [`sync`] brings it up to the catalog by adding the AIPs committed since and
//!   deleting the units of AIPs that went; the generation it reflects is in the commit payload, atomic with the
//!   commit. Only an unusable directory (another schema version, foreign, unreadable) or an explicit reindex empties
//!   it. RAM stays bounded: the writer's budget, a page of AIP ids, a batch of units.
//! - **Rules and facets.** Each applied rule is one key (category, final action, end day), so a rule filter matches
//!   a single rule, never pieces of two; facet counts come from columnar fields in the same pass as the hits.
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

mod aips;
mod cache_dir;
mod doc;
mod error;
mod facets;
mod hits;
mod indexes;
mod query;
mod rules;
mod schema;
mod sync;
mod tenant;

pub use cache_dir::OpenOutcome;
pub use doc::UnitDoc;
pub use error::SearchError;
pub use facets::{Bucket, Facet, Facets, FACET_VALUES};
pub use indexes::Indexes;
pub use query::{CommunicableFilter, Hit, HoldFilter, SearchPage, SearchQuery, MAX_LIMIT, MAX_OFFSET, MAX_QUERY_BYTES};
pub use rules::{RuleDoc, RuleFilter};
pub use sync::{sync, CatalogSource, CommittedAip, SyncReport, UnitChange};
pub use tenant::TenantIndex;
