//! Content-MD5 and `x-amz-checksum-*`: what the client declared, checked against what was
//! measured while the bytes streamed to the cluster.

use s3s::{s3_error, S3Result, TrailingHeaders};

use crate::body::{Digests, Wanted};
use crate::records::Checksums;

/// What a request declares about its body.
#[derive(Debug, Default)]
pub struct Declared {
    pub md5: Option<[u8; 16]>,
    pub sums: Checksums,
    pub algorithm: Option<String>,
}

impl Declared {
    pub fn new(
        content_md5: Option<&str>,
        algorithm: Option<&str>,
        crc32: Option<&String>,
        crc32c: Option<&String>,
        sha1: Option<&String>,
        sha256: Option<&String>,
    ) -> S3Result<Self> {
        let md5 = match content_md5 {
            None => None,
            Some(text) => {
                let bytes = base64_decode(text)
                    .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
                Some(
                    bytes
                        .try_into()
                        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?,
                )
            }
        };
        Ok(Self {
            md5,
            sums: Checksums {
                crc32: crc32.cloned(),
                crc32c: crc32c.cloned(),
                sha1: sha1.cloned(),
                sha256: sha256.cloned(),
            },
            algorithm: algorithm.map(str::to_ascii_uppercase),
        })
    }

    /// Algorithms to compute: the declared ones and the one named by `x-amz-checksum-algorithm`
    /// or `x-amz-trailer`.
    pub fn wanted(&self) -> Wanted {
        let mut w = Wanted::covering(&self.sums);
        if let Some(a) = &self.algorithm {
            w.add_algorithm(a);
        }
        w
    }

    /// Checks the measured digests against the declared values and the signed trailers.
    pub fn verify(&self, got: &Digests, trailers: Option<&TrailingHeaders>) -> S3Result<()> {
        if let Some(md5) = self.md5 {
            if md5 != got.md5 {
                return Err(s3_error!(
                    BadDigest,
                    "The Content-MD5 you specified did not match what we received."
                ));
            }
        }
        let mut declared = self.sums.clone();
        if let Some(t) = trailers {
            if let Some(map) = t.take() {
                let get = |name: &str| map.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                declared.crc32 = declared.crc32.or_else(|| get("x-amz-checksum-crc32"));
                declared.crc32c = declared.crc32c.or_else(|| get("x-amz-checksum-crc32c"));
                declared.sha1 = declared.sha1.or_else(|| get("x-amz-checksum-sha1"));
                declared.sha256 = declared.sha256.or_else(|| get("x-amz-checksum-sha256"));
            }
        }
        let pairs = [
            ("CRC32", &declared.crc32, &got.checksums.crc32),
            ("CRC32C", &declared.crc32c, &got.checksums.crc32c),
            ("SHA1", &declared.sha1, &got.checksums.sha1),
            ("SHA256", &declared.sha256, &got.checksums.sha256),
        ];
        for (name, want, have) in pairs {
            if let Some(want) = want {
                if Some(want) != have.as_ref() {
                    return Err(s3_error!(
                        BadDigest,
                        "The {name} you specified did not match the calculated checksum."
                    ));
                }
            }
        }
        Ok(())
    }
}

/// An empty Content-MD5 is a malformed digest (S3: InvalidDigest), not a missing one; s3s
/// reads empty headers as absent, so it is checked on the raw headers.
pub fn refuse_empty_md5(headers: &http::HeaderMap) -> S3Result<()> {
    if headers
        .get_all("content-md5")
        .iter()
        .any(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace))
    {
        return Err(s3_error!(
            InvalidDigest,
            "The Content-MD5 you specified was invalid: the header is empty."
        ));
    }
    Ok(())
}

pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let text = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_content_md5_is_invalid_digest() {
        let mut h = http::HeaderMap::new();
        assert!(refuse_empty_md5(&h).is_ok());
        h.insert("content-md5", http::HeaderValue::from_static(""));
        assert_eq!(
            refuse_empty_md5(&h).unwrap_err().code(),
            &s3s::S3ErrorCode::InvalidDigest
        );
    }

    #[test]
    fn base64_round_trips_md5s() {
        assert_eq!(
            hex::encode(base64_decode("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert!(base64_decode("not base64!").is_none());
    }

    #[test]
    fn a_wrong_content_md5_is_bad_digest_and_a_malformed_one_invalid_digest() {
        assert!(Declared::new(Some("abc!"), None, None, None, None, None).is_err());
        let d = Declared::new(Some("1B2M2Y8AsgTpgAmY7PhCfg=="), None, None, None, None, None).unwrap();
        let got = Digests {
            md5: [0; 16],
            size: 0,
            checksums: Checksums::default(),
        };
        let e = d.verify(&got, None).unwrap_err();
        assert_eq!(e.code(), &s3s::S3ErrorCode::BadDigest);
    }
}
