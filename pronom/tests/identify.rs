//! The library API as the archive layer uses it: bases, warnings, declared PUIDs, large files,
//! determinism.

mod common;

use std::io::{Seek, SeekFrom, Write};

use archipel_pronom::{Agreement, Basis, Limits};
use common::mini;

#[test]
fn bases_as_siegfried_reports_them() {
    let id = mini();
    let pdf = b"%PDF-1.4\n...\n%%EOF\n";
    let found = id.identify_bytes(pdf, Some("a.pdf")).unwrap();
    assert_eq!(
        (
            found.puid.as_deref(),
            found.basis,
            found.version.as_deref(),
            found.mime.as_deref()
        ),
        (Some("fmt/14"), Basis::ByteMatch, Some("1.x"), Some("application/pdf"))
    );
    assert!(found.detail.contains("byte signature 3 at 0..6"), "{}", found.detail);
    assert!(found.warnings.is_empty());

    let found = id.identify_bytes(pdf, Some("a.txt")).unwrap();
    assert_eq!(found.basis, Basis::ExtensionMismatch);
    assert!(found.warnings[0].contains("extension mismatch"), "{:?}", found.warnings);

    // No EOF marker: the PDF signature does not match; the extension alone names it.
    let found = id.identify_bytes(b"%PDF-1.4\x00\x01", Some("a.pdf")).unwrap();
    assert_eq!(
        (found.puid.as_deref(), found.basis),
        (Some("fmt/14"), Basis::ExtensionOnly)
    );
    assert_eq!(found.warnings, vec!["match on extension only"]);

    let found = id.identify_bytes(b"plain words\n", Some("notes")).unwrap();
    assert_eq!(
        (found.puid.as_deref(), found.basis),
        (Some("x-fmt/111"), Basis::TextMatch)
    );

    let found = id.identify_bytes(b"\x00\x01\x02\x03", Some("blob.bin")).unwrap();
    assert_eq!((found.puid, found.basis), (None, Basis::Unknown));
}

#[test]
fn declared_puids_compare() {
    let id = mini();
    let pdf = id.identify_bytes(b"%PDF-1.4\n%%EOF", Some("a.pdf")).unwrap();
    assert_eq!(pdf.compare_declared("fmt/14"), Agreement::Same);
    assert_eq!(pdf.compare_declared(" fmt/14 "), Agreement::Same);
    assert_eq!(pdf.compare_declared("fmt/18"), Agreement::Different);
    let text = id.identify_bytes(b"hello", Some("a.txt")).unwrap();
    assert_eq!(text.compare_declared("fmt/14"), Agreement::Unverified);
    assert_eq!(id.format("fmt/14").map(|f| f.name.as_str()), Some("Acrobat PDF"));
    assert_eq!(
        id.format("fmt/14").map(|f| f.extensions.clone()),
        Some(vec!["pdf".to_owned()])
    );
}

#[test]
fn a_1_gib_file_is_identified_without_reading_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pdf");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"%PDF-1.7\n").unwrap();
    f.seek(SeekFrom::Start((1 << 30) - 6)).unwrap(); // sparse: no disk used for the hole
    f.write_all(b"%%EOF\n").unwrap();
    drop(f);
    let found = mini().identify_path(&path).unwrap();
    assert_eq!(found.puid.as_deref(), Some("fmt/14"));
    let limits = Limits::default();
    assert_eq!(found.bytes_read, limits.bof_window + limits.eof_window);
    assert!(found.detail.contains("1073741818..1073741823"), "{}", found.detail);
}

#[test]
fn a_large_zip_reads_its_directory_not_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.docx");
    let mut archive = common::zip(&[common::ZipEntry::stored("[Content_Types].xml", common::CONTENT_TYPES)]);
    // Push the archive's directory 64 MiB away from its entries: the bytes between are never read.
    let split = archive.len() - 22 - 46 - "[Content_Types].xml".len();
    let tail = archive.split_off(split);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&archive).unwrap();
    let gap = 64u64 << 20;
    f.seek(SeekFrom::Current(gap as i64)).unwrap();
    let mut tail = tail;
    let cd_offset_at = tail.len() - 6;
    let cd_offset = u32::from_le_bytes(tail[cd_offset_at..cd_offset_at + 4].try_into().unwrap()) + gap as u32;
    tail[cd_offset_at..cd_offset_at + 4].copy_from_slice(&cd_offset.to_le_bytes());
    f.write_all(&tail).unwrap();
    drop(f);
    let found = mini().identify_path(&path).unwrap();
    assert_eq!(
        (found.puid.as_deref(), found.basis),
        (Some("fmt/412"), Basis::ContainerMatch),
        "{found:?}"
    );
    let limits = Limits::default();
    assert!(
        found.bytes_read < limits.bof_window + limits.eof_window + 64 * 1024,
        "{}",
        found.bytes_read
    );
}

