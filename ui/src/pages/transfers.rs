//! Versements: the list with filters, one transfer with its steps and reasons, and its
//! Acknowledgement and ArchiveTransferReply (ATR) to download.

use archipel_archive::auth::Role::{Archivist, Operator, TransferringAgency};
use archipel_archive::model::{Transfer, TransferStatus};
use archipel_archive::ArchiveError;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::dashboard::{may_see, transfer_table, visible_transfers};
use crate::error::{UiError, UiResult};
use crate::extract::Viewer;
use crate::format;
use crate::layout::{self, Nav};
use crate::UiState;

const READERS: &[archipel_archive::auth::Role] = &[TransferringAgency, Archivist, Operator];
const PER_PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    statut: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

fn status_code(s: TransferStatus) -> &'static str {
    match s {
        TransferStatus::Received => "RECEIVED",
        TransferStatus::Running => "RUNNING",
        TransferStatus::Ok => "OK",
        TransferStatus::Warning => "WARNING",
        TransferStatus::Ko => "KO",
    }
}

pub async fn list(State(ui): State<UiState>, v: Viewer, Query(f): Query<Filters>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let mut all = visible_transfers(&ui, &v, &tenant).await?;
    all.sort_by_key(|t| std::cmp::Reverse(t.received_at));
    let mut agencies: Vec<String> = all.iter().filter_map(|t| t.transferring_agency.clone()).collect();
    agencies.sort();
    agencies.dedup();
    let status = f.statut.as_deref().filter(|s| !s.is_empty());
    let agency = f.service.as_deref().filter(|s| !s.is_empty());
    let rows: Vec<&Transfer> = all
        .iter()
        .filter(|t| status.is_none_or(|s| status_code(t.status) == s))
        .filter(|t| agency.is_none_or(|a| t.transferring_agency.as_deref() == Some(a)))
        .collect();
    let page = f.page.unwrap_or(1).max(1);
    let pages = rows.len().div_ceil(PER_PAGE).max(1);
    let shown = &rows[((page - 1) * PER_PAGE).min(rows.len())..(page * PER_PAGE).min(rows.len())];
    let statuses = [
        ("OK", l.t("OK", "OK")),
        ("WARNING", l.t("Avertissement", "Warning")),
        ("KO", l.t("Rejeté (KO)", "Rejected (KO)")),
        ("RUNNING", l.t("En cours", "Running")),
        ("RECEIVED", l.t("Reçu", "Received")),
    ];
    let query = |p: usize| {
        format!(
            "?statut={}&service={}&page={p}",
            crate::extract::encode(status.unwrap_or("")),
            crate::extract::encode(agency.unwrap_or(""))
        )
    };
    let body = html! {
        @if v.is(&[Archivist, TransferringAgency]) {
            p { a.button href="/ui/versements/nouveau" { (l.t("Verser un paquet (SIP)", "Transfer a package (SIP)")) } }
        }
        form method="get" action="/ui/versements" {
            fieldset {
                legend { (l.t("Filtrer", "Filter")) }
                label for="statut" { (l.t("Statut", "Status")) }
                select #statut name="statut" {
                    option value="" { (l.t("Tous", "All")) }
                    @for (code, text) in statuses {
                        option value=(code) selected[status == Some(code)] { (text) }
                    }
                }
                label for="service" { (l.t("Service versant", "Transferring agency")) }
                select #service name="service" {
                    option value="" { (l.t("Tous", "All")) }
                    @for a in &agencies {
                        option value=(a) selected[agency == Some(a.as_str())] { (a) }
                    }
                }
                div { button.primary type="submit" { (l.t("Appliquer", "Apply")) } }
            }
        }
        p role="status" { (format::int(l, rows.len() as u64)) " " (l.t("versement(s)", "transfer(s)")) }
        @if !shown.is_empty() {
            (transfer_table(l, shown, l.t("Versements, les plus récents d’abord", "Transfers, latest first")))
        }
        @if pages > 1 {
            nav.pages aria-label=(l.t("Pages", "Pages")) { ul {
                @if page > 1 { li { a href=(query(page - 1)) rel="prev" { (l.t("Page précédente", "Previous page")) } } }
                li { (l.t("Page ", "Page ")) (page) " / " (pages) }
                @if page < pages { li { a href=(query(page + 1)) rel="next" { (l.t("Page suivante", "Next page")) } } }
            } }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Transfers),
        l.t("Versements", "Transfers"),
        body,
    ))
}

/// A transfer this viewer may see, or 404 (another tenant's or agency's looks missing).
async fn load(ui: &UiState, v: &Viewer, tenant: &str, id: &str) -> UiResult<Transfer> {
    let t = archipel_archive::ingest::transfer(&ui.archive, tenant, id).await?;
    if !may_see(v, &t) {
        return Err(UiError::Archive(ArchiveError::NotFound(format!("transfer `{id}`"))));
    }
    Ok(t)
}

