//! The web interface over plain HTTP, no browser needed: sign-in and its cookies, the security
//! headers, CSRF refusals (403), an upload over the front's SIP limit (a message on the page,
//! nothing stored), the token screen (operators only, the secret shown once, revocation), and
//! idle expiry.

mod common;
mod ui_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{bin, serial, TestCluster, Tuning};
use ui_common::http::{hidden, set_cookie, Ui};

const LIMIT: usize = 20_000;

/// The token screen: operators only (GET and POST), CSRF checked first, the secret shown once and
/// usable, markup in a label escaped, a refusal said on the form, revocation.
async fn tokens_screen(ui: &Ui, operator: &str, archivist: &str) {
    // An archivist neither sees it nor uses it, even with its session's own form token.
    assert_eq!(ui.get("/jetons", archivist).await.status(), 403);
    let page = ui.get("/", archivist).await.text().await.unwrap();
    assert!(!page.contains("/ui/jetons"), "not in an archivist's navigation");
    let csrf = hidden(&page, "_csrf");
    let r = ui
        .post_form(
            "/jetons",
            archivist,
            &format!("_csrf={csrf}&role=operator&libelle=escalade"),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Action non autorisée"));

    let op = ui.sign_in(operator).await;
    let page = ui.get("/jetons", &op).await.text().await.unwrap();
    assert!(
        page.contains("Jetons d’accès") && page.contains("aria-current=\"page\""),
        "{page}"
    );
    assert!(!page.contains("escalade"), "the refused form created nothing");
    assert!(
        page.contains("(celui de votre session)"),
        "its own token has no revoke button"
    );
    let csrf = hidden(&page, "_csrf");
    let r = ui
        .post_form("/jetons", &op, "_csrf=forged&role=archivist&service=region")
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Formulaire refusé"));

    // Created: the secret once, the label as text.
    let body =
        format!("_csrf={csrf}&role=archivist&service=region&versant=&contrat=&libelle=%3Cb%3EMme+Martin%3C%2Fb%3E");
    let r = ui.post_form("/jetons", &op, &body).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let start = page.find("value=\"ark_").expect("the secret is shown") + "value=\"".len();
    let secret = page[start..].split('"').next().unwrap().to_owned();
    let id = secret[4..20].to_owned();
    assert!(page.contains("il ne sera plus jamais affiché"), "{page}");
    assert!(
        page.contains("&lt;b&gt;Mme Martin&lt;/b&gt;") && !page.contains("<b>Mme Martin"),
        "{page}"
    );
    let holder = ui.sign_in(&secret).await;
    assert!(ui
        .get("/", &holder)
        .await
        .text()
        .await
        .unwrap()
        .contains("Tableau de bord"));
    let page = ui.get("/jetons", &op).await.text().await.unwrap();
    assert!(
        page.contains(&id) && !page.contains(&secret),
        "listed, never shown again"
    );

    // Refused by the archive's checks: said on the form, which keeps what was typed.
    let body = format!("_csrf={csrf}&role=requester&service=region&libelle=Salle+de+lecture");
    let r = ui.post_form("/jetons", &op, &body).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Refusé, aucun jeton créé") && page.contains("access-contract"),
        "{page}"
    );
    assert!(page.contains("value=\"Salle de lecture\""), "{page}");

    // Revoked: forged first, then for real; the holder's session ends.
    let revoke = format!("/jetons/{id}/revocation");
    assert_eq!(ui.post_form(&revoke, &op, "_csrf=forged").await.status(), 403);
    let r = ui.post_form(&revoke, &op, &format!("_csrf={csrf}")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/ui/jetons?revoque={id}").as_str());
    let page = ui
        .get(&format!("/jetons?revoque={id}"), &op)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("révoqué : il n’ouvre plus aucune session") && page.contains("Révoqué"),
        "{page}"
    );
    let forged = ui
        .get("/jetons?revoque=0123456789abcdef", &op)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !forged.contains("révoqué : il n’ouvre"),
        "a crafted link claims no revocation"
    );
    let r = ui.get("/", &holder).await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().ends_with("motif=revoque"));
    // Not its own session's token.
    let own = format!("/jetons/{}/revocation", &operator[4..20]);
    assert_eq!(ui.post_form(&own, &op, &format!("_csrf={csrf}")).await.status(), 400);
}

