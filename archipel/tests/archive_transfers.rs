//! Transfers on a real cluster: idempotent per (TransferringAgency, MessageIdentifier) across
//! two fronts, RNG profiles, object groups with several versions and physical objects.

mod archive_common;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use archive_common::{launch, region, seda_valid, sha256_hex, write_sip, zip, Front, RULES_CSV};
use common::serial;

/// A second front on the same cluster: fronts keep no state, so it must agree with the first.
struct OtherFront {
    url: String,
    child: Child,
}

impl Drop for OtherFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn other_front(front: &Front) -> OtherFront {
    let dir = front.dir.path().join("front2");
    std::fs::create_dir_all(&dir).unwrap();
    let (child, url) = launch(&front.cluster, &dir, "spool", &[]);
    OtherFront { url, child }
}

/// `archipel archive transfer … --wait --json` through the front at `url`.
fn transfer_via(front: &Front, url: &str, token: &str, sip: &Path, atr: &Path) -> serde_json::Value {
    let (sip, atr) = (sip.to_str().unwrap(), atr.to_str().unwrap());
    let args = ["transfer", "--tenant", "region", sip, "--wait", "--json", "--atr", atr];
    json_of(&front.run_at(url, token, &args))
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn assert_valid_atr(atr: &Path, code: &str) -> String {
    let xml = std::fs::read_to_string(atr).unwrap_or_else(|e| panic!("no ATR at {}: {e}", atr.display()));
    assert!(
        xml.contains(&format!("<ReplyCode>{code}</ReplyCode>")),
        "expected {code}: {xml}"
    );
    if let Some(r) = seda_valid(atr) {
        r.unwrap_or_else(|e| panic!("ATR {} is not valid SEDA: {e}\n{xml}", atr.display()));
    }
    xml
}

/// Texts of every `<name>` element of `xml` (flat elements only).
fn texts(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(t, _)| t.to_owned()))
        .collect()
}

/// A SEDA 2.2 manifest: one root unit titled `title` with one file, under `agreement`.
fn manifest(message: &str, agreement: &str, title: &str, level: &str, data: &[u8]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-11-25T10:00:00</Date><MessageIdentifier>{message}</MessageIdentifier><ArchivalAgreement>{agreement}</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage><DataObjectGroup id=\"G1\"><BinaryDataObject id=\"O1\"><DataObjectVersion>BinaryMaster_1</DataObjectVersion>\
         <Uri>content/a.txt</Uri><MessageDigest algorithm=\"SHA-256\">{digest}</MessageDigest><Size>{size}</Size>\
         <FileInfo><Filename>a.txt</Filename></FileInfo></BinaryDataObject></DataObjectGroup><DescriptiveMetadata>\
         <ArchiveUnit id=\"U1\"><Content><DescriptionLevel>{level}</DescriptionLevel><Title>{title}</Title></Content>\
         <DataObjectReference><DataObjectGroupReferenceId>G1</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>\
         </DescriptiveMetadata><ManagementMetadata/></DataObjectPackage><ArchivalAgency><Identifier>Identifier4</Identifier></ArchivalAgency>\
         <TransferringAgency><Identifier>Identifier5</Identifier></TransferringAgency></ArchiveTransfer>",
        digest = sha256_hex(data),
        size = data.len()
    )
}

fn sip(dir: &Path, name: &str, manifest: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    zip(&path, &[("manifest.xml", manifest.as_bytes()), ("content/a.txt", data)]);
    path
}

/// Writes the SIP `name` (`sip`), transfers it to `region` with `agency`'s token and waits: the
/// verdict and the ATR path.
fn send(front: &Front, agency: &str, name: &str, manifest: &str, data: &[u8]) -> (serde_json::Value, PathBuf) {
    front.transfer(agency, "region", &sip(front.dir.path(), name, manifest, data))
}

fn aips(front: &Front, archivist: &str) -> u64 {
    let r = front.json(archivist, &["reindex", "--tenant", "region", "--json"]);
    r["aips"].as_u64().unwrap_or_else(|| panic!("{r:#}"))
}

