//! Hostile SIPs: each must be refused at open, with an error naming the entry at fault.

#[path = "sip_support.rs"]
mod support;

use archipel_seda::sip::{NameProblem, Sip, SipError, SipLimits};
use support::*;

fn open(entries: &[Raw]) -> Result<Sip, SipError> {
    open_with(entries, &SipLimits::default())
}

fn open_with(entries: &[Raw], limits: &SipLimits) -> Result<Sip, SipError> {
    let (_dir, path) = write(&build(entries));
    Sip::open(&path, limits)
}

fn unsafe_name(name: &str) -> NameProblem {
    match open(&sip_with(vec![stored(name, b"x")])) {
        Err(SipError::UnsafeName { name: n, problem }) => {
            assert_eq!(n, name);
            problem
        }
        Err(other) => panic!("`{name}`: expected UnsafeName, got {other}"),
        Ok(_) => panic!("`{name}` was accepted"),
    }
}

#[test]
fn the_baseline_sip_opens() {
    let sip = open(&sip_with(vec![stored("content/a.txt", b"hello")])).unwrap();
    let names: Vec<&str> = sip.entries().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["content/a.txt"]);
}

#[test]
fn traversal_is_refused_and_the_message_says_why() {
    assert_eq!(unsafe_name("../../etc/passwd"), NameProblem::ParentDir);
    assert_eq!(unsafe_name("content/../../x"), NameProblem::ParentDir);
    let err = open(&sip_with(vec![stored("../../etc/passwd", b"x")])).err().unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("`../../etc/passwd`") && msg.contains("stay inside the SIP"),
        "{msg}"
    );
}

#[test]
fn absolute_backslash_drive_and_control_names_are_refused() {
    assert_eq!(unsafe_name("/etc/passwd"), NameProblem::Absolute);
    assert_eq!(unsafe_name("content\\..\\x"), NameProblem::Backslash);
    assert_eq!(unsafe_name("C:/Windows/x"), NameProblem::DriveLetter);
    assert_eq!(unsafe_name("c:x"), NameProblem::DriveLetter);
    assert_eq!(unsafe_name("content/a\0.txt"), NameProblem::ControlChar);
    assert_eq!(unsafe_name("content/a\n.txt"), NameProblem::ControlChar);
    assert_eq!(unsafe_name("content//a.txt"), NameProblem::EmptyComponent);
    assert_eq!(unsafe_name("content/./a.txt"), NameProblem::DotComponent);
}

#[test]
fn over_long_and_over_deep_names_are_refused() {
    let limits = SipLimits {
        max_name_len: 20,
        max_depth: 3,
        ..SipLimits::default()
    };
    let long = sip_with(vec![stored("content/aaaaaaaaaaaaaaaaaaaa", b"x")]);
    assert!(matches!(
        open_with(&long, &limits),
        Err(SipError::UnsafeName {
            problem: NameProblem::TooLong { len: 28, max: 20 },
            ..
        })
    ));
    let deep = sip_with(vec![stored("content/a/b/c", b"x")]);
    assert!(matches!(
        open_with(&deep, &limits),
        Err(SipError::UnsafeName {
            problem: NameProblem::TooDeep { depth: 4, max: 3 },
            ..
        })
    ));
}

#[test]
fn invalid_utf8_under_the_utf8_flag_is_refused() {
    let mut bad = stored("content/x", b"x");
    bad.name = b"content/\xff\xfe.txt".to_vec();
    assert!(matches!(
        open(&sip_with(vec![bad])),
        Err(SipError::UnsafeName {
            problem: NameProblem::InvalidUtf8,
            ..
        })
    ));
}

#[test]
fn symlinks_and_special_files_are_refused() {
    let mut link = stored("content/link", b"/etc/passwd");
    link.external = 0o120_777 << 16;
    assert!(matches!(open(&sip_with(vec![link])), Err(SipError::Symlink { name }) if name == "content/link"));
    let mut fifo = stored("content/fifo", b"");
    fifo.external = 0o010_644 << 16;
    assert!(matches!(open(&sip_with(vec![fifo])), Err(SipError::SpecialFile { .. })));
}

