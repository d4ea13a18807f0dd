//! One elimination proposal: its units, the control authority's visa (the only role that can
//! give or refuse it: the form is shown to it alone and the archive refuses anyone else), the
//! archivist's execution once approved, and what the execution did (the elimination record and
//! the notifications sent).

use archipel_archive::auth::Role::{Archivist, ControlAuthority};
use archipel_archive::disposal::proposal::{
    self, DecisionInput, DecisionRequest, Proposal, ProposalStatus, UnitDecision,
};
use archipel_archive::ArchiveError;
use archipel_seda::authorization::AuthorizationDecision;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};

use super::eliminations::{proposal_badge, READERS};
use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

/// Logs a refused action as the REST API does (best effort: the refusal stands regardless).
pub async fn log_refusal(
    ui: &UiState,
    tenant: &str,
    event: &str,
    actor: &str,
    subject: Option<&str>,
    e: &ArchiveError,
) {
    let detail = serde_json::json!({"reason": e.to_string(), "via": "ui"});
    if let Err(log) = ui
        .archive
        .journal
        .record(tenant, event, "KO", actor, subject, detail)
        .await
    {
        tracing::error!("a refused {event} could not be logged: {log}");
    }
}

fn unit_decision(l: Lang, d: Option<UnitDecision>) -> &'static str {
    match d {
        None => "—",
        Some(UnitDecision::Approved) => l.t("visa accordé", "approved"),
        Some(UnitDecision::Refused) => l.t("visa refusé", "refused"),
    }
}

fn outcome(l: Lang, o: &str) -> String {
    match o {
        "eliminated" => l.t("éliminée", "eliminated").to_owned(),
        other => other.to_owned(),
    }
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let p = proposal::get(&ui.archive, &tenant, &id).await?.value;
    let base = format!("/ui/eliminations/{}", encode(&p.id));
    let row = |label: &str, value: Markup| html! { dt { (label) } dd { (value) } };
    let body = html! {
        dl.meta {
            (row(l.t("État", "State"), proposal_badge(l, p.status)))
            (row(l.t("Proposée par, le", "Proposed by, on"), html! { code { (p.created_by) } ", " (format::datetime(l, p.created_at)) }))
            (row(l.t("Analyse du", "Analysis of"), html! { (format::date(l, p.at)) }))
            (row(l.t("Autorité de contrôle", "Control authority"), html! { code { (p.control_authority) } }))
            @if let Some(c) = &p.comment { (row(l.t("Commentaire", "Comment"), html! { (c) })) }
            (row(l.t("Unités", "Units"), html! { (format::int(l, p.units.len() as u64)) ", " (format::size(l, p.units.iter().map(|u| u.bytes).sum())) }))
        }
        p { a href={ (base) "/messages/request" } { (l.t("Demande d’autorisation (AuthorizationControlAuthorityRequest, XML)", "Authorisation request (AuthorizationControlAuthorityRequest, XML)")) } }
        (visa_section(l, &v, &base, &p))
        @if p.status == ProposalStatus::Approved {
            @if v.is(&[Archivist]) {
                form.stack #executer method="post" action={ (base) "/execution" } {
                    (super::csrf_field(&v.csrf))
                    p { (l.t(
                        "L’exécution détruit définitivement les unités visées et leurs objets, écrit le procès-verbal d’élimination et notifie les services producteurs. Elle ne peut pas être annulée.",
                        "Execution destroys the approved units and their objects for good, writes the elimination record and notifies the originating agencies. It cannot be undone.",
                    )) }
                    button.primary type="submit" { (l.t("Exécuter l’élimination", "Execute the elimination")) }
                }
            } @else {
                p.hint { (l.t("Visa accordé : l’archiviste peut exécuter l’élimination.", "Visa given: the archivist may execute the elimination.")) }
            }
        }
        @if let Some(x) = &p.execution {
            h2 #execution { (l.t("Exécution", "Execution")) }
            dl.meta {
                (row(l.t("Exécutée par", "Executed by"), html! { code { (x.by) } }))
                @if let Some(t) = x.started_at { (row(l.t("Commencée le", "Started on"), html! { (format::datetime(l, t)) })) }
                @if let Some(t) = x.finished_at { (row(l.t("Terminée le", "Finished on"), html! { (format::datetime(l, t)) })) }
                (row(l.t("Unités éliminées", "Units eliminated"), html! { (format::int(l, x.eliminated.len() as u64)) }))
                (row(l.t("Objets détruits", "Objects destroyed"), html! { (format::int(l, x.objects_deleted as u64)) " (" (format::size(l, x.bytes_deleted)) ")" }))
                (row(l.t("Paquets réécrits / AIP supprimés", "Packs rewritten / AIPs removed"), html! { (format::int(l, x.packs_rewritten as u64)) " / " (format::int(l, x.aips_removed.len() as u64)) }))
                @if !x.pending_deletes.is_empty() {
                    (row(l.t("Reste à détruire", "Still to destroy"), html! { (format::int(l, x.pending_deletes.len() as u64)) " " (l.t("objet(s) : relancez l’exécution", "object(s): run the execution again")) }))
                }
            }
            p { a href={ (base) "/proces-verbal" } { (l.t("Procès-verbal d’élimination (JSON)", "Elimination record (JSON)")) } }
            @if !x.notifications.is_empty() {
                h3 { (l.t("Notifications aux services producteurs", "Notifications to the originating agencies")) }
                ul { @for n in &x.notifications { li {
                    a href={ (base) "/messages/" (encode(&n.message_identifier)) } { (n.message_identifier) }
                    " — " (n.originating_agency) " (" (format::int(l, n.units.len() as u64)) " " (l.t("unité(s)", "unit(s)")) ")"
                } } }
            }
        }
        table {
            caption { (l.t("Unités proposées", "Units proposed")) }
            thead { tr {
                th scope="col" { (l.t("Unité", "Unit")) }
                th scope="col" { (l.t("Service producteur", "Originating agency")) }
                th.num scope="col" { (l.t("Objets", "Objects")) }
                th.num scope="col" { (l.t("Taille", "Size")) }
                th scope="col" { (l.t("Visa", "Visa")) }
                th scope="col" { (l.t("Résultat", "Outcome")) }
            } }
            tbody { @for u in &p.units { tr {
                td { (u.title) div.hint { code { (u.unit_id) } } }
                td { (u.originating_agency.as_deref().unwrap_or("—")) }
                td.num { (format::int(l, u.objects as u64)) }
                td.num { (format::size(l, u.bytes)) }
                td { (unit_decision(l, u.decision)) }
                td { (u.outcome.as_deref().map(|o| outcome(l, o)).unwrap_or_default()) }
            } } }
        }
        p { a href="/ui/eliminations" { (l.t("Toutes les éliminations", "Every elimination")) } }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Eliminations),
        &format!("{} {}", l.t("Élimination", "Elimination"), p.id),
        body,
    ))
}

