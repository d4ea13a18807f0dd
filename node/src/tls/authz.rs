//! Per-request checks on a TLS connection: the peer's certificate is not revoked (it may have
//! been revoked after the handshake), and its kind and role may call this RPC. Node-to-node RPCs
//! also need the certificate's node id and site to match the cluster map.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic::Status;

use super::identity::{PeerIdentity, Role, Subject};
use crate::cluster_map::NodeState;
use crate::node::Node;

/// What a plaintext caller is told. Clients recognise the first words.
pub const TLS_REQUIRED: &str = "this node requires mutual TLS: connect with the cluster CA and a client certificate \
     (pass --tls-dir or set ARCHIPEL_TLS_DIR; `archipel cert issue --client` makes one)";

/// Which callers an RPC path admits.
#[derive(Debug, PartialEq, Eq)]
enum Audience {
    /// Raft and shard traffic: nodes only.
    Nodes,
    /// Cluster administration, workers, revocation, metrics: nodes and operators.
    Operators,
    /// Metadata and objects: any certificate of the cluster (the archive layer adds tenants).
    Anyone,
}

fn audience(path: &str) -> Audience {
    if path.starts_with("/archipel.raft.") || path.starts_with("/archipel.shard.") {
        Audience::Nodes
    } else if path == "/archipel.cluster.v1.Cluster/Status" || path == "/archipel.cluster.v1.Cluster/GetNodeInfo" {
        // Read-only health and identity: every certificate may see them.
        Audience::Anyone
    } else if path.starts_with("/archipel.cluster.")
        || path.starts_with("/archipel.worker.")
        || path.starts_with("/archipel.pki.")
        || path == "/metrics"
    {
        Audience::Operators
    } else {
        Audience::Anyone
    }
}

/// Axum middleware: refuses what the caller's certificate does not allow, logs every refusal,
/// and hands the identity on to the services as a request extension.
pub async fn authorize(State(node): State<Arc<Node>>, mut request: Request, next: Next) -> Response {
    let Some(tls) = node.tls.as_ref() else {
        return next.run(request).await;
    };
    let der = request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(|i| i.peer_certs())
        .and_then(|c| c.first().cloned());
    let der: Option<rustls_pki_types::CertificateDer<'static>> = der;
    let Some(der) = der else {
        return deny(request.uri().path(), "-", Status::unauthenticated(TLS_REQUIRED));
    };
    let peer = match PeerIdentity::from_der(&der) {
        Ok(p) => p,
        Err(e) => return deny(request.uri().path(), "-", Status::unauthenticated(e)),
    };
    if tls.deny.is_revoked(&peer.serial) {
        let msg = format!("certificate {} ({}) has been revoked", peer.serial, peer.subject);
        return deny(
            request.uri().path(),
            &peer.subject.to_string(),
            Status::unauthenticated(msg),
        );
    }
    if let Err(why) = admits(&node, request.uri().path(), &peer) {
        return deny(
            request.uri().path(),
            &peer.subject.to_string(),
            Status::permission_denied(why),
        );
    }
    request.extensions_mut().insert(peer);
    next.run(request).await
}

fn admits(node: &Node, path: &str, peer: &PeerIdentity) -> Result<(), String> {
    match (audience(path), &peer.subject) {
        (Audience::Anyone, _) => Ok(()),
        (Audience::Operators, Subject::Node { .. }) => matches_map(node, path, peer),
        (
            Audience::Operators,
            Subject::Client {
                role: Role::Operator, ..
            },
        ) => Ok(()),
        (Audience::Operators, Subject::Client { .. }) => Err(format!(
            "{} may not call {path}: it needs the operator role",
            peer.subject
        )),
        (Audience::Nodes, Subject::Node { .. }) => matches_map(node, path, peer),
        (Audience::Nodes, Subject::Client { .. }) => Err(format!(
            "{} may not call {path}: node-to-node RPCs need a node certificate",
            peer.subject
        )),
    }
}

/// A node certificate must name a node the cluster map holds, at the same site, not gone. A node
/// whose map is still empty (being added, before it has the log) can only rely on the CA.
fn matches_map(node: &Node, path: &str, peer: &PeerIdentity) -> Result<(), String> {
    let Subject::Node { id, site } = &peer.subject else {
        return Err("not a node certificate".into());
    };
    let map = node.state.cluster_map();
    if map.cluster_id.is_empty() {
        return Ok(());
    }
    match map.nodes.get(id) {
        Some(entry) if entry.state == NodeState::Gone => Err(format!("node {id} has been removed from the cluster")),
        Some(entry) if &entry.site != site => Err(format!(
            "the certificate says node {id} is at site {site}, but the cluster map has it at site {}",
            entry.site
        )),
        Some(_) => Ok(()),
        // A node being added is probed (cluster RPCs) before it is in the map.
        None if audience(path) == Audience::Operators => Ok(()),
        None => Err(format!(
            "node {id} is not in the cluster map; add it with `archipel node add`"
        )),
    }
}

fn deny(path: &str, who: &str, status: Status) -> Response {
    tracing::warn!(rpc = path, peer = who, code = ?status.code(), "request refused: {}", status.message());
    status.into_http::<axum::body::Body>().into_response()
}

/// The whole service offered on a plaintext connection: `/health`, `metrics` when the config
/// allows it, and a refusal that says how to connect for everything else (a gRPC status for gRPC
/// callers, text for the others).
pub fn plaintext_router(metrics: Option<axum::Router>) -> axum::Router {
    let router = axum::Router::new().route("/health", axum::routing::get(|| async { "ok\n" }));
    let router = match metrics {
        Some(m) => router.merge(m),
        None => router,
    };
    router.fallback(|request: Request| async move {
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        if grpc {
            Status::unauthenticated(TLS_REQUIRED)
                .into_http::<axum::body::Body>()
                .into_response()
        } else {
            (http::StatusCode::BAD_REQUEST, format!("{TLS_REQUIRED}\n")).into_response()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_cover_the_services() {
        assert_eq!(audience("/archipel.raft.v1.Raft/Vote"), Audience::Nodes);
        assert_eq!(audience("/archipel.shard.v1.Shard/Put"), Audience::Nodes);
        assert_eq!(audience("/archipel.cluster.v1.Cluster/Join"), Audience::Operators);
        assert_eq!(audience("/archipel.pki.v1.Pki/Revoke"), Audience::Operators);
        assert_eq!(audience("/archipel.meta.v1.Meta/Get"), Audience::Anyone);
        assert_eq!(audience("/archipel.cluster.v1.Cluster/Status"), Audience::Anyone);
    }
}
