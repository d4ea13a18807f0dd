//! Restitutions et transferts sortants: the list (archivists; the control authority reads it) and
//! the forms that start a restitution to the originating agency or a transfer out to another
//! archive. Everything goes through the REST API's own handlers (`archipel_archive::api::outgoing`),
//! so checks, refusals and logbook entries are the API's (docs/archive.md, "Restitution and
//! transfer out"). One record's page, its package and the recipient's answer: `outgoing_detail`.

use std::sync::Arc;

use archipel_archive::api::outgoing as api;
use archipel_archive::api::{ApiError, Caller};
use archipel_archive::auth::Role::{self, Archivist, ControlAuthority};
use archipel_archive::disposal::outgoing::{Kind, Outgoing, Status};
use archipel_archive::service::Archive;
use archipel_archive::ArchiveError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::UiResult;
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

/// Who reads restitutions and transfers out (the REST API's rule).
pub const READERS: &[Role] = &[Archivist, ControlAuthority];

pub fn state(ui: &UiState) -> State<Arc<Archive>> {
    State(ui.archive.clone())
}

pub fn kind_label(l: Lang, k: Kind) -> &'static str {
    match k {
        Kind::Restitution => l.t("Restitution", "Restitution"),
        Kind::TransferOut => l.t("Transfert sortant", "Transfer out"),
    }
}

/// The state in words (never colour alone).
pub fn status_badge(l: Lang, s: Status) -> Markup {
    let (class, text) = match s {
        Status::Building => ("running", l.t("Paquet en préparation", "Package being built")),
        Status::Ready => (
            "running",
            l.t(
                "Paquet prêt, en attente de la réponse",
                "Package ready, awaiting the answer",
            ),
        ),
        Status::Failed => ("ko", l.t("Échec de la préparation", "Build failed")),
        Status::Rejected => ("ko", l.t("Refusé par le destinataire", "Refused by the recipient")),
        Status::Accepted => (
            "warning",
            l.t("Accepté, suppression en cours", "Accepted, deletion running"),
        ),
        Status::Executed => ("ok", l.t("Accepté, unités supprimées", "Accepted, units deleted")),
    };
    html! { span class={ "status " (class) } { (text) } }
}

/// Both kinds, newest first.
async fn all(ui: &UiState, v: &Viewer, tenant: &str) -> UiResult<Vec<Outgoing>> {
    let who = || Caller(v.who.clone());
    let Json(mut rows) = api::list_restitutions(state(ui), who(), Path(tenant.to_owned())).await?;
    let Json(out) = api::list_transfers_out(state(ui), who(), Path(tenant.to_owned())).await?;
    rows.extend(out);
    rows.sort_by_key(|o| std::cmp::Reverse(o.created_at));
    Ok(rows)
}

pub async fn list(State(ui): State<UiState>, v: Viewer) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let rows = all(&ui, &v, &tenant).await?;
    let body = html! {
        p { (l.t(
            "Une restitution rend des unités d’archives à leur service producteur ; un transfert sortant (versement sortant) les confie à un autre service d’archives. Le paquet (un bordereau SEDA et ses fichiers) est préparé ici ; les unités ne sont supprimées qu’après l’accusé de réception du service producteur ou la réponse OK du service d’archives destinataire.",
            "A restitution gives archive units back to their originating agency; a transfer out hands them to another archive. The package (a SEDA manifest and its files) is built here; the units are deleted only once the originating agency acknowledged it or the receiving archive answered OK.",
        )) }
        @if v.is(&[Archivist]) {
            p { a.button href="/ui/sorties/nouvelle" { (l.t("Restituer ou transférer des unités", "Restitute or transfer units")) } }
        }
        @if rows.is_empty() {
            p role="status" { (l.t("Aucune restitution ni aucun transfert sortant.", "No restitution and no transfer out.")) }
        } @else {
            table {
                caption { (l.t("Restitutions et transferts sortants, les plus récents d’abord", "Restitutions and transfers out, latest first")) }
                thead { tr {
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th scope="col" { (l.t("Type", "Kind")) }
                    th scope="col" { (l.t("Destinataire", "Recipient")) }
                    th.num scope="col" { (l.t("Unités", "Units")) }
                    th scope="col" { (l.t("État", "State")) }
                    th scope="col" { (l.t("Démarré le", "Started on")) }
                    th scope="col" { (l.t("Mis à jour le", "Updated on")) }
                } }
                tbody { @for o in &rows { tr {
                    td { a href={ "/ui/sorties/" (encode(&o.id)) } { code { (o.id) } } }
                    td { (kind_label(l, o.kind)) }
                    td { code { (o.recipient) } }
                    td.num { (format::int(l, o.units.len() as u64)) }
                    td { (status_badge(l, o.status)) }
                    td { (format::datetime(l, o.created_at)) }
                    td { (format::datetime(l, o.updated_at)) }
                } } }
            }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Outgoing),
        l.t("Restitutions et transferts sortants", "Restitutions and transfers out"),
        body,
    ))
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    /// A unit to prefill (from its page).
    #[serde(default)]
    unite: String,
}

