//! API credentials: bearer tokens bound to one tenant and one role, stored hashed (argon2).
//!
//! A token reads `ark_<id>_<secret>`. The id finds the record; the secret is checked against its
//! argon2 hash. The tenant of every call comes from here, never from the request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::store::Store;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// May transfer under its agreements, and follow its own transfers.
    TransferringAgency,
    /// Searches, reads and manages the referentials of its tenant.
    Archivist,
    /// Approves eliminations.
    ControlAuthority,
    /// Administers tenants and credentials; never sees archive content.
    Operator,
    /// A service or a reading-room account: searches, reads and asks for communications
    /// under its access contract only (`access`).
    Requester,
}

impl std::str::FromStr for Role {
    type Err = ArchiveError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "transferring-agency" => Ok(Self::TransferringAgency),
            "archivist" => Ok(Self::Archivist),
            "control-authority" => Ok(Self::ControlAuthority),
            "operator" => Ok(Self::Operator),
            "requester" => Ok(Self::Requester),
            other => Err(ArchiveError::Invalid(format!(
                "unknown role `{other}`: use transferring-agency, archivist, control-authority, operator or requester"
            ))),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TransferringAgency => "transferring-agency",
            Self::Archivist => "archivist",
            Self::ControlAuthority => "control-authority",
            Self::Operator => "operator",
            Self::Requester => "requester",
        })
    }
}

/// What a stored token grants. The secret itself is never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    /// None only for operators: they act on the platform, not inside a tenant.
    pub tenant: Option<String>,
    pub role: Role,
    /// For transferring agencies: the agency they transfer as.
    pub agency: Option<String>,
    pub label: String,
    /// For requesters: the access contract they act under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_contract: Option<String>,
    pub hash: String,
    /// Argon2 hash of the lowercase hex SHA-256 of the whole token (`ark_…`): the password the
    /// as@lae door receives over HTTP Basic, since Pastell's connector sends `sha256(password)`
    /// (docs/connectors.md). Tokens made before the door lack it and must be made again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who is calling, as established from the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub tenant: Option<String>,
    pub role: Role,
    pub agency: Option<String>,
    /// For requesters: the access contract they act under.
    pub access_contract: Option<String>,
    /// `archipel dev` only: the local CLI acts as every role in every tenant.
    pub all_tenants: bool,
}

impl Principal {
    /// The dev front's identity for unauthenticated loopback calls.
    pub fn dev_superuser() -> Self {
        Self {
            id: "dev-local".into(),
            tenant: None,
            role: Role::Operator,
            agency: None,
            access_contract: None,
            all_tenants: true,
        }
    }

