//! Access and communication on a real cluster: access contracts, communicability computed from
//! AccessRules against an injected day or the cluster's clock, what requesters and transferring agencies see, DIPs
//! (ArchiveDeliveryRequestReply manifest checked against the XSD, every object against its
//! SHA-512), and the derogation workflow.

mod archive_common;
mod common;

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use archive_common::access::{access_sip, AccessUnit};
use archive_common::{assert_seda, region, Front, RULES_CSV};
use common::{serial, Tuning};
use serde_json::Value;
use sha2::Digest;

const DAY: &str = "2026-06-01";

/// The day the front decides access on.
fn set_day(clock: &Path, day: &str) {
    std::fs::write(clock, day).unwrap();
}

/// Transfers two SIPs: DGS's units A (ACC-00001 from 2020: communicable) and B (ACC-00003, 50
/// years from 2020-01-01: communicable on 2070-01-01), and DRH's unit C (no AccessRule).
/// Returns (archivist, agency token, id of A, B, C).
fn set_up(front: &Front) -> (String, String, String, String, String) {
    let r = region(front, RULES_CSV, &["AGR-ACC"]);
    let dgs = front.dir.path().join("dgs.zip");
    access_sip(
        &dgs,
        "MSG-DGS",
        "AGR-ACC",
        "DGS",
        &[
            AccessUnit {
                id: "A",
                title: "Arrêté communicable",
                data: b"contenu A communicable",
                access: Some(("ACC-00001", "2020-01-01")),
            },
            AccessUnit {
                id: "B",
                title: "Dossier vie privée",
                data: b"contenu B sous 50 ans",
                access: Some(("ACC-00003", "2020-01-01")),
            },
        ],
    );
    let drh = front.dir.path().join("drh.zip");
    access_sip(
        &drh,
        "MSG-DRH",
        "AGR-ACC",
        "DRH",
        &[AccessUnit {
            id: "C",
            title: "Note du personnel",
            data: b"contenu C",
            access: None,
        }],
    );
    for sip in [&dgs, &drh] {
        let (v, _) = front.transfer(&r.agency, "region", sip);
        assert_eq!(v["status"], "OK", "{v:#}");
    }
    let page = front.json(
        &r.archivist,
        &["search", "--tenant", "region", "--json", "--limit", "100"],
    );
    let id_of = |title: &str| -> String {
        page["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["title"] == title)
            .unwrap_or_else(|| panic!("{title} not found: {page:#}"))["unit_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (a, b, c) = (
        id_of("Arrêté communicable"),
        id_of("Dossier vie privée"),
        id_of("Note du personnel"),
    );
    (r.archivist, r.agency, a, b, c)
}

fn titles(page: &Value) -> Vec<String> {
    let mut t: Vec<String> = page["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

fn search(front: &Front, token: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["search", "--tenant", "region", "--json", "--limit", "100"];
    args.extend_from_slice(extra);
    titles(&front.json(token, &args))
}

/// Runs a command that must fail; returns its stderr.
fn refused(front: &Front, token: &str, args: &[&str]) -> String {
    let out = front.run(token, args);
    assert!(
        !out.status.success(),
        "{args:?} should be refused: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The first object of `unit` as the archivist sees it: (object id, SHA-512).
fn object_of(front: &Front, archivist: &str, unit: &str) -> (String, String) {
    let v = front.json(archivist, &["unit", "--tenant", "region", unit]);
    let o = &v["objects"][0];
    (
        o["id"].as_str().unwrap().to_owned(),
        o["sha512"].as_str().unwrap().to_owned(),
    )
}

/// The arguments of `delivery download` for delivery `id` into `out`.
fn dip_download<'a>(id: &'a str, out: &'a str) -> [&'a str; 7] {
    ["delivery", "download", "--tenant", "region", id, "--out", out]
}

fn download(front: &Front, token: &str, unit: &str, object: &str) -> Result<Vec<u8>, String> {
    let out = front.dir.path().join(format!("dl-{object}"));
    let o = front.run(
        token,
        &[
            "download",
            "--tenant",
            "region",
            unit,
            object,
            "--output",
            out.to_str().unwrap(),
        ],
    );
    if o.status.success() {
        Ok(std::fs::read(&out).unwrap())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

fn requester(front: &Front, archivist: &str, contract: &str, extra: &[&str]) -> String {
    let mut args = vec!["access-contract", "put", "--tenant", "region", contract, "--json"];
    args.extend_from_slice(extra);
    front.json(archivist, &args);
    let v = front.json(
        &front.operator,
        &[
            "token",
            "create",
            "--tenant",
            "region",
            "--role",
            "requester",
            "--access-contract",
            contract,
            "--json",
        ],
    );
    v["token"].as_str().unwrap().to_owned()
}

#[test]
fn contracts_and_communicability_decide_what_a_requester_sees_and_takes() {
    let _g = serial();
    let clock = tempfile::NamedTempFile::new().unwrap();
    set_day(clock.path(), DAY);
    let front = Front::start_with_access_clock(clock.path());
    let (archivist, agency, a, b, c) = set_up(&front);
    let reader = requester(&front, &archivist, "lecture-dgs", &["--agency", "DGS"]);

    // The unit view shows the computed communicability and its legal basis.
    let vb = front.json(&archivist, &["unit", "--tenant", "region", &b]);
    assert_eq!(vb["communicability"]["from"]["date"], "2070-01-01", "{vb:#}");
    assert_eq!(vb["communicable"], false);
    assert_eq!(vb["communicability"]["rules"][0]["legal"][0]["article"], "L213-2 I 3°");
    let vc = front.json(&archivist, &["unit", "--tenant", "region", &c]);
    assert_eq!(vc["communicability"]["from"]["kind"], "always", "{vc:#}");

    // Search filters on communicability, on the injected day or a given one.
    assert_eq!(
        search(&front, &archivist, &["--communicable"]),
        ["Arrêté communicable", "Note du personnel"]
    );
    assert_eq!(
        search(&front, &archivist, &["--not-communicable"]),
        ["Dossier vie privée"]
    );
    assert_eq!(
        search(
            &front,
            &archivist,
            &["--communicable", "--communicable-at", "2069-12-31"]
        )
        .len(),
        2
    );
    assert_eq!(
        search(
            &front,
            &archivist,
            &["--communicable", "--communicable-at", "2070-01-01"]
        )
        .len(),
        3
    );

    // The requester sees only DGS's communicable units; DRH's do not exist for it.
    assert_eq!(search(&front, &reader, &[]), ["Arrêté communicable"]);
    assert!(search(&front, &reader, &["--not-communicable"]).is_empty());
    let err = refused(&front, &reader, &["unit", "--tenant", "region", &c]);
    assert!(err.contains("HTTP 404"), "{err}");
    let err = refused(&front, &reader, &["unit", "--tenant", "region", &b]);
    assert!(err.contains("HTTP 403") && err.contains("2070-01-01"), "{err}");
    let (oa, _) = object_of(&front, &archivist, &a);
    let (ob, _) = object_of(&front, &archivist, &b);
    let (oc, _) = object_of(&front, &archivist, &c);
    assert_eq!(download(&front, &reader, &a, &oa).unwrap(), b"contenu A communicable");
    assert!(download(&front, &reader, &b, &ob).unwrap_err().contains("HTTP 403"));
    assert!(download(&front, &reader, &c, &oc).unwrap_err().contains("HTTP 404"));
    // The archivist stays tenant-wide.
    assert_eq!(download(&front, &archivist, &b, &ob).unwrap(), b"contenu B sous 50 ans");

    // A contract limited to Dissemination copies takes no BinaryMaster.
    let diffusion = requester(
        &front,
        &archivist,
        "diffusion",
        &["--all-agencies", "--usage", "Dissemination"],
    );
    let err = download(&front, &diffusion, &a, &oa).unwrap_err();
    assert!(err.contains("HTTP 403") && err.contains("Dissemination"), "{err}");

    // On the computed day, B becomes communicable: no sleep, the front's day is injected.
    set_day(clock.path(), "2070-01-01");
    assert_eq!(
        search(&front, &reader, &[]),
        ["Arrêté communicable", "Dossier vie privée"]
    );
    assert_eq!(download(&front, &reader, &b, &ob).unwrap(), b"contenu B sous 50 ans");
    set_day(clock.path(), DAY);

    // A transferring agency follows its own transfers only.
    let transfers = front.json(&agency, &["transfers", "--tenant", "region", "--json"]);
    assert_eq!(transfers.as_array().unwrap().len(), 2, "{transfers:#}");
    let other = front.token("region", "transferring-agency", Some("AutreService"));
    let none = front.json(&other, &["transfers", "--tenant", "region", "--json"]);
    assert_eq!(none.as_array().unwrap().len(), 0, "{none:#}");
    let id = transfers[0]["id"].as_str().unwrap();
    let err = refused(&front, &other, &["transfers", "--tenant", "region", id, "--json"]);
    assert!(err.contains("HTTP 404"), "{err}");

    // Every refusal is in the logbook, with its reason.
    let denied: Vec<String> = front
        .logbook(&archivist, "region")
        .iter()
        .filter(|e| e["event_type"] == "access.denied")
        .map(|e| e["detail"]["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        denied.iter().any(|r| r.contains("outside access contract")),
        "{denied:#?}"
    );
    assert!(denied.iter().any(|r| r.contains("2070-01-01")), "{denied:#?}");
    assert!(denied.iter().any(|r| r.contains("Dissemination")), "{denied:#?}");
    assert!(denied.iter().any(|r| r.contains("AutreService")), "{denied:#?}");
}

#[test]
fn communicability_follows_the_clusters_clock_not_the_fronts() {
    let _g = serial();
    let offset = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(offset.path(), "0").unwrap();
    let tuning = Tuning {
        clock_offset_file: Some(offset.path().to_owned()),
        ..Tuning::default()
    };
    // No access clock file: the front asks the cluster (Meta.Time).
    let front = Front::start_with(tuning, &[]);
    let (archivist, _agency, _a, b, _c) = set_up(&front);
    let vb = front.json(&archivist, &["unit", "--tenant", "region", &b]);
    assert_eq!(vb["communicability"]["from"]["date"], "2070-01-01", "{vb:#}");
    assert_eq!(vb["communicable"], false, "{vb:#}");

    // The leader's clock (every node's here) moves 45 years on; the front's own clock does not.
    let years_45_ms: i64 = 45 * 365 * 86_400 * 1000;
    std::fs::write(offset.path(), years_45_ms.to_string()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let vb = front.json(&archivist, &["unit", "--tenant", "region", &b]);
        if vb["communicable"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B stayed non-communicable on the cluster's day: {vb:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        search(&front, &archivist, &["--not-communicable"]),
        Vec::<String>::new()
    );
}

/// Every file of a zip by name.
fn unzip(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        out.insert(f.name().to_owned(), data);
    }
    out
}

/// Texts of every `<name>` element of an XML document.
fn xml_texts(xml: &[u8], name: &str) -> Vec<String> {
    let s = String::from_utf8_lossy(xml);
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    s.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split(&close).next().map(str::to_owned))
        .collect()
}

/// Runs a command that must succeed (its output is a file, not JSON).
fn succeeds(front: &Front, token: &str, args: &[&str]) {
    let out = front.run(token, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn delivery(front: &Front, token: &str, id: &str) -> Value {
    front.json(token, &["delivery", "show", "--tenant", "region", id])
}

/// The delivery once its status is no longer `status`, polled for at most `secs`.
fn delivery_after(front: &Front, token: &str, id: &str, status: &str, secs: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let d = delivery(front, token, id);
        if d["status"] != status {
            return d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} after {secs} s: {d:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn dips_round_trip_and_derogations_need_both_approvals() {
    let _g = serial();
    let clock = tempfile::NamedTempFile::new().unwrap();
    set_day(clock.path(), DAY);
    let front = Front::start_with_access_clock(clock.path());
    let (archivist, _agency, a, b, c) = set_up(&front);
    let reader = requester(
        &front,
        &archivist,
        "salle",
        &["--agency", "DGS", "--see-non-communicable"],
    );
    let other_reader = front.json(
        &front.operator,
        &[
            "token",
            "create",
            "--tenant",
            "region",
            "--role",
            "requester",
            "--access-contract",
            "salle",
            "--json",
        ],
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // DIP round trip: manifest valid, every object matches its SHA-512, the requested units only.
    let dip = front.dir.path().join("dip-a.zip");
    let v = front.json(
        &reader,
        &[
            "deliver",
            "--tenant",
            "region",
            "--unit",
            &a,
            "--wait",
            "--out",
            dip.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_seda(&dip);
    let files = unzip(&dip);
    let manifest = &files["manifest.xml"];
    assert!(String::from_utf8_lossy(manifest).contains("<ArchiveDeliveryRequestReply"));
    assert_eq!(xml_texts(manifest, "UnitIdentifier"), std::slice::from_ref(&a));
    let (oa, sha_a) = object_of(&front, &archivist, &a);
    let content: Vec<(&String, &Vec<u8>)> = files.iter().filter(|(n, _)| n.starts_with("Content/")).collect();
    assert_eq!(content.len(), 1, "{:?}", files.keys());
    for (name, data) in &content {
        assert!(name.contains(&oa), "{name}");
        assert_eq!(hex::encode(sha2::Sha512::digest(data)), sha_a);
    }
    assert!(files.contains_key(&format!("metadata/{a}.json")));
    // Only the requester takes its DIP.
    let id = v["id"].as_str().unwrap();
    let err = refused(&front, &other_reader, &dip_download(id, "/dev/null"));
    assert!(err.contains("HTTP 404"), "{err}");
    // Two units of one SIP: their objects sit in one pack and are read by one ranged request,
    // split back into files by their offsets.
    let v = front.json(&archivist, &["unit", "--tenant", "region", &b]);
    let va = front.json(&archivist, &["unit", "--tenant", "region", &a]);
    assert_eq!(
        va["objects"][0]["key"], v["objects"][0]["key"],
        "A and B share a pack: {va:#} {v:#}"
    );
    let dip_ab = front.dir.path().join("dip-ab.zip");
    let done = front.json(
        &archivist,
        &[
            "deliver",
            "--tenant",
            "region",
            "--unit",
            &a,
            "--unit",
            &b,
            "--wait",
            "--out",
            dip_ab.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(done["status"], "ready", "{done:#}");
    let mut got: Vec<(String, Vec<u8>)> = unzip(&dip_ab)
        .into_iter()
        .filter(|(n, _)| n.starts_with("Content/"))
        .collect();
    got.sort_by(|x, y| x.1.cmp(&y.1));
    let got: Vec<&[u8]> = got.iter().map(|(_, d)| d.as_slice()).collect();
    assert_eq!(got, [&b"contenu A communicable"[..], &b"contenu B sous 50 ans"[..]]);

    // Offered for seven days of the access clock (the cluster's in production), not the front's
    // own: on the eighth, it is gone and the delivery says so.
    set_day(clock.path(), "2026-06-09");
    let err = refused(&front, &reader, &dip_download(id, "/dev/null"));
    assert!(err.contains("HTTP 409") && err.contains("expired"), "{err}");
    set_day(clock.path(), DAY);
    assert_eq!(delivery(&front, &reader, id)["status"], "expired");

    // The same through a SEDA ArchiveDeliveryRequest, in SEDA 2.1.
    let request = front.dir.path().join("request.xml");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveDeliveryRequest xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.1\">\
         <Date>2026-06-01T09:00:00Z</Date><MessageIdentifier>DEM-2026-7</MessageIdentifier><CodeListVersions/>\
         <Derogation>false</Derogation><UnitIdentifier>{a}</UnitIdentifier>\
         <ArchivalAgency><Identifier>Identifier4</Identifier></ArchivalAgency><Requester><Identifier>mairie-service-marches</Identifier></Requester>\
         </ArchiveDeliveryRequest>"
    );
    std::fs::write(&request, &xml).unwrap();
    assert_seda(&request);
    let dip21 = front.dir.path().join("dip-21.zip");
    let v = front.json(
        &reader,
        &[
            "deliver",
            "--tenant",
            "region",
            "--request",
            request.to_str().unwrap(),
            "--wait",
            "--out",
            dip21.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_seda(&dip21);
    let m = &unzip(&dip21)["manifest.xml"];
    assert!(String::from_utf8_lossy(m).contains("seda:v2.1"));
    assert_eq!(xml_texts(m, "MessageRequestIdentifier"), ["DEM-2026-7"]);

    // Bad requests: precise errors, nothing stored.
    let before = front
        .json(&archivist, &["delivery", "list", "--tenant", "region", "--json"])
        .as_array()
        .unwrap()
        .len();
    std::fs::write(
        &request,
        xml.replace(
            "<Requester><Identifier>mairie-service-marches</Identifier></Requester>",
            "",
        ),
    )
    .unwrap();
    let err = refused(
        &front,
        &reader,
        &["deliver", "--tenant", "region", "--request", request.to_str().unwrap()],
    );
    assert!(err.contains("HTTP 400") && err.contains("Requester"), "{err}");
    if archive_common::shared().join("seda/xsd").is_dir() {
        // Read strictly, this was taken (CodeListVersions' content is not read); the schema refuses it.
        std::fs::write(
            &request,
            xml.replace(
                "<CodeListVersions/>",
                "<CodeListVersions><Forged>1</Forged></CodeListVersions>",
            ),
        )
        .unwrap();
        let err = refused(
            &front,
            &reader,
            &["deliver", "--tenant", "region", "--request", request.to_str().unwrap()],
        );
        assert!(
            err.contains("HTTP 400") && err.contains("SEDA 2.1 schema") && err.contains("Forged"),
            "{err}"
        );
    } else {
        eprintln!("SKIP: ../shared/seda/xsd is absent; the XSD check of requests is not exercised");
    }
    let err = refused(
        &front,
        &reader,
        &[
            "deliver",
            "--tenant",
            "region",
            "--unit",
            "0123456789abcdef0123456789abcdef",
        ],
    );
    assert!(err.contains("HTTP 404") && err.contains("0123456789abcdef"), "{err}");
    let err = refused(&front, &reader, &["deliver", "--tenant", "region", "--unit", &c]);
    assert!(err.contains("HTTP 404"), "DRH's unit is outside the contract: {err}");
    let err = refused(&front, &reader, &["deliver", "--tenant", "region", "--unit", &b]);
    assert!(err.contains("HTTP 403") && err.contains("derogation"), "{err}");
    let after = front
        .json(&archivist, &["delivery", "list", "--tenant", "region", "--json"])
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // Derogation refused by the control authority: no DIP.
    let authority = front.token("region", "control-authority", None);
    let dgs = front.token("region", "transferring-agency", Some("DGS"));
    let v = front.json(
        &reader,
        &[
            "deliver",
            "--tenant",
            "region",
            "--unit",
            &b,
            "--derogation",
            "--comment",
            "thèse d'histoire",
            "--json",
        ],
    );
    assert_eq!(v["status"], "pending_originating_agency", "{v:#}");
    let first = v["id"].as_str().unwrap().to_owned();
    let oa_request = v["authorizations"][0]["request_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let msg = front.dir.path().join("oa-request.xml");
    succeeds(
        &front,
        &archivist,
        &[
            "delivery",
            "message",
            "--tenant",
            "region",
            &first,
            &oa_request,
            "--out",
            msg.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_to_string(&msg)
        .unwrap()
        .contains("<AuthorizationOriginatingAgencyRequest"));
    assert_seda(&msg);
    // Neither the requester nor the control authority answers for the originating agency.
    let err = refused(
        &front,
        &reader,
        &["delivery", "answer", "--tenant", "region", &first, "--approve"],
    );
    assert!(err.contains("HTTP 403"), "{err}");
    let err = refused(
        &front,
        &authority,
        &["delivery", "answer", "--tenant", "region", &first, "--approve"],
    );
    assert!(err.contains("HTTP 403"), "{err}");
    let v = front.json(
        &dgs,
        &[
            "delivery",
            "answer",
            "--tenant",
            "region",
            &first,
            "--approve",
            "--control-authority",
            "AD-DIR",
            "--json",
        ],
    );
    assert_eq!(v["status"], "pending_control_authority", "{v:#}");
    let ca_request = v["authorizations"][1]["request_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    succeeds(
        &front,
        &archivist,
        &[
            "delivery",
            "message",
            "--tenant",
            "region",
            &first,
            &ca_request,
            "--out",
            msg.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_to_string(&msg)
        .unwrap()
        .contains("<AuthorizationControlAuthorityRequest"));
    assert_seda(&msg);
    let err = refused(
        &front,
        &authority,
        &["delivery", "answer", "--tenant", "region", &first, "--refuse"],
    );
    assert!(err.contains("reason"), "a refusal needs a reason: {err}");
    let v = front.json(
        &authority,
        &[
            "delivery",
            "answer",
            "--tenant",
            "region",
            &first,
            "--refuse",
            "--reason",
            "secret de la vie privée",
            "--json",
        ],
    );
    assert_eq!(v["status"], "refused", "{v:#}");
    let reply = v["authorizations"][1]["reply_message_id"].as_str().unwrap().to_owned();
    succeeds(
        &front,
        &archivist,
        &[
            "delivery",
            "message",
            "--tenant",
            "region",
            &first,
            &reply,
            "--out",
            msg.to_str().unwrap(),
        ],
    );
    assert_seda(&msg);
    let err = refused(&front, &reader, &dip_download(&first, "/dev/null"));
    assert!(err.contains("HTTP 409") && err.contains("refused"), "{err}");
    let (ob, sha_b) = object_of(&front, &archivist, &b);
    assert!(download(&front, &reader, &b, &ob).unwrap_err().contains("HTTP 403"));

    // Approved by both: a DIP for that requester only, and that requester may take the unit.
    let v = front.json(
        &reader,
        &["deliver", "--tenant", "region", "--unit", &b, "--derogation", "--json"],
    );
    let second = v["id"].as_str().unwrap().to_owned();
    front.json(
        &archivist,
        &[
            "delivery",
            "answer",
            "--tenant",
            "region",
            &second,
            "--approve",
            "--json",
        ],
    );
    let v = front.json(
        &authority,
        &[
            "delivery",
            "answer",
            "--tenant",
            "region",
            &second,
            "--approve",
            "--json",
        ],
    );
    assert!(v["status"] == "building" || v["status"] == "ready", "{v:#}");
    let mut d = delivery(&front, &reader, &second);
    for _ in 0..120 {
        if d["status"] != "building" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        d = delivery(&front, &reader, &second);
    }
    assert_eq!(d["status"], "ready", "{d:#}");
    let dip_b = front.dir.path().join("dip-b.zip");
    succeeds(&front, &reader, &dip_download(&second, dip_b.to_str().unwrap()));
    assert_seda(&dip_b);
    let files = unzip(&dip_b);
    let m = &files["manifest.xml"];
    assert_eq!(xml_texts(m, "UnitIdentifier"), std::slice::from_ref(&b));
    assert_eq!(xml_texts(m, "AuthorizationRequestReplyIdentifier").len(), 1);
    let data: Vec<&Vec<u8>> = files
        .iter()
        .filter(|(n, _)| n.starts_with("Content/"))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(hex::encode(sha2::Sha512::digest(data[0])), sha_b);
    assert_eq!(download(&front, &reader, &b, &ob).unwrap(), b"contenu B sous 50 ans");
    assert!(download(&front, &other_reader, &b, &ob)
        .unwrap_err()
        .contains("HTTP 403"));
    let err = refused(&front, &other_reader, &dip_download(&second, "/dev/null"));
    assert!(err.contains("HTTP 404"), "{err}");

    // The logbook tells the whole story.
    let events = front.logbook(&archivist, "region");
    let count = |t: &str, outcome: &str| {
        events
            .iter()
            .filter(|e| e["event_type"] == t && e["outcome"] == outcome)
            .count()
    };
    assert!(count("delivery.requested", "OK") >= 4);
    assert_eq!(count("derogation.decided", "KO"), 1);
    assert!(count("derogation.decided", "OK") >= 3);
    assert!(count("delivery.built", "OK") >= 3);
    // A build runs while its request is being logged, but logs after it.
    for built in events.iter().filter(|e| e["event_type"] == "delivery.built") {
        let requested = events
            .iter()
            .find(|e| e["event_type"] == "delivery.requested" && e["subject"] == built["subject"])
            .unwrap_or_else(|| panic!("no request logged for {built}"));
        assert!(
            requested["seq"].as_u64() < built["seq"].as_u64(),
            "{requested} / {built}"
        );
    }
    assert!(count("delivery.downloaded", "OK") >= 3);
    assert_eq!(count("delivery.refused", "KO"), 1);
}

/// The DIP build is held once its sources are checked, the front killed, another started: the
/// delivery stays `building` with nothing to download until the new front sees no progress for
/// `--dip-stale-secs`, then it is rebuilt whole under a new attempt.
#[test]
fn an_interrupted_dip_build_is_taken_over_by_the_next_front() {
    let _g = serial();
    let hold = tempfile::tempdir().unwrap();
    let pause = hold.path().join("pause");
    std::fs::write(&pause, b"").unwrap();
    let mut front = Front::start_with(
        common::Tuning::default(),
        &["--dip-pause-file".as_ref(), pause.as_os_str()],
    );
    let (archivist, _agency, a, _b, c) = set_up(&front);
    let v = front.json(
        &archivist,
        &["deliver", "--tenant", "region", "--unit", &a, "--unit", &c, "--json"],
    );
    assert_eq!(v["status"], "building", "{v:#}");
    let id = v["id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let d = delivery(&front, &archivist, &id);
        assert_eq!(d["status"], "building", "{d:#}");
        if d["progress"]["objects_done"] == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the build never checked its objects: {d:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    front.restart(&["--dip-stale-secs".as_ref(), "5".as_ref()]);
    let d = delivery(&front, &archivist, &id);
    assert_eq!(d["status"], "building", "{d:#}");
    assert!(d["dip_plan"].is_null(), "{d:#}");
    let out = front.dir.path().join("dip-resumed.zip");
    let download = dip_download(&id, out.to_str().unwrap());
    let err = refused(&front, &archivist, &download);
    assert!(err.contains("HTTP 409") && err.contains("not ready"), "{err}");

    let d = delivery_after(&front, &archivist, &id, "building", 90);
    assert_eq!(d["status"], "ready", "{d:#}");
    assert_eq!(d["attempt"], 1, "{d:#}");
    succeeds(&front, &archivist, &download);
    assert_seda(&out);
    let files = unzip(&out);
    let content: Vec<&Vec<u8>> = files
        .iter()
        .filter(|(n, _)| n.starts_with("Content/"))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(content.len(), 2, "{:?}", files.keys());
    let mut want = vec![object_of(&front, &archivist, &a).1, object_of(&front, &archivist, &c).1];
    let mut got: Vec<String> = content.iter().map(|d| hex::encode(sha2::Sha512::digest(d))).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let resumed: Vec<Value> = front
        .logbook(&archivist, "region")
        .into_iter()
        .filter(|e| e["event_type"] == "delivery.resumed")
        .collect();
    assert_eq!(resumed.len(), 1, "one take-over in the logbook");
}

/// A DIP is written from the objects at each download, each checked against a digest recorded
/// at ingest: when a record no longer matches its bytes, the download is refused (nothing is
/// written at `--out`), the delivery fails with the reason, and the logbook says so. Each way an
/// object is checked is covered: a packed object hashed with BLAKE3 by the front (A), an object
/// read whole whose BLAKE3 the client checks against its storage manifest (C), and a record from
/// before BLAKE3 was recorded, checked by its SHA-512 (A again, its BLAKE3 removed).
#[test]
fn an_object_that_no_longer_matches_its_digest_cuts_the_download_and_fails_the_delivery() {
    let _g = serial();
    let front = Front::start();
    let (archivist, _agency, a, _b, c) = set_up(&front);
    let alter = |unit: &str, change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let key = format!("t/region/unit/{unit}");
        let mut record: Value =
            serde_json::from_str(front.cluster.cli_ok(&["meta", "get", "archive", &key]).trim()).unwrap();
        change(record["objects"][0].as_object_mut().unwrap());
        front
            .cluster
            .cli_ok(&["meta", "put", "archive", &key, &record.to_string()]);
    };
    let refused_dip = |unit: &str, digest: &str| -> String {
        let v = front.json(&archivist, &["deliver", "--tenant", "region", "--unit", unit, "--json"]);
        let id = v["id"].as_str().unwrap().to_owned();
        let d = delivery_after(&front, &archivist, &id, "building", 60);
        assert_eq!(d["status"], "ready", "the sources are there: the DIP is offered: {d:#}");
        let out = front.dir.path().join(format!("dip-altered-{id}.zip"));
        let download = dip_download(&id, out.to_str().unwrap());
        // A small DIP fails within its first chunk: an error status with the reason.
        let err = refused(&front, &archivist, &download);
        assert!(
            err.contains("HTTP 409") && err.contains(digest) && err.contains("audit"),
            "{err}"
        );
        assert!(!out.exists(), "a refused download leaves no file");
        let d = delivery_after(&front, &archivist, &id, "ready", 30);
        assert_eq!(d["status"], "failed", "{d:#}");
        let error = d["error"].as_str().unwrap();
        assert!(error.contains(digest) && error.contains("audit"), "{error}");
        let err = refused(&front, &archivist, &download);
        assert!(err.contains("HTTP 409") && err.contains("failed"), "{err}");
        id
    };

    let zeros = |field: &'static str, len: usize| {
        move |o: &mut serde_json::Map<String, Value>| {
            assert!(o.contains_key(field), "ingest records a {field}: {o:?}");
            o.insert(field.to_owned(), Value::String("0".repeat(len)));
        }
    };
    alter(&a, &zeros("blake3", 64));
    refused_dip(&a, "BLAKE3");
    let failed = |front: &Front| {
        front
            .logbook(&archivist, "region")
            .into_iter()
            .filter(|e| e["event_type"] == "delivery.downloaded" && e["outcome"] == "KO")
            .count()
    };
    assert_eq!(failed(&front), 1, "the cut download is logged once");

    alter(&c, &zeros("blake3", 64));
    refused_dip(&c, "BLAKE3");

    alter(&a, &|o| {
        o.remove("blake3");
    });
    alter(&a, &zeros("sha512", 128));
    refused_dip(&a, "SHA-512");
    assert_eq!(failed(&front), 3, "each cut download is logged");
}
