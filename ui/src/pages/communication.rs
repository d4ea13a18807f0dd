//! One communication request: its units and why some were not communicable, the derogation's
//! steps (the originating agency, then the control authority) with the decision forms for whoever
//! may answer the open step, the SEDA messages, and the DIP for the requester alone.

use archipel_archive::access::guard;
use archipel_archive::auth::Principal;
use archipel_archive::auth::Role::{Archivist, ControlAuthority, Requester, TransferringAgency};
use archipel_archive::delivery::derogation::{self, Answer, AnswerInput};
use archipel_archive::delivery::{self, AuthorizationStep, Delivery, DeliveryStatus};
use archipel_archive::ArchiveError;
use archipel_seda::authorization::{AuthorityKind, AuthorizationDecision};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::communications::{sees, status_badge, READERS};
use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

/// Who may answer a derogation step (the archive checks again): the control authority for its
/// step; for an originating agency's, that agency's own token or an archivist recording its answer.
fn may_answer(who: &Principal, step: &AuthorizationStep) -> bool {
    match step.authority {
        AuthorityKind::ControlAuthority => who.role == ControlAuthority,
        AuthorityKind::OriginatingAgency => {
            who.role == Archivist
                || (who.role == TransferringAgency && who.agency.as_deref() == Some(step.authority_id.as_str()))
        }
    }
}

/// The step waiting for an answer, if any.
fn open_step(d: &Delivery) -> Option<&AuthorizationStep> {
    let wanted = match d.status {
        DeliveryStatus::PendingOriginatingAgency => AuthorityKind::OriginatingAgency,
        DeliveryStatus::PendingControlAuthority => AuthorityKind::ControlAuthority,
        _ => return None,
    };
    d.authorizations
        .iter()
        .find(|s| s.authority == wanted && s.decision.is_none())
}

/// The request, if `v` may see it; otherwise 404, like a missing one, and the attempt logged.
async fn load(ui: &UiState, v: &Viewer, tenant: &str, id: &str) -> UiResult<Delivery> {
    let d = delivery::load(&ui.archive, tenant, id).await?.value;
    if !sees(&v.who, &d) {
        let logged = ArchiveError::Forbidden(format!("delivery `{id}` belongs to another requester"));
        guard::refuse(&ui.archive, &v.who, tenant, id, logged).await;
        return Err(UiError::Archive(ArchiveError::NotFound(format!("delivery `{id}`"))));
    }
    Ok(d)
}

fn authority_label(l: Lang, k: AuthorityKind) -> &'static str {
    match k {
        AuthorityKind::OriginatingAgency => l.t("Service producteur", "Originating agency"),
        AuthorityKind::ControlAuthority => l.t("Autorité de contrôle", "Control authority"),
    }
}

