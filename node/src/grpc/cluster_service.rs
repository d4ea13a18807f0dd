//! Cluster administration over gRPC. Membership changes run on the leader; a follower forwards.

use std::sync::Arc;
use std::time::Duration;

use archipel_proto::cluster::cluster_client::ClusterClient;
use archipel_proto::cluster::cluster_server::Cluster;
use archipel_proto::cluster::{
    AddNodeReply, AddNodeRequest, ClusterStatus, DrainNodeReply, DrainNodeRequest, InitReply, InitRequest, JoinReply,
    JoinRequest, NodeInfo, NodeInfoRequest, RemoveNodeReply, RemoveNodeRequest, StatusRequest,
};
use tonic::{Request, Response, Status};

use super::{forward, is_forwarded, status_of_admin};
use crate::admin::AdminError;
use crate::config::validate_site_name;
use crate::node::Node;

const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Inside the repairer's liveness probe timeout, so a slow disk answers as such, not as silence.
const DISK_CHECK_DEADLINE: Duration = Duration::from_secs(4);

pub struct ClusterService {
    pub node: Arc<Node>,
}

fn leader_to_forward(e: &AdminError, forwarded: bool) -> Option<String> {
    match e {
        AdminError::Raft(r) => super::forward_target(r, forwarded),
        _ => None,
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn get_node_info(&self, request: Request<NodeInfoRequest>) -> Result<Response<NodeInfo>, Status> {
        // A liveness probe asks for a disk check too: a node whose disk hangs is not alive.
        if request.metadata().contains_key(crate::admin::CHECK_DISK_HEADER) {
            self.node
                .shards
                .disk_probe()
                .check(DISK_CHECK_DEADLINE)
                .await
                .map_err(Status::unavailable)?;
        }
        Ok(Response::new(self.node.node_info()))
    }

    async fn init(&self, _: Request<InitRequest>) -> Result<Response<InitReply>, Status> {
        let cluster_id = self.node.init_cluster().await.map_err(status_of_admin)?;
        tracing::info!(%cluster_id, "cluster initialised");
        Ok(Response::new(InitReply {
            cluster_id,
            node_id: self.node.id(),
        }))
    }

    async fn join(&self, request: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        let r = request.into_inner();
        let node = self.node.accept_join(&r.cluster_id).map_err(status_of_admin)?;
        tracing::info!(cluster_id = %r.cluster_id, leader = r.leader_id, "joining cluster");
        Ok(Response::new(JoinReply { node: Some(node) }))
    }

    async fn add_node(&self, request: Request<AddNodeRequest>) -> Result<Response<AddNodeReply>, Status> {
        let forwarded = is_forwarded(&request);
        let r = request.into_inner();
        if !r.site.is_empty() {
            validate_site_name(&r.site).map_err(Status::invalid_argument)?;
        }
        match self.node.add_node(&r.addr, &r.site).await {
            Ok((node, _plan)) => {
                let view = self.node.raft_view();
                Ok(Response::new(AddNodeReply {
                    node: Some(node),
                    voters: view.voters,
                    learners: view.learners,
                }))
            }
            Err(e) => match leader_to_forward(&e, forwarded) {
                Some(addr) => {
                    forward(&self.node, &addr, r, ClusterClient::new, |mut c, q| async move {
                        c.add_node(q).await
                    })
                    .await
                }
                None => Err(status_of_admin(e)),
            },
        }
    }

    async fn remove_node(&self, request: Request<RemoveNodeRequest>) -> Result<Response<RemoveNodeReply>, Status> {
        let forwarded = is_forwarded(&request);
        let r = request.into_inner();
        match self.node.remove_node(r.node_id).await {
            Ok(_) => {
                let view = self.node.raft_view();
                Ok(Response::new(RemoveNodeReply {
                    voters: view.voters,
                    learners: view.learners,
                }))
            }
            Err(e) => match leader_to_forward(&e, forwarded) {
                Some(addr) => {
                    forward(&self.node, &addr, r, ClusterClient::new, |mut c, q| async move {
                        c.remove_node(q).await
                    })
                    .await
                }
                None => Err(status_of_admin(e)),
            },
        }
    }

    async fn drain_node(&self, request: Request<DrainNodeRequest>) -> Result<Response<DrainNodeReply>, Status> {
        let forwarded = is_forwarded(&request);
        let r = request.into_inner();
        match self.node.drain_node(r.node_id).await {
            Ok(previous) => Ok(Response::new(DrainNodeReply {
                previous_state: previous.as_str().into(),
            })),
            Err(e) => match leader_to_forward(&e, forwarded) {
                Some(addr) => {
                    forward(&self.node, &addr, r, ClusterClient::new, |mut c, q| async move {
                        c.drain_node(q).await
                    })
                    .await
                }
                None => Err(status_of_admin(e)),
            },
        }
    }

    async fn status(&self, request: Request<StatusRequest>) -> Result<Response<ClusterStatus>, Status> {
        let timeout = match request.get_ref().probe_timeout_ms {
            0 => DEFAULT_PROBE_TIMEOUT,
            ms => Duration::from_millis(ms as u64).min(MAX_PROBE_TIMEOUT),
        };
        Ok(Response::new(self.node.cluster_status(timeout).await))
    }
}