fn setup(front: &Front) -> (String, String) {
    let r = region(front, RULES_CSV, &["AGR-TEST"]);
    (r.archivist, r.agency)
}

#[test]
fn a_resent_transfer_is_one_aip_and_a_reused_identifier_is_refused() {
    let _g = serial();
    let front = Front::start();
    let (archivist, agency) = setup(&front);
    let dir = front.dir.path();
    let data = b"deliberation 2026-001";
    let first_sip = sip(
        dir,
        "first.zip",
        &manifest("MSG-1", "AGR-TEST", "Premier", "Item", data),
        data,
    );

    let (first, atr1) = front.transfer(&agency, "region", &first_sip);
    assert_eq!(first["reply_code"], "OK", "{first:#}");
    let first_id = first["transfer_id"].as_str().unwrap().to_owned();
    let atr1 = assert_valid_atr(&atr1, "OK");
    assert_eq!(aips(&front, &archivist), 1);

    // Pastell resends the same SIP: the same transfer's reply, no second AIP.
    let (again, atr2) = front.transfer(&agency, "region", &first_sip);
    assert_eq!(again["reply_code"], "OK", "{again:#}");
    assert_eq!(again["resend_of"], first_id.as_str(), "{again:#}");
    assert_eq!(again["aip_id"], first["aip_id"], "{again:#}");
    assert_eq!(
        std::fs::read_to_string(&atr2).unwrap(),
        atr1,
        "the resend gets the first reply"
    );
    assert_eq!(aips(&front, &archivist), 1, "a resend stores nothing");

    // Another SIP under the same identifier: KO naming the earlier transfer, nothing stored.
    let other = b"another act";
    let (ko, atr3) = send(
        &front,
        &agency,
        "clash.zip",
        &manifest("MSG-1", "AGR-TEST", "Autre", "Item", other),
        other,
    );
    assert_eq!(ko["status"], "KO", "{ko:#}");
    assert!(ko["reasons"].to_string().contains(&first_id), "{ko:#}");
    assert!(ko["resend_of"].is_null(), "{ko:#}");
    assert_valid_atr(&atr3, "KO");
    assert_eq!(aips(&front, &archivist), 1);

    // Looked up by its pair, REST through the CLI.
    let found = front.json(
        &archivist,
        &[
            "transfers",
            "--tenant",
            "region",
            "--agency",
            "Identifier5",
            "--message-id",
            "MSG-1",
            "--json",
        ],
    );
    assert_eq!(found["id"], first_id.as_str(), "{found:#}");
    let none = front.run(
        &archivist,
        &[
            "transfers",
            "--tenant",
            "region",
            "--agency",
            "Identifier5",
            "--message-id",
            "MSG-404",
            "--json",
        ],
    );
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("MSG-404"));

    // A KO that stored nothing frees its identifier: the corrected SIP goes through.
    let (ko, _) = send(
        &front,
        &agency,
        "broken.zip",
        &manifest("MSG-2", "AGR-TEST", "Cassé", "Item", b"not these bytes"),
        data,
    );
    assert_eq!(ko["status"], "KO", "{ko:#}");
    let (ok, _) = send(
        &front,
        &agency,
        "fixed.zip",
        &manifest("MSG-2", "AGR-TEST", "Réparé", "Item", data),
        data,
    );
    assert_eq!(ok["reply_code"], "OK", "{ok:#}");
    assert!(ok["resend_of"].is_null(), "{ok:#}");
    assert_eq!(aips(&front, &archivist), 2);

    // The same SIP sent to two fronts at once: one AIP, both answers name it.
    let second = other_front(&front);
    let race_sip = sip(
        dir,
        "race.zip",
        &manifest("MSG-3", "AGR-TEST", "Course", "Item", data),
        data,
    );
    let (a_atr, b_atr) = (dir.join("race-a.xml"), dir.join("race-b.xml"));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| transfer_via(&front, &front.url, &agency, &race_sip, &a_atr));
        let b = s.spawn(|| transfer_via(&front, &second.url, &agency, &race_sip, &b_atr));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a["reply_code"], "OK", "{a:#}");
    assert_eq!(b["reply_code"], "OK", "{b:#}");
    assert_eq!(a["aip_id"], b["aip_id"], "{a:#}\n{b:#}");
    let resends = [&a, &b].iter().filter(|v| !v["resend_of"].is_null()).count();
    assert_eq!(resends, 1, "exactly one of them is the resend: {a:#}\n{b:#}");
    assert_eq!(aips(&front, &archivist), 3);
}

