//! `Rfc3161Client`: a `Timestamper` that asks an RFC 3161 TSA over HTTP/1.1 (plain `http://` only).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rand::RngCore;

use super::seal::{SealStatement, SealToken};
use super::stamp::{StampError, Timestamper};
use super::tsa_trust::TsaTrust;
use super::tsp;

/// How long one TSA exchange may take; a slow TSA delays only the seal, never appends.
const TSA_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest reply accepted: a token with its certificate chain is a few KiB.
const MAX_REPLY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct Rfc3161Client {
    url: Uri,
    host: String,
    port: u16,
    /// When set, every token is verified in full before the seal is written.
    trust: Option<std::sync::Arc<TsaTrust>>,
}

#[derive(Debug, thiserror::Error)]
#[error("TSA URL {url:?} refused: {reason}")]
pub struct TsaUrlError {
    pub url: String,
    pub reason: String,
}

impl Rfc3161Client {
    /// `url` must be `http://host[:port]/path`. HTTPS is not supported yet (tokens are signed, so HTTP is the
    /// usual transport for RFC 3161).
    pub fn new(url: &str) -> Result<Self, TsaUrlError> {
        let err = |reason: &str| TsaUrlError {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| err("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(err("only http:// TSA URLs are supported; HTTPS is not implemented"));
        }
        let host = uri.host().ok_or_else(|| err("no host"))?.to_string();
        let port = uri.port_u16().unwrap_or(80);
        Ok(Rfc3161Client {
            url: uri,
            host,
            port,
            trust: None,
        })
    }

    /// Verifies the TSA's signature and chain at seal time too, so a misconfigured TSA fails loudly at once.
    pub fn with_trust(mut self, trust: TsaTrust) -> Self {
        self.trust = Some(std::sync::Arc::new(trust));
        self
    }

    async fn post(&self, body: Vec<u8>) -> Result<Vec<u8>, String> {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        let conn = tokio::spawn(conn);
        let path = self.url.path_and_query().map_or("/", |p| p.as_str());
        let authority = self.url.authority().map_or(self.host.as_str(), |a| a.as_str());
        let req = Request::post(path)
            .header(HOST, authority)
            .header(CONTENT_TYPE, "application/timestamp-query")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("building the request: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        if resp.status() != StatusCode::OK {
            return Err(format!("HTTP status {}", resp.status()));
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/timestamp-reply") {
            return Err(format!(
                "content type {content_type:?}, not application/timestamp-reply"
            ));
        }
        let body = Limited::new(resp.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the reply (at most {MAX_REPLY_BYTES} bytes): {e}"))?;
        conn.abort();
        Ok(body.to_bytes().to_vec())
    }
}

#[async_trait]
impl Timestamper for Rfc3161Client {
    async fn stamp(&self, statement: &SealStatement) -> Result<SealToken, StampError> {
        let fail = |reason: String| StampError {
            tenant: statement.tenant.clone(),
            index: statement.index,
            reason: format!("TSA {}: {reason}", self.url),
        };
        let digest = statement.digest();
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Positive and minimally encoded as a DER INTEGER.
        nonce[0] = (nonce[0] & 0x7f) | 0x01;
        let req = tsp::request_der(&digest, &nonce).map_err(&fail)?;
        let reply = tokio::time::timeout(TSA_TIMEOUT, self.post(req))
            .await
            .map_err(|_| fail(format!("no reply within {} s", TSA_TIMEOUT.as_secs())))?
            .map_err(&fail)?;
        let token = tsp::accept_response(&reply, &digest, &nonce).map_err(&fail)?;
        if let Some(trust) = &self.trust {
            super::tsa_verify::verify_token(&token, &digest, trust).map_err(|e| fail(e.to_string()))?;
        }
        Ok(SealToken::Rfc3161 {
            tsa_url: self.url.to_string(),
            token_der: hex::encode(token),
        })
    }
}
