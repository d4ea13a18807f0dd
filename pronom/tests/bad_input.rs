//! Bad input gives a clear answer and no panic: empty files, truncated containers, zip bombs,
//! containers past the limits, malformed signature files.

mod common;

use archipel_pronom::{Basis, Error, Identifier, Limits};
use common::{mini, zip, ZipEntry, CONTENT_TYPES};

#[test]
fn empty_files_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_temp(&dir, "empty.pdf", b"");
    let err = mini().identify_path(&path).unwrap_err();
    assert!(matches!(err, Error::EmptyFile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("empty.pdf") && text.contains("0 bytes"), "{text}");
    assert!(matches!(
        mini().identify_bytes(b"", Some("x.txt")),
        Err(Error::EmptyFile { .. })
    ));
}

#[test]
fn directories_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(mini().identify_path(dir.path()), Err(Error::NotAFile { .. })));
    let err = mini().identify_path(&dir.path().join("missing")).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn a_docx_is_recognised_by_its_entries() {
    let docx = zip(&[ZipEntry::stored("[Content_Types].xml", CONTENT_TYPES)]);
    let found = mini().identify_bytes(&docx, Some("report.docx")).unwrap();
    assert_eq!(found.puid.as_deref(), Some("fmt/412"));
    assert_eq!(found.basis, Basis::ContainerMatch);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let other = zip(&[ZipEntry::stored("hello.txt", b"hello")]);
    let found = mini().identify_bytes(&other, Some("a.zip")).unwrap();
    assert_eq!(
        (found.puid.as_deref(), found.basis),
        (Some("x-fmt/263"), Basis::ByteMatch)
    );
}

#[test]
fn truncated_containers_fall_back_to_byte_signatures() {
    let docx = zip(&[
        ZipEntry::stored("[Content_Types].xml", CONTENT_TYPES),
        ZipEntry::stored("word/document.xml", &[b'x'; 3000]),
    ]);
    for cut in (4..docx.len()).step_by(7) {
        let found = mini().identify_bytes(&docx[..cut], Some("cut.docx")).unwrap();
        // The ZIP signature still matches; the container cannot be read without its directory.
        assert_eq!(found.puid.as_deref(), Some("x-fmt/263"), "cut at {cut}");
        assert!(
            found.warnings.iter().any(|w| w.contains("ZIP container unreadable")),
            "cut at {cut}: {found:?}"
        );
    }
    // An OLE2 header and nothing else.
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(700, 0);
    let found = mini().identify_bytes(&ole, Some("x.doc")).unwrap();
    assert_eq!(found.puid.as_deref(), Some("fmt/111"));
    assert!(
        found.warnings.iter().any(|w| w.contains("OLE2 container unreadable")),
        "{found:?}"
    );
}

#[test]
fn corrupt_container_entries_are_reported() {
    // The directory is intact but the entry's deflate data is garbage.
    let garbage = [0xFFu8; 64];
    let docx = zip(&[ZipEntry {
        name: "[Content_Types].xml",
        method: 8,
        data: &garbage,
        crc: 0,
        size: 5000,
    }]);
    let found = mini().identify_bytes(&docx, Some("bad.docx")).unwrap();
    assert_eq!(found.puid.as_deref(), Some("x-fmt/263"));
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.contains("[Content_Types].xml unreadable")),
        "{found:?}"
    );
}

#[test]
fn zip_bombs_are_read_only_up_to_the_limit() {
    // 4 GiB of zeros would not fit the 32-bit size field: 1 GiB does, from about 1 MB.
    let bomb = common::deflated_zeros(1024);
    let entry = ZipEntry {
        name: "[Content_Types].xml",
        method: 8,
        data: &bomb,
        crc: 0,
        size: 1 << 30,
    };
    let archive = zip(&[entry]);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_temp(&dir, "bomb.docx", &archive);
    let started = std::time::Instant::now();
    let found = mini().identify_path(&path).unwrap();
    let limits = Limits::default();
    assert_eq!(found.puid.as_deref(), Some("x-fmt/263"), "{found:?}");
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.contains("possible zip bomb") && w.contains("only the first")),
        "{:?}",
        found.warnings
    );
    assert!(
        found.bytes_read <= archive.len() as u64 + limits.container_read,
        "{}",
        found.bytes_read
    );
    eprintln!("zip bomb handled in {:?}: {:?}", started.elapsed(), found.warnings);
}

