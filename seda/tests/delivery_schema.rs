//! ArchiveDeliveryRequest (written and read back) and ArchiveDeliveryRequestReply (the DIP
//! manifest) are valid against the official XSDs of SEDA 2.1, 2.2 and 2.3.

use std::path::PathBuf;
use std::process::Command;

use archipel_seda::authorization::MessageError;
use archipel_seda::delivery::{
    parse_delivery_request, write_delivery_reply, write_delivery_request, DeliveryObject, DeliveryReply,
    DeliveryRequest, DeliveryRule, DeliveryUnit,
};
use archipel_seda::reply::ReplyCode;
use archipel_seda::version::SedaVersion;
use chrono::{NaiveDate, TimeZone, Utc};

fn validate(name: &str, xml: &[u8]) -> Option<bool> {
    let validator = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seda/validate");
    if !validator.exists() {
        println!("SKIP: validator not found at {}", validator.display());
        return None;
    }
    if let Err(e) = Command::new("xmllint").arg("--version").output() {
        println!("SKIP: xmllint not runnable ({e}); install libxml2-utils");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.xml"));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new(&validator).arg(&file).output().unwrap();
    if !out.status.success() {
        eprintln!(
            "{}{}\n--- message ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(xml)
        );
    }
    Some(out.status.success())
}

fn assert_valid(name: &str, xml: &[u8]) {
    if let Some(valid) = validate(name, xml) {
        assert!(valid, "{name} is not valid SEDA (see output above)");
    }
}

fn request(version: SedaVersion) -> DeliveryRequest {
    DeliveryRequest {
        version,
        message_identifier: "DEM-2026-0042".into(),
        date: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        comments: vec!["Consultation pour une thèse".into()],
        archival_agreement: None,
        derogation: true,
        unit_identifiers: vec!["5f0c1a".into(), "aeaq-2".into()],
        archival_agency: "FRAD034".into(),
        requester: "lecteur-42".into(),
    }
}

fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn reply(version: SedaVersion) -> DeliveryReply {
    DeliveryReply {
        version,
        message_identifier: "d1-DIP".into(),
        date: Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap(),
        comments: vec!["Communication d1".into()],
        archival_agreement: None,
        reply_code: ReplyCode::Ok,
        message_request_identifier: "DEM-2026-0042".into(),
        authorization_reply_identifier: Some("d1-CA-R".into()),
        units: vec![
            DeliveryUnit {
                system_id: "5f0c1a".into(),
                title: "Dossier <individuel> & confidentiel".into(),
                level: Some("File".into()),
                description: Some("Dossier de carrière".into()),
                originating_agency: Some("DRH".into()),
                start_date: day(2020, 1, 1),
                end_date: day(2020, 12, 31),
                rules: vec![
                    DeliveryRule {
                        category: "AccessRule".into(),
                        rule_id: "ACC-00003".into(),
                        start_date: day(2020, 1, 1),
                    },
                    DeliveryRule {
                        category: "AppraisalRule".into(),
                        rule_id: "APP-00001".into(),
                        start_date: day(2020, 1, 1),
                    },
                    DeliveryRule {
                        category: "ReuseRule".into(),
                        rule_id: "REU-00001".into(),
                        start_date: None,
                    },
                ],
                need_authorization: true,
                objects: vec!["9a8b".into(), "9a8c".into()],
            },
            DeliveryUnit {
                system_id: "aeaq-2".into(),
                title: "Sans objet".into(),
                level: Some("not a level".into()),
                description: None,
                originating_agency: None,
                start_date: None,
                end_date: None,
                rules: vec![],
                need_authorization: false,
                objects: vec![],
            },
        ],
        objects: vec![
            DeliveryObject {
                system_id: "9a8b".into(),
                group_system_id: Some("g1".into()),
                version: Some("BinaryMaster_1".into()),
                uri: "Content/9a8b.pdf".into(),
                sha512: "ab".repeat(64),
                size: 1234,
                puid: Some("fmt/354".into()),
                format_name: Some("PDF/A-1b".into()),
                mime: Some("application/pdf".into()),
                filename: Some("arrêté n°12.pdf".into()),
            },
            DeliveryObject {
                system_id: "9a8c".into(),
                group_system_id: None,
                version: None,
                uri: "Content/9a8c".into(),
                sha512: "cd".repeat(64),
                size: 0,
                puid: None,
                format_name: None,
                mime: None,
                filename: None,
            },
        ],
        archival_agency: "FRAD034".into(),
        requester: "lecteur-42".into(),
    }
}

#[test]
fn requests_are_schema_valid_and_read_back() {
    for version in SedaVersion::ALL {
        let r = request(version);
        let xml = write_delivery_request(&r).unwrap();
        assert_valid(&format!("request-{version}"), &xml);
        assert_eq!(parse_delivery_request(&xml).unwrap(), r);
    }
}

#[test]
fn dip_manifests_are_schema_valid() {
    for version in SedaVersion::ALL {
        let xml = write_delivery_reply(&reply(version)).unwrap();
        let s = String::from_utf8(xml.clone()).unwrap();
        assert!(s.contains("<Uri>Content/9a8b.pdf</Uri>"));
        assert!(s.contains("Dossier &lt;individuel&gt; &amp; confidentiel"));
        assert!(
            !s.contains("APP-00001"),
            "categories with required extras are left to the JSON"
        );
        assert!(!s.contains("not a level"));
        assert_valid(&format!("reply-{version}"), &xml);
    }
}

#[test]
fn a_manifest_referencing_a_missing_object_is_refused() {
    let mut r = reply(SedaVersion::V2_2);
    r.units[1].objects.push("nope".into());
    assert!(write_delivery_reply(&r).is_err());
    let mut r = reply(SedaVersion::V2_2);
    r.objects[0].sha512 = "not hex".into();
    assert!(write_delivery_reply(&r).is_err());
}

#[test]
fn bad_requests_are_refused_by_name() {
    let xml = String::from_utf8(write_delivery_request(&request(SedaVersion::V2_2)).unwrap()).unwrap();
    let twice = xml.replace(
        "<UnitIdentifier>aeaq-2</UnitIdentifier>",
        "<UnitIdentifier>5f0c1a</UnitIdentifier>",
    );
    assert!(matches!(
        parse_delivery_request(twice.as_bytes()),
        Err(MessageError::Invalid {
            element: "UnitIdentifier",
            ..
        })
    ));
    let no_requester = xml.replace(
        "<Requester>\n    <Identifier>lecteur-42</Identifier>\n  </Requester>\n",
        "",
    );
    assert!(
        matches!(
            parse_delivery_request(no_requester.as_bytes()),
            Err(MessageError::Missing {
                element: "Requester",
                ..
            })
        ),
        "{no_requester}"
    );
    let bad_bool = xml.replace("<Derogation>true</Derogation>", "<Derogation>oui</Derogation>");
    assert!(parse_delivery_request(bad_bool.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("xsd:boolean"));
    let no_units = xml
        .replace("<UnitIdentifier>5f0c1a</UnitIdentifier>", "")
        .replace("<UnitIdentifier>aeaq-2</UnitIdentifier>", "");
    let e = parse_delivery_request(no_units.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("UnitIdentifier"), "{e}");
}
