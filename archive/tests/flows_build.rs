//! Building SIPs for the three shipped flows from the real pilot payloads (and, for procurement,
//! a synthetic description), checked against the official SEDA schemas in every version.

#[path = "flows_common.rs"]
mod common;

use archipel_archive::flows::{build_sip, BuildContext};
use common::*;

#[test]
fn pes_sip_from_real_pes_aller_and_acquit_is_valid_in_every_seda_version() {
    let Some(dir) = shared_path("corpus/flows/pes") else {
        return;
    };
    let aller = dir.join("PESALR2_49101169800000_171227_2045.xml");
    let acquit = dir.join("ACQUIT_PESALR2_49101169800000_171227_2045.xml");
    let simu = dir.join("HELIOS_SIMU_ALR2_1529593767_1834011863.xml");
    let tmp = tempfile::tempdir().unwrap();
    for version in VERSIONS {
        let flow = flow_in("pes", version);
        let out = tmp.path().join(format!("pes-{}.zip", version.as_str()));
        let report = build_sip(&flow, &[simu.clone(), aller.clone(), acquit.clone()], &ctx(), &out).unwrap();

        // Metadata, as a naive read of the real files gives it.
        assert_eq!(report.groups.len(), 2);
        let g = report
            .groups
            .iter()
            .find(|g| g.main == "PESALR2_49101169800000_171227_2045.xml")
            .unwrap();
        assert_eq!(g.kind, "pes-aller");
        assert_eq!(g.encoding, "windows-1252", "declared ISO-8859-1");
        assert_eq!(g.metadata["NomFic"], [first_v(&aller, "NomFic")]);
        assert_eq!(g.metadata["DteStr"], [first_v(&aller, "DteStr")]);
        assert_eq!(g.metadata["IdColl"], [first_v(&aller, "IdColl")]);
        assert_eq!(g.metadata["LibelleColBud"], [first_v(&aller, "LibelleColBud")]);
        assert_eq!(
            g.title,
            format!("PES {} — {}", first_v(&aller, "NomFic"), first_v(&aller, "CodCol"))
        );
        // The ACQUIT is paired by name, and only with its own PES_Aller.
        let roles: Vec<_> = g.files.iter().map(|f| (f.name.as_str(), f.role.as_str())).collect();
        assert_eq!(
            roles,
            [
                ("PESALR2_49101169800000_171227_2045.xml", "main"),
                ("ACQUIT_PESALR2_49101169800000_171227_2045.xml", "acquit"),
            ]
        );
        let other = report
            .groups
            .iter()
            .find(|g| g.main == "HELIOS_SIMU_ALR2_1529593767_1834011863.xml")
            .unwrap();
        assert_eq!(other.files.len(), 1);
        assert_eq!(other.metadata["NomFic"], [first_v(&simu, "NomFic")]);
        assert!(report
            .warnings
            .iter()
            .any(|w| w.contains("ACQUIT_HELIOS_SIMU_ALR2_1529593767_1834011863.xml")));

        // Digests and sizes are of the bytes in the zip, which are the payload's bytes.
        let m = manifest(&out);
        for (path, f) in [(&aller, &g.files[0]), (&acquit, &g.files[1])] {
            let bytes = std::fs::read(path).unwrap();
            assert_eq!(zip_entry(&out, &f.uri), bytes);
            assert_eq!(f.sha512, sha512_hex(path));
            assert!(m.contains(&format!(
                "<MessageDigest algorithm=\"SHA-512\">{}</MessageDigest>",
                f.sha512
            )));
            assert!(m.contains(&format!("<Size>{}</Size>", bytes.len())));
        }
        assert!(m.contains(version.namespace()));
        assert!(m.contains("<Rule>APP-PES-10Y</Rule>") && m.contains("<FinalAction>Destroy</FinalAction>"));
        assert!(m.contains("<Rule>ACC-VP-50Y</Rule>"));
        assert!(m.contains("<ArchivalAgreement>IC-PES</ArchivalAgreement>"));
        assert!(m.contains("<ArchivalProfile>PR-PES-ALLER</ArchivalProfile>"));
        assert!(m.contains(&format!(
            "<MessageIdentifier>{}</MessageIdentifier>",
            report.message_identifier
        )));
        assert!(m.contains("<ArchivalAgency>") && m.contains("<Identifier>AD34</Identifier>"));
        assert!(m.contains("<FormatId>fmt/101</FormatId>"));

        if let Some((ok, text)) = validate(&out) {
            assert!(
                ok,
                "SEDA {} manifest rejected by the official schema:\n{text}",
                version.as_str()
            );
        }
    }
}

