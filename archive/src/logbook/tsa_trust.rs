//! The certificates an RFC 3161 token is verified against: trust anchors (a PEM bundle, e.g. `--tsa-ca`) and
//! optional intermediates for TSAs that do not embed their whole chain.

use std::path::Path;

use cms::cert::x509::Certificate;
use der::Decode;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor};

#[derive(Debug, thiserror::Error)]
pub enum TsaTrustError {
    #[error("TSA trust file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("TSA trust bundle: certificate {index} ({subject}) cannot be a trust anchor: {reason}")]
    BadAnchor {
        index: usize,
        subject: String,
        reason: String,
    },
    #[error("TSA trust bundle: certificate {index} is not a DER X.509 certificate: {reason}")]
    BadCert { index: usize, reason: String },
    #[error("TSA trust bundle has no certificate; it must hold the PEM of at least one CA")]
    Empty,
}

/// One anchor: what webpki needs, and its subject for reports.
#[derive(Debug, Clone)]
pub(super) struct Anchor {
    pub anchor: TrustAnchor<'static>,
    pub subject: String,
}

/// Trust anchors and extra intermediates for verifying TSA tokens.
#[derive(Debug, Clone)]
pub struct TsaTrust {
    pub(super) anchors: Vec<Anchor>,
    pub(super) intermediates: Vec<CertificateDer<'static>>,
}

/// Every `CERTIFICATE` block of a PEM text, as DER.
fn pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))
}

/// The RFC 4514 subject of a DER certificate, or a placeholder when it does not parse.
pub(super) fn subject_of(der: &[u8]) -> String {
    Certificate::from_der(der)
        .map(|c| c.tbs_certificate.subject.to_string())
        .unwrap_or_else(|_| "<unparsable certificate>".into())
}

impl TsaTrust {
    /// Anchors from a PEM bundle (every certificate in it is trusted as a root).
    pub fn from_pem(anchors_pem: &[u8]) -> Result<Self, TsaTrustError> {
        let certs = pem_certs(anchors_pem).map_err(|reason| TsaTrustError::File {
            path: "<memory>".into(),
            reason,
        })?;
        Self::from_der_anchors(&certs)
    }

    /// Reads the PEM anchors bundle at `path`.
    pub fn load(path: &Path) -> Result<Self, TsaTrustError> {
        let file_err = |reason: String| TsaTrustError::File {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| file_err(e.to_string()))?;
        Self::from_der_anchors(&pem_certs(&pem).map_err(file_err)?)
    }

    pub fn from_der_anchors(certs: &[CertificateDer<'_>]) -> Result<Self, TsaTrustError> {
        if certs.is_empty() {
            return Err(TsaTrustError::Empty);
        }
        let mut anchors = Vec::with_capacity(certs.len());
        for (i, der) in certs.iter().enumerate() {
            // Parsed here too so that a bad bundle is refused at startup, not at the first seal.
            Certificate::from_der(der).map_err(|e| TsaTrustError::BadCert {
                index: i + 1,
                reason: e.to_string(),
            })?;
            let anchor = webpki::anchor_from_trusted_cert(der).map_err(|e| TsaTrustError::BadAnchor {
                index: i + 1,
                subject: subject_of(der),
                reason: e.to_string(),
            })?;
            anchors.push(Anchor {
                anchor: anchor.to_owned(),
                subject: subject_of(der),
            });
        }
        Ok(TsaTrust {
            anchors,
            intermediates: Vec::new(),
        })
    }

    /// Adds intermediates from a PEM bundle: candidates for the chain, not trusted by themselves.
    pub fn with_intermediates_pem(mut self, pem: &[u8]) -> Result<Self, TsaTrustError> {
        let certs = pem_certs(pem).map_err(|reason| TsaTrustError::File {
            path: "<intermediates>".into(),
            reason,
        })?;
        for (i, der) in certs.iter().enumerate() {
            Certificate::from_der(der).map_err(|e| TsaTrustError::BadCert {
                index: i + 1,
                reason: e.to_string(),
            })?;
        }
        self.intermediates.extend(certs);
        Ok(self)
    }

    /// The subjects of the anchors, for messages.
    pub fn anchor_subjects(&self) -> Vec<String> {
        self.anchors.iter().map(|a| a.subject.clone()).collect()
    }
}
