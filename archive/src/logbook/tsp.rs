//! RFC 3161 time-stamp requests, responses and tokens (DER). The HTTP exchange is in `tsa_client.rs`.
//!
//! Here a token is checked for what it stamps (messageImprint = SHA-256 of the seal statement); the TSA's CMS
//! signature and certificate chain are verified in `tsa_verify.rs` when trust anchors are configured.

use cmpv2::status::PkiStatus;
use cms::cert::x509::spki::AlgorithmIdentifier;
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Decode, Encode};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use super::hash::Hash32;

pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// A DER TimeStampReq for `digest`, with `nonce` and certReq set.
pub fn request_der(digest: &Hash32, nonce: &[u8]) -> Result<Vec<u8>, String> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint(digest)?,
        req_policy: None,
        nonce: Some(Int::new(nonce).map_err(|e| format!("nonce: {e}"))?),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(|e| format!("encoding the request: {e}"))
}

fn imprint(digest: &Hash32) -> Result<MessageImprint, String> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifier {
            oid: ID_SHA256,
            parameters: None,
        },
        hashed_message: OctetString::new(digest.0.to_vec()).map_err(|e| e.to_string())?,
    })
}

/// Checks a TimeStampResp: granted, stamping `digest`, echoing `nonce`. Returns the token's DER.
pub fn accept_response(resp: &[u8], digest: &Hash32, nonce: &[u8]) -> Result<Vec<u8>, String> {
    let resp = TimeStampResp::from_der(resp).map_err(|e| format!("the reply is not a DER TimeStampResp: {e}"))?;
    if !matches!(resp.status.status, PkiStatus::Accepted | PkiStatus::GrantedWithMods) {
        let text = resp
            .status
            .status_string
            .as_ref()
            .map(|s| format!("{s:?}"))
            .unwrap_or_default();
        return Err(format!(
            "the TSA refused the request: status {:?} {text}",
            resp.status.status
        ));
    }
    let token = resp
        .time_stamp_token
        .ok_or("the TSA granted the request but sent no token")?;
    let tst = checked_tst_info(&token, digest)?;
    if tst.nonce.as_ref().map(Int::as_bytes) != Some(nonce) {
        return Err("the token's nonce is not the one sent (a replayed or foreign reply)".into());
    }
    token.to_der().map_err(|e| format!("re-encoding the token: {e}"))
}

/// The TSTInfo inside a TimeStampToken, after checking it stamps SHA-256 `digest`.
fn checked_tst_info(token: &ContentInfo, digest: &Hash32) -> Result<TstInfo, String> {
    let parsed = parse_token(token)?;
    check_imprint(&parsed.tst, digest)?;
    Ok(parsed.tst)
}

/// Checks that `tst` stamps SHA-256 `digest`.
pub(super) fn check_imprint(tst: &TstInfo, digest: &Hash32) -> Result<(), String> {
    let imprint = &tst.message_imprint;
    if imprint.hash_algorithm.oid != ID_SHA256 {
        return Err(format!(
            "the token's hash algorithm is {}, not SHA-256",
            imprint.hash_algorithm.oid
        ));
    }
    if imprint.hashed_message.as_bytes() != digest.0 {
        return Err(format!(
            "the token stamps {}, not the seal statement digest {digest}",
            hex::encode(imprint.hashed_message.as_bytes())
        ));
    }
    Ok(())
}

/// A TimeStampToken taken apart: its SignedData, the exact TSTInfo bytes that were signed, and the TSTInfo.
pub(super) struct ParsedToken {
    pub signed: SignedData,
    pub tst_der: Vec<u8>,
    pub tst: TstInfo,
}

pub(super) fn parse_token(token: &ContentInfo) -> Result<ParsedToken, String> {
    if token.content_type != ID_SIGNED_DATA {
        return Err(format!(
            "the token is a {} ContentInfo, not SignedData",
            token.content_type
        ));
    }
    let signed: SignedData = token
        .content
        .decode_as()
        .map_err(|e| format!("the token's SignedData: {e}"))?;
    let encap = &signed.encap_content_info;
    if encap.econtent_type != ID_CT_TST_INFO {
        return Err(format!("the token encapsulates {}, not TSTInfo", encap.econtent_type));
    }
    let content = encap.econtent.as_ref().ok_or("the token has no TSTInfo content")?;
    let octets: OctetString = content.decode_as().map_err(|e| format!("the token's eContent: {e}"))?;
    let tst_der = octets.as_bytes().to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(|e| format!("the token's TSTInfo: {e}"))?;
    Ok(ParsedToken { signed, tst_der, tst })
}

/// Checks that a DER TimeStampToken stamps `digest` (its TSA signature is not verified: see `tsa_verify`).
pub fn check_token_imprint(der: &[u8], digest: &Hash32) -> Result<(), String> {
    let token = ContentInfo::from_der(der).map_err(|e| format!("token_der is not a DER TimeStampToken: {e}"))?;
    checked_tst_info(&token, digest).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_with_imprint_nonce_and_cert_req() {
        let digest = Hash32::of(b"statement");
        let der = request_der(&digest, &[0x11, 0x22]).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.message_imprint.hash_algorithm.oid, ID_SHA256);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), digest.0);
        assert_eq!(req.nonce.unwrap().as_bytes(), [0x11, 0x22]);
        assert!(req.cert_req);
    }

    #[test]
    fn openssl_reads_the_request() {
        let Ok(probe) = std::process::Command::new("openssl").arg("version").output() else {
            println!("SKIP: openssl not installed");
            return;
        };
        assert!(probe.status.success());
        let digest = Hash32::of(b"statement");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("req.tsq");
        std::fs::write(&path, request_der(&digest, &[0x42]).unwrap()).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["ts", "-query", "-text", "-in"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout)
            .to_lowercase()
            .replace([' ', '-', '\n'], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            text.contains("sha256") && text.contains("certificaterequired:yes"),
            "{text}"
        );
        // openssl dumps the imprint 16 bytes per line, after an offset.
        let hex = digest.to_hex();
        assert!(text.contains(&hex[..32]) && text.contains(&hex[32..]), "{text}");
    }

    #[test]
    fn garbage_tokens_are_refused_with_a_reason() {
        let err = check_token_imprint(b"\x30\x03\x02\x01\x01", &Hash32::ZERO).unwrap_err();
        assert!(err.contains("not a DER TimeStampToken"), "{err}");
        assert!(accept_response(b"junk", &Hash32::ZERO, &[1])
            .unwrap_err()
            .contains("not a DER TimeStampResp"));
    }
}
