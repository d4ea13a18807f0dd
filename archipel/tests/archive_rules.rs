//! Management rules end to end: a rules referential shaped like Vitam's exports, SIPs with units
//! of several parents, PreventInheritance, RefNonRuleId, HoldRule and ManagementMetadata, and the
//! inherited rules view of `GET /v1/tenants/{t}/units/{id}` (via `archipel archive unit`).

mod archive_common;
mod common;

use std::path::Path;

use archive_common::{region, seda_valid, shared, zip, Front, Tenant};
use common::serial;
use serde_json::Value;

/// Vitam's columns, a multi-line quoted description, measurements in several cases, an unlimited
/// rule and a hold with an undefined duration.
const RULES: &str = "RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\n\
ACC-00001,AccessRule,Communicable,\"Librement communicable,\ndès la transmission\",0,YEAR\n\
ACC-00002,AccessRule,25 ans,\"Secret des délibérations\n(art. L213-2, I, 1°)\",25,Year\n\
ACC-00003,AccessRule,50 ans,,50,year\n\
ACC-00004,AccessRule,75 ans,,75,YEAR\nACC-00005,AccessRule,100 ans,,100,YEAR\nACC-00036,AccessRule,Secret,,25,YEAR\n\
APP-00001,AppraisalRule,10 ans,,10,YEAR\nAPP-00002,AppraisalRule,5 ans,,5,YEAR\n\
CLASS-00001,ClassificationRule,Classement,,10,YEAR\n\
DIS-00001,DisseminationRule,Diffusion,,75,YEAR\nDIS-00002,DisseminationRule,Diffusion,,25,YEAR\n\
REU-00001,ReuseRule,Réutilisation,,0,YEAR\nSTO-00001,StorageRule,Conservation,,5,YEAR\n\
STO-INF,StorageRule,Illimitée,,unlimited,YEAR\n\
HOL-00001,HoldRule,Gel judiciaire,\"Tant que la procédure\nest pendante\",,\n";

/// R (root, with ManagementMetadata) has children A and B; C is described under A and linked
/// from B, so it has two parents. A stops AccessRule inheritance, B refuses ACC-00002 and holds.
fn dag_manifest(start_date: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
<Date>2026-11-25T10:00:00</Date><MessageIdentifier>MSG-RULES-{start_date}</MessageIdentifier><ArchivalAgreement>AGR-TEST</ArchivalAgreement>\
<CodeListVersions/><DataObjectPackage><DescriptiveMetadata>\
<ArchiveUnit id=\"R\"><Management><AccessRule><Rule>ACC-00003</Rule><StartDate>{start_date}</StartDate></AccessRule><LogBook><Event><EventDateTime>2020-01-01T00:00:00</EventDateTime></Event></LogBook></Management>\
<Content><DescriptionLevel>Series</DescriptionLevel><Title>Racine</Title><StartDate>2000-01-01</StartDate><EndDate>2001-12-31</EndDate></Content>\
<ArchiveUnit id=\"A\"><Management><AccessRule><Rule>ACC-00001</Rule><StartDate>2010-01-01</StartDate><PreventInheritance>true</PreventInheritance></AccessRule></Management>\
<Content><DescriptionLevel>File</DescriptionLevel><Title>Dossier A</Title></Content>\
<ArchiveUnit id=\"C\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>Pièce C</Title></Content></ArchiveUnit></ArchiveUnit>\
<ArchiveUnit id=\"B\"><Management><AccessRule><RefNonRuleId>ACC-00002</RefNonRuleId></AccessRule>\
<HoldRule><Rule>HOL-00001</Rule><StartDate>2024-01-01</StartDate><HoldEndDate>2030-06-30</HoldEndDate><HoldOwner>Tribunal judiciaire</HoldOwner><HoldReason>Contentieux</HoldReason><PreventRearrangement>true</PreventRearrangement></HoldRule></Management>\
<Content><DescriptionLevel>File</DescriptionLevel><Title>Dossier B</Title></Content>\
<ArchiveUnit id=\"BC\"><ArchiveUnitRefId>C</ArchiveUnitRefId></ArchiveUnit></ArchiveUnit>\
</ArchiveUnit></DescriptiveMetadata>\
<ManagementMetadata><AcquisitionInformation>Versement</AcquisitionInformation><LegalStatus>Public Archive</LegalStatus>\
<OriginatingAgencyIdentifier>Identifier5</OriginatingAgencyIdentifier><SubmissionAgencyIdentifier>Identifier5</SubmissionAgencyIdentifier>\
<StorageRule><Rule>STO-INF</Rule><FinalAction>Copy</FinalAction></StorageRule>\
<AppraisalRule><Rule>APP-00001</Rule><StartDate>2001-01-01</StartDate><FinalAction>Destroy</FinalAction></AppraisalRule>\
<AccessRule><Rule>ACC-00002</Rule><StartDate>2000-01-01</StartDate></AccessRule>\
<NeedAuthorization>true</NeedAuthorization></ManagementMetadata></DataObjectPackage>\
<ArchivalAgency><Identifier>Identifier4</Identifier></ArchivalAgency><TransferringAgency><Identifier>Identifier5</Identifier></TransferringAgency></ArchiveTransfer>"
    )
}