#[test]
fn message_identifiers_are_fresh() {
    let Some(dir) = shared_path("corpus/flows/pes") else {
        return;
    };
    let simu = dir.join("HELIOS_SIMU_ALR2_1529593767_1834011863.xml");
    let tmp = tempfile::tempdir().unwrap();
    let flow = flow("pes");
    let a = build_sip(&flow, std::slice::from_ref(&simu), &ctx(), &tmp.path().join("a.zip")).unwrap();
    let b = build_sip(&flow, &[simu], &ctx(), &tmp.path().join("b.zip")).unwrap();
    assert_ne!(a.message_identifier, b.message_identifier);
}

#[test]
fn actes_sip_from_real_aracte_classification_and_a_pdfa_is_valid_in_every_seda_version() {
    let Some(dir) = shared_path("corpus/flows/actes") else {
        return;
    };
    let Some(pdf) = pdfa_sample() else { return };
    let ar = dir.join("ar-actes.xml");
    let classification = dir.join("classification-exemple.xml");
    let classification2 = dir.join("999-1234----7-2_1.xml");
    // The act document, under the name the acknowledgement gives it.
    let tmp = tempfile::tempdir().unwrap();
    let act_name = "069-123456789-20130601-20130623C-AI-1-1_1.pdf";
    let act = tmp.path().join(act_name);
    std::fs::copy(&pdf, &act).unwrap();

    let pronom = pronom();
    if pronom.is_none() {
        println!("SKIP (partly): PRONOM signatures absent; formats come from the flow");
    }
    for version in VERSIONS {
        let flow = flow_in("actes", version);
        let out = tmp.path().join(format!("actes-{}.zip", version.as_str()));
        let ctx = BuildContext {
            identifier: pronom,
            ..ctx()
        };
        let report = build_sip(
            &flow,
            &[ar.clone(), act.clone(), classification.clone(), classification2.clone()],
            &ctx,
            &out,
        )
        .unwrap();
        assert_eq!(report.groups.len(), 3);
        let acte = report.groups.iter().find(|g| g.kind == "acte").unwrap();
        assert_eq!(acte.encoding, "windows-1252");
        assert_eq!(acte.metadata["IDActe"], ["069-123456789-20130601-20130623C-AI"]);
        assert_eq!(acte.metadata["DateActe"], ["2013-06-01"]);
        assert_eq!(acte.metadata["NumeroInterne"], ["20130623C"]);
        assert_eq!(acte.metadata["CodeNatureActe"], ["3"]);
        assert_eq!(acte.metadata["Matiere1"], ["3"]);
        assert_eq!(acte.metadata["Objet"], ["TESTC"]);
        assert_eq!(acte.metadata["NomFichier"], [act_name]);
        assert_eq!(acte.title, "Acte 20130623C du 2013-06-01 — TESTC");
        let pdf_file = acte.files.iter().find(|f| f.role == "acte").unwrap();
        assert_eq!(pdf_file.name, act_name);
        assert_eq!(pdf_file.mime.as_deref(), Some("application/pdf"));
        if pronom.is_some() {
            assert_eq!(pdf_file.format_source, "pronom");
            assert_eq!(pdf_file.puid.as_deref(), Some("fmt/354"));
            assert_eq!(acte.files[0].puid.as_deref(), Some("fmt/101"), "{:?}", report.warnings);
        }
        let dates: Vec<_> = report
            .groups
            .iter()
            .filter(|g| g.kind == "classification")
            .map(|g| g.metadata["DateClassification"][0].as_str())
            .collect();
        assert_eq!(dates, ["2019-03-01", "2019-04-18"]);

        let m = manifest(&out);
        assert!(m.contains("<OriginatingAgencyArchiveUnitIdentifier>069-123456789-20130601-20130623C-AI</OriginatingAgencyArchiveUnitIdentifier>"));
        assert!(m.contains("<StartDate>2013-06-01</StartDate>"));
        assert!(m.contains("<Rule>AR038</Rule>") && m.contains("<FinalAction>Keep</FinalAction>"));
        // The real acknowledgement is an individual act (nature 3): privacy, 50 years.
        assert!(m.contains("<Rule>ACC-VP-50Y</Rule>"));
        assert!(m.contains(&format!("<Filename>{act_name}</Filename>")));
        if let Some((ok, text)) = validate(&out) {
            assert!(
                ok,
                "SEDA {} manifest rejected by the official schema:\n{text}",
                version.as_str()
            );
        }
    }
}

