//! Archives leaving Archipel, end to end on a real cluster through the CLI.
//!
//! Transfer out: the ArchiveTransfer package of a unit tree is SEDA-valid, a KO
//! ArchiveTransferReply keeps the units, the package ingests into a second tenant (playing the
//! Archives départementales), and that archive's own ATR (OK) deletes the units here, with
//! their elimination record and a `transfer_out` movement in the register.
//! Rules are modified by query first.
//! Restitution: the ArchiveRestitutionRequest, its Reply and the package are SEDA-valid; a unit
//! under a legal hold cannot leave; the agency's acknowledgement deletes the units here.

mod archive_common;
mod common;

use archive_common::disposal::system_id;
use archive_common::{abc, assert_seda, manifest, region, tenant, write_sip, Front, RULES_CSV};
use common::serial;
use serde_json::Value;

/// A SIP of three one-file units under a root, for the originating agency `agency`.
fn sip(
    dir: &std::path::Path,
    name: &str,
    agreement: &str,
    agency: &str,
    tag: &str,
) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let data: Vec<Vec<u8>> = ["a", "b", "c"]
        .iter()
        .map(|f| format!("{tag} fichier {f} ").repeat(200).into_bytes())
        .collect();
    let files = abc([&data[0], &data[1], &data[2]]);
    let xml = manifest(agreement, &files, "").replace(
        "<ManagementMetadata/>",
        &format!("<ManagementMetadata><OriginatingAgencyIdentifier>{agency}</OriginatingAgencyIdentifier></ManagementMetadata>"),
    );
    let path = dir.join(name);
    write_sip(&path, &xml, &files);
    (path, data)
}

