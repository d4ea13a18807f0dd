//! The deny-list of revoked certificates, over gRPC. Revoking goes through Raft like any write,
//! so every node refuses the serial once it has applied the entry.

use std::sync::Arc;

use archipel_proto::pki::pki_server::Pki;
use archipel_proto::pki::{ListRevokedReply, ListRevokedRequest, RevokeReply, RevokeRequest, Revoked};
use tonic::{Request, Response, Status};

use super::status_of_raft;
use crate::node::Node;
use crate::raft::{Command, CommandResult, Expect};
use crate::tls::identity::normalize_serial;
use crate::tls::revocation::{Revocation, NS_REVOKED};
use crate::tls::PeerIdentity;

/// Longer reasons belong in the operator's own records.
const MAX_REASON_BYTES: usize = 1024;
/// A deny-list this long means the CA should be replaced, not extended.
const MAX_LISTED: usize = 10_000;

pub struct PkiService {
    pub node: Arc<Node>,
}

#[tonic::async_trait]
impl Pki for PkiService {
    async fn revoke(&self, request: Request<RevokeRequest>) -> Result<Response<RevokeReply>, Status> {
        let by = request
            .extensions()
            .get::<PeerIdentity>()
            .map(|p| p.subject.to_string())
            .unwrap_or_else(|| "unauthenticated (TLS disabled)".into());
        let r = request.into_inner();
        let serial = normalize_serial(&r.serial).map_err(Status::invalid_argument)?;
        if r.reason.len() > MAX_REASON_BYTES {
            return Err(Status::invalid_argument(format!(
                "the reason is {} bytes; the limit is {MAX_REASON_BYTES}",
                r.reason.len()
            )));
        }
        let record = Revocation {
            reason: r.reason,
            revoked_at_ms: self.node.clock.now_ms(),
            by,
        };
        let value = serde_json::to_vec(&record).map_err(|e| Status::internal(e.to_string()))?;
        // Absent-only: the first revocation's record (who, when, why) is the one kept.
        let cmd = Command::Cas {
            ns: NS_REVOKED.into(),
            key: serial.clone().into_bytes(),
            expect: Expect::Absent,
            new_value: Some(value),
        };
        match self.node.propose(cmd).await.map_err(status_of_raft)? {
            CommandResult::Cas { succeeded, .. } => {
                tracing::warn!(serial, by = record.by, "certificate revoked");
                Ok(Response::new(RevokeReply {
                    serial,
                    newly_revoked: succeeded,
                }))
            }
            other => Err(Status::internal(format!("unexpected state-machine result {other:?}"))),
        }
    }

    async fn list_revoked(&self, _: Request<ListRevokedRequest>) -> Result<Response<ListRevokedReply>, Status> {
        self.node.read_barrier().await.map_err(status_of_raft)?;
        let (entries, _) = self
            .node
            .state
            .scan(NS_REVOKED, b"", b"", MAX_LISTED)
            .map_err(|e| Status::internal(format!("cannot read the deny-list: {e}")))?;
        let revoked = entries
            .into_iter()
            .map(|e| {
                let record: Option<Revocation> = serde_json::from_slice(&e.value).ok();
                Revoked {
                    serial: String::from_utf8_lossy(&e.key).into_owned(),
                    reason: record.as_ref().map(|r| r.reason.clone()).unwrap_or_default(),
                    revoked_at_ms: record.as_ref().map(|r| r.revoked_at_ms).unwrap_or_default(),
                    by: record.map(|r| r.by).unwrap_or_default(),
                }
            })
            .collect();
        Ok(Response::new(ListRevokedReply { revoked }))
    }
}
