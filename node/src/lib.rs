//! The Archipel storage daemon.
//!
//! Invariants this crate keeps:
//! - Cluster metadata changes only through Raft: a write is acknowledged once committed on a
//!   quorum of voters, and applying the log is deterministic on every node.
//! - Votes and log entries are fsync'd before they count; a synced write covers every earlier one.
//! - Raft voters are spread across sites so that, with three sites or more, losing one whole site
//!   keeps a quorum (`voters`).
//! - A data dir belongs to one node id and one cluster; it refuses any other.
//! - A node never exchanges Raft messages with a node of another cluster.
//! - Errors returned to clients say whether a retry elsewhere is safe (`grpc`).
//! - Every listener and channel is mutual TLS with the cluster CA; a peer node's certificate names
//!   the node id and site the cluster map holds, and revoked serials are refused (`tls`).
//! - A tenant certificate reaches only its tenant's namespaces, in every object and meta RPC
//!   (`tls::tenant`).
//! - No read from the network waits forever: client streams have an idle timeout, unary data
//!   RPCs a deadline, connections keepalive pings and a cap (`net_limits`, `grpc::idle`).
//! - Objects of an encrypted namespace are sealed (AEAD) before erasure coding and opened after
//!   decoding, inline ones too: shards, Raft entries and RocksDB never hold their plaintext, and
//!   scrub and repair verify and rebuild ciphertext without any key (`crypto`, docs/encryption.md).
//! - An object is visible only once every stored shard is durable (an fsync'd file, or a packed
//!   shard in a synced WAL write) and its manifest is committed; a failed write leaves nothing
//!   visible (`objects`, `shards`).
//! - Grouping never changes an outcome: each transaction of a grouped Raft entry is evaluated on
//!   its own and gets its own revision, and each shard of a batched write gets its own result
//!   (`group_commit`, `objects::small`).
//! - Time that decides safety (retention, mark and intent expiry, commit deadlines) is the
//!   leader-stamped, monotonic state-machine time, judged in apply (`time`, `objects::retention`).
//! - Wall time is read only through the node's injected `time::Clock` (`SystemClock`, the test
//!   rig's `OffsetFileClock`, tests' `ManualClock`); waits and intervals use `tokio::time::Instant`.
//!   Tests inject the wall clock; a paused tokio runtime, or a simulator, can drive the waits.
//! - A linearizable read uses a leadership confirmation that started after the read arrived;
//!   concurrent reads share one (`read_rounds`). Only a peer that cannot be connected to is
//!   reported unreachable to openraft, and an AppendEntries carries at most 1 MiB of entries
//!   (`raft::network`).
//! - A command handed to Raft is never proposed again; a failure after that is `Indeterminate`
//!   (`node::write_as_leader`).
//! - A damaged Raft WAL stops the node at start instead of dropping synced entries (`store`).
//! - Shard hashes in a manifest are the coordinator's, computed from what it encoded; a storage
//!   node keeps a shard only if it hashes so, and another answer fails the write (`objects::put`).
//! - No repair entry holds up the others: passes resume from a cursor, failures back off, objects
//!   with fewer than k sound shards go to the lost list; unreachable shards are never data loss
//!   (`repair`, `objects::feed`).
//! - No shard read or write waits forever on one disk: per-stripe deadlines with failover, job
//!   deadlines, and a liveness probe that does disk I/O (`objects::feed`, `shards::DiskProbe`).
//! - The collector deletes a shard only under the lock writers take to put one in place (`shards`).

pub mod admin;
pub mod cluster_map;
pub mod config;
pub mod crypto;
pub mod deadline;
pub mod ec_profile;
pub mod erasure;
pub mod forward;
pub mod group_commit;
pub mod grpc;
pub mod kv;
pub mod metrics;
pub mod net_limits;
pub mod node;
pub mod objects;
pub mod peers;
pub mod placement;
pub mod raft;
pub mod read_rounds;
pub mod repair;
pub mod rocks_memory;
pub mod scrub;
pub mod server;
pub mod shards;
pub mod size;
pub mod status;
pub mod store;
pub mod sys_keys;
pub mod time;
pub mod time_offset;
pub mod tls;
pub mod voters;
pub mod workers;
