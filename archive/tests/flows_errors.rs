//! What a partner or an archivist gets wrong, and what they are told: every error names the file,
//! field or key at fault, and a failed build leaves no SIP behind.

#[path = "flows_common.rs"]
mod common;

use std::path::Path;

use archipel_archive::flows::{build_sip, builtin_flows, detect_flow, FlowDefinition, FlowError, BUILTIN_FLOWS};
use common::*;

/// No SIP and no temporary file left in `dir`.
fn assert_nothing_written(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zip") || n.ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_payload_of_another_flow_is_refused_and_named() {
    let Some(ar) = shared_path("corpus/flows/actes/ar-actes.xml") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let err = build_sip(
        &flow("pes"),
        std::slice::from_ref(&ar),
        &ctx(),
        &tmp.path().join("x.zip"),
    )
    .unwrap_err();
    match &err {
        FlowError::Unmatched { file, found, flow, .. } => {
            assert_eq!(file, &ar);
            assert_eq!(found, "{http://www.interieur.gouv.fr/ACTES#v1.1-20040216}ARActe");
            assert_eq!(flow, "pes");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("ar-actes.xml") && err.to_string().contains("PES_Aller"),
        "{err}"
    );
    assert_nothing_written(tmp.path());
}

#[test]
fn detect_flow_finds_the_flow_by_root_or_says_none_matches() {
    let Some(dir) = shared_path("corpus/flows") else { return };
    let flows = builtin_flows().unwrap();
    assert_eq!(
        detect_flow(&flows, &dir.join("actes/ar-actes.xml")).unwrap().id,
        "actes"
    );
    assert_eq!(
        detect_flow(&flows, &dir.join("actes/classification-exemple.xml"))
            .unwrap()
            .id,
        "actes"
    );
    assert_eq!(
        detect_flow(&flows, &dir.join("pes/PESALR2_49101169800000_171227_2045.xml"))
            .unwrap()
            .id,
        "pes"
    );
    // An ACQUIT alone is an attachment, not a flow's main payload.
    let acquit = dir.join("pes/ACQUIT_PESALR2_49101169800000_171227_2045.xml");
    match detect_flow(&flows, &acquit).unwrap_err() {
        FlowError::NoFlowMatches { file, found } => {
            assert_eq!(file, acquit);
            assert!(found.ends_with("}PES_ACQUIT"), "{found}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_required_field_names_the_field_and_the_file() {
    let Some(simu) = shared_path("corpus/flows/pes/HELIOS_SIMU_ALR2_1529593767_1834011863.xml") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // The real payload, with its NomFic removed.
    let bytes = std::fs::read(&simu).unwrap();
    let text: String = bytes.iter().map(|&b| b as char).collect(); // ISO-8859-1: byte = char
    let start = text.find("<NomFic ").unwrap();
    let end = start + text[start..].find("/>").unwrap() + 2;
    let broken: Vec<u8> = text[..start].bytes().chain(text[end..].bytes()).collect();
    let path = tmp.path().join("PES_sans_NomFic.xml");
    std::fs::write(&path, broken).unwrap();

    let err = build_sip(
        &flow("pes"),
        std::slice::from_ref(&path),
        &ctx(),
        &tmp.path().join("x.zip"),
    )
    .unwrap_err();
    match &err {
        FlowError::MissingField { file, field, path: p } => {
            assert_eq!(file, &path);
            assert_eq!(field, "NomFic");
            assert_eq!(p, "Enveloppe/Parametres/NomFic/@V");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("PES_sans_NomFic.xml") && err.to_string().contains("NomFic"));
    assert_nothing_written(tmp.path());
}

#[test]
fn a_bad_date_names_the_field_and_value() {
    let Some(simu) = shared_path("corpus/flows/pes/HELIOS_SIMU_ALR2_1529593767_1834011863.xml") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let text: String = std::fs::read(&simu).unwrap().iter().map(|&b| b as char).collect();
    let path = tmp.path().join("PES_date.xml");
    let changed = text.replace("<DteStr V=\"2018-06-21\"/>", "<DteStr V=\"21/06/2018\"/>");
    assert_ne!(changed, text);
    std::fs::write(&path, changed.chars().map(|c| c as u8).collect::<Vec<u8>>()).unwrap();
    match build_sip(&flow("pes"), &[path], &ctx(), &tmp.path().join("x.zip")).unwrap_err() {
        FlowError::InvalidField { field, value, .. } => {
            assert_eq!(field, "DteStr");
            assert_eq!(value, "21/06/2018");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_xml_payloads_are_refused() {
    let Some(pdf) = pdfa_sample() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // A PDF nobody claims.
    let err = build_sip(
        &flow("pes"),
        std::slice::from_ref(&pdf),
        &ctx(),
        &tmp.path().join("x.zip"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, FlowError::OrphanFile { file, flow, .. } if file == &pdf && flow == "pes"),
        "{err:?}"
    );
    assert!(err.to_string().contains("not XML"), "{err}");
    // A PDF named like XML, given to detection.
    let fake = tmp.path().join("PESALR2_fake.xml");
    std::fs::copy(&pdf, &fake).unwrap();
    assert!(matches!(
        detect_flow(&builtin_flows().unwrap(), &fake).unwrap_err(),
        FlowError::NotXml { .. }
    ));
    // A main payload cut short: recognised by its root, then refused as not well-formed.
    if let Some(simu) = shared_path("corpus/flows/pes/HELIOS_SIMU_ALR2_1529593767_1834011863.xml") {
        let bytes = std::fs::read(simu).unwrap();
        let cut = tmp.path().join("PES_cut.xml");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let err = build_sip(
            &flow("pes"),
            std::slice::from_ref(&cut),
            &ctx(),
            &tmp.path().join("x.zip"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, FlowError::NotXml { file, .. } if file == &cut),
            "{err:?}"
        );
    }
    assert_nothing_written(tmp.path());
}

#[test]
fn a_missing_required_attachment_names_the_expected_file() {
    let Some(ar) = shared_path("corpus/flows/actes/ar-actes.xml") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    match build_sip(
        &flow("actes"),
        std::slice::from_ref(&ar),
        &ctx(),
        &tmp.path().join("x.zip"),
    )
    .unwrap_err()
    {
        FlowError::MissingAttachment {
            main,
            attachment,
            expected,
        } => {
            assert_eq!(main, ar);
            assert_eq!(attachment, "acte");
            assert_eq!(expected, "069-123456789-20130601-20130623C-AI-1-1_1.pdf");
        }
        other => panic!("{other:?}"),
    }
    assert_nothing_written(tmp.path());
}

#[test]
fn an_attachment_with_the_wrong_root_is_refused() {
    let Some(dir) = shared_path("corpus/flows/pes") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let simu = dir.join("HELIOS_SIMU_ALR2_1529593767_1834011863.xml");
    // An "ACQUIT" that is really another PES_Aller.
    let fake = tmp.path().join("ACQUIT_HELIOS_SIMU_ALR2_1529593767_1834011863.xml");
    std::fs::copy(&simu, &fake).unwrap();
    match build_sip(&flow("pes"), &[simu, fake.clone()], &ctx(), &tmp.path().join("x.zip")).unwrap_err() {
        FlowError::AttachmentMismatch {
            file,
            attachment,
            found,
            ..
        } => {
            assert_eq!(file, fake);
            assert_eq!(attachment, "acquit");
            assert!(found.ends_with("}PES_Aller"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_names_empty_files_and_no_payloads_are_refused() {
    let Some(simu) = shared_path("corpus/flows/pes/HELIOS_SIMU_ALR2_1529593767_1834011863.xml") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.zip");
    let other_dir = tmp.path().join("b");
    std::fs::create_dir(&other_dir).unwrap();
    let twin = other_dir.join(simu.file_name().unwrap());
    std::fs::copy(&simu, &twin).unwrap();
    assert!(matches!(
        build_sip(&flow("pes"), &[simu, twin], &ctx(), &out),
        Err(FlowError::DuplicateName { .. })
    ));
    let empty = tmp.path().join("empty.xml");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        build_sip(&flow("pes"), &[empty], &ctx(), &out),
        Err(FlowError::EmptyFile { .. })
    ));
    assert!(matches!(
        build_sip(&flow("pes"), &[], &ctx(), &out),
        Err(FlowError::NoPayloads)
    ));
    assert!(matches!(
        build_sip(&flow("pes"), &[other_dir], &ctx(), &out),
        Err(FlowError::NotAFile { .. })
    ));
}

#[test]
fn a_rejecting_agreement_refuses_a_format_it_does_not_allow() {
    let Some(simu) = shared_path("corpus/flows/pes/HELIOS_SIMU_ALR2_1529593767_1834011863.xml") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut flow = flow("pes");
    flow.profile.allowed_formats.clear();
    flow.agreement.allowed_formats = vec!["fmt/354".into()];
    match build_sip(&flow, std::slice::from_ref(&simu), &ctx(), &tmp.path().join("x.zip")).unwrap_err() {
        FlowError::FormatRejected { file, puid, by, .. } => {
            assert_eq!(file, simu);
            assert_eq!(puid, "fmt/101");
            assert_eq!(by, "agreement IC-PES");
        }
        other => panic!("{other:?}"),
    }
    assert_nothing_written(tmp.path());
    // The same under a warning policy builds, and says so.
    flow.agreement.on_format_mismatch = archipel_archive::flows::MismatchPolicy::Warn;
    let report = build_sip(&flow, &[simu], &ctx(), &tmp.path().join("y.zip")).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("fmt/101") && w.contains("IC-PES")),
        "{:?}",
        report.warnings
    );
}

fn pes_toml() -> &'static str {
    BUILTIN_FLOWS.iter().find(|(n, _)| *n == "pes.toml").unwrap().1
}

fn definition_error(text: &str) -> String {
    match FlowDefinition::from_toml_str(text, "flows/test.toml") {
        Err(e @ FlowError::Definition { .. }) => {
            let m = e.to_string();
            assert!(m.contains("flows/test.toml"), "{m}");
            println!("{m}\n---");
            m
        }
        other => panic!("expected a definition error, got {other:?}"),
    }
}

#[test]
fn malformed_flow_definitions_name_the_key() {
    // Unknown key, in a nested table.
    let m = definition_error(&pes_toml().replace("[profile]\n", "[profile]\ncolour = \"red\"\n"));
    assert!(m.contains("colour"), "{m}");
    // Unknown top-level key.
    let m = definition_error(&format!("flavour = 1\n{}", pes_toml()));
    assert!(m.contains("flavour"), "{m}");
    // Missing key.
    let m = definition_error(&pes_toml().replace("storage_namespace_suffix = \"pes\"\n", ""));
    assert!(m.contains("storage_namespace_suffix"), "{m}");
    // Bad value in an enumeration.
    let m = definition_error(&pes_toml().replace("seda_version = \"2.2\"", "seda_version = \"3.0\""));
    assert!(m.contains("seda_version") || m.contains("3.0"), "{m}");
    let m = definition_error(&pes_toml().replace("final_action = \"Destroy\"", "final_action = \"Burn\""));
    assert!(m.contains("Burn"), "{m}");
    // A bad element path, named with its line.
    let m = definition_error(&pes_toml().replace("Enveloppe/Parametres/NomFic/@V", "Enveloppe//NomFic/@V"));
    assert!(m.contains("empty step") && m.contains("line"), "{m}");
    // A template naming a field that does not exist.
    let m =
        definition_error(&pes_toml().replace("title = \"PES {NomFic} — {CodCol}\"", "title = \"PES {NomFichier}\""));
    assert!(m.contains("title") && m.contains("NomFichier"), "{m}");
    // Rules naming a field the document lacks.
    let m = definition_error(&pes_toml().replace("start_date = \"{DteStr}\" }", "start_date = \"{DateActe}\" }"));
    assert!(m.contains("DateActe"), "{m}");
    // Bad PUID, bad id.
    let m = definition_error(&pes_toml().replace(
        "allowed_formats = [\"fmt/101\"]\n\n[agreement]",
        "allowed_formats = [\"pdf\"]\n\n[agreement]",
    ));
    assert!(m.contains("'pdf'"), "{m}");
    let m = definition_error(&pes_toml().replace("id = \"pes\"", "id = \"PES flux\""));
    assert!(m.contains("id"), "{m}");
    // Not TOML at all.
    definition_error("this is = = not toml");
}

#[test]
fn load_dir_reads_every_definition_and_refuses_duplicate_ids() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in BUILTIN_FLOWS {
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    let flows = archipel_archive::flows::load_dir(tmp.path()).unwrap();
    let ids: Vec<_> = flows.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["actes", "marches", "pes"]);
    std::fs::write(tmp.path().join("pes-copy.toml"), pes_toml()).unwrap();
    let err = archipel_archive::flows::load_dir(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("two flows have id 'pes'"), "{err}");
    // A broken file is named.
    std::fs::write(tmp.path().join("pes-copy.toml"), "id = ").unwrap();
    let err = archipel_archive::flows::load_dir(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("pes-copy.toml"), "{err}");
}

#[test]
fn a_file_claimed_by_two_groups_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let desc = |id: &str| {
        format!(
            "<?xml version=\"1.0\"?><m:DossierMarche xmlns:m=\"urn:archipel:flows:marches:1\"><m:Identifiant>{id}</m:Identifiant>\
             <m:Acheteur>Synthétique</m:Acheteur><m:Objet>Objet</m:Objet><m:DateNotification>2024-01-01</m:DateNotification>\
             <m:Pieces><m:Contrat>contrat.pdf</m:Contrat></m:Pieces></m:DossierMarche>"
        )
    };
    let a = tmp.path().join("a.xml");
    let b = tmp.path().join("b.xml");
    let c = tmp.path().join("contrat.pdf");
    std::fs::write(&a, desc("A")).unwrap();
    std::fs::write(&b, desc("B")).unwrap();
    std::fs::write(&c, b"%PDF-1.4 synthetic").unwrap();
    let err = build_sip(
        &flow("marches"),
        &[a.clone(), b.clone(), c.clone()],
        &ctx(),
        &tmp.path().join("x.zip"),
    )
    .unwrap_err();
    match &err {
        FlowError::AmbiguousAttachment { file, first, second } => {
            assert_eq!((file, first, second), (&c, &a, &b));
        }
        other => panic!("{other:?}"),
    }
    println!("{err}");
}
