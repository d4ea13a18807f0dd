//! The cluster PKI and mutual TLS (see docs/security.md).
//!
//! Invariants:
//! - Every gRPC connection to a node is TLS with a client certificate from the cluster CA; a
//!   plaintext connection only ever gets a refusal that says how to connect.
//! - A certificate's serial on the deny-list (`sys.revoked`, held in Raft) is refused at the
//!   handshake and again on every request.
//! - Node-to-node RPCs (Raft, shards) accept node certificates only, and the node id and site
//!   in the certificate must be those the cluster map holds.
//! - A tenant certificate (`role=tenant&tenant=T`) reaches only the namespaces `archive.T` and
//!   `T.*`, in every object and meta RPC; list-style RPCs show it nothing else ([`tenant`]).

pub mod accept;
pub mod authz;
pub mod connect;
pub mod counted;
pub mod files;
pub mod identity;
pub mod issue;
pub mod revocation;
pub mod tenant;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use identity::{PeerIdentity, Role, Subject};
pub use issue::{Ca, Issued, Validity};
pub use revocation::DenyList;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot read {what} at {path}: {source}")]
    Missing {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{path} is not usable: {reason}")]
    Bad { path: PathBuf, reason: String },
    #[error("{path} already exists; refusing to replace a cluster CA (every certificate depends on it). Use another --dir, or move the old one away on purpose")]
    Exists { path: PathBuf },
    #[error("{0}")]
    Invalid(String),
    #[error("certificate generation failed: {0}")]
    Crypto(String),
    #[error("TLS set-up failed: {0}")]
    Tls(String),
}

impl PkiError {
    pub(crate) fn crypto(e: impl std::fmt::Display) -> PkiError {
        PkiError::Crypto(e.to_string())
    }
}

/// The three files a node or a client presents: the cluster CA, its certificate, its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// `dir/ca.pem`, `dir/node.pem`, `dir/node.key`: the bundle `cert issue --node` writes.
    pub fn node_bundle(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join(issue::CA_CERT),
            cert: dir.join(issue::NODE_CERT),
            key: dir.join(issue::NODE_KEY),
        }
    }
}

/// Parsed key material, ready for rustls.
pub struct KeyMaterial {
    pub roots: Arc<rustls::RootCertStore>,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub own: PeerIdentity,
}

impl KeyMaterial {
    pub fn load(files: &TlsFiles) -> Result<KeyMaterial, PkiError> {
        let bad = |path: &Path, reason: String| PkiError::Bad {
            path: path.to_owned(),
            reason,
        };
        let ca = read_certs(&files.ca)?;
        let mut roots = rustls::RootCertStore::empty();
        for c in ca {
            roots
                .add(c)
                .map_err(|e| bad(&files.ca, format!("not a CA certificate: {e}")))?;
        }
        let chain = read_certs(&files.cert)?;
        let key = PrivateKeyDer::from_pem_file(&files.key)
            .map_err(|e| bad(&files.key, format!("no PEM private key found: {e}")))?;
        let own = PeerIdentity::from_der(&chain[0]).map_err(|e| bad(&files.cert, e))?;
        Ok(KeyMaterial {
            roots: Arc::new(roots),
            chain,
            key,
            own,
        })
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    if !path.exists() {
        return Err(PkiError::Missing {
            path: path.to_owned(),
            what: "a certificate",
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| PkiError::Bad {
            path: path.to_owned(),
            reason: format!("not a PEM certificate file: {e}"),
        })?;
    if certs.is_empty() {
        return Err(PkiError::Bad {
            path: path.to_owned(),
            reason: "holds no certificate".into(),
        });
    }
    Ok(certs)
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A node's TLS state: what it presents, whom it trusts, and the revoked serials.
pub struct NodeTls {
    pub server: Arc<rustls::ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
    pub deny: DenyList,
    pub own: PeerIdentity,
}

impl NodeTls {
    /// Loads the node's files and checks they name this node (`node_id`, `site`).
    pub fn load(files: &TlsFiles, node_id: u64, site: &str, deny: DenyList) -> Result<NodeTls, PkiError> {
        let material = KeyMaterial::load(files)?;
        let expected = Subject::Node {
            id: node_id,
            site: site.to_owned(),
        };
        if material.own.subject != expected {
            return Err(PkiError::Bad {
                path: files.cert.clone(),
                reason: format!(
                    "it was issued to {} but this node is {expected}; issue one with `archipel cert issue --node {node_id} --site {site}`",
                    material.own.subject
                ),
            });
        }
        let server = verify::server_config(&material, deny.clone())?;
        let client = verify::client_config(&material, deny.clone())?;
        Ok(NodeTls {
            server,
            client,
            deny,
            own: material.own,
        })
    }
}