#[test]
fn results_are_deterministic_and_parallel_runs_agree() {
    let Some(id) = common::identifier() else { return };
    let suite = common::shared_dir().join("skeleton-suite");
    if !suite.is_dir() {
        eprintln!("SKIP: no skeleton suite");
        return;
    }
    let parallel = id.identify_all_with(std::slice::from_ref(&suite), 2).unwrap();
    assert!(parallel.len() > 2000);
    for r in parallel.iter().step_by(7) {
        let again = id.identify_path(&r.path).unwrap();
        assert_eq!(r.result.as_ref().unwrap(), &again, "{}", r.path.display());
    }
    let paths: Vec<_> = parallel.iter().map(|r| r.path.clone()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "walk order is sorted");
}

#[test]
fn signature_info_describes_what_is_loaded() {
    let Some(id) = common::identifier() else { return };
    let info = id.info();
    assert_eq!(
        (info.droid_version.as_str(), info.container_version.as_str()),
        ("118", "37")
    );
    assert!(
        info.formats > 2000 && info.byte_signatures > 2000 && info.container_signatures > 250,
        "{info:?}"
    );
}

const RANKING_DROID: &str = r#"<FFSignatureFile Version="1"><InternalSignatureCollection>
<InternalSignature ID="1"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>414243</Sequence></SubSequence></ByteSequence></InternalSignature>
<InternalSignature ID="2"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>41424344</Sequence></SubSequence></ByteSequence></InternalSignature>
<InternalSignature ID="3"><ByteSequence><SubSequence Position="1" SubSeqMinOffset="0"><Sequence>58595A</Sequence></SubSequence></ByteSequence></InternalSignature>
</InternalSignatureCollection><FileFormatCollection>
<FileFormat ID="1" Name="Generic" PUID="fmt/1"><InternalSignatureID>1</InternalSignatureID><Extension>gen</Extension></FileFormat>
<FileFormat ID="2" Name="Specific" PUID="fmt/2"><InternalSignatureID>2</InternalSignatureID><Extension>spe</Extension><HasPriorityOverFileFormatID>1</HasPriorityOverFileFormatID></FileFormat>
<FileFormat ID="3" Name="Twin A" PUID="fmt/3"><InternalSignatureID>3</InternalSignatureID><Extension>twa</Extension></FileFormat>
<FileFormat ID="4" Name="Twin B" PUID="fmt/4"><InternalSignatureID>3</InternalSignatureID><Extension>twb</Extension></FileFormat>
</FileFormatCollection></FFSignatureFile>"#;

#[test]
fn priorities_then_extension_then_specificity_decide() {
    let id =
        archipel_pronom::Identifier::from_xml(RANKING_DROID.as_bytes(), common::MINI_CONTAINER.as_bytes()).unwrap();
    // Both match; fmt/2 has priority over fmt/1, whatever the extension says.
    let found = id.identify_bytes(b"ABCD....", Some("x.gen")).unwrap();
    assert_eq!(
        (found.puid.as_deref(), found.basis),
        (Some("fmt/2"), Basis::ExtensionMismatch)
    );
    assert!(found.candidates.is_empty(), "{:?}", found.candidates);
    let found = id.identify_bytes(b"ABC.....", Some("x.gen")).unwrap();
    assert_eq!((found.puid.as_deref(), found.basis), (Some("fmt/1"), Basis::ByteMatch));
    // Two formats share a signature (anywhere in the file): the extension picks.
    let data = b"....XYZ....";
    assert_eq!(
        id.identify_bytes(data, Some("a.twb")).unwrap().puid.as_deref(),
        Some("fmt/4")
    );
    let found = id.identify_bytes(data, Some("a.twa")).unwrap();
    assert_eq!(
        (found.puid.as_deref(), found.candidates.clone()),
        (Some("fmt/3"), vec!["fmt/4".to_owned()])
    );
    assert!(found
        .warnings
        .iter()
        .any(|w| w.contains("also matched, ranked lower: fmt/4")));
    // No extension to help: signature-file order decides, deterministically.
    assert_eq!(id.identify_bytes(data, None).unwrap().puid.as_deref(), Some("fmt/3"));
    assert_eq!(found.compare_declared("fmt/4"), Agreement::Candidate);
}

#[test]
fn results_serialise_for_scripts() {
    let found = mini().identify_bytes(b"%PDF-1.4\n%%EOF", Some("a.pdf")).unwrap();
    let v = serde_json::to_value(&found).unwrap();
    assert_eq!(v["puid"], "fmt/14");
    assert_eq!(v["basis"], "byte_match");
    assert_eq!(v["warnings"], serde_json::json!([]));
    assert_eq!(found.basis.to_string(), "byte match");
}
