//! Manifests that must be refused, each for one precise reason, next to a sound baseline.

mod common;

use archipel_seda::manifest::{parse, ArchiveTransfer, ManifestError, ParseLimits, RuleCategory};
use archipel_seda::validate::{check_structure, units_in_order, StructureError};
use archipel_seda::version::VersionError;

use common::{binary, transfer, unit, SHA512_OF_ABC};

fn parsed(xml: &str) -> ArchiveTransfer {
    parse(xml.as_bytes(), &ParseLimits::default()).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

fn problems(xml: &str) -> Vec<StructureError> {
    check_structure(&parsed(xml))
}

fn codes(xml: &str) -> Vec<&'static str> {
    problems(xml).iter().map(StructureError::code).collect()
}

fn sound(version: &str) -> String {
    transfer(version, &binary("G1", "O1", "content/a.txt"), &unit("U1", "Un", "G1"))
}

#[test]
fn baseline_is_sound_in_every_version() {
    for v in ["2.1", "2.2", "2.3"] {
        let t = parsed(&sound(v));
        assert_eq!(t.version.to_string(), v);
        assert_eq!(check_structure(&t), []);
        assert!(t.extensions.is_empty());
    }
}

#[test]
fn baseline_is_valid_against_the_official_schemas() {
    let validator = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seda/validate");
    let have_xmllint = std::process::Command::new("xmllint").arg("--version").output().is_ok();
    if !validator.exists() || !have_xmllint {
        println!("SKIP: shared/seda/validate or xmllint is absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for v in ["2.1", "2.2", "2.3"] {
        let path = dir.path().join(format!("m{v}.xml"));
        std::fs::write(&path, sound(v)).unwrap();
        let out = std::process::Command::new(&validator).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn doctype_and_entity_bomb() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE ArchiveTransfer [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<ArchiveTransfer xmlns="fr:gouv:culture:archivesdefrance:seda:v2.1"><Comment>&c;</Comment></ArchiveTransfer>"#;
    let e = parse(bomb.as_bytes(), &ParseLimits::default()).unwrap_err();
    assert_eq!(e, ManifestError::Dtd { line: 2 });
    assert_eq!(
        e.to_string(),
        "manifest.xml declares a DTD (line 2); SEDA messages must not: remove the DOCTYPE"
    );
    // External entity (XXE) attempt: refused the same way, nothing is fetched or read.
    let xxe = sound("2.2").replacen(
        "<ArchiveTransfer",
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n<ArchiveTransfer",
        1,
    );
    assert!(matches!(
        parse(xxe.as_bytes(), &ParseLimits::default()),
        Err(ManifestError::Dtd { .. })
    ));
    // An entity used without declaration is named.
    let undeclared = sound("2.1").replace("<Title>Un</Title>", "<Title>&c;</Title>");
    let e = parse(undeclared.as_bytes(), &ParseLimits::default()).unwrap_err();
    assert!(
        matches!(&e, ManifestError::UndefinedEntity { name, path, .. } if name == "c" && path.ends_with("ArchiveUnit[U1]/Content/Title")),
        "{e}"
    );
}

#[test]
fn depth_bomb() {
    let depth = 10_000;
    let units = format!(
        "{}{}",
        "<ArchiveUnit id=\"U\">".repeat(depth),
        "</ArchiveUnit>".repeat(depth)
    );
    let xml = transfer("2.1", "", &units);
    let e = parse(xml.as_bytes(), &ParseLimits::default()).unwrap_err();
    let ManifestError::TooDeep { path, limit, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(*limit, 256);
    assert!(
        path.starts_with(
            "ArchiveTransfer/DataObjectPackage/DescriptiveMetadata/ArchiveUnit[U]/ArchiveUnit[U]/…(246 more)…/"
        ),
        "{path}"
    );
    assert!(e.to_string().contains("deeper than 256"), "{e}");
    // Within the limit, deep trees are fine and flatten with one parent each.
    let units = format!(
        "{}{}",
        (0..200)
            .map(|i| format!("<ArchiveUnit id=\"U{i}\"><Content><Title>t</Title></Content>"))
            .collect::<String>(),
        "</ArchiveUnit>".repeat(200)
    );
    let t = parsed(&transfer("2.1", "", &units));
    let flat = units_in_order(&t).unwrap();
    assert_eq!(flat.len(), 200);
    assert_eq!(flat[199].parent_ids, ["U198"]);
}

#[test]
fn size_and_count_limits() {
    let xml = sound("2.1");
    let small = ParseLimits {
        max_bytes: 100,
        ..ParseLimits::default()
    };
    assert!(matches!(
        parse(xml.as_bytes(), &small),
        Err(ManifestError::TooLarge { .. })
    ));
    let few = ParseLimits {
        max_units: 0,
        ..ParseLimits::default()
    };
    assert!(matches!(
        parse(xml.as_bytes(), &few),
        Err(ManifestError::TooManyUnits { .. })
    ));
    let few = ParseLimits {
        max_objects: 0,
        ..ParseLimits::default()
    };
    assert!(matches!(
        parse(xml.as_bytes(), &few),
        Err(ManifestError::TooManyObjects { .. })
    ));
}

#[test]
fn missing_object_and_group() {
    let units = format!(
        "{}<ArchiveUnit id=\"U2\"><Content><Title>x</Title></Content><DataObjectReference><DataObjectReferenceId>NOPE</DataObjectReferenceId></DataObjectReference></ArchiveUnit>",
        unit("U1", "Un", "G404")
    );
    let xml = transfer("2.1", &binary("G1", "O1", "content/a.txt"), &units);
    let p = problems(&xml);
    assert!(
        p.contains(&StructureError::UnresolvedGroupReference {
            unit: "U1".into(),
            reference: "G404".into(),
            line: 9
        }),
        "{p:?}"
    );
    assert!(p.iter().any(|e| matches!(e, StructureError::UnresolvedObjectReference { unit, reference, .. } if unit == "U2" && reference == "NOPE")));
    // O1 is now referenced by nobody.
    assert!(p
        .iter()
        .any(|e| matches!(e, StructureError::UnreferencedObject { object, .. } if object == "O1")));
    assert_eq!(p.len(), 3, "{p:?}");
}

#[test]
fn unreferenced_object_and_object_reference_by_id() {
    let objects = format!(
        "{}{}",
        binary("G1", "O1", "content/a.txt"),
        binary("G2", "O2", "content/b.txt")
    );
    let xml = transfer("2.2", &objects, &unit("U1", "Un", "G1"));
    let p = problems(&xml);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].code(), "unreferenced_object");
    assert!(p[0].to_string().starts_with("data object O2 (line"), "{}", p[0]);
    // Referencing the object itself (not its group) is enough.
    let units = format!("{}<ArchiveUnit id=\"U2\"><Content><Title>b</Title></Content><DataObjectReference><DataObjectReferenceId>O2</DataObjectReferenceId></DataObjectReference></ArchiveUnit>", unit("U1", "Un", "G1"));
    assert_eq!(problems(&transfer("2.2", &objects, &units)), []);
}

#[test]
fn referencing_one_version_of_a_group_references_the_group() {
    let master = binary("G1", "O1", "content/a.txt");
    let second = binary("G1", "O2", "content/b.txt").replace("BinaryMaster_1", "Dissemination_1");
    // One group holding both versions.
    let objects = format!(
        "{}{}</DataObjectGroup>",
        master.trim_end_matches("</DataObjectGroup>"),
        &second[second.find("<BinaryDataObject").unwrap()..second.len() - "</DataObjectGroup>".len()]
    );
    let units = "<ArchiveUnit id=\"U1\"><Content><Title>b</Title></Content><DataObjectReference><DataObjectReferenceId>O2</DataObjectReferenceId></DataObjectReference></ArchiveUnit>";
    assert_eq!(problems(&transfer("2.2", &objects, units)), []);
}

#[test]
fn recursive_unit_links() {
    // U1 contains a link to U2, U2 a link back to U1.
    let units = r#"<ArchiveUnit id="U1"><Content><Title>a</Title></Content><ArchiveUnit id="L1"><ArchiveUnitRefId>U2</ArchiveUnitRefId></ArchiveUnit><DataObjectReference><DataObjectGroupReferenceId>G1</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>
<ArchiveUnit id="U2"><Content><Title>b</Title></Content><ArchiveUnit id="L2"><ArchiveUnitRefId>U1</ArchiveUnitRefId></ArchiveUnit></ArchiveUnit>"#;
    let t = parsed(&transfer("2.1", &binary("G1", "O1", "content/a.txt"), units));
    let p = check_structure(&t);
    let cycle = StructureError::UnitCycle {
        path: ["U1", "L1", "U2", "L2", "U1"].map(String::from).to_vec(),
    };
    assert_eq!(p, std::slice::from_ref(&cycle));
    assert!(cycle.to_string().contains("U1 -> L1 -> U2 -> L2 -> U1"));
    assert_eq!(units_in_order(&t).unwrap_err(), cycle);
    // A unit linking to itself from inside, and a link to nowhere.
    let units = r#"<ArchiveUnit id="U1"><Content><Title>a</Title></Content><ArchiveUnit id="L1"><ArchiveUnitRefId>U1</ArchiveUnitRefId></ArchiveUnit><ArchiveUnit id="L2"><ArchiveUnitRefId>GHOST</ArchiveUnitRefId></ArchiveUnit><DataObjectReference><DataObjectGroupReferenceId>G1</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>"#;
    let p = problems(&transfer("2.1", &binary("G1", "O1", "content/a.txt"), units));
    assert!(
        p.contains(&StructureError::UnitCycle {
            path: ["U1", "L1", "U1"].map(String::from).to_vec()
        }),
        "{p:?}"
    );
    assert!(p.iter().any(|e| matches!(e, StructureError::UnresolvedUnitLink { unit, target, .. } if unit == "L2" && target == "GHOST")), "{p:?}");
}

#[test]
fn link_units_hold_nothing_else() {
    let units = r#"<ArchiveUnit id="U1"><ArchiveUnitRefId>U2</ArchiveUnitRefId><Content><Title>a</Title></Content></ArchiveUnit>"#;
    let e = parse(transfer("2.1", "", units).as_bytes(), &ParseLimits::default()).unwrap_err();
    assert!(
        matches!(&e, ManifestError::Invalid { path, .. } if path.ends_with("ArchiveUnit[U1]")),
        "{e}"
    );
}

#[test]
fn duplicate_ids() {
    let objects = format!(
        "{}{}",
        binary("G1", "O1", "content/a.txt"),
        binary("G2", "U1", "content/b.txt")
    );
    let units = format!("{}{}", unit("U1", "Un", "G1"), unit("G2", "Deux", "G2"));
    let p = problems(&transfer("2.1", &objects, &units));
    let dups: Vec<&str> = p
        .iter()
        .filter_map(|e| match e {
            StructureError::DuplicateId { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(dups, ["U1", "G2"], "{p:?}");
    assert!(p[0].to_string().contains("data object (line"), "{}", p[0]);
    // A missing id attribute is a parse error naming the element.
    let e = parse(
        transfer("2.1", "", "<ArchiveUnit><Content/></ArchiveUnit>").as_bytes(),
        &ParseLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, ManifestError::MissingAttribute { attribute, path, .. } if attribute == "id" && path.ends_with("DescriptiveMetadata/ArchiveUnit")),
        "{e}"
    );
}

#[test]
fn bad_uris() {
    let cases = [
        ("/etc/passwd", "is absolute"),
        ("file:///etc/passwd", "is an absolute URI with a scheme"),
        ("content/../../../etc/passwd", "climbs out of the SIP with \"..\""),
        ("content\\a.txt", "contains a backslash (use /)"),
        ("C:/Users/a.txt", "starts with a drive letter"),
        ("", "is empty"),
    ];
    for (uri, reason) in cases {
        let p = problems(&transfer("2.1", &binary("G1", "O1", uri), &unit("U1", "Un", "G1")));
        assert_eq!(
            p,
            [StructureError::BadUri {
                object: "O1".into(),
                uri: uri.into(),
                reason,
                line: 7
            }],
            "{uri}"
        );
    }
    let objects = format!(
        "{}{}",
        binary("G1", "O1", "content/a.txt"),
        binary("G2", "O2", "./content//a.txt")
    );
    let units = format!("{}{}", unit("U1", "Un", "G1"), unit("U2", "Deux", "G2"));
    let p = problems(&transfer("2.1", &objects, &units));
    assert_eq!(
        p,
        [StructureError::DuplicateUri {
            uri: "./content//a.txt".into(),
            first: "O1".into(),
            second: "O2".into()
        }]
    );
    // No Uri and no Attachment.
    let objects = r#"<DataObjectGroup id="G1"><BinaryDataObject id="O1"><MessageDigest algorithm="SHA-512">00</MessageDigest></BinaryDataObject></DataObjectGroup>"#;
    let c = codes(&transfer("2.1", objects, &unit("U1", "Un", "G1")));
    assert_eq!(c, ["no_location", "malformed_digest"]);
}

#[test]
fn digests() {
    let with = |alg: &str, value: &str| {
        let objects = binary("G1", "O1", "content/a.txt")
            .replace("algorithm=\"SHA-512\"", alg)
            .replace(SHA512_OF_ABC, value);
        codes(&transfer("2.1", &objects, &unit("U1", "Un", "G1")))
    };
    assert_eq!(
        with("algorithm=\"MD5\"", "900150983cd24fb0d6963f7d28e17f72"),
        ["md5_digest"]
    );
    assert_eq!(
        with("algorithm=\"SHA3-512\"", SHA512_OF_ABC),
        ["unknown_digest_algorithm"]
    );
    assert_eq!(with("", SHA512_OF_ABC), ["missing_digest_algorithm"]);
    assert_eq!(with("algorithm=\"SHA-256\"", SHA512_OF_ABC), ["malformed_digest"]);
    assert_eq!(
        with(
            "algorithm=\"http://www.w3.org/2001/04/xmlenc#sha512\"",
            &SHA512_OF_ABC.to_uppercase()
        ),
        Vec::<&str>::new()
    );
    let no_digest = binary("G1", "O1", "content/a.txt").replace(
        &format!("<MessageDigest algorithm=\"SHA-512\">{SHA512_OF_ABC}</MessageDigest>"),
        "",
    );
    assert_eq!(
        codes(&transfer("2.1", &no_digest, &unit("U1", "Un", "G1"))),
        ["missing_digest"]
    );
    let p = problems(&transfer(
        "2.1",
        &binary("G1", "O1", "content/a.txt").replace("SHA-512", "MD5"),
        &unit("U1", "Un", "G1"),
    ));
    assert!(
        p[0].to_string().contains("O1") && p[0].to_string().contains("SHA-256"),
        "{}",
        p[0]
    );
}

#[test]
fn bad_sizes() {
    for size in ["-1", "12a", "", "1.5", "99999999999999999999999"] {
        let objects = binary("G1", "O1", "content/a.txt").replace("<Size>3</Size>", &format!("<Size>{size}</Size>"));
        let p = problems(&transfer("2.1", &objects, &unit("U1", "Un", "G1")));
        assert_eq!(
            p,
            [StructureError::BadSize {
                object: "O1".into(),
                size: size.into(),
                line: 7
            }],
            "{size}"
        );
    }
}

#[test]
fn unsupported_versions() {
    let v1 = sound("2.1").replace("seda:v2.1", "seda:v1.0");
    let e = parse(v1.as_bytes(), &ParseLimits::default()).unwrap_err();
    assert_eq!(
        e,
        ManifestError::Version(VersionError::Unsupported { version: "1.0".into() })
    );
    assert_eq!(
        e.to_string(),
        "SEDA v1.0 is not supported: Archipel accepts 2.1, 2.2 and 2.3"
    );
    let v24 = sound("2.1").replace("seda:v2.1", "seda:v2.4");
    assert!(parse(v24.as_bytes(), &ParseLimits::default())
        .unwrap_err()
        .to_string()
        .starts_with("SEDA v2.4 is not supported"));
    let reply = sound("2.1").replace("ArchiveTransfer", "ArchiveTransferReply");
    let e = parse(reply.as_bytes(), &ParseLimits::default()).unwrap_err();
    assert!(e.to_string().contains("ArchiveTransferReply"), "{e}");
}

#[test]
fn missing_header_and_units() {
    let xml = sound("2.1")
        .replace("<MessageIdentifier>MSG-1</MessageIdentifier>", "")
        .replace("<ArchivalAgency><Identifier>AA</Identifier></ArchivalAgency>", "");
    let p = problems(&xml);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].to_string(), "the message has no MessageIdentifier: add it");
    assert_eq!(
        p[1],
        StructureError::MissingElement {
            element: "ArchivalAgency/Identifier"
        }
    );
    let empty = transfer("2.3", "", "");
    assert_eq!(codes(&empty), ["no_archive_unit"]);
    let no_ta = sound("2.2").replace(
        "<TransferringAgency><Identifier>TA</Identifier></TransferringAgency>",
        "<TransferringAgency/>",
    );
    assert_eq!(codes(&no_ta), ["missing_element"]);
}

#[test]
fn ungrouped_objects_of_seda_2_1() {
    let objects = format!(
        r#"<BinaryDataObject id="O1"><DataObjectGroupId>G1</DataObjectGroupId><Uri>a.txt</Uri><MessageDigest algorithm="SHA-512">{SHA512_OF_ABC}</MessageDigest></BinaryDataObject>
<BinaryDataObject id="O2"><DataObjectGroupReferenceId>G1</DataObjectGroupReferenceId><Uri>b.txt</Uri><MessageDigest algorithm="SHA-512">{SHA512_OF_ABC}</MessageDigest></BinaryDataObject>
<PhysicalDataObject id="P1"><DataObjectGroupReferenceId>G9</DataObjectGroupReferenceId><PhysicalId>box 3</PhysicalId></PhysicalDataObject>"#
    );
    let t = parsed(&transfer("2.1", &objects, &unit("U1", "Un", "G1")));
    let groups: Vec<_> = t
        .data_objects()
        .iter()
        .map(|(o, g)| (o.id().to_owned(), g.map(str::to_owned)))
        .collect();
    assert_eq!(
        groups,
        [
            ("O1".into(), Some("G1".into())),
            ("O2".into(), Some("G1".into())),
            ("P1".into(), Some("G9".into()))
        ]
    );
    let c: Vec<&str> = check_structure(&t).iter().map(StructureError::code).collect();
    assert_eq!(c, ["unresolved_object_group", "unreferenced_object"]);
}

#[test]
fn namespaces_encodings_and_versions() {
    // Any prefix, Latin-1 text, xml:lang on titles.
    let xml = sound("2.3")
        .replace(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
        )
        .replace(
            "<Title>Un</Title>",
            "<Title xml:lang=\"fr\">D\u{e9}lib\u{e9}ration</Title><Title xml:lang=\"en\">Deliberation</Title>",
        )
        .replace("<", "<s:")
        .replace("<s:/", "</s:")
        .replace("<s:?xml", "<?xml")
        .replace("s:ArchiveTransfer xmlns=", "s:ArchiveTransfer xmlns:s=");
    let latin1: Vec<u8> = xml.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect();
    let t = parse(&latin1, &ParseLimits::default()).unwrap();
    let c = t.all_units()[0].content.clone().unwrap();
    assert_eq!(c.titles.len(), 2);
    assert_eq!(c.titles[0].text, "Délibération");
    assert_eq!(c.titles[1].lang.as_deref(), Some("en"));
    assert_eq!(check_structure(&t), []);
    // HoldRule is a rule from 2.2, an extension in 2.1.
    let hold = "<Management><HoldRule><Rule>HOL-1</Rule><HoldEndDate>2030-01-01</HoldEndDate><HoldReason>enquête</HoldReason></HoldRule></Management><Content>";
    let t = parsed(&sound("2.2").replacen("<Content>", hold, 1));
    let m = t.all_units()[0].management.clone().unwrap();
    let rule = &m.rule(RuleCategory::Hold).unwrap().rules[0];
    assert_eq!(rule.rule_id, "HOL-1");
    assert_eq!(rule.hold.end_date.as_deref(), Some("2030-01-01"));
    assert_eq!(rule.hold.reason.as_deref(), Some("enquête"));
    assert!(t.extensions.is_empty());
    let t = parsed(&sound("2.1").replacen("<Content>", hold, 1));
    assert_eq!(t.extensions.len(), 1);
    assert_eq!(t.extensions[0].element, "HoldRule");
    // Foreign-namespace and unknown elements outside Content are extensions, kept as JSON.
    let ext = sound("2.1").replacen("<Content>", "<v:Note xmlns:v=\"urn:vendor\">x</v:Note><Content>", 1);
    let t = parsed(&ext);
    assert_eq!(t.extensions.len(), 1);
    assert_eq!(t.all_units()[0].other["Note"], "x");
    let other = sound("2.1")
        .replace("windows-1252", "")
        .replace("encoding=\"UTF-8\"", "encoding=\"windows-1252\"");
    assert!(matches!(
        parse(other.as_bytes(), &ParseLimits::default()),
        Err(ManifestError::UnsupportedEncoding { .. })
    ));
}

/// A rule field given twice, or PreventInheritance beside RefNonRuleId, is an error naming the
/// element: keeping one of two dates silently would change what the archive computes.
#[test]
fn rule_blocks_are_read_strictly() {
    let with = |management: &str| {
        sound("2.2").replacen(
            "<Content>",
            &format!("<Management>{management}</Management><Content>"),
            1,
        )
    };
    let error = |management: &str| match parse(with(management).as_bytes(), &ParseLimits::default()) {
        Err(ManifestError::Invalid { path, reason, .. }) => format!("{path}: {reason}"),
        other => panic!("expected an error for {management}, got {other:?}"),
    };
    let e = error(
        "<AccessRule><Rule>ACC-1</Rule><StartDate>2020-01-01</StartDate><StartDate>2021-01-01</StartDate></AccessRule>",
    );
    assert!(e.contains("AccessRule/StartDate") && e.contains("given twice"), "{e}");
    let e = error("<AccessRule><StartDate>2020-01-01</StartDate><Rule>ACC-1</Rule></AccessRule>");
    assert!(e.contains("comes before any Rule"), "{e}");
    let e = error("<AccessRule><Rule>ACC-1</Rule><PreventInheritance>true</PreventInheritance><RefNonRuleId>ACC-2</RefNonRuleId></AccessRule>");
    assert!(e.contains("RefNonRuleId beside PreventInheritance"), "{e}");
    let e = error("<AppraisalRule><Rule>APP-1</Rule><FinalAction>Keep</FinalAction><FinalAction>Destroy</FinalAction></AppraisalRule>");
    assert!(e.contains("FinalAction is given twice"), "{e}");
    let e = error("<HoldRule><Rule>HOL-1</Rule><HoldEndDate>2030-01-01</HoldEndDate><HoldEndDate>2031-01-01</HoldEndDate></HoldRule>");
    assert!(e.contains("HoldEndDate is given twice"), "{e}");

    // Each StartDate and hold field belongs to the Rule it follows.
    let t = parsed(&with(
        "<HoldRule><Rule>HOL-1</Rule><StartDate>2020-01-01</StartDate><HoldOwner>Juge</HoldOwner>\
         <Rule>HOL-2</Rule><HoldReassessingDate>2022-01-01</HoldReassessingDate><PreventRearrangement>true</PreventRearrangement></HoldRule>\
         <ClassificationRule><Rule>CLA-1</Rule><ClassificationAudience>Interne</ClassificationAudience>\
         <ClassificationLevel>Secret</ClassificationLevel><ClassificationOwner>SGDSN</ClassificationOwner>\
         <ClassificationReassessingDate>2030-01-01</ClassificationReassessingDate>\
         <NeedReassessingAuthorization>true</NeedReassessingAuthorization></ClassificationRule>",
    ));
    let m = t.all_units()[0].management.clone().unwrap();
    let hold = m.rule(RuleCategory::Hold).unwrap();
    assert_eq!(hold.rules[0].start_date.as_deref(), Some("2020-01-01"));
    assert_eq!(hold.rules[0].hold.owner.as_deref(), Some("Juge"));
    assert_eq!(hold.rules[1].start_date, None);
    assert_eq!(hold.rules[1].hold.reassessing_date.as_deref(), Some("2022-01-01"));
    assert_eq!(hold.rules[1].hold.prevent_rearrangement.as_deref(), Some("true"));
    let c = &m.rule(RuleCategory::Classification).unwrap().classification;
    assert_eq!(c.level.as_deref(), Some("Secret"));
    assert_eq!(c.need_reassessing_authorization.as_deref(), Some("true"));
    assert!(t.extensions.is_empty(), "{:?}", t.extensions);
}