#[test]
fn duplicates_are_refused() {
    let twice = sip_with(vec![stored("content/a.txt", b"1"), stored("content/a.txt", b"2")]);
    assert!(matches!(open(&twice), Err(SipError::Duplicate { name }) if name == "content/a.txt"));
}

#[test]
fn case_unicode_and_file_directory_collisions_are_refused() {
    let case = sip_with(vec![
        stored("content/Report.pdf", b"1"),
        stored("content/report.PDF", b"2"),
    ]);
    assert!(matches!(open(&case), Err(SipError::Collision { first, second })
        if first == "content/Report.pdf" && second == "content/report.PDF"));
    // "é" precomposed (NFC) and as e + combining acute (NFD, as macOS writes it).
    let nfc_nfd = sip_with(vec![
        stored("content/caf\u{e9}", b"1"),
        stored("content/cafe\u{301}", b"2"),
    ]);
    assert!(matches!(open(&nfc_nfd), Err(SipError::Collision { .. })));
    let file_and_dir = sip_with(vec![stored("content/a", b"1"), stored("content/A/b", b"2")]);
    assert!(matches!(open(&file_and_dir), Err(SipError::Collision { .. })));
    // Directories differing by case merge harmlessly.
    let dirs = sip_with(vec![dir("Content/"), stored("content/b", b"2")]);
    assert!(open(&dirs).is_ok());
}

#[test]
fn encrypted_entries_are_refused() {
    let mut enc = stored("content/secret", b"xxxx");
    enc.flags |= 1;
    assert!(matches!(open(&sip_with(vec![enc])), Err(SipError::Encrypted { name }) if name == "content/secret"));
}

#[test]
fn unsupported_methods_are_refused() {
    let mut bz = stored("content/a.bz2", b"xxxx");
    bz.method = 12;
    let err = open(&sip_with(vec![bz])).err().unwrap();
    assert!(
        matches!(&err, SipError::UnsupportedMethod { name, .. } if name == "content/a.bz2"),
        "{err}"
    );
}

#[test]
fn too_many_entries_are_refused_before_parsing() {
    let limits = SipLimits {
        max_entries: 4,
        ..SipLimits::default()
    };
    let files = (0..3).map(|i| stored(&format!("content/{i}"), b"x")).collect();
    assert!(matches!(
        open_with(&sip_with(files), &limits),
        Err(SipError::TooManyEntries { count: 5, max: 4 })
    ));
    let files = (0..2).map(|i| stored(&format!("content/{i}"), b"x")).collect();
    assert!(open_with(&sip_with(files), &limits).is_ok());
}

#[test]
fn an_honest_ratio_bomb_is_refused_at_open() {
    // 64 MiB of zeros in ~64 KiB: over 200:1.
    let bomb = deflated_zeros("content/bomb.bin", 64 << 20);
    assert!(bomb.data.len() < 1 << 20);
    let err = open(&sip_with(vec![bomb])).err().unwrap();
    assert!(
        matches!(&err, SipError::EntryRatio { name, .. } if name == "content/bomb.bin"),
        "{err}"
    );
}

#[test]
fn many_small_bombs_trip_the_package_ratio() {
    // Each 1 MiB entry is under the per-entry exemption; together they expand over 200:1.
    let files = (0..40)
        .map(|i| deflated_zeros(&format!("content/{i}"), 1 << 20))
        .collect();
    assert!(matches!(open(&sip_with(files)), Err(SipError::PackageRatio { .. })));
}

#[test]
fn entry_and_total_size_limits_apply() {
    let limits = SipLimits {
        max_entry_bytes: 100,
        max_total_bytes: 150,
        ..SipLimits::default()
    };
    let big = sip_with(vec![stored("content/big", &[7u8; 101])]);
    assert!(matches!(
        open_with(&big, &limits),
        Err(SipError::EntryTooLarge {
            size: 101,
            max: 100,
            ..
        })
    ));
    let limits = SipLimits {
        max_total_bytes: 150,
        ..SipLimits::default()
    };
    let two = sip_with(vec![stored("content/a", &[1u8; 100]), stored("content/b", &[2u8; 100])]);
    assert!(matches!(
        open_with(&two, &limits),
        Err(SipError::TotalTooLarge { max: 150, .. })
    ));
}