/// Archipel's id of the unit the SIP calls `sip_id`, from the ATR.
fn system_id(atr: &str, sip_id: &str) -> String {
    let at = atr
        .find(&format!("<ArchiveUnit id=\"{sip_id}\">"))
        .unwrap_or_else(|| panic!("unit {sip_id} not in the ATR:\n{atr}"));
    let rest = &atr[at..];
    let start = rest.find("<SystemId>").unwrap() + "<SystemId>".len();
    rest[start..start + rest[start..].find("</SystemId>").unwrap()].to_owned()
}

fn rules_of<'a>(unit: &'a Value, rule_id: &str) -> Vec<&'a Value> {
    unit["inherited_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule_id"] == rule_id)
        .collect()
}

struct Setup {
    front: Front,
    archivist: String,
    agency: String,
}

fn setup() -> Setup {
    let front = Front::start();
    let Tenant {
        archivist,
        agency,
        rules: imported,
    } = region(&front, RULES, &["IC-000001", "ArchivalAgreement0", "AGR-TEST"]);
    let acc2 = imported
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "ACC-00002")
        .unwrap();
    assert!(
        acc2["description"]
            .as_str()
            .unwrap()
            .contains("délibérations\n(art. L213-2, I, 1°)"),
        "{acc2}"
    );
    Setup {
        front,
        archivist,
        agency,
    }
}

fn unit(s: &Setup, atr: &str, sip_id: &str) -> Value {
    s.front
        .json(&s.archivist, &["unit", "--tenant", "region", &system_id(atr, sip_id)])
}

fn transfer_manifest(s: &Setup, name: &str, xml: &str) -> (Value, String) {
    let sip = s.front.dir.path().join(name);
    zip(&sip, &[("manifest.xml", xml.as_bytes())]);
    let (v, atr) = s.front.transfer(&s.agency, "region", &sip);
    let text = std::fs::read_to_string(&atr).unwrap_or_default();
    if let Some(result) = seda_valid(&atr) {
        result.unwrap_or_else(|e| panic!("ATR {} is not valid SEDA: {e}", atr.display()));
    }
    (v, text)
}