/// Accepts the manifests `manifest` writes when the root unit is a File; says nothing of the rest.
const PROFILE_RNG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<grammar xmlns="http://relaxng.org/ns/structure/1.0" ns="fr:gouv:culture:archivesdefrance:seda:v2.2"
         datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes">
  <start>
    <element name="ArchiveTransfer">
      <element name="Date"><data type="dateTime"/></element>
      <element name="MessageIdentifier"><data type="token"/></element>
      <element name="ArchivalAgreement"><value>AGR-RNG</value></element>
      <element name="CodeListVersions"><ref name="any"/></element>
      <element name="DataObjectPackage">
        <zeroOrMore><element name="DataObjectGroup"><ref name="any"/></element></zeroOrMore>
        <element name="DescriptiveMetadata">
          <element name="ArchiveUnit">
            <attribute name="id"/>
            <element name="Content">
              <element name="DescriptionLevel"><value>File</value></element>
              <element name="Title"><data type="string"/></element>
            </element>
            <zeroOrMore><element name="DataObjectReference"><ref name="any"/></element></zeroOrMore>
          </element>
        </element>
        <element name="ManagementMetadata"><ref name="any"/></element>
      </element>
      <element name="ArchivalAgency"><ref name="any"/></element>
      <element name="TransferringAgency"><ref name="any"/></element>
    </element>
  </start>
  <define name="any">
    <zeroOrMore>
      <choice><attribute><anyName/></attribute><text/><element><anyName/><ref name="any"/></element></choice>
    </zeroOrMore>
  </define>
</grammar>
"#;

