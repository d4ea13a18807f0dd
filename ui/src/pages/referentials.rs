//! Référentiels: services versants, contrats d'entrée, profils d'archivage and the rules
//! referential, with a CSV import that first shows what it would change.

use std::collections::HashMap;

use archipel_archive::access::{AccessContract, ACCESS_CONTRACT};
use archipel_archive::auth::Role::Archivist;
use archipel_archive::model::{Agency, Agreement, Profile, Rule};
use archipel_archive::referentials::{AGREEMENT, PROFILE, RULE};
use archipel_archive::ArchiveError;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use super::search::category_label;
use crate::error::{UiError, UiResult};
use crate::extract::Viewer;
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

const MAX_CSV_BYTES: usize = 2 << 20;

#[derive(serde::Deserialize, Default)]
pub struct Saved {
    /// What a form just saved, to say so.
    #[serde(default)]
    enregistre: String,
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Query(q): Query<Saved>) -> UiResult<Response> {
    let l = v.lang;
    let notice = (!q.enregistre.is_empty()).then(|| {
        html! { div.notice.ok role="status" { p {
            "« " (q.enregistre) " » " (l.t("enregistré (nouvelle version s’il existait déjà).", "saved (a new version if it existed)."))
        } } }
    });
    render(&ui, &v, notice).await
}

async fn render(ui: &UiState, v: &Viewer, outcome: Option<Markup>) -> UiResult<Response> {
    let tenant = v.allow(ui, &[Archivist]).await?;
    let l = v.lang;
    let refs = &ui.archive.refs;
    let agencies: Vec<Agency> = refs.agencies(&tenant).await?;
    let agreements: Vec<Agreement> = refs.list(&tenant, AGREEMENT).await?;
    let profiles: Vec<Profile> = refs.list(&tenant, PROFILE).await?;
    let contracts: Vec<AccessContract> = refs.list(&tenant, ACCESS_CONTRACT).await?;
    let mut rules: Vec<Rule> = refs.list(&tenant, RULE).await?;
    rules.sort_by(|a, b| (a.rule_type.as_str(), a.id.as_str()).cmp(&(b.rule_type.as_str(), b.id.as_str())));
    let body = html! {
        @if let Some(o) = outcome { (o) }
        h2 #contrats { (l.t("Contrats d’entrée", "Ingest agreements")) }
        @if agreements.is_empty() { p { (l.t("Aucun contrat d’entrée.", "No agreement.")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th scope="col" { (l.t("Intitulé", "Name")) }
                    th scope="col" { (l.t("Services versants", "Transferring agencies")) }
                    th scope="col" { (l.t("Profil", "Profile")) }
                    th scope="col" { (l.t("Formats autorisés", "Allowed formats")) }
                    th scope="col" { (l.t("Actif", "Active")) }
                    th scope="col" { (l.t("Version", "Version")) }
                } }
                tbody { @for a in &agreements { tr {
                    td { code { (a.id) } }
                    td { (a.name) }
                    td { (a.transferring_agencies.join(", ")) }
                    td { (a.profile.as_deref().unwrap_or("—")) }
                    td { @if a.allowed_formats.is_empty() { (l.t("tous", "any")) } @else { (a.allowed_formats.join(", ")) } }
                    td { (if a.active { l.t("oui", "yes") } else { l.t("non", "no") }) }
                    td { (a.version) " (" (format::day(l, a.updated_at)) ")" }
                } } }
            }
        }
        h2 #profils { (l.t("Profils d’archivage", "Archival profiles")) }
        @if profiles.is_empty() { p { (l.t("Aucun profil d’archivage.", "No archival profile.")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th scope="col" { (l.t("Intitulé", "Name")) }
                    th scope="col" { (l.t("Champs obligatoires", "Required fields")) }
                    th scope="col" { (l.t("Grammaire RNG", "RNG grammar")) }
                    th scope="col" { (l.t("Version", "Version")) }
                } }
                tbody { @for p in &profiles { tr {
                    td { code { (p.id) } }
                    td { (p.name) }
                    td { (p.required_fields.join(", ")) }
                    td { (if p.rng.is_some() { l.t("oui", "yes") } else { l.t("non", "no") }) }
                    td { (p.version) }
                } } }
            }
        }
        h2 #services { (l.t("Services versants", "Transferring agencies")) }
        @if agencies.is_empty() { p { (l.t("Aucun service versant enregistré.", "No transferring agency registered.")) } } @else {
            ul { @for a in &agencies { li { code { (a.id) } " — " (a.name) } } }
        }
        h2 #contrats-acces { (l.t("Contrats d’accès", "Access contracts")) }
        (super::referential_forms::access_table(l, &contracts))
        h2 #regles { (l.t("Référentiel des règles de gestion", "Management rules referential")) }
        (import_form(l, &v.csrf))
        @if rules.is_empty() { p { (l.t("Aucune règle importée.", "No rule imported.")) } } @else {
            (rules_table(l, &rules.iter().collect::<Vec<_>>(), l.t("Règles en vigueur", "Rules in force")))
        }
        h2 #creer { (l.t("Créer ou modifier", "Create or change")) }
        (super::referential_forms::forms(l, &v.csrf, &profiles))
    };
    Ok(layout::page(
        v,
        Some(Nav::Referentials),
        l.t("Référentiels", "Referentials"),
        body,
    ))
}

