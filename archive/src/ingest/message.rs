//! Idempotent transfers: within a tenant, one (TransferringAgency, MessageIdentifier) pair is
//! one transfer. Producers such as Pastell resend a message when they did not get its reply;
//! the resend must yield the first transfer's reply, never a second AIP.
//!
//! The pair is claimed by a record created only if absent ([`keys::transfer_message`]), so two
//! fronts receiving the same message at once agree on one owner through the cluster, and fronts
//! keep no state. "Same SIP" means the same manifest: the SHA-512 of `manifest.xml` as sent. The
//! manifest declares every object's digest, and an accepted transfer verified each file against
//! it, so an identical manifest means identical content; a producer that rebuilds the manifest
//! (a new `Date`) sends a different message and must give it a new MessageIdentifier.
//!
//! A transfer that ended KO and stored nothing frees its pair: the next transfer of that pair
//! takes the claim over (as@lae and Pastell resend under the same identifier once the cause of
//! a KO is fixed). One whose catalog commit had an unknown outcome frees it only once it is
//! known that no AIP was committed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use archipel_seda::digest::{DigestAlgorithm, Hasher};

use super::checks::{reason, Reasons};
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{Transfer, TransferStatus};
use crate::service::Archive;
use crate::store::{Expect, Write};

/// Attempts to claim a pair whose holder keeps changing (KO transfers taken over meanwhile).
const CLAIM_ATTEMPTS: usize = 5;

/// Who holds a (TransferringAgency, MessageIdentifier) pair.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageClaim {
    pub transfer_id: String,
    /// Hex SHA-512 of the manifest.xml bytes the holder received.
    pub manifest_sha512: String,
    pub claimed_at: DateTime<Utc>,
}

/// What claiming the pair decided.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// This transfer holds the pair (or the manifest names none): go on.
    Own,
    /// The same manifest was transferred already by this transfer id: its reply stands.
    Resend(String),
}

pub fn manifest_digest(manifest: &[u8]) -> String {
    let mut h = Hasher::new(DigestAlgorithm::Sha512);
    h.update(manifest);
    h.finish()
}

/// Claims the pair of `t` for it, or says which transfer already holds it.
pub(crate) async fn claim(a: &Archive, t: &Transfer, manifest: &[u8]) -> std::result::Result<Claim, Reasons> {
    let step = "message";
    let (Some(agency), Some(message)) = (
        t.transferring_agency
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        t.message_identifier.as_deref().map(str::trim).filter(|s| !s.is_empty()),
    ) else {
        // The structure check has already rejected a manifest without them.
        return Ok(Claim::Own);
    };
    let key = keys::transfer_message(&t.tenant, agency, message);
    let mine = MessageClaim {
        transfer_id: t.id.clone(),
        manifest_sha512: manifest_digest(manifest),
        claimed_at: Utc::now(),
    };
    let failed = |e: ArchiveError| {
        vec![reason(
            step,
            Some("MessageIdentifier".into()),
            format!("cannot record that message `{message}` of agency `{agency}` is being transferred ({e}); nothing was stored: submit the SIP again"),
        )]
    };
    for _ in 0..CLAIM_ATTEMPTS {
        if a.store.create(&key, &mine).await.map_err(failed)? {
            return Ok(Claim::Own);
        }
        let Some(held) = a.store.get::<MessageClaim>(&key).await.map_err(failed)? else {
            continue;
        };
        if held.value.transfer_id == t.id {
            return Ok(Claim::Own);
        }
        let earlier = match super::transfer(a, &t.tenant, &held.value.transfer_id).await {
            Ok(e) => Some(e),
            Err(ArchiveError::NotFound(_)) => None,
            Err(e) => return Err(failed(e)),
        };
        let free = match &earlier {
            None => true,
            Some(e) => frees_its_message(a, e).await.map_err(failed)?,
        };
        if free {
            let taken = a
                .store
                .atomically(
                    &[Expect::Revision(key.clone(), held.revision)],
                    vec![Write::put(key.clone(), &mine).map_err(failed)?],
                )
                .await
                .map_err(failed)?;
            if taken {
                return Ok(Claim::Own);
            }
            continue;
        }
        let Some(earlier) = earlier else { continue };
        if held.value.manifest_sha512 == mine.manifest_sha512 {
            return Ok(Claim::Resend(earlier.id));
        }
        return Err(vec![reason(
            step,
            Some("MessageIdentifier".into()),
            format!(
                "message `{message}` of agency `{agency}` was already transferred as transfer {} ({}) with a different manifest; \
                 resend that same SIP to get its reply, or give this transfer its own MessageIdentifier",
                earlier.id,
                status_word(earlier.status)
            ),
        )]);
    }
    Err(vec![reason(
        step,
        Some("MessageIdentifier".into()),
        format!("message `{message}` of agency `{agency}` is being claimed by other transfers at the same time; submit the SIP again"),
    )])
}