#[test]
fn an_rng_profile_accepts_one_sip_and_rejects_another_naming_the_element() {
    let _g = serial();
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("SKIP: xmllint (libxml2-utils) is not installed; RNG profiles cannot be checked");
        return;
    }
    let front = Front::start();
    let (archivist, agency) = setup(&front);
    let dir = front.dir.path();
    let rng = dir.join("profile.rng");
    std::fs::write(&rng, PROFILE_RNG).unwrap();
    // A grammar that does not compile is refused when the profile is saved.
    let broken = dir.join("broken.rng");
    std::fs::write(
        &broken,
        "<grammar xmlns=\"http://relaxng.org/ns/structure/1.0\"><start><elemen/></start></grammar>",
    )
    .unwrap();
    let refused = front.run(
        &archivist,
        &[
            "profile",
            "add",
            "--tenant",
            "region",
            "--id",
            "PR-BAD",
            "--rng",
            broken.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("does not compile"),
        "{refused:?}"
    );

    front.json(
        &archivist,
        &[
            "profile",
            "add",
            "--tenant",
            "region",
            "--id",
            "PR-RNG",
            "--rng",
            rng.to_str().unwrap(),
            "--json",
        ],
    );
    front.json(
        &archivist,
        &[
            "agreement",
            "add",
            "--tenant",
            "region",
            "--id",
            "AGR-RNG",
            "--transferring-agency",
            "Identifier5",
            "--profile",
            "PR-RNG",
            "--json",
        ],
    );
    let data = b"registre";
    let (ok, atr) = send(
        &front,
        &agency,
        "good.zip",
        &manifest("RNG-1", "AGR-RNG", "Registre", "File", data),
        data,
    );
    assert_eq!(ok["reply_code"], "OK", "{ok:#}");
    assert_valid_atr(&atr, "OK");

    let (ko, atr) = send(
        &front,
        &agency,
        "bad.zip",
        &manifest("RNG-2", "AGR-RNG", "Registre", "Item", data),
        data,
    );
    assert_eq!(ko["status"], "KO", "{ko:#}");
    let reasons = ko["reasons"].to_string();
    assert!(reasons.contains("element DescriptionLevel"), "{ko:#}");
    assert!(reasons.contains("PR-RNG"), "{ko:#}");
    let xml = assert_valid_atr(&atr, "KO");
    assert!(xml.contains("DescriptionLevel"), "{xml}");

    // The same grammar on an agreement without a profile: the agreement's RNG decides.
    let agreement_rng = dir.join("agreement.rng");
    std::fs::write(&agreement_rng, PROFILE_RNG.replace("AGR-RNG", "AGR-OWN-RNG")).unwrap();
    front.json(
        &archivist,
        &[
            "agreement",
            "add",
            "--tenant",
            "region",
            "--id",
            "AGR-OWN-RNG",
            "--transferring-agency",
            "Identifier5",
            "--rng",
            agreement_rng.to_str().unwrap(),
            "--json",
        ],
    );
    let refused = front.run(
        &archivist,
        &[
            "agreement",
            "add",
            "--tenant",
            "region",
            "--id",
            "AGR-BAD-RNG",
            "--transferring-agency",
            "Identifier5",
            "--rng",
            broken.to_str().unwrap(),
        ],
    );
    assert!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("does not compile"),
        "{refused:?}"
    );
    let (ok, _) = send(
        &front,
        &agency,
        "good-agr.zip",
        &manifest("RNG-3", "AGR-OWN-RNG", "Registre", "File", data),
        data,
    );
    assert_eq!(ok["reply_code"], "OK", "{ok:#}");
    let (ko, _) = send(
        &front,
        &agency,
        "bad-agr.zip",
        &manifest("RNG-4", "AGR-OWN-RNG", "Registre", "Item", data),
        data,
    );
    assert_eq!(ko["status"], "KO", "{ko:#}");
    let reasons = ko["reasons"].to_string();
    assert!(
        reasons.contains("agreement `AGR-OWN-RNG` (RNG) refuses element DescriptionLevel"),
        "{ko:#}"
    );

    // Not a SEDA level at all: KO naming the unit, with or without a profile.
    let (ko, _) = send(
        &front,
        &agency,
        "odd.zip",
        &manifest("LVL-1", "AGR-TEST", "Dossier", "Dossier", data),
        data,
    );
    assert_eq!(ko["status"], "KO", "{ko:#}");
    assert!(ko["reasons"].to_string().contains("ArchiveUnit U1"), "{ko:#}");
}

