//! The pilot flows' rules follow the payload and the law: @ctes individual acts get the
//! 50-year privacy rule, deliberations are public; a works contract's liability runs from the
//! acceptance of the works; unsuccessful bids only are destroyed after 5 years. Signature proofs
//! are archived with the act.

#[path = "flows_common.rs"]
mod common;

use archipel_archive::flows::{build_sip, FlowDefinition, BUILTIN_FLOWS};
use common::*;

/// `(rule, start date)` of every `<{category}>` block of the manifest, in document order.
fn rules(manifest: &str, category: &str) -> Vec<(String, Option<String>)> {
    let open = format!("<{category}>");
    let close = format!("</{category}>");
    let text = |block: &str, tag: &str| {
        let start = block.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = block[start..].find(&format!("</{tag}>"))? + start;
        Some(block[start..end].to_owned())
    };
    manifest
        .split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(block, _)| block))
        .map(|block| (text(block, "Rule").unwrap_or_default(), text(block, "StartDate")))
        .collect()
}

fn act_payloads(tmp: &std::path::Path, nature: &str, pdf: &[u8]) -> Option<Vec<std::path::PathBuf>> {
    let dir = shared_path("corpus/flows/actes")?;
    let ar = std::fs::read(dir.join("ar-actes.xml")).unwrap();
    // The real acknowledgement is an individual act (nature 3); other natures are the same
    // bytes with the nature attribute changed.
    let ar = String::from_utf8_lossy(&ar).replace(
        "actes:CodeNatureActe=\"3\"",
        &format!("actes:CodeNatureActe=\"{nature}\""),
    );
    let ar_path = tmp.join(format!("ar-{nature}.xml"));
    std::fs::write(&ar_path, ar.as_bytes()).unwrap();
    let act = tmp.join("069-123456789-20130601-20130623C-AI-1-1_1.pdf");
    std::fs::write(&act, pdf).unwrap();
    Some(vec![ar_path, act])
}

#[test]
fn individual_acts_are_closed_fifty_years_and_deliberations_are_public() {
    let tmp = tempfile::tempdir().unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
    for (nature, access) in [("3", "ACC-VP-50Y"), ("1", "AR038"), ("2", "AR038")] {
        let Some(payloads) = act_payloads(tmp.path(), nature, pdf) else {
            return;
        };
        let out = tmp.path().join(format!("actes-{nature}.zip"));
        let report = build_sip(&flow("actes"), &payloads, &ctx(), &out).unwrap();
        let m = manifest(&out);
        assert_eq!(
            rules(&m, "AccessRule"),
            [(access.to_owned(), Some("2013-06-01".to_owned()))],
            "nature {nature}"
        );
        assert_eq!(
            rules(&m, "AppraisalRule"),
            [("APP-ACTES-10Y".to_owned(), Some("2013-06-01".to_owned()))],
            "the appraisal rule is the same for every nature"
        );
        assert!(
            report.warnings.iter().all(|w| !w.contains("start date")),
            "{:?}",
            report.warnings
        );
        if let Some((ok, text)) = validate(&out) {
            assert!(ok, "{text}");
        }
    }
}

#[test]
fn signature_proofs_are_objects_of_the_act() {
    let tmp = tempfile::tempdir().unwrap();
    let signed = b"%PDF-1.7\n1 0 obj << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] /Contents <00> >> endobj\n%%EOF\n";
    let Some(mut payloads) = act_payloads(tmp.path(), "1", signed) else {
        return;
    };
    let p7s = tmp.path().join("069-123456789-20130601-20130623C-AI-1-1_1.pdf.p7s");
    std::fs::write(&p7s, [0x30u8, 0x82, 0x01, 0x00, 0x06, 0x09]).unwrap();
    payloads.push(p7s);
    let out = tmp.path().join("signed.zip");
    let report = build_sip(&flow("actes"), &payloads, &ctx(), &out).unwrap();
    let g = &report.groups[0];
    let roles: Vec<_> = g.files.iter().map(|f| f.role.as_str()).collect();
    assert_eq!(
        roles,
        ["main", "acte", "signature-acte"],
        "the ARActe, the act and its signature"
    );
    let sig = g.files.iter().find(|f| f.role == "signature-acte").unwrap();
    assert_eq!(sig.mime.as_deref(), Some("application/pkcs7-signature"));
    let m = manifest(&out);
    assert!(
        m.contains("Signature électronique intégrée au PDF : PAdES (ETSI.CAdES.detached)."),
        "{m}"
    );
    assert!(
        m.contains("Signature électronique détachée de l&apos;acte")
            || m.contains("Signature électronique détachée de l'acte"),
        "{m}"
    );
    if let Some((ok, text)) = validate(&out) {
        assert!(ok, "{text}");
    }
}

