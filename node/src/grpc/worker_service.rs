//! Lists and steers this node's background workers.

use std::sync::Arc;

use archipel_proto::worker::workers_server::Workers;
use archipel_proto::worker::{ControlWorkerReply, ControlWorkerRequest, ListWorkersReply, ListWorkersRequest};
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
        Ok(Response::new(ControlWorkerReply {
            worker: Some(worker.snapshot()),
        }))
    }
}