    /// Checks that this principal may act in `tenant` with one of `roles`. A principal of
    /// another tenant learns nothing: it gets the same answer as for a tenant that does not exist.
    pub fn require(&self, tenant: &str, roles: &[Role]) -> Result<()> {
        if self.all_tenants {
            return Ok(());
        }
        // Operators belong to no tenant: they act platform-wide, where their role is allowed.
        if self.role == Role::Operator && self.tenant.is_none() && roles.contains(&Role::Operator) {
            return Ok(());
        }
        if self.tenant.as_deref() != Some(tenant) {
            return Err(ArchiveError::NotFound(format!("tenant `{tenant}`")));
        }
        if !roles.contains(&self.role) {
            return Err(ArchiveError::Forbidden(format!(
                "the {} role cannot do this; it needs one of: {}",
                self.role,
                roles.iter().map(Role::to_string).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    /// Platform administration (tenants, credentials): operators only.
    pub fn require_operator(&self) -> Result<()> {
        if self.all_tenants || self.role == Role::Operator {
            Ok(())
        } else {
            Err(ArchiveError::Forbidden(format!(
                "the {} role cannot administer the platform; use an operator token",
                self.role
            )))
        }
    }
}

/// A freshly created token: the only time its secret is visible.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub tenant: Option<String>,
    pub role: Role,
}

const CACHE_TTL: Duration = Duration::from_secs(30);

/// Checks bearer tokens. Verified tokens are cached briefly, because argon2 is slow on purpose;
/// a revocation reaches other fronts within [`CACHE_TTL`].
pub struct Authenticator {
    store: Store,
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl Authenticator {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn authenticate(&self, bearer: &str) -> Result<Principal> {
        let fingerprint = *blake3::hash(bearer.as_bytes()).as_bytes();
        if let Some(p) = self.cached(&fingerprint) {
            return Ok(p);
        }
        let (id, secret) = parse_token(bearer)?;
        let record = self
            .store
            .get::<TokenRecord>(&keys::token(id))
            .await?
            .map(|v| v.value)
            .ok_or_else(|| ArchiveError::Unauthenticated("unknown token; ask an operator for a new one".into()))?;
        if record.revoked_at.is_some() {
            return Err(ArchiveError::Unauthenticated(format!(
                "token `{id}` was revoked; ask an operator for a new one"
            )));
        }
        let stored = record.hash.clone();
        let secret = secret.to_owned();
        let checked = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored)
                .map(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ArchiveError::Internal(format!("token check failed: {e}")))?;
        match checked {
            Ok(true) => {}
            Ok(false) => return Err(ArchiveError::Unauthenticated("wrong token secret".into())),
            Err(e) => return Err(ArchiveError::Internal(format!("token `{id}` has a corrupt hash ({e})"))),
        }
        let p = Principal {
            id: record.id,
            tenant: record.tenant,
            role: record.role,
            agency: record.agency,
            access_contract: record.access_contract,
            all_tenants: false,
        };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(fingerprint, (p.clone(), Instant::now()));
        }
        Ok(p)
    }

    /// HTTP Basic as the as@lae door receives it: `login` is the token id, `password` the
    /// lowercase hex SHA-256 of the whole token. Every refusal reads the same, so a caller cannot
    /// tell an unknown login from a wrong password; an unknown login costs the same argon2 check.
    pub async fn authenticate_basic(&self, login: &str, password: &str) -> Result<Principal> {
        let refused = || ArchiveError::Unauthenticated("wrong login or password".into());
        let fingerprint = *blake3::hash(format!("basic\0{login}\0{password}").as_bytes()).as_bytes();
        if let Some(p) = self.cached(&fingerprint) {
            return Ok(p);
        }
        let well_formed = login.len() == 16
            && login.bytes().all(|b| b.is_ascii_hexdigit())
            && password.len() == 64
            && password.bytes().all(|b| b.is_ascii_hexdigit());
        let record = if well_formed {
            self.store
                .get::<TokenRecord>(&keys::token(login))
                .await?
                .map(|v| v.value)
        } else {
            None
        };
        let usable = record
            .as_ref()
            .filter(|r| r.revoked_at.is_none())
            .and_then(|r| r.basic_hash.clone());
        let stored = match usable {
            Some(h) => h,
            None => dummy_hash()?,
        };
        let password = password.to_ascii_lowercase();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored)
                .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|e| ArchiveError::Internal(format!("credential check failed: {e}")))?;
        let record = match record {
            Some(r) if matches && r.revoked_at.is_none() && r.basic_hash.is_some() => r,
            _ => return Err(refused()),
        };
        let p = Principal {
            id: record.id,
            tenant: record.tenant,
            role: record.role,
            agency: record.agency,
            access_contract: record.access_contract,
            all_tenants: false,
        };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(fingerprint, (p.clone(), Instant::now()));
        }
        Ok(p)
    }

    fn cached(&self, fingerprint: &[u8; 32]) -> Option<Principal> {
        let mut c = self.cache.lock().ok()?;
        match c.get(fingerprint) {
            Some((p, at)) if at.elapsed() < CACHE_TTL => Some(p.clone()),
            Some(_) => {
                c.remove(fingerprint);
                None
            }
            None => None,
        }
    }

