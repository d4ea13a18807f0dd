//! Encryption at rest: the cluster master key, per-tenant key-encryption keys, per-namespace data
//! keys, and the sealing of object bytes. See docs/encryption.md for the key hierarchy and what
//! losing the master key means.
//!
//! - master key: 32 random bytes in a file (`master.key`, made by `archipel cert init`), the same
//!   on every node, never stored in the cluster.
//! - KEK (per tenant) = HKDF-SHA256(master, info = "archipel kek v1/" + owner): never stored.
//! - DEK (per namespace): 32 random bytes, kept in the namespace record only wrapped
//!   (XChaCha20-Poly1305 under the owner's KEK, AAD = namespace and owner).
//! - Object bytes: XChaCha20-Poly1305 under the DEK, one seal per stripe (or per inline object),
//!   nonce = object id (16 random bytes per PUT) || stripe index (8 bytes), so a nonce is never
//!   used twice with one key: repair and moves copy ciphertext, they never re-encrypt.
//!
//! Everything here is synchronous and pure; the object store calls it (`objects::crypt`).

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The master key's file name, beside the CA in the PKI directory and in each node's TLS dir.
pub const MASTER_KEY_FILE: &str = "master.key";
pub const KEY_LEN: usize = 32;
/// Bytes the AEAD adds to every sealed stripe or inline object.
pub const TAG_LEN: usize = 16;
/// The only wrapping scheme so far: HKDF-SHA256 KEK, XChaCha20-Poly1305 wrap.
pub const WRAP_SCHEME: u32 = 1;
/// The stripe index used for an inline object, which has no stripes: never a real stripe index.
pub const INLINE_STRIPE: u64 = u64::MAX;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read the master key {path}: {source}; set [encryption] master_key_file in node.toml (or put master.key in the [tls] dir), see docs/encryption.md")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the master key {path} holds {len} bytes; it must hold exactly 32 random bytes, as `archipel cert init` writes it")]
    BadLength { path: PathBuf, len: usize },
    #[error("cannot write the master key {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the data key of namespace `{namespace}` does not unwrap with this node's master key (its id is {have}, the key was wrapped under {wrapped_under}): the node has another cluster's master key, or the namespace record was altered")]
    Unwrap {
        namespace: String,
        have: String,
        wrapped_under: String,
    },
    #[error("the data key of namespace `{namespace}` uses wrapping scheme {scheme}, which this version does not know; upgrade the node")]
    UnknownScheme { namespace: String, scheme: u32 },
    #[error("the wrapped data key of namespace `{0}` is malformed")]
    Malformed(String),
    #[error("{what} fails authentication: the stored bytes were altered, or they belong to another object or key")]
    Open { what: String },
}

/// The cluster master key. Its bytes never leave this type except to derive keys.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(id {})", self.id())
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let raw = std::fs::read(path).map_err(|source| CryptoError::Read {
            path: path.to_owned(),
            source,
        })?;
        let bytes: [u8; KEY_LEN] = raw.as_slice().try_into().map_err(|_| CryptoError::BadLength {
            path: path.to_owned(),
            len: raw.len(),
        })?;
        Ok(Self(bytes))
    }

    /// Writes the key to a new file readable by its owner only; never overwrites one (a replaced
    /// master key makes every encrypted namespace unreadable).
    pub fn save_new(&self, path: &Path) -> Result<(), CryptoError> {
        let err = |source| CryptoError::Write {
            path: path.to_owned(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(err)?;
        file.write_all(&self.0).map_err(err)?;
        file.sync_all().map_err(err)
    }

    /// A public fingerprint of the key (not secret: derived one-way), recorded beside each wrapped
    /// key so that a node holding the wrong master key says so plainly.
    pub fn id(&self) -> String {
        hex::encode(&self.derive(b"archipel master key id v1")[..8])
    }

    fn derive(&self, info: &[u8]) -> [u8; KEY_LEN] {
        let mut out = [0u8; KEY_LEN];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = Hkdf::<Sha256>::new(None, &self.0).expand(info, &mut out);
        out
    }

    /// The key-encryption key of one tenant.
    fn kek(&self, owner: &str) -> XChaCha20Poly1305 {
        let key = self.derive(format!("archipel kek v1/{owner}").as_bytes());
        XChaCha20Poly1305::new(Key::from_slice(&key))
    }

    /// Makes a fresh data key for `namespace` of tenant `owner`, wrapped for the namespace record.
    pub fn new_data_key(&self, namespace: &str, owner: &str) -> (DataKey, WrappedKey) {
        let dek = DataKey(rand::random());
        let nonce: [u8; 24] = rand::random();
        let aad = wrap_aad(namespace, owner);
        // Encrypting into a Vec cannot fail for a 32-byte message.
        let sealed = self
            .kek(owner)
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &dek.0, aad: &aad })
            .unwrap_or_default();
        let wrapped = WrappedKey {
            scheme: WRAP_SCHEME,
            generation: 1,
            owner: owner.to_owned(),
            master_key_id: self.id(),
            nonce: hex::encode(nonce),
            wrapped: hex::encode(sealed),
        };
        (dek, wrapped)
    }

    pub fn unwrap_key(&self, namespace: &str, w: &WrappedKey) -> Result<DataKey, CryptoError> {
        if w.scheme != WRAP_SCHEME {
            return Err(CryptoError::UnknownScheme {
                namespace: namespace.to_owned(),
                scheme: w.scheme,
            });
        }
        let malformed = || CryptoError::Malformed(namespace.to_owned());
        let nonce: [u8; 24] = hex::decode(&w.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(malformed)?;
        let sealed = hex::decode(&w.wrapped).map_err(|_| malformed())?;
        let aad = wrap_aad(namespace, &w.owner);
        let plain = self
            .kek(&w.owner)
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Unwrap {
                namespace: namespace.to_owned(),
                have: self.id(),
                wrapped_under: w.master_key_id.clone(),
            })?;
        let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| malformed())?;
        Ok(DataKey(bytes))
    }
}

