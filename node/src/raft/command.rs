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
    /// The envelope the leader puts around every command it appends: its wall time when it
    /// appended it. Applying it moves the state machine's time to `stamped_ms` if that is later
    /// (never back), then applies `cmd`. Only the outermost stamp of an entry counts. Added last so
    /// log entries written before it existed still decode (bincode numbers variants in order);
    /// they apply without moving the time.
    Stamped {
        stamped_ms: u64,
        cmd: Box<Command>,
    },
}

impl Command {
    /// `self` in the leader's envelope, replacing any stamp it carried (a follower never stamps).
    pub fn stamped(self, stamped_ms: u64) -> Self {
        Command::Stamped {
            stamped_ms,
            cmd: Box::new(self.unstamped()),
        }
    }

    /// The command without its envelope.
    pub fn unstamped(self) -> Self {
        match self {
            Command::Stamped { cmd, .. } => cmd.unstamped(),
            other => other,
        }
    }

    /// About how many bytes the command takes on the wire: its keys, values and conditions, plus
    /// a fixed allowance per command. Cheap (no encoding): replication sizes batches with it.
    pub fn wire_bytes(&self) -> u64 {
        const OVERHEAD: u64 = 64;
        let slice = |ns: &str, key: &[u8]| (ns.len() + key.len()) as u64;
        OVERHEAD
            + match self {
                Command::Put { ns, key, value } => slice(ns, key) + value.len() as u64,
                Command::Delete { ns, key } => slice(ns, key),
                Command::Cas {
                    ns,
                    key,
                    expect,
                    new_value,
                } => slice(ns, key) + expect.wire_bytes() + new_value.as_ref().map_or(0, |v| v.len() as u64),
                Command::Batch(cmds) => cmds.iter().map(Command::wire_bytes).sum(),
                Command::Txn { conditions, then } => {
                    conditions
                        .iter()
                        .map(|c| slice(&c.ns, &c.key) + c.expect.wire_bytes())
                        .sum::<u64>()
                        + then.iter().map(Command::wire_bytes).sum::<u64>()
                }
                Command::Stamped { cmd, .. } => cmd.wire_bytes(),
                Command::InitCluster { .. } | Command::AddNode(_) | Command::SetNodeState { .. } => 0,
            }
    }

    /// A no-op entry: stamped by the leader, it moves the state machine's time while the cluster
    /// is otherwise idle.
    pub fn tick() -> Self {
        Command::Batch(Vec::new())
    }
}

/// A condition of a transaction: `key` in `ns` matches `expect`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Condition {
    pub ns: String,
    pub key: Vec<u8>,
    pub expect: Expect,
}

/// The condition of a compare-and-swap. New variants go last (log entries are bincode).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Expect {
    Absent,
    Value(Vec<u8>),
    Revision(u64),
    /// The state machine's time, when this is applied, is before this deadline (ms). The key is
    /// not read. A command that must not take effect late (a PUT's commit) carries it, so a
    /// command applied after its deadline fails identically on every node.
    StateTimeBefore(u64),
    /// The state machine's time, when this is applied, is at least this (ms). The key is not
    /// read. Expiry (of a collected mark, of an upload intent) is decided by it.
    StateTimeFrom(u64),
    /// The key is absent, or holds an object manifest whose retention date has passed at the
    /// state machine's time. Retention is decided here, never on a coordinator's clock.
    RetentionPassed,
    /// The key (in `sys.lock/<namespace>`) is absent, or holds an object lock that does not
    /// forbid removal at the state machine's time (`objects::lock`). Appended last: bincode
    /// numbers variants by position.
    Unlocked {
        bypass_governance: bool,
    },
}

impl Expect {
    fn wire_bytes(&self) -> u64 {
        match self {
            Expect::Value(v) => v.len() as u64,
            _ => 0,
        }
    }
}

impl Condition {
    /// A condition on the state machine's time only (`StateTimeBefore` or `StateTimeFrom`).
    pub fn state_time(expect: Expect) -> Self {
        Self {
            ns: String::new(),
            key: Vec::new(),
            expect,
        }
    }
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
