//! The cluster's certificate deny-list (revocation).

use archipel_proto::pki::pki_client::PkiClient;
use archipel_proto::pki::{ListRevokedRequest, RevokeRequest, Revoked};

use crate::conn::Idempotence;
use crate::{Client, ClientError};

impl Client {
    /// Revokes the certificate with `serial` on every node. Returns the canonical serial and
    /// whether it was newly revoked (false: it already was). Idempotent.
    pub async fn revoke_cert(&self, serial: &str, reason: &str) -> Result<(String, bool), ClientError> {
        let req = RevokeRequest {
            serial: serial.into(),
            reason: reason.into(),
        };
        let reply = self
            .call(Idempotence::Safe, |ch| {
                let req = req.clone();
                async move { PkiClient::new(ch).revoke(req).await }
            })
            .await?;
        Ok((reply.serial, reply.newly_revoked))
    }

    /// Every revoked serial, with who revoked it, when and why.
    pub async fn list_revoked(&self) -> Result<Vec<Revoked>, ClientError> {
        let reply = self
            .call(Idempotence::Safe, |ch| async move {
                PkiClient::new(ch).list_revoked(ListRevokedRequest {}).await
            })
            .await?;
        Ok(reply.revoked)
    }
}
