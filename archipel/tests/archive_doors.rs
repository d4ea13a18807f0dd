//! The doors on a real cluster, driven with the request shapes of the partners' tools: Pastell's
//! as@lae REST connector (single and chunked sends, both agency encodings, resends, KO, bad
//! credentials, bad archives and chunks, the three pilot flows) and a Vitam client (mutual TLS,
//! a zip and a tar.gz SIP polled to completion).

mod archive_common;
mod common;
#[path = "archive_common/doors.rs"]
mod doors;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use archive_common::{front_log, manifest, region, seda_valid, shared, File, Front, RULES_CSV};
use common::{bin, serial};
use doors::{chunks, curl, encode_all, hostile_tar_gz, php_urlencode, raw, split_sip, tar_gz, Answer, Pastell};

const AGENCY: &str = "Identifier5";

/// A bordereau for `files` under `message`, in SEDA `version` (2.1 or 2.2).
fn bordereau(agreement: &str, message: &str, version: &str, files: &[File]) -> String {
    manifest(agreement, files, "")
        .replace(
            &format!("<MessageIdentifier>MSG-{agreement}</MessageIdentifier>"),
            &format!(
                "<MessageIdentifier>{}</MessageIdentifier>",
                message.replace('&', "&amp;").replace('<', "&lt;")
            ),
        )
        .replace("seda:v2.2", &format!("seda:v{version}"))
}

/// Writes a bordereau and the tar.gz of its files (named like Pastell's, without suffix).
fn package(dir: &Path, tag: &str, agreement: &str, message: &str, version: &str, files: &[File]) -> (PathBuf, PathBuf) {
    let b = dir.join(format!("{tag}-bordereau.xml"));
    std::fs::write(&b, bordereau(agreement, message, version, files)).unwrap();
    let a = dir.join(format!("{tag}_sae_archive_0"));
    let entries: Vec<(String, &[u8])> = files.iter().map(|f| (format!("content/{}", f.name), f.data)).collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    tar_gz(&a, &refs);
    (b, a)
}

fn send(p: &Pastell, bordereau: &Path, archive: &Path) -> Answer {
    p.post(
        "/sedaMessages",
        &[],
        &[
            ("seda_message", bordereau, Some("bordereau.xml")),
            ("attachments", archive, None),
        ],
    )
}

/// Checks what Pastell's SedaHelper reads in a reply, and the reply against the official XSD.
fn check_reply(dir: &Path, name: &str, xml: &str, version: &str) {
    let root = xml.split_once("?>").map_or(xml, |(_, r)| r).trim_start();
    assert!(
        root.contains(&format!("xmlns=\"fr:gouv:culture:archivesdefrance:seda:v{version}\""))
            && !root.starts_with("<seda:"),
        "the SEDA namespace must be the default one: {xml}"
    );
    let path = dir.join(name);
    std::fs::write(&path, xml).unwrap();
    if let Some(r) = seda_valid(&path) {
        r.unwrap_or_else(|e| panic!("{name} is not valid SEDA {version}: {e}\n{xml}"));
    }
}

fn count(xml: &str, element: &str) -> usize {
    xml.matches(&format!("<{element}>")).count()
}

fn between<'a>(xml: &'a str, element: &str) -> &'a str {
    let open = format!("<{element}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no {element} in {xml}")) + open.len();
    let end = xml[start..].find(&format!("</{element}>")).unwrap() + start;
    &xml[start..end]
}

fn session_dirs(front: &Front) -> usize {
    std::fs::read_dir(front.dir.path().join("spool/asalae-chunks"))
        .map(|d| d.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0)
}

