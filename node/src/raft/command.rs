//! What goes through the Raft log, and what applying it returns.

use serde::{Deserialize, Serialize};

use crate::cluster_map::{NodeEntry, NodeState};
use crate::kv::KvEntry;

/// One state-machine command. Applying a command is deterministic: every node reaches the same state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Command {
    /// First command of a cluster: its identity and its first node.
    InitCluster {
        cluster_id: String,
        node: NodeEntry,
    },
    /// A node joins the cluster map (it becomes a Raft learner right after).
    AddNode(NodeEntry),
    SetNodeState {
        node_id: u64,
        state: NodeState,
    },
    Put {
        ns: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        ns: String,
        key: Vec<u8>,
    },
    Cas {
        ns: String,
        key: Vec<u8>,
        expect: Expect,
        new_value: Option<Vec<u8>>,
    },
    /// Commands applied in order as one atomic unit. Each CAS inside is evaluated on its own.
    Batch(Vec<Command>),
    /// All of `then` if every condition holds, else nothing.
    Txn {
        conditions: Vec<Condition>,
        then: Vec<Command>,
    },
}

/// A condition of a transaction: `key` in `ns` matches `expect`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Condition {
    pub ns: String,
    pub key: Vec<u8>,
    pub expect: Expect,
}

/// The condition of a compare-and-swap.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Expect {
    Absent,
    Value(Vec<u8>),
    Revision(u64),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub enum CommandResult {
    #[default]
    Done,
    Put {
        revision: u64,
    },
    Delete {
        existed: bool,
        revision: u64,
    },
    Cas {
        succeeded: bool,
        current: Option<KvEntry>,
        revision: u64,
    },
    Batch(Vec<CommandResult>),
    Txn {
        succeeded: bool,
        /// On failure, the first condition that did not hold.
        failed_condition: Option<usize>,
        results: Vec<CommandResult>,
    },
    /// The command was valid when proposed but could not apply to the current state
    /// (e.g. adding a node id that was taken meanwhile). Nothing changed.
    Rejected(String),
}
