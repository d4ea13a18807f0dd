//! Persistent Raft storage in one RocksDB instance: the log, the vote, the state machine
//! (cluster map + metadata keyspace) and its snapshots. One DB means one WAL: a synced write
//! also makes every earlier write durable.

// openraft's traits fix the error type (`StorageError`, ~224 bytes); helpers return it as is.
#![allow(clippy::result_large_err)]

mod apply;
mod db;
mod log_store;
pub mod shard_index;
mod snapshot_file;
mod state_machine;
mod wal_sync;

pub use db::{open_db, open_db_with, Db, LocalIdentity, StoreError};
pub use log_store::LogStore;
pub use state_machine::{StateMachineStore, StateView};

#[cfg(test)]
mod tests;
