//! What Archipel sends when archives leave it — ArchiveRestitutionRequest, its Reply and the
//! ArchiveTransfer of a transfer out or restitution — passes the official XSDs of SEDA 2.1, 2.2
//! and 2.3 (../shared/seda/validate); skipped, with the reason printed, when the validator or
//! xmllint is missing.

use std::path::PathBuf;
use std::process::Command;

use archipel_seda::outgoing::{
    write_outgoing_transfer, write_restitution_reply, write_restitution_request, OutObject, OutRules, OutUnit,
    OutgoingTransfer, RestitutionMessage,
};
use archipel_seda::reply::SedaVersion;
use chrono::NaiveDate;

fn validator() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seda/validate");
    if !path.exists() || Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("SKIP: {} or xmllint is missing", path.display());
        return None;
    }
    Some(path)
}

fn assert_valid(name: &str, xml: &[u8]) {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.xml"));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new(validator).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{name} is not valid SEDA: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(xml)
    );
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn transfer(version: SedaVersion) -> OutgoingTransfer {
    let rules = |category: &str, rule: &str, action: Option<&str>| OutRules {
        category: category.into(),
        rules: vec![(rule.into(), Some(day("2020-01-01")))],
        final_action: action.map(str::to_owned),
        ..Default::default()
    };
    OutgoingTransfer {
        version,
        message_identifier: "TOUT-0001".into(),
        date: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        comments: vec!["Transfert aux Archives départementales & <co>".into()],
        archival_agreement: Some("AGR-IN".into()),
        objects: vec![
            OutObject {
                id: "O1".into(),
                group_id: "G1".into(),
                version: Some("BinaryMaster_1".into()),
                uri: "Content/O1.pdf".into(),
                sha512: "0a".repeat(64),
                size: 1234,
                format_name: Some("Acrobat PDF 1.4".into()),
                mime: Some("application/pdf".into()),
                puid: Some("fmt/18".into()),
                filename: Some("délibération.pdf".into()),
            },
            OutObject {
                id: "O2".into(),
                group_id: "G1".into(),
                version: Some("TextContent_1".into()),
                uri: "Content/O2".into(),
                sha512: "0b".repeat(64),
                size: 10,
                format_name: None,
                mime: None,
                puid: None,
                filename: None,
            },
        ],
        units: vec![OutUnit {
            id: "U1".into(),
            level: Some("File".into()),
            title: "Délibérations 2020".into(),
            description: Some("Conseil".into()),
            archival_agency_identifier: Some("aeaaaaaa-1".into()),
            originating_agency: Some("SP-REGION".into()),
            start_date: Some(day("2020-01-01")),
            end_date: Some(day("2020-12-31")),
            rules: vec![
                rules("AccessRule", "ACC-00001", None),
                rules("AppraisalRule", "APP-00001", Some("Destroy")),
                rules("StorageRule", "STO-00001", None),
                rules("DisseminationRule", "DIS-00001", None),
                rules("ReuseRule", "REU-00001", None),
                rules("HoldRule", "HOL-00001", None),
            ],
            object_group: None,
            children: vec![OutUnit {
                id: "U2".into(),
                level: None,
                title: "Délibération n°1".into(),
                description: None,
                archival_agency_identifier: Some("aeaaaaaa-2".into()),
                originating_agency: None,
                start_date: None,
                end_date: None,
                rules: vec![OutRules {
                    category: "AccessRule".into(),
                    prevent_inheritance: true,
                    ..Default::default()
                }],
                object_group: Some("G1".into()),
                children: vec![],
            }],
        }],
        originating_agency: Some("SP-REGION".into()),
        submission_agency: Some("SP-REGION".into()),
        archival_agency: "AD-DEP".into(),
        transferring_agency: "Identifier4".into(),
    }
}

#[test]
fn outgoing_messages_are_valid_in_every_version() {
    for version in SedaVersion::ALL {
        let v = version.as_str();
        assert_valid(
            &format!("transfer-{v}"),
            &write_outgoing_transfer(&transfer(version)).unwrap(),
        );
        let m = RestitutionMessage {
            version,
            message_identifier: "REST-0001-REQ".into(),
            date: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            comments: vec!["Fin de la convention de mutualisation".into()],
            archival_agreement: None,
            message_request_identifier: Some("REST-0001-REQ".into()),
            reply_code: Some("OK".into()),
            unit_identifiers: vec!["aeaaaaaa-1".into(), "aeaaaaaa-2".into()],
            archival_agency: "Identifier4".into(),
            originating_agency: "SP-REGION".into(),
        };
        assert_valid(
            &format!("restitution-request-{v}"),
            &write_restitution_request(&m).unwrap(),
        );
        let reply = RestitutionMessage {
            message_identifier: "REST-0001-REPLY".into(),
            ..m
        };
        assert_valid(
            &format!("restitution-reply-{v}"),
            &write_restitution_reply(&reply).unwrap(),
        );
    }
}
