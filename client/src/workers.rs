//! Background workers of each node (scrubber, repairer).

use archipel_proto::worker::workers_client::WorkersClient;
use archipel_proto::worker::{ControlWorkerRequest, ListWorkersReply, ListWorkersRequest, WorkerInfo};

use crate::{Client, ClientError};

impl Client {
    /// The workers of the node at `addr`.
    pub async fn workers(&self, addr: &str) -> Result<ListWorkersReply, ClientError> {
        self.call_node(addr, |ch| async move {
            WorkersClient::new(ch).list(ListWorkersRequest {}).await
        })
        .await
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
