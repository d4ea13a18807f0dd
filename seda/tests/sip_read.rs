//! Reading a SIP: manifest, URI lookup, and readers that hold entries to their declared sizes.

#[path = "sip_support.rs"]
mod support;

use std::io::{Cursor, Read, Write};

use archipel_seda::sip::{Sip, SipError, SipLimits};
use support::*;

fn open(entries: &[Raw]) -> (tempfile::TempDir, Sip) {
    open_with(entries, &SipLimits::default())
}

fn open_with(entries: &[Raw], limits: &SipLimits) -> (tempfile::TempDir, Sip) {
    let (dir, path) = write(&build(entries));
    let sip = Sip::open(&path, limits).unwrap();
    (dir, sip)
}

/// The `SipError` inside a reader's `io::Error`.
fn sip_error(e: std::io::Error) -> SipError {
    *e.into_inner()
        .expect("a wrapped error")
        .downcast::<SipError>()
        .expect("a SipError")
}

fn read_all(sip: &mut Sip, uri: &str) -> Result<Vec<u8>, SipError> {
    let mut out = Vec::new();
    sip.entry(uri)?.read_to_end(&mut out).map_err(sip_error)?;
    Ok(out)
}

#[test]
fn manifest_and_entries_read_back() {
    let (_d, mut sip) = open(&sip_with(vec![
        stored("content/a.txt", b"alpha"),
        deflated("content/b.txt", &b"beta ".repeat(1000)),
    ]));
    assert_eq!(sip.manifest_bytes().unwrap(), MANIFEST);
    assert_eq!(sip.manifest().name(), "manifest.xml");
    let names: Vec<&str> = sip.entries().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["content/a.txt", "content/b.txt"]);
    assert_eq!(read_all(&mut sip, "content/a.txt").unwrap(), b"alpha");
    let reader = sip.entry("content/b.txt").unwrap();
    assert_eq!((reader.name(), reader.entry_size()), ("content/b.txt", 5000));
    drop(reader);
    assert_eq!(read_all(&mut sip, "content/b.txt").unwrap(), b"beta ".repeat(1000));
}

#[test]
fn uris_are_normalised_and_percent_decoded() {
    let (_d, mut sip) = open(&sip_with(vec![
        stored("content/My File.pdf", b"pdf"),
        stored("content/caf\u{e9}.txt", b"nfc"),
    ]));
    assert_eq!(read_all(&mut sip, "content/My%20File.pdf").unwrap(), b"pdf");
    assert_eq!(read_all(&mut sip, "./content/My%20File.pdf").unwrap(), b"pdf");
    assert_eq!(read_all(&mut sip, "content/My File.pdf").unwrap(), b"pdf");
    assert_eq!(read_all(&mut sip, "Content/my%20file.PDF").unwrap(), b"pdf");
    assert_eq!(read_all(&mut sip, "content/caf%C3%A9.txt").unwrap(), b"nfc");
    // The same name in NFD, as a macOS tool would write it in the manifest.
    assert_eq!(read_all(&mut sip, "content/cafe\u{301}.txt").unwrap(), b"nfc");
}

#[test]
fn bad_uris_are_reported_with_the_uri() {
    let (_d, mut sip) = open(&sip_with(vec![stored("content/a", b"x")]));
    let err = sip.entry("content/missing.pdf").err().unwrap();
    assert!(matches!(&err, SipError::NotFound { uri } if uri == "content/missing.pdf"));
    assert!(err.to_string().contains("`content/missing.pdf`"));
    assert!(matches!(sip.entry("../content/a"), Err(SipError::UnsafeUri { .. })));
    assert!(matches!(
        sip.entry("content/%2e%2e/%2e%2e/etc/passwd"),
        Err(SipError::UnsafeUri { .. })
    ));
    assert!(matches!(sip.entry("content/a%zz"), Err(SipError::BadUri { .. })));
    // Neither the manifest nor a directory is content.
    assert!(matches!(sip.entry("manifest.xml"), Err(SipError::NotFound { .. })));
    assert!(matches!(sip.entry("content/"), Err(SipError::NotFound { .. })));
}

#[test]
fn a_uri_matching_two_entries_is_ambiguous() {
    let (_d, sip) = open(&sip_with(vec![
        stored("content/a%20b", b"1"),
        stored("content/a b", b"2"),
    ]));
    assert!(
        matches!(sip.lookup("content/a%20b"), Err(SipError::AmbiguousUri { candidates, .. }) if candidates.len() == 2)
    );
    assert_eq!(sip.lookup("content/a b").unwrap().name(), "content/a b");
}

#[test]
fn a_manifest_in_a_single_top_level_directory_is_found() {
    let (_d, mut sip) = open(&[
        dir("SIP-42/"),
        stored("SIP-42/Manifest.xml", MANIFEST),
        stored("SIP-42/content/a.txt", b"nested"),
    ]);
    assert_eq!(sip.root(), "SIP-42/");
    assert_eq!(sip.manifest_bytes().unwrap(), MANIFEST);
    let names: Vec<&str> = sip.entries().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["content/a.txt"]);
    assert_eq!(read_all(&mut sip, "content/a.txt").unwrap(), b"nested");
}