#[test]
fn sessions_forms_and_limits_over_http() {
    let _g = serial();
    let cluster = TestCluster::start(&["region", "departement", "metropole"], 2, Tuning::default());
    cluster.wait_healthy(Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mut child = Command::new(bin())
        .args(["archive", "serve", "--listen", "127.0.0.1:0", "--spool"])
        .arg(&spool)
        .args(["--max-sip-bytes", &LIMIT.to_string(), "--ui-idle-timeout-secs", "3"])
        .env("ARCHIPEL_CLUSTER", cluster.addrs())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("front.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    // Other doors may print their lines between these two: read up to the interface's.
    let mut printed = std::collections::HashMap::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines().take(10) {
        let line = line.unwrap();
        if let Some((k, v)) = line.split_once('=') {
            printed.insert(k.to_owned(), v.to_owned());
        }
        if printed.contains_key("ARCHIPEL_UI") {
            break;
        }
    }
    let archive = format!(
        "ARCHIPEL_ARCHIVE={}",
        printed.get("ARCHIPEL_ARCHIVE").expect("serve prints ARCHIPEL_ARCHIVE")
    );
    assert!(archive.starts_with("ARCHIPEL_ARCHIVE=http://"), "{archive}");
    let base = printed
        .get("ARCHIPEL_UI")
        .unwrap_or_else(|| panic!("serve must print ARCHIPEL_UI: {printed:?}"))
        .trim_end_matches('/')
        .to_owned();
    let front_url = archive.trim_start_matches("ARCHIPEL_ARCHIVE=").to_owned();
    let cli = |token: &str, args: &[&str]| {
        let out = Command::new(bin())
            .arg("archive")
            .args(args)
            .env("ARCHIPEL_ARCHIVE", &front_url)
            .env("ARCHIPEL_TOKEN", token)
            .env("ARCHIPEL_CLUSTER", cluster.addrs())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let out = cluster.cli(&["archive", "token", "bootstrap", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let operator = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    cli(
        &operator,
        &["tenant", "add", "region", "--archival-agency", "Identifier4", "--json"],
    );
    let archivist = cli(
        &operator,
        &["token", "create", "--tenant", "region", "--role", "archivist", "--json"],
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ui = Ui {
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        // The front's root leads to the interface; a page without a session to the sign-in.
        let r = ui.get("/", "").await;
        assert_eq!(r.status(), 303);
        let r = ui.get("/versements", "").await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/ui/connexion?retour=/ui/versements");

        // The sign-in page: security headers, a pre-session CSRF cookie.
        let r = ui.get("/connexion", "").await;
        assert_eq!(r.status(), 200);
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'self'"), "{csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let (pre, pre_header) = set_cookie(&r, "archipel_csrf").expect("a pre-session CSRF cookie");
        assert!(pre_header.contains("HttpOnly") && pre_header.contains("SameSite=Strict"));
        let page = r.text().await.unwrap();
        assert!(page.contains("<html lang=\"fr\">"), "French first");
        let token_field = hidden(&page, "_csrf");

        // Without the cookie that goes with it, the sign-in form is refused.
        let body = format!("_csrf={token_field}&token={archivist}&retour=/ui/");
        let r = ui.post_form("/connexion", "", &body).await;
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("Formulaire refusé"));
        // A wrong token: 401 on the form, no session.
        let r = ui
            .post_form("/connexion", &pre, &format!("_csrf={token_field}&token=ark_nope&retour=/ui/"))
            .await;
        assert_eq!(r.status(), 401);
        assert!(set_cookie(&r, "archipel_session").is_none());
        // The right token opens a strict session.
        let r = ui.post_form("/connexion", &pre, &body).await;
        assert_eq!(r.status(), 303);
        let (session, header) = set_cookie(&r, "archipel_session").expect("a session cookie");
        assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict") && header.contains("Path=/ui"), "{header}");
        assert!(!header.contains("Secure"), "plain HTTP without --ui-secure-cookies");
        let r = ui.get("/", &session).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Tableau de bord"));

        // English by Accept-Language.
        let r = ui
            .http
            .get(format!("{}/", ui.base))
            .header(reqwest::header::COOKIE, &session)
            .header(reqwest::header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
            .send()
            .await
            .unwrap();
        let page = r.text().await.unwrap();
        assert!(page.contains("<html lang=\"en\">") && page.contains("Dashboard"));

        // A forged form: 403, whatever it asks.
        let r = ui.post_form("/journal/verifier", &session, "_csrf=forged").await;
        assert_eq!(r.status(), 403);
        let r = ui.post_form("/deconnexion", &session, "").await;
        assert_eq!(r.status(), 403);
        // Every form of the lifecycle screens too, before reading anything else.
        for action in [
            "/communications/nouvelle",
            "/communications/0123456789abcdef/avis",
            "/eliminations/proposition",
            "/eliminations/ELIM-1/visa",
            "/eliminations/ELIM-1/execution",
            "/gels",
            "/referentiels/services",
            "/referentiels/contrats",
            "/referentiels/contrats-acces",
            "/jetons",
            "/jetons/0123456789abcdef/revocation",
            "/sorties/restitution",
            "/sorties/transfert",
            "/sorties/REST-0123456789abcdef/accuse",
        ] {
            let r = ui.post_form(action, &session, "_csrf=forged&decision=approved").await;
            assert_eq!(r.status(), 403, "{action}");
            assert!(r.text().await.unwrap().contains("Formulaire refusé"), "{action}");
        }
        // Times in Paris, said so.
        assert!(ui.get("/", &session).await.text().await.unwrap().contains("Heures de Paris"));

        // An upload over the SIP limit: a message on the page, nothing stored.
        let page = ui.get("/versements/nouveau", &session).await.text().await.unwrap();
        let csrf = hidden(&page, "_csrf");
        let boundary = "archipelboundary7";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"sip\"; filename=\"gros.zip\"\r\nContent-Type: application/zip\r\n\r\n"
        )
        .into_bytes();
        body.extend(std::iter::repeat_n(b'x', LIMIT * 3));
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let r = ui
            .http
            .post(format!("{}/versements/nouveau", ui.base))
            .header(reqwest::header::COOKIE, &session)
            .header(reqwest::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let page = r.text().await.unwrap();
        assert!(page.contains("dépasse la taille maximale") && page.contains("rien n’a été enregistré"), "{page}");
        let spooled: Vec<_> = std::fs::read_dir(&spool)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("sip-"))
            .collect();
        assert!(spooled.is_empty(), "no spool file left: {spooled:?}");
        let transfers = cli(&archivist, &["transfers", "--tenant", "region", "--json"]);
        assert_eq!(transfers.as_array().map(Vec::len), Some(0), "{transfers}");

        tokens_screen(&ui, &operator, &session).await;

        // Idle for longer than --ui-idle-timeout-secs: back to the sign-in page, told why.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let r = ui.get("/", &session).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/ui/connexion?retour=/ui/&motif=expiree");
    });
    let _ = child.kill();
    let _ = child.wait();
}