fn import_form(l: Lang, csrf: &str) -> Markup {
    html! {
        form.stack method="post" action="/ui/referentiels/regles" enctype="multipart/form-data" {
            (super::csrf_field(csrf))
            input type="hidden" name="etape" value="apercu";
            label for="csv" { (l.t("Importer un fichier de règles (CSV)", "Import a rules file (CSV)")) }
            p.hint #csv-hint { (l.t(
                "Colonnes RuleId, RuleType, RuleValue, RuleDescription, RuleDuration, RuleMeasurement (comme Vitam). Un aperçu des changements s’affiche avant tout enregistrement.",
                "Columns RuleId, RuleType, RuleValue, RuleDescription, RuleDuration, RuleMeasurement (as Vitam). A preview of the changes is shown before anything is stored.",
            )) }
            input #csv type="file" name="fichier" accept=".csv,text/csv" required aria-describedby="csv-hint";
            div { button.primary type="submit" { (l.t("Voir les changements", "Preview the changes")) } }
        }
    }
}

fn duration(l: Lang, r: &Rule) -> String {
    match r.duration {
        None => l.t("illimitée", "unlimited").to_owned(),
        Some(n) => {
            let unit = match (r.measurement, l) {
                (archipel_archive::model::Measurement::Year, Lang::Fr) => "an(s)",
                (archipel_archive::model::Measurement::Month, Lang::Fr) => "mois",
                (archipel_archive::model::Measurement::Day, Lang::Fr) => "jour(s)",
                (archipel_archive::model::Measurement::Year, Lang::En) => "year(s)",
                (archipel_archive::model::Measurement::Month, Lang::En) => "month(s)",
                (archipel_archive::model::Measurement::Day, Lang::En) => "day(s)",
            };
            format!("{n} {unit}")
        }
    }
}

fn rules_table(l: Lang, rules: &[&Rule], caption: &str) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr {
                th scope="col" { (l.t("Identifiant", "Identifier")) }
                th scope="col" { (l.t("Catégorie", "Category")) }
                th scope="col" { (l.t("Intitulé", "Value")) }
                th scope="col" { (l.t("Durée", "Duration")) }
                th scope="col" { (l.t("Version", "Version")) }
            } }
            tbody { @for r in rules { tr {
                td { code { (r.id) } }
                td { (category_label(l, &r.rule_type)) }
                td { (r.value) @if !r.description.is_empty() { div.hint { (r.description) } } }
                td { (duration(l, r)) }
                td { (r.version) }
            } } }
        }
    }
}

