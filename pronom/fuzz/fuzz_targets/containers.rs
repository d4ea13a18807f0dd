//! Any bytes, opened as a ZIP and as an OLE2 compound file, container signatures evaluated.
#![no_main]

mod shared;

use archipel_pronom::{fuzzing, ContainerKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let id = shared::identifier();
    for kind in [ContainerKind::Zip, ContainerKind::Ole2] {
        let _ = fuzzing::container(id, kind, data);
    }
});
