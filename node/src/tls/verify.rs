//! rustls configurations whose verifiers add Archipel's rules to the standard chain checks
//! (issuer = cluster CA, validity dates, key usage): a revoked serial is refused, and a node
//! talking to a node accepts only a node certificate.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

use super::identity::{PeerIdentity, Subject};
use super::{provider, DenyList, KeyMaterial, PkiError};

/// gRPC needs HTTP/2; advertising it lets any standard TLS client negotiate it.
const ALPN_H2: &[u8] = b"h2";

pub fn server_config(m: &KeyMaterial, deny: DenyList) -> Result<Arc<rustls::ServerConfig>, PkiError> {
    let inner = WebPkiClientVerifier::builder_with_provider(m.roots.clone(), provider())
        .build()
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    let verifier = Arc::new(DenyingClientVerifier { inner, deny });
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| PkiError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(m.chain.clone(), m.key.clone_key())
        .map_err(|e| PkiError::Tls(format!("the certificate and key do not go together: {e}")))?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// The configuration a node dials its peers with.
pub fn client_config(m: &KeyMaterial, deny: DenyList) -> Result<Arc<rustls::ClientConfig>, PkiError> {
    let inner = WebPkiServerVerifier::builder_with_provider(m.roots.clone(), provider())
        .build()
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    let verifier = Arc::new(NodeServerVerifier { inner, deny });
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| PkiError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(m.chain.clone(), m.key.clone_key())
        .map_err(|e| PkiError::Tls(format!("the certificate and key do not go together: {e}")))?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

fn check_serial(deny: &DenyList, end_entity: &CertificateDer<'_>) -> Result<PeerIdentity, Error> {
    let id = PeerIdentity::from_der(end_entity).map_err(|e| {
        tracing::warn!("refusing a certificate without a valid Archipel identity: {e}");
        Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
    })?;
    if deny.is_revoked(&id.serial) {
        tracing::warn!(serial = %id.serial, subject = %id.subject, "refusing a revoked certificate");
        return Err(Error::InvalidCertificate(CertificateError::Revoked));
    }
    Ok(id)
}

#[derive(Debug)]
struct DenyingClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    deny: DenyList,
}

impl std::fmt::Debug for DenyList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DenyList")
    }
}

impl ClientCertVerifier for DenyingClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        check_serial(&self.deny, end_entity)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[derive(Debug)]
struct NodeServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    deny: DenyList,
}

impl ServerCertVerifier for NodeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verified = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        let id = check_serial(&self.deny, end_entity)?;
        if !matches!(id.subject, Subject::Node { .. }) {
            tracing::warn!(subject = %id.subject, "a peer presented a client certificate as a node");
            return Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
