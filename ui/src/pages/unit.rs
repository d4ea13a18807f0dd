//! Unité d'archives: where it sits (parents, children, siblings), its description, the rules
//! in force with their computed dates and origins, and its objects (format, size, digests,
//! integrity checks), with download and a sandboxed preview of PDFs and images.

use archipel_archive::auth::Role::{Archivist, ControlAuthority};
use archipel_archive::model::{AppliedRule, EndKind, ObjectRecord, UnitRecord};
use archipel_archive::searching::SearchParams;
use archipel_archive::ArchiveError;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::search::{category_label, final_action_label};
use crate::error::{UiError, UiResult};
use crate::extract::Viewer;
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

const READERS: &[archipel_archive::auth::Role] = &[Archivist, ControlAuthority];
/// Formats shown inline; anything else is only downloaded.
const PREVIEWABLE: [&str; 5] = ["application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"];
const MAX_ANCESTORS: usize = 32;
const MAX_CHILDREN: usize = 100;

/// A few units by search (children of a unit), titles only.
async fn children(ui: &UiState, tenant: &str, parent: &str, limit: usize) -> UiResult<(usize, Vec<(String, String)>)> {
    // Unit ids are plain tokens; quoting keeps the query parser from reading anything into them.
    let p = SearchParams {
        q: Some(format!("parent_id:\"{}\"", parent.replace(['"', '\\'], ""))),
        facets: Some(false),
        limit: Some(limit),
        ..Default::default()
    };
    let page = archipel_archive::searching::search_page(&ui.archive, tenant, p).await?;
    Ok((
        page.total,
        page.hits.into_iter().map(|h| (h.unit_id, h.title)).collect(),
    ))
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let a = &ui.archive;
    let u = a.catalog.unit(&tenant, &id).await?;
    // Independent readings (and the logbook entry) at once: each is a cluster round trip.
    let logged = a.journal.record(
        &tenant,
        "access.unit",
        "OK",
        &v.who.id,
        Some(&id),
        serde_json::json!({}),
    );
    let siblings = async {
        match &u.parent_id {
            Some(p) => Ok::<_, UiError>(
                children(&ui, &tenant, p, 21)
                    .await?
                    .1
                    .into_iter()
                    .filter(|(i, _)| *i != u.id)
                    .take(20)
                    .collect::<Vec<_>>(),
            ),
            None => Ok(Vec::new()),
        }
    };
    let (logged, ancestors, kids, siblings, scrub) = tokio::join!(
        logged,
        ancestors_of(&ui, &tenant, &u),
        children(&ui, &tenant, &u.id, MAX_CHILDREN),
        siblings,
        last_scrub(&ui)
    );
    logged?;
    let (ancestors, (child_total, kids), siblings) = (ancestors?, kids?, siblings?);
    let titles: std::collections::HashMap<String, String> = ancestors.iter().cloned().collect();
    let can_download = v.is(&[Archivist]);
    let body = html! {
        @if v.is(super::communications::ASKERS) {
            p { a href={ "/ui/communications/nouvelle?unite=" (crate::extract::encode(&u.id)) } { (l.t("Demander la communication de cette unité", "Ask for this unit to be communicated")) } }
        }
        @if v.is(&[Archivist]) {
            p { a href={ "/ui/sorties/nouvelle?unite=" (crate::extract::encode(&u.id)) } { (l.t("Restituer / Transférer cette unité", "Restitute / transfer this unit")) } }
        }
        nav.tree aria-label=(l.t("Position dans l’arborescence", "Position in the tree")) {
            h2 { (l.t("Arborescence", "Tree")) }
            @if ancestors.is_empty() {
                p { (l.t("Unité racine de son versement.", "Root unit of its transfer.")) }
            }
            ul {
                @for (aid, title) in &ancestors {
                    li { a href={ "/ui/unites/" (aid) } { (title) } }
                }
                li { strong aria-current="page" { (u.title) } }
                @if !kids.is_empty() {
                    li { ul {
                        @for (cid, title) in &kids { li { a href={ "/ui/unites/" (cid) } { (title) } } }
                        @if child_total > kids.len() { li { "… " (format::int(l, (child_total - kids.len()) as u64)) " " (l.t("autres", "more")) } }
                    } }
                }
            }
            @if !siblings.is_empty() {
                details {
                    summary { (l.t("Unités sœurs", "Sibling units")) " (" (siblings.len()) ")" }
                    ul { @for (sid, title) in &siblings { li { a href={ "/ui/unites/" (sid) } { (title) } } } }
                }
            }
        }
        h2 { (l.t("Description", "Description")) }
        (description(l, &u))
        h2 { (l.t("Règles de gestion", "Management rules")) }
        (rules(l, &u, &titles))
        h2 { (l.t("Objets", "Objects")) }
        (objects(l, &u, can_download, scrub))
        @if let Some(o) = u.objects.iter().find(|o| previewable(o)) {
            h2 { (l.t("Aperçu", "Preview")) }
            @let src = format!("/ui/unites/{}/objets/{}/apercu", u.id, o.id);
            @if v.is(&[Archivist]) {
                iframe.preview sandbox="" src=(src) title={ (l.t("Aperçu de ", "Preview of ")) (o.filename.as_deref().unwrap_or(&o.id)) } {}
            }
        }
    };
    Ok(layout::page(&v, Some(Nav::Search), &u.title, body))
}