    pub fn forget_cached(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    pub async fn create(
        &self,
        tenant: Option<&str>,
        role: Role,
        agency: Option<&str>,
        label: &str,
    ) -> Result<IssuedToken> {
        self.create_with_contract(tenant, role, agency, None, label).await
    }

    /// [`Self::create`], with the access contract a requester token acts under (required for
    /// requesters, refused for other roles). The contract's existence is checked by the caller.
    pub async fn create_with_contract(
        &self,
        tenant: Option<&str>,
        role: Role,
        agency: Option<&str>,
        access_contract: Option<&str>,
        label: &str,
    ) -> Result<IssuedToken> {
        match (role, access_contract) {
            (Role::Requester, None) => {
                return Err(ArchiveError::Invalid(
                    "a requester token needs --access-contract: the contract it acts under".into(),
                ))
            }
            (Role::Requester, Some(_)) | (_, None) => {}
            (other, Some(_)) => {
                return Err(ArchiveError::Invalid(format!(
                    "only requester tokens act under an access contract; a {other} token cannot take one"
                )))
            }
        }
        if role == Role::Operator && tenant.is_some() {
            return Err(ArchiveError::Invalid(
                "an operator token belongs to no tenant: drop --tenant".into(),
            ));
        }
        if role != Role::Operator && tenant.is_none() {
            return Err(ArchiveError::Invalid(format!("a {role} token needs --tenant")));
        }
        if role == Role::TransferringAgency && agency.is_none() {
            return Err(ArchiveError::Invalid(
                "a transferring-agency token needs --agency: the agency it transfers as".into(),
            ));
        }
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let secret = hex::encode(raw);
        let mut idb = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut idb);
        let id = hex::encode(idb);
        let hash = hash_secret(&secret)?;
        let token = format!("ark_{id}_{secret}");
        let basic_hash = Some(hash_secret(&sha256_hex(&token))?);
        let record = TokenRecord {
            id: id.clone(),
            tenant: tenant.map(str::to_owned),
            role,
            agency: agency.map(str::to_owned),
            label: label.to_owned(),
            access_contract: access_contract.map(str::to_owned),
            hash,
            basic_hash,
            created_at: Utc::now(),
            revoked_at: None,
        };
        if !self.store.create(&keys::token(&id), &record).await? {
            return Err(ArchiveError::Conflict("token id collision; try again".into()));
        }
        Ok(IssuedToken {
            token,
            id,
            tenant: record.tenant,
            role,
        })
    }

    pub async fn list(&self) -> Result<Vec<TokenRecord>> {
        Ok(self
            .store
            .scan::<TokenRecord>(keys::TOKENS)
            .await?
            .into_iter()
            .map(|(_, mut r)| {
                r.hash = String::new();
                r.basic_hash = None;
                r
            })
            .collect())
    }

    pub async fn revoke(&self, id: &str) -> Result<TokenRecord> {
        let key = keys::token(id);
        let mut current = self
            .store
            .get::<TokenRecord>(&key)
            .await?
            .ok_or_else(|| ArchiveError::NotFound(format!("token `{id}`")))?;
        if current.value.revoked_at.is_none() {
            current.value.revoked_at = Some(Utc::now());
            let write = crate::store::Write::put(key.clone(), &current.value)?;
            if !self
                .store
                .atomically(&[crate::store::Expect::Revision(key, current.revision)], vec![write])
                .await?
            {
                return Err(ArchiveError::Conflict(format!("token `{id}` changed meanwhile; retry")));
            }
        }
        self.forget_cached();
        current.value.hash = String::new();
        current.value.basic_hash = None;
        Ok(current.value)
    }
}

fn parse_token(bearer: &str) -> Result<(&str, &str)> {
    let malformed = || ArchiveError::Unauthenticated("malformed token: expected `ark_<id>_<secret>`".into());
    let rest = bearer.strip_prefix("ark_").ok_or_else(malformed)?;
    let (id, secret) = rest.split_once('_').ok_or_else(malformed)?;
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || secret.len() != 64 {
        return Err(malformed());
    }
    Ok((id, secret))
}

/// Lowercase hex SHA-256, as PHP's `hash('sha256', …)` writes it.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A hash no password matches, checked for unknown logins so they cost what known ones do.
fn dummy_hash() -> Result<String> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let h = hash_secret(&hex::encode(raw))?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

fn hash_secret(secret: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ArchiveError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ArchiveError::Internal(format!("hashing the token failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_format_is_checked() {
        assert!(parse_token("ark_0123456789abcdef_".to_owned().as_str()).is_err());
        let secret = "a".repeat(64);
        let good = format!("ark_0123456789abcdef_{secret}");
        assert_eq!(parse_token(&good).unwrap(), ("0123456789abcdef", secret.as_str()));
        assert!(parse_token("Bearer xyz").is_err());
    }

    #[test]
    fn other_tenant_looks_like_nothing() {
        let p = Principal {
            id: "x".into(),
            tenant: Some("region".into()),
            role: Role::Archivist,
            agency: None,
            access_contract: None,
            all_tenants: false,
        };
        assert!(p.require("region", &[Role::Archivist]).is_ok());
        assert!(matches!(
            p.require("ville", &[Role::Archivist]),
            Err(ArchiveError::NotFound(_))
        ));
        assert!(matches!(
            p.require("region", &[Role::Operator]),
            Err(ArchiveError::Forbidden(_))
        ));
        assert!(p.require_operator().is_err());
    }

    #[test]
    fn hashes_verify() {
        let h = hash_secret("s3cret").unwrap();
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default().verify_password(b"s3cret", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"other", &parsed).is_err());
    }
}
