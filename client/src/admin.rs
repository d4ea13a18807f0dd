//! Cluster administration: bootstrap, membership and status.

use archipel_proto::cluster::cluster_client::ClusterClient;
use archipel_proto::cluster::{
    AddNodeReply, AddNodeRequest, ClusterStatus, DrainNodeRequest, InitReply, InitRequest, NodeInfo, NodeInfoRequest,
    RemoveNodeReply, RemoveNodeRequest, StatusRequest,
};

use crate::conn::Idempotence;
use crate::{Client, ClientError};

impl Client {
    /// Identity and Raft view of the node at `addr`.
    pub async fn node_info(&self, addr: &str) -> Result<NodeInfo, ClientError> {
        self.call_node(addr, |ch| async move {
            ClusterClient::new(ch).get_node_info(NodeInfoRequest {}).await
        })
        .await
    }

    /// Bootstraps a new cluster on the node at `addr`.
    pub async fn init_cluster(&self, addr: &str) -> Result<InitReply, ClientError> {
        self.call_node(
            addr,
            |ch| async move { ClusterClient::new(ch).init(InitRequest {}).await },
        )
        .await
    }

    /// Adds the node listening at `addr` (which must run with `site`, if given).
    pub async fn add_node(&self, addr: &str, site: &str) -> Result<AddNodeReply, ClientError> {
        let req = AddNodeRequest {
            addr: addr.into(),
            site: site.into(),
        };
        // Adding is idempotent: re-adding the same node is a no-op on the leader. The leader waits
        // for the newcomer to catch up (up to minutes, from a snapshot), hence the long deadline.
        self.call_for(Idempotence::Safe, std::time::Duration::from_secs(300), |ch| {
            let req = req.clone();
            async move { ClusterClient::new(ch).add_node(req).await }
        })
        .await
    }

    /// Starts moving every shard off `node_id`; returns its previous state.
    pub async fn drain_node(&self, node_id: u64) -> Result<String, ClientError> {
        let req = DrainNodeRequest { node_id };
        let reply = self
            .call(Idempotence::Safe, |ch| async move {
                ClusterClient::new(ch).drain_node(req).await
            })
            .await?;
        Ok(reply.previous_state)
    }

    pub async fn remove_node(&self, node_id: u64) -> Result<RemoveNodeReply, ClientError> {
        let req = RemoveNodeRequest { node_id };
        self.call(Idempotence::Safe, |ch| async move {
            ClusterClient::new(ch).remove_node(req).await
        })
        .await
    }

    /// The cluster's status as seen by the first node that answers.
    pub async fn status(&self, probe_timeout_ms: u32) -> Result<ClusterStatus, ClientError> {
        self.call(Idempotence::Safe, |ch| async move {
            ClusterClient::new(ch).status(StatusRequest { probe_timeout_ms }).await
        })
        .await
    }
}