fn description(l: Lang, u: &UnitRecord) -> Markup {
    let row = |k: &str, val: Markup| html! { dt { (k) } dd { (val) } };
    html! {
        dl.meta {
            (row(l.t("Intitulé", "Title"), html! { (u.title) }))
            @if let Some(d) = &u.description { (row(l.t("Présentation du contenu", "Description"), html! { (d) })) }
            @if let Some(lv) = &u.level { (row(l.t("Niveau de description", "Description level"), html! { (lv) })) }
            (row(l.t("Dates extrêmes", "Covering dates"), html! {
                @match (u.start_date, u.end_date) {
                    (Some(s), Some(e)) => { (format::date(l, s)) " – " (format::date(l, e)) }
                    (Some(d), None) | (None, Some(d)) => { (format::date(l, d)) }
                    (None, None) => { (l.t("non datée", "undated")) }
                }
            }))
            @if let Some(o) = &u.originating_agency { (row(l.t("Service producteur", "Originating agency"), html! { (o) })) }
            @if let Some(s) = &u.submission_agency { (row(l.t("Service versant", "Submission agency"), html! { (s) })) }
            @if !u.keywords.is_empty() { (row(l.t("Mots-clés", "Keywords"), html! { (u.keywords.join(", ")) })) }
            @if let Some(f) = &u.flow { (row(l.t("Flux", "Flow"), html! { (f) })) }
            @if let Some(a) = &u.agreement { (row(l.t("Contrat d’entrée", "Agreement"), html! { (a) @if let Some(v) = u.agreement_version { " (v" (v) ")" } })) }
            @if let Some(p) = &u.profile { (row(l.t("Profil d’archivage", "Archival profile"), html! { (p) @if let Some(v) = u.profile_version { " (v" (v) ")" } })) }
            (row(l.t("Versement", "Transfer"), html! { a href={ "/ui/versements/" (u.transfer_id) } class="mono" { (u.transfer_id) } }))
            (row(l.t("Entrée le", "Ingested"), html! { (format::datetime(l, u.ingested_at)) }))
            (row(l.t("Identifiant", "Identifier"), html! { code { (u.id) } " (" (l.t("dans le SIP : ", "in the SIP: ")) code { (u.sip_id) } ")" }))
        }
        @let others = other_content(&u.content);
        @if !others.is_empty() {
            details {
                summary { (l.t("Toutes les métadonnées descriptives", "All descriptive metadata")) }
                dl.meta {
                    @for (k, val) in &others { dt { code { (k) } } dd { (val) } }
                }
            }
        }
    }
}

