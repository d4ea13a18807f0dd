//! Cluster administration on the node: bootstrap, joining, adding and removing nodes, and
//! keeping the Raft voters spread across sites.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use archipel_proto::cluster::cluster_client::ClusterClient;
use archipel_proto::cluster::{JoinRequest, NodeInfo, NodeInfoRequest};
use openraft::{BasicNode, ChangeMembers};

use crate::cluster_map::{NodeEntry, NodeState};
use crate::node::{Node, RaftOpError};
use crate::raft::{Command, CommandResult, NodeId};
use crate::voters::{plan_voters, Candidate, VoterPlan};

/// On a GetNodeInfo call: the node also checks its shard disk (`shards::DiskProbe`).
pub const CHECK_DISK_HEADER: &str = "x-archipel-check-disk";

/// How long a new node may take to catch up (log or snapshot) before `node add` gives up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);
const PEER_CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("this node already belongs to cluster {0}; `cluster init` runs once, on the first node only")]
    AlreadyInitialised(String),
    #[error("this node belongs to cluster {ours}, not {theirs}; use a fresh data dir to join another cluster")]
    OtherCluster { ours: String, theirs: String },
    #[error("cannot reach the node at {addr}: {reason}; is `archipel server` running there?")]
    Unreachable { addr: String, reason: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Raft(#[from] RaftOpError),
    #[error("metadata store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl Node {
    pub fn node_info(&self) -> NodeInfo {
        NodeInfo {
            node_id: self.id(),
            site: self.config.site.clone(),
            addr: self.config.advertise.clone(),
            capacity_bytes: self.config.capacity_bytes,
            cluster_id: self.identity.cluster_id().unwrap_or_default(),
            raft: Some(self.raft_view()),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    fn self_entry(&self) -> NodeEntry {
        NodeEntry {
            id: self.id(),
            site: self.config.site.clone(),
            addr: self.config.advertise.clone(),
            capacity_bytes: self.config.capacity_bytes,
            state: NodeState::Up,
        }
    }

    /// Bootstraps a new cluster with this node as its only member.
    pub async fn init_cluster(&self) -> Result<String, AdminError> {
        let _guard = self.admin_lock.lock().await;
        let initialised = self
            .raft
            .is_initialized()
            .await
            .map_err(|e| RaftOpError::Indeterminate(e.to_string()))?;
        if let Some(existing) = self.identity.cluster_id() {
            if initialised || !self.state.cluster_map().cluster_id.is_empty() {
                return Err(AdminError::AlreadyInitialised(existing));
            }
        } else if initialised {
            return Err(AdminError::Conflict(
                "this node already holds Raft state but no cluster id; its data dir is damaged or foreign".into(),
            ));
        }
        let cluster_id = match self.identity.cluster_id() {
            Some(id) => id, // an earlier init crashed half-way: finish it
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                self.identity.set_cluster_id(&id)?;
                id
            }
        };
        let members = BTreeMap::from([(self.id(), BasicNode::new(&self.config.advertise))]);
        if !initialised {
            self.raft
                .initialize(members)
                .await
                .map_err(|e| AdminError::Conflict(format!("Raft initialisation failed: {e}")))?;
        }
        self.wait_for_leadership(Duration::from_secs(30)).await?;
        let result = self
            .write(Command::InitCluster {
                cluster_id: cluster_id.clone(),
                node: self.self_entry(),
            })
            .await?;
        match result {
            CommandResult::Rejected(reason) => Err(AdminError::Conflict(reason)),
            _ => Ok(cluster_id),
        }
    }

    async fn wait_for_leadership(&self, limit: Duration) -> Result<(), AdminError> {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.is_leader() {
            if tokio::time::Instant::now() > deadline {
                return Err(RaftOpError::NoQuorum("this node did not become leader after init".into()).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Called by the leader on a node about to be added: binds this data dir to the cluster.
    pub fn accept_join(&self, cluster_id: &str) -> Result<NodeInfo, AdminError> {
        match self.identity.cluster_id() {
            Some(ours) if ours == cluster_id => {}
            Some(ours) => {
                return Err(AdminError::OtherCluster {
                    ours,
                    theirs: cluster_id.into(),
                })
            }
            None => self.identity.set_cluster_id(cluster_id)?,
        }
        Ok(self.node_info())
    }

    fn cluster_client(&self, addr: &str) -> Result<ClusterClient<tonic::transport::Channel>, AdminError> {
        let channel = self.peers.channel(addr).map_err(|e| AdminError::Unreachable {
            addr: addr.into(),
            reason: e.to_string(),
        })?;
        Ok(ClusterClient::new(channel))
    }

    pub async fn probe(&self, addr: &str, timeout: Duration) -> Result<NodeInfo, AdminError> {
        self.probe_node(addr, timeout, false).await
    }

    /// [`Self::probe`], and the node must also write and read its shard disk: the liveness check.
    pub async fn probe_alive(&self, addr: &str, timeout: Duration) -> Result<NodeInfo, AdminError> {
        self.probe_node(addr, timeout, true).await
    }

    async fn probe_node(&self, addr: &str, timeout: Duration, check_disk: bool) -> Result<NodeInfo, AdminError> {
        let mut client = self.cluster_client(addr)?;
        let mut req = tonic::Request::new(NodeInfoRequest {});
        req.set_timeout(timeout);
        if check_disk {
            req.metadata_mut()
                .insert(CHECK_DISK_HEADER, tonic::metadata::MetadataValue::from_static("1"));
        }
        let answer = tokio::time::timeout(timeout, client.get_node_info(req)).await;
        match answer {
            Ok(Ok(reply)) => Ok(reply.into_inner()),
            Ok(Err(status)) => Err(AdminError::Unreachable {
                addr: addr.into(),
                reason: status.message().to_owned(),
            }),
            Err(_) => Err(AdminError::Unreachable {
                addr: addr.into(),
                reason: format!("no answer within {timeout:?}"),
            }),
        }
    }

    /// Adds the node listening at `addr`: learner first, then voter if the site rule wants it.
    pub async fn add_node(&self, addr: &str, expected_site: &str) -> Result<(NodeInfo, VoterPlan), AdminError> {
        let _guard = self.admin_lock.lock().await;
        self.require_leader()?;
        let cluster_id = self.state.cluster_map().cluster_id;
        let info = self.probe(addr, PEER_CALL_TIMEOUT).await?;
        if !expected_site.is_empty() && info.site != expected_site {
            return Err(AdminError::Invalid(format!(
                "the node at {addr} is configured for site `{}`, not `{expected_site}`; fix its `site` or the --site flag",
                info.site
            )));
        }
        if info.addr != addr {
            return Err(AdminError::Invalid(format!(
                "the node at {addr} advertises itself as {}; use that address, or fix `advertise` in its config",
                info.addr
            )));
        }
        if !info.cluster_id.is_empty() && info.cluster_id != cluster_id {
            return Err(AdminError::Invalid(format!(
                "the node at {addr} already belongs to cluster {}; a data dir serves one cluster only, \
                 so start that node on a fresh data dir to add it here",
                info.cluster_id
            )));
        }
        let map = self.state.cluster_map();
        if let Some(existing) = map.nodes.get(&info.node_id) {
            let same = existing.addr == info.addr && existing.state != NodeState::Gone && info.cluster_id == cluster_id;
            if !same {
                return Err(AdminError::Conflict(format!(
                    "node id {} is already taken by the node at {} (site {}, {}); give the new node another node_id",
                    info.node_id,
                    existing.addr,
                    existing.site,
                    existing.state.as_str()
                )));
            }
        }
        let mut join = tonic::Request::new(JoinRequest {
            cluster_id: cluster_id.clone(),
            leader_id: self.id(),
        });
        join.set_timeout(PEER_CALL_TIMEOUT);
        self.cluster_client(addr)?
            .join(join)
            .await
            .map_err(|s| AdminError::Conflict(format!("the node at {addr} refused to join: {}", s.message())))?;
        let entry = NodeEntry {
            id: info.node_id,
            site: info.site.clone(),
            addr: info.addr.clone(),
            capacity_bytes: info.capacity_bytes,
            state: NodeState::Up,
        };
        if let CommandResult::Rejected(reason) = self.write(Command::AddNode(entry)).await? {
            return Err(AdminError::Conflict(reason));
        }
        let learner = self.raft.add_learner(info.node_id, BasicNode::new(&info.addr), true);
        match tokio::time::timeout(CATCH_UP_TIMEOUT, learner).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err(AdminError::Conflict(format!(
                    "adding node {} as learner failed: {e}",
                    info.node_id
                )))
            }
            Err(_) => {
                return Err(AdminError::Unreachable {
                    addr: addr.into(),
                    reason: format!("it did not catch up within {CATCH_UP_TIMEOUT:?}; `node add` can be re-run"),
                })
            }
        }
        let caught_up = self.wait_caught_up(addr, self.raft_view().last_applied).await?;
        let plan = self.reconcile_voters().await?;
        self.wake_repairer(); // the layout changed: rebalance
        Ok((caught_up, plan))
    }

    /// Polls the node at `addr` until it has applied `index`: only then may it vote.
    async fn wait_caught_up(&self, addr: &str, index: u64) -> Result<NodeInfo, AdminError> {
        let deadline = tokio::time::Instant::now() + CATCH_UP_TIMEOUT;
        loop {
            if let Ok(info) = self.probe(addr, PEER_CALL_TIMEOUT).await {
                if info.raft.as_ref().is_some_and(|r| r.last_applied >= index) {
                    return Ok(info);
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(AdminError::Unreachable {
                    addr: addr.into(),
                    reason: format!(
                        "it did not apply the log up to {index} within {CATCH_UP_TIMEOUT:?}; `node add` can be re-run"
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Marks a node draining: it takes no new shards, and the repairer moves its shards away.
    pub async fn drain_node(&self, node_id: NodeId) -> Result<NodeState, AdminError> {
        let _guard = self.admin_lock.lock().await;
        self.require_leader()?;
        let map = self.state.cluster_map();
        let node = map
            .nodes
            .get(&node_id)
            .ok_or_else(|| AdminError::NotFound(format!("node {node_id} is not in the cluster")))?;
        let previous = node.state;
        match previous {
            NodeState::Gone => {
                return Err(AdminError::Invalid(format!(
                    "node {node_id} was removed; there is nothing to drain"
                )))
            }
            NodeState::Draining => return Ok(previous),
            NodeState::Up => {}
        }
        if let CommandResult::Rejected(reason) = self
            .write(Command::SetNodeState {
                node_id,
                state: NodeState::Draining,
            })
            .await?
        {
            return Err(AdminError::Conflict(reason));
        }
        self.wake_repairer();
        Ok(previous)
    }

    /// Marks a node gone and takes it out of Raft. Its id is never reused.
    pub async fn remove_node(&self, node_id: NodeId) -> Result<VoterPlan, AdminError> {
        let _guard = self.admin_lock.lock().await;
        self.require_leader()?;
        let map = self.state.cluster_map();
        let node = map
            .nodes
            .get(&node_id)
            .ok_or_else(|| AdminError::NotFound(format!("node {node_id} is not in the cluster")))?;
        if node.state != NodeState::Gone {
            if map.live_nodes().count() <= 1 {
                return Err(AdminError::Invalid(format!(
                    "node {node_id} is the last node of the cluster"
                )));
            }
            if let CommandResult::Rejected(reason) = self
                .write(Command::SetNodeState {
                    node_id,
                    state: NodeState::Gone,
                })
                .await?
            {
                return Err(AdminError::Conflict(reason));
            }
        }
        let plan = self.reconcile_voters().await?;
        self.wake_repairer();
        let is_member = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .nodes()
            .any(|(id, _)| *id == node_id);
        if is_member {
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([node_id])), false)
                .await
                .map_err(|e| map_membership_error(e, self.id()))?;
        }
        Ok(plan)
    }

    /// Layout changes are made on the leader, where the repairer runs: start its next pass now.
    fn wake_repairer(&self) {
        if let Some(w) = self.workers.get(crate::repair::WORKER_NAME) {
            w.wake();
        }
    }

    /// Brings Raft voters in line with the site rule. Only nodes that are up and already Raft
    /// members (caught-up learners or voters) are eligible.
    pub async fn reconcile_voters(&self) -> Result<VoterPlan, AdminError> {
        let map = self.state.cluster_map();
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        let members: BTreeSet<NodeId> = membership.nodes().map(|(id, _)| *id).collect();
        let current: BTreeSet<NodeId> = membership.voter_ids().collect();
        let candidates: Vec<Candidate> = map
            .nodes
            .values()
            .filter(|n| n.state == NodeState::Up && members.contains(&n.id))
            .map(|n| Candidate {
                id: n.id,
                site: &n.site,
            })
            .collect();
        let plan = plan_voters(&candidates, &current);
        if plan.voters != current && !plan.voters.is_empty() {
            tracing::info!(from = ?current, to = ?plan.voters, site_safe = plan.survives_site_loss, "changing Raft voters");
            self.raft
                .change_membership(ChangeMembers::ReplaceAllVoters(plan.voters.clone()), true)
                .await
                .map_err(|e| map_membership_error(e, self.id()))?;
        }
        Ok(plan)
    }

    fn require_leader(&self) -> Result<(), AdminError> {
        if self.is_leader() {
            return Ok(());
        }
        let m = self.raft.metrics().borrow().clone();
        let leader_addr = m
            .current_leader
            .and_then(|l| m.membership_config.membership().get_node(&l).map(|n| n.addr.clone()));
        Err(RaftOpError::NotLeader {
            node: self.id(),
            leader_addr,
        }
        .into())
    }
}

fn map_membership_error(
    e: openraft::error::RaftError<NodeId, openraft::error::ClientWriteError<NodeId, BasicNode>>,
    node: NodeId,
) -> AdminError {
    use openraft::error::{ClientWriteError, RaftError};
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => RaftOpError::NotLeader {
            node,
            leader_addr: f.leader_node.map(|n| n.addr),
        }
        .into(),
        RaftError::APIError(ClientWriteError::ChangeMembershipError(c)) => {
            RaftOpError::Membership(c.to_string()).into()
        }
        RaftError::Fatal(f) => RaftOpError::Indeterminate(f.to_string()).into(),
    }
}