/// What a start form holds, to show it again after a refusal.
#[derive(Deserialize, Default)]
pub struct Draft {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default, rename = "unites")]
    units: String,
    /// The originating agency (restitution) or the receiving archive (transfer out).
    #[serde(default, rename = "destinataire")]
    recipient: String,
    #[serde(default, rename = "contrat")]
    agreement: String,
    #[serde(default, rename = "commentaire")]
    comment: String,
    #[serde(default, rename = "version")]
    seda_version: String,
}

pub async fn new_form(State(ui): State<UiState>, v: Viewer, Query(q): Query<NewQuery>) -> UiResult<Response> {
    v.allow(&ui, &[Archivist]).await?;
    let draft = Draft {
        units: q.unite.trim().to_owned(),
        ..Draft::default()
    };
    Ok(form_page(&v, &draft, &draft, None))
}

/// The two start forms side by side; `refused` is said above the one that was sent.
fn form_page(v: &Viewer, rest: &Draft, out: &Draft, refused: Option<(Kind, String)>) -> Response {
    let l = v.lang;
    let body = html! {
        p { (l.t(
            "Chaque unité part avec toutes les unités qui en dépendent. Sont refusées, sans que rien ne soit engagé : une unité inconnue, sous gel, dans une communication en cours, ou qui part déjà.",
            "Each unit leaves with every unit below it. Refused, with nothing started: an unknown unit, one under a hold, in an open communication, or already leaving.",
        )) }
        div.actions {
            (start_form(v, Kind::Restitution, rest, refused.as_ref()))
            (start_form(v, Kind::TransferOut, out, refused.as_ref()))
        }
    };
    layout::page(
        v,
        Some(Nav::Outgoing),
        l.t("Restituer ou transférer des unités", "Restitute or transfer units"),
        body,
    )
}

