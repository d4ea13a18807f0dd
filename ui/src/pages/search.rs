//! Recherche: the catalog's full-text search with its filters and facets, paginated.

use archipel_archive::auth::Role::{Archivist, ControlAuthority};
use archipel_archive::search::{Facet, SearchPage};
use archipel_archive::searching::SearchParams;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::UiResult;
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

const PER_PAGE: usize = 20;

/// The form's fields; empty ones mean no filter.
#[derive(Deserialize, Default, Clone)]
pub struct Form {
    #[serde(default)]
    q: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    flow: String,
    #[serde(default)]
    originating_agency: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    rule_category: String,
    #[serde(default)]
    final_action: String,
    #[serde(default)]
    rule_end_from: String,
    #[serde(default)]
    rule_end_to: String,
    #[serde(default)]
    page: Option<usize>,
}

impl Form {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("q", self.q.as_str()),
            ("level", self.level.as_str()),
            ("flow", self.flow.as_str()),
            ("originating_agency", self.originating_agency.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("rule_category", self.rule_category.as_str()),
            ("final_action", self.final_action.as_str()),
            ("rule_end_from", self.rule_end_from.as_str()),
            ("rule_end_to", self.rule_end_to.as_str()),
        ]
    }

    /// This search's URL with some fields replaced (facets, pages).
    fn link(&self, set: &[(&str, &str)], page: usize) -> String {
        let mut out = String::from("/ui/recherche?");
        for (k, v) in self.pairs() {
            let v = set.iter().find(|(sk, _)| *sk == k).map_or(v, |(_, sv)| *sv);
            if !v.is_empty() {
                out.push_str(&format!("{k}={}&", encode(v)));
            }
        }
        out.push_str(&format!("page={page}"));
        out
    }

    fn is_empty(&self) -> bool {
        self.pairs().iter().all(|(_, v)| v.trim().is_empty())
    }
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn date(l: Lang, name: &str, s: &str) -> Result<Option<NaiveDate>, String> {
    match opt(s) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| match l {
                Lang::Fr => format!("La date « {d} » ({name}) n’est pas valide : utilisez AAAA-MM-JJ."),
                Lang::En => format!("The date “{d}” ({name}) is not valid: use YYYY-MM-DD."),
            }),
    }
}

fn params(l: Lang, f: &Form, page: usize) -> Result<SearchParams, String> {
    Ok(SearchParams {
        q: opt(&f.q),
        level: opt(&f.level),
        flow: opt(&f.flow),
        originating_agency: opt(&f.originating_agency),
        from: date(l, l.t("du", "from"), &f.from)?,
        to: date(l, l.t("au", "to"), &f.to)?,
        rule_category: opt(&f.rule_category),
        final_action: opt(&f.final_action),
        rule_end_from: date(l, l.t("échéance du", "end from"), &f.rule_end_from)?,
        rule_end_to: date(l, l.t("échéance au", "end to"), &f.rule_end_to)?,
        facets: Some(true),
        limit: Some(PER_PAGE),
        offset: Some((page - 1) * PER_PAGE),
        ..Default::default()
    })
}

pub fn category_label(l: Lang, c: &str) -> &'static str {
    match c {
        "AppraisalRule" => l.t("Durée d’utilité administrative (DUA)", "Appraisal (retention)"),
        "AccessRule" => l.t("Communicabilité", "Access"),
        "StorageRule" => l.t("Durée d’utilité courante (DUC)", "Storage"),
        "DisseminationRule" => l.t("Diffusion", "Dissemination"),
        "ReuseRule" => l.t("Réutilisation", "Reuse"),
        "ClassificationRule" => l.t("Classification", "Classification"),
        "HoldRule" => l.t("Gel", "Hold"),
        _ => l.t("Autre règle", "Other rule"),
    }
}

