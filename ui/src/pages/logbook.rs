//! Journal: the tenant's logbook, latest first, with filters; its seal status; and a
//! "vérifier" button that re-checks the hash chain and every seal.

use archipel_archive::auth::Role::{Archivist, ControlAuthority, Operator};
use archipel_archive::logbook::Entry;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::UiResult;
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

const READERS: &[archipel_archive::auth::Role] = &[Archivist, ControlAuthority, Operator];
const PER_PAGE: usize = 50;
/// Entries read at most to fill one filtered page: filters never scan a whole logbook.
const SCAN_LIMIT: u64 = 5000;

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    evenement: String,
    #[serde(default)]
    resultat: String,
    /// Show entries up to this sequence number (older pages).
    #[serde(default)]
    avant: Option<u64>,
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Query(f): Query<Filters>) -> UiResult<Response> {
    render(ui, v, f, None).await
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn verify(State(ui): State<UiState>, v: Viewer, Form(form): Form<VerifyForm>) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &form.csrf, "journal.verifier").await?;
    let tenant = v.allow(&ui, READERS).await?;
    let report = ui.archive.journal.verify(&tenant).await?;
    render(ui, v, Filters::default(), Some(report)).await
}

async fn render(ui: UiState, v: Viewer, f: Filters, report: Option<serde_json::Value>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let journal = &ui.archive.journal;
    let last = journal.last_seq(&tenant).await?;
    let seal = journal.last_seal(&tenant).await?;
    let top = f.avant.unwrap_or(last).min(last);
    let event = f.evenement.trim();
    let outcome = f.resultat.trim();
    // Walk back from `top` in batches until a page is full.
    let mut shown: Vec<Entry> = Vec::new();
    let mut upto = top;
    let floor = top.saturating_sub(SCAN_LIMIT);
    while upto > floor && shown.len() < PER_PAGE {
        let from = upto.saturating_sub(PER_PAGE as u64 * 4).max(floor) + 1;
        let mut batch = journal.entries(&tenant, from, (upto - from + 1) as usize).await?;
        batch.reverse();
        for e in batch {
            if shown.len() < PER_PAGE
                && (event.is_empty() || e.event_type.starts_with(event))
                && (outcome.is_empty() || e.outcome.as_str() == outcome)
            {
                shown.push(e);
            }
        }
        upto = from - 1;
    }
    let older = shown.last().map(|e| e.seq).filter(|s| *s > 1);
    let body = html! {
        section aria-labelledby="seal-title" {
            h2 #seal-title { (l.t("Scellement", "Sealing")) }
            (seal_status(l, last, seal.as_ref()))
            form method="post" action="/ui/journal/verifier" {
                (super::csrf_field(&v.csrf))
                button.primary type="submit" { (l.t("Vérifier le journal", "Verify the logbook")) }
            }
            @if let Some(r) = &report { (verification(l, r)) }
        }
        h2 { (l.t("Entrées", "Entries")) }
        form method="get" action="/ui/journal" {
            fieldset {
                legend { (l.t("Filtrer", "Filter")) }
                label for="evenement" { (l.t("Type d’événement (début)", "Event type (prefix)")) }
                input #evenement type="text" name="evenement" value=(event) placeholder="transfer., access., rules.";
                label for="resultat" { (l.t("Résultat", "Outcome")) }
                select #resultat name="resultat" {
                    option value="" { (l.t("Tous", "All")) }
                    @for o in ["OK", "WARNING", "KO"] { option value=(o) selected[outcome == o] { (o) } }
                }
                div { button.primary type="submit" { (l.t("Appliquer", "Apply")) } }
            }
        }
        @if shown.is_empty() {
            p { (l.t("Aucune entrée ne correspond.", "No entry matches.")) }
        } @else {
            table {
                caption.visually-hidden { (l.t("Entrées du journal, les plus récentes d’abord", "Logbook entries, latest first")) }
                thead { tr {
                    th.num scope="col" { "N°" }
                    th scope="col" { (l.t("Date", "Date")) }
                    th scope="col" { (l.t("Événement", "Event")) }
                    th scope="col" { (l.t("Résultat", "Outcome")) }
                    th scope="col" { (l.t("Acteur", "Actor")) }
                    th scope="col" { (l.t("Objet", "Subject")) }
                    th scope="col" { (l.t("Détail", "Detail")) }
                } }
                tbody {
                    @for e in &shown {
                        tr {
                            td.num { (e.seq) }
                            td { (format::datetime(l, e.time)) }
                            td { code { (e.event_type) } }
                            td { (super::outcome_badge(l, e.outcome.as_str())) }
                            td { code { (e.actor) } }
                            td { @if let Some(s) = &e.subject { code { (s) } } }
                            td { code { (detail_text(&e.detail)) } }
                        }
                    }
                }
            }
        }
        @if let Some(o) = older {
            nav.pages aria-label=(l.t("Pages du journal", "Logbook pages")) { ul { li {
                a href={ "/ui/journal?evenement=" (encode(event)) "&resultat=" (encode(outcome)) "&avant=" (o - 1) } rel="next" { (l.t("Entrées plus anciennes", "Older entries")) }
            } } }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Logbook),
        l.t("Journal des opérations", "Logbook"),
        body,
    ))
}