pub fn decision_badge(l: Lang, d: Option<AuthorizationDecision>) -> Markup {
    let (class, text) = match d {
        None => ("running", l.t("En attente", "Waiting")),
        Some(AuthorizationDecision::Approved) => ("ok", l.t("Favorable", "Approved")),
        Some(AuthorizationDecision::Refused) => ("ko", l.t("Défavorable", "Refused")),
    };
    html! { span class={ "status " (class) } { (text) } }
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let d = load(&ui, &v, &tenant, &id).await?;
    let mine = d.requested_by == v.who.id;
    let expired = super::communications::expired(&d);
    let base = format!("/ui/communications/{}", encode(&d.id));
    let row = |label: &str, value: Markup| html! { dt { (label) } dd { (value) } };
    let body = html! {
        @if d.status == DeliveryStatus::Building {
            p.notice role="status" { (l.t("Le DIP est en préparation : cette page se met à jour toutes les deux secondes.", "The DIP is being built: this page refreshes every two seconds.")) }
        }
        dl.meta {
            (row(l.t("État", "State"), status_badge(l, &d)))
            (row(l.t("Demandeur", "Requester"), html! { (d.requester) " (" (d.role) ")" }))
            (row(l.t("Déposée le", "Made on"), html! { (format::datetime(l, d.created_at)) }))
            (row(l.t("Mise à jour le", "Updated on"), html! { (format::datetime(l, d.updated_at)) }))
            @if let Some(c) = &d.access_contract { (row(l.t("Contrat d’accès", "Access contract"), html! { code { (c) } })) }
            @if let Some(c) = &d.comment { (row(l.t("Motif", "Purpose"), html! { (c) })) }
            (row(l.t("Dérogation demandée", "Derogation asked"), html! { (if d.derogation { l.t("oui", "yes") } else { l.t("non", "no") }) }))
            @if d.progress.objects_total > 0 {
                (row(l.t("Préparation", "Build"), html! {
                    (format::int(l, d.progress.objects_done)) " / " (format::int(l, d.progress.objects_total)) " " (l.t("objets", "objects")) ", "
                    (format::size(l, d.progress.bytes_done)) " / " (format::size(l, d.progress.bytes_total))
                }))
            }
            @if let Some(e) = &d.error { (row(l.t("Erreur", "Error"), html! { (e) })) }
            @if let Some(e) = d.expires_at { (row(l.t("Téléchargeable jusqu’au", "Downloadable until"), html! { (format::datetime(l, e)) })) }
            @if let Some(s) = d.dip_size { (row(l.t("Taille du DIP", "DIP size"), html! { (format::size(l, s)) })) }
        }
        @if d.status == DeliveryStatus::Ready && !expired {
            @if mine {
                p { a.button href={ (base) "/dip" } download { (l.t("Télécharger le DIP (zip)", "Download the DIP (zip)")) } }
            } @else {
                p.hint { (l.t("Seul le demandeur peut télécharger ce DIP.", "Only the requester can download this DIP.")) }
            }
        }
        h2 { (l.t("Unités demandées", "Units requested")) }
        ul { @for u in &d.units { li {
            @if v.is(&[Archivist, ControlAuthority]) { a href={ "/ui/unites/" (encode(u)) } { code { (u) } } } @else { code { (u) } }
        } } }
        @if !d.restricted.is_empty() {
            table {
                caption { (l.t("Unités non communicables au moment de la demande", "Units not communicable when asked for")) }
                thead { tr {
                    th scope="col" { (l.t("Unité", "Unit")) }
                    th scope="col" { (l.t("Service producteur", "Originating agency")) }
                    th scope="col" { (l.t("Motif", "Reason")) }
                } }
                tbody { @for r in &d.restricted { tr {
                    td { code { (r.unit) } }
                    td { (r.originating_agency.as_deref().unwrap_or("—")) }
                    td { (r.reason) }
                } } }
            }
        }
        @if !d.authorizations.is_empty() {
            h2 #derogation { (l.t("Dérogation (article L213-3 du Code du patrimoine)", "Derogation (Code du patrimoine, L213-3)")) }
            table {
                caption.visually-hidden { (l.t("Avis demandés, dans l’ordre", "Decisions asked, in order")) }
                thead { tr {
                    th scope="col" { (l.t("Autorité", "Authority")) }
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th.num scope="col" { (l.t("Unités", "Units")) }
                    th scope="col" { (l.t("Avis", "Decision")) }
                    th scope="col" { (l.t("Motif", "Reason")) }
                    th scope="col" { (l.t("Donné par, le", "Given by, on")) }
                    th scope="col" { (l.t("Messages SEDA", "SEDA messages")) }
                } }
                tbody { @for s in &d.authorizations { tr {
                    td { (authority_label(l, s.authority)) }
                    td { code { (s.authority_id) } }
                    td.num { (format::int(l, s.units.len() as u64)) }
                    td { (decision_badge(l, s.decision)) }
                    td { (s.reason.as_deref().unwrap_or("")) }
                    td { @if let (Some(by), Some(at)) = (&s.decided_by, s.decided_at) { code { (by) } ", " (format::datetime(l, at)) } }
                    td {
                        a href={ (base) "/messages/" (encode(&s.request_message_id)) } { (l.t("demande", "request")) }
                        @if let Some(r) = &s.reply_message_id { ", " a href={ (base) "/messages/" (encode(r)) } { (l.t("réponse", "reply")) } }
                    }
                } } }
            }
            @if let Some(step) = open_step(&d) {
                @if may_answer(&v.who, step) {
                    (answer_forms(l, &v.csrf, &base, step))
                } @else {
                    p.hint { (l.t("En attente de l’avis de : ", "Waiting for the decision of: ")) (authority_label(l, step.authority)) " " code { (step.authority_id) } "." }
                }
            }
        }
        @if d.request_key.is_some() {
            p { a href={ (base) "/messages/request" } { (l.t("Demande au format SEDA (ArchiveDeliveryRequest, XML)", "The request as SEDA (ArchiveDeliveryRequest, XML)")) } }
        }
        p { a href="/ui/communications" { (l.t("Toutes les demandes", "Every request")) } }
    };
    let mut r = layout::page(
        &v,
        Some(Nav::Communications),
        &format!("{} {}", l.t("Demande", "Request"), d.id),
        body,
    );
    if d.status == DeliveryStatus::Building {
        if let Ok(h) = "2".parse() {
            r.headers_mut().insert(header::REFRESH, h);
        }
    }
    Ok(r)
}

