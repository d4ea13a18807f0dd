//! The Raft glue, split by concern as in openraft's examples: type config, commands, network.

pub mod codec;
pub mod command;
pub mod network;
pub mod quorum_clock;
pub mod snapshot_timer;
#[cfg(test)]
pub mod test_cluster;
pub mod tick;

pub use command::{Command, CommandResult, Condition, Expect};

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Archipel's Raft: commands over the cluster map and the metadata keyspace.
    pub TypeConfig:
        D = Command,
        R = CommandResult,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        SnapshotData = tokio::fs::File,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;
pub type StorageError = openraft::StorageError<NodeId>;
