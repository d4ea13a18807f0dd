//! Any bytes as manifest.xml: parsed under small limits, then checked and flattened as ingest does.
#![no_main]

use archipel_seda::manifest::{self, ParseLimits};
use archipel_seda::validate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits so that the fuzzer reaches every limit check, not only the common paths.
    let limits = ParseLimits {
        max_bytes: 64 * 1024,
        max_depth: 32,
        max_elements: 4_000,
        max_text_len: 4 * 1024,
        max_units: 200,
        max_objects: 200,
    };
    let Ok(transfer) = manifest::parse(data, &limits) else {
        return;
    };
    let _ = validate::check_structure(&transfer);
    let _ = validate::units_in_order(&transfer);
});
