//! Éliminations: the analysis of the tenant at a date (units to DESTROY, units in CONFLICT and
//! why), the proposals already made with their state, and the archivist's form to propose units
//! to the control authority. One proposal, its visa and its execution are in `elimination`.

use archipel_archive::auth::Role::{self, Archivist, ControlAuthority};
use archipel_archive::disposal::analysis::{Entry, Reason, Status};
use archipel_archive::disposal::proposal::{self, Proposal, ProposalRequest, ProposalStatus};
use archipel_archive::ArchiveError;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

pub const READERS: &[Role] = &[Archivist, ControlAuthority];
/// Rows of each list shown; a proposal of "every DESTROY unit" takes them all.
const SHOWN: usize = 500;

#[derive(Deserialize, Default)]
pub struct AnalysisQuery {
    #[serde(default)]
    date: String,
}

pub fn proposal_badge(l: Lang, s: ProposalStatus) -> Markup {
    let (class, text) = match s {
        ProposalStatus::Proposed => ("running", l.t("En attente du visa", "Awaiting the visa")),
        ProposalStatus::Approved => ("ok", l.t("Visa accordé", "Visa given")),
        ProposalStatus::Refused => ("ko", l.t("Visa refusé", "Visa refused")),
        ProposalStatus::Executed => ("ok", l.t("Exécutée", "Executed")),
    };
    html! { span class={ "status " (class) } { (text) } }
}

fn reason_text(l: Lang, r: &Reason) -> (&'static str, &str) {
    match r {
        Reason::FinalActionInconsistency { message, .. } => (
            l.t("Sorts finaux incohérents", "Inconsistent final actions"),
            message.as_str(),
        ),
        Reason::KeepAccessSp { message } => (
            l.t(
                "Conservé pour un autre service producteur",
                "Kept for another originating agency",
            ),
            message.as_str(),
        ),
        Reason::AccessLinkInconsistency { message, .. } => (
            l.t("Lien de rattachement incohérent", "Inconsistent link"),
            message.as_str(),
        ),
        Reason::BlockedByHoldRule { message, .. } => (l.t("Gel en vigueur", "Hold in force"), message.as_str()),
        Reason::HasChildUnitsToKeep { message, .. } => (
            l.t("Unités filles à conserver", "Child units to keep"),
            message.as_str(),
        ),
        Reason::InPendingCommunication { message, .. } => (
            l.t("Communication en cours", "Communication in progress"),
            message.as_str(),
        ),
    }
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Query(q): Query<AnalysisQuery>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let at = match q.date.trim() {
        "" => format::today(),
        s => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            UiError::Archive(ArchiveError::Invalid(format!(
                "`{}` is not a date like 2026-12-31",
                s.escape_default()
            )))
        })?,
    };
    let analysis = archipel_archive::disposal::analyse(&ui.archive, &tenant, at).await?;
    ui.archive
        .journal
        .record(
            &tenant,
            "elimination.analysis",
            "OK",
            &v.who.id,
            None,
            serde_json::json!({"at": at, "considered": analysis.considered, "destroy": analysis.destroy, "conflict": analysis.conflict, "via": "ui"}),
        )
        .await?;
    let mut proposals = proposal::list(&ui.archive, &tenant).await?;
    proposals.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    let destroy: Vec<&Entry> = analysis.units.iter().filter(|e| e.status == Status::Destroy).collect();
    let conflict: Vec<&Entry> = analysis.units.iter().filter(|e| e.status == Status::Conflict).collect();
    let archivist = v.is(&[Archivist]);
    let body = html! {
        p { a href="/ui/gels" { (l.t("Gels en vigueur (unités dont l’élimination est suspendue)", "Holds in force (units whose elimination is suspended)")) } }
        section aria-labelledby="propositions" {
            h2 #propositions { (l.t("Propositions d’élimination", "Elimination proposals")) }
            @if proposals.is_empty() { p { (l.t("Aucune proposition pour l’instant.", "No proposal yet.")) } } @else { (proposals_table(l, &proposals)) }
        }
        h2 { (l.t("Analyse", "Analysis")) }
        form method="get" action="/ui/eliminations" {
            fieldset {
                legend { (l.t("Date d’analyse", "Analysis date")) }
                label for="date" { (l.t("Règles échues à la date du", "Rules ended on")) }
                input #date type="date" name="date" value=(at);
                div { button.primary type="submit" { (l.t("Analyser", "Analyse")) } }
            }
        }
        p role="status" #bilan {
            (format::int(l, analysis.considered as u64)) " " (l.t("unité(s) examinée(s) au ", "unit(s) examined on ")) (format::date(l, at)) " : "
            strong { (format::int(l, analysis.destroy as u64)) " " (l.t("à éliminer (DESTROY)", "to destroy (DESTROY)")) } ", "
            strong { (format::int(l, analysis.conflict as u64)) " " (l.t("en conflit (CONFLICT)", "in conflict (CONFLICT)")) } "."
        }
        @if !destroy.is_empty() {
            @if archivist {
                form.stack #proposer method="post" action="/ui/eliminations/proposition" {
                    (super::csrf_field(&v.csrf))
                    input type="hidden" name="date" value=(at);
                    (entries_table(l, &destroy, true, l.t("Unités éliminables (DESTROY)", "Units that may be destroyed (DESTROY)")))
                    fieldset {
                        legend { (l.t("Proposer à l’autorité de contrôle", "Propose to the control authority")) }
                        div.check {
                            input #toutes type="checkbox" name="toutes" value="oui";
                            label for="toutes" { (l.t("Toutes les unités DESTROY de l’analyse (sinon : celles cochées)", "Every DESTROY unit of the analysis (otherwise: those ticked)")) }
                        }
                        label for="autorite" { (l.t("Autorité de contrôle (identifiant SEDA)", "Control authority (SEDA identifier)")) }
                        input #autorite type="text" name="autorite" required value="FRAD000";
                        label for="commentaire" { (l.t("Commentaire", "Comment")) }
                        textarea #commentaire name="commentaire" rows="2" {}
                        div { button.primary type="submit" { (l.t("Envoyer la proposition pour visa", "Send the proposal for a visa")) } }
                    }
                }
            } @else {
                (entries_table(l, &destroy, false, l.t("Unités éliminables (DESTROY)", "Units that may be destroyed (DESTROY)")))
            }
        }
        @if !conflict.is_empty() {
            (entries_table(l, &conflict, false, l.t("Unités en conflit (CONFLICT) : à régler avant toute élimination", "Units in conflict (CONFLICT): to settle before any elimination")))
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Eliminations),
        l.t("Éliminations", "Eliminations"),
        body,
    ))
}

