//! Archipel's archive-management layer (OAIS): SEDA transfers in, AIPs in the cluster, replies out.
//!
//! Invariants this crate keeps:
//! - It talks to the cluster only through `archipel-client`; it never reaches the nodes' internals.
//! - All its state lives in the cluster: an archive front is stateless and can be rebuilt. Its
//!   copies of the catalog (`catalog_copy`) are used only while the catalog token they were made
//!   under is current; every unit or AIP write changes the token in its own transaction.
//! - The tenant of a call comes from its credential, never from what the caller names.
//! - A transfer is stored whole or not at all, and every step is in the tenant's logbook.
//! - No client can hold the front by going silent: headers have a deadline, uploads an idle
//!   limit, bodies a size limit, connections a cap (`http`, `ArchiveConfig`).
//! - The doors (`doors`: Pastell's as@lae REST, Vitam ingest-external) are adapters: every transfer
//!   they take goes through `ingest::submit`, and their answers come from what ingest stored.

pub mod access;
pub mod api;
pub mod auth;
pub mod catalog;
pub mod catalog_copy;
mod counted;
pub mod delivery;
pub mod disposal;
pub mod doors;
pub mod error;
pub mod flows;
pub mod http;
pub mod ingest;
pub mod journal;
pub mod keys;
pub mod logbook;
pub mod model;
pub mod referentials;
pub mod rules;
pub mod rules_import;
pub mod search;
pub mod searching;
pub mod seda_xsd;
pub mod server;
pub mod service;
pub mod store;
pub mod xmllint;

pub use error::{ArchiveError, Result};
