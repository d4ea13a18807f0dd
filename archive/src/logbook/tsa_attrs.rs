//! The signed attributes of a TSA's SignerInfo (RFC 5652 §5.3, RFC 3161 §2.4.2, ESS RFC 2634 / RFC 5035).

use cms::cert::x509::attr::Attribute;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::cert::x509::Certificate;
use cms::signed_data::SignedAttributes;
use der::asn1::{Int, ObjectIdentifier as Oid, OctetString};
use der::{Any, Encode, Tag, Tagged};

use super::tsa_alg::Digest;
use super::tsp::ID_CT_TST_INFO;

const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// A failed attribute check: which attribute, and why.
#[derive(Debug)]
pub(super) struct AttrError {
    pub attr: &'static str,
    pub reason: String,
}

fn fail(attr: &'static str, reason: impl Into<String>) -> AttrError {
    AttrError {
        attr,
        reason: reason.into(),
    }
}

/// The single value of attribute `oid`, if present; several attributes or values of one type are refused.
fn single<'a>(attrs: &'a SignedAttributes, oid: Oid, name: &'static str) -> Result<Option<&'a Any>, AttrError> {
    let mut found = attrs.iter().filter(|a: &&Attribute| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(fail(name, "must occur once with one value"));
    }
    Ok(attr.values.iter().next())
}

/// content-type must be id-ct-TSTInfo and message-digest the digest of the signed TSTInfo bytes.
pub(super) fn check_content(attrs: &SignedAttributes, digest: Digest, tst_der: &[u8]) -> Result<(), AttrError> {
    let ct = single(attrs, CONTENT_TYPE, "content-type")?.ok_or_else(|| fail("content-type", "missing"))?;
    let ct: Oid = ct.decode_as().map_err(|e| fail("content-type", e.to_string()))?;
    if ct != ID_CT_TST_INFO {
        return Err(fail("content-type", format!("is {ct}, not id-ct-TSTInfo")));
    }
    let md = single(attrs, MESSAGE_DIGEST, "message-digest")?.ok_or_else(|| fail("message-digest", "missing"))?;
    let md: OctetString = md.decode_as().map_err(|e| fail("message-digest", e.to_string()))?;
    let actual = digest.hash(tst_der);
    if md.as_bytes() != actual.as_slice() {
        return Err(fail(
            "message-digest",
            format!(
                "is {} but the TSTInfo hashes to {} ({digest:?}): the TSTInfo was altered after signing",
                hex::encode(md.as_bytes()),
                hex::encode(&actual)
            ),
        ));
    }
    Ok(())
}

/// The first ESSCertID(v2) of signing-certificate(-v2) must name `signer` (RFC 5035 §3: the first one is the
/// signing certificate). A TSA must send one of the two attributes (RFC 3161 §2.4.2).
pub(super) fn check_signing_certificate(attrs: &SignedAttributes, signer: &Certificate) -> Result<(), AttrError> {
    let (name, value, default_digest) = match (
        single(attrs, SIGNING_CERTIFICATE_V2, "signing-certificate-v2")?,
        single(attrs, SIGNING_CERTIFICATE, "signing-certificate")?,
    ) {
        (Some(v), _) => ("signing-certificate-v2", v, Digest::Sha256),
        (None, Some(v)) => ("signing-certificate", v, Digest::Sha1),
        (None, None) => {
            return Err(fail(
                "signing-certificate",
                "neither signing-certificate nor signing-certificate-v2 is present",
            ))
        }
    };
    let bad = |e: der::Error| fail(name, e.to_string());
    // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
    let outer: Vec<Any> = value.decode_as().map_err(bad)?;
    let certs: Vec<Any> = outer
        .first()
        .ok_or_else(|| fail(name, "empty"))?
        .decode_as()
        .map_err(bad)?;
    let first = certs.first().ok_or_else(|| fail(name, "names no certificate"))?;
    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }
    let fields: Vec<Any> = first.decode_as().map_err(bad)?;
    let mut fields = fields.iter().peekable();
    let mut digest = default_digest;
    if name == "signing-certificate-v2" && fields.peek().is_some_and(|f| f.tag() == Tag::Sequence) {
        let alg: AlgorithmIdentifierOwned = fields
            .next()
            .ok_or_else(|| fail(name, "truncated"))?
            .decode_as()
            .map_err(bad)?;
        digest = Digest::from_oid(&alg.oid).ok_or_else(|| fail(name, format!("unsupported hash {}", alg.oid)))?;
    }
    let hash: OctetString = fields
        .next()
        .ok_or_else(|| fail(name, "no certHash"))?
        .decode_as()
        .map_err(bad)?;
    let cert_der = signer.to_der().map_err(bad)?;
    if hash.as_bytes() != digest.hash(&cert_der).as_slice() {
        return Err(fail(
            name,
            format!(
                "its certHash does not match the signer certificate {}",
                signer.tbs_certificate.subject
            ),
        ));
    }
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }: the serial must be the signer's too.
    if let Some(issuer_serial) = fields.next() {
        let parts: Vec<Any> = issuer_serial.decode_as().map_err(bad)?;
        let serial: Int = parts
            .get(1)
            .ok_or_else(|| fail(name, "issuerSerial has no serial number"))?
            .decode_as()
            .map_err(bad)?;
        if serial.as_bytes() != signer.tbs_certificate.serial_number.as_bytes() {
            return Err(fail(
                name,
                "its issuerSerial names another serial number than the signer's",
            ));
        }
    }
    Ok(())
}
