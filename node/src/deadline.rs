//! A deadline on unary data RPCs (`network.request_timeout_secs`), so a request stuck behind a
//! slow disk or a lost quorum does not hold its connection slot and task forever. Streaming
//! RPCs are bounded by their idle limits instead (`grpc::idle`), and cluster administration
//! (adding a node, a snapshot) may rightly take longer.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tonic::Status;

/// Unary RPCs of the data path: every metadata RPC and the object RPCs that do not stream.
pub fn is_unary_data_rpc(path: &str) -> bool {
    path.starts_with("/archipel.meta.")
        || matches!(
            path,
            "/archipel.object.v1.Objects/CreateNamespace"
                | "/archipel.object.v1.Objects/GetNamespace"
                | "/archipel.object.v1.Objects/ListNamespaces"
                | "/archipel.object.v1.Objects/StatObject"
                | "/archipel.object.v1.Objects/ListObjects"
                | "/archipel.object.v1.Objects/DeleteObject"
        )
}

pub async fn unary_deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if !is_unary_data_rpc(request.uri().path()) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(rpc = %path, "request dropped after {}s (network.request_timeout_secs)", limit.as_secs());
            Status::deadline_exceeded(format!(
                "no answer within {}s (network.request_timeout_secs); a write's outcome is unknown: read it back \
                 before retrying",
                limit.as_secs()
            ))
            .into_http::<axum::body::Body>()
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_unary_data_rpc;

    #[test]
    fn streams_and_administration_have_no_deadline() {
        assert!(is_unary_data_rpc("/archipel.meta.v1.Meta/Put"));
        assert!(is_unary_data_rpc("/archipel.object.v1.Objects/StatObject"));
        assert!(!is_unary_data_rpc("/archipel.object.v1.Objects/PutObject"));
        assert!(!is_unary_data_rpc("/archipel.object.v1.Objects/GetObject"));
        assert!(!is_unary_data_rpc("/archipel.shard.v1.Shard/WriteShard"));
        assert!(!is_unary_data_rpc("/archipel.cluster.v1.Cluster/AddNode"));
    }
}