#[test]
fn inherited_rules_follow_every_path() {
    let _g = serial();
    let s = setup();
    let (v, atr) = transfer_manifest(&s, "dag.zip", &dag_manifest("2000-01-01"));
    assert_eq!(v["status"], "OK", "{v:#}");
    let ids = |r: &Value, key: &str| -> Vec<String> {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    };

    // The root: ManagementMetadata's rules are its own, beside the one it declares.
    let root = unit(&s, &atr, "R");
    assert_eq!(root["title"], "Racine");
    assert_eq!(root["sip_id"], "R");
    let own: Vec<&str> = root["own_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    for id in ["ACC-00003", "ACC-00002", "APP-00001", "STO-INF"] {
        assert!(own.contains(&id), "{id} should be the root's own: {root:#}");
    }
    let sto = rules_of(&root, "STO-INF")[0];
    assert_eq!(
        (sto["end_date"].clone(), sto["end_kind"].clone()),
        (Value::Null, "unlimited".into())
    );
    assert_eq!(sto["final_action"], "Copy");
    assert_eq!(root["need_authorization"], true);
    assert_eq!(root["legal_status"], "Public Archive");
    assert_eq!(root["acquisition_information"], "Versement");
    assert_eq!(root["submission_agency"], "Identifier5");
    assert!(root["logbook"]["Event"].is_object(), "{root:#}");
    // The referential versions it was accepted under (agreements start at version 1).
    assert_eq!(root["agreement"], "AGR-TEST", "{root:#}");
    assert_eq!(root["agreement_version"], 1, "{root:#}");
    assert!(root["rules_version"].as_u64().is_some(), "{root:#}");

    // C has two parents. Through A (PreventInheritance on AccessRule) it gets only A's access
    // rule; through B (RefNonRuleId ACC-00002) it gets the root's ACC-00003; the appraisal rule
    // reaches it along both paths, as one entry from the root.
    let c = unit(&s, &atr, "C");
    let c_id = c["id"].as_str().unwrap().to_owned();
    let (r_id, a_id, b_id) = (root["id"].as_str().unwrap(), system_id(&atr, "A"), system_id(&atr, "B"));
    assert_eq!(c["parent_ids"].as_array().unwrap().len(), 2, "{c:#}");
    assert!(c["own_rules"].as_array().unwrap().is_empty());
    let acc1 = rules_of(&c, "ACC-00001");
    assert_eq!(acc1.len(), 1);
    assert_eq!(ids(acc1[0], "unit_ids"), [a_id.as_str()]);
    assert_eq!(acc1[0]["start_date"], "2010-01-01");
    assert_eq!(acc1[0]["end_date"], "2010-01-01");
    let acc3 = rules_of(&c, "ACC-00003");
    assert_eq!(acc3.len(), 1, "{c:#}");
    assert_eq!(ids(acc3[0], "sip_unit_ids"), ["R"]);
    assert_eq!(acc3[0]["paths"], serde_json::json!([[c_id, b_id, r_id]]));
    assert_eq!(acc3[0]["end_date"], "2050-01-01");
    assert!(
        rules_of(&c, "ACC-00002").is_empty(),
        "refused by B, stopped by A: {c:#}"
    );
    let app = rules_of(&c, "APP-00001");
    assert_eq!(app.len(), 1);
    assert_eq!(app[0]["paths"].as_array().unwrap().len(), 2, "{c:#}");
    assert_eq!(
        (app[0]["end_date"].clone(), app[0]["final_action"].clone()),
        ("2011-01-01".into(), "Destroy".into())
    );
    assert_eq!(app[0]["inherited"], true);
    let hold = rules_of(&c, "HOL-00001");
    assert_eq!(hold.len(), 1);
    assert_eq!(hold[0]["end_date"], "2030-06-30");
    assert_eq!(hold[0]["end_kind"], "hold_end_date");
    assert_eq!(hold[0]["hold"]["hold_owner"], "Tribunal judiciaire");
    assert_eq!(hold[0]["hold"]["prevent_rearrangement"], true);
    assert_eq!(ids(hold[0], "sip_unit_ids"), ["B"]);
    let need: Vec<&Value> = c["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "NeedAuthorization")
        .collect();
    assert_eq!((need.len(), need[0]["sip_unit_ids"][0].clone()), (1, "R".into()));

    // A sees only its own access rule.
    let a = unit(&s, &atr, "A");
    let access: Vec<&str> = a["inherited_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["category"] == "AccessRule")
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(access, ["ACC-00001"]);
    assert!(
        atr.contains("fin 2030-06-30 (HoldEndDate)") && atr.contains("sans fin (règle illimitée)"),
        "{atr}"
    );

    // The catalog rebuilt from the AIPs gives the same view.
    s.front.json(&s.archivist, &["reindex", "--tenant", "region", "--json"]);
    let again = unit(&s, &atr, "C");
    assert_eq!(again["inherited_rules"], c["inherited_rules"]);
    assert_eq!(again["properties"], c["properties"]);

    // A later transfer attaches a unit below C by UpdateOperation: it inherits what is in force
    // on C, each rule keeping its origin; an unknown system id is KO, never ignored.
    let attach = |system_id: &str, message: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
<Date>2026-11-25T10:00:00</Date><MessageIdentifier>{message}</MessageIdentifier><ArchivalAgreement>AGR-TEST</ArchivalAgreement>\
<CodeListVersions/><DataObjectPackage><DescriptiveMetadata><ArchiveUnit id=\"N\"><Management><UpdateOperation><SystemId>{system_id}</SystemId></UpdateOperation></Management>\
<Content><DescriptionLevel>Item</DescriptionLevel><Title>Pièce ajoutée</Title></Content></ArchiveUnit></DescriptiveMetadata>\
<ManagementMetadata><OriginatingAgencyIdentifier>Identifier5</OriginatingAgencyIdentifier></ManagementMetadata></DataObjectPackage>\
<ArchivalAgency><Identifier>Identifier4</Identifier></ArchivalAgency><TransferringAgency><Identifier>Identifier5</Identifier></TransferringAgency></ArchiveTransfer>"
        )
    };
    let (v, atr2) = transfer_manifest(&s, "attach.zip", &attach(&c_id, "MSG-ATTACH"));
    assert_eq!(v["status"], "OK", "{v:#}");
    let n = unit(&s, &atr2, "N");
    assert_eq!(n["parent_ids"], serde_json::json!([c_id]));
    let n_acc3 = rules_of(&n, "ACC-00003");
    assert_eq!(ids(n_acc3[0], "sip_unit_ids"), ["R"]);
    assert_eq!(n_acc3[0]["paths"][0].as_array().unwrap().len(), 4, "{n:#}");
    assert_eq!(rules_of(&n, "HOL-00001")[0]["end_date"], "2030-06-30");
    let (v, _) = transfer_manifest(&s, "attach-bad.zip", &attach("0123456789abcdef", "MSG-ATTACH-BAD"));
    assert_eq!(v["status"], "KO", "{v:#}");
    assert!(
        v["reasons"]
            .to_string()
            .contains("UpdateOperation/SystemId: `0123456789abcdef` is no archive unit of tenant `region`"),
        "{v:#}"
    );

    // A longer duration moves the end dates of the units using the rule.
    let changed = s.front.dir.path().join("rules2.csv");
    std::fs::write(
        &changed,
        RULES.replace(
            "ACC-00003,AccessRule,50 ans,,50,year",
            "ACC-00003,AccessRule,60 ans,,60,YEAR",
        ),
    )
    .unwrap();
    let imported = s.front.json(
        &s.archivist,
        &[
            "rules",
            "import",
            "--tenant",
            "region",
            changed.to_str().unwrap(),
            "--json",
        ],
    );
    let acc3_def = imported
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "ACC-00003")
        .unwrap();
    assert_eq!(acc3_def["version"], 2);
    let moved = unit(&s, &atr, "C");
    assert_eq!(rules_of(&moved, "ACC-00003")[0]["end_date"], "2060-01-01");
    assert_eq!(rules_of(&unit(&s, &atr, "R"), "ACC-00003")[0]["end_date"], "2060-01-01");
}

