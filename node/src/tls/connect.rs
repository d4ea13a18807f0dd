//! Outgoing TLS connections for tonic channels: TCP, then a rustls handshake, then (for a node
//! dialing a node) a check that the certificate names the node the cluster map has at that address.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::identity::{PeerIdentity, Subject};
use super::issue::split_host;

/// Given the address dialed, the subject the cluster map expects there (None: not in the map yet,
/// e.g. a node being added; the CA and the node-certificate check still apply).
pub type ExpectedPeer = Arc<dyn Fn(&str) -> Option<Subject> + Send + Sync>;

#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
    expected: Option<ExpectedPeer>,
}

impl TlsConnector {
    pub fn new(config: Arc<rustls::ClientConfig>, expected: Option<ExpectedPeer>) -> TlsConnector {
        TlsConnector { config, expected }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Uri> for TlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(uri).await })
    }
}

impl TlsConnector {
    async fn connect(self, uri: http::Uri) -> Result<TokioIo<TlsStream<TcpStream>>, BoxError> {
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{uri}` has no host:port"))?
            .as_str()
            .to_owned();
        let host = split_host(&authority).to_owned();
        let port = uri.port_u16().ok_or_else(|| format!("`{uri}` has no port"))?;
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(host.clone()).map_err(|e| format!("`{host}` is not a server name: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {authority} failed: {e}"))?;
        if let Some(expected) = self.expected.as_ref().and_then(|f| f(&authority)) {
            let presented = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .ok_or("the peer presented no certificate")
                .and_then(|c| PeerIdentity::from_der(c).map_err(|_| "the peer's certificate has no identity"))?;
            if presented.subject != expected {
                tracing::warn!(addr = %authority, expected = %expected, presented = %presented.subject,
                    "refusing a peer whose certificate does not match the cluster map");
                return Err(format!(
                    "{authority} presented a certificate for {} but the cluster map has {expected} there",
                    presented.subject
                )
                .into());
            }
        }
        Ok(TokioIo::new(tls))
    }
}