fn detail_text(d: &serde_json::Value) -> String {
    let s = d.to_string();
    if s == "{}" {
        return String::new();
    }
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

fn seal_status(l: Lang, last: u64, seal: Option<&archipel_archive::logbook::Seal>) -> Markup {
    html! {
        @match seal {
            None => { p { (format::int(l, last)) " " (l.t("entrée(s), aucune scellée pour l’instant (le scellement est périodique).", "entries, none sealed yet (sealing is periodic).")) } }
            Some(s) => {
                p {
                    (l.t("Dernier sceau n° ", "Last seal #")) (s.index) ", " (format::datetime(l, s.time)) " : "
                    (l.t("entrées ", "entries ")) (s.first_seq) "–" (s.last_seq) ". "
                    @if s.last_seq >= last {
                        (l.t("Toutes les entrées sont scellées.", "Every entry is sealed."))
                    } @else {
                        (format::int(l, last - s.last_seq)) " " (l.t("entrée(s) en attente du prochain sceau.", "entries await the next seal."))
                    }
                }
                p.hint { (match s.token {
                    archipel_archive::logbook::SealToken::Rfc3161 { .. } => l.t("Horodatage qualifié RFC 3161 par une autorité d’horodatage.", "RFC 3161 timestamp by a time-stamping authority."),
                    archipel_archive::logbook::SealToken::ClusterSigned { .. } => l.t("Signé par la clé de scellement du cluster (sans autorité d’horodatage).", "Signed by the cluster's seal key (no time-stamping authority)."),
                }) }
            }
        }
    }
}

fn verification(l: Lang, r: &serde_json::Value) -> Markup {
    let ok = r["ok"].as_bool().unwrap_or(false);
    let entries = r["entries"].as_u64().unwrap_or(0);
    let seals = r["seals"].as_u64().unwrap_or(0);
    html! {
        div class={ "notice " (if ok { "ok" } else { "ko" }) } role="status" #verification {
            @if ok {
                p { strong { (l.t("Journal intègre.", "Logbook intact.")) } " "
                    (format::int(l, entries)) " " (l.t("entrées et", "entries and")) " " (format::int(l, seals)) " "
                    (l.t("sceaux vérifiés : la chaîne d’empreintes et chaque sceau sont conformes.", "seals checked: the hash chain and every seal are sound.")) }
            } @else {
                p { strong { (l.t("Anomalie détectée.", "Problem found.")) } " " (l.t("Premier point de rupture : ", "First break: ")) code { (r["problem"].to_string()) } }
                p { (l.t("Prévenez l’exploitation et conservez une copie de l’export du journal.", "Tell the operators and keep a copy of the logbook export.")) }
            }
        }
    }
}
