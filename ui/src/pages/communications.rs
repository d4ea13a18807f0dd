//! Communications: the requests for archives (each a DIP to build), listed as each role may see
//! them, and the form to ask for units, with or without a derogation (docs/archive.md,
//! "Communication"). One request's page, its derogation and its DIP are in `communication`.

use archipel_archive::auth::Principal;
use archipel_archive::auth::Role::{self, Archivist, ControlAuthority, Requester, TransferringAgency};
use archipel_archive::delivery::submit::{DeliverySpec, Input};
use archipel_archive::delivery::{self, Delivery, DeliveryStatus};
use archipel_archive::searching::SearchParams;
use archipel_archive::ArchiveError;
use archipel_seda::authorization::AuthorityKind;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

/// Who reads communications (the REST API's list).
pub const READERS: &[Role] = &[Archivist, ControlAuthority, Requester, TransferringAgency];
/// Who asks for archives.
pub const ASKERS: &[Role] = &[Archivist, Requester];
/// Units named in one form at most (the archive caps a request too).
const MAX_UNITS: usize = 1000;

/// Whether `who` sees `d`; the same rule as the REST API: archivists and the control authority
/// see every request, a transferring agency those awaiting its consent, a requester its own.
pub fn sees(who: &Principal, d: &Delivery) -> bool {
    if who.all_tenants {
        return true;
    }
    match who.role {
        Archivist | ControlAuthority => true,
        TransferringAgency => d.authorizations.iter().any(|s| {
            s.authority == AuthorityKind::OriginatingAgency && who.agency.as_deref() == Some(s.authority_id.as_str())
        }),
        _ => d.requested_by == who.id,
    }
}

/// Whether a ready DIP's time is over (the archive marks it expired at the next download).
pub fn expired(d: &Delivery) -> bool {
    d.status == DeliveryStatus::Ready && d.expires_at.is_some_and(|e| e <= chrono::Utc::now())
}

pub fn status_badge(l: Lang, d: &Delivery) -> Markup {
    let (class, text) = match d.status {
        _ if expired(d) => ("warning", l.t("Expirée", "Expired")),
        DeliveryStatus::PendingOriginatingAgency => (
            "running",
            l.t("En attente du service producteur", "Awaiting the originating agency"),
        ),
        DeliveryStatus::PendingControlAuthority => (
            "running",
            l.t("En attente de l’autorité de contrôle", "Awaiting the control authority"),
        ),
        DeliveryStatus::Refused => ("ko", l.t("Dérogation refusée", "Derogation refused")),
        DeliveryStatus::Building => ("running", l.t("DIP en préparation", "DIP being built")),
        DeliveryStatus::Ready => ("ok", l.t("Prête à télécharger", "Ready to download")),
        DeliveryStatus::Failed => ("ko", l.t("Échec de la préparation", "Build failed")),
        DeliveryStatus::Expired => ("warning", l.t("Expirée", "Expired")),
    };
    html! { span class={ "status " (class) } { (text) } }
}

fn status_code(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::PendingOriginatingAgency => "pending_originating_agency",
        DeliveryStatus::PendingControlAuthority => "pending_control_authority",
        DeliveryStatus::Refused => "refused",
        DeliveryStatus::Building => "building",
        DeliveryStatus::Ready => "ready",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Expired => "expired",
    }
}

/// The requests `v` may see, latest first.
pub async fn visible(ui: &UiState, v: &Viewer, tenant: &str) -> UiResult<Vec<Delivery>> {
    let mut all = delivery::list(&ui.archive, tenant).await?;
    all.retain(|d| sees(&v.who, d));
    all.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    Ok(all)
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    statut: String,
}

