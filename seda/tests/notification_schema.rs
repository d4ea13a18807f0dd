//! ArchiveDestructionNotification and ArchiveModificationNotification written for SEDA 2.1, 2.2
//! and 2.3 pass the official XSDs (../shared/seda/validate); skipped, with the reason printed,
//! when the validator or xmllint is missing.

use std::path::PathBuf;
use std::process::Command;

use archipel_seda::notification::{
    write_destruction_notification, write_modification_notification, DestructionNotification, ModificationNotification,
};
use archipel_seda::reply::SedaVersion;

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

#[test]
fn notifications_are_valid_in_every_version() {
    let date = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    for version in SedaVersion::ALL {
        let d = DestructionNotification {
            version,
            message_identifier: "ELIM-0001-NOTIF".into(),
            date,
            comments: vec!["Élimination visée par le directeur des Archives départementales & <co>".into()],
            archival_agreement: Some("AGR-1".into()),
            authorization_reply_identifier: "VISA-0001".into(),
            unit_identifiers: vec!["aeaaaa1".into(), "aeaaaa2".into()],
            archival_agency: "Identifier4".into(),
            originating_agency: "Identifier5".into(),
        };
        assert_valid(
            &format!("destruction-{}", version.as_str()),
            &write_destruction_notification(&d).unwrap(),
        );
        let m = ModificationNotification {
            version,
            message_identifier: "MOD-0001".into(),
            date,
            comments: vec!["HoldRule HOL-00001 ajoutée".into()],
            archival_agreement: None,
            unit_identifiers: vec!["aeaaaa1".into()],
            archival_agency: "Identifier4".into(),
            originating_agency: "Identifier5".into(),
        };
        assert_valid(
            &format!("modification-{}", version.as_str()),
            &write_modification_notification(&m).unwrap(),
        );
    }
}
