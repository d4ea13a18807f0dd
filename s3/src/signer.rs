//! A small SigV4 signer for Archipel's own S3 callers (`archipel bench s3`, tests that need
//! requests no S3 tool sends): header authentication, path-style URLs, region us-east-1.
//! The gateway's side of SigV4 is `s3s`'s; this is only the client's half.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The payload hash of a request whose body is not hashed (S3's `UNSIGNED-PAYLOAD`).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const REGION: &str = "us-east-1";

#[derive(Clone)]
pub struct Signer {
    access_key: String,
    secret_key: String,
}

/// A request to sign: `path` is the raw path (`/bucket/key`), encoded here.
pub struct Unsigned<'a> {
    pub method: &'a str,
    /// `host[:port]`, as sent in the Host header.
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    /// Extra headers to sign (names in any case).
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, or [`UNSIGNED_PAYLOAD`].
    pub payload_sha256: &'a str,
}

/// S3's URI encoding: unreserved characters kept, everything else %XX; `/` kept in paths.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: new_from_slice cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }

    /// The headers to add to `req` (x-amz-date, x-amz-content-sha256, authorization), signed
    /// at `now` (Unix seconds).
    pub fn sign(&self, req: &Unsigned<'_>, now: u64) -> Vec<(String, String)> {
        let (date, stamp) = amz_dates(now);
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        headers.push(("host".into(), req.host.into()));
        headers.push(("x-amz-date".into(), stamp.clone()));
        headers.push(("x-amz-content-sha256".into(), req.payload_sha256.into()));
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let mut query: Vec<(String, String)> = req
            .query
            .iter()
            .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
            .collect();
        query.sort();
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let canonical = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
            req.method,
            uri_encode(req.path, true),
            query.join("&"),
            req.payload_sha256
        );
        let scope = format!("{date}/{REGION}/s3/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            sha256_hex(canonical.as_bytes())
        );
        let mut key = hmac(format!("AWS4{}", self.secret_key).as_bytes(), date.as_bytes());
        for part in [REGION, "s3", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
        vec![
            ("x-amz-date".into(), stamp),
            ("x-amz-content-sha256".into(), req.payload_sha256.into()),
            (
                "authorization".into(),
                format!(
                    "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
                    self.access_key
                ),
            ),
        ]
    }
}

/// `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` for Unix time `now`.
fn amz_dates(now: u64) -> (String, String) {
    let t = time::OffsetDateTime::from_unix_timestamp(now as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let date = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
    let stamp = format!("{date}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
    (date, stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example (GET Object, "Example: GET Object" of the SigV4 header docs).
    #[test]
    fn signs_awss_documented_example() {
        let signer = Signer::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let empty = sha256_hex(b"");
        let headers = signer.sign(
            &Unsigned {
                method: "GET",
                host: "examplebucket.s3.amazonaws.com",
                path: "/test.txt",
                query: &[],
                headers: &[("Range", "bytes=0-9")],
                payload_sha256: &empty,
            },
            1369353600, // 2013-05-24T00:00:00Z
        );
        let auth = &headers.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn encodes_keys_as_s3_does() {
        assert_eq!(uri_encode("a b/é+x", true), "a%20b/%C3%A9%2Bx");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }
}
