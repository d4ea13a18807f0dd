//! Disposal end to end on a real cluster, through the CLI: elimination analysis, holds and
//! their ArchiveModificationNotification, a proposal and its AuthorizationControlAuthorityRequest,
//! the control authority's visa (an archivist cannot give it), execution (a hold added after the
//! visa keeps its unit), the ArchiveDestructionNotification, and the eliminated bytes gone from
//! every node's disk while the kept files of the same tar pack read back intact.

mod archive_common;
mod common;

use std::time::Duration;

use archive_common::disposal::{files_holding, system_id};
use archive_common::{abc, assert_seda, manifest, region, write_sip, Front, RULES_CSV};
use common::{serial, wait_for, Tuning};
use serde_json::Value;

/// ~900 KB of `tag` repeated: every 4 KiB holds it whole, whatever the stripe cuts.
fn payload(tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(900_000);
    let mut i = 0u64;
    while out.len() < 900_000 {
        out.extend_from_slice(format!("{tag} {i:08} ").as_bytes());
        out.extend(std::iter::repeat_n(b'.', 200));
        i += 1;
    }
    out
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["unit_id"].as_str().unwrap().to_owned(),
                u["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn reasons(v: &Value, unit: &str) -> Vec<String> {
    v["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == unit)
        .unwrap_or_else(|| panic!("{unit} not listed: {v:#}"))["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn elimination_with_visa_holds_and_bytes_gone() {
    let _guard = serial();
    let tuning = Tuning {
        gc_interval_secs: 2,
        orphan_grace_secs: 30,
        ..Tuning::default()
    };
    let front = Front::start_with(tuning, &["--no-tenant-encryption".as_ref()]);
    // APP-00001 lasts one year here: the SIP's units (from 2020-01-01) are eliminable since 2021.
    let rules = RULES_CSV.replace(
        "APP-00001,AppraisalRule,10 ans,,10,YEAR",
        "APP-00001,AppraisalRule,1 an,,1,YEAR",
    );
    assert_ne!(rules, RULES_CSV);
    let rules = format!("{rules}HOL-00001,HoldRule,Gel judiciaire,,,\n");
    let r = region(&front, &rules, &["AGR-ELIM"]);
    let control = front.token("region", "control-authority", None);
    let dir = front.dir.path().to_owned();

    let (a, b, c) = (
        payload("MARQUE-ELIMINEE-A"),
        payload("MARQUE-GARDEE-B"),
        payload("MARQUE-GARDEE-C"),
    );
    let files = abc([&a, &b, &c]);
    let sip = dir.join("sip.zip");
    write_sip(&sip, &manifest("AGR-ELIM", &files, ""), &files);
    let atr = front.ingest(&r.agency, "region", &sip);
    let (root, ua, ub, uc) = (
        system_id(&atr, "ROOT"),
        system_id(&atr, "UA"),
        system_id(&atr, "UB"),
        system_id(&atr, "UC"),
    );
    let unit = |id: &str| front.json(&r.archivist, &["unit", "--tenant", "region", id]);
    let objects = unit(&ua)["objects"].clone();
    assert!(
        objects[0]["pack_offset"].is_u64(),
        "the small files share a tar pack: {objects:#}"
    );

    // Analysis: APP-00001 (1 year from 2020-01-01) ends on 2021-01-01.
    let analyse = |at: &str| {
        front.json(
            &r.archivist,
            &["elimination", "analyse", "--tenant", "region", "--at", at, "--json"],
        )
    };
    assert_eq!(analyse("2020-12-31")["units"], serde_json::json!([]));
    let v = analyse("2021-01-01");
    assert_eq!(v["considered"], 4);
    assert_eq!(v["destroy"], 4, "{v:#}");

    // A hold on B keeps B, and ROOT for its child.
    let notif = dir.join("mod-notif");
    let held = front.json(
        &r.archivist,
        &[
            "hold",
            "add",
            "--tenant",
            "region",
            "--rule",
            "HOL-00001",
            "--reason",
            "Contentieux",
            "--owner",
            "Tribunal administratif",
            &ub,
            "--notification-dir",
            notif.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(held["units"], serde_json::json!([ub]));
    let sent: Vec<_> = std::fs::read_dir(&notif).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(sent.len(), 1);
    let text = std::fs::read_to_string(&sent[0]).unwrap();
    assert!(
        text.contains("<ArchiveModificationNotification") && text.contains(&ub),
        "{text}"
    );
    assert_seda(&sent[0]);
    assert!(unit(&ub)["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rule_id"] == "HOL-00001"));
    let v = analyse("2026-01-01");
    assert_eq!(
        statuses(&v),
        {
            let mut s = vec![
                (root.clone(), "CONFLICT".to_owned()),
                (ua.clone(), "DESTROY".into()),
                (ub.clone(), "CONFLICT".into()),
                (uc.clone(), "DESTROY".into()),
            ];
            s.sort();
            s
        },
        "{v:#}"
    );
    assert_eq!(reasons(&v, &ub), ["BLOCKED_BY_HOLD_RULE"]);
    assert_eq!(reasons(&v, &root), ["HAS_CHILD_UNITS_TO_KEEP"]);

    // An open communication (a delivery record of the access issue) keeps C for now.
    let delivery = |status: &str| {
        let record = serde_json::json!({"id": "DEL-1", "status": status, "units": [uc]}).to_string();
        front
            .cluster
            .cli_ok(&["meta", "put", "archive", "t/region/delivery/DEL-1", &record]);
    };
    delivery("ready");
    let v = analyse("2026-01-01");
    assert_eq!(reasons(&v, &uc), ["IN_PENDING_COMMUNICATION"], "{v:#}");
    delivery("expired");
    let v = analyse("2026-01-01");
    assert!(reasons(&v, &uc).is_empty(), "{v:#}");

    // A CONFLICT unit cannot be proposed; A and C can.
    let request = dir.join("request.xml");
    let out = front.run(
        &r.archivist,
        &[
            "elimination",
            "propose",
            "--tenant",
            "region",
            "--control-authority",
            "AD-DEP",
            "--unit",
            &ub,
            "--json",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONFLICT"));
    let p = front.json(
        &r.archivist,
        &[
            "elimination",
            "propose",
            "--tenant",
            "region",
            "--control-authority",
            "AD-DEP",
            "--unit",
            &ua,
            "--unit",
            &uc,
            "--request",
            request.to_str().unwrap(),
            "--json",
        ],
    );
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["status"], "proposed");
    let text = std::fs::read_to_string(&request).unwrap();
    assert!(
        text.contains("<AuthorizationControlAuthorityRequest") && text.contains(&ua),
        "{text}"
    );
    assert_seda(&request);

    // No execution without a visa, and the archivist cannot give one.
    let out = front.run(
        &r.archivist,
        &["elimination", "execute", "--tenant", "region", &id, "--json"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("visa"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = front.run(
        &r.archivist,
        &["elimination", "decide", "--tenant", "region", &id, "--approve"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP 403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        front
            .events(&r.archivist, "region")
            .iter()
            .any(|e| e == "access.denied"),
        "the archivist's attempt is logged"
    );

    // Nor can anyone delete a held AIP object through the cluster directly.
    let pack = objects[0]["key"].as_str().unwrap().to_owned();
    let out = front.cluster.cli(&["rm", &format!("archive.region/{pack}")]);
    assert!(!out.status.success(), "a held AIP object was deleted without a visa");
    let lock: Value =
        serde_json::from_str(
            &front
                .cluster
                .cli_ok(&["lock", "get", &format!("archive.region/{pack}"), "--json"]),
        )
        .unwrap();
    assert_eq!(lock["legal_hold"], true, "{lock}");

    // The control authority approves; then a hold is put on C before execution.
    let p = front.json(
        &control,
        &[
            "elimination",
            "decide",
            "--tenant",
            "region",
            &id,
            "--approve",
            "--json",
        ],
    );
    assert_eq!(p["status"], "approved");
    let reply = dir.join("reply.xml");
    front.hold(&r.archivist, "add", &uc);
    let out = front.run(
        &r.archivist,
        &[
            "elimination",
            "message",
            "--tenant",
            "region",
            &id,
            "reply",
            "-o",
            reply.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_seda(&reply);

    let notifications = dir.join("destruction");
    let done = front.json(
        &r.archivist,
        &[
            "elimination",
            "execute",
            "--tenant",
            "region",
            &id,
            "--notification-dir",
            notifications.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(done["status"], "executed", "{done:#}");
    assert_eq!(done["execution"]["eliminated"], serde_json::json!([ua]));
    let c_outcome = done["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == uc)
        .unwrap()["outcome"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(c_outcome.contains("BLOCKED_BY_HOLD_RULE"), "{c_outcome}");
    assert_eq!(done["execution"]["packs_rewritten"], 1);
    let sent: Vec<_> = std::fs::read_dir(&notifications)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(sent.len(), 1);
    let text = std::fs::read_to_string(&sent[0]).unwrap();
    assert!(text.contains("<ArchiveDestructionNotification") && text.contains(&ua) && !text.contains(&uc));
    assert_seda(&sent[0]);

    // A is gone from the catalog (even after a reindex); B and C read back intact.
    let out = front.run(&r.archivist, &["unit", "--tenant", "region", &ua]);
    assert!(!out.status.success());
    front.json(&r.archivist, &["reindex", "--tenant", "region", "--json"]);
    assert!(!front
        .run(&r.archivist, &["unit", "--tenant", "region", &ua])
        .status
        .success());
    let new_pack = unit(&ub)["objects"][0]["key"].as_str().unwrap().to_owned();
    assert_ne!(new_pack, pack, "B's file moved to the rewritten pack");
    let lock: Value =
        serde_json::from_str(
            &front
                .cluster
                .cli_ok(&["lock", "get", &format!("archive.region/{new_pack}"), "--json"]),
        )
        .unwrap();
    assert_eq!(lock["legal_hold"], true, "the new pack is held too: {lock}");
    for (id, sip_object, data) in [(&ub, "B", &b), (&uc, "C", &c)] {
        let path = dir.join(format!("{sip_object}.out"));
        let out = front.run(
            &r.archivist,
            &[
                "download",
                "--tenant",
                "region",
                id,
                sip_object,
                "-o",
                path.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(&path).unwrap(), *data, "kept file {sip_object} intact");
    }
    front.assert_logged(
        &r.archivist,
        "region",
        &[
            "elimination.proposed",
            "elimination.visa",
            "elimination.unit.destroyed",
            "elimination.executed",
            "unit.rules.modified",
        ],
    );

    // The register: one entry (4 units in, 3 left), one movement out under the visa.
    let reg = front.json(&r.archivist, &["register", "--tenant", "region", "--json"]);
    let agency = &reg["agencies"][0];
    assert_eq!(reg["agencies"].as_array().unwrap().len(), 1, "{reg:#}");
    assert_eq!(agency["entries"][0]["ingested"]["units"], 4);
    assert_eq!(agency["entries"][0]["remaining"]["units"], 3);
    assert_eq!(agency["entries"][0]["ingested"]["objects"], 3);
    assert_eq!(agency["movements"][0]["kind"], "elimination");
    assert_eq!(agency["movements"][0]["counts"]["units"], 1);
    assert_eq!(agency["movements"][0]["counts"]["bytes"], a.len());
    assert_eq!(agency["movements"][0]["authority"], p["visa"]["message_identifier"]);
    assert_eq!(agency["current"]["bytes"], b.len() + c.len());
    let out = front.run(&r.archivist, &["register", "--tenant", "region", "--csv"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.lines().any(|l| l.contains(",elimination,")), "{csv}");
    // Usage this month: 3 units held, 4 in, 1 out, the two downloads read.
    let month = done["execution"]["finished_at"].as_str().unwrap()[..7].to_owned();
    let out = front.run(
        &r.archivist,
        &["usage", "--tenant", "region", "--month", &month, "--csv"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "tenant,flow,month,units,objects,logical_bytes,stored_bytes,units_in,bytes_in,units_out,bytes_out,reads,bytes_read"
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &row[..6],
        [
            "region",
            "(aucun flux)",
            &month,
            "3",
            "2",
            &(b.len() + c.len()).to_string()
        ]
    );
    assert!(
        row[6].parse::<u64>().unwrap() > (b.len() + c.len()) as u64,
        "stored bytes include the parity"
    );
    assert_eq!(
        &row[7..13],
        [
            "4",
            &(a.len() + b.len() + c.len()).to_string(),
            "1",
            &a.len().to_string(),
            "2",
            &(b.len() + c.len()).to_string()
        ]
    );

    // A refused visa eliminates nothing.
    for u in [&ub, &uc] {
        front.hold(&r.archivist, "lift", u);
    }
    let p2 = front.json(
        &r.archivist,
        &[
            "elimination",
            "propose",
            "--tenant",
            "region",
            "--control-authority",
            "AD-DEP",
            "--unit",
            &uc,
            "--json",
        ],
    );
    let id2 = p2["id"].as_str().unwrap().to_owned();
    let refused = front.json(
        &control,
        &[
            "elimination",
            "decide",
            "--tenant",
            "region",
            &id2,
            "--refuse",
            "--json",
        ],
    );
    assert_eq!(refused["status"], "refused");
    let out = front.run(&r.archivist, &["elimination", "execute", "--tenant", "region", &id2]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
    let again = front.run(
        &control,
        &["elimination", "decide", "--tenant", "region", &id2, "--approve"],
    );
    assert!(!again.status.success(), "a visa is given once");
    assert_eq!(unit(&uc)["id"], uc.as_str());

    // The eliminated bytes leave every disk once the nodes collect the old pack's shards.
    let roots: Vec<_> = front.cluster.nodes.iter().map(|n| n.dir.clone()).collect();
    let holding =
        |needle: &[u8]| -> Vec<std::path::PathBuf> { roots.iter().flat_map(|r| files_holding(r, needle)).collect() };
    wait_for(
        "the eliminated file's shards to be collected",
        Duration::from_secs(120),
        || holding(b"MARQUE-ELIMINEE-A").is_empty().then_some(()),
    );
    let mut front = front;
    for i in 0..front.cluster.nodes.len() {
        front.cluster.stop(i);
    }
    assert!(
        holding(b"MARQUE-ELIMINEE-A").is_empty(),
        "{:?}",
        holding(b"MARQUE-ELIMINEE-A")
    );
    assert!(
        !holding(b"MARQUE-GARDEE-B").is_empty(),
        "the search sees kept files, so it would see A's"
    );
    assert!(!holding(b"MARQUE-GARDEE-C").is_empty());
}
