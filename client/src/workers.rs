//! Background workers of each node (scrubber, repairer).

use archipel_proto::worker::workers_client::WorkersClient;
use archipel_proto::worker::{
    ClusterWorkersRequest, ControlWorkerRequest, ListWorkersReply, ListWorkersRequest, NodeWorkers, WorkerInfo,
};

use crate::conn::Idempotence;

use crate::{Client, ClientError};

impl Client {
    /// The workers of the node at `addr`.
    pub async fn workers(&self, addr: &str) -> Result<ListWorkersReply, ClientError> {
        self.call_node(addr, |ch| async move {
            WorkersClient::new(ch).list(ListWorkersRequest {}).await
        })
        .await
    }

    /// Every node's workers (or node `node_id`'s), gathered by whichever node answers; with an
    /// `action` (start, pause, resume) applied to worker `name` first.
    pub async fn cluster_workers(
        &self,
        name: &str,
        action: &str,
        node_id: u64,
    ) -> Result<Vec<NodeWorkers>, ClientError> {
        let req = ClusterWorkersRequest {
            name: name.into(),
            action: action.into(),
            node_id,
        };
        let reply = self
            .call(Idempotence::Safe, |ch| {
                let req = req.clone();
                async move { WorkersClient::new(ch).cluster(req).await }
            })
            .await?;
        Ok(reply.nodes)
    }

    /// `action` is start, pause or resume.
    pub async fn control_worker(&self, addr: &str, name: &str, action: &str) -> Result<WorkerInfo, ClientError> {
        let req = ControlWorkerRequest {
            name: name.into(),
            action: action.into(),
        };
        let reply = self
            .call_node(addr, |ch| async move { WorkersClient::new(ch).control(req).await })
            .await?;
        reply
            .worker
            .ok_or_else(|| ClientError::Server("the node returned no worker status".into()))
    }
}