#[test]
fn zip_size_limit_applies() {
    let limits = SipLimits {
        max_zip_bytes: 100,
        ..SipLimits::default()
    };
    let sip = sip_with(vec![stored("content/a", &[1u8; 100])]);
    assert!(matches!(
        open_with(&sip, &limits),
        Err(SipError::ZipTooLarge { max: 100, .. })
    ));
}

#[test]
fn a_stored_entry_whose_sizes_disagree_is_refused() {
    let mut liar = stored("content/a", b"hello");
    liar.size = 5000;
    assert!(matches!(open(&sip_with(vec![liar])), Err(SipError::Malformed { name, .. }) if name == "content/a"));
}

#[test]
fn a_local_header_naming_another_file_is_refused() {
    let mut two_faced = stored("content/a.txt", b"x");
    two_faced.local_name = Some(b"content/b.exe".to_vec());
    let err = open(&sip_with(vec![two_faced])).err().unwrap();
    assert!(
        matches!(&err, SipError::Malformed { name, .. } if name == "content/a.txt"),
        "{err}"
    );
}

#[test]
fn overlapping_entries_are_refused() {
    let a = stored("content/a", &[1u8; 64]);
    let mut b = stored("content/b", &[2u8; 64]);
    // b's compressed size claims a's header and data as well.
    b.csize += 200;
    b.size = b.csize;
    let entries = sip_with(vec![b, a]);
    let err = open(&entries).err().unwrap();
    assert!(
        matches!(&err, SipError::Malformed { name, reason } if name == "content/b" && reason.contains("overlaps")),
        "{err}"
    );
}

#[test]
fn missing_and_ambiguous_manifests_are_reported() {
    let none = vec![dir("content/"), stored("content/a", b"x")];
    assert!(matches!(open(&none), Err(SipError::ManifestMissing { .. })));
    let two = vec![stored("a/manifest.xml", MANIFEST), stored("b/manifest.xml", MANIFEST)];
    let err = open(&two).err().unwrap();
    assert!(
        matches!(&err, SipError::ManifestAmbiguous { candidates } if candidates.len() == 2),
        "{err}"
    );
    assert!(err.to_string().contains("a/manifest.xml"));
}

#[test]
fn not_a_zip_and_truncated_zips_are_refused() {
    for bytes in [&b""[..], b"not a zip at all, just some text\n", &[0u8; 4096]] {
        let (_d, path) = write(bytes);
        assert!(matches!(
            Sip::open(&path, &SipLimits::default()),
            Err(SipError::NotZip { .. })
        ));
    }
    let full = build(&sip_with(vec![stored("content/a.txt", &[9u8; 500])]));
    for cut in [full.len() - 1, full.len() - 30, full.len() / 2, 10] {
        let (_d, path) = write(&full[..cut]);
        let res = Sip::open(&path, &SipLimits::default());
        assert!(
            matches!(res, Err(SipError::NotZip { .. })),
            "cut at {cut}: {:?}",
            res.err()
        );
    }
}

#[test]
fn a_forged_entry_count_is_refused() {
    let mut bytes = build(&sip_with(vec![stored("content/a", b"x")]));
    let eocd = bytes.len() - 22;
    // Claim 60000 entries in a directory that holds three.
    bytes[eocd + 8..eocd + 12].copy_from_slice(&[0x60, 0xEA, 0x60, 0xEA]);
    let (_d, path) = write(&bytes);
    assert!(matches!(
        Sip::open(&path, &SipLimits::default()),
        Err(SipError::NotZip { .. })
    ));
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let err = Sip::open(std::path::Path::new("/nonexistent/sip.zip"), &SipLimits::default())
        .err()
        .unwrap();
    assert!(matches!(&err, SipError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/sip.zip"));
}
