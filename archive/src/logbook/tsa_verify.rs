//! Full verification of an RFC 3161 TimeStampToken: imprint, SignerInfo signature over the signed attributes
//! (RFC 5652 §5.4), ESS signing-certificate, the signer's time-stamping EKU, and its chain to a trust anchor, all
//! at the token's genTime.

use cms::cert::x509::Certificate;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use der::{Decode, Encode};
use rustls_pki_types::CertificateDer;
use webpki::EndEntityCert;

use super::hash::Hash32;
use super::tsa_alg::{signer_algorithm, Digest};
use super::tsa_attrs;
use super::tsa_cert;
use super::tsa_trust::TsaTrust;
use super::tsp;

/// Why a token failed; each names the check, and the certificate subject where one is involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsaCheckError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("wrong imprint: {0}")]
    Imprint(String),
    #[error("the token has {0} SignerInfos; RFC 3161 requires exactly one")]
    SignerCount(usize),
    #[error("the signer certificate ({0}) is neither in the token nor among the configured intermediates")]
    SignerCertMissing(String),
    #[error("signer certificate {subject} is not a TSA certificate: {reason}")]
    Eku { subject: String, reason: String },
    #[error("signer certificate {subject} is not valid at genTime {gen_time} (valid {not_before} to {not_after})")]
    SignerValidity {
        subject: String,
        gen_time: String,
        not_before: String,
        not_after: String,
    },
    #[error("signed attribute {attr}: {reason}")]
    Attribute { attr: &'static str, reason: String },
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    #[error("the TSA signature does not verify with the key of signer certificate {subject} (signed by another key, or altered)")]
    Signature { subject: String },
    #[error("certificate chain of {subject} (issued by {issuer}): {reason}")]
    Chain {
        subject: String,
        issuer: String,
        reason: String,
    },
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaVerified {
    pub signer: String,
    pub anchor: String,
    pub gen_time: String,
}

/// Verifies DER TimeStampToken `der` as a stamp of SHA-256 `digest` by a TSA chaining to `trust`.
pub fn verify_token(der: &[u8], digest: &Hash32, trust: &TsaTrust) -> Result<TsaVerified, TsaCheckError> {
    use TsaCheckError as E;
    let token = ContentInfo::from_der(der).map_err(|e| E::Malformed(format!("not a DER TimeStampToken: {e}")))?;
    let parsed = tsp::parse_token(&token).map_err(E::Malformed)?;
    tsp::check_imprint(&parsed.tst, digest).map_err(E::Imprint)?;
    let gen_time = parsed.tst.gen_time.to_unix_duration();
    let signed = &parsed.signed;

    let infos = &signed.signer_infos.0;
    if infos.len() != 1 {
        return Err(E::SignerCount(infos.len()));
    }
    let si = infos.iter().next().ok_or(E::SignerCount(0))?;

    // Candidates: the token's certificates (certReq was set), then the configured intermediates.
    let mut pool: Vec<Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    for d in &trust.intermediates {
        pool.push(Certificate::from_der(d).map_err(|e| E::Malformed(format!("configured intermediate: {e}")))?);
    }
    let signer = tsa_cert::find_signer(&pool, &si.sid).map_err(E::SignerCertMissing)?;
    let subject = tsa_cert::subject(signer);

    tsa_cert::check_eku(signer).map_err(|reason| E::Eku {
        subject: subject.clone(),
        reason,
    })?;
    tsa_cert::check_validity(signer, gen_time).map_err(|(not_before, not_after)| E::SignerValidity {
        subject: subject.clone(),
        gen_time: tsa_cert::show_time(gen_time),
        not_before,
        not_after,
    })?;

    let digest_alg = Digest::from_oid(&si.digest_alg.oid)
        .filter(|d| *d != Digest::Sha1)
        .ok_or_else(|| E::Unsupported(format!("digest algorithm {}", si.digest_alg.oid)))?;
    // RFC 3161 tokens always carry signed attributes (the content is not id-data).
    let attrs = si.signed_attrs.as_ref().ok_or(E::Attribute {
        attr: "signedAttrs",
        reason: "missing".into(),
    })?;
    let attr_err = |e: tsa_attrs::AttrError| E::Attribute {
        attr: e.attr,
        reason: e.reason,
    };
    tsa_attrs::check_content(attrs, digest_alg, &parsed.tst_der).map_err(attr_err)?;
    tsa_attrs::check_signing_certificate(attrs, signer).map_err(attr_err)?;

    // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4), not their [0] IMPLICIT form.
    let signed_bytes = attrs
        .to_der()
        .map_err(|e| E::Malformed(format!("re-encoding signedAttrs: {e}")))?;
    let alg = signer_algorithm(
        &si.signature_algorithm.oid,
        digest_alg,
        &signer.tbs_certificate.subject_public_key_info,
    )
    .map_err(E::Unsupported)?;
    let signer_der = CertificateDer::from(
        signer
            .to_der()
            .map_err(|e| E::Malformed(format!("re-encoding the signer certificate: {e}")))?,
    );
    let ee = EndEntityCert::try_from(&signer_der).map_err(|e| E::Chain {
        subject: subject.clone(),
        issuer: signer.tbs_certificate.issuer.to_string(),
        reason: format!("webpki cannot parse it: {e}"),
    })?;
    ee.verify_signature(alg, &signed_bytes, si.signature.as_bytes())
        .map_err(|_| E::Signature {
            subject: subject.clone(),
        })?;

    let anchor = tsa_cert::verify_chain(&signer_der, &pool, trust, gen_time).map_err(|reason| E::Chain {
        subject: subject.clone(),
        issuer: signer.tbs_certificate.issuer.to_string(),
        reason,
    })?;
    Ok(TsaVerified {
        signer: subject,
        anchor,
        gen_time: tsa_cert::show_time(gen_time),
    })
}
