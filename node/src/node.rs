//! A running node: its Raft instance, its view of the state, and the write and read paths.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use archipel_proto::cluster::RaftView;
use openraft::error::{ClientWriteError, RaftError};
use openraft::ServerState;

use crate::config::NodeConfig;
use crate::metrics::Metrics;
use crate::peers::Peers;
use crate::raft::{Command, CommandResult, NodeId, Raft};
use crate::shards::ShardStore;
use crate::store::{LocalIdentity, StateView};

/// Why a write or a linearizable read did not complete here.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum RaftOpError {
    /// Safe to retry: nothing was proposed.
    #[error("node {node} is not the leader (leader: {})", leader_addr.as_deref().unwrap_or("unknown, election in progress"))]
    NotLeader { node: NodeId, leader_addr: Option<String> },
    #[error("no quorum: {0}; the write was not applied, retry once enough voters are back")]
    NoQuorum(String),
    /// The proposal may or may not have been committed.
    #[error("the outcome is unknown: {0}; read the key back before retrying a compare-and-swap")]
    Indeterminate(String),
    #[error("cluster membership change refused: {0}")]
    Membership(String),
}

pub struct Node {
    pub config: NodeConfig,
    pub raft: Raft,
    pub state: Arc<StateView>,
    pub identity: LocalIdentity,
    pub peers: Peers,
    pub metrics: Arc<Metrics>,
    pub committed_index: Arc<AtomicU64>,
    /// One membership change at a time on this node.
    pub admin_lock: tokio::sync::Mutex<()>,
    pub shards: ShardStore,
    pub workers: crate::workers::Workers,
    /// None only with `insecure_plaintext` (test rigs).
    pub tls: Option<Arc<crate::tls::NodeTls>>,
    /// Recent Reserve answers, so most PUTs skip that round trip.
    pub free_space: crate::objects::FreeSpaceCache,
    /// Small objects' shards, queued per node so concurrent PUTs share `WriteShards` calls.
    pub small_writes: crate::objects::ShardBatcher,
    /// Manifest commits waiting to share a Raft entry (`group_commit`).
    pub commits: crate::group_commit::CommitQueue,
    /// The cluster master key (docs/encryption.md); None: encrypted namespaces are refused here.
    pub master_key: Option<Arc<crate::crypto::MasterKey>>,
}

impl Node {
    pub fn id(&self) -> NodeId {
        self.config.node_id
    }

    pub async fn write(&self, cmd: Command) -> Result<CommandResult, RaftOpError> {
        match self.raft.client_write(cmd).await {
            Ok(resp) => Ok(resp.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => Err(RaftOpError::NotLeader {
                node: self.id(),
                leader_addr: f.leader_node.map(|n| n.addr),
            }),
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(RaftOpError::Membership(e.to_string()))
            }
            Err(RaftError::Fatal(f)) => Err(RaftOpError::Indeterminate(f.to_string())),
        }
    }

    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    pub fn raft_view(&self) -> RaftView {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        RaftView {
            role: match m.state {
                ServerState::Leader => "leader",
                ServerState::Follower => "follower",
                ServerState::Candidate => "candidate",
                ServerState::Learner => "learner",
                ServerState::Shutdown => "shutdown",
            }
            .into(),
            term: m.current_term,
            leader_id: m.current_leader,
            last_log_index: m.last_log_index.unwrap_or(0),
            committed: self.committed_index.load(Ordering::Relaxed),
            last_applied: m.last_applied.map(|l| l.index).unwrap_or(0),
            millis_since_quorum_ack: m.millis_since_quorum_ack,
            voters: membership.voter_ids().collect(),
            learners: membership.learner_ids().collect(),
            snapshot_index: m.snapshot.map(|s| s.index),
        }
    }
}