#[test]
fn asalae_door_speaks_pastells_as_lae_rest() {
    let _g = serial();
    let front = Front::start();
    region(&front, RULES_CSV, &["AGR-1"]);
    let dir = front.dir.path().to_path_buf();

    // `token create --json` gives what Pastell's form needs: the id as login, the token as password.
    let issued = front.json(
        &front.operator,
        &[
            "token",
            "create",
            "--tenant",
            "region",
            "--role",
            "transferring-agency",
            "--agency",
            AGENCY,
            "--json",
        ],
    );
    let (id, token) = (issued["id"].as_str().unwrap(), issued["token"].as_str().unwrap());
    assert!(token.starts_with(&format!("ark_{id}_")), "{issued:#}");
    let asalae = format!("{}/asalae", front.url);
    let p = Pastell {
        url: asalae.clone(),
        login: id.to_owned(),
        password_sha256: archive_common::sha256_hex(token.as_bytes()),
    };

    // Ping and versions, authenticated like every call.
    for path in ["/ping", "/versions"] {
        let a = p.get(path, "application/json");
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert!(
            a.json().as_object().is_some_and(|o| !o.is_empty()),
            "{path}: {}",
            a.text()
        );
    }
    // Wrong password, unknown login, the raw token as password: one 401, saying nothing of the login.
    let wrong = Pastell {
        url: asalae.clone(),
        login: id.into(),
        password_sha256: archive_common::sha256_hex(b"not the token"),
    };
    let unknown = Pastell {
        url: asalae.clone(),
        login: "0123456789abcdef".into(),
        password_sha256: p.password_sha256.clone(),
    };
    let unhashed = Pastell {
        url: asalae.clone(),
        login: id.into(),
        password_sha256: token.into(),
    };
    let answers: Vec<Answer> = [&wrong, &unknown, &unhashed]
        .iter()
        .map(|c| c.get("/ping", "application/json"))
        .collect();
    for a in &answers {
        assert_eq!(a.status, 401, "{}", a.text());
        assert!(
            !a.text().contains(id) && !a.text().contains("0123456789abcdef"),
            "{}",
            a.text()
        );
        assert_eq!(a.text(), answers[0].text());
    }
    let none = curl(&[&format!("{asalae}/ping")]).unwrap();
    assert_eq!(none.status, 401);

    let pdf = b"%PDF-1.4 deliberation".repeat(200);
    let xml = b"<acte>deliberation 2020-12</acte>".repeat(100);
    // A scan does not compress: the archive spans several chunks.
    let scan: Vec<u8> = (0..6000).map(|_| rand::random::<u8>()).collect();
    let files = [
        File {
            id: "O1",
            name: "deliberation.pdf",
            data: &pdf,
        },
        File {
            id: "O2",
            name: "acte.xml",
            data: &xml,
        },
        File {
            id: "O3",
            name: "scan.jpg",
            data: &scan,
        },
    ];

    // Single send, SEDA 2.1, a MessageIdentifier that needs encoding in a URL.
    let m1 = "PASTELL/2026 #1+ok";
    let (b1, a1) = package(&dir, "m1", "AGR-1", m1, "2.1", &files);
    let first = send(&p, &b1, &a1);
    assert_eq!(first.status, 200, "{}\n{}", first.text(), front_log(&dir));
    let first = first.json();
    let t1 = first["transfer_id"].as_str().unwrap().to_owned();
    let ack = p.wait_reply("Acknowledgement", AGENCY, m1, php_urlencode).text();
    check_reply(&dir, "m1-ack.xml", &ack, "2.1");
    assert_eq!(count(&ack, "MessageReceivedIdentifier"), 1, "{ack}");
    assert_eq!(between(&ack, "MessageReceivedIdentifier"), "PASTELL/2026 #1+ok");
    assert_eq!(count(&ack, "MessageIdentifier"), 1, "{ack}");
    let atr = p.wait_reply("ArchiveTransferReply", AGENCY, m1, php_urlencode).text();
    check_reply(&dir, "m1-atr.xml", &atr, "2.1");
    assert_eq!(between(&atr, "ReplyCode"), "000", "{atr}");
    assert_eq!(count(&atr, "MessageRequestIdentifier"), 1);
    assert_eq!(between(&atr, "MessageRequestIdentifier"), m1);
    assert_eq!(count(&atr, "ArchivalAgencyArchiveUnitIdentifier"), 1, "{atr}");
    let aip = between(&atr, "ArchivalAgencyArchiveUnitIdentifier").to_owned();
    // The same reply whatever the agency's encoding: raw, or every byte escaped.
    let again = p.wait_reply("ArchiveTransferReply", AGENCY, m1, encode_all).text();
    assert_eq!(between(&again, "ArchivalAgencyArchiveUnitIdentifier"), aip);
    let raw_agency = p.get(
        &format!(
            "/sedaMessages/sequence:ArchiveTransfer/message:Acknowledgement/originOrganizationIdentification:{AGENCY}/originMessageIdentifier:{}",
            php_urlencode(m1)
        ),
        "application/xml",
    );
    assert_eq!(raw_agency.status, 200, "{}", raw_agency.text());
    // The archive's own API agrees: transfer OK, its AIP the identifier Pastell keeps.
    let status = front.json(&front.operator, &["transfers", "--tenant", "region", &t1, "--json"]);
    assert_eq!(status["aip_id"].as_str(), Some(aip.as_str()), "{status:#}");

    // Pastell resends the same bordereau: same transfer, nothing new stored.
    let resent = send(&p, &b1, &a1);
    assert_eq!(resent.status, 200, "{}", resent.text());
    assert_eq!(
        resent.json()["transfer_id"].as_str(),
        Some(t1.as_str()),
        "{}",
        resent.text()
    );
    assert_eq!(resent.json()["resent"], true);
    let all = front.json(&front.operator, &["transfers", "--tenant", "region", "--json"]);
    let of_m1 = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["message_identifier"] == m1)
        .count();
    assert_eq!(
        of_m1, 1,
        "one transfer for the message, however often it is sent: {all:#}"
    );

    // Not sent at all: 404, as as@lae answers before a reply exists.
    let missing = p.get(
        &Pastell::reply_path("ArchiveTransferReply", AGENCY, "NEVER-SENT", raw),
        "application/xml",
    );
    assert_eq!(missing.status, 404, "{}", missing.text());

    // Chunked send, SEDA 2.2, chunks of 1000 bytes as Pastell's SplitFile cuts them.
    let m2 = "PASTELL-2026-2";
    let (b2, a2) = package(&dir, "m2", "AGR-1", m2, "2.2", &files);
    let parts_dir = dir.join("m2-parts");
    std::fs::create_dir_all(&parts_dir).unwrap();
    let parts = chunks(&a2, 1000, &parts_dir);
    assert!(parts.len() >= 2, "the archive must need several chunks");
    let (session, security) = open_session(&p, &b2);
    for (i, part) in parts.iter().enumerate() {
        let a = send_chunk(&p, &session, &security, parts.len(), i + 1, part);
        assert_eq!(a.status, 200, "chunk {}: {}", i + 1, a.text());
        if i + 1 == parts.len() {
            assert!(a.json()["transfer_id"].is_string(), "{}", a.text());
        }
    }
    assert_eq!(
        session_dirs(&front),
        0,
        "a finished session leaves nothing in the spool"
    );
    let atr = p.wait_reply("ArchiveTransferReply", AGENCY, m2, php_urlencode).text();
    check_reply(&dir, "m2-atr.xml", &atr, "2.2");
    assert_eq!(between(&atr, "ReplyCode"), "000", "{atr}");
    assert_eq!(count(&atr, "ArchivalAgencyArchiveUnitIdentifier"), 1, "{atr}");

    // Bad chunks: each refusal is precise and drops the session with its chunks.
    let m3 = "PASTELL-2026-3";
    let (b3, _) = package(&dir, "m3", "AGR-1", m3, "2.2", &files);
    let (session, security) = open_session(&p, &b3);
    let a = send_chunk(&p, &session, &security, parts.len(), 2, &parts[1]);
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.text().contains("before chunk 1"), "{}", a.text());
    let a = send_chunk(&p, &session, &security, parts.len(), 1, &parts[0]);
    assert_eq!(a.status, 404, "the session is gone: {}", a.text());
    let (session, security) = open_session(&p, &b3);
    assert_eq!(
        send_chunk(&p, &session, &security, parts.len(), 1, &parts[0]).status,
        200
    );
    assert_eq!(session_dirs(&front), 1);
    let wrong = send_chunk(&p, &session, "0".repeat(64).as_str(), parts.len(), 2, &parts[1]);
    assert_eq!(wrong.status, 403, "{}", wrong.text());
    let twice = send_chunk(&p, &session, &security, parts.len(), 1, &parts[0]);
    assert_eq!(twice.status, 409, "{}", twice.text());
    assert!(twice.text().contains("already received"), "{}", twice.text());
    assert_eq!(session_dirs(&front), 0, "spooled chunks are removed");
    // An expired session (its last chunk long ago) is refused and removed.
    let (session, security) = open_session(&p, &b3);
    assert_eq!(
        send_chunk(&p, &session, &security, parts.len(), 1, &parts[0]).status,
        200
    );
    let state = front
        .dir
        .path()
        .join("spool/asalae-chunks")
        .join(&session)
        .join("session.json");
    let mut s: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    s["updated_at"] = "2000-01-01T00:00:00Z".into();
    std::fs::write(&state, serde_json::to_vec(&s).unwrap()).unwrap();
    let expired = send_chunk(&p, &session, &security, parts.len(), 2, &parts[1]);
    assert_eq!(expired.status, 400, "{}", expired.text());
    assert!(expired.text().contains("expired"), "{}", expired.text());
    assert_eq!(session_dirs(&front), 0);
    // None of these stored anything under m3.
    let none = p.get(
        &Pastell::reply_path("Acknowledgement", AGENCY, m3, raw),
        "application/xml",
    );
    assert_eq!(none.status, 404, "{}", none.text());

    // Hostile archives: refused at once, nothing stored.
    for (n, (name, kind)) in [
        ("../escape.pdf", tar::EntryType::Regular),
        ("/etc/passwd", tar::EntryType::Regular),
        ("content/link", tar::EntryType::Symlink),
    ]
    .into_iter()
    .enumerate()
    {
        let m = format!("PASTELL-BAD-{n}");
        let (b, _) = package(&dir, &format!("bad{n}"), "AGR-1", &m, "2.2", &files);
        let evil = dir.join(format!("bad{n}_archive"));
        hostile_tar_gz(&evil, name, kind);
        let a = send(&p, &b, &evil);
        assert_eq!(a.status, 400, "{name}: {}", a.text());
        assert!(a.text().contains("entry"), "{name}: {}", a.text());
        let none = p.get(
            &Pastell::reply_path("Acknowledgement", AGENCY, &m, raw),
            "application/xml",
        );
        assert_eq!(none.status, 404, "{name}: {}", none.text());
    }
    // A bordereau from another agency than the credential's: refused before anything is stored.
    let other = bordereau("AGR-1", "PASTELL-OTHER", "2.2", &files).replace(
        "<TransferringAgency><Identifier>Identifier5</Identifier>",
        "<TransferringAgency><Identifier>Someone-else</Identifier>",
    );
    let other_path = dir.join("other.xml");
    std::fs::write(&other_path, other).unwrap();
    assert_eq!(send(&p, &other_path, &a1).status, 403);

    // A KO transfer: accepted for processing (200), then an XSD-valid ATR that is not 000.
    let m6 = "PASTELL-KO";
    let (b6, a6) = package(&dir, "m6", "AGR-UNKNOWN", m6, "2.2", &files);
    assert_eq!(send(&p, &b6, &a6).status, 200);
    let atr = p.wait_reply("ArchiveTransferReply", AGENCY, m6, php_urlencode).text();
    check_reply(&dir, "m6-atr.xml", &atr, "2.2");
    assert_eq!(between(&atr, "ReplyCode"), "KO", "{atr}");
    assert_eq!(count(&atr, "ArchivalAgencyArchiveUnitIdentifier"), 0, "{atr}");

    pilot_flows_through_the_door(&front, &dir);
}

