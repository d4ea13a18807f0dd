//! The web interface in a real browser (headless Chromium) against `archipel dev`: each role
//! signs in and sees its screens; an archivist imports the rules, uploads a SIP and watches it
//! reach OK, searches, opens a unit, downloads an object (same bytes), verifies the logbook;
//! a second tenant sees none of it and its forged URLs answer 404; a forged form is refused
//! and logged; an idle session expires; a unit titled `<script>…` is shown as text; an operator
//! creates a token on the token screen and its secret, shown once, opens a session.
//! Screenshots at 1366×768 land in the target dir (and docs/ui with ARCHIPEL_UI_DOCS=1).

mod common;
mod ui_common;

use std::time::Duration;

use fantoccini::Locator;
use ui_common::{a11y, browser, dev::Dev, sip};

const IDLE_SECS: u64 = 25;

#[test]
fn archivists_day_in_a_browser() {
    if let Some(why) = browser::missing() {
        println!("skipped: {why}");
        return;
    }
    let _g = common::serial();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(scenario());
}

async fn scenario() {
    let idle = IDLE_SECS.to_string();
    let dev = Dev::start(&["--ui-idle-timeout-secs", &idle]);
    let ui = dev.ui().to_owned();
    // Set-up as an operator does it with the CLI: two tenants, an agreement, tokens per role.
    dev.cli_json(&["tenant", "add", "region", "--archival-agency", "Identifier4", "--json"]);
    dev.cli_json(&["tenant", "add", "ville", "--archival-agency", "VILLE", "--json"]);
    let archivist = dev.token(Some("region"), "archivist", None);
    let agency = dev.token(Some("region"), "transferring-agency", Some("Identifier5"));
    let control = dev.token(Some("region"), "control-authority", None);
    let operator = dev.token(None, "operator", None);
    let stranger = dev.token(Some("ville"), "archivist", None);
    dev.cli_json(&[
        "agreement",
        "add",
        "--tenant",
        "region",
        "--id",
        "CONTRAT-DELIB",
        "--transferring-agency",
        "Identifier5",
        "--json",
    ]);
    let driver = browser::Driver::start();

    // The dev sign-in `archipel dev` printed works as is.
    let b = driver.browser("fr-FR").await;
    b.goto(&format!("{ui}/")).await;
    assert!(b.url().await.contains("/ui/connexion"), "no session: the sign-in page");
    assert_eq!(b.h1().await, "Connexion");
    a11y::check(&b, "the sign-in page").await;
    b.shot("connexion").await;
    b.sign_in(&ui, &dev.printed["ARCHIPEL_UI_TOKEN"]).await;
    assert_eq!(b.h1().await, "Tableau de bord");
    assert!(b.text("header").await.contains("demo"));
    b.close().await;

    // A wrong token: refused on the page.
    let b = driver.browser("fr-FR").await;
    b.sign_in(
        &ui,
        "ark_0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000",
    )
    .await;
    assert!(b.text("[role=alert]").await.contains("pas reconnu"));
    b.close().await;

    // The archivist's day.
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &archivist).await;
    assert_eq!(b.h1().await, "Tableau de bord");
    a11y::check(&b, "the dashboard").await;

    // Rules: a preview first, then the import.
    let csv = dev.write("regles.csv", sip::RULES_CSV.as_bytes());
    b.goto(&format!("{ui}/referentiels")).await;
    a11y::check(&b, "the referentials").await;
    b.fill("#csv", csv.to_str().unwrap()).await;
    b.click("form.stack button[type=submit]").await;
    b.wait_text("main", "5 nouvelle(s)", Duration::from_secs(20)).await;
    a11y::check(&b, "the rules preview").await;
    b.shot("referentiels-apercu").await;
    b.click("form.stack button[type=submit]").await;
    b.wait_text("main", "5 règle(s) importée(s)", Duration::from_secs(20))
        .await;
    assert!(b.text("main").await.contains("CONTRAT-DELIB"));
    b.shot("referentiels").await;

    // Upload a SIP and watch it reach OK.
    let sip_path = dev.path().join("delib.zip");
    sip::build(
        &sip_path,
        "Identifier4",
        "Identifier5",
        "CONTRAT-DELIB",
        "MSG-DELIB-2020",
    );
    b.goto(&format!("{ui}/versements/nouveau")).await;
    a11y::check(&b, "the upload form").await;
    b.fill("#sip", sip_path.to_str().unwrap()).await;
    b.click("#sip-upload button[type=submit]").await;
    // The script sends the file and then opens the transfer's page, which reloads itself.
    b.wait_text("h1", "Versement ", Duration::from_secs(60)).await;
    let transfer_url = b.url().await;
    assert!(transfer_url.contains("/ui/versements/"), "{transfer_url}");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !b.text("dl.meta").await.contains("OK") {
        assert!(
            std::time::Instant::now() < deadline,
            "the transfer never reached OK: {}",
            b.body().await
        );
        // The page reloads itself (Refresh header); reopening it too keeps this test independent of that.
        tokio::time::sleep(Duration::from_secs(2)).await;
        b.goto(&transfer_url).await;
    }
    a11y::check(&b, "a transfer").await;
    b.shot("versement").await;
    // Its replies download: the ATR is the SEDA reply.
    let atr = b
        .js("return fetch(location.pathname + '/ars').then(r => r.text()).then(t => t.slice(0, 4000))")
        .await;
    assert!(atr.as_str().unwrap_or("").contains("ArchiveTransferReply"), "{atr}");
    b.goto(&format!("{ui}/versements")).await;
    assert!(b.text("table").await.contains("OK"));
    b.shot("versements").await;

    // Search, facets, and the unit.
    b.goto(&format!("{ui}/recherche")).await;
    a11y::check(&b, "the search page").await;
    b.fill("#q", "délibérations").await;
    b.click("form[role=search] button[type=submit]").await;
    let results = b
        .wait_text(
            "main",
            "Délibérations du conseil municipal 2020",
            Duration::from_secs(20),
        )
        .await;
    assert!(results.contains("Délibérations du conseil municipal 2020"), "{results}");
    assert!(
        results.contains("File (1)") && results.contains("2020 (1)"),
        "level and year facets: {results}"
    );
    a11y::check(&b, "search results").await;
    b.shot("recherche").await;
    b.client
        .find(Locator::LinkText("Délibérations du conseil municipal 2020"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("h1", "Délibérations du conseil municipal 2020", Duration::from_secs(20))
        .await;
    let unit = b.text("main").await;
    assert!(
        unit.contains("APP-00002") && unit.contains("1er janvier 2025"),
        "computed DUA end: {unit}"
    );
    assert!(unit.contains("31 décembre 2045"), "computed access end: {unit}");
    assert!(unit.contains("Détruire"), "{unit}");
    let root_url = b.url().await;
    a11y::check(&b, "a unit").await;
    b.shot("unite").await;

    // The unit titled with a script: shown as text, nothing runs.
    b.client
        .find(Locator::LinkText(sip::SCRIPT_TITLE))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("h1", "Plan & coupe", Duration::from_secs(20)).await;
    assert_eq!(b.h1().await, sip::SCRIPT_TITLE);
    let script_url = b.url().await;
    let scripts = b.js("return document.querySelectorAll('script').length").await;
    assert_eq!(scripts, serde_json::json!(0), "no script element came from the title");
    let source = b.client.source().await.unwrap();
    assert!(source.contains("&lt;script&gt;alert"), "escaped in the HTML");
    assert!(b.client.get_alert_text().await.is_err(), "no alert opened");
    assert!(b.text("main").await.contains("fmt/11"), "PUID shown");
    a11y::check(&b, "a unit with objects and a preview").await;
    b.shot("unite-objets").await;

    // Download the plan and compare bytes.
    let href = b
        .client
        .find(Locator::Css("td a[download]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let got = b
        .js(&format!(
            "return fetch('{href}').then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)))"
        ))
        .await;
    let bytes: Vec<u8> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(bytes, sip::PNG, "the downloaded object is the transferred file");

    // A transfer out of that unit, started from its page; left waiting for the answer.
    b.goto(&script_url).await;
    b.client
        .find(Locator::LinkText("Restituer / Transférer cette unité"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("h1", "Restituer ou transférer", Duration::from_secs(20))
        .await;
    a11y::check(&b, "the restitution and transfer out forms").await;
    b.fill("#t-destinataire", "FRAD034").await;
    b.fill("#t-contrat", "AGR-VERSEMENT").await;
    b.click("#t-form button[type=submit]").await;
    b.wait_text("dl.meta", "Paquet prêt", Duration::from_secs(60)).await;
    assert!(
        b.text("main").await.contains(sip::SCRIPT_TITLE),
        "the unit's title as text"
    );
    let scripts = b.js("return document.querySelectorAll('script').length").await;
    assert_eq!(scripts, serde_json::json!(0));
    a11y::check(&b, "a transfer out awaiting its reply").await;
    b.goto(&format!("{ui}/sorties")).await;
    assert!(b.text("table").await.contains("FRAD034"));
    a11y::check(&b, "the restitutions and transfers out").await;
    b.shot("sorties").await;

    // The logbook verifies.
    b.goto(&format!("{ui}/journal")).await;
    b.click("form[action='/ui/journal/verifier'] button").await;
    b.wait_text("#verification", "Journal intègre", Duration::from_secs(30))
        .await;
    a11y::check(&b, "the logbook").await;
    b.shot("journal").await;

    // A forged form (no valid CSRF token) is refused with 403 and logged.
    b.js(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/ui/journal/verifier';\
          const i = document.createElement('input'); i.name = '_csrf'; i.value = 'forged'; f.appendChild(i);\
          document.body.appendChild(f); f.submit(); return true;",
    )
    .await;
    b.wait_text("h1", "Formulaire refusé", Duration::from_secs(10)).await;
    let status = b
        .js("return fetch('/ui/journal/verifier', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: '_csrf=nope'}).then(r => r.status)")
        .await;
    assert_eq!(status, serde_json::json!(403));
    b.goto(&format!("{ui}/journal?evenement=ui.csrf_refused")).await;
    assert!(
        b.text("table").await.contains("ui.csrf_refused"),
        "the refusal is in the logbook"
    );

    // English on request; the operators' screen is not an archivist's.
    b.goto(&format!("{ui}/")).await;
    b.click("header .who a[hreflang=en]").await;
    b.wait_text("h1", "Dashboard", Duration::from_secs(20)).await;
    b.shot("dashboard-en").await;
    b.goto(&format!("{ui}/langue/fr?retour=/ui/")).await;
    assert_eq!(b.h1().await, "Tableau de bord");
    a11y::check(&b, "the dashboard with a transfer").await;
    b.shot("tableau-de-bord").await;
    b.goto(&format!("{ui}/exploitation")).await;
    assert_eq!(b.h1().await, "Action non autorisée");

    // Sign out: the session is gone.
    b.goto(&format!("{ui}/")).await;
    b.click("header form[action='/ui/deconnexion'] button").await;
    b.wait_text("[role=alert]", "déconnecté", Duration::from_secs(20)).await;
    b.goto(&root_url).await;
    assert!(b.url().await.contains("/ui/connexion"));
    b.close().await;

    // The transferring agency follows its transfers but cannot search.
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &agency).await;
    b.goto(&format!("{ui}/versements")).await;
    assert!(b.text("table").await.contains("OK"));
    b.goto(&format!("{ui}/recherche")).await;
    assert_eq!(b.h1().await, "Action non autorisée");
    b.close().await;

    // The control authority searches and reads, without downloading.
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &control).await;
    b.goto(&script_url).await;
    assert_eq!(b.h1().await, sip::SCRIPT_TITLE);
    assert!(b.text("main").await.contains("fmt/11"));
    assert!(
        b.client.find(Locator::Css("a[download]")).await.is_err(),
        "no download for a control authority"
    );
    b.close().await;

    // The operator sees the cluster, by site.
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &operator).await;
    assert_eq!(b.h1().await, "Exploitation");
    assert!(b.text("main").await.contains("Site region"));
    a11y::check(&b, "the operations screen").await;
    b.shot("exploitation").await;
    // It makes a control authority's token for region; the secret, shown once, opens a session.
    b.goto(&format!("{ui}/jetons")).await;
    a11y::check(&b, "the token screen").await;
    b.shot("jetons").await;
    b.js("document.querySelector('#role').value = 'control-authority';\
          document.querySelector('#service').value = 'region'; return null")
        .await;
    b.fill("#libelle", "Contrôle scientifique et technique").await;
    b.click("#nouveau-jeton button[type=submit]").await;
    b.wait_text("[role=status]", "Jeton créé", Duration::from_secs(20))
        .await;
    a11y::check(&b, "the token just created").await;
    let secret = b.js("return document.querySelector('#secret').value").await;
    let secret = secret.as_str().expect("the secret is shown").to_owned();
    b.close().await;
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &secret).await;
    assert_eq!(b.h1().await, "Tableau de bord");
    assert!(b.text("header").await.contains("Autorité de contrôle"));
    b.close().await;

    // Another tenant's archivist sees nothing of region, and forged URLs answer 404.
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &stranger).await;
    assert!(b.text("header").await.contains("ville"));
    b.goto(&format!("{ui}/versements")).await;
    assert!(!b.body().await.contains("Identifier5"));
    for url in [
        transfer_url.clone(),
        root_url.clone(),
        script_url.clone(),
        format!("{ui}{}", href.trim_start_matches("/ui")),
        format!("{transfer_url}/ars"),
    ] {
        b.goto(&url).await;
        assert_eq!(b.h1().await, "Page introuvable", "{url}");
        let status = b.js(&format!("return fetch('{url}').then(r => r.status)")).await;
        assert_eq!(status, serde_json::json!(404), "{url}");
    }
    b.goto(&format!("{ui}/recherche?q=d%C3%A9lib%C3%A9rations")).await;
    assert!(b.text("[role=status]").await.starts_with('0'));

    // An idle session expires.
    tokio::time::sleep(Duration::from_secs(IDLE_SECS + 2)).await;
    b.goto(&format!("{ui}/versements")).await;
    assert!(b.url().await.contains("/ui/connexion"));
    assert!(b.text("[role=alert]").await.contains("expiré"));
    b.close().await;
}