/// A procurement description as a partner's tool would send it. SYNTHETIC: there is no real
/// procurement payload in the corpus; names, SIRET and amounts are invented.
const SYNTHETIC_MARCHE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- SYNTHETIC test data: not a real procurement file. -->
<m:DossierMarche xmlns:m="urn:archipel:flows:marches:1">
  <m:Identifiant>2024-MP-017</m:Identifiant>
  <m:Acheteur siret="00000000000000">Commune de Métropolis (synthétique)</m:Acheteur>
  <m:Objet>Réfection de la toiture de l'école &amp; du préau</m:Objet>
  <m:Nature>Marché de travaux</m:Nature>
  <m:Procedure>Procédure adaptée</m:Procedure>
  <m:CodeCPV>45261000-4</m:CodeCPV>
  <m:DateLancement>2024-02-01</m:DateLancement>
  <m:DateNotification>2024-05-15</m:DateNotification>
  <m:Montant>184000.00</m:Montant>
  <m:Titulaire>Toitures Synthétiques SARL</m:Titulaire>
  <m:Pieces>
    <m:DCE>dce-reglement.pdf</m:DCE>
    <m:Offre>offre-toitures.pdf</m:Offre>
    <m:Offre>offre-concurrent.pdf</m:Offre>
    <m:RapportAnalyse>rapport-analyse.pdf</m:RapportAnalyse>
    <m:Contrat>acte-engagement.pdf</m:Contrat>
    <m:Notification>notification.pdf</m:Notification>
  </m:Pieces>
</m:DossierMarche>
"#;

#[test]
fn marches_sip_from_synthetic_description_is_valid_in_every_seda_version() {
    let Some(pdf) = pdfa_sample() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let desc = tmp.path().join("dossier-2024-MP-017.xml");
    std::fs::write(&desc, SYNTHETIC_MARCHE).unwrap();
    let mut payloads = vec![desc.clone()];
    for name in [
        "dce-reglement.pdf",
        "offre-toitures.pdf",
        "offre-concurrent.pdf",
        "rapport-analyse.pdf",
        "acte-engagement.pdf",
        "notification.pdf",
    ] {
        let p = tmp.path().join(name);
        std::fs::copy(&pdf, &p).unwrap();
        payloads.push(p);
    }
    for version in VERSIONS {
        let flow = flow_in("marches", version);
        let out = tmp.path().join(format!("marches-{}.zip", version.as_str()));
        let report = build_sip(&flow, &payloads, &ctx(), &out).unwrap();
        assert_eq!(report.groups.len(), 1);
        let g = &report.groups[0];
        assert_eq!(g.metadata["Identifiant"], ["2024-MP-017"]);
        assert_eq!(g.metadata["Objet"], ["Réfection de la toiture de l'école & du préau"]);
        assert_eq!(g.metadata["Offres"], ["offre-toitures.pdf", "offre-concurrent.pdf"]);
        assert_eq!(g.metadata["AcheteurSiret"], ["00000000000000"]);
        let roles: Vec<_> = g.files.iter().map(|f| f.role.as_str()).collect();
        assert_eq!(
            roles,
            [
                "main",
                "dce",
                "offre",
                "offre",
                "rapport-analyse",
                "contrat",
                "notification"
            ]
        );

        let m = manifest(&out);
        // The bids carry their own rules; the file the flow's.
        assert_eq!(m.matches("<Rule>ACC-SA-25Y</Rule>").count(), 2);
        assert_eq!(m.matches("<Rule>APP-MP-OFFRE-5Y</Rule>").count(), 2);
        // A works contract not yet accepted: the builders' liability rule, start unknown.
        assert_eq!(m.matches("<Rule>APP-MP-TRAVAUX-10Y</Rule>").count(), 1);
        assert!(
            m.contains("<Title>Marché 2024-MP-017 — Réfection de la toiture de l&apos;école &amp; du préau</Title>")
                || m.contains("<Title>Marché 2024-MP-017 — Réfection de la toiture de l'école &amp; du préau</Title>")
        );
        assert!(m.contains("<EndDate>2024-05-15</EndDate>"));
        if let Some((ok, text)) = validate(&out) {
            assert!(
                ok,
                "SEDA {} manifest rejected by the official schema:\n{text}",
                version.as_str()
            );
        }
    }
}

#[test]
fn hostile_file_names_stay_inside_content() {
    let Some(dir) = shared_path("corpus/flows/pes") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join("..PES <&> \"quoted\" é.xml");
    std::fs::copy(dir.join("HELIOS_SIMU_ALR2_1529593767_1834011863.xml"), &odd).unwrap();
    let out = tmp.path().join("odd.zip");
    let report = build_sip(&flow("pes"), &[odd], &ctx(), &out).unwrap();
    let uri = &report.groups[0].files[0].uri;
    assert!(
        uri.starts_with("content/") && !uri.contains("..") && !uri.contains(' '),
        "{uri}"
    );
    let m = manifest(&out);
    assert!(
        m.contains("<Filename>..PES &lt;&amp;&gt; \"quoted\" é.xml</Filename>")
            || m.contains("<Filename>..PES &lt;&amp;&gt; &quot;quoted&quot; é.xml</Filename>"),
        "{m}"
    );
    if let Some((ok, text)) = validate(&out) {
        assert!(ok, "{text}");
    }
}