#[test]
fn a_lying_size_header_fails_after_the_declared_size_not_after_the_bomb() {
    // 1 GiB of zeros (about 1 MiB compressed) declared as 1000 bytes.
    let mut bomb = deflated_zeros("content/bomb.bin", 1 << 30);
    bomb.size = 1000;
    let (_d, mut sip) = open(&sip_with(vec![bomb]));
    let mut reader = sip.entry("content/bomb.bin").unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let mut produced = 0u64;
    let err = loop {
        match reader.read(&mut buf) {
            Ok(0) => panic!("the bomb read to its end"),
            Ok(n) => produced += n as u64,
            Err(e) => break sip_error(e),
        }
    };
    assert!(produced <= 1000, "produced {produced} bytes past the declared size");
    assert!(
        matches!(&err, SipError::Oversized { name, declared: 1000 } if name == "content/bomb.bin"),
        "{err}"
    );
}

#[test]
fn a_header_declaring_more_than_the_data_holds_fails() {
    let mut short = deflated("content/short.txt", b"only a few bytes");
    short.size = 5000;
    let (_d, mut sip) = open(&sip_with(vec![short]));
    let err = read_all(&mut sip, "content/short.txt").err().unwrap();
    assert!(
        matches!(
            &err,
            SipError::Undersized {
                declared: 5000,
                actual: 16,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("content/short.txt"));
}

#[test]
fn a_corrupt_checksum_fails() {
    let mut bad = deflated("content/a.txt", b"some text that will not match");
    bad.crc ^= 1;
    let (_d, mut sip) = open(&sip_with(vec![bad]));
    let err = read_all(&mut sip, "content/a.txt").err().unwrap();
    assert!(
        matches!(&err, SipError::Corrupt { name, .. } if name == "content/a.txt"),
        "{err}"
    );
}

#[test]
fn manifest_size_is_enforced_on_header_and_on_bytes() {
    let limits = SipLimits {
        max_manifest_bytes: 20,
        ..SipLimits::default()
    };
    let (_d, mut sip) = open_with(&sip_with(vec![]), &limits);
    assert!(matches!(
        sip.manifest_bytes(),
        Err(SipError::ManifestTooLarge { max: 20, .. })
    ));
    // A manifest whose header claims 10 bytes but inflates to more.
    let mut liar = deflated("manifest.xml", &[b'x'; 5000]);
    liar.size = 10;
    let (_d, mut sip) = open_with(&[liar], &limits);
    assert!(matches!(
        sip.manifest_bytes(),
        Err(SipError::Oversized { declared: 10, .. })
    ));
}

#[test]
fn a_zip_written_by_the_zip_crate_opens() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflate = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("manifest.xml", deflate).unwrap();
    w.write_all(MANIFEST).unwrap();
    w.add_directory("content/", deflate).unwrap();
    w.start_file("content/Dossier été.odt", deflate).unwrap();
    w.write_all(&b"odt ".repeat(300)).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let (_d, path) = write(&bytes);
    let mut sip = Sip::open(&path, &SipLimits::default()).unwrap();
    assert_eq!(
        read_all(&mut sip, "content/Dossier%20%C3%A9t%C3%A9.odt").unwrap(),
        b"odt ".repeat(300)
    );
}

#[test]
fn a_symlink_written_by_the_zip_crate_is_refused() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("manifest.xml", opts).unwrap();
    w.write_all(MANIFEST).unwrap();
    w.add_symlink("content/passwd", "/etc/passwd", opts).unwrap();
    let (_d, path) = write(&w.finish().unwrap().into_inner());
    assert!(matches!(
        Sip::open(&path, &SipLimits::default()),
        Err(SipError::Symlink { .. })
    ));
}

#[test]
fn a_zip64_directory_of_70k_entries_opens_and_the_count_limit_applies() {
    // Over 65535 entries forces the ZIP64 end record.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("manifest.xml", opts).unwrap();
    w.write_all(MANIFEST).unwrap();
    for i in 0..70_000 {
        w.start_file(format!("content/{:03}/{i}.txt", i % 500), opts).unwrap();
        w.write_all(b"x").unwrap();
    }
    let (_d, path) = write(&w.finish().unwrap().into_inner());
    let started = std::time::Instant::now();
    let mut sip = Sip::open(&path, &SipLimits::default()).unwrap();
    println!("opened 70001 entries in {:?}", started.elapsed());
    assert_eq!(sip.entries().len(), 70_000);
    assert_eq!(read_all(&mut sip, "content/499/69999.txt").unwrap(), b"x");
    let limits = SipLimits {
        max_entries: 69_999,
        ..SipLimits::default()
    };
    assert!(matches!(
        Sip::open(&path, &limits),
        Err(SipError::TooManyEntries { count: 70_001, .. })
    ));
}
