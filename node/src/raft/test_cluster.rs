//! An in-process Raft cluster for tests: real log stores and state machines on temp RocksDBs,
//! and a network that calls the other nodes' Raft directly and can cut a node off.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::BasicNode;

use super::{NodeId, Raft, TypeConfig};
use crate::store::{open_db, LogStore, StateMachineStore, StateView};

type RpcResult<T, E> = Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

#[derive(Clone, Default)]
pub struct Router {
    nodes: Arc<Mutex<BTreeMap<NodeId, Raft>>>,
    isolated: Arc<Mutex<BTreeSet<NodeId>>>,
}

impl Router {
    /// Cuts `id` off from every other node (both directions).
    pub fn isolate(&self, id: NodeId) {
        self.isolated.lock().unwrap().insert(id);
    }

    pub fn heal(&self, id: NodeId) {
        self.isolated.lock().unwrap().remove(&id);
    }

    fn route(&self, from: NodeId, to: NodeId) -> Result<Raft, Unreachable> {
        let isolated = self.isolated.lock().unwrap();
        if isolated.contains(&from) || isolated.contains(&to) {
            return Err(Unreachable::new(&std::io::Error::other("partitioned")));
        }
        self.nodes
            .lock()
            .unwrap()
            .get(&to)
            .cloned()
            .ok_or_else(|| Unreachable::new(&std::io::Error::other("no such node")))
    }
}

pub struct Connection {
    from: NodeId,
    to: NodeId,
    router: Router,
}

/// The factory a node gets: the router, knowing who sends.
pub struct NodeNetwork {
    id: NodeId,
    router: Router,
}

impl RaftNetworkFactory<TypeConfig> for NodeNetwork {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> Connection {
        Connection {
            from: self.id,
            to: target,
            router: self.router.clone(),
        }
    }
}

impl Connection {
    fn target(&self) -> Result<Raft, Unreachable> {
        self.router.route(self.from, self.to)
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        let raft = self.target().map_err(RPCError::Unreachable)?;
        raft.append_entries(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let raft = self.target().map_err(RPCError::Unreachable)?;
        raft.install_snapshot(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        let raft = self.target().map_err(RPCError::Unreachable)?;
        raft.vote(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }
}

pub struct TestNode {
    pub raft: Raft,
    pub state: Arc<StateView>,
    _dir: tempfile::TempDir,
}

/// Starts nodes `1..=n`, initialises them as voters, and waits until node 1 leads.
pub async fn start(n: u64) -> (Router, BTreeMap<NodeId, TestNode>) {
    let router = Router::default();
    let config = Arc::new(
        openraft::Config {
            heartbeat_interval: 50,
            election_timeout_min: 300,
            election_timeout_max: 600,
            ..Default::default()
        }
        .validate()
        .unwrap(),
    );
    let mut nodes = BTreeMap::new();
    for id in 1..=n {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path()).unwrap();
        let log = LogStore::new(db.clone()).unwrap();
        let sm = StateMachineStore::open(db).unwrap();
        let state = sm.view();
        let network = NodeNetwork {
            id,
            router: router.clone(),
        };
        let raft = Raft::new(id, config.clone(), network, log, sm).await.unwrap();
        router.nodes.lock().unwrap().insert(id, raft.clone());
        nodes.insert(id, TestNode { raft, state, _dir: dir });
    }
    let members: BTreeMap<NodeId, BasicNode> = (1..=n).map(|id| (id, BasicNode::new(format!("n{id}")))).collect();
    nodes[&1].raft.initialize(members).await.unwrap();
    nodes[&1]
        .raft
        .wait(Some(Duration::from_secs(10)))
        .state(openraft::ServerState::Leader, "node 1 leads")
        .await
        .unwrap();
    // Every node holds the membership and the leader's first entry before a test cuts links.
    let index = nodes[&1].raft.metrics().borrow().last_log_index;
    for node in nodes.values() {
        node.raft
            .wait(Some(Duration::from_secs(10)))
            .metrics(
                |m| m.last_applied.map(|l| l.index) >= index && m.current_leader == Some(1),
                "caught up with node 1",
            )
            .await
            .unwrap();
    }
    (router, nodes)
}