#[test]
fn bad_rule_dates_and_final_actions_are_ko_precisely() {
    let _g = serial();
    let s = setup();
    let (v, _) = transfer_manifest(&s, "bad-date.zip", &dag_manifest("2000-13-01"));
    assert_eq!(v["status"], "KO", "{v:#}");
    let reasons = v["reasons"].to_string();
    assert!(
        reasons.contains("ArchiveUnit R, AccessRule/Rule[ACC-00003]/StartDate"),
        "{reasons}"
    );
    assert!(reasons.contains("`2000-13-01` is not a date"), "{reasons}");

    let no_final = dag_manifest("2000-01-01")
        .replace("MSG-RULES-", "MSG-NOFA-")
        .replace("<FinalAction>Destroy</FinalAction>", "")
        .replace("<EndDate>2001-12-31</EndDate>", "<EndDate>1999-12-31</EndDate>");
    let (v, atr) = transfer_manifest(&s, "no-final.zip", &no_final);
    assert_eq!(v["status"], "KO", "{v:#}");
    let reasons = v["reasons"].to_string();
    assert!(
        reasons.contains("ManagementMetadata, AppraisalRule/FinalAction"),
        "{reasons}"
    );
    assert!(
        reasons.contains("Content/StartDate (2000-01-01) comes after Content/EndDate (1999-12-31)"),
        "{reasons}"
    );
    assert!(atr.contains("<ReplyCode>KO</ReplyCode>") || atr.is_empty(), "{atr}");
}