#[test]
fn group_versions_physical_objects_and_identical_files_reach_the_catalog_and_the_atr() {
    let _g = serial();
    let front = Front::start();
    let (archivist, agency) = setup(&front);
    let dir = front.dir.path();
    let pdf = b"%PDF-1.4 the same bytes twice";
    let digest = sha256_hex(pdf);
    let bdo = |id: &str, version: &str, name: &str| {
        format!(
            "<BinaryDataObject id=\"{id}\"><DataObjectVersion>{version}</DataObjectVersion><Uri>content/{name}</Uri>\
             <MessageDigest algorithm=\"SHA-256\">{digest}</MessageDigest><Size>{}</Size><FileInfo><Filename>{name}</Filename></FileInfo>\
             </BinaryDataObject>",
            pdf.len()
        )
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-11-25T10:00:00</Date><MessageIdentifier>OBJ-1</MessageIdentifier><ArchivalAgreement>AGR-TEST</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage><DataObjectGroup id=\"G1\">{}{}<PhysicalDataObject id=\"P1\">\
         <DataObjectVersion>PhysicalMaster_1</DataObjectVersion><PhysicalId>BOITE-42</PhysicalId><PhysicalDimensions>\
         <Width unit=\"centimetre\">21</Width><Height unit=\"centimetre\">29.7</Height><NumberOfPage>3</NumberOfPage></PhysicalDimensions>\
         </PhysicalDataObject></DataObjectGroup><DescriptiveMetadata><ArchiveUnit id=\"U1\"><Content><DescriptionLevel>Item</DescriptionLevel>\
         <Title>Arrêté 2026-17</Title></Content><DataObjectReference><DataObjectReferenceId>O2</DataObjectReferenceId></DataObjectReference>\
         </ArchiveUnit></DescriptiveMetadata><ManagementMetadata/></DataObjectPackage><ArchivalAgency><Identifier>Identifier4</Identifier>\
         </ArchivalAgency><TransferringAgency><Identifier>Identifier5</Identifier></TransferringAgency></ArchiveTransfer>",
        bdo("O1", "BinaryMaster_1", "acte.pdf"),
        bdo("O2", "Dissemination_1", "acte-diffusion.pdf"),
    );
    let path = dir.join("objects.zip");
    zip(
        &path,
        &[
            ("manifest.xml", xml.as_bytes()),
            ("content/acte.pdf", pdf),
            ("content/acte-diffusion.pdf", pdf),
        ],
    );
    let (v, atr) = front.transfer(&agency, "region", &path);
    assert_ne!(v["status"], "KO", "{v:#}");
    assert_eq!(v["objects"], 2, "{v:#}");
    let atr = assert_valid_atr(&atr, v["reply_code"].as_str().unwrap());
    assert!(atr.contains("<DataObjectGroup id=\"G1\">"), "{atr}");
    let groups = texts(&atr, "DataObjectGroupSystemId");
    assert_eq!(groups.len(), 3, "{atr}");
    assert!(groups.iter().all(|g| g == &groups[0]), "{atr}");
    assert_eq!(texts(&atr, "PhysicalId"), ["BOITE-42"]);
    assert_eq!(
        texts(&atr, "DataObjectVersion"),
        ["BinaryMaster_1", "Dissemination_1", "PhysicalMaster_1"]
    );

    let unit_id = texts(&atr, "SystemId")
        .into_iter()
        .next()
        .expect("the unit's system id");
    let unit = front.json(&archivist, &["unit", "--tenant", "region", &unit_id]);
    let objects = unit["objects"].as_array().unwrap();
    assert_eq!(
        objects.len(),
        2,
        "a reference to one version attaches the group: {unit:#}"
    );
    assert_ne!(
        objects[0]["id"], objects[1]["id"],
        "identical files are two objects: {unit:#}"
    );
    assert_eq!(objects[0]["group_system_id"], groups[0].as_str(), "{unit:#}");
    assert_eq!(objects[1]["version"], "Dissemination_1", "{unit:#}");
    let physical = &unit["physical_objects"][0];
    assert_eq!(physical["physical_id"], "BOITE-42", "{unit:#}");
    assert_eq!(physical["dimensions"][0]["name"], "Width", "{unit:#}");
    assert_eq!(physical["dimensions"][0]["unit"], "centimetre", "{unit:#}");
    // Each object downloads by its own id.
    for o in objects {
        let out = dir.join(format!("{}.pdf", o["sip_id"].as_str().unwrap()));
        let got = front.run(
            &archivist,
            &[
                "download",
                "--tenant",
                "region",
                &unit_id,
                o["id"].as_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
            ],
        );
        assert!(got.status.success(), "{got:?}");
        assert_eq!(std::fs::read(&out).unwrap(), pdf);
    }

    // A version the code list does not know, or twice in a group: KO naming the object.
    let bad = xml
        .replace("OBJ-1", "OBJ-2")
        .replace("Dissemination_1", "BinaryMaster_1");
    let path = dir.join("twice.zip");
    zip(
        &path,
        &[
            ("manifest.xml", bad.as_bytes()),
            ("content/acte.pdf", pdf),
            ("content/acte-diffusion.pdf", pdf),
        ],
    );
    let (ko, atr) = front.transfer(&agency, "region", &path);
    assert_eq!(ko["status"], "KO", "{ko:#}");
    assert!(ko["reasons"].to_string().contains("BinaryDataObject O2"), "{ko:#}");
    assert_valid_atr(&atr, "KO");
}