/// A KO transfer that stored nothing no longer holds its message.
async fn frees_its_message(a: &Archive, t: &Transfer) -> Result<bool> {
    if t.status != TransferStatus::Ko || t.aip_id.is_some() {
        return Ok(false);
    }
    match &t.uncertain_aip {
        // Whatever a reindex later decides, an AIP committed under this message holds it.
        Some(aip) => Ok(a
            .store
            .get::<crate::catalog::AipRecord>(&keys::aip(&t.tenant, aip))
            .await?
            .is_none()),
        None => Ok(true),
    }
}

/// The condition, for `t`'s catalog commit, that its pair is still its own: a front silent long
/// enough is taken for stopped and its pair may go to a resend meanwhile. `None` when the
/// manifest names no pair; a reason when the pair is already another transfer's.
pub(crate) async fn still_held(a: &Archive, t: &Transfer) -> std::result::Result<Option<Expect>, Reasons> {
    let (Some(agency), Some(message)) = (
        t.transferring_agency
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        t.message_identifier.as_deref().map(str::trim).filter(|s| !s.is_empty()),
    ) else {
        return Ok(None);
    };
    let key = keys::transfer_message(&t.tenant, agency, message);
    let lost = |why: String| {
        vec![reason(
            "catalog",
            Some("MessageIdentifier".into()),
            format!("message `{message}` of agency `{agency}` {why}; nothing was committed"),
        )]
    };
    match a.store.get::<MessageClaim>(&key).await {
        Ok(Some(held)) if held.value.transfer_id == t.id => Ok(Some(Expect::Revision(key, held.revision))),
        Ok(Some(held)) => Err(lost(format!(
            "was taken over by transfer {} while this one was silent (its front was taken for stopped)",
            held.value.transfer_id
        ))),
        Ok(None) => Err(lost("is no longer claimed by this transfer".into())),
        Err(e) => Err(lost(format!("could not be checked before the commit ({e})"))),
    }
}

fn status_word(s: TransferStatus) -> &'static str {
    match s {
        TransferStatus::Received => "received",
        TransferStatus::Running => "running",
        TransferStatus::Ok => "OK",
        TransferStatus::Warning => "WARNING",
        TransferStatus::Ko => "KO",
    }
}

/// The transfer holding `agency`'s `message` in `tenant`.
pub async fn by_message(a: &Archive, tenant: &str, agency: &str, message: &str) -> Result<Transfer> {
    let key = keys::transfer_message(tenant, agency, message);
    let held =
        a.store.get::<MessageClaim>(&key).await?.ok_or_else(|| {
            ArchiveError::NotFound(format!("no transfer of message `{message}` from agency `{agency}`"))
        })?;
    super::transfer(a, tenant, &held.value.transfer_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_digest_is_sha512_hex_of_the_bytes() {
        let d = manifest_digest(b"abc");
        assert_eq!(d.len(), 128);
        assert!(d.starts_with("ddaf35a193617aba"), "{d}");
        assert_ne!(d, manifest_digest(b"abd"));
    }
}