/// SYNTHETIC procurement description (no real one exists in the corpus).
fn marche(nature: &str, reception: Option<&str>) -> String {
    let reception = reception
        .map(|d| format!("<m:DateReceptionTravaux>{d}</m:DateReceptionTravaux>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- SYNTHETIC test data: not a real procurement file. -->
<m:DossierMarche xmlns:m="urn:archipel:flows:marches:1">
  <m:Identifiant>2024-MP-017</m:Identifiant><m:Acheteur>Commune synthétique</m:Acheteur>
  <m:Objet>Objet synthétique</m:Objet><m:Nature>{nature}</m:Nature>
  <m:DateNotification>2024-05-15</m:DateNotification>{reception}
  <m:Pieces><m:Offre>perdante.pdf</m:Offre><m:OffreRetenue>gagnante.pdf</m:OffreRetenue>
  <m:Contrat>contrat.pdf</m:Contrat></m:Pieces>
</m:DossierMarche>"#
    )
}

#[test]
fn the_builders_liability_runs_from_the_acceptance_and_only_losing_bids_go_after_five_years() {
    let Some(pdf) = pdfa_sample() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in ["perdante.pdf", "gagnante.pdf", "contrat.pdf"] {
        let p = tmp.path().join(name);
        std::fs::copy(&pdf, &p).unwrap();
        files.push(p);
    }
    let cases = [
        (
            "Marché de travaux",
            Some("2025-03-10"),
            ("APP-MP-TRAVAUX-10Y", Some("2025-03-10")),
        ),
        ("Marché de travaux", None, ("APP-MP-TRAVAUX-10Y", None)),
        ("Marché de fournitures", None, ("APP-MP-10Y", Some("2024-05-15"))),
    ];
    for (n, (nature, reception, (rule, start))) in cases.into_iter().enumerate() {
        let desc = tmp.path().join(format!("dossier-{n}.xml"));
        std::fs::write(&desc, marche(nature, reception)).unwrap();
        let mut payloads = vec![desc];
        payloads.extend(files.iter().cloned());
        let out = tmp.path().join(format!("marche-{n}.zip"));
        let report = build_sip(&flow("marches"), &payloads, &ctx(), &out).unwrap();
        let m = manifest(&out);
        let appraisal = rules(&m, "AppraisalRule");
        // The file's rule first, then the losing bid's own; the winning bid follows the file.
        assert_eq!(
            appraisal,
            [
                (rule.to_owned(), start.map(str::to_owned)),
                ("APP-MP-OFFRE-5Y".to_owned(), Some("2024-05-15".to_owned())),
            ],
            "{nature} {reception:?}"
        );
        assert_eq!(
            m.matches("<Rule>ACC-SA-25Y</Rule>").count(),
            2,
            "both bids are trade secrets"
        );
        let warned = report
            .warnings
            .iter()
            .any(|w| w.contains("APP-MP-TRAVAUX-10Y") && w.contains("no start date"));
        assert_eq!(warned, start.is_none(), "{:?}", report.warnings);
        if let Some((ok, text)) = validate(&out) {
            assert!(ok, "{text}");
        }
    }
}

fn definition_error(text: &str) -> String {
    match FlowDefinition::from_toml_str(text, "flows/test.toml") {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_rules_case_must_name_a_field_and_its_legal_basis() {
    let actes = BUILTIN_FLOWS.iter().find(|(n, _)| *n == "actes.toml").unwrap().1;
    assert!(FlowDefinition::from_toml_str(actes, "actes.toml").is_ok());
    let m = definition_error(&actes.replace("field = \"CodeNatureActe\"", "field = \"Nature\""));
    assert!(m.contains("rules_when[0]") && m.contains("'Nature'"), "{m}");
    let m = definition_error(&actes.replace(
        "basis = \"Code du patrimoine L213-2 I 3° (vie privée) : 50 ans à compter de la date de l'acte\"",
        "basis = \" \"",
    ));
    assert!(m.contains("basis"), "{m}");
}
