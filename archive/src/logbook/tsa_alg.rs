//! Algorithm identifiers met in RFC 3161 tokens, mapped to *ring* digests and webpki verification algorithms.

use cms::cert::x509::spki::SubjectPublicKeyInfoOwned;
use der::asn1::ObjectIdentifier as Oid;
use rustls_pki_types::SignatureVerificationAlgorithm;
use webpki::ring as algs;

const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const P384: Oid = Oid::new_unwrap("1.3.132.0.34");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    pub fn from_oid(oid: &Oid) -> Option<Self> {
        match *oid {
            SHA1 => Some(Digest::Sha1),
            SHA256 => Some(Digest::Sha256),
            SHA384 => Some(Digest::Sha384),
            SHA512 => Some(Digest::Sha512),
            _ => None,
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Digest::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            Digest::Sha256 => &ring::digest::SHA256,
            Digest::Sha384 => &ring::digest::SHA384,
            Digest::Sha512 => &ring::digest::SHA512,
        };
        ring::digest::digest(alg, data).as_ref().to_vec()
    }
}

/// The webpki algorithm that checks a SignerInfo signature: chosen from the signature algorithm (which for RSA
/// is often plain rsaEncryption), the digest algorithm, and the signer's key (ECDSA curve).
pub(super) fn signer_algorithm(
    signature_alg: &Oid,
    digest: Digest,
    key: &SubjectPublicKeyInfoOwned,
) -> Result<&'static dyn SignatureVerificationAlgorithm, String> {
    let unsupported = || {
        format!(
            "signature algorithm {signature_alg} with digest {digest:?} and a {} key",
            key.algorithm.oid
        )
    };
    // The digest named by the signature algorithm must be the SignerInfo's digest algorithm.
    let named = match *signature_alg {
        SHA256_WITH_RSA | ECDSA_SHA256 => Some(Digest::Sha256),
        SHA384_WITH_RSA | ECDSA_SHA384 => Some(Digest::Sha384),
        SHA512_WITH_RSA | ECDSA_SHA512 => Some(Digest::Sha512),
        RSA_ENCRYPTION | EC_PUBLIC_KEY => None,
        _ => return Err(unsupported()),
    };
    if named.is_some_and(|d| d != digest) {
        return Err(format!(
            "signature algorithm {signature_alg} disagrees with digest algorithm {digest:?}"
        ));
    }
    let rsa = matches!(
        *signature_alg,
        RSA_ENCRYPTION | SHA256_WITH_RSA | SHA384_WITH_RSA | SHA512_WITH_RSA
    );
    if rsa {
        if key.algorithm.oid != RSA_ENCRYPTION {
            return Err(unsupported());
        }
        return match digest {
            Digest::Sha256 => Ok(algs::RSA_PKCS1_2048_8192_SHA256),
            Digest::Sha384 => Ok(algs::RSA_PKCS1_2048_8192_SHA384),
            Digest::Sha512 => Ok(algs::RSA_PKCS1_2048_8192_SHA512),
            Digest::Sha1 => Err(unsupported()),
        };
    }
    if key.algorithm.oid != EC_PUBLIC_KEY {
        return Err(unsupported());
    }
    let curve = key
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<Oid>().ok())
        .ok_or_else(unsupported)?;
    match (curve, digest) {
        (P256, Digest::Sha256) => Ok(algs::ECDSA_P256_SHA256),
        (P256, Digest::Sha384) => Ok(algs::ECDSA_P256_SHA384),
        (P384, Digest::Sha256) => Ok(algs::ECDSA_P384_SHA256),
        (P384, Digest::Sha384) => Ok(algs::ECDSA_P384_SHA384),
        _ => Err(unsupported()),
    }
}

/// What certificate signatures in a TSA chain may use.
pub(super) static CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    algs::ECDSA_P256_SHA256,
    algs::ECDSA_P256_SHA384,
    algs::ECDSA_P384_SHA256,
    algs::ECDSA_P384_SHA384,
    algs::ED25519,
    algs::RSA_PKCS1_2048_8192_SHA256,
    algs::RSA_PKCS1_2048_8192_SHA384,
    algs::RSA_PKCS1_2048_8192_SHA512,
    algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];