pub async fn detail(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let t = load(&ui, &v, &tenant, &id).await?;
    let row = |label: &str, value: maud::Markup| html! { dt { (label) } dd { (value) } };
    let body = html! {
        @if !t.status.is_final() {
            // Without JavaScript the page follows the transfer by reloading itself.
            p.notice role="status" { (l.t("Contrôle en cours : cette page se met à jour toutes les deux secondes.", "Being checked: this page refreshes every two seconds.")) }
        }
        dl.meta {
            (row(l.t("Statut", "Status"), super::status_badge(l, t.status)))
            (row(l.t("Étape", "Step"), html! { (t.step) }))
            (row(l.t("Reçu le", "Received"), html! { (format::datetime(l, t.received_at)) }))
            @if let Some(f) = t.finished_at { (row(l.t("Terminé le", "Finished"), html! { (format::datetime(l, f)) })) }
            (row(l.t("Service versant", "Transferring agency"), html! { (t.transferring_agency.as_deref().unwrap_or("—")) }))
            (row(l.t("Contrat d’entrée", "Agreement"), html! { (t.agreement.as_deref().unwrap_or("—")) }))
            (row(l.t("Identifiant du message", "Message identifier"), html! { (t.message_identifier.as_deref().unwrap_or("—")) }))
            (row(l.t("Version SEDA", "SEDA version"), html! { (t.seda_version.as_deref().unwrap_or("—")) }))
            (row(l.t("Taille du SIP", "SIP size"), html! { (format::size(l, t.size)) }))
            (row(l.t("Unités / objets", "Units / objects"), html! { (format::int(l, t.units as u64)) " / " (format::int(l, t.objects as u64)) }))
            @if let Some(aip) = &t.aip_id { (row(l.t("Paquet archivé (AIP)", "Archived package (AIP)"), html! { code { (aip) } })) }
            @if let Some(r) = &t.resend_of { (row(l.t("Renvoi du versement", "Resend of"), html! { a href={ "/ui/versements/" (r) } { (r) } })) }
        }
        @if t.ack_key.is_some() || t.atr_key.is_some() {
            h2 { (l.t("Messages SEDA", "SEDA messages")) }
            ul {
                @if t.ack_key.is_some() {
                    li { a href={ "/ui/versements/" (t.id) "/accuse" } download { (l.t("Accusé de réception (Acknowledgement, XML)", "Acknowledgement (XML)")) } }
                }
                @if t.atr_key.is_some() {
                    li { a href={ "/ui/versements/" (t.id) "/ars" } download { (l.t("Réponse au transfert (ArchiveTransferReply, XML)", "Transfer reply (ArchiveTransferReply, XML)")) } }
                }
            }
        }
        @if !t.errors.is_empty() {
            h2 { (l.t("Motifs de rejet", "Reasons for rejection")) }
            (reasons(l, &t.errors))
        }
        @if !t.warnings.is_empty() {
            h2 { (l.t("Avertissements", "Warnings")) }
            (reasons(l, &t.warnings))
        }
        h2 { (l.t("Étapes", "Steps")) }
        @if t.steps.is_empty() {
            p { (l.t("Aucune étape terminée pour l’instant.", "No step finished yet.")) }
        } @else {
            table {
                caption.visually-hidden { (l.t("Étapes du contrôle", "Check steps")) }
                thead { tr {
                    th scope="col" { (l.t("Étape", "Step")) }
                    th scope="col" { (l.t("Résultat", "Outcome")) }
                    th scope="col" { (l.t("Heure", "Time")) }
                    th scope="col" { (l.t("Détail", "Detail")) }
                } }
                tbody {
                    @for s in &t.steps {
                        tr {
                            td { (s.name) }
                            td { (super::outcome_badge(l, &s.outcome)) }
                            td { (format::datetime(l, s.at)) }
                            td { (s.detail.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
        p { a href="/ui/versements" { (l.t("Retour aux versements", "Back to transfers")) } }
    };
    let title = format!("{} {}", l.t("Versement", "Transfer"), t.id);
    let mut r = layout::page(&v, Some(Nav::Transfers), &title, body);
    if !t.status.is_final() {
        if let Ok(h) = "2".parse() {
            r.headers_mut().insert(header::REFRESH, h);
        }
    }
    Ok(r)
}

fn reasons(l: crate::i18n::Lang, list: &[archipel_archive::model::Reason]) -> maud::Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { (l.t("Étape", "Step")) }
                th scope="col" { (l.t("Élément", "Element")) }
                th scope="col" { (l.t("Motif", "Reason")) }
            } }
            tbody {
                @for r in list {
                    tr { td { (r.step) } td { code { (r.subject.as_deref().unwrap_or("")) } } td { (r.message) } }
                }
            }
        }
    }
}

async fn message(ui: &UiState, v: &Viewer, id: &str, atr: bool) -> UiResult<Response> {
    let tenant = v.allow(ui, READERS).await?;
    let t = load(ui, v, &tenant, id).await?;
    let (key, name) = if atr {
        (t.atr_key, format!("ATR-{id}.xml"))
    } else {
        (t.ack_key, format!("ACK-{id}.xml"))
    };
    let key = key.ok_or_else(|| ArchiveError::NotFound(format!("reply of transfer `{id}`")))?;
    let mut xml = Vec::new();
    ui.archive
        .store
        .client()
        .get_object(
            &archipel_archive::keys::object_namespace(&tenant),
            &key,
            0,
            None,
            &mut xml,
            None,
        )
        .await
        .map_err(ArchiveError::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        xml,
    )
        .into_response())
}

pub async fn atr(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    message(&ui, &v, &id, true).await
}

pub async fn ack(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    message(&ui, &v, &id, false).await
}
