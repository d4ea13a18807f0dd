//! Writes and linearizable reads from any node: a follower forwards a proposal to the leader,
//! and serves a linearizable read itself once it has applied up to the leader's read index.

use std::time::Duration;

use archipel_proto::raft::raft_client::RaftClient;
use archipel_proto::raft::RaftRequest;
use archipel_proto::retry::never_sent;
use openraft::error::{CheckIsLeaderError, RaftError};
use openraft::BasicNode;

use crate::raft::Raft;
use crate::read_rounds::{ReadRounds, RoundCounts, RoundFuture};

use crate::node::{Node, RaftOpError};
use crate::raft::{codec, Command, CommandResult, LogId};

/// How long a follower waits to apply up to the leader's read index.
const APPLY_WAIT: Duration = Duration::from_secs(10);

impl Node {
    /// Proposes `cmd` here if this node leads, else through the leader. A command is handed to
    /// Raft at most once: it is forwarded only when this node refused it before appending
    /// (`NotLeader`), and an `Indeterminate` outcome (e.g. appended, then truncated) is returned
    /// as is, never proposed again. The leader that appends it stamps it (`Node::write`).
    pub async fn propose(&self, cmd: Command) -> Result<CommandResult, RaftOpError> {
        match self.write(cmd.clone()).await {
            Err(RaftOpError::NotLeader {
                leader_addr: Some(addr),
                ..
            }) => {
                let payload = codec::encode(&cmd).map_err(|e| RaftOpError::Indeterminate(e.to_string()))?;
                // Once sent, a lost answer leaves the outcome unknown.
                self.call_leader(&addr, payload, Rpc::Propose).await
            }
            other => other,
        }
    }

    /// Returns once this node's state includes every write committed before the call.
    pub async fn read_barrier(&self) -> Result<(), RaftOpError> {
        let index = match self.read_rounds.read_index().await {
            Err(RaftOpError::NotLeader {
                leader_addr: Some(addr),
                ..
            }) => {
                let index: Option<u64> = self.call_leader(&addr, Vec::new(), Rpc::ReadIndex).await?;
                index
            }
            other => other?,
        };
        if let Some(index) = index {
            self.raft
                .wait(Some(APPLY_WAIT))
                .applied_index_at_least(Some(index), "linearizable read")
                .await
                .map_err(|e| RaftOpError::NoQuorum(format!("this node did not catch up in time: {e}")))?;
        }
        Ok(())
    }

    /// Serves a follower's ReadIndex on the leader: the index it must apply before reading.
    /// Concurrent requests share one leadership confirmation (`read_rounds`); the follower
    /// waits for its own state to reach the index.
    pub async fn leader_read_index(&self) -> Result<Option<u64>, RaftOpError> {
        self.read_rounds.read_index().await
    }

    async fn call_leader<T: serde::de::DeserializeOwned>(
        &self,
        addr: &str,
        payload: Vec<u8>,
        rpc: Rpc,
    ) -> Result<T, RaftOpError> {
        let channel = self.peers.channel(addr).map_err(|e| RaftOpError::NotLeader {
            node: self.id(),
            leader_addr: Some(format!("{addr} (unreachable: {e})")),
        })?;
        let mut client = RaftClient::new(channel)
            .max_decoding_message_size(codec::MAX_RAFT_MESSAGE_BYTES as usize)
            .max_encoding_message_size(codec::MAX_RAFT_MESSAGE_BYTES as usize);
        let request = RaftRequest {
            cluster_id: self.identity.cluster_id().unwrap_or_default(),
            from_node: self.id(),
            payload,
        };
        let reply = match rpc {
            Rpc::Propose => client.propose(request).await,
            Rpc::ReadIndex => client.read_index(request).await,
        };
        let reply = reply.map_err(|status| {
            let msg = format!("leader {addr}: {}", status.message());
            match rpc {
                // A read that failed, or a proposal that never left, changed nothing: safe to retry.
                Rpc::ReadIndex => RaftOpError::NoQuorum(msg),
                Rpc::Propose if never_sent(&status) => RaftOpError::NoQuorum(msg),
                Rpc::Propose => RaftOpError::Indeterminate(msg),
            }
        })?;
        let result: Result<T, RaftOpError> = codec::decode(&reply.into_inner().payload)
            .map_err(|e| RaftOpError::Indeterminate(format!("undecodable answer from leader {addr}: {e}")))?;
        result
    }
}

enum Rpc {
    Propose,
    ReadIndex,
}

/// The leader side of a forwarded proposal.
pub async fn serve_propose(node: &Node, cmd: Command) -> Result<CommandResult, RaftOpError> {
    // One hop only: a node that is not the leader any more says so (nothing appended), and the
    // caller may try again. Any stamp the sender put on is replaced by this node's own.
    node.write(cmd).await
}

/// Read rounds confirming this node's leadership with a quorum (openraft's read index).
/// Fails with `NotLeader` (and the leader's address when known) on a follower.
pub fn leadership_rounds(raft: Raft, id: crate::raft::NodeId, counts: RoundCounts) -> ReadRounds {
    ReadRounds::new(
        move || -> RoundFuture {
            let raft = raft.clone();
            Box::pin(async move {
                match raft.get_read_log_id().await {
                    Ok((read_log_id, _applied)) => Ok(read_log_id.map(|l: LogId| l.index)),
                    Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => Err(RaftOpError::NotLeader {
                        node: id,
                        leader_addr: f.leader_node.map(|n: BasicNode| n.addr),
                    }),
                    Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(q))) => {
                        Err(RaftOpError::NoQuorum(q.to_string()))
                    }
                    Err(RaftError::Fatal(f)) => Err(RaftOpError::NoQuorum(f.to_string())),
                }
            })
        },
        counts,
    )
}