/// A flow written as configuration only, as an archivist would add one: it reads ISO-8859-1
/// labels from the real classification file.
const CUSTOM_FLOW: &str = r#"
id = "classification-seule"
name = "Nomenclatures @ctes"
description = "Test: a flow added without code."
seda_version = "2.3"

[[document]]
kind = "nomenclature"
label = "Nomenclature"
root = "RetourClassification"
namespace = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
title = "Nomenclature du {Date}"
description = "Natures : {Natures}"
keywords = [{ type = "subject", value = "{Natures}" }]
[document.fields]
Date = { path = "DateClassification", required = true, type = "date" }
Natures = { path = "NaturesActes/NatureActe/@Libelle", multiple = true }
Matieres = { path = "Matieres/Matiere1/@Libelle", multiple = true }
[document.file]
label = "{file_name}"

[rules]
access = { rule = "AR038" }

[profile]
id = "PR-TEST"
required_elements = ["Description", "Keyword"]

[agreement]
id = "IC-TEST"
name = "Test"
on_format_mismatch = "warn"
storage_namespace_suffix = "test"
"#;

#[test]
fn a_flow_added_as_configuration_reads_latin1_labels_from_the_real_classification() {
    let Some(classification) = shared_path("corpus/flows/actes/classification-exemple.xml") else {
        return;
    };
    let flow = archipel_archive::flows::FlowDefinition::from_toml_str(CUSTOM_FLOW, "custom.toml").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("custom.zip");
    let report = build_sip(&flow, std::slice::from_ref(&classification), &ctx(), &out).unwrap();
    let g = &report.groups[0];
    // Read independently: every NatureActe Libelle, decoded as Latin-1 byte by byte.
    let text: String = std::fs::read(&classification)
        .unwrap()
        .iter()
        .map(|&b| b as char)
        .collect();
    let expected: Vec<String> = text
        .match_indices("<actes:NatureActe ")
        .map(|(at, _)| {
            let rest = &text[at..];
            let l = rest.find("actes:Libelle=\"").unwrap() + 15;
            rest[l..l + rest[l..].find('"').unwrap()].to_string()
        })
        .collect();
    assert!(
        expected.iter().any(|l| l.contains('é')),
        "the sample should hold accented labels"
    );
    assert_eq!(g.metadata["Natures"], expected);
    assert!(g.metadata["Matieres"].len() > 3);
    let m = manifest(&out);
    assert!(m.contains("Actes réglementaires"), "UTF-8 in the manifest");
    if let Some((ok, text)) = validate(&out) {
        assert!(ok, "{text}");
    }
}

/// Measurement, not run by default: a PES_Aller grown to ~200 MB (the real file's expense block
/// repeated) is packed in bounded memory. `cargo test --release -p archipel-archive --test
/// flows_build -- --ignored --nocapture`, under `/usr/bin/time -v` for the peak RSS.
#[test]
#[ignore]
fn large_pes_is_streamed() {
    let Some(aller) = shared_path("corpus/flows/pes/PESALR2_49101169800000_171227_2045.xml") else {
        return;
    };
    let bytes = std::fs::read(&aller).unwrap();
    let text: String = bytes.iter().map(|&b| b as char).collect();
    let start = text.find("<PES_DepenseAller>").unwrap();
    let end = text.find("</PES_DepenseAller>").unwrap() + "</PES_DepenseAller>".len();
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("PES_big.xml");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        f.write_all(&bytes[..start]).unwrap();
        let block = &bytes[start..end];
        let copies = (200 << 20) / block.len() + 1;
        for _ in 0..copies {
            f.write_all(block).unwrap();
        }
        f.write_all(&bytes[end..]).unwrap();
    }
    let size = std::fs::metadata(&big).unwrap().len();
    let out = tmp.path().join("big.zip");
    let t = std::time::Instant::now();
    let report = build_sip(&flow("pes"), std::slice::from_ref(&big), &ctx(), &out).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.groups[0].metadata["NomFic"], [first_v(&aller, "NomFic")]);
    println!(
        "MEASURE: {:.0} MB PES_Aller -> {:.1} MB SIP in {secs:.2} s ({:.0} MB/s)",
        size as f64 / 1e6,
        report.sip_bytes as f64 / 1e6,
        size as f64 / 1e6 / secs
    );
}
