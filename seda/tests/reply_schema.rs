//! Replies written for SEDA 2.1, 2.2 and 2.3 are valid against the official XSDs, checked
//! with the shared validator (`/work/shared/seda/validate`, xmllint underneath).

use std::path::PathBuf;
use std::process::Command;

use archipel_seda::reply::text::{MAX_TEXT_CHARS, TRUNCATION_MARK};
use archipel_seda::reply::{
    write_acknowledgement, write_transfer_reply, Acknowledgement, EventSubject, FormatIdentified, ReplyCode,
    ReplyDigest, ReplyEvent, ReplyGroup, ReplyObject, ReplyPhysical, ReplyUnit, SedaVersion, TransferReply,
    UNKNOWN_REQUEST_IDENTIFIER,
};
use chrono::{DateTime, TimeZone, Utc};
use quick_xml::events::Event;
use quick_xml::Reader;

const VERSIONS: [SedaVersion; 3] = [SedaVersion::V2_1, SedaVersion::V2_2, SedaVersion::V2_3];

/// The shared validator, or why it cannot run.
fn validator() -> Result<PathBuf, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seda/validate");
    if !path.exists() {
        return Err(format!("validator not found at {}", path.display()));
    }
    match Command::new("xmllint").arg("--version").output() {
        Ok(_) => Ok(path),
        Err(e) => Err(format!("xmllint not runnable ({e}); install libxml2-utils")),
    }
}

