//! The lifecycle screens in a real browser (headless Chromium) against `archipel dev`:
//! référentiels created from the browser (an access contract, an ingest agreement); a requester
//! asks for units that are not communicable, is told to ask for a derogation, asks for one; the
//! originating agency then the control authority approve it (the requester and the archivist
//! cannot answer in their place), and the requester alone downloads the DIP. Then eliminations:
//! the analysis with DESTROY and CONFLICT and their reasons (a hold put from the browser, the
//! open communication), a proposal, the visa that only the control authority can give, the
//! execution and its record, and the accession register and monthly usage with their exports.

mod common;
mod ui_common;

use std::time::Duration;

use serde_json::Value;
use ui_common::{a11y, browser, dev::Dev, sip};

const RULES: &str = "HOL-00001,HoldRule,Gel judiciaire,,,\n";

#[test]
fn communication_and_elimination_in_a_browser() {
    if let Some(why) = browser::missing() {
        println!("skipped: {why}");
        return;
    }
    let _g = common::serial();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(scenario());
}

/// POSTs a form with the page's own CSRF token (from the sign-out form) and returns the status.
async fn forged_post(b: &browser::Browser, action: &str, body: &str) -> Value {
    b.js(&format!(
        "const t = document.querySelector('input[name=_csrf]').value;\
         return fetch('{action}', {{method: 'POST', redirect: 'manual', headers: {{'Content-Type': 'application/x-www-form-urlencoded'}},\
         body: '_csrf=' + encodeURIComponent(t) + '&{body}'}}).then(r => r.status)"
    ))
    .await
}