/// The CSV posted, and whether to store it or only preview it.
async fn read_form(ui: &UiState, v: &Viewer, mut parts: Multipart) -> UiResult<(bool, String)> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        UiError::Archive(ArchiveError::Invalid(format!("the form could not be read: {e}")))
    };
    let token = match parts.next_field().await.map_err(bad)? {
        Some(f) if f.name() == Some(crate::csrf::FIELD) => f.text().await.map_err(bad)?,
        _ => String::new(),
    };
    crate::csrf::check(ui, v, &token, "referentiels.regles").await?;
    let mut store = false;
    let mut csv = None;
    while let Some(f) = parts.next_field().await.map_err(bad)? {
        match f.name() {
            Some("etape") => store = f.text().await.map_err(bad)? == "importer",
            Some("fichier") | Some("csv") => {
                let bytes = f.bytes().await.map_err(bad)?;
                if bytes.len() > MAX_CSV_BYTES {
                    return Err(UiError::Archive(ArchiveError::TooLarge(format!(
                        "a rules file is at most {MAX_CSV_BYTES} bytes"
                    ))));
                }
                csv = Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                    UiError::Archive(ArchiveError::Invalid(
                        "the rules file is not UTF-8 text; save it as UTF-8 CSV".into(),
                    ))
                })?);
            }
            _ => {}
        }
    }
    let csv = csv.ok_or_else(|| UiError::Archive(ArchiveError::Invalid("no rules file was sent".into())))?;
    Ok((store, csv))
}

pub async fn rules(State(ui): State<UiState>, v: Viewer, parts: Multipart) -> UiResult<Response> {
    let (store, csv) = read_form(&ui, &v, parts).await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let l = v.lang;
    let parsed = match archipel_archive::referentials::parse_rules_csv(&csv) {
        Ok(p) => p,
        Err(e) => {
            let notice = html! { div.notice.ko role="alert" {
                p { strong { (l.t("Fichier refusé, rien n’a été enregistré : ", "File refused, nothing was stored: ")) } (e.to_string()) }
            } };
            let mut r = render(&ui, &v, Some(notice)).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(r);
        }
    };
    if store {
        let stored = archipel_archive::rules_import::import_rules(&ui.archive, &v.who, &tenant, &csv).await?;
        let notice = html! { div.notice.ok role="status" {
            p { (format::int(l, stored.len() as u64)) " " (l.t("règle(s) importée(s). Les échéances des unités concernées ont été recalculées.", "rule(s) imported. The end dates of the units concerned were recomputed.")) }
        } };
        return render(&ui, &v, Some(notice)).await;
    }
    let current: HashMap<String, Rule> = ui
        .archive
        .refs
        .list::<Rule>(&tenant, RULE)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let same = |new: &Rule, old: &Rule| {
        Rule {
            version: old.version,
            ..new.clone()
        } == *old
    };
    let added: Vec<&Rule> = parsed.iter().filter(|r| !current.contains_key(&r.id)).collect();
    let changed: Vec<(&Rule, &Rule)> = parsed
        .iter()
        .filter_map(|r| current.get(&r.id).filter(|old| !same(r, old)).map(|old| (r, old)))
        .collect();
    let unchanged = parsed.len() - added.len() - changed.len();
    let body = html! {
        p role="status" {
            (format::int(l, added.len() as u64)) " " (l.t("nouvelle(s), ", "new, "))
            (format::int(l, changed.len() as u64)) " " (l.t("modifiée(s), ", "changed, "))
            (format::int(l, unchanged as u64)) " " (l.t("inchangée(s). Rien n’est encore enregistré.", "unchanged. Nothing is stored yet."))
        }
        @if !added.is_empty() { (rules_table(l, &added, l.t("Règles nouvelles", "New rules"))) }
        @if !changed.is_empty() {
            table {
                caption { (l.t("Règles modifiées", "Changed rules")) }
                thead { tr {
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th scope="col" { (l.t("Avant", "Before")) }
                    th scope="col" { (l.t("Après", "After")) }
                } }
                tbody { @for (new, old) in &changed { tr {
                    td { code { (new.id) } }
                    td { (old.value) " — " (duration(l, old)) }
                    td { (new.value) " — " (duration(l, new)) }
                } } }
            }
            p.hint { (l.t("Une durée modifiée recalcule l’échéance des unités qui appliquent la règle.", "A changed duration recomputes the end date of the units applying the rule.")) }
        }
        form.stack method="post" action="/ui/referentiels/regles" enctype="multipart/form-data" {
            (super::csrf_field(&v.csrf))
            input type="hidden" name="etape" value="importer";
            input type="hidden" name="csv" value=(csv);
            button.primary type="submit" { (l.t("Confirmer l’import", "Confirm the import")) }
            " "
            a href="/ui/referentiels#regles" { (l.t("Annuler", "Cancel")) }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Referentials),
        l.t("Aperçu de l’import des règles", "Rules import preview"),
        body,
    ))
}