pub fn final_action_label(l: Lang, a: &str) -> &'static str {
    match a {
        "Destroy" => l.t("Détruire", "Destroy"),
        "Keep" => l.t("Conserver", "Keep"),
        "Transfer" => l.t("Transférer", "Transfer"),
        "Copy" => l.t("Copier", "Copy"),
        "RestrictAccess" => l.t("Restreindre l’accès", "Restrict access"),
        _ => l.t("Autre", "Other"),
    }
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Query(f): Query<Form>) -> UiResult<Response> {
    let tenant = v.allow(&ui, &[Archivist, ControlAuthority]).await?;
    let l = v.lang;
    let page = f
        .page
        .unwrap_or(1)
        .clamp(1, archipel_archive::search::MAX_OFFSET / PER_PAGE);
    let (result, problem) = match params(l, &f, page) {
        Err(p) => (None, Some(p)),
        Ok(p) => match archipel_archive::searching::search_page(&ui.archive, &tenant, p).await {
            Ok(r) => {
                ui.archive
                    .journal
                    .record(
                        &tenant,
                        "access.search",
                        "OK",
                        &v.who.id,
                        None,
                        serde_json::json!({"hits": r.total}),
                    )
                    .await?;
                (Some(r), None)
            }
            Err(archipel_archive::ArchiveError::Invalid(m)) => (None, Some(m)),
            Err(e) => return Err(e.into()),
        },
    };
    let body = html! {
        div.search-layout {
            div {
                (search_form(l, &f))
                @if let Some(r) = &result { (facets(l, &f, r)) }
            }
            div {
                @if let Some(p) = &problem {
                    div.notice.ko role="alert" { p { (l.t("Recherche impossible : ", "Search failed: ")) (p) } }
                }
                @if let Some(r) = &result { (results(l, &f, r, page)) }
            }
        }
    };
    let title = if f.is_empty() {
        l.t("Recherche", "Search")
    } else {
        l.t("Résultats de recherche", "Search results")
    };
    Ok(layout::page(&v, Some(Nav::Search), title, body))
}

fn search_form(l: Lang, f: &Form) -> Markup {
    let categories = [
        "AppraisalRule",
        "AccessRule",
        "StorageRule",
        "DisseminationRule",
        "ReuseRule",
        "ClassificationRule",
        "HoldRule",
    ];
    let actions = ["Destroy", "Keep"];
    html! {
        form method="get" action="/ui/recherche" role="search" {
            fieldset {
                legend { (l.t("Rechercher", "Search")) }
                label for="q" { (l.t("Texte", "Text")) }
                p.hint #q-hint { (l.t("Mots du titre, de la description, des mots-clés… ; « \"…\" » pour une expression.", "Words of the title, description, keywords…; \"…\" for a phrase.")) }
                input #q type="search" name="q" value=(f.q) aria-describedby="q-hint";
                label for="level" { (l.t("Niveau de description", "Description level")) }
                input #level type="text" name="level" value=(f.level) placeholder="File, Item, RecordGrp…";
                label for="flow" { (l.t("Flux", "Flow")) }
                input #flow type="text" name="flow" value=(f.flow);
                label for="originating_agency" { (l.t("Service producteur", "Originating agency")) }
                input #originating_agency type="text" name="originating_agency" value=(f.originating_agency);
                label for="from" { (l.t("Dates extrêmes : du", "Covering dates: from")) }
                input #from type="date" name="from" value=(f.from);
                label for="to" { (l.t("au", "to")) }
                input #to type="date" name="to" value=(f.to);
            }
            fieldset {
                legend { (l.t("Règles de gestion", "Management rules")) }
                label for="rule_category" { (l.t("Catégorie", "Category")) }
                select #rule_category name="rule_category" {
                    option value="" { (l.t("Toutes", "Any")) }
                    @for c in categories {
                        option value=(c) selected[f.rule_category == c] { (category_label(l, c)) }
                    }
                }
                label for="final_action" { (l.t("Sort final", "Final action")) }
                select #final_action name="final_action" {
                    option value="" { (l.t("Tous", "Any")) }
                    @for a in actions {
                        option value=(a) selected[f.final_action == a] { (final_action_label(l, a)) }
                    }
                }
                label for="rule_end_from" { (l.t("Échéance du", "Ends from")) }
                input #rule_end_from type="date" name="rule_end_from" value=(f.rule_end_from);
                label for="rule_end_to" { (l.t("Échéance au", "Ends by")) }
                input #rule_end_to type="date" name="rule_end_to" value=(f.rule_end_to);
            }
            button.primary type="submit" { (l.t("Rechercher", "Search")) }
            " "
            a href="/ui/recherche" { (l.t("Effacer", "Clear")) }
        }
    }
}