/// Runs the validator on `xml`; `Ok(true)` when valid, `Ok(false)` when invalid (its output
/// printed), `Err` when it cannot run.
fn validate(name: &str, xml: &[u8]) -> Result<bool, String> {
    let validator = validator()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join(format!("{name}.xml"));
    std::fs::write(&file, xml).map_err(|e| e.to_string())?;
    let out = Command::new(&validator)
        .arg(&file)
        .output()
        .map_err(|e| format!("running {}: {e}", validator.display()))?;
    if !out.status.success() {
        let shown: String = String::from_utf8_lossy(xml).chars().take(6000).collect();
        eprintln!(
            "validator said, exit {:?}:\n{}{}\n--- message ---\n{shown}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }
    Ok(out.status.success())
}

/// Asserts `xml` is valid SEDA; prints SKIP and returns false when the validator is missing.
fn assert_valid(name: &str, xml: &[u8]) -> bool {
    match validate(name, xml) {
        Ok(valid) => {
            assert!(valid, "{name}: the reply is not valid SEDA (see output above)");
            true
        }
        Err(reason) => {
            println!("SKIP: {reason}");
            false
        }
    }
}

/// The unescaped texts of every element named `name`, in document order.
fn texts(xml: &[u8], name: &str) -> Vec<String> {
    let s = std::str::from_utf8(xml).expect("replies are UTF-8");
    let mut reader = Reader::from_str(s);
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event().expect("replies are well-formed") {
            Event::Start(e) if e.local_name().as_ref() == name.as_bytes() => current = Some(String::new()),
            Event::Text(t) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(c) = current.as_mut() {
                    if let Some(ch) = r.resolve_char_ref().unwrap() {
                        c.push(ch);
                    } else {
                        let entity = r.decode().unwrap();
                        c.push_str(quick_xml::escape::resolve_predefined_entity(&entity).unwrap());
                    }
                }
            }
            Event::End(e) if e.local_name().as_ref() == name.as_bytes() => {
                if let Some(c) = current.take() {
                    found.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    found
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, h, m, 0).unwrap()
}

fn base(version: SedaVersion, code: ReplyCode) -> TransferReply {
    TransferReply {
        version,
        message_identifier: "ATR-2025-0001".into(),
        date: at(10, 0),
        reply_code: code,
        message_request_identifier: Some("Jeu de test complet SEDA 2.1.".into()),
        grant_date: None,
        archival_agency: "FRAD034".into(),
        transferring_agency: "MAIRIE-34172".into(),
        archival_agreement: Some("IC-000001".into()),
        comments: vec![],
        events: vec![],
        objects: vec![],
        units: vec![],
    }
}

fn ok_reply(version: SedaVersion) -> TransferReply {
    let mut r = base(version, ReplyCode::Ok);
    r.grant_date = Some(at(10, 1));
    r.comments = vec!["Transfert accepté".into(), "Second commentaire".into()];
    r.objects = vec![
        ReplyObject {
            data_object_id: "ID13".into(),
            system_id: "obj-7f3a".into(),
            format: Some(FormatIdentified {
                puid: Some("x-fmt/111".into()),
                name: Some("Plain Text File".into()),
                mime: Some("text/plain".into()),
            }),
            digest: Some(ReplyDigest {
                algorithm: "SHA-512".into(),
                value: "86c0bc701ef6b5dd21b080bc5bb2af38097baa6237275da83a52f092c9eae3e4e4b0247391620bd732fe824d18bd3bb6c37e62ec73a8cf3585c6a799399861b1".into(),
            }),
            size: Some(6),
            group: None,
            version: None,
            physical: None,
        },
        ReplyObject {
            data_object_id: "ID35".into(),
            system_id: "obj-81c2".into(),
            format: Some(FormatIdentified {
                puid: Some("fmt/354".into()),
                name: None,
                mime: Some("application/pdf".into()),
            }),
            digest: Some(ReplyDigest {
                algorithm: "SHA-256".into(),
                value: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=".into(),
            }),
            // SEDA sizes are positive: an empty file gets no Size.
            size: Some(0),
            group: None,
            version: None,
            physical: None,
        },
        ReplyObject {
            data_object_id: "ID55".into(),
            system_id: "obj-9d01".into(),
            format: None,
            digest: None,
            size: None,
            group: None,
            version: None,
            physical: None,
        },
    ];
    r.units = vec![
        ReplyUnit {
            unit_id: "AU1".into(),
            system_id: "unit-0001".into(),
        },
        ReplyUnit {
            unit_id: "AU2".into(),
            system_id: "unit-0002".into(),
        },
    ];
    r.events = vec![ReplyEvent {
        event_type: "CHECK_DIGEST".into(),
        outcome: ReplyCode::Ok,
        detail: "Empreintes vérifiées".into(),
        subject: None,
        date: at(10, 0),
    }];
    r
}

fn ko_reply(version: SedaVersion) -> TransferReply {
    let mut r = base(version, ReplyCode::Ko);
    r.events = vec![
        ReplyEvent {
            event_type: "CHECK_DIGEST".into(),
            outcome: ReplyCode::Ko,
            detail: "The SHA-512 digest of ID13 does not match the manifest: resend the file.".into(),
            subject: Some(EventSubject::DataObject("ID13".into())),
            date: at(10, 0),
        },
        ReplyEvent {
            event_type: "CHECK_MANIFEST".into(),
            outcome: ReplyCode::Ko,
            detail: "ArchivalAgreement is unknown: use an agreement signed with the archive.".into(),
            subject: Some(EventSubject::Element("/ArchiveTransfer/ArchivalAgreement".into())),
            date: at(10, 0),
        },
        ReplyEvent {
            event_type: "CHECK_FORMAT".into(),
            outcome: ReplyCode::Warning,
            detail: "Format not identified".into(),
            subject: Some(EventSubject::ArchiveUnit("AU7".into())),
            date: at(10, 0),
        },
        ReplyEvent {
            event_type: "CHECK_SIP".into(),
            outcome: ReplyCode::Ko,
            detail: String::new(),
            subject: Some(EventSubject::SipEntry("Content/../../etc/passwd".into())),
            date: at(10, 0),
        },
    ];
    r
}

#[test]
fn ok_replies_with_objects_and_units_are_valid_in_every_version() {
    for v in VERSIONS {
        let xml = write_transfer_reply(&ok_reply(v)).unwrap();
        let s = String::from_utf8(xml.clone()).unwrap();
        assert!(s.contains(&format!("xmlns=\"{}\"", v.namespace())));
        assert_eq!(texts(&xml, "DataObjectSystemId"), ["obj-7f3a", "obj-81c2", "obj-9d01"]);
        assert_eq!(texts(&xml, "SystemId"), ["unit-0001", "unit-0002"]);
        assert_eq!(texts(&xml, "ReplyCode"), ["OK"]);
        assert_eq!(texts(&xml, "Size"), ["6"], "a zero size must not be written");
        assert_eq!(texts(&xml, "FormatId"), ["x-fmt/111", "fmt/354"]);
        assert_eq!(texts(&xml, "Comment"), ["Transfert accepté", "Second commentaire"]);
        if !assert_valid(&format!("ok-{}", v.as_str()), &xml) {
            return;
        }
    }
}

/// Objects of one group written inside it, with the group's system id; a physical object with
/// its PhysicalId and the dimensions the schema accepts.
#[test]
fn groups_versions_and_physical_objects_are_valid_in_every_version() {
    let group = Some(ReplyGroup {
        group_id: "GOT1".into(),
        system_id: "got-0001".into(),
    });
    let mut r = ok_reply(SedaVersion::V2_2);
    r.objects[0].group = group.clone();
    r.objects[0].version = Some("BinaryMaster_1".into());
    r.objects[2].group = group.clone();
    r.objects[2].version = Some("Dissemination_1".into());
    r.objects.push(ReplyObject {
        data_object_id: "ID60".into(),
        system_id: "obj-phys".into(),
        format: None,
        digest: None,
        size: None,
        group,
        version: Some("PhysicalMaster_1".into()),
        physical: Some(ReplyPhysical {
            physical_id: Some("BOITE-42 <cote>".into()),
            dimensions: vec![
                ("NumberOfPage".into(), "12".into(), None),
                ("Width".into(), "21".into(), Some("centimetre".into())),
                ("Height".into(), "29,7".into(), Some("centimetre".into())),
            ],
        }),
    });
    for v in VERSIONS {
        r.version = v;
        let xml = write_transfer_reply(&r).unwrap();
        let s = String::from_utf8(xml.clone()).unwrap();
        assert_eq!(s.matches("<DataObjectGroup id=\"GOT1\">").count(), 1, "{s}");
        assert_eq!(texts(&xml, "DataObjectGroupSystemId"), ["got-0001"; 3]);
        assert_eq!(
            texts(&xml, "DataObjectSystemId"),
            ["obj-7f3a", "obj-9d01", "obj-phys", "obj-81c2"],
            "the group's members together, where its first member was"
        );
        assert_eq!(texts(&xml, "PhysicalId"), ["BOITE-42 <cote>"]);
        assert_eq!(texts(&xml, "Width"), ["21"]);
        assert!(texts(&xml, "Height").is_empty(), "29,7 is not an xsd:decimal");
        assert_eq!(texts(&xml, "NumberOfPage"), ["12"]);
        if !assert_valid(&format!("groups-{}", v.as_str()), &xml) {
            return;
        }
    }
    // One group id with two system ids is a contradiction, not a reply.
    r.objects[2].group = Some(ReplyGroup {
        group_id: "GOT1".into(),
        system_id: "got-other".into(),
    });
    assert!(write_transfer_reply(&r).is_err());
}

#[test]
fn ko_replies_with_several_events_are_valid_in_every_version() {
    for v in VERSIONS {
        let xml = write_transfer_reply(&ko_reply(v)).unwrap();
        assert_eq!(texts(&xml, "ReplyCode"), ["KO"]);
        assert_eq!(texts(&xml, "Outcome"), ["KO", "KO", "WARNING", "KO"]);
        assert_eq!(
            texts(&xml, "EventDetailData"),
            [
                r#"{"DataObject":"ID13"}"#,
                r#"{"Element":"/ArchiveTransfer/ArchivalAgreement"}"#,
                r#"{"ArchiveUnit":"AU7"}"#,
                r#"{"SipEntry":"Content/../../etc/passwd"}"#,
            ]
        );
        // The empty detail is left out rather than written as an invalid empty token.
        assert_eq!(texts(&xml, "OutcomeDetailMessage").len(), 3);
        assert!(texts(&xml, "DataObjectPackage").is_empty());
        if !assert_valid(&format!("ko-{}", v.as_str()), &xml) {
            return;
        }
    }
}

#[test]
fn unknown_request_identifier_becomes_the_placeholder() {
    for v in VERSIONS {
        let mut r = ko_reply(v);
        r.message_request_identifier = None;
        let xml = write_transfer_reply(&r).unwrap();
        assert_eq!(texts(&xml, "MessageRequestIdentifier"), [UNKNOWN_REQUEST_IDENTIFIER]);
        r.message_request_identifier = Some(" \u{1}\t".into());
        let xml = write_transfer_reply(&r).unwrap();
        assert_eq!(texts(&xml, "MessageRequestIdentifier"), [UNKNOWN_REQUEST_IDENTIFIER]);
        if !assert_valid(&format!("unknown-{}", v.as_str()), &xml) {
            return;
        }
    }
}

const HOSTILE: &str = "<ArchiveTransfer> & \"quoted\" 'single' ]]> </Comment>";
const FRENCH: &str = "Délibération n°12 — été";

#[test]
fn hostile_text_is_escaped_cleaned_and_still_valid() {
    for v in VERSIONS {
        let mut r = ko_reply(v);
        let controls = "a\u{0}b\u{7}c\u{1B}d\u{FFFF}e\r\nf".to_owned();
        let long = "é".repeat(MAX_TEXT_CHARS * 2);
        r.comments = vec![HOSTILE.into(), FRENCH.into(), controls, long];
        r.message_request_identifier = Some(format!("{HOSTILE} {FRENCH}"));
        r.archival_agreement = Some("IC <&> \"x\"".into());
        r.events[0].detail = format!("{HOSTILE}\u{0}{FRENCH}");
        r.events[0].subject = Some(EventSubject::SipEntry(format!("{HOSTILE}\u{8}")));
        r.events[1].subject = Some(EventSubject::Element("x".repeat(100_000)));
        r.objects = ok_reply(v).objects;
        r.objects[0].format = Some(FormatIdentified {
            puid: Some("fmt/<&>".into()),
            name: Some(format!("{FRENCH} {HOSTILE}")),
            mime: Some("text/plain; charset=\"utf-8\"".into()),
        });
        r.objects[0].system_id = "sys-\"<&>'".into();
        r.units = vec![ReplyUnit {
            unit_id: "Délib_12".into(),
            system_id: FRENCH.into(),
        }];

        let xml = write_transfer_reply(&r).unwrap();
        let comments = texts(&xml, "Comment");
        assert_eq!(comments[0], HOSTILE);
        assert_eq!(comments[1], FRENCH);
        assert_eq!(comments[2], "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\nf");
        assert_eq!(comments[3].chars().count(), MAX_TEXT_CHARS);
        assert!(comments[3].ends_with(TRUNCATION_MARK));
        assert_eq!(texts(&xml, "MessageRequestIdentifier"), [format!("{HOSTILE} {FRENCH}")]);
        assert_eq!(
            texts(&xml, "OutcomeDetailMessage")[0],
            format!("{HOSTILE}\u{FFFD}{FRENCH}")
        );
        assert_eq!(texts(&xml, "DataObjectSystemId")[0], "sys-\"<&>'");
        assert_eq!(texts(&xml, "SystemId"), [FRENCH]);
        let subject: serde_json::Value = serde_json::from_str(&texts(&xml, "EventDetailData")[0]).unwrap();
        assert_eq!(subject["SipEntry"], format!("{HOSTILE}\u{FFFD}"));
        assert!(texts(&xml, "EventDetailData")[1].len() < 2 * 1024 + 100);
        let raw = String::from_utf8(xml.clone()).unwrap();
        assert!(!raw.contains("<ArchiveTransfer>"), "markup leaked unescaped");
        assert!(!raw.contains('\u{0}') && !raw.contains('\u{7}') && !raw.contains('\u{1B}'));
        if !assert_valid(&format!("hostile-{}", v.as_str()), &xml) {
            return;
        }
    }
}

#[test]
fn acknowledgements_are_valid_in_every_version() {
    for v in VERSIONS {
        let ack = Acknowledgement {
            version: v,
            message_identifier: "ACK-2025-0001".into(),
            date: at(9, 59),
            comments: vec![HOSTILE.into(), format!("{FRENCH}\u{2}")],
            message_received_identifier: Some(format!("{HOSTILE} {FRENCH}")),
            sender: "FRAD034".into(),
            receiver: "MAIRIE-34172".into(),
        };
        let xml = write_acknowledgement(&ack).unwrap();
        assert_eq!(
            texts(&xml, "Comment"),
            [HOSTILE.to_owned(), format!("{FRENCH}\u{FFFD}")]
        );
        assert_eq!(
            texts(&xml, "MessageReceivedIdentifier"),
            [format!("{HOSTILE} {FRENCH}")]
        );
        assert_eq!(texts(&xml, "Identifier"), ["FRAD034", "MAIRIE-34172"]);
        if !assert_valid(&format!("ack-{}", v.as_str()), &xml) {
            return;
        }
        let unknown = Acknowledgement {
            message_received_identifier: None,
            comments: vec![],
            ..ack
        };
        let xml = write_acknowledgement(&unknown).unwrap();
        assert_eq!(texts(&xml, "MessageReceivedIdentifier"), [UNKNOWN_REQUEST_IDENTIFIER]);
        assert_valid(&format!("ack-unknown-{}", v.as_str()), &xml);
    }
}

/// The validator check can fail: a reply with two elements swapped is rejected.
#[test]
fn the_validator_rejects_a_reply_in_the_wrong_order() {
    let xml = String::from_utf8(write_transfer_reply(&ko_reply(SedaVersion::V2_2)).unwrap()).unwrap();
    let date = xml.find("  <Date>").unwrap();
    let id = xml.find("  <MessageIdentifier>").unwrap();
    let id_end = xml[id..].find('\n').unwrap() + id + 1;
    let swapped = format!(
        "{}{}{}{}",
        &xml[..date],
        &xml[id..id_end],
        &xml[date..id],
        &xml[id_end..]
    );
    match validate("swapped", swapped.as_bytes()) {
        Ok(valid) => assert!(!valid, "Date after MessageIdentifier must be invalid"),
        Err(reason) => println!("SKIP: {reason}"),
    }
}

/// A large transfer: ids stay unique and the reply valid; prints how long writing took.
#[test]
fn a_reply_for_ten_thousand_objects_is_valid() {
    const N: usize = 10_000;
    let mut r = ok_reply(SedaVersion::V2_3);
    let template = r.objects[0].clone();
    r.objects = (0..N)
        .map(|i| ReplyObject {
            data_object_id: format!("ID{i}"),
            system_id: format!("obj-{i:08x}"),
            ..template.clone()
        })
        .collect();
    r.units = (0..N)
        .map(|i| ReplyUnit {
            unit_id: format!("AU{i}"),
            system_id: format!("unit-{i:08x}"),
        })
        .collect();
    let started = std::time::Instant::now();
    let xml = write_transfer_reply(&r).unwrap();
    println!(
        "{N} objects + {N} units: {} bytes written in {:?}",
        xml.len(),
        started.elapsed()
    );
    assert_eq!(texts(&xml, "DataObjectSystemId").len(), N);
    assert_eq!(texts(&xml, "SystemId").len(), N);
    assert_valid("large", &xml);
}
