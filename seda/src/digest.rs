//! Message digests as SEDA producers declare them, and streaming hashers to check them.
//!
//! Producers spell algorithms many ways ("SHA-512", "sha512", XML-DSig URIs) and encode values in
//! hex of either case or in base64; all of these are accepted, MD5 never is.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha1::Digest as _;

/// A digest algorithm Archipel accepts in a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// Why a declared algorithm was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest algorithm \"{0}\" (MD5) is broken and refused: declare SHA-256 or SHA-512")]
    Md5(String),
    #[error("digest algorithm \"{0}\" is not known: declare one of SHA-256, SHA-384, SHA-512 (or SHA-1)")]
    Unknown(String),
}

impl DigestAlgorithm {
    pub const ALL: [DigestAlgorithm; 4] = [
        DigestAlgorithm::Sha1,
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ];

    /// Parses any name producers use: "SHA-256", "SHA256", "sha-512", and the XML-DSig / XML-Enc
    /// URIs ("http://www.w3.org/2001/04/xmlenc#sha256", ".../xmldsig-more#sha384", ...).
    pub fn parse(name: &str) -> Result<DigestAlgorithm, DigestError> {
        let trimmed = name.trim();
        // URIs name the algorithm after the fragment mark.
        let tail = trimmed.rsplit_once('#').map_or(trimmed, |(_, t)| t);
        let key: String = tail
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "sha1" => Ok(DigestAlgorithm::Sha1),
            "sha256" | "sha2256" => Ok(DigestAlgorithm::Sha256),
            "sha384" | "sha2384" => Ok(DigestAlgorithm::Sha384),
            "sha512" | "sha2512" => Ok(DigestAlgorithm::Sha512),
            "md5" => Err(DigestError::Md5(name.to_owned())),
            _ => Err(DigestError::Unknown(name.to_owned())),
        }
    }

    /// The SEDA code list spelling ("SHA-512").
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha1 => "SHA-1",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
            DigestAlgorithm::Sha512 => "SHA-512",
        }
    }

    /// Length of a digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha1 => 20,
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    /// SHA-1 is accepted for old producers but collisions are practical: warn about it.
    pub fn is_weak(self) -> bool {
        self == DigestAlgorithm::Sha1
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

enum State {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

/// A streaming hasher for one algorithm.
pub struct Hasher {
    algorithm: DigestAlgorithm,
    state: State,
}

impl Hasher {
    pub fn new(algorithm: DigestAlgorithm) -> Hasher {
        let state = match algorithm {
            DigestAlgorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
            DigestAlgorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => State::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Hasher { algorithm, state }
    }

    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha384(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
    }

    /// The digest as lowercase hex.
    pub fn finish(self) -> String {
        match self.state {
            State::Sha1(h) => hex::encode(h.finalize()),
            State::Sha256(h) => hex::encode(h.finalize()),
            State::Sha384(h) => hex::encode(h.finalize()),
            State::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// Hashes one stream with several algorithms in a single pass (the declared one and the
/// archive's own SHA-512, for instance).
pub struct MultiHasher {
    hashers: Vec<Hasher>,
}

impl MultiHasher {
    /// Duplicates in `algorithms` are hashed once.
    pub fn new(algorithms: &[DigestAlgorithm]) -> MultiHasher {
        let mut hashers: Vec<Hasher> = Vec::with_capacity(algorithms.len());
        for &alg in algorithms {
            if hashers.iter().all(|h| h.algorithm != alg) {
                hashers.push(Hasher::new(alg));
            }
        }
        MultiHasher { hashers }
    }

    pub fn update(&mut self, data: &[u8]) {
        for h in &mut self.hashers {
            h.update(data);
        }
    }

    /// Each distinct algorithm with its lowercase hex digest, in first-requested order.
    pub fn finish(self) -> Vec<(DigestAlgorithm, String)> {
        self.hashers.into_iter().map(|h| (h.algorithm, h.finish())).collect()
    }
}

/// Decodes a declared digest value, hex (any case) or base64, into bytes.
pub fn decode_value(declared: &str) -> Option<Vec<u8>> {
    let trimmed = declared.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.len().is_multiple_of(2) && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(trimmed).ok();
    }
    decode_base64(trimmed)
}

/// Whether a declared value (hex of any case, or base64) is the same digest as `actual_hex`.
pub fn digests_match(expected: &str, actual_hex: &str) -> bool {
    let Ok(actual) = hex::decode(actual_hex.trim()) else {
        return false;
    };
    let trimmed = expected.trim();
    // A hex string can also be valid base64 (e.g. all digits): try both readings.
    let as_hex = trimmed
        .len()
        .is_multiple_of(2)
        .then(|| hex::decode(trimmed).ok())
        .flatten();
    as_hex.as_deref() == Some(actual.as_slice()) || decode_base64(trimmed).as_deref() == Some(actual.as_slice())
}

/// Standard or URL-safe base64, padded or not, whitespace ignored (producers wrap lines). Also
/// what an Attachment (xs:base64Binary) holds.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = 0usize;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding of the last byte, and at most two '='.
    if padding > 2 || bits >= 6 || acc != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_that_look_like_hex_are_still_base64() {
        // "ABCD" is valid hex and valid base64; an Attachment is always base64.
        assert_eq!(decode_base64("ABCD"), Some(vec![0x00, 0x10, 0x83]));
        assert_eq!(decode_base64("aGVs\nbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("not base64!"), None);
    }

    #[test]
    fn parses_every_spelling() {
        let cases = [
            ("SHA-256", DigestAlgorithm::Sha256),
            ("SHA256", DigestAlgorithm::Sha256),
            ("sha-512", DigestAlgorithm::Sha512),
            ("Sha_384", DigestAlgorithm::Sha384),
            ("SHA-1", DigestAlgorithm::Sha1),
            ("http://www.w3.org/2001/04/xmlenc#sha256", DigestAlgorithm::Sha256),
            ("http://www.w3.org/2001/04/xmldsig-more#sha384", DigestAlgorithm::Sha384),
            ("http://www.w3.org/2001/04/xmlenc#sha512", DigestAlgorithm::Sha512),
            ("http://www.w3.org/2000/09/xmldsig#sha1", DigestAlgorithm::Sha1),
            (" SHA-512 ", DigestAlgorithm::Sha512),
        ];
        for (name, alg) in cases {
            assert_eq!(DigestAlgorithm::parse(name), Ok(alg), "{name}");
        }
        for alg in DigestAlgorithm::ALL {
            assert_eq!(DigestAlgorithm::parse(alg.as_str()), Ok(alg));
        }
    }

    #[test]
    fn refuses_md5_and_unknown_with_advice() {
        for md5 in ["MD5", "md-5", "http://www.w3.org/2001/04/xmldsig-more#md5"] {
            let e = DigestAlgorithm::parse(md5).unwrap_err();
            assert!(matches!(e, DigestError::Md5(_)), "{md5}");
            assert!(e.to_string().contains("SHA-256"));
        }
        let e = DigestAlgorithm::parse("SHA3-256").unwrap_err();
        assert!(matches!(e, DigestError::Unknown(_)));
        assert!(e.to_string().contains("SHA3-256") && e.to_string().contains("SHA-512"));
        assert!(DigestAlgorithm::parse("").is_err());
    }

    #[test]
    fn known_vectors() {
        // FIPS 180 test vectors for "abc".
        let expect = [
            (DigestAlgorithm::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                DigestAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ];
        for (alg, hex) in expect {
            let mut h = Hasher::new(alg);
            h.update(b"a");
            h.update(b"bc");
            assert_eq!(h.finish(), hex);
        }
        let mut h = Hasher::new(DigestAlgorithm::Sha512);
        h.update(b"abc");
        let out = h.finish();
        assert!(out.starts_with("ddaf35a193617aba"), "{out}");
        assert_eq!(out.len(), 128);
    }

    #[test]
    fn multi_hasher_matches_single_hashers() {
        let data = b"Archipel keeps archives";
        let mut multi = MultiHasher::new(&[
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha512,
            DigestAlgorithm::Sha256,
        ]);
        multi.update(&data[..5]);
        multi.update(&data[5..]);
        let out = multi.finish();
        assert_eq!(out.len(), 2);
        for (alg, hex) in out {
            let mut single = Hasher::new(alg);
            single.update(data);
            assert_eq!(single.finish(), hex);
            assert_eq!(hex.len(), alg.output_len() * 2);
        }
    }

    #[test]
    fn matches_hex_any_case_and_base64() {
        let mut h = Hasher::new(DigestAlgorithm::Sha256);
        h.update(b"abc");
        let hex = h.finish();
        assert!(digests_match(&hex, &hex));
        assert!(digests_match(&hex.to_uppercase(), &hex));
        let b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
        assert!(digests_match(b64, &hex));
        assert!(digests_match(b64.trim_end_matches('='), &hex));
        assert!(digests_match(&b64.replace('+', "-").replace('/', "_"), &hex));
        assert!(!digests_match("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1=", &hex));
        assert!(!digests_match(&hex[..62], &hex));
        assert!(!digests_match("", &hex));
        assert_eq!(decode_value(b64).map(|v| v.len()), Some(32));
    }

    #[test]
    fn base64_rejects_garbage() {
        assert_eq!(decode_base64("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(decode_base64("YWI="), Some(b"ab".to_vec()));
        assert_eq!(decode_base64("YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode_base64("YR=="), None); // non-zero trailing bits
        assert_eq!(decode_base64("Y"), None);
        assert_eq!(decode_base64("YQ==YQ"), None);
        assert_eq!(decode_base64("YW*j"), None);
    }
}
