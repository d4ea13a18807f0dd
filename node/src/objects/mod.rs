//! The object store's coordinator: whichever node a client reaches stores, reads, lists and
//! deletes objects, talking to shard holders and committing manifests through Raft.

mod catalog;
mod error;
mod gc;
mod get;
pub mod model;
mod namespaces;
mod put;

pub use error::ObjectError;
pub use gc::{collect_once, run_orphan_collector};
pub use get::ReadRange;
pub use model::{Manifest, NamespaceConfig, ShardRef, Storage};