/// The master key of a PKI directory: loaded, or made there on first use (`archipel cert init`,
/// `archipel dev`). Returns the key and whether it was just made.
pub fn ensure_master_key(pki_dir: &Path) -> Result<(MasterKey, bool), CryptoError> {
    let path = pki_dir.join(MASTER_KEY_FILE);
    if path.exists() {
        return Ok((MasterKey::load(&path)?, false));
    }
    let key = MasterKey::generate();
    key.save_new(&path)?;
    Ok((key, true))
}

/// Puts `key` into a node's TLS directory, where the node finds it by default. Returns whether it
/// was written; a different key already there is an error, never overwritten.
pub fn install_master_key(key: &MasterKey, node_dir: &Path) -> Result<bool, CryptoError> {
    let path = node_dir.join(MASTER_KEY_FILE);
    if path.exists() {
        let there = MasterKey::load(&path)?;
        if there.0 != key.0 {
            return Err(CryptoError::Write {
                path,
                source: std::io::Error::other(format!(
                    "it holds another master key (id {}, not {}); remove it only if no namespace was ever encrypted under it",
                    there.id(),
                    key.id()
                )),
            });
        }
        return Ok(false);
    }
    key.save_new(&path)?;
    Ok(true)
}

fn wrap_aad(namespace: &str, owner: &str) -> Vec<u8> {
    [b"archipel wrap v1\0", namespace.as_bytes(), b"\0", owner.as_bytes()].concat()
}

/// A namespace's data key as the namespace record keeps it: only wrapped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WrappedKey {
    pub scheme: u32,
    /// Which data key of the namespace this is; manifests name it. Always 1 for now (no rotation).
    pub generation: u32,
    /// The tenant whose KEK wraps the key.
    pub owner: String,
    /// [`MasterKey::id`] of the master key it was wrapped under (public).
    pub master_key_id: String,
    /// Hex.
    pub nonce: String,
    /// Hex: the 32-byte key and its 16-byte tag.
    pub wrapped: String,
}

/// A namespace's data key, in memory only.
#[derive(Clone)]
pub struct DataKey([u8; KEY_LEN]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Where a sealed piece of an object belongs: everything the AEAD binds it to.
#[derive(Debug, Clone, Copy)]
pub struct SealContext<'a> {
    pub namespace: &'a str,
    pub generation: u32,
    pub object_id: &'a [u8; 16],
    /// The stripe index, or [`INLINE_STRIPE`].
    pub stripe: u64,
}

impl SealContext<'_> {
    /// Unique per (key, object, stripe): object ids are 128 random bits drawn for each PUT.
    pub fn nonce(&self) -> [u8; 24] {
        let mut n = [0u8; 24];
        n[..16].copy_from_slice(self.object_id);
        n[16..].copy_from_slice(&self.stripe.to_be_bytes());
        n
    }

    fn aad(&self) -> Vec<u8> {
        [
            b"archipel stripe v1\0".as_slice(),
            self.namespace.as_bytes(),
            b"\0",
            &self.generation.to_be_bytes(),
            self.object_id,
            &self.stripe.to_be_bytes(),
        ]
        .concat()
    }

    fn describe(&self) -> String {
        let id = hex::encode(self.object_id);
        match self.stripe {
            INLINE_STRIPE => format!("inline object {id} of namespace `{}`", self.namespace),
            s => format!("stripe {s} of object {id} in namespace `{}`", self.namespace),
        }
    }
}