/// Every descriptive element as (path, text), flattened; values are text and get escaped.
fn other_content(content: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(path: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        if out.len() >= 500 {
            return;
        }
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, v, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), v, out);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push((path.to_owned(), s.clone())),
            other => out.push((path.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", content, &mut out);
    out
}

fn end_text(l: Lang, r: &AppliedRule) -> Markup {
    html! {
        @match (r.end_date, r.end_kind) {
            (Some(d), Some(EndKind::HoldEndDate)) => { (format::date(l, d)) " (" (l.t("date de fin du gel", "hold end date")) ")" }
            (Some(d), _) => { (format::date(l, d)) }
            (None, Some(EndKind::Unlimited)) => { (l.t("illimitée", "unlimited")) }
            (None, Some(EndKind::Unknown)) => { (l.t("inconnue (pas de date de départ)", "unknown (no start date)")) }
            (None, Some(EndKind::Indefinite)) => { (l.t("jusqu’à levée du gel", "until lifted")) }
            (None, _) => { "—" }
        }
    }
}

fn rules(l: Lang, u: &UnitRecord, titles: &std::collections::HashMap<String, String>) -> Markup {
    if u.rules.is_empty() {
        return html! { p { (l.t("Aucune règle de gestion ne s’applique.", "No management rule applies.")) } };
    }
    html! {
        table {
            caption.visually-hidden { (l.t("Règles en vigueur, avec leur origine", "Rules in force, with their origin")) }
            thead { tr {
                th scope="col" { (l.t("Catégorie", "Category")) }
                th scope="col" { (l.t("Règle", "Rule")) }
                th scope="col" { (l.t("Date de départ", "Start date")) }
                th scope="col" { (l.t("Échéance calculée", "Computed end")) }
                th scope="col" { (l.t("Sort final", "Final action")) }
                th scope="col" { (l.t("Origine", "Origin")) }
            } }
            tbody {
                @for r in &u.rules {
                    tr {
                        td { (category_label(l, &r.category)) }
                        td { code { (r.rule_id) } }
                        td { @if let Some(s) = r.start_date { (format::date(l, s)) } @else { "—" } }
                        td { (end_text(l, r)) }
                        td { @if let Some(a) = &r.final_action { (final_action_label(l, a)) " (" (a) ")" } @else { "—" } }
                        td {
                            @if !r.inherited {
                                (l.t("déclarée par cette unité", "declared by this unit"))
                            } @else {
                                (l.t("héritée de ", "inherited from "))
                                @for (i, origin) in r.unit_ids.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    a href={ "/ui/unites/" (origin) } { (titles.get(origin).map_or(origin.as_str(), |t| t.as_str())) }
                                }
                            }
                            @if let Some(h) = &r.hold {
                                @if let Some(reason) = &h.hold_reason { div.hint { (l.t("Motif du gel : ", "Hold reason: ")) (reason) } }
                            }
                        }
                    }
                }
            }
        }
        @if !u.properties.is_empty() {
            dl.meta {
                @for p in &u.properties {
                    dt { (p.name) @if let Some(c) = &p.category { " (" (category_label(l, c)) ")" } }
                    dd {
                        @match &p.value { serde_json::Value::String(s) => { (s) }, other => { (other.to_string()) } }
                        @if p.implicit { " — " (l.t("valeur par défaut", "default value")) }
                    }
                }
            }
        }
    }
}

fn previewable(o: &ObjectRecord) -> bool {
    o.mime.as_deref().is_some_and(|m| PREVIEWABLE.contains(&m))
}

fn objects(l: Lang, u: &UnitRecord, can_download: bool, scrub: Option<chrono::DateTime<chrono::Utc>>) -> Markup {
    if u.objects.is_empty() {
        return html! { p { (l.t("Cette unité n’a pas d’objet numérique.", "This unit has no digital object.")) } };
    }
    html! {
        table {
            caption.visually-hidden { (l.t("Objets numériques de l’unité", "Digital objects of the unit")) }
            thead { tr {
                th scope="col" { (l.t("Fichier", "File")) }
                th scope="col" { (l.t("Format", "Format")) }
                th.num scope="col" { (l.t("Taille", "Size")) }
                th scope="col" { (l.t("Empreintes", "Digests")) }
                @if can_download { th scope="col" { (l.t("Télécharger", "Download")) } }
            } }
            tbody {
                @for o in &u.objects {
                    tr {
                        td { (o.filename.as_deref().unwrap_or(&o.sip_id)) @if let Some(ver) = &o.version { div.hint { (ver) } } }
                        td {
                            @if let Some(p) = &o.puid { code { (p) } } @else { (l.t("non identifié", "unidentified")) }
                            @if let Some(n) = &o.format_name { div { (n) } }
                            @if let Some(m) = &o.mime { div.hint { (m) } }
                        }
                        td.num { (format::size(l, o.size)) }
                        td {
                            div { "SHA-512 : " code { (o.sha512) } }
                            div.hint { (l.t("Déclarée : ", "Declared: ")) (o.declared_algorithm) " " code { (o.declared_digest) } }
                        }
                        @if can_download {
                            td { a href={ "/ui/unites/" (u.id) "/objets/" (o.id) } download {
                                (l.t("Télécharger", "Download")) span.visually-hidden { " " (o.filename.as_deref().unwrap_or(&o.id)) }
                            } }
                        }
                    }
                }
            }
        }
        p.hint {
            (l.t("Empreintes calculées au versement. ", "Digests computed on ingest. "))
            @match scrub {
                Some(t) => { (l.t("Dernier contrôle d’intégrité complet du stockage (toutes les copies relues) : ", "Last complete storage integrity check (every copy read back): ")) (format::datetime(l, t)) "." }
                None => { (l.t("Aucun cycle complet de contrôle d’intégrité du stockage n’est encore terminé.", "No complete storage integrity check cycle has finished yet.")) }
            }
        }
    }
}