fn proposals_table(l: Lang, rows: &[Proposal]) -> Markup {
    html! {
        table {
            caption.visually-hidden { (l.t("Propositions, les plus récentes d’abord", "Proposals, latest first")) }
            thead { tr {
                th scope="col" { (l.t("Proposition", "Proposal")) }
                th scope="col" { (l.t("Proposée le", "Made on")) }
                th scope="col" { (l.t("Autorité de contrôle", "Control authority")) }
                th.num scope="col" { (l.t("Unités", "Units")) }
                th scope="col" { (l.t("État", "State")) }
            } }
            tbody { @for p in rows { tr {
                td { a href={ "/ui/eliminations/" (encode(&p.id)) } { code { (p.id) } } }
                td { (format::datetime(l, p.created_at)) }
                td { code { (p.control_authority) } }
                td.num { (format::int(l, p.units.len() as u64)) }
                td { (proposal_badge(l, p.status)) }
            } } }
        }
    }
}

fn entries_table(l: Lang, rows: &[&Entry], pick: bool, caption: &str) -> Markup {
    html! {
        table {
            caption { (caption) @if rows.len() > SHOWN { " — " (format::int(l, SHOWN as u64)) " " (l.t("premières sur", "first of")) " " (format::int(l, rows.len() as u64)) } }
            thead { tr {
                @if pick { th scope="col" { (l.t("Proposer", "Propose")) } }
                th scope="col" { (l.t("Unité", "Unit")) }
                th scope="col" { (l.t("Service producteur", "Originating agency")) }
                th.num scope="col" { (l.t("Objets", "Objects")) }
                th.num scope="col" { (l.t("Taille", "Size")) }
                th scope="col" { (l.t("Motifs", "Reasons")) }
            } }
            tbody { @for e in rows.iter().take(SHOWN) { tr {
                @if pick { td {
                    input id={ "u-" (e.unit_id) } type="checkbox" name="unite" value=(e.unit_id) checked;
                    label.visually-hidden for={ "u-" (e.unit_id) } { (l.t("Proposer ", "Propose ")) (e.title) }
                } }
                td { a href={ "/ui/unites/" (encode(&e.unit_id)) } { (e.title) } div.hint { code { (e.unit_id) } } }
                td { (e.originating_agency.as_deref().unwrap_or("—")) }
                td.num { (format::int(l, e.objects as u64)) }
                td.num { (format::size(l, e.bytes)) }
                td { @if e.reasons.is_empty() { "—" } @else { ul { @for r in &e.reasons {
                    @let (what, message) = reason_text(l, r);
                    li { strong { (what) } " : " (message) }
                } } } }
            } } }
        }
    }
}

pub async fn propose(
    State(ui): State<UiState>,
    v: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    crate::csrf::check(&ui, &v, &field(crate::csrf::FIELD), "eliminations.proposition").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let at = NaiveDate::parse_from_str(&field("date"), "%Y-%m-%d").ok();
    let units: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "unite")
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    let all = field("toutes") == "oui";
    if !all && units.is_empty() {
        return Err(UiError::Archive(ArchiveError::Invalid(
            "no unit was ticked: tick the units to propose, or « toutes les unités »".into(),
        )));
    }
    let comment = field("commentaire");
    let req = ProposalRequest {
        at,
        unit_ids: (!all).then_some(units),
        control_authority: field("autorite"),
        comment: (!comment.is_empty()).then_some(comment),
        seda_version: None,
    };
    match proposal::propose(&ui.archive, &tenant, &v.who, req).await {
        Ok(p) => Ok(Redirect::to(&format!("/ui/eliminations/{}", encode(&p.id))).into_response()),
        Err(e) => {
            super::elimination::log_refusal(&ui, &tenant, "elimination.proposed", &v.who.id, None, &e).await;
            Err(UiError::Archive(e))
        }
    }
}
