//! The restitution and transfer out screens over plain HTTP on a real cluster: a session is
//! needed, forged forms get 403, a transferring agency is refused and the control authority only
//! reads, another tenant's record answers 404, a comment with markup comes back as text.
//! Then the whole workflow from the forms: refusals said on the form (unknown unit, hold), a
//! restitution built, its package downloaded (a zip with manifest.xml), the receipt recorded
//! and the units gone from the unit page, the search and into the register; a transfer out
//! answered with a KO ArchiveTransferReply is `rejected`, its reason shown, its units still here.

mod archive_common;
mod common;
mod ui_common;

use std::time::{Duration, Instant};

use archive_common::disposal::system_id;
use archive_common::{abc, manifest, region, tenant, write_sip, Front, RULES_CSV};
use common::serial;
use ui_common::http::{hidden, Ui};

fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// A session: its cookie and its form token.
struct Session {
    cookie: String,
    csrf: String,
}

/// What this test adds to the shared HTTP helpers: a session with its form token, multipart
/// replies, and waiting for a record's state.
impl Ui {
    async fn session(&self, token: &str) -> Session {
        let cookie = self.sign_in(token).await;
        let page = self.get("/", &cookie).await.text().await.unwrap();
        Session {
            csrf: hidden(&page, "_csrf"),
            cookie,
        }
    }

