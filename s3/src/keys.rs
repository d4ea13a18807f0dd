//! Access keys: one per client tool, bound to one tenant, optionally read-only.
//!
//! SigV4 signs with the secret itself (an HMAC key), so the gateway must be able to recover it:
//! a hash would not do. Secrets are sealed with XChaCha20-Poly1305 under the gateway's seal key
//! (a 32-byte file on the gateway host, never in the cluster), with the access key id as
//! associated data so a sealed secret cannot be moved to another key's record. The cluster's
//! metadata holds only the sealed form.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archipel_client::{CasExpect, Client, Consistency};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{GatewayError, Result};
use crate::records::now_ms;

/// Metadata namespace of the key records (key = access key id).
pub const KEYS_NS: &str = "s3.keys";
/// A revoked or changed key stops working within this delay on every gateway.
const CACHE_TTL: Duration = Duration::from_secs(2);

/// The gateway's secret for sealing access-key secrets.
#[derive(Clone)]
pub struct SealKey {
    key: [u8; 32],
}

impl SealKey {
    /// Reads the key file (64 hex digits), creating it (mode 0600) when absent.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        let err = |reason: String| GatewayError::SealKeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|e| err(format!("not hex ({e})")))?;
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| err("must hold 32 bytes as 64 hex digits".into()))?;
                Ok(Self { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private(path, hex::encode(key).as_bytes()).map_err(|e| err(format!("cannot create it: {e}")))?;
                Ok(Self { key })
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    #[cfg(test)]
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Public identifier: which seal key sealed a record, without revealing it.
    pub fn id(&self) -> String {
        hex::encode(&blake3::keyed_hash(&self.key, b"archipel-s3-seal-key-id").as_bytes()[..8])
    }

    fn aad(access_key: &str) -> Vec<u8> {
        format!("archipel-s3 access key {access_key}").into_bytes()
    }

    fn seal(&self, access_key: &str, secret: &str) -> Result<String> {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &Self::aad(access_key),
                },
            )
            .map_err(|_| GatewayError::corrupt(access_key, "sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(hex::encode(out))
    }

    fn open(&self, access_key: &str, sealed_hex: &str) -> Result<String> {
        let bytes = hex::decode(sealed_hex).map_err(|e| GatewayError::corrupt(access_key, e))?;
        if bytes.len() < 24 {
            return Err(GatewayError::corrupt(access_key, "sealed secret too short"));
        }
        let (nonce, sealed) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &Self::aad(access_key),
                },
            )
            .map_err(|_| GatewayError::corrupt(access_key, "the sealed secret does not open"))?;
        String::from_utf8(plain).map_err(|e| GatewayError::corrupt(access_key, e))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Default location of the seal key: beside the client certificate the gateway uses to reach
/// the cluster, so the CLI and the gateway of one host agree without set-up.
pub fn default_seal_key_path(tls_dir: Option<&Path>) -> PathBuf {
    match tls_dir {
        Some(dir) => dir.join("s3-seal.key"),
        None => PathBuf::from("s3-seal.key"),
    }
}

/// A key as stored in the cluster's metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    pub tenant: String,
    pub read_only: bool,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
    /// Which seal key sealed `sealed_secret` (see [`SealKey::id`]).
    pub seal_key_id: String,
    pub sealed_secret: String,
}

/// What `archipel s3 key list` shows: never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct KeySummary {
    pub access_key: String,
    pub tenant: String,
    pub read_only: bool,
    pub created_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
}

/// A new key: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewKey {
    pub access_key: String,
    pub secret_key: String,
    pub tenant: String,
    pub read_only: bool,
}

/// Who signed a request.
#[derive(Debug, Clone)]
pub struct Identity {
    pub access_key: String,
    pub tenant: String,
    pub read_only: bool,
}

pub fn validate_tenant(tenant: &str) -> Result<()> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 32
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !tenant.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(GatewayError::BadTenant(tenant.into()))
    }
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// Key administration and request-time look-up.
pub struct Keys {
    client: Arc<Client>,
    /// None for administration that needs no secret (list, revoke).
    seal: Option<SealKey>,
    cache: Mutex<HashMap<String, (Instant, KeyRecord, String)>>,
}

