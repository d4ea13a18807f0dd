//! Tableau de bord: the tenant at a glance — recent transfers, those to look at, what was
//! transferred (with its growth by month), eliminations due, and the cluster in one line.

use archipel_archive::auth::Role::{self, Archivist, ControlAuthority, Operator, TransferringAgency};
use archipel_archive::model::{Transfer, TransferStatus};
use archipel_archive::searching::SearchParams;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};

use crate::error::UiResult;
use crate::extract::Viewer;
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

pub async fn page(State(ui): State<UiState>, v: Viewer) -> UiResult<Response> {
    if v.who.role == Operator {
        return Ok(Redirect::to("/ui/exploitation").into_response());
    }
    if v.who.role == archipel_archive::auth::Role::Requester {
        return Ok(Redirect::to("/ui/communications").into_response());
    }
    let tenant = v.allow(&ui, &[TransferringAgency, Archivist, ControlAuthority]).await?;
    let l = v.lang;
    let today = format::today();
    let due = async {
        if v.is(&[Archivist, ControlAuthority]) {
            eliminations_due(&ui, &tenant, today).await.map(Some)
        } else {
            Ok(None)
        }
    };
    // Independent readings at once: each is one or more cluster round trips.
    let (transfers, due, waiting, health) = tokio::join!(
        visible_transfers(&ui, &v, &tenant),
        due,
        waiting_decisions(&ui, &v, &tenant),
        cluster_line(&ui, l)
    );
    let (transfers, due, waiting) = (transfers?, due?, waiting?);
    let mut recent: Vec<&Transfer> = transfers.iter().collect();
    recent.sort_by_key(|t| std::cmp::Reverse(t.received_at));
    let failed: Vec<&Transfer> = recent
        .iter()
        .copied()
        .filter(|t| t.status == TransferStatus::Ko)
        .take(5)
        .collect();
    let stored: Vec<&Transfer> = transfers
        .iter()
        .filter(|t| matches!(t.status, TransferStatus::Ok | TransferStatus::Warning) && t.resend_of.is_none())
        .collect();
    let bytes: u64 = stored.iter().map(|t| t.size).sum();
    let objects: u64 = stored.iter().map(|t| t.objects as u64).sum();
    let units: u64 = stored.iter().map(|t| t.units as u64).sum();
    let body = html! {
        p.notice { strong { (l.t("État de la plateforme : ", "Platform status: ")) } (health) }
        div.cards {
            div.card { h2 { (l.t("Volume versé", "Volume transferred")) } p.big { (format::size(l, bytes)) } }
            div.card { h2 { (l.t("Objets conservés", "Objects kept")) } p.big { (format::int(l, objects)) } }
            div.card { h2 { (l.t("Unités d’archives", "Archive units")) } p.big { (format::int(l, units)) } }
            @if let Some(due) = due {
                div.card {
                    h2 { (l.t("Éliminations échues", "Eliminations due")) }
                    p.big { (format::int(l, due)) }
                    p { a href={ "/ui/recherche?rule_category=AppraisalRule&final_action=Destroy&rule_end_to=" (today) } {
                        (l.t("Voir les unités dont la DUA est échue (sort final : détruire)", "See the units whose retention ended (final action: destroy)"))
                    } }
                }
            }
        }
        @if let Some((communications, visas)) = waiting {
            div.cards {
                div.card {
                    h2 { (l.t("Demandes de dérogation en attente", "Derogations waiting")) }
                    p.big { (format::int(l, communications)) }
                    p { a href="/ui/communications" { (l.t("Voir les demandes de communication", "See the communication requests")) } }
                }
                @if v.is(&[Archivist, ControlAuthority]) {
                    div.card {
                        h2 { (l.t("Éliminations en attente de visa", "Eliminations awaiting a visa")) }
                        p.big { (format::int(l, visas)) }
                        p { a href="/ui/eliminations" { (l.t("Voir les éliminations", "See the eliminations")) } }
                    }
                }
            }
        }
        h2 { (l.t("Croissance par mois", "Growth by month")) }
        (growth_chart(l, &stored, today))
        @if !failed.is_empty() {
            h2 { (l.t("Versements à examiner", "Transfers to look at")) }
            (transfer_table(l, &failed, l.t("Versements rejetés, les plus récents d’abord", "Rejected transfers, latest first")))
        }
        h2 { (l.t("Derniers versements", "Latest transfers")) }
        @if recent.is_empty() {
            p { (l.t("Aucun versement pour l’instant.", "No transfer yet.")) }
        } @else {
            (transfer_table(l, &recent[..recent.len().min(10)], l.t("Les dix derniers versements", "The ten latest transfers")))
        }
        @if v.is(&[Archivist, TransferringAgency]) {
            p { a.button href="/ui/versements/nouveau" { (l.t("Verser un paquet (SIP)", "Transfer a package (SIP)")) } }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Dashboard),
        l.t("Tableau de bord", "Dashboard"),
        body,
    ))
}

/// Requests waiting for this viewer's side: derogations at the step its role answers, and
/// elimination proposals awaiting the visa.
async fn waiting_decisions(ui: &UiState, v: &Viewer, tenant: &str) -> UiResult<Option<(u64, u64)>> {
    use archipel_archive::delivery::DeliveryStatus;
    let step = match v.who.role {
        Role::Archivist | Role::TransferringAgency => DeliveryStatus::PendingOriginatingAgency,
        Role::ControlAuthority => DeliveryStatus::PendingControlAuthority,
        _ => return Ok(None),
    };
    let deliveries = super::communications::visible(ui, v, tenant).await?;
    let communications = deliveries.iter().filter(|d| d.status == step).count() as u64;
    let visas = if v.is(&[Archivist, ControlAuthority]) {
        archipel_archive::disposal::proposal::list(&ui.archive, tenant)
            .await?
            .iter()
            .filter(|p| p.status == archipel_archive::disposal::proposal::ProposalStatus::Proposed)
            .count() as u64
    } else {
        0
    };
    Ok(Some((communications, visas)))
}