impl DataKey {
    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
    }

    /// `plain` encrypted, with the tag appended: `plain.len() + TAG_LEN` bytes.
    pub fn seal(&self, cx: &SealContext<'_>, plain: &[u8]) -> Vec<u8> {
        let aad = cx.aad();
        // Encrypting into a Vec only fails past 256 GiB per message; stripes are at most 64 MiB.
        self.cipher()
            .encrypt(XNonce::from_slice(&cx.nonce()), Payload { msg: plain, aad: &aad })
            .unwrap_or_default()
    }

    pub fn open(&self, cx: &SealContext<'_>, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let aad = cx.aad();
        self.cipher()
            .decrypt(XNonce::from_slice(&cx.nonce()), Payload { msg: sealed, aad: &aad })
            .map_err(|_| CryptoError::Open { what: cx.describe() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(stripe: u64) -> SealContext<'static> {
        SealContext {
            namespace: "archive.t1",
            generation: 1,
            object_id: &[7; 16],
            stripe,
        }
    }

    #[test]
    fn wrapped_keys_unwrap_only_for_their_namespace_owner_and_master() {
        let master = MasterKey::generate();
        let (dek, wrapped) = master.new_data_key("archive.t1", "t1");
        let again = master.unwrap_key("archive.t1", &wrapped).unwrap();
        assert_eq!(again.0, dek.0);
        assert_eq!(wrapped.master_key_id, master.id());

        // Another namespace name (the AAD) or another owner (the KEK) does not unwrap.
        assert!(matches!(
            master.unwrap_key("archive.t2", &wrapped),
            Err(CryptoError::Unwrap { .. })
        ));
        let mut other_owner = wrapped.clone();
        other_owner.owner = "t2".into();
        assert!(master.unwrap_key("archive.t1", &other_owner).is_err());

        // Another cluster's master key: the error names both key ids.
        let err = MasterKey::generate()
            .unwrap_key("archive.t1", &wrapped)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&master.id()), "{err}");

        let mut future = wrapped.clone();
        future.scheme = 2;
        assert!(matches!(
            master.unwrap_key("archive.t1", &future),
            Err(CryptoError::UnknownScheme { .. })
        ));
        let mut junk = wrapped;
        junk.nonce = "zz".into();
        assert!(matches!(
            master.unwrap_key("archive.t1", &junk),
            Err(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn kek_differs_per_owner() {
        let master = MasterKey::from_bytes([1; 32]);
        assert_ne!(master.derive(b"archipel kek v1/a"), master.derive(b"archipel kek v1/b"));
    }

    #[test]
    fn sealed_stripes_round_trip_and_hide_the_plaintext() {
        let (dek, _) = MasterKey::generate().new_data_key("archive.t1", "t1");
        let plain = b"MARKER MARKER MARKER".repeat(10);
        let sealed = dek.seal(&cx(3), &plain);
        assert_eq!(sealed.len(), plain.len() + TAG_LEN);
        assert!(!sealed.windows(6).any(|w| w == b"MARKER"));
        assert_eq!(dek.open(&cx(3), &sealed).unwrap(), plain);
    }

    #[test]
    fn tampered_or_misplaced_stripes_do_not_open() {
        let (dek, _) = MasterKey::generate().new_data_key("archive.t1", "t1");
        let sealed = dek.seal(&cx(0), b"some archival record");
        let mut flipped = sealed.clone();
        flipped[4] ^= 1;
        let err = dek.open(&cx(0), &flipped).unwrap_err().to_string();
        assert!(
            err.contains("stripe 0") && err.contains("fails authentication"),
            "{err}"
        );
        // Moved to another stripe, object or namespace: refused.
        assert!(dek.open(&cx(1), &sealed).is_err());
        let other = SealContext {
            object_id: &[8; 16],
            ..cx(0)
        };
        assert!(dek.open(&other, &sealed).is_err());
        let other_ns = SealContext {
            namespace: "archive.t2",
            ..cx(0)
        };
        assert!(dek.open(&other_ns, &sealed).is_err());
        let (other_key, _) = MasterKey::generate().new_data_key("archive.t1", "t1");
        assert!(other_key.open(&cx(0), &sealed).is_err());
    }

    #[test]
    fn nonces_are_unique_per_stripe_and_object() {
        let mut seen = std::collections::HashSet::new();
        for object in [[1u8; 16], [2u8; 16]] {
            for stripe in (0..1000).chain([INLINE_STRIPE]) {
                let c = SealContext {
                    namespace: "ns",
                    generation: 1,
                    object_id: &object,
                    stripe,
                };
                assert!(seen.insert(c.nonce()), "nonce reused for stripe {stripe}");
            }
        }
    }

    #[test]
    fn master_keys_are_saved_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MASTER_KEY_FILE);
        let key = MasterKey::generate();
        key.save_new(&path).unwrap();
        assert_eq!(MasterKey::load(&path).unwrap().id(), key.id());
        assert!(MasterKey::generate().save_new(&path).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        // Installing into a node dir: once, idempotent, never over another key.
        let node_dir = dir.path().join("nodes");
        std::fs::create_dir_all(&node_dir).unwrap();
        assert!(install_master_key(&key, &node_dir).unwrap());
        assert!(!install_master_key(&key, &node_dir).unwrap());
        assert!(install_master_key(&MasterKey::generate(), &node_dir).is_err());
        let (again, made) = ensure_master_key(dir.path()).unwrap();
        assert!(!made && again.id() == key.id());

        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            MasterKey::load(&path),
            Err(CryptoError::BadLength { len: 5, .. })
        ));
    }
}
