//! Exploitation (operators): the cluster as `archipel status` and `archipel workers` show it —
//! nodes by site with state and reachability, scrub and repair progress, degraded, at-risk
//! and lost objects.

use std::collections::BTreeMap;

use archipel_archive::auth::Role::Operator;
use archipel_archive::ArchiveError;
use archipel_client::proto::cluster::{Health, NodeState};
use axum::extract::State;
use axum::response::Response;
use maud::html;

use crate::error::{UiError, UiResult};
use crate::extract::Viewer;
use crate::format;
use crate::layout::{self, Nav};
use crate::UiState;

pub async fn page(State(ui): State<UiState>, v: Viewer) -> UiResult<Response> {
    if v.who.role != Operator {
        ui.archive.authorize_operator(&v.who).await?;
    }
    let l = v.lang;
    let client = ui.archive.store.client();
    let status = client
        .status(1000)
        .await
        .map_err(|e| UiError::Archive(ArchiveError::from(e)))?;
    let workers = client.cluster_workers("", "", 0).await.unwrap_or_default();
    let health = Health::try_from(status.health).unwrap_or(Health::Unspecified);
    let (class, word) = match health {
        Health::Ok => ("ok", l.t("Fonctionnement normal", "Healthy")),
        Health::Degraded => ("warning", l.t("Dégradé", "Degraded")),
        _ => ("ko", l.t("Indisponible", "Unavailable")),
    };
    let mut sites: BTreeMap<&str, Vec<&archipel_client::proto::cluster::NodeStatus>> = BTreeMap::new();
    for n in &status.nodes {
        sites.entry(n.site.as_str()).or_default().push(n);
    }
    let state_word = |s: i32| match NodeState::try_from(s).unwrap_or(NodeState::Unspecified) {
        NodeState::Up => l.t("en service", "up"),
        NodeState::Draining => l.t("en cours de retrait", "draining"),
        NodeState::Gone => l.t("retiré", "gone"),
        NodeState::Unspecified => l.t("inconnu", "unknown"),
    };
    let body = html! {
        div class={ "notice " (class) } role="status" {
            p { strong { (l.t("État du cluster : ", "Cluster health: ")) span class={ "status " (class) } { (word) } } }
            @for r in &status.reasons { p { (r) } }
        }
        div.cards {
            div.card { h2 { (l.t("Objets dégradés", "Degraded objects")) } p.big { (format::int(l, status.objects_degraded)) } p.hint { (l.t("au moins un fragment à réparer", "at least one shard to repair")) } }
            div.card { h2 { (l.t("Objets à risque", "Objects at risk")) } p.big { (format::int(l, status.objects_at_risk)) } p.hint { (l.t("une perte de plus et ils sont perdus", "one more loss and they are lost")) } }
            div.card { h2 { (l.t("Objets perdus", "Lost objects")) } p.big { (format::int(l, status.objects_lost)) } }
            div.card { h2 { (l.t("Fragments à réparer / à déplacer", "Shards to repair / to move")) } p.big { (format::int(l, status.shards_awaiting_repair)) " / " (format::int(l, status.shards_to_move)) } }
        }
        p {
            (l.t("Leader : nœud ", "Leader: node ")) (status.leader_id.map_or("—".to_owned(), |i| i.to_string()))
            (l.t(", mandat ", ", term ")) (status.term)
            (l.t(", disposition v", ", layout v")) (status.layout_version)
        }
        @for (site, nodes) in &sites {
            h2 { (l.t("Site ", "Site ")) (site) }
            table {
                thead { tr {
                    th scope="col" { (l.t("Nœud", "Node")) }
                    th scope="col" { (l.t("Adresse", "Address")) }
                    th scope="col" { (l.t("État", "State")) }
                    th scope="col" { (l.t("Joignable", "Reachable")) }
                    th scope="col" { (l.t("Rôle Raft", "Raft role")) }
                    th.num scope="col" { (l.t("Capacité", "Capacity")) }
                } }
                tbody { @for n in nodes { tr {
                    td { (n.node_id) }
                    td { code { (n.addr) } }
                    td { (state_word(n.state)) }
                    td { @if n.reachable { span.status.ok { (l.t("oui", "yes")) } } @else { span.status.ko { (l.t("NON", "NO")) } " " (n.error) } }
                    td { (n.raft.as_ref().map(|r| r.role.as_str()).unwrap_or("—")) }
                    td.num { (format::size(l, n.capacity_bytes)) }
                } } }
            }
        }
        h2 { (l.t("Tâches de fond (contrôle d’intégrité, réparation)", "Background work (scrub, repair)")) }
        @if workers.is_empty() {
            p { (l.t("Les nœuds n’ont pas pu être interrogés.", "The nodes could not be asked.")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (l.t("Nœud", "Node")) }
                    th scope="col" { (l.t("Tâche", "Worker")) }
                    th scope="col" { (l.t("État", "State")) }
                    th scope="col" { (l.t("Avancement", "Progress")) }
                    th.num scope="col" { (l.t("Problèmes / réparations", "Problems / repairs")) }
                    th scope="col" { (l.t("Dernier cycle complet", "Last full cycle")) }
                } }
                tbody {
                    @for n in &workers {
                        @if !n.error.is_empty() {
                            tr { td { (n.node_id) " (" (n.site) ")" } td colspan="5" { (l.t("injoignable : ", "unreachable: ")) (n.error) } }
                        }
                        @for w in &n.workers { tr {
                            td { (n.node_id) " (" (n.site) ")" }
                            td { (w.name) }
                            td { (w.state) @if !w.detail.is_empty() { div.hint { (w.detail) } } }
                            td {
                                @let pct = (w.progress * 100.0).clamp(0.0, 100.0);
                                progress max="100" value=(format!("{pct:.0}")) aria-label={ (w.name) " " (n.node_id) } { (format!("{pct:.0}")) " %" }
                                " " (format!("{pct:.0}")) " %"
                            }
                            td.num { (format::int(l, w.errors_found)) " / " (format::int(l, w.repairs_done)) }
                            td { @match chrono::DateTime::from_timestamp_millis(w.last_cycle_completed_ms as i64).filter(|_| w.last_cycle_completed_ms > 0) {
                                Some(t) => { (format::datetime(l, t)) }
                                None => { (l.t("pas encore", "not yet")) }
                            } }
                        } }
                    }
                }
            }
        }
        @if !status.lost.is_empty() {
            h2 { (l.t("Objets perdus", "Lost objects")) }
            table {
                thead { tr { th scope="col" { (l.t("Espace", "Namespace")) } th scope="col" { (l.t("Clé", "Key")) } th scope="col" { (l.t("Motif", "Reason")) } } }
                tbody { @for o in &status.lost { tr { td { code { (o.namespace) } } td { code { (o.key) } } td { (o.reason) } } } }
            }
        }
    };
    Ok(layout::page(
        &v,
        Some(Nav::Operations),
        l.t("Exploitation", "Operations"),
        body,
    ))
}
