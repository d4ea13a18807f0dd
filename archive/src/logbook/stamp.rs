//! Obtaining a seal token (`Timestamper`) and checking one.

use std::fmt;

use async_trait::async_trait;
use ed25519_dalek::Signature;
use serde::Serialize;

use super::key::{SealKey, VerifyKeys};
use super::seal::{Seal, SealStatement, SealToken};

#[derive(Debug, thiserror::Error)]
#[error("could not time-stamp seal {index} of tenant {tenant}: {reason}")]
pub struct StampError {
    pub tenant: String,
    pub index: u64,
    pub reason: String,
}

/// Produces the token of a seal statement.
#[async_trait]
pub trait Timestamper: Send + Sync {
    async fn stamp(&self, statement: &SealStatement) -> Result<SealToken, StampError>;
}

/// Without a TSA the cluster signs its own seals: proof of origin, not a qualified timestamp.
#[async_trait]
impl Timestamper for SealKey {
    async fn stamp(&self, statement: &SealStatement) -> Result<SealToken, StampError> {
        let signature = self.sign(&statement.signed_bytes());
        Ok(SealToken::ClusterSigned {
            key_id: self.key_id().to_string(),
            signature: hex::encode(signature.to_bytes()),
        })
    }
}

/// What a valid token was checked for: a verifier must not claim more than it checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TokenCheck {
    ClusterSigned {
        key_id: String,
    },
    /// Imprint, CMS signature, ESS attribute, EKU and chain up to `anchor`, at genTime.
    TsaVerified {
        anchor: String,
    },
    /// No TSA trust anchor was configured: only the imprint could be checked.
    TsaImprintOnly,
}

impl fmt::Display for TokenCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenCheck::ClusterSigned { key_id } => write!(f, "cluster signature verified with key {key_id}"),
            TokenCheck::TsaVerified { anchor } => write!(f, "TSA signature and chain verified against {anchor}"),
            TokenCheck::TsaImprintOnly => write!(
                f,
                "imprint checked (nonce checked at seal time); TSA signature not checked: pass --tsa-ca"
            ),
        }
    }
}

/// Checks a seal's token against its statement; the error says what is wrong.
pub fn check_token(seal: &Seal, keys: &VerifyKeys) -> Result<TokenCheck, String> {
    match &seal.token {
        SealToken::ClusterSigned { key_id, signature } => {
            let key = keys
                .get(key_id)
                .ok_or_else(|| format!("seal key {key_id:?} is not among the trusted keys; add its public key"))?;
            let mut raw = [0u8; 64];
            hex::decode_to_slice(signature, &mut raw)
                .map_err(|e| format!("signature is not 64 hex-encoded bytes: {e}"))?;
            key.verify_strict(&seal.statement().signed_bytes(), &Signature::from_bytes(&raw))
                .map_err(|_| format!("Ed25519 signature does not verify under key {key_id:?}"))?;
            Ok(TokenCheck::ClusterSigned { key_id: key_id.clone() })
        }
        SealToken::Rfc3161 { token_der, .. } => {
            let der = hex::decode(token_der).map_err(|e| format!("token_der is not hex: {e}"))?;
            let digest = seal.statement().digest();
            match keys.tsa_trust() {
                Some(trust) => super::tsa_verify::verify_token(&der, &digest, trust)
                    .map(|v| TokenCheck::TsaVerified { anchor: v.anchor })
                    .map_err(|e| e.to_string()),
                None => super::tsp::check_token_imprint(&der, &digest).map(|()| TokenCheck::TsaImprintOnly),
            }
        }
    }
}
