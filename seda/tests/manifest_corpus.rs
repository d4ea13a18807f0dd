//! Real manifests made by other tools (sedatools, with Vitam extensions): parsed, checked, and
//! compared with facts read in the files by hand.

mod common;

use archipel_seda::digest::{digests_match, DigestAlgorithm, Hasher, MultiHasher};
use archipel_seda::manifest::{parse, ArchiveTransfer, DataObject, ParseLimits, RuleCategory};
use archipel_seda::validate::{check_structure, units_in_order};
use archipel_seda::version::{detect, SedaVersion};

use common::{corpus_file, zip_entry};

fn load(name: &str) -> Option<(Vec<u8>, ArchiveTransfer)> {
    let path = corpus_file(name)?;
    let xml = if name.ends_with(".zip") {
        zip_entry(&path, "manifest.xml")
    } else {
        std::fs::read(&path).unwrap()
    };
    assert_eq!(detect(&xml), Ok(SedaVersion::V2_1));
    let t = parse(&xml, &ParseLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    Some((xml, t))
}

fn counts(t: &ArchiveTransfer) -> (usize, usize, usize, usize, usize) {
    let units = t.all_units();
    let links = units.iter().filter(|u| u.archive_unit_ref_id.is_some()).count();
    let pkg = t.package.as_ref().unwrap();
    let binary = t.binary_objects().len();
    let physical = t.data_objects().len() - binary;
    (units.len(), links, pkg.groups.len(), binary, physical)
}

#[test]
fn test_sip_facts() {
    let Some((_, t)) = load("TestSip.zip") else { return };
    assert_eq!(t.version, SedaVersion::V2_1);
    assert_eq!(t.xml_id.as_deref(), Some("ID1"));
    assert_eq!(t.message_identifier.as_deref(), Some("SIP SEDA de test"));
    assert_eq!(t.date.as_deref(), Some("2018-09-23T16:29:15"));
    assert_eq!(
        t.comments[0].text,
        "Avec valeurs utilisables sur environnement de démo Vitam"
    );
    assert_eq!(t.archival_agreement.as_deref(), Some("ArchivalAgreement0"));
    assert_eq!(t.code_list_versions.len(), 15);
    assert_eq!(t.code_list_versions["ReplyCodeListVersion"], "ReplyCodeListVersion0");
    assert_eq!(t.transfer_request_reply_identifier.as_deref(), Some("Identifier3"));
    assert_eq!(
        t.archival_agency.as_ref().unwrap().identifier.as_deref(),
        Some("Identifier4")
    );
    assert_eq!(
        t.transferring_agency.as_ref().unwrap().identifier.as_deref(),
        Some("Identifier5")
    );
    // 26 ArchiveUnit elements, 4 of them links; 11 groups, 14 binary and 1 physical object.
    assert_eq!(counts(&t), (26, 4, 11, 14, 1));

    let (id13, group) = t.binary_objects().into_iter().find(|(b, _)| b.id == "ID13").unwrap();
    assert_eq!(group, Some("ID12"));
    assert_eq!(id13.uri.as_deref(), Some("content/ID13.eml"));
    assert_eq!(id13.size_bytes(), Some(110350));
    let digest = id13.message_digest.as_ref().unwrap();
    assert_eq!(digest.algorithm.as_deref(), Some("SHA-512"));
    assert!(digest.value.starts_with("d914f779f06bb509"));
    let format = id13.format.as_ref().unwrap();
    assert_eq!(format.format_id.as_deref(), Some("fmt/950"));
    assert_eq!(format.mime_type.as_deref(), Some("message/rfc822"));
    let info = id13.file_info.as_ref().unwrap();
    assert_eq!(info.filename.as_deref(), Some("-79980C36BA239C449A957.eml"));
    assert_eq!(info.last_modified.as_deref(), Some("2018-08-29T02:14:40.547276Z"));
    // Metadata is SEDA (kept as JSON, not an extension).
    let id7 = t.binary_objects().into_iter().find(|(b, _)| b.id == "ID7").unwrap().0;
    assert_eq!(id7.other["Metadata"]["Image"]["Dimensions"], "117x76");

    // The physical object carries five Vitam elements outside the schema.
    let physical = t.data_objects().into_iter().find(|(o, _)| o.id() == "ID18").unwrap().0;
    let DataObject::Physical(p) = physical else {
        panic!("ID18 is physical")
    };
    assert_eq!(p.physical_id.as_deref(), Some("940 W"));
    assert_eq!(p.other["PhysicalDimensions"]["Weight"]["@unit"], "gram");
    let weight = p.dimensions.iter().find(|d| d.name == "Weight").unwrap();
    assert_eq!(weight.unit.as_deref(), Some("gram"), "{:?}", p.dimensions);
    assert_eq!(p.other["Extent"], "1 carte imprimée");
    let ext: Vec<&str> = t.extensions.iter().map(|e| e.element.as_str()).collect();
    assert_eq!(ext, ["Extent", "Dimensions", "Color", "Framing", "Technique"]);
    assert!(t.extensions[0]
        .path
        .ends_with("DataObjectGroup[ID16]/PhysicalDataObject[ID18]"));

    let units = t.all_units();
    let root = units[0];
    assert_eq!(root.id, "ID4");
    assert_eq!(root.content.as_ref().unwrap().title(), Some("Root"));
    let id11 = units.iter().find(|u| u.id == "ID11").unwrap();
    let access = id11.management.as_ref().unwrap().rule(RuleCategory::Access).unwrap();
    assert_eq!(access.rules[0].rule_id, "ACC-00002");
    assert_eq!(access.rules[0].start_date.as_deref(), Some("2015-11-19"));
    let c = id11.content.as_ref().unwrap();
    // Vitam's TextContent and the SEDA Writer stay in the raw Content, entities decoded.
    assert!(c.raw["TextContent"].as_str().unwrap().starts_with("Bonjour,"));
    assert_eq!(c.raw["Addressee"].as_array().unwrap().len(), 2);
    assert_eq!(c.raw["Writer"]["Identifier"], "benjamin.planchot@modernisation.gouv.fr");
    assert!(c.raw["OriginatingSystemId"].as_str().unwrap().starts_with("<79980C36"));
    let id26 = units.iter().find(|u| u.id == "ID26").unwrap();
    assert_eq!(
        id26.content.as_ref().unwrap().title(),
        Some("Node 2.2.1-^@]}êë^$£ê%ùµ_§._,;_!œŒÊ")
    );

    let mm = t.package.as_ref().unwrap().management.as_ref().unwrap();
    assert_eq!(mm.legal_status.as_deref(), Some("Public Archive"));
    assert_eq!(mm.originating_agency_identifier.as_deref(), Some("Service_producteur"));

    assert_eq!(check_structure(&t), []);
}

#[test]
fn test_sip_units_flatten_with_links_resolved() {
    let Some((_, t)) = load("TestSip.zip") else { return };
    let flat = units_in_order(&t).unwrap();
    // 26 units minus the 4 links.
    assert_eq!(flat.len(), 22);
    let pos = |id: &str| flat.iter().position(|f| f.unit.id == id).unwrap();
    let parents = |id: &str| flat[pos(id)].parent_ids.clone();
    assert_eq!(parents("ID4"), Vec::<&str>::new());
    // ID5 is nested in ID4 and linked from ID11 (RefID1).
    assert_eq!(parents("ID5"), ["ID11", "ID4"]);
    assert_eq!(parents("ID35"), ["ID34", "ID4"]);
    assert_eq!(parents("ID27"), ["ID26"]);
    for f in &flat {
        for p in &f.parent_ids {
            assert!(pos(p) < pos(&f.unit.id), "{p} must come before {}", f.unit.id);
        }
    }
}

#[test]
fn test_sip_files_match_their_digests() {
    let Some(path) = corpus_file("TestSip.zip") else { return };
    let Some((_, t)) = load("TestSip.zip") else { return };
    for (b, _) in t.binary_objects() {
        let data = zip_entry(&path, b.uri.as_deref().unwrap());
        assert_eq!(Some(data.len() as u64), b.size_bytes(), "{}", b.id);
        let digest = b.message_digest.as_ref().unwrap();
        let alg = DigestAlgorithm::parse(digest.algorithm.as_deref().unwrap()).unwrap();
        let mut multi = MultiHasher::new(&[alg, DigestAlgorithm::Sha256]);
        for chunk in data.chunks(4096) {
            multi.update(chunk);
        }
        let out = multi.finish();
        assert!(digests_match(&digest.value, &out[0].1), "{}", b.id);
        let mut tampered = Hasher::new(alg);
        tampered.update(&data[1..]);
        assert!(!digests_match(&digest.value, &tampered.finish()), "{}", b.id);
    }
}

#[test]
fn sip_ok_facts() {
    let Some((_, t)) = load("SIP_OK.zip") else { return };
    assert_eq!(
        t.message_identifier.as_deref(),
        Some("Jeu de test complet SEDA 2.1. avec des règles de gestion")
    );
    assert_eq!(t.package.as_ref().unwrap().xml_id.as_deref(), Some("ID2"));
    // 26 ArchiveUnitRefId elements, but one is in Content/RelatedObjectReference: 25 links.
    assert_eq!(counts(&t), (53, 25, 4, 4, 1));
    let units = t.all_units();
    let id4 = units.iter().find(|u| u.id == "ID4").unwrap();
    let c = id4.content.as_ref().unwrap();
    assert_eq!(c.title(), Some("1_Saint Denis Université (ligne 13)"));
    assert_eq!(c.originating_agency_archive_unit_identifiers, ["7890", "QWERTY"]);
    assert_eq!(c.keywords.len(), 2);
    assert_eq!(c.keywords[1].content.as_deref(), Some("Saint-Denis"));
    assert_eq!(c.keywords[1].keyword_type.as_deref(), Some("geogname"));
    assert_eq!(c.transacted_date.as_deref(), Some("2017-01-01"));
    assert_eq!(c.start_date.as_deref(), Some("2017-04-04T08:07:06"));
    assert_eq!(c.raw["Arrangement"], "Hiérarchique");
    assert_eq!(c.raw["Tag"], serde_json::json!(["station", "métropolitain"]));
    assert_eq!(c.raw["Gps"]["GpsAltitude"], "36");

    let id8 = units.iter().find(|u| u.id == "ID8").unwrap();
    let m = id8.management.as_ref().unwrap();
    let storage = m.rule(RuleCategory::Storage).unwrap();
    assert_eq!(storage.rules[0].rule_id, "STO-00001");
    assert_eq!(storage.rules[0].start_date.as_deref(), Some("2000-01-01"));
    assert_eq!(storage.final_action.as_deref(), Some("Copy"));
    assert_eq!(
        m.rule(RuleCategory::Appraisal).unwrap().final_action.as_deref(),
        Some("Destroy")
    );
    let id10 = units
        .iter()
        .find(|u| u.id == "ID10")
        .unwrap()
        .management
        .as_ref()
        .unwrap();
    assert_eq!(
        id10.rule(RuleCategory::Storage).unwrap().ref_non_rule_ids,
        ["STO-00001"]
    );
    assert_eq!(
        id10.rule(RuleCategory::Dissemination).unwrap().prevent_inheritance,
        Some(true)
    );
    let id28 = units
        .iter()
        .find(|u| u.id == "ID28")
        .unwrap()
        .management
        .as_ref()
        .unwrap();
    let ids: Vec<&str> = id28
        .rule(RuleCategory::Access)
        .unwrap()
        .rules
        .iter()
        .map(|r| r.rule_id.as_str())
        .collect();
    assert_eq!(ids, ["ACC-00004", "ACC-00005"]);
    let id50 = units
        .iter()
        .find(|u| u.id == "ID50")
        .unwrap()
        .management
        .as_ref()
        .unwrap();
    let class = id50.rule(RuleCategory::Classification).unwrap();
    assert_eq!(class.classification.level.as_deref(), Some("Confidentiel Défense"));

    let mm = t.package.as_ref().unwrap().management.as_ref().unwrap();
    assert_eq!(mm.acquisition_information.as_deref(), Some("Versement"));
    assert_eq!(mm.rules.need_authorization, Some(true));
    assert_eq!(
        mm.rules.rule(RuleCategory::Access).unwrap().rules[0].rule_id,
        "ACC-00002"
    );
    assert_eq!(
        mm.rules.rule(RuleCategory::Appraisal).unwrap().final_action.as_deref(),
        Some("Keep")
    );

    assert!(t.extensions.is_empty(), "{:?}", t.extensions);
    assert_eq!(check_structure(&t), []);
    // ID10 is linked from ID11 (in ID8) and ID74 (in ID20): two parents.
    let flat = units_in_order(&t).unwrap();
    assert_eq!(flat.len(), 28);
    let id10 = flat.iter().find(|f| f.unit.id == "ID10").unwrap();
    assert_eq!(id10.parent_ids, ["ID20", "ID8"]);
}

#[test]
fn flat_manifest_with_links() {
    let Some((_, t)) = load("SampleWithLinkFlatManifest.xml") else {
        return;
    };
    assert_eq!(t.comments[0].text, "2eme SIP");
    assert_eq!(counts(&t), (47, 25, 11, 14, 1));
    let pkg = t.package.as_ref().unwrap();
    // Flat: every described unit is at the top, links are one level down.
    assert_eq!(pkg.units.len(), 22);
    assert!(pkg.units.iter().all(|u| u.archive_unit_ref_id.is_none()));
    let root = &pkg.units[0];
    assert_eq!(root.id, "ID10");
    let targets: Vec<&str> = root
        .children
        .iter()
        .filter_map(|c| c.archive_unit_ref_id.as_deref())
        .collect();
    assert_eq!(targets, ["ID11", "ID16", "ID17", "ID26", "ID43", "ID56"]);
    assert!(t.extensions.is_empty(), "{:?}", t.extensions);
    assert_eq!(check_structure(&t), []);
    let flat = units_in_order(&t).unwrap();
    assert_eq!(flat.len(), 22);
    assert_eq!(flat[0].unit.id, "ID10");
    let id11 = flat.iter().find(|f| f.unit.id == "ID11").unwrap();
    assert_eq!(id11.parent_ids, ["ID10", "ID17"]);
}

#[test]
fn model_round_trips_through_json() {
    let Some((_, t)) = load("SIP_OK.zip") else { return };
    let json = serde_json::to_string(&t).unwrap();
    let back: ArchiveTransfer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
}
