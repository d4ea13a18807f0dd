//! A test TSA made in Rust: rcgen certificates (a root, optional intermediates, TSA certificates with or without
//! the time-stamping EKU, any validity) and hand-built RFC 3161 tokens signed with *ring* (ECDSA P-256).

#![allow(dead_code)]

use std::time::SystemTime;

use archipel_archive::logbook::{tsp, Hash32};
use cms::cert::x509::attr::Attribute;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::cert::x509::Certificate;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, Int, ObjectIdentifier as Oid, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tag};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use x509_tsp::{MessageImprint, TspVersion, TstInfo};

const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// extendedKeyUsage = SEQUENCE { id-kp-timeStamping }
const EKU_TIME_STAMPING: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

pub struct Ca {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Ca {
    pub fn der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

pub fn root(cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let cert = ca_params(cn).self_signed(&key).unwrap();
    Ca { cert, key }
}

pub fn intermediate(cn: &str, issuer: &Ca) -> Ca {
    let key = KeyPair::generate().unwrap();
    let cert = ca_params(cn).signed_by(&key, &issuer.cert, &issuer.key).unwrap();
    Ca { cert, key }
}

/// How the TSA certificate is made.
pub struct TsaSpec {
    pub cn: &'static str,
    /// The critical id-kp-timeStamping EKU that RFC 3161 requires.
    pub eku: bool,
    pub not_before: (i32, u8, u8),
    pub not_after: (i32, u8, u8),
}

impl TsaSpec {
    pub fn good(cn: &'static str) -> Self {
        TsaSpec {
            cn,
            eku: true,
            not_before: (2020, 1, 1),
            not_after: (2100, 1, 1),
        }
    }
}

pub fn tsa(spec: TsaSpec, issuer: &Ca) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::default();
    p.distinguished_name = name(spec.cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.not_before = rcgen::date_time_ymd(spec.not_before.0, spec.not_before.1, spec.not_before.2);
    p.not_after = rcgen::date_time_ymd(spec.not_after.0, spec.not_after.1, spec.not_after.2);
    if spec.eku {
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], EKU_TIME_STAMPING.to_vec());
        ext.set_criticality(true);
        p.custom_extensions = vec![ext];
    }
    let cert = p.signed_by(&key, &issuer.cert, &issuer.key).unwrap();
    Ca { cert, key }
}

fn attr(oid: Oid, value: Any) -> Attribute {
    Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).unwrap(),
    }
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    let body: Vec<u8> = parts.concat();
    Any::new(Tag::Sequence, body).unwrap().to_der().unwrap()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data).as_ref().to_vec()
}

/// A TimeStampToken stamping `digest` at `gen_time`, naming `signer` as the signing certificate but signed with
/// `signing_key` (the same key for an honest token), embedding `certs`.
pub fn token(digest: &Hash32, gen_time: SystemTime, signer: &Ca, signing_key: &KeyPair, certs: &[Vec<u8>]) -> Vec<u8> {
    let tst = TstInfo {
        version: TspVersion::V1,
        policy: Oid::new_unwrap("1.3.6.1.4.1.99999.1"),
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(digest.0.to_vec()).unwrap(),
        },
        serial_number: Int::new(&[7]).unwrap(),
        gen_time: GeneralizedTime::from_system_time(gen_time).unwrap(),
        accuracy: None,
        ordering: false,
        nonce: None,
        tsa: None,
        extensions: None,
    };
    let tst_der = tst.to_der().unwrap();
    let signer_cert = Certificate::from_der(signer.cert.der()).unwrap();

    // SigningCertificateV2 { certs { ESSCertIDv2 { certHash } } }, hashAlgorithm left to its sha256 default.
    let cert_hash = OctetString::new(sha256(&signer.der())).unwrap().to_der().unwrap();
    let ess = seq(&[&seq(&[&seq(&[cert_hash.as_slice()])])]);
    let attrs = SetOfVec::try_from(vec![
        attr(CONTENT_TYPE, Any::encode_from(&tsp::ID_CT_TST_INFO).unwrap()),
        attr(
            MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(sha256(&tst_der)).unwrap()).unwrap(),
        ),
        attr(SIGNING_CERTIFICATE_V2, Any::from_der(&ess).unwrap()),
    ])
    .unwrap();

    let rng = SystemRandom::new();
    let ring_key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &signing_key.serialize_der(), &rng).unwrap();
    let signature = ring_key.sign(&rng, &attrs.to_der().unwrap()).unwrap();

    let si = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer_cert.tbs_certificate.issuer.clone(),
            serial_number: signer_cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: AlgorithmIdentifierOwned {
            oid: SHA256,
            parameters: None,
        },
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_SHA256,
            parameters: None,
        },
        signature: OctetString::new(signature.as_ref().to_vec()).unwrap(),
        unsigned_attrs: None,
    };
    let set: Vec<CertificateChoices> = certs
        .iter()
        .map(|d| CertificateChoices::Certificate(Certificate::from_der(d).unwrap()))
        .collect();
    let signed = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![AlgorithmIdentifierOwned {
            oid: SHA256,
            parameters: None,
        }])
        .unwrap(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: tsp::ID_CT_TST_INFO,
            econtent: Some(Any::new(Tag::OctetString, tst_der).unwrap()),
        },
        certificates: (!set.is_empty()).then(|| CertificateSet(SetOfVec::try_from(set).unwrap())),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).unwrap()),
    };
    ContentInfo {
        content_type: tsp::ID_SIGNED_DATA,
        content: Any::from_der(&signed.to_der().unwrap()).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// `token` with its TSTInfo's serial number changed after signing.
pub fn tamper_tst_info(token_der: &[u8]) -> Vec<u8> {
    let ci = ContentInfo::from_der(token_der).unwrap();
    let mut signed: SignedData = ci.content.decode_as().unwrap();
    let econtent = signed.encap_content_info.econtent.as_ref().unwrap();
    let octets: OctetString = econtent.decode_as().unwrap();
    let mut tst = TstInfo::from_der(octets.as_bytes()).unwrap();
    tst.serial_number = Int::new(&[8]).unwrap();
    signed.encap_content_info.econtent = Some(Any::new(Tag::OctetString, tst.to_der().unwrap()).unwrap());
    ContentInfo {
        content_type: ci.content_type,
        content: Any::from_der(&signed.to_der().unwrap()).unwrap(),
    }
    .to_der()
    .unwrap()
}
