//! The object store's coordinator: whichever node a client reaches stores, reads, lists and
//! deletes objects, talking to shard holders and committing manifests through Raft.

mod catalog;
mod collect_error;
mod collected;
mod crypt;
mod error;
mod fanout;
mod feed;
pub mod fixity;
mod free_space;
mod gc;
mod get;
pub mod lock;
#[cfg(test)]
mod lock_tests;
pub mod model;
mod namespaces;
mod put;
mod retention;
mod small;
#[cfg(test)]
pub(crate) mod test_sm;
mod upload;
pub(crate) mod walk;

pub(crate) use fanout::Fanout;
pub(crate) use feed::Feeds;
pub(crate) use get::damage_command;
pub(crate) use put::{owner_value, parse_owner};
pub(crate) use upload::UploadIntent;

pub use collect_error::CollectError;
pub use error::ObjectError;
pub use free_space::FreeSpaceCache;
pub use gc::{collect_once, lookup_owner_manifest, run_orphan_collector};
pub use get::ReadRange;
pub use lock::{LockActor, LockChange, LockMode, LockSpec, ObjectLock, Override};
pub use model::{Manifest, NamespaceConfig, Sealing, ShardRef, Storage};
pub use small::ShardBatcher;
