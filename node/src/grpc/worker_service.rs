//! Lists and steers this node's background workers.

use std::sync::Arc;
use std::time::Duration;

use archipel_proto::worker::workers_client::WorkersClient;
use archipel_proto::worker::workers_server::Workers;
use archipel_proto::worker::{
    ClusterWorkersReply, ClusterWorkersRequest, ControlWorkerReply, ControlWorkerRequest, ListWorkersReply,
    ListWorkersRequest, NodeWorkers, WorkerInfo,
};
use futures::future::join_all;
use tonic::{Request, Response, Status};

use crate::node::Node;

pub struct WorkerService {
    pub node: Arc<Node>,
}

#[tonic::async_trait]
impl Workers for WorkerService {
    async fn list(&self, _: Request<ListWorkersRequest>) -> Result<Response<ListWorkersReply>, Status> {
        Ok(Response::new(ListWorkersReply {
            node_id: self.node.id(),
            site: self.node.config.site.clone(),
            workers: self.node.workers.all(),
        }))
    }

    async fn control(&self, request: Request<ControlWorkerRequest>) -> Result<Response<ControlWorkerReply>, Status> {
        let r = request.into_inner();
        Ok(Response::new(ControlWorkerReply {
            worker: Some(self.control_local(&r.name, &r.action)?),
        }))
    }

    async fn cluster(&self, request: Request<ClusterWorkersRequest>) -> Result<Response<ClusterWorkersReply>, Status> {
        let r = request.into_inner();
        let map = self.node.state.cluster_map();
        let targets: Vec<_> = map
            .live_nodes()
            .filter(|n| r.node_id == 0 || n.id == r.node_id)
            .cloned()
            .collect();
        if targets.is_empty() {
            return Err(Status::not_found(format!("node {} is not in the cluster", r.node_id)));
        }
        let asks = targets.iter().map(|n| async {
            let answer = if n.id == self.node.id() {
                self.local(&r).map_err(|s| s.message().to_owned())
            } else {
                self.remote(&n.addr, &r).await
            };
            match answer {
                Ok(workers) => NodeWorkers {
                    node_id: n.id,
                    site: n.site.clone(),
                    workers,
                    error: String::new(),
                },
                Err(error) => NodeWorkers {
                    node_id: n.id,
                    site: n.site.clone(),
                    workers: vec![],
                    error,
                },
            }
        });
        Ok(Response::new(ClusterWorkersReply {
            nodes: join_all(asks).await,
        }))
    }
}

/// How long the answering node waits for each other node.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

impl WorkerService {
    fn local(&self, r: &ClusterWorkersRequest) -> Result<Vec<WorkerInfo>, Status> {
        if !r.action.is_empty() {
            self.control_local(&r.name, &r.action)?;
        }
        Ok(self.node.workers.all())
    }

    async fn remote(&self, addr: &str, r: &ClusterWorkersRequest) -> Result<Vec<WorkerInfo>, String> {
        let channel = self.node.peers.channel(addr).map_err(|e| e.to_string())?;
        let mut client = WorkersClient::new(channel);
        let ask = async {
            if !r.action.is_empty() {
                client
                    .control(ControlWorkerRequest {
                        name: r.name.clone(),
                        action: r.action.clone(),
                    })
                    .await?;
            }
            client.list(ListWorkersRequest {}).await
        };
        match tokio::time::timeout(ASK_TIMEOUT, ask).await {
            Ok(Ok(reply)) => Ok(reply.into_inner().workers),
            Ok(Err(status)) => Err(status.message().to_owned()),
            Err(_) => Err(format!("no answer within {ASK_TIMEOUT:?}")),
        }
    }

    fn control_local(&self, name: &str, action: &str) -> Result<WorkerInfo, Status> {
        let r = ControlWorkerRequest {
            name: name.into(),
            action: action.into(),
        };
        let worker = self.node.workers.get(&r.name).ok_or_else(|| {
            let names: Vec<String> = self.node.workers.all().into_iter().map(|w| w.name).collect();
            Status::not_found(format!("no worker `{}`; this node has: {}", r.name, names.join(", ")))
        })?;
        match r.action.as_str() {
            "start" => worker.start_now(),
            "pause" => worker.pause(),
            "resume" => worker.resume(),
            other => {
                return Err(Status::invalid_argument(format!(
                    "unknown action `{other}`: use start, pause or resume"
                )))
            }
        }
        tracing::info!(worker = %r.name, action = %r.action, "worker control");
        Ok(worker.snapshot())
    }
}
