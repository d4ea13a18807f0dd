//! Authorisation requests and replies written for SEDA 2.1, 2.2 and 2.3 are valid against the
//! official XSDs (checked with `../shared/seda/validate`), replies read back to what was
//! written, and hostile or misordered replies are refused by name.

use std::path::PathBuf;
use std::process::Command;

use archipel_seda::authorization::{
    parse_authorization_reply, write_authorization_reply, write_authorization_request, Authority, AuthorityKind,
    AuthorizationDecision, AuthorizationReply, AuthorizationRequest, MessageError,
};
use archipel_seda::version::SedaVersion;
use chrono::{NaiveDate, TimeZone, Utc};

/// Runs the shared validator on `xml`: `Some(true)` valid, `Some(false)` invalid (output
/// printed), `None` when it cannot run (reason printed).
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

fn request(version: SedaVersion, kind: AuthorityKind) -> AuthorizationRequest {
    AuthorizationRequest {
        version,
        message_identifier: "DRG-2026-0001-OA".into(),
        date: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
        comments: vec!["Demande de dérogation <urgente> & motivée".into()],
        archival_agreement: Some("AA-REGION-2026".into()),
        reason: "Dérogation L213-3".into(),
        request_comments: vec![
            "Thèse d'histoire contemporaine".into(),
            "caractère interdit \u{1} remplacé".into(),
        ],
        request_date: NaiveDate::from_ymd_opt(2026, 2, 27).unwrap(),
        unit_identifiers: vec!["aeaqaaaaaahq".into(), "aeaqaaaaaahr".into()],
        requester: "lecteur-42".into(),
        archival_agency: "region-occitanie".into(),
        authority: Authority {
            kind,
            identifier: "DGS-13".into(),
        },
    }
}

fn reply(version: SedaVersion, kind: AuthorityKind, decision: AuthorizationDecision) -> AuthorizationReply {
    AuthorizationReply {
        version,
        message_identifier: "DRG-2026-0001-OA-R".into(),
        date: Utc.with_ymd_and_hms(2026, 3, 5, 16, 30, 0).unwrap(),
        comments: vec!["Avis favorable, sous réserve d'anonymisation".into()],
        archival_agreement: None,
        decision,
        message_request_identifier: "DRG-2026-0001-OA".into(),
        archival_agency: "region-occitanie".into(),
        authority: Authority {
            kind,
            identifier: "AD-13".into(),
        },
    }
}

const KINDS: [AuthorityKind; 2] = [AuthorityKind::OriginatingAgency, AuthorityKind::ControlAuthority];

#[test]
fn requests_are_schema_valid_in_every_version() {
    for version in SedaVersion::ALL {
        for kind in KINDS {
            let xml = write_authorization_request(&request(version, kind)).unwrap();
            let s = String::from_utf8(xml.clone()).unwrap();
            assert!(s.contains(&format!(
                "<{} xmlns=\"{}\"",
                kind.request_element(),
                version.namespace()
            )));
            assert!(s.contains(&format!("<{}>", kind.organization_element())));
            assert!(s.contains("&lt;urgente&gt; &amp; motivée"));
            assert_valid(&format!("{}-{version}", kind.request_element()), &xml);
        }
    }
}

#[test]
fn a_minimal_request_is_schema_valid() {
    // One unit, no comment, no agreement: the smallest message the schema accepts.
    for version in SedaVersion::ALL {
        let mut r = request(version, AuthorityKind::ControlAuthority);
        r.comments.clear();
        r.request_comments.clear();
        r.archival_agreement = None;
        r.unit_identifiers.truncate(1);
        r.reason = "Élimination L212-2".into();
        assert_valid(&format!("minimal-{version}"), &write_authorization_request(&r).unwrap());
    }
}

#[test]
fn replies_are_schema_valid_and_read_back() {
    for version in SedaVersion::ALL {
        for kind in KINDS {
            for decision in [AuthorizationDecision::Approved, AuthorizationDecision::Refused] {
                let r = reply(version, kind, decision);
                let xml = write_authorization_reply(&r).unwrap();
                assert_valid(&format!("{}-{version}", kind.reply_element()), &xml);
                assert_eq!(parse_authorization_reply(&xml).unwrap(), r);
            }
        }
    }
}

