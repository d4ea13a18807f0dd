//! The archive layer end to end: SEDA transfers into a real cluster through `archipel archive`,
//! replies checked against the official schemas, KO cases named precisely.

mod archive_common;
mod common;

use std::path::Path;

use archive_common::{manifest, region, seda_valid, shared, zip, File, Front, Tenant, RULES_CSV};
use common::serial;

fn assert_atr(atr: &Path, expect_code: &str) {
    let xml = std::fs::read_to_string(atr).unwrap_or_else(|e| panic!("no ATR at {}: {e}", atr.display()));
    assert!(xml.contains("ArchiveTransferReply"), "{xml}");
    assert!(
        xml.contains(&format!("<ReplyCode>{expect_code}</ReplyCode>")),
        "expected {expect_code}: {xml}"
    );
    if let Some(result) = seda_valid(atr) {
        result.unwrap_or_else(|e| panic!("ATR {} is not valid SEDA: {e}", atr.display()));
    }
}

fn reasons(v: &serde_json::Value) -> String {
    v["reasons"].to_string()
}

#[test]
fn corpus_sips_are_ingested_and_bad_ones_rejected_precisely() {
    let _g = serial();
    let corpus = shared().join("corpus/seda");
    let front = Front::start();
    // The operator may not transfer: it administers, it never handles content.
    let Tenant { archivist, agency, .. } = region(&front, RULES_CSV, &["IC-000001", "ArchivalAgreement0", "AGR-TEST"]);

    if corpus.is_dir() {
        for sip in ["SIP_OK.zip", "TestSip.zip"] {
            let (v, atr) = front.transfer(&agency, "region", &corpus.join(sip));
            assert!(
                v["status"] == "OK" || v["status"] == "WARNING",
                "{sip} should be accepted: {v:#}"
            );
            assert!(
                v["units"].as_u64().unwrap() > 0 && v["objects"].as_u64().unwrap() > 0,
                "{v:#}"
            );
            assert_atr(&atr, v["reply_code"].as_str().unwrap());
        }
        // A manifest without its files: every missing file is named.
        let flat = front.dir.path().join("flat.zip");
        let manifest_xml = std::fs::read(corpus.join("SampleWithLinkFlatManifest.xml")).unwrap();
        zip(&flat, &[("manifest.xml", &manifest_xml)]);
        let (v, atr) = front.transfer(&agency, "region", &flat);
        assert_eq!(v["status"], "KO", "{v:#}");
        assert!(reasons(&v).contains("content/ID13.jpg"), "{v:#}");
        assert_atr(&atr, "KO");
    } else {
        eprintln!("SKIP: ../shared/corpus/seda is absent; corpus SIPs not ingested");
    }

    let a = b"premier";
    let b = "Délibération n°12".as_bytes();
    let files = [
        File {
            id: "O1",
            name: "a.txt",
            data: a,
        },
        File {
            id: "O2",
            name: "b.txt",
            data: b,
        },
    ];
    let good = manifest("AGR-TEST", &files, "");
    let dir = front.dir.path();

    // The generated SIP passes, with its reply listing its objects.
    let ok = dir.join("ok.zip");
    zip(
        &ok,
        &[
            ("manifest.xml", good.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
    );
    let (v, atr) = front.transfer(&agency, "region", &ok);
    assert_eq!(v["status"], "OK", "{v:#}");
    let ack = dir.join("ack.xml");
    let id = v["transfer_id"].as_str().unwrap();
    let out = front.run(
        &agency,
        &[
            "transfer",
            "--tenant",
            "region",
            ok.to_str().unwrap(),
            "--ack",
            ack.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ack_xml = std::fs::read_to_string(&ack).unwrap();
    assert!(
        ack_xml.contains("<MessageReceivedIdentifier>MSG-AGR-TEST</MessageReceivedIdentifier>"),
        "{ack_xml}"
    );
    if let Some(r) = seda_valid(&ack) {
        r.unwrap_or_else(|e| panic!("the acknowledgement of {id} is not valid SEDA: {e}"));
    }
    assert_eq!(v["objects"], 2);
    assert_eq!(v["units"], 3);
    assert_atr(&atr, "OK");

    let ko = |name: &str, entries: &[(&str, &[u8])], expect: &[&str]| {
        let path = dir.join(name);
        // Each case is a message of its own: the accepted manifest sent again would be a
        // resend, answered with the accepted transfer's reply (see archive_transfers.rs).
        let renamed: Vec<(&str, Vec<u8>)> = entries
            .iter()
            .map(|(n, d)| {
                let d = if *n == "manifest.xml" {
                    String::from_utf8_lossy(d)
                        .replace("<MessageIdentifier>MSG-", &format!("<MessageIdentifier>MSG-{name}-"))
                        .into_bytes()
                } else {
                    d.to_vec()
                };
                (*n, d)
            })
            .collect();
        let entries: Vec<(&str, &[u8])> = renamed.iter().map(|(n, d)| (*n, d.as_slice())).collect();
        zip(&path, &entries);
        let (v, atr) = front.transfer(&agency, "region", &path);
        assert_eq!(v["status"], "KO", "{name} should be rejected: {v:#}");
        for e in expect {
            assert!(reasons(&v).contains(e), "{name}: reasons should mention `{e}`: {v:#}");
        }
        assert_atr(&atr, "KO");
    };
    ko(
        "digest.zip",
        &[
            ("manifest.xml", good.as_bytes()),
            ("content/a.txt", b"altered"),
            ("content/b.txt", b),
        ],
        &["O1", "digest"],
    );
    let wrong_size = good.replace("<Size>7</Size>", "<Size>8</Size>");
    ko(
        "size.zip",
        &[
            ("manifest.xml", wrong_size.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
        &["O1", "8"],
    );
    ko(
        "missing.zip",
        &[("manifest.xml", good.as_bytes()), ("content/a.txt", a)],
        &["b.txt"],
    );
    let dangling = good.replace(
        "<DataObjectGroupReferenceId>GO2</DataObjectGroupReferenceId>",
        "<DataObjectGroupReferenceId>GHOST</DataObjectGroupReferenceId>",
    );
    ko(
        "dangling.zip",
        &[
            ("manifest.xml", dangling.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
        &["GHOST"],
    );
    let cycle = manifest(
        "AGR-TEST",
        &files,
        "<ArchiveUnit id=\"L1\"><ArchiveUnitRefId>ROOT</ArchiveUnitRefId></ArchiveUnit>",
    );
    ko(
        "cycle.zip",
        &[
            ("manifest.xml", cycle.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
        &["ROOT"],
    );
    ko(
        "traversal.zip",
        &[
            ("manifest.xml", good.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
            ("../evil.txt", a),
        ],
        &["../evil.txt"],
    );
    ko(
        "backslash.zip",
        &[
            ("manifest.xml", good.as_bytes()),
            ("content\\a.txt", a),
            ("content/b.txt", b),
        ],
        &["content\\\\a.txt"],
    );
    let v1 = good.replace("seda:v2.2", "seda:v1.0");
    ko(
        "version.zip",
        &[
            ("manifest.xml", v1.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
        &["1.0"],
    );
    let broken = &good[..good.len() / 2];
    ko(
        "malformed.zip",
        &[
            ("manifest.xml", broken.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
        &["manifest"],
    );
    let unknown = manifest("AGR-NOPE", &files, "");
    ko(
        "agreement.zip",
        &[
            ("manifest.xml", unknown.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
        &["AGR-NOPE"],
    );
    let no_rule = good.replace("<Rule>APP-00001</Rule>", "<Rule>APP-99999</Rule>");
    ko(
        "rule.zip",
        &[
            ("manifest.xml", no_rule.as_bytes()),
            ("content/a.txt", a),
            ("content/b.txt", b),
        ],
        &["APP-99999"],
    );
    // Formats are identified at ingest: the agreement decides what a mismatch means.
    if shared().join("pronom").is_dir() {
        front.json(
            &archivist,
            &[
                "agreement",
                "add",
                "--tenant",
                "region",
                "--id",
                "AGR-STRICT",
                "--transferring-agency",
                "Identifier5",
                "--format-mismatch",
                "reject",
                "--json",
            ],
        );
        let pdf = shared().join("pronom/skeleton-suite/fmt/fmt-354-signature-id-521.pdf");
        let pdf_bytes = std::fs::read(&pdf).unwrap();
        let files = [File {
            id: "O1",
            name: "a.pdf",
            data: &pdf_bytes,
        }];
        let declared = |puid: &str, agreement: &str| {
            manifest(agreement, &files, "").replace(
                "<FileInfo>",
                &format!("<FormatIdentification><FormatId>{puid}</FormatId></FormatIdentification><FileInfo>"),
            )
        };
        let lie = declared("fmt/101", "AGR-STRICT");
        ko(
            "format.zip",
            &[("manifest.xml", lie.as_bytes()), ("content/a.pdf", &pdf_bytes)],
            &["O1", "fmt/101", "fmt/354"],
        );
        let lenient = dir.join("format-warn.zip");
        zip(
            &lenient,
            &[
                (
                    "manifest.xml",
                    declared("fmt/101", "AGR-TEST")
                        .replace("MSG-AGR-TEST", "MSG-FORMAT-WARN")
                        .as_bytes(),
                ),
                ("content/a.pdf", &pdf_bytes),
            ],
        );
        let (v, atr) = front.transfer(&agency, "region", &lenient);
        assert_eq!(v["status"], "OK", "{v:#}");
        assert_eq!(v["reply_code"], "WARNING", "{v:#}");
        assert!(v["warnings"].to_string().contains("fmt/354"), "{v:#}");
        let xml = std::fs::read_to_string(&atr).unwrap();
        assert!(xml.contains("fmt/354"), "the ATR carries the identified format: {xml}");
        let hits = front.json(&archivist, &["search", "--tenant", "region", "a.pdf", "--json"]);
        let unit = front.json(
            &archivist,
            &[
                "unit",
                "--tenant",
                "region",
                hits["hits"][0]["unit_id"].as_str().unwrap(),
            ],
        );
        assert_eq!(unit["objects"][0]["puid"], "fmt/354", "{unit:#}");
        assert_eq!(unit["objects"][0]["declared_puid"], "fmt/101", "{unit:#}");
    } else {
        eprintln!("SKIP: ../shared/pronom is absent; format identification at ingest not checked");
    }

    // An agency's token transfers only as that agency.
    let other_agency = front.token("region", "transferring-agency", Some("SomeoneElse"));
    let (v, _) = front.transfer(&other_agency, "region", &ok);
    assert_eq!(v["status"], "KO", "{v:#}");
    assert!(reasons(&v).contains("Identifier5"), "{v:#}");

    // Every step is in the logbook, and the chain holds.
    let verify = front.json(&archivist, &["logbook", "verify", "--tenant", "region", "--json"]);
    assert_eq!(verify["ok"], true, "{verify:#}");
    assert!(verify["entries"].as_u64().unwrap() > 10, "{verify:#}");
}

/// Small files go into tar packs (one object per pack), large ones alone; each reads back
/// byte for byte through the API, and a pack is a tar that standard tools read.
#[test]
fn small_files_are_packed_in_tar_and_read_back() {
    let _g = serial();
    let front = Front::start();
    let Tenant { archivist, agency, .. } = region(&front, RULES_CSV, &["AGR-TEST"]);
    // Three small files, one of them empty, and one past the 1 MiB packing limit.
    let large: Vec<u8> = (0..(3u32 << 19))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let contents: [(&str, &str, &[u8]); 4] = [
        ("O1", "a.txt", b"premier fichier"),
        ("O2", "b.txt", "Délibération n°12".as_bytes()),
        ("O3", "vide.txt", b""),
        ("O4", "gros.bin", &large),
    ];
    let files: Vec<File> = contents
        .iter()
        .map(|&(id, name, data)| File { id, name, data })
        .collect();
    let xml = manifest("AGR-TEST", &files, "");
    let mut entries: Vec<(String, &[u8])> = vec![("manifest.xml".into(), xml.as_bytes())];
    entries.extend(
        contents
            .iter()
            .map(|(_, name, data)| (format!("content/{name}"), *data)),
    );
    let entries: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let sip = front.dir.path().join("packed.zip");
    zip(&sip, &entries);
    let (v, _) = front.transfer(&agency, "region", &sip);
    assert_eq!(v["status"], "OK", "{v:#}");

    let hits = front.json(&archivist, &["search", "--tenant", "region", "--json"]);
    let mut seen = 0;
    let mut pack_keys = std::collections::BTreeSet::new();
    for hit in hits["hits"].as_array().unwrap() {
        let unit_id = hit["unit_id"].as_str().unwrap();
        let unit = front.json(&archivist, &["unit", "--tenant", "region", unit_id]);
        for o in unit["objects"].as_array().unwrap() {
            let name = o["filename"].as_str().unwrap();
            let (_, _, want) = contents.iter().find(|(_, n, _)| *n == name).unwrap();
            let key = o["key"].as_str().unwrap();
            if want.len() > 1 << 20 {
                assert!(o["pack_offset"].is_null() && key.contains("/objects/"), "{o:#}");
            } else {
                assert!(o["pack_offset"].is_u64() && key.ends_with(".tar"), "{o:#}");
                pack_keys.insert(key.to_owned());
            }
            let out = front.dir.path().join(format!("got-{name}"));
            let object = o["id"].as_str().unwrap();
            let res = front.run(
                &archivist,
                &[
                    "download",
                    "--tenant",
                    "region",
                    unit_id,
                    object,
                    "-o",
                    out.to_str().unwrap(),
                ],
            );
            assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
            assert_eq!(std::fs::read(&out).unwrap(), *want, "{name} reads back exactly");
            seen += 1;
        }
    }
    assert_eq!(seen, 4, "every file was found and read: {hits:#}");
    assert_eq!(
        pack_keys.len(),
        1,
        "the three small files share one pack: {pack_keys:?}"
    );

    // The pack is a plain tar: `tar` lists the small files under their AIP names.
    let pack = front.dir.path().join("pack.tar");
    let key = pack_keys.into_iter().next().unwrap();
    front
        .cluster
        .cli_ok(&["get", &format!("archive.region/{key}"), pack.to_str().unwrap()]);
    let listing = std::process::Command::new("tar").arg("-tvf").arg(&pack).output();
    match listing {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.lines().count(), 3, "{text}");
            assert!(text.lines().all(|l| l.contains("objects/")), "{text}");
        }
        Ok(out) => panic!("tar cannot read the pack: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("SKIP: no tar command here ({e}); the pack's format is checked by unit tests"),
    }
}
