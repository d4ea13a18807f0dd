//! Why an orphan-collection pass stopped or left shards behind. The collector logs it and tries
//! again at its next interval; nothing it skipped is deleted meanwhile.

use crate::node::RaftOpError;
use crate::shards::ShardError;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// Reading the applied state (RocksDB) failed: the node's metadata store is in trouble.
    #[error(transparent)]
    State(#[from] rocksdb::Error),
    /// A manifest could not be read or decoded.
    #[error(transparent)]
    Manifest(#[from] crate::objects::ObjectError),
    /// A mark or expiry could not be written through Raft (no leader, no quorum).
    #[error(transparent)]
    Raft(#[from] RaftOpError),
    /// Listing or removing shard files failed (disk, permissions).
    #[error(transparent)]
    Shards(#[from] ShardError),
    /// The blocking listing task panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// The read barrier failed: the node may be cut off from the leader, so nothing is judged
    /// orphan on its possibly stale state.
    #[error("skipping this pass, the node cannot confirm its state is current: {0}")]
    StateNotCurrent(#[source] RaftOpError),
    /// No leader-stamped entry applied yet: marks need the cluster's time.
    #[error("the cluster's time is not established yet; no shard is collected")]
    NoClusterTime,
    #[error("unexpected result marking {object_id} collected: {result}")]
    UnexpectedResult { object_id: String, result: String },
    #[error("expiring collected marks: {0}")]
    ExpiringMarks(#[source] Box<CollectError>),
    /// The pass went on past these failures; each shard involved is looked at again next pass.
    #[error("removed {removed}, {} failed: {}", .failures.len(), joined(.failures))]
    Partial {
        removed: usize,
        failures: Vec<CollectError>,
    },
}

fn joined(failures: &[CollectError]) -> String {
    failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_pass_lists_each_failure_as_before() {
        let e = CollectError::Partial {
            removed: 3,
            failures: vec![
                CollectError::NoClusterTime,
                CollectError::ExpiringMarks(Box::new(CollectError::NoClusterTime)),
            ],
        };
        assert_eq!(
            e.to_string(),
            "removed 3, 2 failed: the cluster's time is not established yet; no shard is collected; \
             expiring collected marks: the cluster's time is not established yet; no shard is collected"
        );
    }
}