fn visa_section(l: Lang, v: &Viewer, base: &str, p: &Proposal) -> Markup {
    html! {
        h2 #visa { (l.t("Visa de l’autorité de contrôle", "The control authority's visa")) }
        @match &p.visa {
            Some(visa) => {
                dl.meta {
                    dt { (l.t("Décision", "Decision")) }
                    dd { (super::communication::decision_badge(l, Some(visa.decision))) }
                    dt { (l.t("Donnée par, le", "Given by, on")) }
                    dd { code { (visa.by) } ", " (format::datetime(l, visa.at)) }
                    @if !visa.refused_units.is_empty() {
                        dt { (l.t("Unités refusées", "Units refused")) }
                        dd { @for u in &visa.refused_units { code { (u) } " " } }
                    }
                    @if !visa.comments.is_empty() {
                        dt { (l.t("Commentaire", "Comment")) }
                        dd { (visa.comments.join(" ")) }
                    }
                }
                p { a href={ (base) "/messages/reply" } { (l.t("Réponse (AuthorizationControlAuthorityRequestReply, XML)", "Reply (AuthorizationControlAuthorityRequestReply, XML)")) } }
            }
            None if p.status == ProposalStatus::Proposed && v.is(&[ControlAuthority]) => {
                div.actions {
                    form.stack #viser method="post" action={ (base) "/visa" } {
                        (super::csrf_field(&v.csrf))
                        input type="hidden" name="decision" value="approved";
                        fieldset {
                            legend { (l.t("Unités à exclure du visa (facultatif)", "Units to exclude from the visa (optional)")) }
                            @for u in &p.units { div.check {
                                input id={ "refus-" (u.unit_id) } type="checkbox" name="refus" value=(u.unit_id);
                                label for={ "refus-" (u.unit_id) } { (u.title) " (" code { (u.unit_id) } ")" }
                            } }
                        }
                        label for="commentaire-ok" { (l.t("Commentaire", "Comment")) }
                        textarea #commentaire-ok name="commentaire" rows="2" {}
                        div { button.primary type="submit" { (l.t("Accorder le visa", "Give the visa")) } }
                    }
                    form.stack #refuser method="post" action={ (base) "/visa" } {
                        (super::csrf_field(&v.csrf))
                        input type="hidden" name="decision" value="refused";
                        label for="commentaire-ko" { (l.t("Motif du refus", "Reason for refusing")) }
                        textarea #commentaire-ko name="commentaire" rows="2" required {}
                        div { button.secondary type="submit" { (l.t("Refuser le visa", "Refuse the visa")) } }
                    }
                }
            }
            None => {
                p.hint { (l.t(
                    "En attente du visa. Seule l’autorité de contrôle peut l’accorder ou le refuser.",
                    "Awaiting the visa. Only the control authority can give or refuse it.",
                )) }
            }
        }
    }
}