/// When every node last finished a scrub cycle (the oldest of them): every shard, hence every
/// object, was read back and checked since then.
/// The unit's ancestors, root first (up to `MAX_ANCESTORS`), as (id, title).
async fn ancestors_of(ui: &UiState, tenant: &str, u: &UnitRecord) -> UiResult<Vec<(String, String)>> {
    let mut ancestors = Vec::new();
    let mut next = u.parent_id.clone();
    while let Some(pid) = next.take() {
        if ancestors.len() >= MAX_ANCESTORS {
            break;
        }
        match ui.archive.catalog.unit(tenant, &pid).await {
            Ok(p) => {
                next = p.parent_id.clone();
                ancestors.push((p.id, p.title));
            }
            Err(ArchiveError::NotFound(_)) => break,
            Err(e) => return Err(e.into()),
        }
    }
    ancestors.reverse();
    Ok(ancestors)
}

async fn last_scrub(ui: &UiState) -> Option<chrono::DateTime<chrono::Utc>> {
    let client = ui.archive.store.client();
    let nodes = tokio::time::timeout(std::time::Duration::from_millis(500), client.cluster_workers("", "", 0))
        .await
        .ok()?
        .ok()?;
    let mut oldest: Option<u64> = None;
    for n in &nodes {
        let w = n.workers.iter().find(|w| w.name == "scrubber")?;
        if w.last_cycle_completed_ms == 0 {
            return None;
        }
        oldest = Some(oldest.map_or(w.last_cycle_completed_ms, |o| o.min(w.last_cycle_completed_ms)));
    }
    chrono::DateTime::from_timestamp_millis(oldest? as i64)
}

async fn find_object(ui: &UiState, v: &Viewer, id: &str, object: &str) -> UiResult<(String, ObjectRecord)> {
    let tenant = v.allow(ui, &[Archivist]).await?;
    let u = ui.archive.catalog.unit(&tenant, id).await?;
    let o = u
        .objects
        .into_iter()
        .find(|o| o.id == object)
        .ok_or_else(|| UiError::Archive(ArchiveError::NotFound(format!("object `{object}`"))))?;
    ui.archive
        .journal
        .record(
            &tenant,
            "access.object",
            "OK",
            &v.who.id,
            Some(&o.id),
            serde_json::json!({"unit": id, "size": o.size}),
        )
        .await?;
    Ok((tenant, o))
}

fn stream(ui: &UiState, tenant: &str, o: &ObjectRecord) -> Body {
    let (mut w, r) = tokio::io::duplex(256 << 10);
    let ns = archipel_archive::keys::object_namespace(tenant);
    let client = ui.archive.store.client().clone();
    let key = o.key.clone();
    // A packed file is a range of its pack.
    let (offset, length) = match o.pack_offset {
        Some(offset) => (offset, Some(o.size)),
        None => (0, None),
    };
    tokio::spawn(async move {
        if let Err(e) = client.get_object(&ns, &key, offset, length, &mut w, None).await {
            tracing::warn!("web interface: streaming {ns}/{key} failed: {e}");
        }
    });
    Body::from_stream(tokio_util::io::ReaderStream::new(r))
}

fn safe_name(o: &ObjectRecord) -> String {
    o.filename
        .clone()
        .unwrap_or_else(|| o.id.clone())
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub async fn download(
    State(ui): State<UiState>,
    v: Viewer,
    Path((id, object)): Path<(String, String)>,
) -> UiResult<Response> {
    let (tenant, o) = find_object(&ui, &v, &id, &object).await?;
    let body = stream(&ui, &tenant, &o);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", safe_name(&o)),
            ),
            (header::CONTENT_LENGTH, o.size.to_string()),
        ],
        body,
    )
        .into_response())
}

/// PDFs and images inline, under a CSP sandbox: even a hostile file runs no script with this
/// origin's rights.
pub async fn preview(
    State(ui): State<UiState>,
    v: Viewer,
    Path((id, object)): Path<(String, String)>,
) -> UiResult<Response> {
    let (tenant, o) = find_object(&ui, &v, &id, &object).await?;
    if !previewable(&o) {
        return Err(UiError::Archive(ArchiveError::NotFound(format!(
            "preview of `{object}`"
        ))));
    }
    let body = stream(&ui, &tenant, &o);
    Ok((
        [
            (header::CONTENT_TYPE, o.mime.clone().unwrap_or_default()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}\"", safe_name(&o)),
            ),
            (header::CONTENT_LENGTH, o.size.to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
                    .to_owned(),
            ),
        ],
        body,
    )
        .into_response())
}
