//! Mutual TLS towards the nodes: the cluster CA to trust, and the client certificate to present.
//! By convention a TLS directory holds `ca.pem`, `client.pem` and `client.key`
//! (what `archipel cert issue --client` writes, and what `ARCHIPEL_TLS_DIR` points at).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::ClientError;

/// What the node says to a plaintext caller starts with this.
pub(crate) const NODE_REQUIRES_TLS: &str = "this node requires mutual TLS";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// `dir/ca.pem`, `dir/client.pem`, `dir/client.key`.
    pub fn from_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("client.pem"),
            key: dir.join("client.key"),
        }
    }

    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, ClientError> {
        let bad = |path: &Path, reason: String| ClientError::TlsFiles(format!("{}: {reason}", path.display()));
        let read_certs = |path: &Path| -> Result<Vec<CertificateDer<'static>>, ClientError> {
            let certs: Vec<_> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| bad(path, format!("cannot read a PEM certificate: {e}")))?;
            if certs.is_empty() {
                return Err(bad(path, "holds no certificate".into()));
            }
            Ok(certs)
        };
        let mut roots = rustls::RootCertStore::empty();
        for c in read_certs(&self.ca)? {
            roots
                .add(c)
                .map_err(|e| bad(&self.ca, format!("not a CA certificate: {e}")))?;
        }
        let chain = read_certs(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| bad(&self.key, format!("cannot read a PEM private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::TlsFiles(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| {
                bad(
                    &self.cert,
                    format!("does not match the key {}: {e}", self.key.display()),
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

/// TCP then TLS, for tonic's `connect_with_connector`.
#[derive(Clone)]
pub(crate) struct TlsConnector(pub Arc<rustls::ClientConfig>);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Uri> for TlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let config = self.0.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| format!("`{uri}` has no host"))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().ok_or_else(|| format!("`{uri}` has no port"))?;
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let name = ServerName::try_from(host).map_err(|e| format!("not a server name: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake failed: {e}"))?;
            Ok(TokioIo::new(tls))
        })
    }
}

/// The TLS cause of a failure, if any (a refused handshake on either side), as its innermost,
/// most specific message, e.g. "received fatal alert: CertificateRevoked".
pub(crate) fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut found = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r.to_string());
        }
        let text = e.to_string();
        if [
            "received fatal alert",
            "invalid peer certificate",
            "TLS handshake failed",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            found = Some(text);
        }
        cur = e.source();
    }
    found
}
