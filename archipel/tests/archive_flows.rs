//! The three pilot flows end to end: SIPs built by `archipel archive build-sip` from real
//! payloads (synthetic for procurement), flows installed by configuration, transfers accepted.

mod archive_common;
mod common;

use std::path::{Path, PathBuf};

use archive_common::{seda_valid, shared, Front};
use common::serial;

/// A SYNTHETIC procurement description (there is no real one in the corpus).
const SYNTHETIC_MARCHE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<m:DossierMarche xmlns:m="urn:archipel:flows:marches:1">
  <m:Identifiant>2024-MP-017</m:Identifiant>
  <m:Acheteur siret="00000000000000">Commune synthétique</m:Acheteur>
  <m:Objet>Réfection de la toiture de l'école</m:Objet>
  <m:Nature>Marché de travaux</m:Nature>
  <m:Procedure>Procédure adaptée</m:Procedure>
  <m:CodeCPV>45261000-4</m:CodeCPV>
  <m:DateLancement>2024-02-01</m:DateLancement>
  <m:DateNotification>2024-05-15</m:DateNotification>
  <m:Montant>184000.00</m:Montant>
  <m:Titulaire>Toitures Synthétiques SARL</m:Titulaire>
  <m:Pieces>
    <m:DCE>dce.pdf</m:DCE>
    <m:Offre>offre.pdf</m:Offre>
    <m:RapportAnalyse>rapport.pdf</m:RapportAnalyse>
    <m:Contrat>contrat.pdf</m:Contrat>
    <m:Notification>notification.pdf</m:Notification>
  </m:Pieces>
</m:DossierMarche>
"#;