pub async fn list(State(ui): State<UiState>, v: Viewer, Query(f): Query<Filters>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let mut shown = visible(&ui, &v, &tenant).await?;
    let statut = f.statut.trim();
    if !statut.is_empty() {
        shown.retain(|d| status_code(d.status) == statut);
    }
    let statuses = [
        (
            DeliveryStatus::PendingOriginatingAgency,
            l.t("En attente du service producteur", "Awaiting the originating agency"),
        ),
        (
            DeliveryStatus::PendingControlAuthority,
            l.t("En attente de l’autorité de contrôle", "Awaiting the control authority"),
        ),
        (DeliveryStatus::Building, l.t("DIP en préparation", "DIP being built")),
        (DeliveryStatus::Ready, l.t("Prête à télécharger", "Ready to download")),
        (DeliveryStatus::Refused, l.t("Dérogation refusée", "Derogation refused")),
        (DeliveryStatus::Failed, l.t("Échec de la préparation", "Build failed")),
        (DeliveryStatus::Expired, l.t("Expirée", "Expired")),
    ];
    let body = html! {
        @if v.is(ASKERS) {
            p { a.button href="/ui/communications/nouvelle" { (l.t("Nouvelle demande de communication", "New communication request")) } }
        }
        form method="get" action="/ui/communications" {
            fieldset {
                legend { (l.t("Filtrer", "Filter")) }
                label for="statut" { (l.t("État", "State")) }
                select #statut name="statut" {
                    option value="" { (l.t("Tous", "All")) }
                    @for (s, label) in statuses {
                        option value=(status_code(s)) selected[statut == status_code(s)] { (label) }
                    }
                }
                div { button.primary type="submit" { (l.t("Appliquer", "Apply")) } }
            }
        }
        @if shown.is_empty() {
            p role="status" { (l.t("Aucune demande de communication.", "No communication request.")) }
        } @else {
            (table(l, &shown))
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Communications),
        l.t("Demandes de communication", "Communication requests"),
        body,
    ))
}

/// The requests as a table (also on the dashboard).
pub fn table(l: Lang, rows: &[Delivery]) -> Markup {
    html! {
        table {
            caption.visually-hidden { (l.t("Demandes de communication, les plus récentes d’abord", "Communication requests, latest first")) }
            thead { tr {
                th scope="col" { (l.t("Demande", "Request")) }
                th scope="col" { (l.t("Demandeur", "Requester")) }
                th scope="col" { (l.t("Déposée le", "Made on")) }
                th.num scope="col" { (l.t("Unités", "Units")) }
                th scope="col" { (l.t("Dérogation", "Derogation")) }
                th scope="col" { (l.t("État", "State")) }
            } }
            tbody { @for d in rows { tr {
                td { a href={ "/ui/communications/" (encode(&d.id)) } { code { (d.id) } } }
                td { (d.requester) }
                td { (format::datetime(l, d.created_at)) }
                td.num { (format::int(l, d.units.len() as u64)) }
                td { @if d.restricted.is_empty() { (l.t("non nécessaire", "not needed")) } @else {
                    (format::int(l, d.restricted.len() as u64)) " " (l.t("unité(s) non communicable(s)", "unit(s) not communicable"))
                } }
                td { (status_badge(l, d)) }
            } } }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    /// A unit to prefill (from its page).
    #[serde(default)]
    unite: String,
}

pub async fn new_form(State(ui): State<UiState>, v: Viewer, Query(q): Query<NewQuery>) -> UiResult<Response> {
    v.allow(&ui, ASKERS).await?;
    let draft = Draft {
        units: q.unite.trim().to_owned(),
        ..Draft::default()
    };
    Ok(form_page(&v, &draft, None))
}

/// What the form holds, to show it again after a refusal.
#[derive(Deserialize, Default)]
pub struct Draft {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default, rename = "unites")]
    units: String,
    #[serde(default, rename = "recherche")]
    query: String,
    #[serde(default)]
    derogation: Option<String>,
    #[serde(default, rename = "commentaire")]
    comment: String,
}

