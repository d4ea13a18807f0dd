//! Receives Raft RPCs from peers, after checking that they come from the same cluster.

use std::sync::Arc;

use archipel_proto::raft::raft_server::Raft as RaftRpc;
use archipel_proto::raft::{RaftReply, RaftRequest};
use serde::{de::DeserializeOwned, Serialize};
use tonic::{Request, Response, Status};

use crate::node::Node;
use crate::raft::codec;
use crate::tls::{PeerIdentity, Subject};

pub struct RaftService {
    pub node: Arc<Node>,
}

impl RaftService {
    /// With TLS, the sender named in the message must be the node its certificate names.
    fn check_sender(request: &Request<RaftRequest>) -> Result<(), Status> {
        let claimed = request.get_ref().from_node;
        match request.extensions().get::<PeerIdentity>().map(|p| &p.subject) {
            Some(Subject::Node { id, .. }) if *id != claimed => {
                tracing::warn!(
                    claimed,
                    certified = id,
                    "refusing Raft traffic whose sender does not match its certificate"
                );
                Err(Status::permission_denied(format!(
                    "the message says it comes from node {claimed} but the TLS certificate is node {id}'s"
                )))
            }
            _ => Ok(()),
        }
    }

    fn check_cluster(&self, req: &RaftRequest) -> Result<(), Status> {
        match self.node.identity.cluster_id() {
            Some(ours) if ours == req.cluster_id => Ok(()),
            Some(ours) => Err(Status::permission_denied(format!(
                "node {} belongs to cluster {ours}; refusing Raft traffic from node {} of cluster {}",
                self.node.id(),
                req.from_node,
                req.cluster_id
            ))),
            None => Err(Status::failed_precondition(format!(
                "node {} has not joined a cluster; add it with `archipel node add`",
                self.node.id()
            ))),
        }
    }

    fn decode<T: DeserializeOwned>(&self, req: &RaftRequest) -> Result<T, Status> {
        self.check_cluster(req)?;
        codec::decode(&req.payload).map_err(|e| Status::invalid_argument(format!("undecodable Raft message: {e}")))
    }

    /// Every reply carries this node's wall clock: a leader stamps with a majority's clocks.
    fn reply<T: Serialize>(&self, result: &T) -> Result<Response<RaftReply>, Status> {
        let payload = codec::encode(result).map_err(|e| Status::internal(format!("cannot encode Raft reply: {e}")))?;
        Ok(Response::new(RaftReply {
            payload,
            now_ms: self.node.clock.now_ms(),
        }))
    }
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        Self::check_sender(&request)?;
        let rpc = self.decode(request.get_ref())?;
        self.reply(&self.node.raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        Self::check_sender(&request)?;
        let rpc = self.decode(request.get_ref())?;
        self.reply(&self.node.raft.vote(rpc).await)
    }

    async fn propose(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        Self::check_sender(&request)?;
        let cmd = self.decode(request.get_ref())?;
        self.reply(&crate::forward::serve_propose(&self.node, cmd).await)
    }

    async fn read_index(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        Self::check_sender(&request)?;
        self.check_cluster(request.get_ref())?;
        self.reply(&self.node.leader_read_index().await)
    }

    async fn install_snapshot(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        Self::check_sender(&request)?;
        let rpc = self.decode(request.get_ref())?;
        self.reply(&self.node.raft.install_snapshot(rpc).await)
    }
}
