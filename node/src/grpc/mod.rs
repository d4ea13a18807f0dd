//! The gRPC services of a node, and how their errors map to status codes.
//!
//! Retry contract with clients: a status carrying the `x-archipel-retry: safe` header means the
//! request was not applied anywhere and may be sent to another node. Any other failure of a
//! write leaves its outcome unknown.

pub mod cluster_service;
pub mod idle;
pub mod meta_service;
mod object_lock;
pub mod object_service;
pub mod pki_service;
pub mod raft_service;
pub mod shard_receive;
pub mod shard_service;
pub mod worker_service;

use std::future::Future;

use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::admin::AdminError;
use crate::node::{Node, RaftOpError};

use archipel_proto::retry::RETRY_HEADER;
const FORWARDED_HEADER: &str = "x-archipel-forwarded";

pub fn retry_safe(mut status: Status) -> Status {
    status
        .metadata_mut()
        .insert(RETRY_HEADER, MetadataValue::from_static("safe"));
    status
}

pub fn status_of_raft(e: RaftOpError) -> Status {
    match &e {
        RaftOpError::NotLeader { .. } | RaftOpError::NoQuorum(_) => retry_safe(Status::unavailable(e.to_string())),
        RaftOpError::Indeterminate(_) => Status::unknown(e.to_string()),
        RaftOpError::Membership(_) => Status::failed_precondition(e.to_string()),
    }
}

pub fn status_of_admin(e: AdminError) -> Status {
    let msg = e.to_string();
    match e {
        AdminError::AlreadyInitialised(_) | AdminError::OtherCluster { .. } => Status::failed_precondition(msg),
        AdminError::Conflict(_) => Status::already_exists(msg),
        AdminError::Invalid(_) => Status::invalid_argument(msg),
        AdminError::NotFound(_) => Status::not_found(msg),
        AdminError::Unreachable { .. } => Status::unavailable(msg),
        AdminError::Raft(r) => status_of_raft(r),
        AdminError::Store(_) => Status::internal(msg),
    }
}

pub fn is_forwarded<T>(req: &Request<T>) -> bool {
    req.metadata().contains_key(FORWARDED_HEADER)
}

/// Leader address to forward to, if this request may be forwarded.
pub fn forward_target(e: &RaftOpError, forwarded: bool) -> Option<String> {
    match e {
        RaftOpError::NotLeader {
            leader_addr: Some(addr),
            ..
        } if !forwarded => Some(addr.clone()),
        _ => None,
    }
}

/// Sends `req` on to the leader, once. The leader answers as if it had been asked directly.
pub async fn forward<C, Req, Resp, Fut>(
    node: &Node,
    addr: &str,
    req: Req,
    make_client: impl FnOnce(Channel) -> C,
    call: impl FnOnce(C, Request<Req>) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    let channel = node
        .peers
        .channel(addr)
        .map_err(|e| retry_safe(Status::unavailable(format!("cannot reach leader at {addr}: {e}"))))?;
    let mut request = Request::new(req);
    request
        .metadata_mut()
        .insert(FORWARDED_HEADER, MetadataValue::from_static("1"));
    call(make_client(channel), request).await
}
