//! Any bytes as a SIP zip: opened under small limits, then the manifest and every entry read to the end.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use archipel_seda::sip::{Sip, SipLimits};
use libfuzzer_sys::fuzz_target;

/// One file per process, rewritten for each input (libFuzzer runs inputs one after another).
fn input_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("archipel-sip-fuzz-{}.zip", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let path = input_path();
    std::fs::write(path, data).expect("write the input");
    // Small limits so that the fuzzer reaches the limit checks (entries, ratio, sizes, names).
    let limits = SipLimits {
        max_zip_bytes: 8 * 1024 * 1024,
        max_entries: 64,
        max_entry_bytes: 1024 * 1024,
        max_total_bytes: 4 * 1024 * 1024,
        max_ratio: 50,
        ratio_exempt_bytes: 4 * 1024,
        max_manifest_bytes: 256 * 1024,
        max_name_len: 128,
        max_depth: 8,
    };
    let Ok(mut sip) = Sip::open(path, &limits) else {
        return;
    };
    let _ = sip.manifest_bytes();
    let names: Vec<String> = sip.entries().iter().map(|e| e.name().to_owned()).collect();
    for name in names {
        if let Ok(mut r) = sip.entry(&name) {
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        }
    }
});