#[test]
fn containers_past_the_entry_limit_are_not_examined() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i}.txt")).collect();
    let mut entries: Vec<ZipEntry<'_>> = names.iter().map(|n| ZipEntry::stored(n, b"x")).collect();
    entries.push(ZipEntry::stored("[Content_Types].xml", CONTENT_TYPES));
    let archive = zip(&entries);
    let id = Identifier::from_xml(common::MINI_DROID.as_bytes(), common::MINI_CONTAINER.as_bytes())
        .unwrap()
        .with_limits(Limits {
            container_entries: 10,
            ..Limits::default()
        });
    let found = id.identify_bytes(&archive, Some("many.docx")).unwrap();
    assert_eq!(found.puid.as_deref(), Some("x-fmt/263"));
    assert!(
        found.warnings.iter().any(|w| w.contains("21 entries")),
        "{:?}",
        found.warnings
    );
    assert_eq!(
        mini()
            .identify_bytes(&archive, Some("many.docx"))
            .unwrap()
            .puid
            .as_deref(),
        Some("fmt/412")
    );
}

#[test]
fn malformed_signature_files_say_what_is_wrong() {
    let droid = common::MINI_DROID;
    let container = common::MINI_CONTAINER;
    let bad_gap = container.replace("main+xml'</Sequence>", "main+xml' {4</Sequence>");
    let cases: Vec<(String, &str, &str)> = vec![
        (droid[..droid.len() / 2].to_owned(), container, "not well-formed"),
        (
            droid.replace("</FFSignatureFile>", ""),
            container,
            "<FFSignatureFile> is never closed",
        ),
        (
            droid.replace("</InternalSignature>", "</Internal>"),
            container,
            "not well-formed",
        ),
        (
            droid.replace("504B0304", "504G0304"),
            container,
            "signature 1: byte sequence `504G0304`",
        ),
        (
            droid.replace("SubSeqMaxOffset=\"1024\"", "SubSeqMaxOffset=\"-3\""),
            container,
            "SubSeqMaxOffset=\"-3\"",
        ),
        (droid.replace("PUID=\"fmt/14\"", "PUID=\"\""), container, "empty PUID"),
        (
            droid.replace("FFSignatureFile", "Something"),
            container,
            "expected <FFSignatureFile>",
        ),
        ("not xml at all".into(), container, "no element"),
        (droid.into(), "<ContainerSignatureMapping/>", "no <ContainerSignatures>"),
        (droid.into(), &bad_gap, "expected `}`"),
        (
            droid.replace("<InternalSignatureCollection>", "<InternalSignatureCollection>&xxe;"),
            container,
            "unknown entity &xxe;",
        ),
    ];
    for (d, c, expected) in cases {
        let err = match Identifier::from_xml(d.as_bytes(), c.as_bytes()) {
            Ok(_) => panic!("accepted a malformed file (expected: {expected})"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(matches!(err, Error::SignatureInvalid { .. }), "{text}");
        assert!(
            text.contains(expected) && text.contains("line "),
            "expected {expected:?} in: {text}"
        );
    }
    let missing = std::path::Path::new("/nonexistent/DROID.xml");
    let err = Identifier::load(missing, missing)
        .err()
        .expect("missing files are an error");
    assert!(matches!(err, Error::SignatureIo { .. }) && err.to_string().contains("/nonexistent/DROID.xml"));
}

#[test]
fn a_truncated_real_signature_file_is_an_error() {
    let Some(_) = common::identifier() else { return };
    let dir = common::shared_dir();
    let droid = std::fs::read(dir.join("DROID_SignatureFile_V118.xml")).unwrap();
    let container = std::fs::read(dir.join("container-signature-20240501.xml")).unwrap();
    for cut in [100, droid.len() / 3, droid.len() - 20] {
        let err = Identifier::from_xml(&droid[..cut], &container)
            .err()
            .expect("truncated file rejected");
        assert!(err.to_string().contains("line "), "{err}");
    }
}
