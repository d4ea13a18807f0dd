//! Any bytes: the SEDA version read from the root element, and the same answer twice.
#![no_main]

use archipel_seda::version;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = version::detect(data).ok();
    assert_eq!(first, version::detect(data).ok());
    if let Some(v) = first {
        assert_eq!(version::SedaVersion::from_namespace(v.namespace()), Some(v));
    }
});