fn open_session(p: &Pastell, bordereau: &Path) -> (String, String) {
    let a = p.post(
        "/sedaMessages",
        &[("send_chunked_attachments", "true")],
        &[("seda_message", bordereau, Some("bordereau.xml"))],
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    let session = v["chunk_session_identifier"].as_str().unwrap().to_owned();
    let security = v["chunk_security_identifier"].as_str().unwrap().to_owned();
    assert!(!session.is_empty() && !security.is_empty());
    (session, security)
}

fn send_chunk(p: &Pastell, session: &str, security: &str, of: usize, index: usize, part: &Path) -> Answer {
    let (of, index) = (of.to_string(), index.to_string());
    p.post(
        "/sedaAttachmentsChunkFiles",
        &[
            ("session_identifier", session),
            ("security_identifier", security),
            ("number_of_files", "1"),
            ("file_index", "1"),
            ("file_name", "m_sae_archive_0"),
            ("compression_algorithm", "TARGZ"),
            ("number_of_chunks", &of),
            ("chunk_index", &index),
        ],
        &[("chunk_content", part, None)],
    )
}

/// The three pilot flows as Pastell sends them: `build-sip` output split into a bordereau and
/// a tar.gz, through the door, accepted (000).
fn pilot_flows_through_the_door(front: &Front, dir: &Path) {
    let flows = shared().join("corpus/flows");
    let pdf = shared().join("pronom/skeleton-suite/fmt/fmt-354-signature-id-521.pdf");
    if !flows.is_dir() || !pdf.is_file() {
        eprintln!("SKIP: ../shared/corpus/flows or the PDF/A sample is absent; pilot flows not sent through the door");
        return;
    }
    front.json(
        &front.operator,
        &["tenant", "add", "ville", "--archival-agency", "FRAD-VILLE", "--json"],
    );
    let archivist = front.token("ville", "archivist", None);
    for flow in ["pes", "actes", "marches"] {
        front.json(
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
    }
    let issued = front.json(
        &front.operator,
        &[
            "token",
            "create",
            "--tenant",
            "ville",
            "--role",
            "transferring-agency",
            "--agency",
            "SV-FINANCES",
            "--json",
        ],
    );
    let p = Pastell {
        url: format!("{}/asalae", front.url),
        login: issued["id"].as_str().unwrap().into(),
        password_sha256: archive_common::sha256_hex(issued["token"].as_str().unwrap().as_bytes()),
    };
    let build = |flow: &str, payloads: &[PathBuf]| -> PathBuf {
        let out = dir.join(format!("{flow}.zip"));
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
        front.json(&front.operator, &refs);
        out
    };
    let pes = build(
        "pes",
        &[
            flows.join("pes/PESALR2_49101169800000_171227_2045.xml"),
            flows.join("pes/ACQUIT_PESALR2_49101169800000_171227_2045.xml"),
        ],
    );
    let act_pdf = dir.join("069-123456789-20130601-20130623C-AI-1-1_1.pdf");
    std::fs::copy(&pdf, &act_pdf).unwrap();
    let actes = build("actes", &[flows.join("actes/ar-actes.xml"), act_pdf]);
    let desc = dir.join("dossier-2024-MP-017.xml");
    std::fs::write(
        &desc,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<m:DossierMarche xmlns:m=\"urn:archipel:flows:marches:1\">\
         <m:Identifiant>2024-MP-017</m:Identifiant><m:Acheteur siret=\"00000000000000\">Commune synthétique</m:Acheteur>\
         <m:Objet>Réfection de la toiture de l'école</m:Objet><m:Nature>Marché de travaux</m:Nature>\
         <m:Procedure>Procédure adaptée</m:Procedure><m:CodeCPV>45261000-4</m:CodeCPV><m:DateLancement>2024-02-01</m:DateLancement>\
         <m:DateNotification>2024-05-15</m:DateNotification><m:Montant>184000.00</m:Montant>\
         <m:Titulaire>Toitures Synthétiques SARL</m:Titulaire><m:Pieces><m:DCE>dce.pdf</m:DCE><m:Offre>offre.pdf</m:Offre>\
         <m:RapportAnalyse>rapport.pdf</m:RapportAnalyse><m:Contrat>contrat.pdf</m:Contrat>\
         <m:Notification>notification.pdf</m:Notification></m:Pieces></m:DossierMarche>\n",
    )
    .unwrap();
    let mut payloads = vec![desc];
    for name in ["dce.pdf", "offre.pdf", "rapport.pdf", "contrat.pdf", "notification.pdf"] {
        let p = dir.join(name);
        std::fs::copy(&pdf, &p).unwrap();
        payloads.push(p);
    }
    let marches = build("marches", &payloads);
    for (flow, sip) in [("pes", pes), ("actes", actes), ("marches", marches)] {
        let (b, a) = split_sip(&sip, dir);
        let text = std::fs::read_to_string(&b).unwrap();
        let message = between(&text, "MessageIdentifier").to_owned();
        let sent = send(&p, &b, &a);
        assert_eq!(sent.status, 200, "{flow}: {}", sent.text());
        let atr = p
            .wait_reply("ArchiveTransferReply", "SV-FINANCES", &message, php_urlencode)
            .text();
        let version = if text.contains("seda:v2.1") {
            "2.1"
        } else if text.contains("seda:v2.3") {
            "2.3"
        } else {
            "2.2"
        };
        check_reply(dir, &format!("{flow}-atr.xml"), &atr, version);
        assert_eq!(between(&atr, "ReplyCode"), "000", "{flow}: {atr}");
        assert_eq!(count(&atr, "ArchivalAgencyArchiveUnitIdentifier"), 1, "{flow}: {atr}");
    }
}

/// A second front of the same cluster, with the Vitam door on.
struct VitamFront {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for VitamFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn vitam_front(front: &Front) -> VitamFront {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args([
            "archive",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--vitam-listen",
            "127.0.0.1:0",
            "--spool",
        ])
        .arg(dir.path().join("spool"))
        .env("ARCHIPEL_CLUSTER", front.cluster.addrs())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("front.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut url = None;
    // The front prints one ARCHIPEL_… line per door it serves; the Vitam one is among the first.
    for _ in 0..6 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(u) = line.trim().strip_prefix("ARCHIPEL_VITAM=") {
            url = Some(u.to_owned());
            break;
        }
    }
    let url = url.unwrap_or_else(|| panic!("no ARCHIPEL_VITAM line; log: {}", front_log(dir.path())));
    VitamFront { url, child, _dir: dir }
}

/// curl as a Vitam application: its certificate, the door's self-signed server certificate not checked.
fn vitam(cert: &Path, args: &[&str]) -> Option<Answer> {
    let c = cert.join("client.pem");
    let k = cert.join("client.key");
    let mut full = vec!["-k", "--cert", c.to_str().unwrap(), "--key", k.to_str().unwrap()];
    full.extend_from_slice(args);
    curl(&full)
}

#[test]
fn vitam_door_ingests_with_client_certificates() {
    use archipel_node::tls::{issue, Validity};
    let _g = serial();
    let front = Front::start();
    let r = region(&front, RULES_CSV, &["AGR-1"]);
    let door = vitam_front(&front);
    let dir = front.dir.path().to_path_buf();

    // A certificate per application, confined to tenant region.
    let ca = &common::pki().ca;
    let app = ca
        .issue_tenant_client("vitam-app", "region", Validity::days(1))
        .unwrap();
    let app_dir = dir.join("vitam-app");
    issue::write_bundle(&app_dir, &ca.cert_pem(), &app).unwrap();
    let op = ca
        .issue_client("not-a-tenant", archipel_node::tls::Role::Operator, Validity::days(1))
        .unwrap();
    let op_dir = dir.join("not-a-tenant");
    issue::write_bundle(&op_dir, &ca.cert_pem(), &op).unwrap();
    // Revoked before the door's first connection, so its first read of the list has it.
    let gone = ca
        .issue_tenant_client("revoked-app", "region", Validity::days(1))
        .unwrap();
    let gone_dir = dir.join("revoked-app");
    issue::write_bundle(&gone_dir, &ca.cert_pem(), &gone).unwrap();
    let out = front.cluster.cli(&["cert", "revoke", &gone.serial, "--reason", "test"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The tenant's number, as an administrator reads it.
    let info = front.json(&r.archivist, &["tenant", "doors", "--tenant", "region", "--json"]);
    let number = info["vitam_tenant"].as_u64().unwrap().to_string();
    // Stable: asked again, the same number.
    let again = front.json(&front.operator, &["tenant", "doors", "--tenant", "region", "--json"]);
    assert_eq!(again["vitam_tenant"], info["vitam_tenant"]);

    // A zip SIP.
    let data = b"%PDF-1.4 vitam".repeat(100);
    let files = [File {
        id: "O1",
        name: "piece.pdf",
        data: &data,
    }];
    let manifest_xml = bordereau("AGR-1", "VITAM-1", "2.2", &files);
    let sip = dir.join("vitam-sip.zip");
    archive_common::zip(
        &sip,
        &[("manifest.xml", manifest_xml.as_bytes()), ("content/piece.pdf", &data)],
    );
    let ingests = format!("{}/ingest-external/v1/ingests", door.url);
    let post = |cert: &Path, tenant: &str, context: &str, body: &Path| {
        vitam(
            cert,
            &[
                "-X",
                "POST",
                "-H",
                &format!("X-Tenant-Id: {tenant}"),
                "-H",
                "X-Action: RESUME",
                "-H",
                &format!("X-Context-Id: {context}"),
                "-H",
                "Content-Type: application/octet-stream",
                "-H",
                "Accept: application/json",
                "--data-binary",
                &format!("@{}", body.display()),
                &ingests,
            ],
        )
    };
    let a = post(&app_dir, &number, "DEFAULT_WORKFLOW", &sip).unwrap();
    assert_eq!(a.status, 202, "{}", a.text());
    let op_id = a.header("X-Request-Id").expect("X-Request-Id");
    let (state, status) = poll(&app_dir, &door.url, &number, &op_id);
    assert_eq!((state.as_str(), status.as_str()), ("COMPLETED", "OK"));
    let atr = vitam(
        &app_dir,
        &[
            "-H",
            &format!("X-Tenant-Id: {number}"),
            &format!("{ingests}/{op_id}/archivetransferreply"),
        ],
    )
    .unwrap();
    assert_eq!(atr.status, 200, "{}", atr.text());
    check_reply(&dir, "vitam-atr.xml", &atr.text(), "2.2");
    assert_eq!(between(&atr.text(), "ReplyCode"), "OK");
    let manifest = vitam(
        &app_dir,
        &[
            "-H",
            &format!("X-Tenant-Id: {number}"),
            &format!("{ingests}/{op_id}/manifests"),
        ],
    )
    .unwrap();
    assert_eq!(manifest.status, 200, "{}", manifest.text());
    assert_eq!(manifest.body, manifest_xml.as_bytes());

    // A tar.gz SIP works the same.
    let manifest2 = bordereau("AGR-1", "VITAM-2", "2.2", &files);
    let tgz = dir.join("vitam-sip.tar.gz");
    tar_gz(
        &tgz,
        &[("manifest.xml", manifest2.as_bytes()), ("content/piece.pdf", &data)],
    );
    let a = post(&app_dir, &number, "DEFAULT_WORKFLOW", &tgz).unwrap();
    assert_eq!(a.status, 202, "{}", a.text());
    let id2 = a.header("X-Request-Id").unwrap();
    assert_eq!(poll(&app_dir, &door.url, &number, &id2).1, "OK");
    // Scripts poll GET operations/{id} and read $results[0].globalStatus.
    let details = vitam(
        &app_dir,
        &[
            "-H",
            &format!("X-Tenant-Id: {number}"),
            &format!("{}/admin-external/v1/operations/{id2}", door.url),
        ],
    )
    .unwrap();
    assert_eq!(details.status, 200, "{}", details.text());
    assert_eq!(
        details.json()["$results"][0]["globalStatus"],
        "OK",
        "{}",
        details.text()
    );

    // Refusals: other tenant number, other workflow, no tenant header, non-tenant certificate,
    // no certificate at all.
    let other = (number.parse::<u32>().unwrap() + 1).to_string();
    assert_eq!(post(&app_dir, &other, "DEFAULT_WORKFLOW", &sip).unwrap().status, 401);
    let blank = post(&app_dir, &number, "DefaultIngestWorkflowBlankTest", &sip).unwrap();
    assert_eq!(blank.status, 412, "{}", blank.text());
    assert!(blank.text().contains("DEFAULT_WORKFLOW"), "{}", blank.text());
    let no_tenant = vitam(
        &app_dir,
        &[
            "-X",
            "POST",
            "-H",
            "X-Action: RESUME",
            "--data-binary",
            &format!("@{}", sip.display()),
            &ingests,
        ],
    )
    .unwrap();
    assert_eq!(no_tenant.status, 412, "{}", no_tenant.text());
    assert_eq!(post(&op_dir, &number, "DEFAULT_WORKFLOW", &sip).unwrap().status, 403);
    assert!(
        curl(&[
            "-k",
            "-X",
            "POST",
            "--data-binary",
            &format!("@{}", sip.display()),
            &ingests
        ])
        .is_none_or(|a| a.status == 0),
        "no client certificate: no TLS session"
    );
    let revoked = post(&gone_dir, &number, "DEFAULT_WORKFLOW", &sip).unwrap();
    assert_eq!(revoked.status, 401, "{}", revoked.text());
    assert!(revoked.text().contains("revoked"), "{}", revoked.text());
    // Unknown operation: 404.
    let unknown = vitam(
        &app_dir,
        &[
            "-I",
            "-H",
            &format!("X-Tenant-Id: {number}"),
            &format!("{}/admin-external/v1/operations/nope", door.url),
        ],
    )
    .unwrap();
    assert_eq!(unknown.status, 404);
}

/// HEAD operations/{id} until 200; returns (state, status).
fn poll(cert: &Path, url: &str, tenant: &str, id: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let a = vitam(
            cert,
            &[
                "-I",
                "-H",
                &format!("X-Tenant-Id: {tenant}"),
                &format!("{url}/admin-external/v1/operations/{id}"),
            ],
        )
        .unwrap();
        let state = a.header("X-Global-Execution-State").unwrap_or_default();
        let status = a.header("X-Global-Execution-Status").unwrap_or_default();
        match a.status {
            200 => {
                assert_eq!(state, "COMPLETED");
                return (state, status);
            }
            202 => assert_eq!(state, "RUNNING", "{}", a.headers),
            other => panic!("HEAD operations/{id}: {other} {}", a.headers),
        }
        assert!(Instant::now() < deadline, "operation {id} never completed");
        std::thread::sleep(Duration::from_millis(300));
    }
}