fn answer_forms(l: Lang, csrf: &str, base: &str, step: &AuthorizationStep) -> Markup {
    let oa = step.authority == AuthorityKind::OriginatingAgency;
    html! {
        h3 { (l.t("Votre avis", "Your decision")) " — " (authority_label(l, step.authority)) " " code { (step.authority_id) } }
        div.actions {
            form.stack #avis-favorable method="post" action={ (base) "/avis" } {
                (super::csrf_field(csrf))
                input type="hidden" name="decision" value="approved";
                @if oa {
                    label for="autorite" { (l.t("Autorité de contrôle à saisir ensuite", "Control authority to ask next")) }
                    input #autorite type="text" name="autorite_controle" value=(derogation::DEFAULT_CONTROL_AUTHORITY);
                }
                label for="motif-ok" { (l.t("Commentaire (facultatif)", "Comment (optional)")) }
                textarea #motif-ok name="motif" rows="2" {}
                div { button.primary type="submit" { (l.t("Donner un avis favorable", "Approve")) } }
            }
            form.stack #avis-defavorable method="post" action={ (base) "/avis" } {
                (super::csrf_field(csrf))
                input type="hidden" name="decision" value="refused";
                label for="motif-ko" { (l.t("Motif du refus (obligatoire, transmis au demandeur)", "Reason for refusing (required, sent to the requester)")) }
                textarea #motif-ko name="motif" rows="2" required {}
                div { button.secondary type="submit" { (l.t("Donner un avis défavorable", "Refuse")) } }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    autorite_controle: String,
}

pub async fn answer(
    State(ui): State<UiState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<AnswerForm>,
) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "communication.avis").await?;
    let tenant = v.allow(&ui, &[Archivist, ControlAuthority, TransferringAgency]).await?;
    load(&ui, &v, &tenant, &id).await?;
    let decision = match f.decision.as_str() {
        "approved" => AuthorizationDecision::Approved,
        "refused" => AuthorizationDecision::Refused,
        _ => {
            return Err(UiError::Archive(ArchiveError::Invalid(
                "the decision must be `approved` or `refused`".into(),
            )))
        }
    };
    let answer = Answer {
        decision,
        reason: Some(f.motif.trim().to_owned()).filter(|s| !s.is_empty()),
        control_authority: Some(f.autorite_controle.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    derogation::answer(&ui.archive, &v.who, &tenant, &id, AnswerInput::Json(answer)).await?;
    Ok(Redirect::to(&format!("/ui/communications/{}#derogation", encode(&id))).into_response())
}

/// The DIP, to its requester only, while it is ready (the archive's rule).
pub async fn dip(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, &[Archivist, Requester]).await?;
    let d = delivery::load(&ui.archive, &tenant, &id).await?.value;
    if d.requested_by != v.who.id {
        let logged = ArchiveError::Forbidden(format!(
            "the DIP of delivery `{id}` is for {}, not for this token",
            d.requested_by
        ));
        guard::refuse(&ui.archive, &v.who, &tenant, &id, logged).await;
        return Err(UiError::Archive(ArchiveError::NotFound(format!("delivery `{id}`"))));
    }
    if d.status != DeliveryStatus::Ready || super::communications::expired(&d) {
        return Err(UiError::Archive(ArchiveError::Conflict(format!(
            "the DIP of request `{id}` cannot be downloaded: it is not ready, or it expired (ask again)"
        ))));
    }
    let dip = delivery::download::open(&ui.archive, &d).await?;
    ui.archive
        .journal
        .record(
            &tenant,
            "delivery.downloaded",
            "OK",
            &v.who.id,
            Some(&id),
            serde_json::json!({"size": d.dip_size, "sha512": d.dip_sha512, "via": "ui"}),
        )
        .await?;
    Ok(archipel_archive::api::deliveries::zip_response(dip, &d.id))
}

/// A SEDA message of the request: the request itself, an authorisation request or reply.
pub async fn message(
    State(ui): State<UiState>,
    v: Viewer,
    Path((id, name)): Path<(String, String)>,
) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let d = load(&ui, &v, &tenant, &id).await?;
    let key = if name == "request" {
        d.request_key.clone()
    } else {
        d.authorizations.iter().find_map(|s| {
            if s.request_message_id == name {
                Some(s.request_key.clone())
            } else if s.reply_message_id.as_deref() == Some(name.as_str()) {
                s.reply_key.clone()
            } else {
                None
            }
        })
    };
    let key = key.ok_or_else(|| UiError::Archive(ArchiveError::NotFound(format!("message `{name}`"))))?;
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
    Ok(super::xml_response(xml))
}