    async fn page(&self, path: &str, s: &Session) -> (u16, String) {
        let r = self.get(path, &s.cookie).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// POSTs `fields` (name, value) with the session's token first, as the page's form does.
    async fn post(&self, path: &str, s: &Session, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut body = format!("_csrf={}", s.csrf);
        for (k, v) in fields {
            body.push_str(&format!("&{k}={}", form_encode(v)));
        }
        self.post_form(path, &s.cookie, &body).await
    }

    /// A multipart form: `csrf` first, then the file `xml`.
    async fn upload(&self, path: &str, cookie: &str, csrf: &str, xml: &[u8]) -> reqwest::Response {
        let boundary = "archipelboundary9";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"xml\"; filename=\"reponse.xml\"\r\nContent-Type: application/xml\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(xml);
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        self.http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The record's page once its state says `needle`.
    async fn wait_for(&self, path: &str, s: &Session, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let r = self.get(path, &s.cookie).await;
            let refresh = r.headers().get("refresh").cloned();
            let page = r.text().await.unwrap();
            if page.contains("Paquet en préparation") {
                assert_eq!(
                    refresh.as_ref().map(|h| h.to_str().unwrap()),
                    Some("2"),
                    "a page being built reloads itself"
                );
                assert!(page.contains(">Actualiser</a>"), "and says how without a refresh");
            }
            if page.contains(needle) {
                return page;
            }
            assert!(Instant::now() < deadline, "never `{needle}`:\n{page}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A SIP of three one-file units under a root and a unit titled `tag`, for `SP-REGION`.
fn sip(dir: &std::path::Path, name: &str, agreement: &str, tag: &str) -> std::path::PathBuf {
    let data: Vec<Vec<u8>> = ["a", "b", "c"]
        .iter()
        .map(|f| format!("{tag} fichier {f} ").repeat(100).into_bytes())
        .collect();
    let files = abc([&data[0], &data[1], &data[2]]);
    let extra = format!(
        "<ArchiveUnit id=\"UX\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>Dossier {tag}</Title></Content></ArchiveUnit>"
    );
    let xml = manifest(agreement, &files, &extra).replace(
        "<ManagementMetadata/>",
        "<ManagementMetadata><OriginatingAgencyIdentifier>SP-REGION</OriginatingAgencyIdentifier></ManagementMetadata>",
    );
    let path = dir.join(name);
    write_sip(&path, &xml, &files);
    path
}

/// The record id a start form redirected to.
fn started(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "the form started nothing");
    location(r).trim_start_matches("/ui/sorties/").to_owned()
}

#[test]
fn restitution_and_transfer_out_from_the_browser_forms() {
    let _guard = serial();
    let front = Front::start();
    let rules = format!("{RULES_CSV}HOL-00001,HoldRule,Gel judiciaire,,,\n");
    let r = region(&front, &rules, &["AGR-REST", "AGR-OUT"]);
    let other = tenant(&front, "dep", "AD-DEP", &rules, &["AGR-IN"], "Identifier4");
    let control = front.token("region", "control-authority", None);
    let dir = front.dir.path().to_owned();
    let atr1 = front.ingest(&r.agency, "region", &sip(&dir, "rendu.zip", "AGR-REST", "zéphyr"));
    let atr2 = front.ingest(&r.agency, "region", &sip(&dir, "sortie.zip", "AGR-OUT", "aquilon"));
    let (root1, ub1, ux1) = (system_id(&atr1, "ROOT"), system_id(&atr1, "UB"), system_id(&atr1, "UX"));
    let root2 = system_id(&atr2, "ROOT");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ui = Ui {
            base: format!("{}/ui", front.url),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        // A session is needed.
        let r0 = ui.get("/sorties", "").await;
        assert_eq!(r0.status(), 303);
        assert_eq!(location(&r0), "/ui/connexion?retour=/ui/sorties");

        let a = ui.session(&r.archivist).await;
        let agency = ui.session(&r.agency).await;
        let ca = ui.session(&control).await;
        let stranger = ui.session(&other.archivist).await;

        // The screen, in the archivist's navigation; empty; prefilled from a unit's page.
        let (status, page) = ui.page("/sorties", &a).await;
        assert_eq!(status, 200);
        assert!(page.contains("Restitutions et transferts sortants") && page.contains("aria-current=\"page\""));
        assert!(
            page.contains("Aucune restitution ni aucun transfert sortant."),
            "{page}"
        );
        let (_, unit) = ui.page(&format!("/unites/{root1}"), &a).await;
        let link = format!("/ui/sorties/nouvelle?unite={root1}");
        assert!(
            unit.contains(&link) && unit.contains("Restituer / Transférer"),
            "{unit}"
        );
        let (status, form) = ui.page(&link["/ui".len()..], &a).await;
        assert_eq!(status, 200);
        assert!(form.contains(&format!(">{root1}</textarea>")), "{form}");
        for label in [
            "for=\"r-unites\"",
            "for=\"r-destinataire\"",
            "for=\"t-destinataire\"",
            "for=\"t-contrat\"",
        ] {
            assert!(form.contains(label), "every field has its label: {label}");
        }

        // A transferring agency neither sees nor uses it, even with its own form token.
        let (_, home) = ui.page("/", &agency).await;
        assert!(
            !home.contains("/ui/sorties"),
            "not in a transferring agency's navigation"
        );
        assert_eq!(ui.page("/sorties", &agency).await.0, 403);
        assert_eq!(ui.page("/sorties/nouvelle", &agency).await.0, 403);
        let refused = ui.post("/sorties/restitution", &agency, &[("unites", &root1)]).await;
        assert_eq!(refused.status(), 403);

        // Forged forms: 403, nothing started.
        for action in ["/sorties/restitution", "/sorties/transfert"] {
            let body = format!("_csrf=forged&unites={root1}&destinataire=AD-DEP");
            let f = ui.post_form(action, &a.cookie, &body).await;
            assert_eq!(f.status(), 403, "{action}");
            assert!(f.text().await.unwrap().contains("Formulaire refusé"));
        }
        // Refusals said on the form, which keeps what was typed.
        let f = ui
            .post(
                "/sorties/restitution",
                &a,
                &[("unites", "U-INCONNUE"), ("commentaire", "essai")],
            )
            .await;
        assert_eq!(f.status(), 400);
        let page = f.text().await.unwrap();
        assert!(
            page.contains("rien n’a été engagé") && page.contains("no such unit") && page.contains("U-INCONNUE"),
            "{page}"
        );
        front.hold(&r.archivist, "add", &ub1);
        let f = ui.post("/sorties/restitution", &a, &[("unites", &root1)]).await;
        assert_eq!(f.status(), 400);
        let page = f.text().await.unwrap();
        assert!(page.contains("legal hold") && page.contains(&ub1), "{page}");
        front.hold(&r.archivist, "lift", &ub1);
        let f = ui
            .post(
                "/sorties/transfert",
                &a,
                &[("unites", &root2), ("destinataire", "Identifier4")],
            )
            .await;
        assert_eq!(f.status(), 400, "not to the tenant's own archive");
        assert!(f.text().await.unwrap().contains("own archival agency"));
        assert!(
            ui.page("/sorties", &a).await.1.contains("Aucune restitution"),
            "nothing started"
        );

        // A restitution from the form, its comment with markup.
        let comment = "<script>alert(1)</script> Rendu au service";
        let f = ui
            .post(
                "/sorties/restitution",
                &a,
                &[("unites", &root1), ("commentaire", comment), ("version", "2.2")],
            )
            .await;
        let rid = started(&f);
        assert!(rid.starts_with("REST-"), "{rid}");
        let page = ui
            .wait_for(&format!("/sorties/{rid}"), &a, "Paquet prêt, en attente de la réponse")
            .await;
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Rendu au service") && !page.contains("<script>alert"),
            "{page}"
        );
        assert!(page.contains("SP-REGION") && page.contains(&root1), "{page}");

        // The package: a zip holding the manifest; the messages as sandboxed downloads.
        let p = ui.get(&format!("/sorties/{rid}/paquet"), &a.cookie).await;
        assert_eq!(p.status(), 200);
        assert_eq!(p.headers()["content-type"], "application/zip");
        let bytes = p.bytes().await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("the package is a zip");
        let mut manifest_xml = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("manifest.xml").expect("manifest.xml"),
            &mut manifest_xml,
        )
        .unwrap();
        assert!(
            manifest_xml.contains("<ArchiveTransfer") && manifest_xml.contains("SP-REGION"),
            "{manifest_xml}"
        );
        let m = ui.get(&format!("/sorties/{rid}/messages/request"), &a.cookie).await;
        assert_eq!(m.status(), 200);
        assert!(m.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert!(m.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox"));
        assert!(m.text().await.unwrap().contains("ArchiveRestitutionRequest"));

        // The control authority reads, without the package or the answer forms.
        let (status, page) = ui.page(&format!("/sorties/{rid}"), &ca).await;
        assert_eq!(status, 200);
        assert!(!page.contains("/accuse\"") && !page.contains("/paquet\""), "{page}");
        let (status, list) = ui.page("/sorties", &ca).await;
        assert_eq!(status, 200);
        assert!(list.contains(&rid) && !list.contains("/ui/sorties/nouvelle"), "{list}");
        assert_eq!(
            ui.get(&format!("/sorties/{rid}/paquet"), &ca.cookie).await.status(),
            403
        );
        let f = ui
            .post(&format!("/sorties/{rid}/accuse"), &ca, &[("recu", "oui")])
            .await;
        assert_eq!(f.status(), 403);
        // Another tenant's archivist: as if it did not exist.
        for path in [
            format!("/sorties/{rid}"),
            format!("/sorties/{rid}/paquet"),
            format!("/sorties/{rid}/messages/request"),
        ] {
            assert_eq!(ui.page(&path, &stranger).await.0, 404, "{path}");
        }
        let f = ui
            .post(&format!("/sorties/{rid}/accuse"), &stranger, &[("recu", "oui")])
            .await;
        assert_eq!(f.status(), 404);
        assert!(!ui.page("/sorties", &stranger).await.1.contains(&rid));

        // The receipt: forged, then unticked (said on the page), then recorded.
        let f = ui
            .post_form(&format!("/sorties/{rid}/accuse"), &a.cookie, "_csrf=forged&recu=oui")
            .await;
        assert_eq!(f.status(), 403);
        let f = ui
            .post(&format!("/sorties/{rid}/accuse"), &a, &[("commentaire", "pas encore")])
            .await;
        assert_eq!(f.status(), 400);
        let page = f.text().await.unwrap();
        assert!(
            page.contains("Réponse refusée, rien n’a changé") && page.contains("Paquet prêt"),
            "{page}"
        );
        let (_, search) = ui.page("/recherche?q=z%C3%A9phyr", &a).await;
        assert!(search.contains(&format!("/ui/unites/{ux1}")), "found before: {search}");
        let f = ui
            .post(
                &format!("/sorties/{rid}/accuse"),
                &a,
                &[("recu", "oui"), ("commentaire", "Reçu <b>complet</b>")],
            )
            .await;
        assert_eq!(f.status(), 303);
        let page = ui
            .wait_for(&format!("/sorties/{rid}"), &a, "Accepté, unités supprimées")
            .await;
        assert!(
            page.contains("Reçu &lt;b&gt;complet&lt;/b&gt;") && page.contains(&format!("{rid}-DEL")),
            "{page}"
        );
        assert!(
            !page.contains(&format!("/sorties/{rid}/paquet\"")),
            "the package went with the units"
        );
        assert_eq!(ui.page(&format!("/unites/{root1}"), &a).await.0, 404, "the unit left");
        let (_, search) = ui.page("/recherche?q=z%C3%A9phyr", &a).await;
        assert!(
            !search.contains(&format!("/ui/unites/{ux1}")),
            "gone from the search: {search}"
        );
        let (_, register) = ui.page("/registre", &a).await;
        assert!(
            register.contains(&format!("{rid}-DEL")) && register.contains(">restitution<"),
            "{register}"
        );

        // A transfer out the receiving archive refuses: rejected, its reason shown, units kept.
        let f = ui
            .post(
                "/sorties/transfert",
                &a,
                &[("unites", &root2), ("destinataire", "AD-DEP"), ("contrat", "AGR-IN")],
            )
            .await;
        let tid = started(&f);
        assert!(tid.starts_with("TOUT-"), "{tid}");
        ui.wait_for(&format!("/sorties/{tid}"), &a, "Paquet prêt, en attente de la réponse")
            .await;
        let shown = front.json(
            &r.archivist,
            &["transfer-out", "show", "--tenant", "region", &tid, "--json"],
        );
        let package_id = shown["package"]["message_identifier"].as_str().unwrap().to_owned();
        let path = format!("/sorties/{tid}/reponse");
        assert_eq!(ui.upload(&path, &a.cookie, "forged", b"<x/>").await.status(), 403);
        let f = ui.upload(&path, &a.cookie, &a.csrf, b"<pas-une-reponse/>").await;
        assert_eq!(f.status(), 400);
        let page = f.text().await.unwrap();
        assert!(
            page.contains("Réponse refusée, rien n’a changé") && page.contains("Paquet prêt"),
            "{page}"
        );
        let big = vec![b' '; 1_500_000];
        let f = ui.upload(&path, &a.cookie, &a.csrf, &big).await;
        assert_eq!(f.status(), 413);
        let page = f.text().await.unwrap();
        assert!(
            page.contains("le fichier dépasse") && page.contains("Paquet prêt"),
            "{page}"
        );
        let f = ui.upload(&path, &a.cookie, &a.csrf, &vec![b' '; 6 << 20]).await;
        assert_eq!(f.status(), 413, "beyond the other forms' limit too");
        assert!(f.text().await.unwrap().contains("le fichier dépasse"));
        let ko = format!(
            "<?xml version=\"1.0\"?><ArchiveTransferReply xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
             <Comment>Bordereau non conforme : &lt;i&gt;profil&lt;/i&gt; absent</Comment>\
             <Date>2026-12-01T10:00:00Z</Date><MessageIdentifier>ATR-KO-UI</MessageIdentifier><CodeListVersions/>\
             <ReplyCode>KO</ReplyCode><MessageRequestIdentifier>{package_id}</MessageRequestIdentifier>\
             <ArchivalAgency><Identifier>AD-DEP</Identifier></ArchivalAgency>\
             <TransferringAgency><Identifier>Identifier4</Identifier></TransferringAgency></ArchiveTransferReply>"
        );
        let f = ui.upload(&path, &a.cookie, &a.csrf, ko.as_bytes()).await;
        assert_eq!(f.status(), 303, "{}", f.text().await.unwrap());
        let (_, page) = ui.page(&format!("/sorties/{tid}"), &a).await;
        assert!(
            page.contains("Refusé par le destinataire") && page.contains("ATR-KO-UI"),
            "{page}"
        );
        assert!(
            page.contains("Bordereau non conforme : &lt;i&gt;profil&lt;/i&gt; absent") && !page.contains("<i>profil"),
            "{page}"
        );
        assert!(!page.contains("id=\"reponse-xml\""), "answered: no more forms");
        assert_eq!(
            ui.page(&format!("/unites/{root2}"), &a).await.0,
            200,
            "a KO keeps the units"
        );
        let shown = front.json(
            &r.archivist,
            &["transfer-out", "show", "--tenant", "region", &tid, "--json"],
        );
        assert_eq!(shown["status"], "rejected", "{shown:#}");

        // Both in the list, newest first.
        let (_, list) = ui.page("/sorties", &a).await;
        let (at_t, at_r) = (list.find(&tid).unwrap(), list.find(&rid).unwrap());
        assert!(at_t < at_r, "newest first: {list}");
        assert!(list.contains("Transfert sortant") && list.contains("AD-DEP"), "{list}");
    });
    front.assert_logged(
        &r.archivist,
        "region",
        &[
            "restitution.started",
            "restitution.answered",
            "restitution.executed",
            "transfer_out.answered",
            "ui.csrf_refused",
        ],
    );
}