/// Saves message `name` of the `kind` (transfer-out, restitution, elimination) record `id` at
/// `path`, and checks it against the SEDA schemas.
fn save_message(front: &Front, token: &str, kind: &str, id: &str, name: &str, path: &std::path::Path) {
    let out = front.run(
        token,
        &[
            kind,
            "message",
            "--tenant",
            "region",
            id,
            name,
            "-o",
            path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_seda(path);
}

fn gone(front: &Front, token: &str, tenant: &str, unit: &str) -> bool {
    !front.run(token, &["unit", "--tenant", tenant, unit]).status.success()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn transfer_out_round_trip_and_restitution() {
    let _guard = serial();
    let front = Front::start();
    let rules = format!("{RULES_CSV}HOL-00001,HoldRule,Gel judiciaire,,,\n");
    let r = region(&front, &rules, &["AGR-OUT", "AGR-REST"]);
    let dir = front.dir.path().to_owned();

    // The receiving archive: tenant `dep` (AD-DEP), taking transfers from Identifier4 (region).
    let d = tenant(&front, "dep", "AD-DEP", &rules, &["AGR-IN"], "Identifier4");
    let (dep, dep_in) = (d.archivist, d.agency);

    let (sip1, data) = sip(&dir, "sip1.zip", "AGR-OUT", "SP-REGION", "SORTIE");
    let atr = front.ingest(&r.agency, "region", &sip1);
    let (root, ua, ub, uc) = (
        system_id(&atr, "ROOT"),
        system_id(&atr, "UA"),
        system_id(&atr, "UB"),
        system_id(&atr, "UC"),
    );

    // Rules modified by query (the three items), so the package carries more than inherited rules.
    let modified = front.json(
        &r.archivist,
        &[
            "rules",
            "modify",
            "--tenant",
            "region",
            "--query",
            r#"{"level": "Item"}"#,
            "--add",
            "DIS-00001",
            "--start-date",
            "2020-01-01",
            "--json",
        ],
    );
    let mut changed: Vec<String> = modified["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    changed.sort();
    let mut items = vec![ua.clone(), ub.clone(), uc.clone()];
    items.sort();
    assert_eq!(changed, items, "{modified:#}");

    // A transfer out of C, refused by the receiving archive: C stays.
    let t1 = front.json(
        &r.archivist,
        &[
            "transfer-out",
            "start",
            "--tenant",
            "region",
            "--archival-agency",
            "AD-DEP",
            "--agreement",
            "AGR-IN",
            "--unit",
            &uc,
            "--json",
        ],
    );
    assert_eq!(t1["status"], "ready", "{t1:#}");
    let t1_id = t1["id"].as_str().unwrap().to_owned();
    let ko = dir.join("ko.xml");
    std::fs::write(
        &ko,
        format!(
            "<?xml version=\"1.0\"?><ArchiveTransferReply xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
             <Date>2026-12-01T10:00:00Z</Date><MessageIdentifier>ATR-KO-1</MessageIdentifier><CodeListVersions/>\
             <ReplyCode>KO</ReplyCode><MessageRequestIdentifier>{}</MessageRequestIdentifier>\
             <ArchivalAgency><Identifier>AD-DEP</Identifier></ArchivalAgency>\
             <TransferringAgency><Identifier>Identifier4</Identifier></TransferringAgency></ArchiveTransferReply>",
            t1["package"]["message_identifier"].as_str().unwrap()
        ),
    )
    .unwrap();
    assert_seda(&ko);
    let rejected = front.json(
        &r.archivist,
        &[
            "transfer-out",
            "reply",
            "--tenant",
            "region",
            &t1_id,
            ko.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(rejected["status"], "rejected", "{rejected:#}");
    assert!(!gone(&front, &r.archivist, "region", &uc), "a KO keeps the unit");

    // The whole tree goes to AD-DEP.
    let package = dir.join("out.zip");
    let t2 = front.json(
        &r.archivist,
        &[
            "transfer-out",
            "start",
            "--tenant",
            "region",
            "--archival-agency",
            "AD-DEP",
            "--agreement",
            "AGR-IN",
            "--unit",
            &root,
            "-o",
            package.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(t2["status"], "ready", "{t2:#}");
    assert_eq!(
        t2["units"].as_array().unwrap().len(),
        4,
        "the root takes its children: {t2:#}"
    );
    let t2_id = t2["id"].as_str().unwrap().to_owned();
    assert_seda(&package);
    save_message(
        &front,
        &r.archivist,
        "transfer-out",
        &t2_id,
        "transfer",
        &dir.join("transfer.xml"),
    );
    // Another transfer's reply is refused and changes nothing.
    let out = front.run(
        &r.archivist,
        &[
            "transfer-out",
            "reply",
            "--tenant",
            "region",
            &t2_id,
            ko.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("answers"), "{}", stderr(&out));

    // AD-DEP ingests the package as any SIP; its ATR goes back to region.
    let (v, dep_atr) = front.transfer(&dep_in, "dep", &package);
    assert_eq!(v["status"], "OK", "{v:#}");
    assert_seda(&dep_atr);
    let dep_text = std::fs::read_to_string(&dep_atr).unwrap();
    let dep_units: Vec<String> = ["U1", "U2", "U3", "U4"]
        .iter()
        .map(|u| system_id(&dep_text, u))
        .collect();
    let found: Vec<Value> = dep_units
        .iter()
        .map(|u| front.json(&dep, &["unit", "--tenant", "dep", u]))
        .collect();
    let with_file = found
        .iter()
        .find(|u| u["content"].to_string().contains(&ua))
        .unwrap_or_else(|| panic!("no unit of AD-DEP names region's {ua}: {found:#?}"));
    let copy = dir.join("a.copy");
    let out = front.run(
        &dep,
        &[
            "download",
            "--tenant",
            "dep",
            with_file["id"].as_str().unwrap(),
            with_file["objects"][0]["sip_id"].as_str().unwrap(),
            "-o",
            copy.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&copy).unwrap(), data[0], "the file arrived intact");

    let done = front.json(
        &r.archivist,
        &[
            "transfer-out",
            "reply",
            "--tenant",
            "region",
            &t2_id,
            dep_atr.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(done["status"], "executed", "{done:#}");
    for u in [&root, &ua, &ub, &uc] {
        assert!(gone(&front, &r.archivist, "region", u), "{u} left region");
    }
    let out = front.run(
        &r.archivist,
        &[
            "transfer-out",
            "package",
            "--tenant",
            "region",
            &t2_id,
            "-o",
            dir.join("again.zip").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "the package went with the units");
    let listing = front.cluster.cli_ok(&["ls", "archive.region/outgoing/"]);
    assert!(!listing.contains("package.zip"), "no package left behind: {listing}");
    let reg = front.json(
        &r.archivist,
        &["register", "--tenant", "region", "--agency", "SP-REGION", "--json"],
    );
    let movements = reg["agencies"][0]["movements"].as_array().unwrap().clone();
    assert!(
        movements
            .iter()
            .any(|m| m["kind"] == "transfer_out" && m["counts"]["units"] == 4),
        "{reg:#}"
    );

    // Restitution of a second SIP to SP-REGION; a held unit cannot leave.
    let (sip2, _) = sip(&dir, "sip2.zip", "AGR-REST", "SP-REGION", "RENDU");
    let atr2 = front.ingest(&r.agency, "region", &sip2);
    let (root2, ub2) = (system_id(&atr2, "ROOT"), system_id(&atr2, "UB"));
    front.hold(&r.archivist, "add", &ub2);
    let out = front.run(
        &r.archivist,
        &["restitution", "start", "--tenant", "region", "--unit", &root2],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("legal hold"), "{}", stderr(&out));
    front.hold(&r.archivist, "lift", &ub2);
    let out = front.run(
        &r.archivist,
        &[
            "restitution",
            "start",
            "--tenant",
            "region",
            "--unit",
            &root2,
            "--originating-agency",
            "SP-AUTRE",
        ],
    );
    assert!(!out.status.success(), "only the units' own agency gets them back");
    let restitution = dir.join("restitution.zip");
    let rs = front.json(
        &r.archivist,
        &[
            "restitution",
            "start",
            "--tenant",
            "region",
            "--unit",
            &root2,
            "-o",
            restitution.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(rs["status"], "ready", "{rs:#}");
    assert_eq!(rs["recipient"], "SP-REGION");
    let rs_id = rs["id"].as_str().unwrap().to_owned();
    assert_seda(&restitution);
    for name in ["request", "reply"] {
        let path = dir.join(format!("restitution-{name}.xml"));
        save_message(&front, &r.archivist, "restitution", &rs_id, name, &path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("<ArchiveRestitutionRequest") && text.contains(&root2),
            "{text}"
        );
    }
    // Only the archivist records the receipt.
    let control = front.token("region", "control-authority", None);
    let out = front.run(&control, &["restitution", "acknowledge", "--tenant", "region", &rs_id]);
    assert!(!out.status.success());
    let done = front.json(
        &r.archivist,
        &[
            "restitution",
            "acknowledge",
            "--tenant",
            "region",
            &rs_id,
            "--comment",
            "Reçu par le service producteur",
            "--json",
        ],
    );
    assert_eq!(done["status"], "executed", "{done:#}");
    assert!(gone(&front, &r.archivist, "region", &root2));
    save_message(
        &front,
        &r.archivist,
        "restitution",
        &rs_id,
        "answer",
        &dir.join("ack.xml"),
    );
    let elimination = front.json(
        &r.archivist,
        &[
            "elimination",
            "show",
            "--tenant",
            "region",
            done["elimination"].as_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(elimination["kind"], "restitution");
    let name = elimination["execution"]["notifications"][0]["message_identifier"]
        .as_str()
        .unwrap();
    save_message(
        &front,
        &r.archivist,
        "elimination",
        done["elimination"].as_str().unwrap(),
        name,
        &dir.join("notification.xml"),
    );

    front.assert_logged(
        &r.archivist,
        "region",
        &[
            "transfer_out.started",
            "transfer_out.package.built",
            "transfer_out.answered",
            "transfer_out.executed",
            "restitution.started",
            "restitution.answered",
            "restitution.executed",
            "elimination.unit.destroyed",
        ],
    );
    let out = front.run(&r.archivist, &["register", "--tenant", "region", "--csv"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.lines().any(|l| l.contains(",restitution,")), "{csv}");
    assert!(csv.lines().any(|l| l.contains(",transfer_out,")), "{csv}");
}
