//! Registre des entrées (accession register) per originating agency, and usage per month for
//! the partners' cost sharing, each with CSV and JSON exports (the same columns as
//! `archipel archive register --csv` and `archive usage --csv`).

use archipel_archive::auth::Role::{self, Archivist, ControlAuthority};
use archipel_archive::disposal::register::{self, Counts, Register};
use archipel_archive::disposal::usage::{self, UsageRow};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::UiResult;
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

pub const READERS: &[Role] = &[Archivist, ControlAuthority];
/// The usage is the partners' cost sharing: archivists (operators read every tenant's by the API).
pub const USAGE_READERS: &[Role] = &[Archivist];

#[derive(Deserialize, Default)]
pub struct RegisterQuery {
    #[serde(default)]
    service: String,
    /// `csv` or `json`: a download instead of the page.
    #[serde(default)]
    format: String,
}

/// A CSV cell; a cell a spreadsheet would take for a formula starts with a quote mark instead.
fn quote(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        return quote(&format!("'{s}"));
    }
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The register as CSV: one line per entry and per movement out, and a total per agency.
pub fn register_csv(r: &Register) -> String {
    let mut out = String::from(
        "originating_agency,kind,id,date,agreement,transferring_agency,flow,units,objects,bytes,remaining_units,remaining_objects,remaining_bytes\n",
    );
    for a in &r.agencies {
        let agency = quote(&a.originating_agency);
        for e in &a.entries {
            out.push_str(&format!(
                "{agency},entry,{},{},{},{},{},{},{},{},{},{},{}\n",
                quote(&e.transfer_id),
                e.date.to_rfc3339(),
                quote(e.agreement.as_deref().unwrap_or("")),
                quote(e.transferring_agency.as_deref().unwrap_or("")),
                quote(e.flow.as_deref().unwrap_or("")),
                e.ingested.units,
                e.ingested.objects,
                e.ingested.bytes,
                e.remaining.units,
                e.remaining.objects,
                e.remaining.bytes
            ));
        }
        for m in &a.movements {
            out.push_str(&format!(
                "{agency},{},{},{},,,,{},{},{},,,\n",
                quote(&m.kind),
                quote(&m.id),
                m.date.to_rfc3339(),
                m.counts.units,
                m.counts.objects,
                m.counts.bytes
            ));
        }
        out.push_str(&format!(
            "{agency},total,,{},,,,{},{},{},{},{},{}\n",
            r.computed_at.to_rfc3339(),
            a.total_ingested.units,
            a.total_ingested.objects,
            a.total_ingested.bytes,
            a.current.units,
            a.current.objects,
            a.current.bytes
        ));
    }
    out
}

