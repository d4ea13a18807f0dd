//! Gels (holds): the units under a HoldRule in force today, and the archivist's form to put
//! units under a hold (litigation, audit…) or lift one. A hold suspends elimination: the
//! analysis puts held units in CONFLICT (docs/archive.md, "Holds and rule modification").

use archipel_archive::auth::Role::{self, Archivist, ControlAuthority};
use archipel_archive::disposal::modification::{self, ModificationRequest};
use archipel_archive::disposal::modify::Change;
use archipel_archive::model::{AppliedRule, HoldAttributes, Rule};
use archipel_archive::referentials::RULE;
use archipel_archive::search::Hit;
use archipel_archive::searching::SearchParams;
use archipel_archive::ArchiveError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::format;
use crate::layout::{self, Nav};
use crate::UiState;

pub const READERS: &[Role] = &[Archivist, ControlAuthority];
const SHOWN: usize = 100;
/// Unit records read at once to say which hold holds each unit shown.
const CATALOG_READS: usize = 8;

pub async fn page(State(ui): State<UiState>, v: Viewer) -> UiResult<Response> {
    render(&ui, &v, &HoldForm::default(), None).await
}

#[derive(Deserialize, Default)]
pub struct HoldForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `poser` or `lever`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    regle: String,
    #[serde(default)]
    unites: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    autorite: String,
    #[serde(default)]
    fin: String,
}

async fn render(ui: &UiState, v: &Viewer, f: &HoldForm, notice: Option<Markup>) -> UiResult<Response> {
    let tenant = v.allow(ui, READERS).await?;
    let l = v.lang;
    // The search's hold filter finds them (its index follows rules changed in place); the
    // catalog then says which hold, for the units shown only.
    let today = format::today();
    let params = SearchParams {
        hold: Some(true),
        hold_on: Some(today),
        facets: Some(false),
        limit: Some(SHOWN),
        ..SearchParams::default()
    };
    let found = archipel_archive::searching::search_page(&ui.archive, &tenant, params).await?;
    let total = found.total;
    let (catalog, tenant_id) = (&ui.archive.catalog, tenant.as_str());
    let held: Vec<(Hit, Option<AppliedRule>)> = futures::stream::iter(found.hits)
        .map(|h| async move {
            let rule = match catalog.unit(tenant_id, &h.unit_id).await {
                Ok(u) => u
                    .rules
                    .into_iter()
                    .find(|r| r.category == "HoldRule" && r.end_date.is_none_or(|e| e >= today)),
                // Gone since the search (eliminated meanwhile): listed without its rule.
                Err(ArchiveError::NotFound(_)) => None,
                Err(e) => return Err(e),
            };
            Ok((h, rule))
        })
        .buffered(CATALOG_READS)
        .try_collect()
        .await?;
    let mut rules: Vec<Rule> = ui.archive.refs.list::<Rule>(&tenant, RULE).await?;
    rules.retain(|r| r.rule_type == "HoldRule");
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let body = html! {
        @if let Some(n) = notice { (n) }
        p role="status" {
            (format::int(l, total as u64)) " " (l.t("unité(s) sous un gel en vigueur aujourd’hui. Un gel suspend toute élimination.", "unit(s) under a hold in force today. A hold suspends any elimination."))
        }
        @if !held.is_empty() {
            table {
                caption.visually-hidden { (l.t("Unités gelées", "Units on hold")) }
                thead { tr {
                    th scope="col" { (l.t("Unité", "Unit")) }
                    th scope="col" { (l.t("Service producteur", "Originating agency")) }
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th scope="col" { (l.t("Règle", "Rule")) }
                } }
                tbody { @for (h, rule) in &held { tr {
                    td { a href={ "/ui/unites/" (encode(&h.unit_id)) } { (h.title) } }
                    td { (h.originating_agency) }
                    td { code { (h.unit_id) } }
                    td { @if let Some(r) = rule {
                        code { (r.rule_id) } @if r.inherited { " " (l.t("(héritée)", "(inherited)")) }
                    } @else { "—" } }
                } } }
            }
        }
        @if v.is(&[Archivist]) {
            h2 { (l.t("Poser ou lever un gel", "Put or lift a hold")) }
            @if rules.is_empty() {
                p { (l.t(
                    "Le référentiel des règles ne contient aucune règle de gel (HoldRule) : importez-en une dans Référentiels.",
                    "The rules referential has no HoldRule: import one in Referentials.",
                )) }
            } @else {
                form.stack #gel method="post" action="/ui/gels" {
                    (super::csrf_field(&v.csrf))
                    fieldset {
                        legend { (l.t("Action", "Action")) }
                        div.check { input #poser type="radio" name="action" value="poser" checked[f.action != "lever"]; label for="poser" { (l.t("Poser un gel", "Put a hold")) } }
                        div.check { input #lever type="radio" name="action" value="lever" checked[f.action == "lever"]; label for="lever" { (l.t("Lever un gel", "Lift a hold")) } }
                    }
                    label for="regle" { (l.t("Règle de gel", "Hold rule")) }
                    select #regle name="regle" {
                        @for r in &rules { option value=(r.id) selected[f.regle == r.id] { (r.id) " — " (r.value) } }
                    }
                    label for="unites" { (l.t("Unités (identifiants, un par ligne)", "Units (identifiers, one per line)")) }
                    textarea #unites name="unites" rows="4" required { (f.unites) }
                    label for="motif" { (l.t("Motif (contentieux, audit…)", "Reason (litigation, audit…)")) }
                    input #motif type="text" name="motif" value=(f.motif);
                    label for="autorite" { (l.t("Demandé par (autorité)", "Asked by (authority)")) }
                    input #autorite type="text" name="autorite" value=(f.autorite);
                    label for="fin" { (l.t("Fin du gel (facultatif)", "Hold end (optional)")) }
                    input #fin type="date" name="fin" value=(f.fin);
                    div { button.primary type="submit" { (l.t("Enregistrer", "Save")) } }
                }
            }
        }
    };
    Ok(layout::page(v, Some(Nav::Eliminations), l.t("Gels", "Holds"), body))
}