/// The tenant's transfers this viewer may see: a transferring agency sees its own only.
pub async fn visible_transfers(ui: &UiState, v: &Viewer, tenant: &str) -> UiResult<Vec<Transfer>> {
    let all = archipel_archive::ingest::transfers(&ui.archive, tenant).await?;
    Ok(all.into_iter().filter(|t| may_see(v, t)).collect())
}

pub fn may_see(v: &Viewer, t: &Transfer) -> bool {
    match v.who.role {
        Role::TransferringAgency => {
            t.submitted_by == v.who.id || (t.transferring_agency.is_some() && t.transferring_agency == v.who.agency)
        }
        _ => true,
    }
}

async fn eliminations_due(ui: &UiState, tenant: &str, today: NaiveDate) -> UiResult<u64> {
    let p = SearchParams {
        rule_category: Some("AppraisalRule".into()),
        final_action: Some("Destroy".into()),
        rule_end_to: Some(today),
        facets: Some(false),
        limit: Some(0),
        ..Default::default()
    };
    let page = archipel_archive::searching::search_page(&ui.archive, tenant, p).await?;
    Ok(page.total as u64)
}

/// The cluster in one line, as `archipel status` sums it up.
pub async fn cluster_line(ui: &UiState, l: Lang) -> String {
    use archipel_client::proto::cluster::Health;
    match ui.archive.store.client().status(500).await {
        Ok(s) => {
            let reachable = s.nodes.iter().filter(|n| n.reachable).count();
            let sites: std::collections::BTreeSet<&str> = s.nodes.iter().map(|n| n.site.as_str()).collect();
            let word = match Health::try_from(s.health).unwrap_or(Health::Unspecified) {
                Health::Ok => l.t("fonctionnement normal", "healthy"),
                Health::Degraded => l.t("dégradé", "degraded"),
                _ => l.t("indisponible", "unavailable"),
            };
            match l {
                Lang::Fr => format!(
                    "{word} — {reachable} nœuds joignables sur {}, {} sites, {} objets en attente de réparation.",
                    s.nodes.len(),
                    sites.len(),
                    format::int(l, s.objects_degraded)
                ),
                Lang::En => format!(
                    "{word} — {reachable} of {} nodes reachable, {} sites, {} objects awaiting repair.",
                    s.nodes.len(),
                    sites.len(),
                    format::int(l, s.objects_degraded)
                ),
            }
        }
        Err(e) => format!("{} ({e})", l.t("état du cluster inconnu", "cluster status unknown")),
    }
}

pub fn transfer_table(l: Lang, rows: &[&Transfer], caption: &str) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr {
                th scope="col" { (l.t("Versement", "Transfer")) }
                th scope="col" { (l.t("Reçu le", "Received")) }
                th scope="col" { (l.t("Service versant", "Transferring agency")) }
                th scope="col" { (l.t("Statut", "Status")) }
                th.num scope="col" { (l.t("Unités", "Units")) }
                th.num scope="col" { (l.t("Taille", "Size")) }
            } }
            tbody {
                @for t in rows {
                    tr {
                        td { a href={ "/ui/versements/" (t.id) } class="mono" { (t.id) } }
                        td { (format::datetime(l, t.received_at)) }
                        td { (t.transferring_agency.as_deref().unwrap_or("—")) }
                        td { (super::status_badge(l, t.status)) }
                        td.num { (format::int(l, t.units as u64)) }
                        td.num { (format::size(l, t.size)) }
                    }
                }
            }
        }
    }
}

/// Bytes transferred per month over the last twelve months, as bars with the figures written
/// beside them (and in a table for screen readers).
fn growth_chart(l: Lang, stored: &[&Transfer], today: NaiveDate) -> Markup {
    let months: Vec<(i32, u32)> = (0..12)
        .rev()
        .map(|back| {
            let m0 = today.year() * 12 + today.month0() as i32 - back;
            (m0.div_euclid(12), m0.rem_euclid(12) as u32)
        })
        .collect();
    let totals: Vec<u64> = months
        .iter()
        .map(|(y, m0)| {
            stored
                .iter()
                .filter(|t| t.received_at.year() == *y && t.received_at.month0() == *m0)
                .map(|t| t.size)
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let label = |(y, m0): &(i32, u32)| format!("{} {y}", format::month_name(l, *m0 as usize));
    html! {
        figure {
            svg.chart viewBox="0 0 600 180" role="img" aria-labelledby="growth-caption" {
                @for (i, total) in totals.iter().enumerate() {
                    @let h = (*total as f64 / max as f64 * 130.0).round();
                    rect.bar x=(i * 50 + 8) y=(150.0 - h) width="34" height=(h) {}
                    text x=(i * 50 + 25) y="168" text-anchor="middle" { (format::month_name(l, months[i].1 as usize).chars().take(4).collect::<String>()) }
                }
            }
            figcaption #growth-caption { (l.t("Volume versé par mois, sur douze mois", "Volume transferred per month, over twelve months")) }
            details {
                summary { (l.t("Voir les chiffres", "See the figures")) }
                table {
                    thead { tr { th scope="col" { (l.t("Mois", "Month")) } th.num scope="col" { (l.t("Volume", "Volume")) } } }
                    tbody {
                        @for (i, m) in months.iter().enumerate() {
                            tr { td { (label(m)) } td.num { (format::size(l, totals[i])) } }
                        }
                    }
                }
            }
        }
    }
}