pub async fn visa(
    State(ui): State<UiState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    crate::csrf::check(&ui, &v, &field(crate::csrf::FIELD), "elimination.visa").await?;
    // Anyone but the control authority is refused here, and the refusal logged.
    let tenant = v.allow(&ui, &[ControlAuthority]).await?;
    let decision = match field("decision").as_str() {
        "approved" => AuthorizationDecision::Approved,
        "refused" => AuthorizationDecision::Refused,
        _ => {
            return Err(UiError::Archive(ArchiveError::Invalid(
                "the decision must be `approved` or `refused`".into(),
            )))
        }
    };
    let comment = field("commentaire");
    let req = DecisionRequest {
        decision,
        refused_units: fields
            .iter()
            .filter(|(k, _)| k == "refus")
            .map(|(_, v)| v.trim().to_owned())
            .collect(),
        comment: (!comment.is_empty()).then_some(comment),
    };
    match proposal::decide(&ui.archive, &tenant, &v.who, &id, DecisionInput::Json(req)).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/eliminations/{}#visa", encode(&id))).into_response()),
        Err(e) => {
            log_refusal(&ui, &tenant, "elimination.visa", &v.who.id, Some(&id), &e).await;
            Err(UiError::Archive(e))
        }
    }
}

#[derive(serde::Deserialize)]
pub struct ExecuteForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn execute(
    State(ui): State<UiState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ExecuteForm>,
) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "elimination.execution").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    match archipel_archive::disposal::execute::execute(&ui.archive, &tenant, &v.who, &id).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/eliminations/{}#execution", encode(&id))).into_response()),
        Err(e) => {
            log_refusal(&ui, &tenant, "elimination.executed", &v.who.id, Some(&id), &e).await;
            Err(UiError::Archive(e))
        }
    }
}

async fn stored(ui: &UiState, tenant: &str, key: &str) -> UiResult<Vec<u8>> {
    let t = ui.archive.refs.tenant(tenant).await?;
    let mut bytes = Vec::new();
    ui.archive
        .store
        .client()
        .get_object(&t.namespace, key, 0, None, &mut bytes, None)
        .await
        .map_err(ArchiveError::from)?;
    Ok(bytes)
}

/// A SEDA message of the elimination: `request`, `reply`, or a notification's identifier.
pub async fn message(
    State(ui): State<UiState>,
    v: Viewer,
    Path((id, name)): Path<(String, String)>,
) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let p = proposal::get(&ui.archive, &tenant, &id).await?.value;
    let key = match name.as_str() {
        "request" => Some(p.request.key.clone()),
        "reply" => p.visa.as_ref().map(|v| v.key.clone()),
        other => p.execution.as_ref().and_then(|e| {
            e.notifications
                .iter()
                .find(|n| n.message_identifier == other)
                .map(|n| n.key.clone())
        }),
    }
    .ok_or_else(|| UiError::Archive(ArchiveError::NotFound(format!("message `{name}`"))))?;
    Ok(super::xml_response(stored(&ui, &tenant, &key).await?))
}

/// The elimination record (procès-verbal): the eliminated units' metadata, the visa, who did it.
pub async fn record(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let p = proposal::get(&ui.archive, &tenant, &id).await?.value;
    let key = p
        .execution
        .as_ref()
        .map(|e| e.record_key.clone())
        .ok_or_else(|| UiError::Archive(ArchiveError::NotFound(format!("record of elimination `{id}`"))))?;
    let json = stored(&ui, &tenant, &key).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"proces-verbal-{}.json\"", p.id),
            ),
        ],
        json,
    )
        .into_response())
}