impl Keys {
    pub fn new(client: Arc<Client>, seal: SealKey) -> Self {
        Self {
            client,
            seal: Some(seal),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// For listing and revoking keys, which never touch a secret.
    pub fn without_seal(client: Arc<Client>) -> Self {
        Self {
            client,
            seal: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn seal(&self) -> Result<&SealKey> {
        self.seal.as_ref().ok_or_else(|| GatewayError::SealKeyFile {
            path: "(none given)".into(),
            reason: "this operation needs the seal key".into(),
        })
    }

    pub async fn create(&self, tenant: &str, read_only: bool) -> Result<NewKey> {
        validate_tenant(tenant)?;
        // AWS-shaped: 20 upper-case characters, 40-character secret.
        let access_key = format!("AK{}", random_string(18, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
        let secret_key = random_string(40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        let record = KeyRecord {
            tenant: tenant.into(),
            read_only,
            created_ms: now_ms(),
            revoked_ms: None,
            seal_key_id: self.seal()?.id(),
            sealed_secret: self.seal()?.seal(&access_key, &secret_key)?,
        };
        let value = serde_json::to_vec(&record).map_err(|e| GatewayError::corrupt(&access_key, e))?;
        let outcome = self
            .client
            .meta_cas(KEYS_NS, access_key.as_bytes(), CasExpect::Absent, Some(&value))
            .await?;
        if !outcome.succeeded {
            return Err(GatewayError::Contended(format!("access key {access_key}")));
        }
        Ok(NewKey {
            access_key,
            secret_key,
            tenant: tenant.into(),
            read_only,
        })
    }

    pub async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeySummary>> {
        let mut out = Vec::new();
        let mut after = Vec::new();
        loop {
            let (entries, more) = self
                .client
                .meta_scan(KEYS_NS, b"", &after, 1000, Consistency::Linearizable)
                .await?;
            for e in &entries {
                let name = String::from_utf8_lossy(&e.key).into_owned();
                let r: KeyRecord = serde_json::from_slice(&e.value).map_err(|err| GatewayError::corrupt(&name, err))?;
                if tenant.is_none_or(|t| t == r.tenant) {
                    out.push(KeySummary {
                        access_key: name,
                        tenant: r.tenant,
                        read_only: r.read_only,
                        created_ms: r.created_ms,
                        revoked_ms: r.revoked_ms,
                    });
                }
            }
            match entries.last() {
                Some(last) if more => after = last.key.clone(),
                _ => return Ok(out),
            }
        }
    }

    /// Marks the key revoked (kept for the record); returns false when it already was.
    pub async fn revoke(&self, access_key: &str) -> Result<bool> {
        for _ in 0..8 {
            let entry = self
                .client
                .meta_get(KEYS_NS, access_key.as_bytes(), Consistency::Linearizable)
                .await?
                .ok_or_else(|| GatewayError::NoSuchKey(access_key.into()))?;
            let mut record: KeyRecord =
                serde_json::from_slice(&entry.value).map_err(|e| GatewayError::corrupt(access_key, e))?;
            if record.revoked_ms.is_some() {
                return Ok(false);
            }
            record.revoked_ms = Some(now_ms());
            record.sealed_secret.clear();
            let value = serde_json::to_vec(&record).map_err(|e| GatewayError::corrupt(access_key, e))?;
            let outcome = self
                .client
                .meta_cas(
                    KEYS_NS,
                    access_key.as_bytes(),
                    CasExpect::Revision(entry.revision),
                    Some(&value),
                )
                .await?;
            if outcome.succeeded {
                self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(access_key);
                return Ok(true);
            }
        }
        Err(GatewayError::Contended(format!("access key {access_key}")))
    }

    /// The key's record and secret, or None when unknown or revoked.
    pub async fn lookup(&self, access_key: &str) -> Result<Option<(KeyRecord, String)>> {
        if let Some((at, record, secret)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key)
            .cloned()
        {
            if at.elapsed() < CACHE_TTL {
                return Ok(Some((record, secret)));
            }
        }
        let Some(entry) = self
            .client
            .meta_get(KEYS_NS, access_key.as_bytes(), Consistency::Linearizable)
            .await?
        else {
            return Ok(None);
        };
        let record: KeyRecord =
            serde_json::from_slice(&entry.value).map_err(|e| GatewayError::corrupt(access_key, e))?;
        if record.revoked_ms.is_some() {
            return Ok(None);
        }
        let seal = self.seal()?;
        if record.seal_key_id != seal.id() {
            return Err(GatewayError::WrongSealKey {
                key: access_key.into(),
                sealed_with: record.seal_key_id,
                holds: seal.id(),
            });
        }
        let secret = seal.open(access_key, &record.sealed_secret)?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(access_key.into(), (Instant::now(), record.clone(), secret.clone()));
        Ok(Some((record, secret)))
    }

    pub async fn identity(&self, access_key: &str) -> Result<Option<Identity>> {
        Ok(self.lookup(access_key).await?.map(|(r, _)| Identity {
            access_key: access_key.into(),
            tenant: r.tenant,
            read_only: r.read_only,
        }))
    }
}

/// The signature check asks for the secret here.
pub struct KeyAuth(pub Arc<Keys>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for KeyAuth {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<s3s::auth::SecretKey> {
        match self.0.lookup(access_key).await {
            Ok(Some((_, secret))) => Ok(s3s::auth::SecretKey::from(secret)),
            Ok(None) => Err(s3s::s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
            Err(e) => {
                tracing::warn!("access key look-up failed: {e}");
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_id_and_seal_key() {
        let seal = SealKey::from_bytes([7; 32]);
        let sealed = seal.seal("AKONE", "s3cret").unwrap();
        assert_eq!(seal.open("AKONE", &sealed).unwrap(), "s3cret");
        assert!(seal.open("AKTWO", &sealed).is_err(), "moved to another key");
        assert!(SealKey::from_bytes([8; 32]).open("AKONE", &sealed).is_err());
        assert!(!sealed.contains(&hex::encode("s3cret")));
    }

    #[test]
    fn seal_key_file_is_created_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s3-seal.key");
        let a = SealKey::load_or_create(&path).unwrap();
        let b = SealKey::load_or_create(&path).unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, "zz").unwrap();
        assert!(SealKey::load_or_create(&path).is_err());
    }

    #[test]
    fn tenant_names() {
        assert!(validate_tenant("region").is_ok());
        assert!(validate_tenant("Region").is_err());
        assert!(validate_tenant("").is_err());
        assert!(validate_tenant("a/b").is_err());
    }
}