fn build(front: &Front, flow: &str, payloads: &[PathBuf], out: &Path) {
    let mut args = vec![
        "build-sip".to_owned(),
        "--flow".into(),
        flow.into(),
        "--archival-agency".into(),
        "FRAD-VILLE".into(),
        "--transferring-agency".into(),
        "SV-FINANCES".into(),
        "-o".into(),
        out.to_str().unwrap().into(),
        "--json".into(),
    ];
    args.extend(payloads.iter().map(|p| p.to_str().unwrap().to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = front.json(&front.operator, &refs);
    assert_eq!(report["flow"], flow, "{report:#}");
    if let Some(r) = seda_valid(out) {
        r.unwrap_or_else(|e| panic!("{flow} SIP is not valid SEDA: {e}"));
    }
}

#[test]
fn pilot_flows_are_built_installed_and_ingested() {
    let _g = serial();
    let flows = shared().join("corpus/flows");
    let pdf = shared().join("pronom/skeleton-suite/fmt/fmt-354-signature-id-521.pdf");
    if !flows.is_dir() || !pdf.is_file() {
        eprintln!("SKIP: ../shared/corpus/flows or the PDF/A sample is absent");
        return;
    }
    let front = Front::start();
    front.json(
        &front.operator,
        &["tenant", "add", "ville", "--archival-agency", "FRAD-VILLE", "--json"],
    );
    let archivist = front.token("ville", "archivist", None);
    for flow in ["pes", "actes", "marches"] {
        let v = front.json(
            &archivist,
            &[
                "flow",
                "install",
                "--tenant",
                "ville",
                "--flow",
                flow,
                "--transferring-agency",
                "SV-FINANCES",
                "--json",
            ],
        );
        assert_eq!(v["flow"], flow, "{v:#}");
    }
    let agency = front.token("ville", "transferring-agency", Some("SV-FINANCES"));
    let dir = front.dir.path();

    let pes = dir.join("pes.zip");
    build(
        &front,
        "pes",
        &[
            flows.join("pes/PESALR2_49101169800000_171227_2045.xml"),
            flows.join("pes/ACQUIT_PESALR2_49101169800000_171227_2045.xml"),
        ],
        &pes,
    );
    let act_pdf = dir.join("069-123456789-20130601-20130623C-AI-1-1_1.pdf");
    std::fs::copy(&pdf, &act_pdf).unwrap();
    let actes = dir.join("actes.zip");
    build(&front, "actes", &[flows.join("actes/ar-actes.xml"), act_pdf], &actes);
    let desc = dir.join("dossier-2024-MP-017.xml");
    std::fs::write(&desc, SYNTHETIC_MARCHE).unwrap();
    let mut payloads = vec![desc];
    for name in ["dce.pdf", "offre.pdf", "rapport.pdf", "contrat.pdf", "notification.pdf"] {
        let p = dir.join(name);
        std::fs::copy(&pdf, &p).unwrap();
        payloads.push(p);
    }
    let marches = dir.join("marches.zip");
    build(&front, "marches", &payloads, &marches);

    for (flow, sip) in [("pes", &pes), ("actes", &actes), ("marches", &marches)] {
        let (v, _) = front.transfer(&agency, "ville", sip);
        assert!(v["status"] == "OK" || v["status"] == "WARNING", "{flow}: {v:#}");
        let hits = front.json(&archivist, &["search", "--tenant", "ville", "--flow", flow, "--json"]);
        assert!(
            hits["total"].as_u64().unwrap() >= 1,
            "{flow} units are searchable by flow: {hits:#}"
        );
    }
    // The PES unit carries the payload's own metadata and its computed appraisal end.
    let hits = front.json(
        &archivist,
        &[
            "search",
            "--tenant",
            "ville",
            "PESALR2_49101169800000_171227_2045",
            "--json",
        ],
    );
    assert!(hits["total"].as_u64().unwrap() >= 1, "{hits:#}");
    let unit = front.json(
        &archivist,
        &[
            "unit",
            "--tenant",
            "ville",
            hits["hits"][0]["unit_id"].as_str().unwrap(),
        ],
    );
    let rules = unit["rules"].as_array().unwrap();
    let appraisal = rules
        .iter()
        .find(|r| r["category"] == "AppraisalRule")
        .unwrap_or_else(|| panic!("{unit:#}"));
    assert_eq!(appraisal["rule_id"], "APP-PES-10Y");
    assert!(appraisal["end_date"].is_string(), "{unit:#}");

    // The corpus act is an individual act (nature 3): closed 50 years from its date.
    let hits = front.json(
        &archivist,
        &["search", "--tenant", "ville", "--flow", "actes", "TESTC", "--json"],
    );
    let act = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["title"].as_str().is_some_and(|t| t.starts_with("Acte 20130623C")))
        .unwrap_or_else(|| panic!("{hits:#}"));
    let unit = front.json(
        &archivist,
        &["unit", "--tenant", "ville", act["unit_id"].as_str().unwrap()],
    );
    let access = unit["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["category"] == "AccessRule")
        .unwrap_or_else(|| panic!("{unit:#}"));
    assert_eq!(access["rule_id"], "ACC-VP-50Y", "{unit:#}");
    assert_eq!(access["end_date"], "2063-06-01", "{unit:#}");

    // A plain (non PDF/A) act: build-sip warns, and the flow's agreement accepts it with a
    // WARNING instead of refusing what the build let through.
    let plain = shared().join("pronom/skeleton-suite/fmt/fmt-18-signature-id-20.pdf");
    let pronom = shared().join("pronom");
    if plain.is_file() && pronom.is_dir() {
        let act_pdf = dir.join("plain").join("069-123456789-20130601-20130623C-AI-1-1_1.pdf");
        std::fs::create_dir_all(act_pdf.parent().unwrap()).unwrap();
        std::fs::copy(&plain, &act_pdf).unwrap();
        let sip = dir.join("actes-plain.zip");
        let ar = flows.join("actes/ar-actes.xml");
        let report = front.json(
            &front.operator,
            &[
                "build-sip",
                "--flow",
                "actes",
                "--archival-agency",
                "FRAD-VILLE",
                "--transferring-agency",
                "SV-FINANCES",
                "--pronom-dir",
                pronom.to_str().unwrap(),
                "-o",
                sip.to_str().unwrap(),
                "--json",
                ar.to_str().unwrap(),
                act_pdf.to_str().unwrap(),
            ],
        );
        assert!(report["warnings"].to_string().contains("not allowed"), "{report:#}");
        let (v, _) = front.transfer(&agency, "ville", &sip);
        assert_eq!(v["reply_code"], "WARNING", "{v:#}");
        assert!(v["warnings"].to_string().contains("not allowed"), "{v:#}");
    } else {
        eprintln!("SKIP: ../shared/pronom is absent; plain PDF acts not checked");
    }
}