/// Vitam's own test SIP: PreventInheritance, RefNonRuleId, classification attributes and
/// ManagementMetadata, computed as Vitam's rules say.
#[test]
fn corpus_sip_rules_match_vitam_semantics() {
    let _g = serial();
    let sip = shared().join("corpus/seda/SIP_OK.zip");
    if !sip.is_file() {
        eprintln!("SKIP: ../shared/corpus/seda/SIP_OK.zip is absent; corpus rules not checked");
        return;
    }
    let s = setup();
    let (v, atr_path) = s.front.transfer(&s.agency, "region", Path::new(&sip));
    assert!(v["status"] == "OK" || v["status"] == "WARNING", "{v:#}");
    let atr = std::fs::read_to_string(atr_path).unwrap();
    // ID30 declares ACC-00004 and refuses ACC-00004: its own rule stays (RefNonRuleId only
    // stops what comes from above).
    let id30 = unit(&s, &atr, "ID30");
    let acc4 = rules_of(&id30, "ACC-00004");
    assert_eq!(acc4.len(), 1, "{id30:#}");
    assert_eq!(
        (acc4[0]["inherited"].clone(), acc4[0]["end_date"].clone()),
        (false.into(), "2077-01-01".into())
    );
    // ID28 stops AccessRule inheritance: only its two own rules.
    let id28 = unit(&s, &atr, "ID28");
    let access: Vec<&str> = id28["inherited_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["category"] == "AccessRule")
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(access, ["ACC-00004", "ACC-00005"]);
    // ID10 refuses STO-00001 and APP-00001 from ID8 and stops DisseminationRule.
    let id10 = unit(&s, &atr, "ID10");
    for refused in ["STO-00001", "APP-00001", "DIS-00001"] {
        assert!(rules_of(&id10, refused).is_empty(), "{refused} reached ID10: {id10:#}");
    }
    assert!(
        !rules_of(&id10, "REU-00001").is_empty(),
        "ReuseRule is not stopped: {id10:#}"
    );
    // Every rule in force names an origin that is the unit or one of its ancestors' ids.
    for r in id10["inherited_rules"].as_array().unwrap() {
        assert_eq!(r["unit_ids"].as_array().unwrap().len(), 1);
        let path = &r["paths"][0];
        assert_eq!(path[0], id10["id"]);
        assert_eq!(path.as_array().unwrap().last().unwrap(), &r["unit_ids"][0]);
    }
}