async fn fetch_text(b: &browser::Browser, url: &str) -> String {
    b.js(&format!("return fetch('{url}').then(r => r.text())"))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn wait_status(b: &browser::Browser, url: &str, needle: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        b.goto(url).await;
        if b.text("dl.meta").await.contains(needle) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never `{needle}`: {}",
            b.body().await
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn scenario() {
    let dev = Dev::start(&[]);
    let ui = dev.ui().to_owned();
    dev.cli_json(&["tenant", "add", "region", "--archival-agency", "Identifier4", "--json"]);
    let archivist = dev.token(Some("region"), "archivist", None);
    let control = dev.token(Some("region"), "control-authority", None);
    // The units record no originating agency in their management data: the archival agency
    // is asked in its place, and answers with its own agency token.
    let producer = dev.token(Some("region"), "transferring-agency", Some("Identifier4"));
    let rules = dev.write("regles.csv", format!("{}{RULES}", sip::RULES_CSV).as_bytes());
    dev.cli_json(&[
        "rules",
        "import",
        "--tenant",
        "region",
        rules.to_str().unwrap(),
        "--json",
    ]);
    let driver = browser::Driver::start();

    // Référentiels from the browser: an access contract for readers, the ingest agreement.
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &archivist).await;
    b.goto(&format!("{ui}/referentiels")).await;
    b.click("#nouveau-contrat-acces summary").await;
    b.fill("#ca-id", "LECTEURS").await;
    b.fill("#ca-nom", "Lecteurs de la salle").await;
    b.click("#ca-tous").await;
    b.click("#nouveau-contrat-acces button[type=submit]").await;
    b.wait_text("[role=status]", "« LECTEURS » enregistré", Duration::from_secs(20))
        .await;
    b.click("#nouveau-contrat summary").await;
    b.fill("#ce-id", "CONTRAT-DELIB").await;
    b.fill("#ce-nom", "Délibérations <b>municipales</b>").await;
    b.fill("#ce-services", "Identifier5").await;
    b.click("#nouveau-contrat button[type=submit]").await;
    b.wait_text("[role=status]", "« CONTRAT-DELIB » enregistré", Duration::from_secs(20))
        .await;
    let main = b.text("main").await;
    assert!(
        main.contains("Lecteurs de la salle") && main.contains("Délibérations <b>municipales</b>"),
        "{main}"
    );
    a11y::check(&b, "the referentials with their forms").await;
    b.close().await;

    // Two transfers: one will be communicated, the other eliminated.
    for (name, message) in [("a.zip", "MSG-DELIB-A"), ("b.zip", "MSG-DELIB-B")] {
        let path = dev.path().join(name);
        sip::build(&path, "Identifier4", "Identifier5", "CONTRAT-DELIB", message);
        dev.cli_json(&[
            "transfer",
            "--tenant",
            "region",
            path.to_str().unwrap(),
            "--wait",
            "--json",
        ]);
    }
    let analysis = dev.cli_json(&["elimination", "analyse", "--tenant", "region", "--json"]);
    let units: Vec<&Value> = analysis["units"].as_array().unwrap().iter().collect();
    assert_eq!(units.len(), 6, "{analysis:#}");
    let first_transfer = units[0]["transfer_id"].as_str().unwrap().to_owned();
    let of = |transfer_first: bool, title: &str| -> String {
        units
            .iter()
            .find(|u| (u["transfer_id"] == first_transfer.as_str()) == transfer_first && u["title"] == title)
            .unwrap_or_else(|| panic!("{title}: {analysis:#}"))["unit_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let asked = of(true, "Délibérations du conseil municipal 2020");
    let held = of(false, sip::SCRIPT_TITLE);
    let to_destroy = of(false, "Note de synthèse");

    // A requester asks for a unit not communicable before 2046.
    let requester = dev.cli_json(&[
        "token",
        "create",
        "--tenant",
        "region",
        "--role",
        "requester",
        "--access-contract",
        "LECTEURS",
        "--json",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = driver.browser("fr-FR").await;
    b.sign_in(&ui, &requester).await;
    assert_eq!(
        b.h1().await,
        "Demandes de communication",
        "a requester lands on its requests"
    );
    assert_eq!(b.text("header nav").await, "Communications");
    b.click("a[href='/ui/communications/nouvelle']").await;
    a11y::check(&b, "the communication request form").await;
    b.fill("#unites", &asked).await;
    b.fill("#commentaire", "Recherche historique").await;
    b.click("form.stack button[type=submit]").await;
    b.wait_text("[role=alert]", "derogation", Duration::from_secs(20)).await;
    b.click("#derogation").await;
    b.click("form.stack button[type=submit]").await;
    b.wait_text("dl.meta", "En attente du service producteur", Duration::from_secs(20))
        .await;
    let request_url = b.url().await;
    let request_path = request_url.trim_start_matches(&ui).to_owned();
    assert!(b
        .text("main")
        .await
        .contains("Unités non communicables au moment de la demande"));
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#avis-favorable"))
            .await
            .is_err(),
        "a requester has no decision form"
    );
    let status = forged_post(&b, &format!("/ui{request_path}/avis"), "decision=approved").await;
    assert_eq!(
        status,
        serde_json::json!(403),
        "a requester cannot approve its own derogation"
    );
    a11y::check(&b, "a communication request awaiting decisions").await;
    b.shot("communication-demande").await;

    // The originating agency approves.
    let p = driver.browser("fr-FR").await;
    p.sign_in(&ui, &producer).await;
    p.goto(&format!("{ui}/communications")).await;
    assert!(p.text("table").await.contains("En attente du service producteur"));
    p.goto(&request_url).await;
    p.fill("#motif-ok", "Avis favorable du service").await;
    p.click("#avis-favorable button[type=submit]").await;
    p.wait_text(
        "dl.meta",
        "En attente de l’autorité de contrôle",
        Duration::from_secs(20),
    )
    .await;
    p.close().await;

    // The archivist cannot answer for the control authority.
    let a = driver.browser("fr-FR").await;
    a.sign_in(&ui, &archivist).await;
    a.goto(&request_url).await;
    assert!(a
        .text("main")
        .await
        .contains("En attente de l’avis de : Autorité de contrôle"));
    let status = forged_post(&a, &format!("/ui{request_path}/avis"), "decision=approved").await;
    assert_eq!(
        status,
        serde_json::json!(403),
        "an archivist cannot give the control authority's decision"
    );

    // The control authority approves; the DIP is built for the requester alone.
    let c = driver.browser("fr-FR").await;
    c.sign_in(&ui, &control).await;
    c.goto(&format!("{ui}/")).await;
    assert!(c.text("main").await.contains("Demandes de dérogation en attente"));
    c.goto(&request_url).await;
    a11y::check(&c, "the control authority's derogation form").await;
    c.shot("communication-avis").await;
    c.click("#avis-favorable button[type=submit]").await;
    wait_status(&c, &request_url, "Prête à télécharger").await;
    assert!(c.text("main").await.contains("Seul le demandeur"));

    b.goto(&request_url).await;
    let href = b
        .client
        .find(fantoccini::Locator::Css("a[download]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let head = b
        .js(&format!(
            "return fetch('{href}').then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b.slice(0, 2))))"
        ))
        .await;
    assert_eq!(head, serde_json::json!([80, 75]), "the DIP is a zip");
    b.shot("communication-prete").await;
    b.goto(&format!("{ui}/communications")).await;
    a11y::check(&b, "the requester's communications").await;
    b.close().await;
    // Not for another reader: the DIP and the page answer 404.
    let other = dev.cli_json(&[
        "token",
        "create",
        "--tenant",
        "region",
        "--role",
        "requester",
        "--access-contract",
        "LECTEURS",
        "--json",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = driver.browser("fr-FR").await;
    o.sign_in(&ui, &other).await;
    o.goto(&request_url).await;
    assert_eq!(o.h1().await, "Page introuvable");
    let status = o.js(&format!("return fetch('{href}').then(r => r.status)")).await;
    assert_eq!(status, serde_json::json!(404));
    o.close().await;

    // A hold from the browser.
    a.goto(&format!("{ui}/gels")).await;
    a11y::check(&a, "the holds").await;
    a.fill("#unites", &held).await;
    a.fill("#motif", "Contentieux en cours").await;
    a.click("#gel button[type=submit]").await;
    a.wait_text("[role=status]", "Gel posé sur 1 unité", Duration::from_secs(30))
        .await;
    // The held unit is listed: the search's hold filter follows the change (the sync re-reads it).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        a.goto(&format!("{ui}/gels")).await;
        if a.text("main").await.contains(sip::SCRIPT_TITLE) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the held unit is not listed: {}",
            a.body().await
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    a.shot("gels").await;

    // The analysis: CONFLICT with reasons, DESTROY to propose.
    a.goto(&format!("{ui}/eliminations")).await;
    let main = a.text("main").await;
    assert!(main.contains("Gel en vigueur"), "{main}");
    assert!(main.contains("Communication en cours"), "{main}");
    assert!(main.contains("Unités filles à conserver"), "{main}");
    assert!(a.text("#bilan").await.contains("à éliminer (DESTROY)"), "{main}");
    a11y::check(&a, "the elimination analysis").await;
    a.shot("eliminations").await;
    a.fill("#autorite", "FRAD034").await;
    a.click("#proposer button[type=submit]").await;
    a.wait_text("dl.meta", "En attente du visa", Duration::from_secs(30))
        .await;
    let elimination_url = a.url().await;
    let elimination_path = elimination_url.trim_start_matches(&ui).to_owned();
    let proposed = a.text("main").await;
    assert!(
        proposed.contains(&to_destroy) && !proposed.contains(&held),
        "{proposed}"
    );
    assert!(
        a.client.find(fantoccini::Locator::Css("#viser")).await.is_err(),
        "the archivist has no visa form"
    );
    let status = forged_post(&a, &format!("/ui{elimination_path}/visa"), "decision=approved").await;
    assert_eq!(status, serde_json::json!(403), "the archivist cannot give the visa");
    let request_xml = fetch_text(&a, &format!("/ui{elimination_path}/messages/request")).await;
    assert!(
        request_xml.contains("AuthorizationControlAuthorityRequest"),
        "{request_xml}"
    );

    // The control authority's visa.
    c.goto(&elimination_url).await;
    a11y::check(&c, "the visa form").await;
    c.shot("elimination-visa").await;
    c.fill("#commentaire-ok", "Visa accordé après examen").await;
    c.click("#viser button[type=submit]").await;
    c.wait_text("dl.meta", "Visa accordé", Duration::from_secs(30)).await;
    assert!(c.client.find(fantoccini::Locator::Css("#executer")).await.is_err());
    c.goto(&format!("{ui}/registre/usage")).await;
    assert_eq!(c.h1().await, "Action non autorisée", "usage is the archivists'");
    c.close().await;

    // Execution and its record.
    a.goto(&elimination_url).await;
    a.click("#executer button[type=submit]").await;
    a.wait_text("dl.meta", "Exécutée", Duration::from_secs(120)).await;
    let main = a.text("main").await;
    assert!(main.contains("éliminée"), "{main}");
    let record = fetch_text(&a, &format!("/ui{elimination_path}/proces-verbal")).await;
    assert!(
        record.contains("archipel-elimination/1") && record.contains(&to_destroy),
        "{record}"
    );
    a11y::check(&a, "an executed elimination").await;
    a.shot("elimination").await;

    // The register and the usage, with their exports.
    a.goto(&format!("{ui}/registre")).await;
    let main = a.text("main").await;
    assert!(
        main.contains("aucun service producteur") && main.contains("Sorties"),
        "{main}"
    );
    assert!(a.text("footer").await.contains("Heures de Paris"));
    a11y::check(&a, "the accession register").await;
    a.shot("registre").await;
    let csv = fetch_text(&a, "/ui/registre?format=csv").await;
    assert!(csv.starts_with("originating_agency,kind,id,date"), "{csv}");
    assert!(csv.contains(",entry,") && csv.contains(",elimination,"), "{csv}");
    let json: Value = serde_json::from_str(&fetch_text(&a, "/ui/registre?format=json").await).unwrap();
    assert_eq!(json["tenant"], "region");
    a.goto(&format!("{ui}/registre/usage")).await;
    assert!(a.text("table").await.contains("Total"));
    a11y::check(&a, "the monthly usage").await;
    a.shot("usage").await;
    let csv = fetch_text(&a, "/ui/registre/usage?format=csv").await;
    assert!(csv.starts_with("tenant,flow,month,units"), "{csv}");
    assert!(csv.lines().count() >= 2, "{csv}");
    a.close().await;
}