fn form_page(v: &Viewer, d: &Draft, refused: Option<String>) -> Response {
    let l = v.lang;
    let body = html! {
        @if let Some(why) = &refused {
            div.notice.ko role="alert" { p { strong { (l.t("Demande refusée, rien n’a été enregistré : ", "Request refused, nothing was stored: ")) } (why) } }
        }
        form.stack method="post" action="/ui/communications/nouvelle" {
            (super::csrf_field(&v.csrf))
            label for="unites" { (l.t("Unités d’archives demandées (identifiants, un par ligne)", "Archive units requested (identifiers, one per line)")) }
            p.hint #unites-hint { (l.t(
                "L’identifiant figure sur la page de chaque unité. Vous pouvez aussi demander tout ce que trouve une recherche, ci-dessous.",
                "The identifier is shown on each unit's page. You may also ask for everything a search finds, below.",
            )) }
            textarea #unites name="unites" rows="4" aria-describedby="unites-hint" { (d.units) }
            label for="recherche" { (l.t("Ou : recherche plein texte", "Or: full-text search")) }
            input #recherche type="text" name="recherche" value=(d.query);
            div.check {
                input #derogation type="checkbox" name="derogation" value="oui" checked[d.derogation.is_some()] aria-describedby="derogation-hint";
                label for="derogation" { (l.t("Demander une dérogation pour les unités non communicables", "Ask for a derogation for the units not communicable")) }
            }
            p.hint #derogation-hint { (l.t(
                "Article L213-3 du Code du patrimoine : le service producteur puis l’autorité de contrôle donnent leur avis. Sans dérogation, une demande portant sur des unités non communicables est refusée.",
                "Code du patrimoine, L213-3: the originating agency, then the control authority, decide. Without a derogation, a request for units not communicable is refused.",
            )) }
            label for="commentaire" { (l.t("Motif de la demande", "Purpose of the request")) }
            textarea #commentaire name="commentaire" rows="3" { (d.comment) }
            div { button.primary type="submit" { (l.t("Envoyer la demande", "Send the request")) } }
        }
    };
    layout::page(
        v,
        Some(Nav::Communications),
        l.t("Nouvelle demande de communication", "New communication request"),
        body,
    )
}

pub async fn submit(State(ui): State<UiState>, v: Viewer, Form(d): Form<Draft>) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &d.csrf, "communications.nouvelle").await?;
    let tenant = v.allow(&ui, ASKERS).await?;
    let units: Vec<String> = d
        .units
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let query = d.query.trim();
    let refused = |why: String| {
        let mut r = form_page(&v, &d, Some(why));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        Ok(r)
    };
    if units.len() > MAX_UNITS {
        return refused(format!("{MAX_UNITS} unités au plus par demande"));
    }
    if units.is_empty() && query.is_empty() {
        return refused(
            v.lang
                .t(
                    "nommez au moins une unité, ou une recherche",
                    "name at least one unit, or a search",
                )
                .to_owned(),
        );
    }
    let spec = DeliverySpec {
        units,
        query: (!query.is_empty()).then(|| SearchParams {
            q: Some(query.to_owned()),
            ..SearchParams::default()
        }),
        derogation: d.derogation.is_some(),
        requester: None,
        comment: Some(d.comment.trim().to_owned()).filter(|c| !c.is_empty()),
        seda_version: None,
    };
    match delivery::submit::submit(&ui.archive, &v.who, &tenant, Input::Json(Box::new(spec))).await {
        Ok(made) => Ok(Redirect::to(&format!("/ui/communications/{}", encode(&made.id))).into_response()),
        // Unknown units, units not communicable without a derogation, a contract that does
        // not allow requests: said on the form (the archive logged the refusals).
        Err(
            ArchiveError::Invalid(why)
            | ArchiveError::Conflict(why)
            | ArchiveError::NotFound(why)
            | ArchiveError::Forbidden(why)
            | ArchiveError::TooLarge(why),
        ) => refused(why),
        Err(e) => Err(UiError::Archive(e)),
    }
}