pub async fn submit(State(ui): State<UiState>, v: Viewer, Form(f): Form<HoldForm>) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "gels").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let l = v.lang;
    let units: Vec<String> = f
        .unites
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let end =
        match f.fin.trim() {
            "" => None,
            s => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                UiError::Archive(ArchiveError::Invalid(format!("`{}` is not a date", s.escape_default())))
            })?),
        };
    let rule_id = f.regle.trim().to_owned();
    let change = if f.action == "lever" {
        Change::Remove { rule_id }
    } else {
        Change::Add {
            rule_id,
            start_date: None,
            final_action: None,
            hold: Some(HoldAttributes {
                hold_end_date: end,
                hold_owner: text(&f.autorite),
                hold_reason: text(&f.motif),
                ..HoldAttributes::default()
            }),
        }
    };
    let req = ModificationRequest {
        unit_ids: units.clone(),
        query: None,
        changes: vec![change],
        comment: text(&f.motif),
        seda_version: None,
    };
    match modification::modify(&ui.archive, &tenant, &v.who, req).await {
        Ok(record) => {
            let notice = html! { div.notice.ok role="status" { p {
                (if f.action == "lever" { l.t("Gel levé sur ", "Hold lifted on ") } else { l.t("Gel posé sur ", "Hold put on ") })
                (format::int(l, record.units.len() as u64)) " " (l.t("unité(s) ; les services producteurs sont notifiés.", "unit(s); the originating agencies are notified."))
            } } };
            render(&ui, &v, &HoldForm::default(), Some(notice)).await
        }
        Err(e) => {
            let detail = serde_json::json!({"units": units.len(), "reason": e.to_string(), "via": "ui"});
            if let Err(log) = ui
                .archive
                .journal
                .record(&tenant, "unit.rules.modified", "KO", &v.who.id, None, detail)
                .await
            {
                tracing::error!("a refused hold could not be logged: {log}");
            }
            if !matches!(
                e,
                ArchiveError::Invalid(_) | ArchiveError::Conflict(_) | ArchiveError::NotFound(_)
            ) {
                return Err(UiError::Archive(e));
            }
            let notice = html! { div.notice.ko role="alert" { p {
                strong { (l.t("Refusé, rien n’a changé : ", "Refused, nothing changed: ")) } (e.to_string())
            } } };
            let mut r = render(&ui, &v, &f, Some(notice)).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
    }
}
