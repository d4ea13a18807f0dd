//! Why a repair step failed. A failed entry stays queued and is tried again after a backoff; its
//! message is what `archipel repair status` and the entry's `last_error` show. An object that
//! cannot be rebuilt is not an error: it is `Outcome::Lost`, and leaves the queue.

use std::time::Duration;

use crate::erasure::EcError;
use crate::node::RaftOpError;
use crate::objects::ObjectError;

#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// Reading the applied state (RocksDB) failed: the node's metadata store is in trouble.
    #[error(transparent)]
    State(#[from] rocksdb::Error),
    /// A Raft write or read barrier failed (leadership lost, no quorum, outcome unknown).
    #[error(transparent)]
    Raft(#[from] RaftOpError),
    /// Reading the manifest, the upload intent, or the shard transfer failed.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// The manifest's profile or a stripe does not suit the erasure code.
    #[error(transparent)]
    Codec(#[from] EcError),
    /// The blocking reconstruction task panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// A queue key that is not `<object id>.<index>`.
    #[error("malformed damage key")]
    MalformedKey,
    #[error("move target node {0} is not up")]
    TargetDown(u64),
    /// A move's target refused the space (full disk, unreachable); the reason is the node's.
    #[error("{reason}")]
    TargetRefused { node: u64, reason: String },
    /// Every candidate node refused: add capacity or bring nodes back.
    #[error("no node can take shard {index} of {namespace}/{key} ({refusals}); add capacity or bring nodes back")]
    NoTarget {
        index: u32,
        namespace: String,
        key: String,
        refusals: String,
    },
    #[error("not an erasure-coded object")]
    NotSharded,
    #[error("reconstruction produced no shard")]
    NothingReconstructed,
    #[error("the target node returned no shard")]
    NoShardReturned,
    /// The manifest changed before the repair's commit; the next pass looks at it again.
    #[error("the object changed during repair; will look again")]
    ObjectChanged,
    /// The manifest changed before the lost record's commit; a newer version is not lost.
    #[error("the object changed meanwhile; it will be looked at again")]
    LostRecordStale,
    #[error("recording {namespace}/{key} as lost: {source}")]
    RecordingLost {
        namespace: String,
        key: String,
        source: Box<RepairError>,
    },
    /// A repair still running at its job deadline (a hung disk or node); it backs off.
    #[error("the repair did not finish within {0:?}")]
    DeadlinePassed(Duration),
    /// The placement report could not be encoded.
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
}
