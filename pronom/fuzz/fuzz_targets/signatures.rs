//! Any text as a signature file (either kind) and as a byte-sequence expression.
#![no_main]

use archipel_pronom::{fuzzing, Identifier};
use libfuzzer_sys::fuzz_target;

const CONTAINER: &[u8] = br#"<ContainerSignatureMapping><ContainerSignatures/></ContainerSignatureMapping>"#;
const DROID: &[u8] = br#"<FFSignatureFile><FileFormatCollection><FileFormat ID="1" PUID="x/1"/></FileFormatCollection></FFSignatureFile>"#;

fuzz_target!(|data: &[u8]| {
    let _ = Identifier::from_xml(data, CONTAINER);
    let _ = Identifier::from_xml(DROID, data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fuzzing::expression(text);
    }
});