fn start_form(v: &Viewer, kind: Kind, d: &Draft, refused: Option<&(Kind, String)>) -> Markup {
    let l = v.lang;
    let (p, action) = match kind {
        Kind::Restitution => ("r", "/ui/sorties/restitution"),
        Kind::TransferOut => ("t", "/ui/sorties/transfert"),
    };
    let id = |name: &str| format!("{p}-{name}");
    html! {
        form.stack id=(id("form")) method="post" action=(action) {
            @match kind {
                Kind::Restitution => h2 { (l.t("Restitution au service producteur", "Restitution to the originating agency")) },
                Kind::TransferOut => h2 { (l.t("Transfert sortant vers un autre service d’archives", "Transfer out to another archive")) },
            }
            @if let Some((_, why)) = refused.filter(|(k, _)| *k == kind) {
                div.notice.ko role="alert" { p {
                    strong { (l.t("Refusé, rien n’a été engagé : ", "Refused, nothing was started: ")) } (why)
                } }
            }
            (super::csrf_field(&v.csrf))
            label for=(id("unites")) { (l.t("Unités d’archives (identifiants, un par ligne)", "Archive units (identifiers, one per line)")) }
            textarea id=(id("unites")) name="unites" rows="3" required { (d.units) }
            @match kind {
                Kind::Restitution => {
                    label for=(id("destinataire")) { (l.t("Service producteur (facultatif)", "Originating agency (optional)")) }
                    p.hint id=(id("destinataire-hint")) { (l.t(
                        "Par défaut, celui que nomment les unités : elles doivent toutes nommer le même.",
                        "By default, the one the units name: they must all name the same.",
                    )) }
                    input id=(id("destinataire")) type="text" name="destinataire" value=(d.recipient) aria-describedby=(id("destinataire-hint"));
                }
                Kind::TransferOut => {
                    label for=(id("destinataire")) { (l.t("Service d’archives destinataire (identifiant)", "Receiving archive (identifier)")) }
                    input id=(id("destinataire")) type="text" name="destinataire" value=(d.recipient) required;
                }
            }
            label for=(id("contrat")) { (l.t("Contrat d’entrée chez le destinataire (facultatif)", "Ingest agreement at the recipient (optional)")) }
            input id=(id("contrat")) type="text" name="contrat" value=(d.agreement);
            label for=(id("commentaire")) { (l.t("Commentaire (facultatif, porté dans le bordereau)", "Comment (optional, carried in the manifest)")) }
            textarea id=(id("commentaire")) name="commentaire" rows="2" { (d.comment) }
            label for=(id("version")) { (l.t("Version SEDA du bordereau", "SEDA version of the manifest")) }
            select id=(id("version")) name="version" {
                @for ver in ["2.2", "2.1", "2.3"] {
                    option value=(ver) selected[d.seda_version == ver] { "SEDA " (ver) }
                }
            }
            div { button.primary type="submit" { @match kind {
                Kind::Restitution => (l.t("Démarrer la restitution", "Start the restitution")),
                Kind::TransferOut => (l.t("Démarrer le transfert sortant", "Start the transfer out")),
            } } }
        }
    }
}

async fn start(ui: UiState, v: Viewer, kind: Kind, d: Draft) -> UiResult<Response> {
    let action = match kind {
        Kind::Restitution => "sorties.restitution",
        Kind::TransferOut => "sorties.transfert",
    };
    crate::csrf::check(&ui, &v, &d.csrf, action).await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let units: Vec<&str> = d
        .units
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|s| !s.is_empty())
        .collect();
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let recipient_field = match kind {
        Kind::Restitution => "originating_agency",
        Kind::TransferOut => "archival_agency",
    };
    let mut body = serde_json::json!({
        "unit_ids": units,
        "archival_agreement": text(&d.agreement),
        "comment": text(&d.comment),
        "seda_version": text(&d.seda_version),
    });
    body[recipient_field] = serde_json::json!(text(&d.recipient));
    let bytes = axum::body::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let path = Path(tenant);
    let who = Caller(v.who.clone());
    let started = match kind {
        Kind::Restitution => api::start_restitution(state(&ui), who, path, bytes).await,
        Kind::TransferOut => api::start_transfer_out(state(&ui), who, path, bytes).await,
    };
    match started {
        Ok(Json(o)) => Ok(Redirect::to(&format!("/ui/sorties/{}", encode(&o.id))).into_response()),
        // Unknown units, a hold, an open communication, already leaving, a wrong recipient:
        // said on the form (the API logged the refusal), nothing started.
        Err(ApiError(ArchiveError::Invalid(why) | ArchiveError::Conflict(why) | ArchiveError::NotFound(why))) => {
            let empty = Draft::default();
            let (rest, out) = match kind {
                Kind::Restitution => (&d, &empty),
                Kind::TransferOut => (&empty, &d),
            };
            let mut r = form_page(&v, rest, out, Some((kind, why)));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn start_restitution(State(ui): State<UiState>, v: Viewer, Form(d): Form<Draft>) -> UiResult<Response> {
    start(ui, v, Kind::Restitution, d).await
}

pub async fn start_transfer_out(State(ui): State<UiState>, v: Viewer, Form(d): Form<Draft>) -> UiResult<Response> {
    start(ui, v, Kind::TransferOut, d).await
}