fn facets(l: Lang, f: &Form, r: &SearchPage) -> Markup {
    let Some(facets) = &r.facets else { return html! {} };
    let list = |title: &str, field: &'static str, facet: &Facet| {
        html! {
            @if !facet.buckets.is_empty() {
                h3 { (title) }
                ul {
                    @for b in facet.buckets.iter().take(10) {
                        li { a href=(f.link(&[(field, b.value.as_str())], 1)) { (b.value) } " (" (format::int(l, b.count)) ")" }
                    }
                }
            }
        }
    };
    html! {
        section.facets aria-labelledby="facets-title" {
            h2 #facets-title { (l.t("Affiner", "Refine")) }
            (list(l.t("Niveau", "Level"), "level", &facets.level))
            (list(l.t("Flux", "Flow"), "flow", &facets.flow))
            (list(l.t("Service producteur", "Originating agency"), "originating_agency", &facets.originating_agency))
            @if !facets.year.buckets.is_empty() {
                h3 { (l.t("Année", "Year")) }
                ul {
                    @for b in facets.year.buckets.iter().take(10) {
                        @let from = format!("{}-01-01", b.value);
                        @let to = format!("{}-12-31", b.value);
                        li { a href=(f.link(&[("from", from.as_str()), ("to", to.as_str())], 1)) { (b.value) } " (" (format::int(l, b.count)) ")" }
                    }
                }
            }
        }
    }
}

fn results(l: Lang, f: &Form, r: &SearchPage, page: usize) -> Markup {
    let pages = r
        .total
        .div_ceil(PER_PAGE)
        .clamp(1, archipel_archive::search::MAX_OFFSET / PER_PAGE);
    html! {
        p role="status" { strong { (format::int(l, r.total as u64)) } " " (l.t("unité(s) d’archives trouvée(s)", "archive unit(s) found")) }
        @if !r.hits.is_empty() {
            ol.results start=((page - 1) * PER_PAGE + 1) {
                @for h in &r.hits {
                    li {
                        a href={ "/ui/unites/" (h.unit_id) } { (h.title) }
                        div.hint {
                            @if !h.level.is_empty() { (h.level) " · " }
                            @match (h.start_date, h.end_date) {
                                (Some(s), Some(e)) => { (format::date(l, s)) " – " (format::date(l, e)) }
                                (Some(d), None) | (None, Some(d)) => { (format::date(l, d)) }
                                (None, None) => { (l.t("non daté", "undated")) }
                            }
                            @if !h.originating_agency.is_empty() { " · " (h.originating_agency) }
                            @if let Some(flow) = &h.flow { " · " (flow) }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pages aria-label=(l.t("Pages de résultats", "Result pages")) { ul {
                @if page > 1 { li { a href=(f.link(&[], page - 1)) rel="prev" { (l.t("Page précédente", "Previous page")) } } }
                li { (l.t("Page ", "Page ")) (page) " / " (pages) }
                @if page < pages { li { a href=(f.link(&[], page + 1)) rel="next" { (l.t("Page suivante", "Next page")) } } }
            } }
        }
    }
}
