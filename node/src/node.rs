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
    /// The proposal may or may not have been committed. Never proposed again by the node.
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
    /// This node's wall clock: the dates it records and its own schedules. It stamps no entry.
    pub clock: Arc<dyn crate::time::Clock>,
    /// What the entries this node appends as leader are stamped with: the time a majority of the
    /// voters' clocks reached (`raft::quorum_clock`), so this node's clock alone moves no state time.
    pub stamp_clock: Arc<dyn crate::time::Clock>,
    /// Leadership confirmations shared by concurrent linearizable reads.
    pub read_rounds: crate::read_rounds::ReadRounds,
}

impl Node {
    pub fn id(&self) -> NodeId {
        self.config.node_id
    }

    /// Appends `cmd` here, stamped with the voters' time (`stamp_clock`), if this node leads. `NotLeader` means
    /// nothing was handed to Raft, so forwarding it is safe; any failure after that is
    /// `Indeterminate` (see [`write_as_leader`]).
    pub async fn write(&self, cmd: Command) -> Result<CommandResult, RaftOpError> {
        write_as_leader(&self.raft, self.id(), self.stamp_clock.as_ref(), cmd).await
    }

    /// The state machine's time as applied here (leader-stamped, monotonic); see
    /// [`StateView::state_time_ms`].
    pub fn state_time_ms(&self) -> u64 {
        self.state.state_time_ms()
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

/// Stamps `cmd` with `clock` and appends it through `raft`, which must lead.
///
/// openraft 0.9 answers `ForwardToLeader` in two cases it does not tell apart: the node was not
/// the leader when the request reached its core (nothing appended), or the entry was appended
/// and later truncated by a new leader (`DeleteConflictLog`). In the second case another node
/// may still hold the entry and commit it, so proposing the command again could apply it twice.
/// Hence: leadership is checked before anything is handed to Raft (a refusal there is
/// `NotLeader`, safe to forward), and every failure after `client_write` was called is
/// `Indeterminate`, never retried by the node.
pub async fn write_as_leader(
    raft: &Raft,
    id: NodeId,
    clock: &dyn crate::time::Clock,
    cmd: Command,
) -> Result<CommandResult, RaftOpError> {
    let (state, leader) = {
        let m = raft.metrics();
        let m = m.borrow();
        let leader = m
            .current_leader
            .and_then(|l| m.membership_config.membership().get_node(&l).map(|n| n.addr.clone()));
        (m.state, leader)
    };
    if state != ServerState::Leader {
        return Err(RaftOpError::NotLeader {
            node: id,
            leader_addr: leader,
        });
    }
    // The leader stamps, at the moment it appends: a forwarded command arrives unstamped.
    match raft.client_write(cmd.stamped(clock.now_ms())).await {
        Ok(resp) => Ok(resp.data),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => Err(RaftOpError::Indeterminate(format!(
            "node {id} lost the leadership while proposing (new leader: {}); the entry may still be committed",
            f.leader_node.map(|n| n.addr).unwrap_or_else(|| "unknown".into())
        ))),
        // Refused by the membership check before anything was appended.
        Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
            Err(RaftOpError::Membership(e.to_string()))
        }
        Err(RaftError::Fatal(f)) => Err(RaftOpError::Indeterminate(f.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::raft::test_cluster;
    use crate::time::ManualClock;

    fn put(value: &str) -> Command {
        Command::Put {
            ns: "app".into(),
            key: b"k".to_vec(),
            value: value.as_bytes().to_vec(),
        }
    }

    fn leader_of(
        nodes: &std::collections::BTreeMap<NodeId, test_cluster::TestNode>,
        among: &[NodeId],
    ) -> Option<NodeId> {
        among
            .iter()
            .copied()
            .find(|id| nodes[id].raft.metrics().borrow().state == ServerState::Leader)
    }

    /// openraft reports an appended entry that a new leader truncated as `ForwardToLeader`, the
    /// same error as a refusal before appending. The entry may have reached other nodes, so the
    /// command must come back `Indeterminate`, never `NotLeader` (which `Node::propose` forwards).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_truncated_after_it_was_appended_is_indeterminate() {
        let (router, nodes) = test_cluster::start(3).await;
        let clock = ManualClock::new(1_000_000);
        let before = nodes[&1].raft.metrics().borrow().last_log_index;
        router.isolate(1);
        let raft1 = nodes[&1].raft.clone();
        let pending = tokio::spawn(async move {
            let clock = ManualClock::new(1_000_000);
            write_as_leader(&raft1, 1, &clock, put("lost")).await
        });
        nodes[&1]
            .raft
            .wait(Some(Duration::from_secs(5)))
            .metrics(|m| m.last_log_index > before, "node 1 appended the write")
            .await
            .unwrap();

        // The majority elects a new leader and commits there.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let new_leader = loop {
            if let Some(id) = leader_of(&nodes, &[2, 3]) {
                break id;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no new leader: {:?} / {:?}",
                nodes[&2].raft.metrics().borrow(),
                nodes[&3].raft.metrics().borrow()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let written = write_as_leader(&nodes[&new_leader].raft, new_leader, &clock, put("new")).await;
        assert!(matches!(written, Ok(CommandResult::Put { .. })), "{written:?}");

        // Back in touch, node 1 truncates its entry and answers the waiting write.
        router.heal(1);
        let outcome = tokio::time::timeout(Duration::from_secs(20), pending)
            .await
            .expect("the truncated write was never answered")
            .unwrap();
        assert!(matches!(outcome, Err(RaftOpError::Indeterminate(_))), "{outcome:?}");
        let applied = nodes[&1]
            .raft
            .wait(Some(Duration::from_secs(10)))
            .metrics(
                |m| {
                    m.last_applied.map(|l| l.index)
                        >= nodes[&new_leader].raft.metrics().borrow().last_applied.map(|l| l.index)
                },
                "node 1 caught up",
            )
            .await;
        assert!(applied.is_ok());
        let value = nodes[&1].state.get("app", b"k").unwrap().map(|e| e.value);
        assert_eq!(value.as_deref(), Some(b"new".as_slice()));
    }

    /// A follower refuses before handing anything to Raft: safe to forward, nothing appended.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follower_refuses_before_appending_and_names_the_leader() {
        let (_router, nodes) = test_cluster::start(3).await;
        let clock = ManualClock::new(1_000_000);
        let follower = &nodes[&2].raft;
        follower
            .wait(Some(Duration::from_secs(5)))
            .metrics(|m| m.current_leader == Some(1), "node 2 knows the leader")
            .await
            .unwrap();
        let before = follower.metrics().borrow().last_log_index;
        let outcome = write_as_leader(follower, 2, &clock, put("x")).await;
        match outcome {
            Err(RaftOpError::NotLeader { leader_addr, .. }) => assert_eq!(leader_addr.as_deref(), Some("n1")),
            other => panic!("expected NotLeader, got {other:?}"),
        }
        assert_eq!(follower.metrics().borrow().last_log_index, before);
    }

    /// The leader stamps: the state machine's time is the leader's clock, on every node.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_leader_stamps_each_entry_and_every_node_applies_its_time() {
        let (_router, nodes) = test_cluster::start(3).await;
        let clock = ManualClock::new(1_700_000_000_000);
        let written = write_as_leader(&nodes[&1].raft, 1, &clock, put("a")).await;
        let Ok(CommandResult::Put { revision: index }) = written else {
            panic!("{written:?}")
        };
        for node in nodes.values() {
            node.raft
                .wait(Some(Duration::from_secs(5)))
                .metrics(|m| m.last_applied.map(|l| l.index) >= Some(index), "applied")
                .await
                .unwrap();
            assert_eq!(node.state.state_time_ms(), 1_700_000_000_000);
        }
    }
}