/// A reply as another system would write it: prefixed namespace, Operation with an event,
/// organisation descriptive metadata, a time zone offset.
const FOREIGN_STYLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<seda:AuthorizationControlAuthorityRequestReply xmlns:seda="fr:gouv:culture:archivesdefrance:seda:v2.1">
  <seda:Comment>Refus : documents couverts par le secret médical</seda:Comment>
  <seda:Date>2026-03-05T17:30:00+01:00</seda:Date>
  <seda:MessageIdentifier> AD13-VISA-9 </seda:MessageIdentifier>
  <seda:CodeListVersions><seda:ReplyCodeListVersion>ReplyCodeListVersion0</seda:ReplyCodeListVersion></seda:CodeListVersions>
  <seda:ReplyCode>KO</seda:ReplyCode>
  <seda:Operation><seda:Event><seda:EventTypeCode>VISA</seda:EventTypeCode><seda:EventDateTime>2026-03-05T17:30:00</seda:EventDateTime></seda:Event></seda:Operation>
  <seda:MessageRequestIdentifier>DRG-2026-0001-CA</seda:MessageRequestIdentifier>
  <seda:ArchivalAgency><seda:Identifier>region-occitanie</seda:Identifier></seda:ArchivalAgency>
  <seda:ControlAuthority><seda:Identifier>AD-13</seda:Identifier><seda:OrganizationDescriptiveMetadata/></seda:ControlAuthority>
</seda:AuthorizationControlAuthorityRequestReply>
"#;

#[test]
fn reads_a_reply_written_elsewhere() {
    assert_valid("foreign-style", FOREIGN_STYLE.as_bytes());
    let r = parse_authorization_reply(FOREIGN_STYLE.as_bytes()).unwrap();
    assert_eq!(r.version, SedaVersion::V2_1);
    assert_eq!(r.authority.kind, AuthorityKind::ControlAuthority);
    assert_eq!(r.authority.identifier, "AD-13");
    assert_eq!(r.decision, AuthorizationDecision::Refused);
    assert_eq!(r.message_identifier, "AD13-VISA-9");
    assert_eq!(r.message_request_identifier, "DRG-2026-0001-CA");
    assert_eq!(r.date, Utc.with_ymd_and_hms(2026, 3, 5, 16, 30, 0).unwrap());
    assert_eq!(
        r.comments,
        vec!["Refus : documents couverts par le secret médical".to_owned()]
    );
}

fn refused(xml: &str) -> MessageError {
    match parse_authorization_reply(xml.as_bytes()) {
        Ok(r) => panic!("accepted: {r:?}"),
        Err(e) => e,
    }
}

#[test]
fn refuses_bad_replies_by_name() {
    let e = refused(&FOREIGN_STYLE.replace(">KO<", ">MAYBE<"));
    assert!(e.to_string().contains("ReplyCode at line 7 is \"MAYBE\""), "{e}");

    let no_code = FOREIGN_STYLE.replace("<seda:ReplyCode>KO</seda:ReplyCode>", "");
    assert!(matches!(
        refused(&no_code),
        MessageError::Missing {
            element: "ReplyCode",
            ..
        }
    ));

    // ArchivalAgency after the authority: schema order broken.
    let swapped = FOREIGN_STYLE.replace(
        "<seda:ArchivalAgency><seda:Identifier>region-occitanie</seda:Identifier></seda:ArchivalAgency>",
        "",
    );
    let e = refused(&swapped);
    assert!(
        matches!(&e, MessageError::Unexpected { element, expected, .. } if element == "ControlAuthority" && expected == "ArchivalAgency"),
        "{e}"
    );

    let extra = FOREIGN_STYLE.replace(
        "</seda:ControlAuthority>",
        "</seda:ControlAuthority><x:Note xmlns:x=\"urn:x\">hi</x:Note>",
    );
    assert!(refused(&extra)
        .to_string()
        .contains("Note (outside the SEDA namespace)"));

    let blank = FOREIGN_STYLE.replace(" AD13-VISA-9 ", "  ");
    assert!(matches!(
        refused(&blank),
        MessageError::Invalid {
            element: "MessageIdentifier",
            ..
        }
    ));

    let request = write_authorization_request(&request(SedaVersion::V2_2, AuthorityKind::ControlAuthority)).unwrap();
    let e = parse_authorization_reply(&request).unwrap_err();
    assert!(
        matches!(&e, MessageError::WrongRoot { found, .. } if found.starts_with("AuthorizationControlAuthorityRequest ")),
        "{e}"
    );

    let v3 = FOREIGN_STYLE.replace("seda:v2.1", "seda:v3.0");
    assert!(matches!(refused(&v3), MessageError::NotSeda { .. }));

    let dtd = FOREIGN_STYLE.replace(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n",
    );
    assert!(matches!(refused(&dtd), MessageError::Xml(_)));

    let huge = vec![b' '; archipel_seda::message::MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        parse_authorization_reply(&huge),
        Err(MessageError::TooLarge { .. })
    ));
}