fn download(body: String, mime: &'static str, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}

fn counts(l: Lang, c: &Counts) -> Markup {
    html! {
        td.num { (format::int(l, c.units)) }
        td.num { (format::int(l, c.objects)) }
        td.num { (format::size(l, c.bytes)) }
    }
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Query(q): Query<RegisterQuery>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let l = v.lang;
    let only = Some(q.service.trim()).filter(|s| !s.is_empty());
    let r = register::register(&ui.archive, &tenant, only).await?;
    ui.archive
        .journal
        .record(
            &tenant,
            "register.read",
            "OK",
            &v.who.id,
            None,
            serde_json::json!({"originating_agency": only, "via": "ui"}),
        )
        .await?;
    match q.format.as_str() {
        "csv" => {
            return Ok(download(
                register_csv(&r),
                "text/csv; charset=utf-8",
                format!("registre-{tenant}.csv"),
            ))
        }
        "json" => {
            let json = serde_json::to_string_pretty(&r).map_err(archipel_archive::ArchiveError::from)?;
            return Ok(download(json, "application/json", format!("registre-{tenant}.json")));
        }
        _ => {}
    }
    let filter = encode(only.unwrap_or(""));
    let body = html! {
        p {
            (l.t("Calculé le ", "Computed on ")) (format::datetime(l, r.computed_at))
            (l.t(" à partir du catalogue et des procès-verbaux d’élimination.", " from the catalog and the elimination records."))
        }
        p.exports {
            (l.t("Exporter : ", "Export: "))
            a href={ "/ui/registre?format=csv&service=" (filter) } download { "CSV" } " · "
            a href={ "/ui/registre?format=json&service=" (filter) } download { "JSON" }
            @if v.is(USAGE_READERS) { " · " a href="/ui/registre/usage" { (l.t("Volumétrie mensuelle (mutualisation)", "Monthly usage (cost sharing)")) } }
        }
        form method="get" action="/ui/registre" {
            fieldset {
                legend { (l.t("Filtrer", "Filter")) }
                label for="service" { (l.t("Service producteur", "Originating agency")) }
                input #service type="text" name="service" value=(only.unwrap_or(""));
                div { button.primary type="submit" { (l.t("Appliquer", "Apply")) } }
            }
        }
        @if r.agencies.is_empty() {
            p role="status" { (l.t("Aucune entrée au registre.", "No entry in the register.")) }
        }
        @for a in &r.agencies {
            section {
                h2 { (l.t("Service producteur ", "Originating agency ")) (a.originating_agency) }
                table {
                    caption { (l.t("Totaux", "Totals")) }
                    thead { tr {
                        th scope="col" { "" }
                        th.num scope="col" { (l.t("Unités", "Units")) }
                        th.num scope="col" { (l.t("Objets", "Objects")) }
                        th.num scope="col" { (l.t("Volume", "Volume")) }
                    } }
                    tbody {
                        tr { th scope="row" { (l.t("Entrés", "Entered")) } (counts(l, &a.total_ingested)) }
                        tr { th scope="row" { (l.t("Sortis (éliminations)", "Out (eliminations)")) } (counts(l, &a.total_out)) }
                        tr { th scope="row" { (l.t("Détenus", "Held")) } (counts(l, &a.current)) }
                    }
                }
                table {
                    caption { (l.t("Entrées", "Entries")) }
                    thead { tr {
                        th scope="col" { (l.t("Date", "Date")) }
                        th scope="col" { (l.t("Versement", "Transfer")) }
                        th scope="col" { (l.t("Contrat d’entrée", "Agreement")) }
                        th scope="col" { (l.t("Service versant", "Transferring agency")) }
                        th scope="col" { (l.t("Flux", "Flow")) }
                        th.num scope="col" { (l.t("Unités entrées / restantes", "Units in / left")) }
                        th.num scope="col" { (l.t("Objets entrés / restants", "Objects in / left")) }
                        th.num scope="col" { (l.t("Volume entré / restant", "Volume in / left")) }
                    } }
                    tbody { @for e in &a.entries { tr {
                        td { (format::datetime(l, e.date)) }
                        td { a href={ "/ui/versements/" (encode(&e.transfer_id)) } { code { (e.transfer_id) } } }
                        td { (e.agreement.as_deref().unwrap_or("—")) }
                        td { (e.transferring_agency.as_deref().unwrap_or("—")) }
                        td { (e.flow.as_deref().unwrap_or("—")) }
                        td.num { (format::int(l, e.ingested.units)) " / " (format::int(l, e.remaining.units)) }
                        td.num { (format::int(l, e.ingested.objects)) " / " (format::int(l, e.remaining.objects)) }
                        td.num { (format::size(l, e.ingested.bytes)) " / " (format::size(l, e.remaining.bytes)) }
                    } } }
                }
                @if !a.movements.is_empty() {
                    table {
                        caption { (l.t("Sorties", "Movements out")) }
                        thead { tr {
                            th scope="col" { (l.t("Date", "Date")) }
                            th scope="col" { (l.t("Nature", "Kind")) }
                            th scope="col" { (l.t("Opération", "Operation")) }
                            th scope="col" { (l.t("Visa", "Visa")) }
                            th.num scope="col" { (l.t("Unités", "Units")) }
                            th.num scope="col" { (l.t("Objets", "Objects")) }
                            th.num scope="col" { (l.t("Volume", "Volume")) }
                        } }
                        tbody { @for m in &a.movements { tr {
                            td { (format::datetime(l, m.date)) }
                            td { (movement_kind(l, &m.kind)) }
                            td { a href={ "/ui/eliminations/" (encode(&m.id)) } { code { (m.id) } } }
                            td { code { (m.authority) } }
                            (counts(l, &m.counts))
                        } } }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Register),
        l.t("Registre des entrées", "Accession register"),
        body,
    ))
}

#[derive(Deserialize, Default)]
pub struct UsageQuery {
    #[serde(default)]
    mois: String,
    #[serde(default)]
    format: String,
}

/// The last `n` months up to this one, latest first, as `YYYY-MM`.
fn recent_months(today: chrono::NaiveDate, n: usize) -> Vec<String> {
    let (mut y, mut m) = (today.year(), today.month());
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(format!("{y:04}-{m:02}"));
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
    }
    out
}

fn month_label(l: Lang, month: &str) -> String {
    match month
        .split_once('-')
        .and_then(|(y, m)| Some((y, m.parse::<usize>().ok()?)))
    {
        Some((y, m)) if (1..=12).contains(&m) => format!("{} {y}", format::month_name(l, m - 1)),
        _ => month.to_owned(),
    }
}

pub async fn usage_page(State(ui): State<UiState>, v: Viewer, Query(q): Query<UsageQuery>) -> UiResult<Response> {
    let tenant = v.allow(&ui, USAGE_READERS).await?;
    let l = v.lang;
    let months = recent_months(format::today(), 12);
    let month = match q.mois.trim() {
        "" => months[0].clone(),
        m => m.to_owned(),
    };
    usage::month_bounds(&month)?;
    let rows: Vec<UsageRow> = usage::usage(&ui.archive, &tenant, &month).await?;
    match q.format.as_str() {
        "csv" => {
            let mut csv = format!("{}\n", usage::CSV_HEADER);
            for r in &rows {
                csv.push_str(&r.csv());
                csv.push('\n');
            }
            return Ok(download(
                csv,
                "text/csv; charset=utf-8",
                format!("usage-{tenant}-{month}.csv"),
            ));
        }
        "json" => {
            let json = serde_json::to_string_pretty(&rows).map_err(archipel_archive::ArchiveError::from)?;
            return Ok(download(
                json,
                "application/json",
                format!("usage-{tenant}-{month}.json"),
            ));
        }
        _ => {}
    }
    let total = |f: fn(&UsageRow) -> u64| rows.iter().map(f).sum::<u64>();
    let m = encode(&month);
    let body = html! {
        form method="get" action="/ui/registre/usage" {
            fieldset {
                legend { (l.t("Période", "Period")) }
                label for="mois" { (l.t("Mois", "Month")) }
                select #mois name="mois" {
                    @for x in &months { option value=(x) selected[*x == month] { (month_label(l, x)) } }
                }
                div { button.primary type="submit" { (l.t("Afficher", "Show")) } }
            }
        }
        p.exports {
            (l.t("Exporter ", "Export ")) (month_label(l, &month)) " : "
            a href={ "/ui/registre/usage?format=csv&mois=" (m) } download { "CSV" } " · "
            a href={ "/ui/registre/usage?format=json&mois=" (m) } download { "JSON" }
        }
        p.hint { (l.t(
            "Détenu en fin de mois ; volume stocké = volume logique × surcoût du codage à effacement du profil de stockage ; entrées, éliminations et communications d’originaux pendant le mois.",
            "Held at the month's end; stored bytes = logical bytes × the storage profile's erasure-coding overhead; ingested, eliminated and originals communicated during the month.",
        )) }
        @if rows.is_empty() {
            p role="status" { (l.t("Aucune donnée pour ce mois.", "No data for this month.")) }
        } @else {
            table {
                caption { (l.t("Volumétrie par flux, ", "Usage by flow, ")) (month_label(l, &month)) }
                thead { tr {
                    th scope="col" { (l.t("Flux", "Flow")) }
                    th.num scope="col" { (l.t("Unités", "Units")) }
                    th.num scope="col" { (l.t("Objets", "Objects")) }
                    th.num scope="col" { (l.t("Volume logique", "Logical bytes")) }
                    th.num scope="col" { (l.t("Volume stocké", "Stored bytes")) }
                    th.num scope="col" { (l.t("Entrées (unités, volume)", "In (units, bytes)")) }
                    th.num scope="col" { (l.t("Éliminées (unités, volume)", "Eliminated (units, bytes)")) }
                    th.num scope="col" { (l.t("Communications (lectures, volume)", "Reads (count, bytes)")) }
                } }
                tbody {
                    @for r in &rows { tr {
                        th scope="row" { (r.flow) }
                        td.num { (format::int(l, r.units)) }
                        td.num { (format::int(l, r.objects)) }
                        td.num { (format::size(l, r.logical_bytes)) }
                        td.num { (format::size(l, r.stored_bytes)) }
                        td.num { (format::int(l, r.units_in)) ", " (format::size(l, r.bytes_in)) }
                        td.num { (format::int(l, r.units_out)) ", " (format::size(l, r.bytes_out)) }
                        td.num { (format::int(l, r.reads)) ", " (format::size(l, r.bytes_read)) }
                    } }
                    tr {
                        th scope="row" { (l.t("Total", "Total")) }
                        td.num { (format::int(l, total(|r| r.units))) }
                        td.num { (format::int(l, total(|r| r.objects))) }
                        td.num { (format::size(l, total(|r| r.logical_bytes))) }
                        td.num { (format::size(l, total(|r| r.stored_bytes))) }
                        td.num { (format::int(l, total(|r| r.units_in))) ", " (format::size(l, total(|r| r.bytes_in))) }
                        td.num { (format::int(l, total(|r| r.units_out))) ", " (format::size(l, total(|r| r.bytes_out))) }
                        td.num { (format::int(l, total(|r| r.reads))) ", " (format::size(l, total(|r| r.bytes_read))) }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Register),
        l.t("Volumétrie mensuelle", "Monthly usage"),
        body,
    ))
}

/// A movement's kind in words (the exports keep the API's codes).
fn movement_kind(l: Lang, kind: &str) -> &str {
    match kind {
        "elimination" => l.t("élimination", "elimination"),
        "restitution" => l.t("restitution", "restitution"),
        "transfer_out" => l.t("transfert sortant", "transfer out"),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_back_across_the_year() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
        assert_eq!(recent_months(d, 3), ["2026-02", "2026-01", "2025-12"]);
        assert_eq!(month_label(Lang::Fr, "2026-11"), "novembre 2026");
        assert_eq!(month_label(Lang::Fr, "2026-13"), "2026-13");
    }

    #[test]
    fn movements_in_words() {
        assert_eq!(movement_kind(Lang::Fr, "transfer_out"), "transfert sortant");
        assert_eq!(movement_kind(Lang::En, "transfer_out"), "transfer out");
        assert_eq!(movement_kind(Lang::Fr, "elimination"), "élimination");
        assert_eq!(movement_kind(Lang::Fr, "other"), "other");
    }

    #[test]
    fn csv_cells_are_quoted() {
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
