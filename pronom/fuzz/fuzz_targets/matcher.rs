//! Any bytes, identified: byte signatures, and containers when a trigger matches.
#![no_main]

mod shared;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let id = shared::identifier();
    let first = id.identify_bytes(data, Some("input.bin"));
    if data.is_empty() {
        assert!(first.is_err());
        return;
    }
    let first = first.expect("in-memory identification cannot fail on non-empty input");
    // Deterministic: the same bytes give the same answer.
    assert_eq!(Some(first), id.identify_bytes(data, Some("input.bin")).ok());
});
