//! Properties: hostile bytes never panic the parser or the checks; digest spellings and
//! encodings round-trip.

mod common;

use archipel_seda::digest::{digests_match, DigestAlgorithm, Hasher};
use archipel_seda::manifest::{parse, ParseLimits};
use archipel_seda::validate::{check_structure, units_in_order};
use proptest::prelude::*;

use common::{binary, transfer, unit};

fn sample() -> Vec<u8> {
    let units = format!(
        "{}<ArchiveUnit id=\"U2\"><Content><Title xml:lang=\"fr\">b &amp; c</Title></Content><ArchiveUnit id=\"L\"><ArchiveUnitRefId>U1</ArchiveUnitRefId></ArchiveUnit></ArchiveUnit>",
        unit("U1", "Un", "G1")
    );
    transfer("2.2", &binary("G1", "O1", "content/a.txt"), &units).into_bytes()
}

fn small_limits() -> ParseLimits {
    ParseLimits {
        max_depth: 32,
        max_elements: 10_000,
        max_text_len: 4096,
        ..ParseLimits::default()
    }
}

/// Parse, then run every check: none of it may panic whatever the input.
fn exercise(bytes: &[u8]) {
    if let Ok(t) = parse(bytes, &small_limits()) {
        let _ = check_structure(&t);
        let _ = units_in_order(&t);
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        out.push_str(&"=".repeat(3 - chunk.len()));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_manifests_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = sample();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        exercise(&bytes);
        let end = cut.index(bytes.len());
        exercise(&bytes[..end]);
    }

    #[test]
    fn spliced_tags_never_panic(pieces in proptest::collection::vec(prop::sample::select(vec![
        "<ArchiveUnit id=\"A\">", "</ArchiveUnit>", "<ArchiveUnitRefId>A</ArchiveUnitRefId>",
        "<Content><Title>t</Title></Content>", "<DataObjectReference><DataObjectGroupReferenceId>G1</DataObjectGroupReferenceId></DataObjectReference>",
        "<ArchiveUnit id=\"B\">", "<ArchiveUnitRefId>B</ArchiveUnitRefId>", "&amp;", "&#0;", "<![CDATA[x]]>",
    ]), 0..40)) {
        let xml = transfer("2.1", &binary("G1", "O1", "a"), &pieces.concat());
        exercise(xml.as_bytes());
    }

    #[test]
    fn digest_names_round_trip(alg in prop::sample::select(DigestAlgorithm::ALL.to_vec()), upper in any::<bool>(), dash in any::<bool>()) {
        let name = alg.as_str();
        let name = if dash { name.to_owned() } else { name.replace('-', "") };
        let name = if upper { name.to_uppercase() } else { name.to_lowercase() };
        prop_assert_eq!(DigestAlgorithm::parse(&name), Ok(alg));
        let uri = format!("http://www.w3.org/2001/04/xmlenc#{}", name.to_lowercase().replace('-', ""));
        prop_assert_eq!(DigestAlgorithm::parse(&uri), Ok(alg));
    }

    #[test]
    fn digest_values_match_in_every_encoding(data in proptest::collection::vec(any::<u8>(), 0..256), alg in prop::sample::select(DigestAlgorithm::ALL.to_vec())) {
        let mut h = Hasher::new(alg);
        h.update(&data);
        let hex = h.finish();
        let raw = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect::<Vec<u8>>();
        prop_assert!(digests_match(&hex.to_uppercase(), &hex));
        prop_assert!(digests_match(&base64(&raw), &hex));
        let mut other = raw.clone();
        other[0] ^= 1;
        prop_assert!(!digests_match(&base64(&other), &hex));
    }
}
