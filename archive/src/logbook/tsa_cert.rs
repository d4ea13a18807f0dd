//! The TSA's signer certificate: finding it, its EKU and validity at genTime, and its chain to a trust anchor.

use std::time::Duration;

use cms::cert::x509::ext::pkix::SubjectKeyIdentifier;
use cms::cert::x509::Certificate;
use cms::signed_data::SignerIdentifier;
use der::asn1::ObjectIdentifier as Oid;
use der::{Decode, Encode};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use super::tsa_alg::CHAIN_ALGS;
use super::tsa_trust::TsaTrust;

const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
const EXT_SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
const KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-kp-timeStamping as webpki wants it: the OID's content octets.
const KP_TIME_STAMPING_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

pub(super) fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

fn describe_sid(sid: &SignerIdentifier) -> String {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(is) => format!(
            "issuer {} serial {}",
            is.issuer,
            hex::encode(is.serial_number.as_bytes())
        ),
        SignerIdentifier::SubjectKeyIdentifier(ski) => format!("subject key id {}", hex::encode(ski.0.as_bytes())),
    }
}

fn matches_sid(cert: &Certificate, sid: &SignerIdentifier) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(is) => {
            tbs.issuer == is.issuer && tbs.serial_number.as_bytes() == is.serial_number.as_bytes()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == EXT_SUBJECT_KEY_ID)
            .any(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).is_ok_and(|k| k.0 == ski.0)),
    }
}

/// The certificate `sid` names, among `candidates`; the error describes the identifier.
pub(super) fn find_signer<'a>(
    candidates: &'a [Certificate],
    sid: &SignerIdentifier,
) -> Result<&'a Certificate, String> {
    candidates
        .iter()
        .find(|c| matches_sid(c, sid))
        .ok_or_else(|| describe_sid(sid))
}

/// RFC 3161 §2.3: the TSA's certificate has exactly one extended key usage, id-kp-timeStamping, marked critical.
pub(super) fn check_eku(cert: &Certificate) -> Result<(), String> {
    let mut ekus = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == EXT_KEY_USAGE);
    let ext = ekus
        .next()
        .ok_or("it has no extendedKeyUsage extension (id-kp-timeStamping is required)")?;
    if ekus.next().is_some() {
        return Err("it has several extendedKeyUsage extensions".into());
    }
    if !ext.critical {
        return Err("its extendedKeyUsage extension is not marked critical".into());
    }
    let purposes: Vec<Oid> =
        Vec::from_der(ext.extn_value.as_bytes()).map_err(|e| format!("its extendedKeyUsage does not parse: {e}"))?;
    if purposes != [KP_TIME_STAMPING] {
        let list: Vec<String> = purposes.iter().map(Oid::to_string).collect();
        return Err(format!(
            "its extendedKeyUsage is [{}], not id-kp-timeStamping alone",
            list.join(", ")
        ));
    }
    Ok(())
}

/// Seconds since the epoch, as RFC 3339, for messages.
pub(super) fn show_time(t: Duration) -> String {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || format!("{}s after the epoch", t.as_secs()),
            |d| super::time::format(&d),
        )
}

/// `Err((not_before, not_after))` when `cert` is not valid at `at`.
pub(super) fn check_validity(cert: &Certificate, at: Duration) -> Result<(), (String, String)> {
    let v = &cert.tbs_certificate.validity;
    let (from, to) = (v.not_before.to_unix_duration(), v.not_after.to_unix_duration());
    if at < from || at > to {
        return Err((show_time(from), show_time(to)));
    }
    Ok(())
}

/// Builds and verifies the chain from `signer` to one of `trust`'s anchors at `at` (genTime), over `pool` (the
/// certificates of the token and the configured intermediates). Returns the anchor's subject.
pub(super) fn verify_chain(
    signer_der: &CertificateDer<'_>,
    pool: &[Certificate],
    trust: &TsaTrust,
    at: Duration,
) -> Result<String, String> {
    let ee = EndEntityCert::try_from(signer_der).map_err(|e| format!("webpki cannot use it: {e}"))?;
    let mut intermediates: Vec<CertificateDer<'static>> = Vec::with_capacity(pool.len());
    for c in pool {
        let der = c.to_der().map_err(|e| e.to_string())?;
        if der.as_slice() != signer_der.as_ref() {
            intermediates.push(CertificateDer::from(der));
        }
    }
    let anchors: Vec<_> = trust.anchors.iter().map(|a| a.anchor.clone()).collect();
    // webpki applies the EKU to every certificate of the path: an intermediate that restricts its EKUs must allow
    // time-stamping; the signer's own EKU is checked strictly by `check_eku`.
    let path = ee
        .verify_for_usage(
            CHAIN_ALGS,
            &anchors,
            &intermediates,
            UnixTime::since_unix_epoch(at),
            KeyUsage::required_if_present(KP_TIME_STAMPING_DER),
            None,
            None,
        )
        .map_err(|e| explain(e, pool, trust, at))?;
    let spki = path.anchor().subject_public_key_info.as_ref();
    Ok(trust
        .anchors
        .iter()
        .find(|a| a.anchor.subject_public_key_info.as_ref() == spki)
        .map_or_else(|| "<unknown anchor>".into(), |a| a.subject.clone()))
}

/// webpki's error, with the certificate at fault named where we can tell.
fn explain(e: webpki::Error, pool: &[Certificate], trust: &TsaTrust, at: Duration) -> String {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } | E::CertNotValidYet { .. } => {
            let culprit = pool
                .iter()
                .find_map(|c| check_validity(c, at).err().map(|(f, t)| (subject(c), f, t)));
            match culprit {
                Some((s, f, t)) => format!(
                    "certificate {s} is not valid at genTime {} (valid {f} to {t})",
                    show_time(at)
                ),
                None => format!("a certificate of the chain is not valid at genTime {}", show_time(at)),
            }
        }
        E::UnknownIssuer => format!(
            "no path to a trusted anchor ({}) through the token's certificates{}",
            trust.anchor_subjects().join("; "),
            if trust.intermediates.is_empty() {
                " (no intermediates configured)"
            } else {
                " and the configured intermediates"
            }
        ),
        E::InvalidSignatureForPublicKey => "a certificate signature in the chain does not verify".into(),
        other => format!("{other}"),
    }
}
