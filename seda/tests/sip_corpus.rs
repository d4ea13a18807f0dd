//! The real SIPs in shared/corpus/seda open, every Uri of their manifest resolves, and every
//! entry reads to its declared size.

#[path = "sip_support.rs"]
mod support;

use std::io::Read;

use archipel_seda::sip::{Sip, SipLimits};

/// The `<Uri>` values of a manifest, found crudely: manifest parsing is another module's job.
fn uris(manifest: &str) -> Vec<String> {
    manifest
        .split("<Uri>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Uri>").map(|(uri, _)| uri.trim().to_owned()))
        .collect()
}

#[test]
fn real_sips_open_and_every_entry_reads_fully() {
    let dir = support::shared("corpus/seda");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        println!("SKIP: {} is absent", dir.display());
        return;
    };
    let mut zips: Vec<_> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    zips.sort();
    assert!(!zips.is_empty(), "no SIP in {}", dir.display());
    for path in zips {
        let started = std::time::Instant::now();
        let mut sip = Sip::open(&path, &SipLimits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let manifest = sip.manifest_bytes().unwrap();
        assert!(
            manifest.starts_with(b"<?xml"),
            "{}: manifest is not XML",
            path.display()
        );
        let manifest = String::from_utf8(manifest).unwrap();
        let referenced = uris(&manifest);
        assert!(!referenced.is_empty(), "{}: no Uri in the manifest", path.display());
        let mut seen = std::collections::BTreeSet::new();
        for uri in &referenced {
            let entry = sip.lookup(uri).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen.insert(entry.name().to_owned());
        }
        assert_eq!(
            seen.len(),
            sip.entries().len(),
            "{}: unreferenced entries",
            path.display()
        );
        let names: Vec<String> = sip.entries().iter().map(|e| e.name().to_owned()).collect();
        let mut bytes = 0u64;
        for name in names {
            let mut reader = sip.entry(&name).unwrap();
            let declared = reader.entry_size();
            let n = std::io::copy(&mut reader, &mut std::io::sink())
                .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
            assert_eq!(n, declared, "{name}");
            bytes += n;
        }
        let mut again = Vec::new();
        sip.entry(&referenced[0]).unwrap().read_to_end(&mut again).unwrap();
        assert!(!again.is_empty());
        println!(
            "{}: {} entries, {bytes} bytes read in {:?}",
            path.display(),
            sip.entries().len(),
            started.elapsed()
        );
    }
}
