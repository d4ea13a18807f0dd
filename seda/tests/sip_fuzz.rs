//! Whatever the bytes, opening and reading a SIP returns, never panics.

#[path = "sip_support.rs"]
mod support;

use archipel_seda::sip::{Sip, SipLimits};
use proptest::prelude::*;
use support::*;

/// Opens the bytes and, if they pass, reads every entry and the manifest to the end.
fn exercise(bytes: &[u8]) {
    let (_d, path) = write(bytes);
    let Ok(mut sip) = Sip::open(&path, &SipLimits::default()) else {
        return;
    };
    let _ = sip.manifest_bytes();
    let names: Vec<String> = sip.entries().iter().map(|e| e.name().to_owned()).collect();
    for name in names {
        if let Ok(mut r) = sip.entry(&name) {
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        }
    }
}

fn valid_sip() -> Vec<u8> {
    build(&sip_with(vec![
        stored("content/a.txt", b"alpha"),
        deflated("content/b.txt", &b"beta ".repeat(200)),
    ]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_an_end_record_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..1024),
        eocd in proptest::collection::vec(any::<u8>(), 18),
    ) {
        // A plausible end record over garbage reaches the directory walk, not just the search.
        let mut bytes = body;
        bytes.extend_from_slice(b"PK\x05\x06");
        bytes.extend_from_slice(&eocd[..16]);
        bytes.extend_from_slice(&[0, 0]);
        exercise(&bytes);
    }

    #[test]
    fn mutated_sips_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = valid_sip();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            let len = cut.index(bytes.len());
            bytes.truncate(len);
        }
        exercise(&bytes);
    }
}
