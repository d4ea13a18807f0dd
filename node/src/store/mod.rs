//! Persistent Raft storage in one RocksDB instance: the log, the vote, the state machine
//! (cluster map + metadata keyspace) and its snapshots. One DB means one WAL: a synced write
//! also makes every earlier write durable.

mod apply;
mod db;
mod log_store;
mod state_machine;

pub use db::{open_db, Db, LocalIdentity, StoreError};
pub use log_store::LogStore;
pub use state_machine::{StateMachineStore, StateView};