/// A front silent for long is taken for stopped and a resend may take its message over; if that
/// front was only cut off and comes back, its catalog commit must not make a second AIP of the
/// message. The transfer is held before its commit, the claim handed to another transfer as the
/// take-over does, then the transfer let go: KO, nothing committed, the claim untouched.
#[test]
fn a_transfer_whose_message_was_taken_over_meanwhile_commits_nothing() {
    let _g = serial();
    let hold = tempfile::tempdir().unwrap();
    let pause = hold.path().join("pause");
    std::fs::write(&pause, b"").unwrap();
    let front = Front::start_with(
        common::Tuning::default(),
        &["--ingest-pause-file".as_ref(), pause.as_os_str()],
    );
    let (archivist, agency) = setup(&front);
    let data = b"acte retenu par un front coupe";
    let slow = sip(
        front.dir.path(),
        "slow.zip",
        &manifest("MSG-R", "AGR-TEST", "Lent", "Item", data),
        data,
    );
    let v = front.json(
        &agency,
        &["transfer", "--tenant", "region", slow.to_str().unwrap(), "--json"],
    );
    let id = v["id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let t = front.json(&archivist, &["transfers", "--tenant", "region", &id, "--json"]);
        if t["step"] == "catalog" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never reached the commit: {t:#}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let key = "t/region/transfer-message/Identifier5/MSG-R";
    let got = front.cluster.cli(&["meta", "get", "archive", key]);
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    let held: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(held["transfer_id"], id.as_str(), "{held:#}");
    let other = serde_json::json!({
        "transfer_id": "0123456789abcdef",
        "manifest_sha512": held["manifest_sha512"],
        "claimed_at": "2026-12-06T10:00:00Z",
    });
    let put = front.cluster.cli(&["meta", "put", "archive", key, &other.to_string()]);
    assert!(put.status.success(), "{}", String::from_utf8_lossy(&put.stderr));

    std::fs::remove_file(&pause).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let t = loop {
        let t = front.json(&archivist, &["transfers", "--tenant", "region", &id, "--json"]);
        if matches!(t["status"].as_str(), Some("OK" | "WARNING" | "KO")) {
            break t;
        }
        assert!(std::time::Instant::now() < deadline, "never finished: {t:#}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(t["status"], "KO", "{t:#}");
    assert!(
        t.to_string().contains("taken over by transfer 0123456789abcdef"),
        "{t:#}"
    );
    assert_eq!(aips(&front, &archivist), 0, "nothing committed");
    let got = front.cluster.cli(&["meta", "get", "archive", key]);
    let still: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(still["transfer_id"], "0123456789abcdef");
}

/// `search --json` through the front at `url`: the total of units found.
fn total_via(front: &Front, url: &str, token: &str, args: &[&str]) -> u64 {
    let mut full = vec!["search", "--tenant", "region", "--json", "--no-facets"];
    full.extend_from_slice(args);
    let v = json_of(&front.run_at(url, token, &full));
    v["total"].as_u64().unwrap_or_else(|| panic!("{v:#}"))
}

/// A rule's duration changed through one front recomputes end dates in place; another front's
/// search must follow without a reindex (its index is fed from AIP descriptors, which do not
/// change).
#[test]
fn another_fronts_search_follows_end_dates_recomputed_in_place() {
    let _g = serial();
    let front = Front::start();
    let (archivist, agency) = setup(&front);
    let other = other_front(&front);
    let sip_path = front.dir.path().join("rules.zip");
    let files = [archive_common::File {
        id: "O1",
        name: "a.txt",
        data: b"deliberation",
    }];
    write_sip(&sip_path, &archive_common::manifest("AGR-TEST", &files, ""), &files);
    front.ingest(&agency, "region", &sip_path);
    let ending =
        |day: &str| ["--rule-id", "APP-00001", "--rule-end-from", day, "--rule-end-to", day].map(str::to_owned);
    let on = |day: &str| -> u64 {
        let args = ending(day);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        total_via(&front, &other.url, &archivist, &args)
    };
    let before = on("2030-01-01");
    assert!(before >= 1, "APP-00001 (10 years from 2020-01-01) ends 2030-01-01");

    let csv = RULES_CSV.replace(
        "APP-00001,AppraisalRule,10 ans,,10,YEAR",
        "APP-00001,AppraisalRule,20 ans,,20,YEAR",
    );
    front.import_rules(&archivist, "region", &csv);
    assert_eq!(on("2040-01-01"), before, "the other front sees the new end dates");
    assert_eq!(on("2030-01-01"), 0, "and no longer the old ones");
}

/// The whole-catalog readings of a front (accession register, elimination analysis) come from
/// its copy of the catalog: a transfer and a rule change made through another front must show
/// at once, never the copy made before them.
#[test]
fn another_fronts_register_and_analysis_follow_the_catalog() {
    let _g = serial();
    let front = Front::start();
    let (archivist, agency) = setup(&front);
    let other = other_front(&front);
    let files = [archive_common::File {
        id: "O1",
        name: "a.txt",
        data: b"deliberation",
    }];
    let send_one = |name: &str| {
        let path = front.dir.path().join(name);
        // A MessageIdentifier of its own: the same one twice would be one transfer.
        let manifest =
            archive_common::manifest("AGR-TEST", &files, "").replace(">MSG-AGR-TEST<", &format!(">MSG-{name}<"));
        assert!(manifest.contains(&format!(">MSG-{name}<")));
        write_sip(&path, &manifest, &files);
        front.ingest(&agency, "region", &path);
    };
    let units_held = || -> u64 {
        let reg = json_of(&front.run_at(&other.url, &archivist, &["register", "--tenant", "region", "--json"]));
        reg["agencies"]
            .as_array()
            .unwrap_or_else(|| panic!("{reg:#}"))
            .iter()
            .map(|a| a["current"]["units"].as_u64().unwrap())
            .sum()
    };
    let destroyable = || -> u64 {
        let args = [
            "elimination",
            "analyse",
            "--tenant",
            "region",
            "--at",
            "2035-01-01",
            "--json",
        ];
        let v = json_of(&front.run_at(&other.url, &archivist, &args));
        v["destroy"].as_u64().unwrap_or_else(|| panic!("{v:#}"))
    };
    send_one("first.zip");
    let one = units_held();
    assert!(one >= 1);
    assert_eq!(units_held(), one, "the same reading twice");
    let before = destroyable();
    assert!(
        before >= 1,
        "APP-00001 (10 years from 2020) has ended by 2035, FinalAction Destroy"
    );

    send_one("second.zip");
    assert_eq!(
        units_held(),
        2 * one,
        "the other front's register counts the new transfer"
    );
    assert_eq!(destroyable(), 2 * before, "and so does its analysis");

    let csv = RULES_CSV.replace(
        "APP-00001,AppraisalRule,10 ans,,10,YEAR",
        "APP-00001,AppraisalRule,20 ans,,20,YEAR",
    );
    front.import_rules(&archivist, "region", &csv);
    assert_eq!(
        destroyable(),
        0,
        "end dates recomputed in place (2040) reach the other front's analysis"
    );
    // With the copy just made (by the analysis above), a DIP through the other front takes its
    // units from it: a known unit is delivered, an unknown one refused.
    let found = json_of(&front.run_at(
        &other.url,
        &archivist,
        &["search", "--tenant", "region", "--json", "--no-facets"],
    ));
    let unit = found["hits"][0]["unit_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{found:#}"))
        .to_owned();
    let dip = front.dir.path().join("dip.zip");
    let deliver = |unit: &str| {
        let args = [
            "deliver", "--tenant", "region", "--unit", unit, "--wait", "--json", "--out",
        ];
        let mut args = args.to_vec();
        args.push(dip.to_str().unwrap());
        front.run_at(&other.url, &archivist, &args)
    };
    let v = json_of(&deliver(&unit));
    assert_eq!(v["status"], "ready", "{v:#}");
    let refused = deliver("no-such-unit");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no-such-unit"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
