//! The Vitam door's own listener: HTTPS with a client certificate required, as Vitam's external
//! APIs are (one certificate per application). Clients are verified against the cluster CA; the
//! certificate's `archipel://client/NAME?role=tenant&tenant=T` identity (issued by
//! `archipel cert issue --client NAME --role tenant --tenant T`) maps the connection to tenant T.
//! Revoked serials (`archipel cert revoke`) are refused at the handshake's end, from a list read
//! through the client crate and cached for [`REVOKED_TTL`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::error::{ArchiveError, Result};
use crate::http::HttpLimits;
use crate::service::Archive;

/// How long a read of the revocation list is trusted.
pub const REVOKED_TTL: Duration = Duration::from_secs(30);
/// A TLS handshake must end within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who a connection's certificate speaks for.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// The certificate's client name.
    pub name: String,
    pub serial: String,
    /// Set only for tenant certificates.
    pub tenant: Option<String>,
}

/// The files the listener needs.
#[derive(Debug, Clone)]
pub struct DoorTls {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    /// CA whose client certificates are accepted: the cluster CA.
    pub client_ca: std::path::PathBuf,
}

fn invalid(what: &str, path: &Path, e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Invalid(format!("Vitam door: {what} {}: {e}", path.display()))
}

pub fn server_config(files: &DoorTls) -> Result<rustls::ServerConfig> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| invalid("cannot read", p, e));
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile_certs(&read(&files.cert)?).map_err(|e| invalid("no certificate in", &files.cert, e))?;
    let key = rustls_pemfile_key(&read(&files.key)?).map_err(|e| invalid("no private key in", &files.key, e))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile_certs(&read(&files.client_ca)?).map_err(|e| invalid("no CA in", &files.client_ca, e))? {
        roots
            .add(ca)
            .map_err(|e| invalid("unusable CA in", &files.client_ca, e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .build()
        .map_err(|e| invalid("bad client CA", &files.client_ca, e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ArchiveError::Internal(format!("TLS: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate and key do not match in", &files.cert, e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn rustls_pemfile_certs(pem: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate".into());
    }
    Ok(certs)
}

fn rustls_pemfile_key(pem: &[u8]) -> std::result::Result<PrivateKeyDer<'static>, String> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| e.to_string())
}

/// Reads the Archipel identity of a verified client certificate.
pub fn identity(der: &[u8]) -> std::result::Result<ClientCert, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
    let raw = cert.raw_serial();
    let trimmed = match raw.iter().position(|b| *b != 0) {
        Some(i) => &raw[i..],
        None => &[0u8][..],
    };
    let serial = hex::encode(trimmed);
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("certificate {serial}: bad subjectAltName: {e}"))?
        .ok_or_else(|| format!("certificate {serial} carries no archipel:// identity"))?;
    let uris: Vec<&str> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(u) if u.starts_with("archipel://") => Some(*u),
            _ => None,
        })
        .collect();
    let [uri] = uris.as_slice() else {
        return Err(format!(
            "certificate {serial} must carry exactly one archipel:// identity"
        ));
    };
    let rest = uri
        .strip_prefix("archipel://client/")
        .ok_or_else(|| format!("certificate {serial} is not a client certificate ({uri})"))?;
    let (name, query) = rest
        .split_once('?')
        .ok_or_else(|| format!("certificate {serial}: identity {uri} has no role"))?;
    let tenant = query
        .strip_prefix("role=tenant&tenant=")
        .filter(|t| !t.is_empty() && !t.contains(['&', '/', '?']))
        .map(str::to_owned);
    Ok(ClientCert {
        name: name.to_owned(),
        serial,
        tenant,
    })
}

/// The revoked serials, re-read through the client crate at most every [`REVOKED_TTL`].
#[derive(Default)]
pub struct Revoked {
    cache: Mutex<Option<(Instant, Arc<std::collections::HashSet<String>>)>>,
}

impl Revoked {
    pub async fn is_revoked(&self, a: &Archive, serial: &str) -> Result<bool> {
        let fresh = self.cache.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|(at, _)| at.elapsed() < REVOKED_TTL)
                .map(|(_, s)| Arc::clone(s))
        });
        let set = match fresh {
            Some(s) => s,
            None => {
                let list = a.store.client().list_revoked().await.map_err(ArchiveError::from)?;
                let set = Arc::new(
                    list.into_iter()
                        .map(|r| r.serial)
                        .collect::<std::collections::HashSet<_>>(),
                );
                if let Ok(mut c) = self.cache.lock() {
                    *c = Some((Instant::now(), Arc::clone(&set)));
                }
                set
            }
        };
        Ok(set.contains(serial))
    }
}

/// What a request learns about its connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Err: why the certificate gives no tenant (answered 401/403 by the handlers).
    pub cert: std::result::Result<ClientCert, String>,
}

/// Serves `app` over TLS on `listener` until the task is dropped.
pub async fn serve(
    archive: Arc<Archive>,
    app: Router,
    listener: TcpListener,
    config: rustls::ServerConfig,
    limits: HttpLimits,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let revoked = Arc::new(Revoked::default());
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("Vitam door: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (app, acceptor, archive, revoked) = (
            app.clone(),
            acceptor.clone(),
            Arc::clone(&archive),
            Arc::clone(&revoked),
        );
        let header_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "Vitam door: TLS handshake failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            let cert = match tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
                Some(der) => identity(der.as_ref()),
                None => Err("no client certificate".to_owned()),
            };
            let cert = match cert {
                Ok(c) => match revoked.is_revoked(&archive, &c.serial).await {
                    Ok(false) => Ok(c),
                    Ok(true) => Err(format!("certificate {} is revoked", c.serial)),
                    // Fail closed: a certificate whose standing is unknown is not trusted.
                    Err(e) => Err(format!("the revocation list could not be read ({e}); retry later")),
                },
                Err(e) => Err(e),
            };
            let info = Peer { cert };
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(info.clone());
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo::<SocketAddr>(peer));
                app.clone().oneshot(request)
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tls), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, "Vitam door: connection ended: {e}");
            }
        });
    }
}
