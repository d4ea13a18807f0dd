//! The cluster's Ed25519 seal key and the public keys a verifier trusts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::hash::Hash32;
use super::tsa_trust::TsaTrust;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("seal key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("seal key file {path} is not a hex-encoded 32-byte Ed25519 seed: {reason}; regenerate it or restore it from backup")]
    BadSecret { path: String, reason: String },
    #[error("public seal key {key_id:?} is invalid: {reason}")]
    BadPublic { key_id: String, reason: String },
}

/// The private seal key. Its id is derived from the public key, so ids cannot be reassigned.
pub struct SealKey {
    signing: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// `ed25519:` and the first 16 hex digits of SHA-256 of the raw public key.
pub fn key_id_of(public: &VerifyingKey) -> String {
    format!("ed25519:{}", &Hash32::of(public.as_bytes()).to_hex()[..16])
}

impl SealKey {
    pub fn generate() -> Self {
        Self::from_seed(&SigningKey::generate(&mut rand::rngs::OsRng).to_bytes())
    }

    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let key_id = key_id_of(&signing.verifying_key());
        SealKey { signing, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }

    pub fn public(&self) -> PublicSealKey {
        PublicSealKey {
            key_id: self.key_id.clone(),
            algorithm: "ed25519".into(),
            public_key: hex::encode(self.signing.verifying_key().as_bytes()),
        }
    }

    /// Writes the seed as hex to a new file readable by its owner only; refuses to overwrite.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write;
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(path).map_err(io)?;
        file.write_all(format!("{}\n", hex::encode(self.signing.to_bytes())).as_bytes())
            .map_err(io)?;
        file.sync_all().map_err(io)
    }

    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let bad = |reason: String| KeyError::BadSecret {
            path: path.display().to_string(),
            reason,
        };
        let mut seed = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut seed).map_err(|e| bad(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }
}

/// The exportable public half: `{"key_id": …, "algorithm": "ed25519", "public_key": <64 hex digits>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSealKey {
    pub key_id: String,
    pub algorithm: String,
    pub public_key: String,
}

impl PublicSealKey {
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let bad = |reason: String| KeyError::BadPublic {
            key_id: self.key_id.clone(),
            reason,
        };
        if self.algorithm != "ed25519" {
            return Err(bad(format!(
                "algorithm {:?} is not supported (only ed25519)",
                self.algorithm
            )));
        }
        let mut raw = [0u8; 32];
        hex::decode_to_slice(&self.public_key, &mut raw).map_err(|e| bad(e.to_string()))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| bad(e.to_string()))?;
        if key_id_of(&key) != self.key_id {
            return Err(bad(format!(
                "the key id derived from this key is {:?}",
                key_id_of(&key)
            )));
        }
        Ok(key)
    }
}

/// The keys a verifier trusts, by key id, and the TSA trust anchors if any. Retired keys stay here so old seals
/// still verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyKeys {
    keys: HashMap<String, VerifyingKey>,
    tsa: Option<Arc<TsaTrust>>,
}

impl VerifyKeys {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, key: &PublicSealKey) -> Result<Self, KeyError> {
        self.keys.insert(key.key_id.clone(), key.verifying_key()?);
        Ok(self)
    }

    pub fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.keys.get(key_id)
    }

    /// RFC 3161 tokens are then verified in full (signature and chain), not only for their imprint.
    pub fn with_tsa_trust(mut self, trust: TsaTrust) -> Self {
        self.tsa = Some(Arc::new(trust));
        self
    }

    pub fn tsa_trust(&self) -> Option<&TsaTrust> {
        self.tsa.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip_and_public_export() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        let key = SealKey::generate();
        key.save(&path).unwrap();
        assert!(key.save(&path).is_err(), "must not overwrite an existing key");
        let back = SealKey::load(&path).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        let public = key.public();
        assert!(public.verifying_key().is_ok());
        let forged = PublicSealKey {
            key_id: "ed25519:0000000000000000".into(),
            ..public
        };
        assert!(forged.verifying_key().is_err());
        std::fs::write(&path, "zz").unwrap();
        assert!(matches!(SealKey::load(&path), Err(KeyError::BadSecret { .. })));
    }
}
