//! One restitution or transfer out: its state and the package's build progress (the page reloads
//! itself while it is built), the SEDA messages and the package as downloads, and the recipient's
//! answer: the originating agency's receipt (recorded, or its own Acknowledgement uploaded) or the
//! receiving archive's ArchiveTransferReply. Each goes through the REST API's own handler.

use archipel_archive::api::outgoing as api;
use archipel_archive::api::{ApiError, Caller};
use archipel_archive::auth::Role::Archivist;
use archipel_archive::disposal::outgoing::{Kind, Message, Outgoing, Status};
use archipel_archive::ArchiveError;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{html, Markup};
use serde::Deserialize;

use super::outgoing::{kind_label, state, status_badge, READERS};
use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, Nav};
use crate::UiState;

/// A recipient's message sent through the form, at most (SEDA replies are a few kilobytes).
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// The reply form's body, at most: a larger file is still read to say it is too large.
pub const REPLY_BODY_LIMIT: usize = 16 << 20;

/// The record, whichever its kind; another tenant's or a missing one answers 404.
async fn load(ui: &UiState, v: &Viewer, tenant: &str, id: &str) -> UiResult<Outgoing> {
    let path = || Path((tenant.to_owned(), id.to_owned()));
    match api::restitution(state(ui), Caller(v.who.clone()), path()).await {
        Ok(Json(o)) => Ok(o),
        Err(ApiError(ArchiveError::NotFound(_))) => {
            let Json(o) = api::transfer_out(state(ui), Caller(v.who.clone()), path()).await?;
            Ok(o)
        }
        Err(e) => Err(e.into()),
    }
}

fn message_label(l: Lang, kind: Kind, m: &Message) -> &'static str {
    match (m.name.as_str(), kind) {
        ("request", _) => l.t(
            "Demande de restitution (ArchiveRestitutionRequest)",
            "Restitution request (ArchiveRestitutionRequest)",
        ),
        ("reply", _) => l.t(
            "Réponse d’Archipel à la demande (ArchiveRestitutionRequestReply)",
            "Archipel's reply to the request (ArchiveRestitutionRequestReply)",
        ),
        ("transfer", _) => l.t(
            "Bordereau de transfert du paquet (ArchiveTransfer)",
            "The package's transfer manifest (ArchiveTransfer)",
        ),
        ("answer", Kind::Restitution) => l.t(
            "Accusé de réception du service producteur (Acknowledgement)",
            "The originating agency's acknowledgement (Acknowledgement)",
        ),
        ("answer", Kind::TransferOut) => l.t(
            "Réponse du service d’archives destinataire (ArchiveTransferReply)",
            "The receiving archive's reply (ArchiveTransferReply)",
        ),
        _ => l.t("Message SEDA", "SEDA message"),
    }
}

fn outcome(l: Lang, o: &str) -> String {
    match o {
        "eliminated" => l.t("supprimée (partie)", "deleted (left)").to_owned(),
        other => other.to_owned(),
    }
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let o = load(&ui, &v, &tenant, &id).await?;
    Ok(render(&v, &o, None))
}

/// The page; `problem` is a refused answer, said above the forms.
fn render(v: &Viewer, o: &Outgoing, problem: Option<String>) -> Response {
    let l = v.lang;
    let base = format!("/ui/sorties/{}", encode(&o.id));
    let row = |label: &str, value: Markup| html! { dt { (label) } dd { (value) } };
    let archivist = v.is(&[Archivist]);
    let body = html! {
        @if o.status == Status::Building {
            p.notice role="status" {
                (l.t("Le paquet est en préparation : cette page se met à jour toutes les deux secondes. ", "The package is being built: this page refreshes every two seconds. "))
                a href=(base) { (l.t("Actualiser", "Refresh")) }
            }
        }
        dl.meta {
            (row(l.t("Type", "Kind"), html! { (kind_label(l, o.kind)) }))
            (row(l.t("État", "State"), status_badge(l, o.status)))
            (row(match o.kind {
                Kind::Restitution => l.t("Service producteur", "Originating agency"),
                Kind::TransferOut => l.t("Service d’archives destinataire", "Receiving archive"),
            }, html! { code { (o.recipient) } }))
            (row(l.t("Démarré par, le", "Started by, on"), html! { code { (o.created_by) } ", " (format::datetime(l, o.created_at)) }))
            (row(l.t("Mis à jour le", "Updated on"), html! { (format::datetime(l, o.updated_at)) }))
            @if let Some(a) = &o.archival_agreement { (row(l.t("Contrat d’entrée", "Ingest agreement"), html! { code { (a) } })) }
            (row(l.t("Version SEDA", "SEDA version"), html! { (o.seda_version) }))
            @if let Some(c) = &o.comment { (row(l.t("Commentaire", "Comment"), html! { (c) })) }
            (row(l.t("Unités", "Units"), html! {
                (format::int(l, o.units.len() as u64)) ", " (format::int(l, o.units.iter().map(|u| u.objects as u64).sum())) " " (l.t("objets", "objects")) ", "
                (format::size(l, o.units.iter().map(|u| u.bytes).sum()))
            }))
            @if o.status == Status::Building || o.progress.objects_total > 0 {
                (row(l.t("Préparation du paquet", "Package build"), html! {
                    (format::int(l, o.progress.objects_done)) " / " (format::int(l, o.progress.objects_total)) " " (l.t("objets", "objects")) ", "
                    (format::size(l, o.progress.bytes_done)) " / " (format::size(l, o.progress.bytes_total))
                }))
            }
            @if let Some(p) = &o.package {
                (row(l.t("Paquet", "Package"), html! {
                    (format::size(l, p.size)) ", " (l.t("bordereau ", "manifest ")) code { (p.message_identifier) }
                }))
                (row("SHA-512", html! { code.digest { (p.sha512) } }))
            }
            @if let Some(e) = &o.error { (row(l.t("Erreur", "Error"), html! { (e) })) }
        }
        @if matches!(o.status, Status::Ready | Status::Accepted) && o.package.is_some() {
            @if archivist {
                p { a.button href={ (base) "/paquet" } download { (l.t("Télécharger le paquet (zip)", "Download the package (zip)")) } }
            } @else {
                p.hint { (l.t("Seuls les archivistes téléchargent le paquet.", "Only archivists download the package.")) }
            }
        }
        h2 #reponse { (l.t("Réponse du destinataire", "The recipient's answer")) }
        (answer_section(l, o))
        @if let Some(p) = &problem {
            div.notice.ko role="alert" { p {
                strong { (l.t("Réponse refusée, rien n’a changé : ", "Answer refused, nothing changed: ")) } (p)
            } }
        }
        @if archivist && matches!(o.status, Status::Ready | Status::Accepted) {
            (answer_forms(l, &v.csrf, &base, o))
        }
        @if !o.messages.is_empty() {
            h2 { (l.t("Messages SEDA", "SEDA messages")) }
            ul { @for m in &o.messages { li {
                a href={ (base) "/messages/" (encode(&m.name)) } { (message_label(l, o.kind, m)) }
                " — " code { (m.message_identifier) }
            } } }
        }
        h2 { (l.t("Unités", "Units")) }
        table {
            caption { (l.t("Unités qui partent, avec leurs unités dépendantes", "Units leaving, with the units below them")) }
            thead { tr {
                th scope="col" { (l.t("Unité", "Unit")) }
                th scope="col" { (l.t("Intitulé", "Title")) }
                th scope="col" { (l.t("Service producteur", "Originating agency")) }
                th.num scope="col" { (l.t("Objets", "Objects")) }
                th.num scope="col" { (l.t("Taille", "Size")) }
                th scope="col" { (l.t("Résultat", "Outcome")) }
            } }
            tbody { @for u in &o.units { tr {
                td { @if o.status == Status::Executed && u.outcome.as_deref() == Some("eliminated") { code { (u.unit_id) } } @else {
                    a href={ "/ui/unites/" (encode(&u.unit_id)) } { code { (u.unit_id) } }
                } }
                td { (u.title) }
                td { (u.originating_agency.as_deref().unwrap_or("—")) }
                td.num { (format::int(l, u.objects as u64)) }
                td.num { (format::size(l, u.bytes)) }
                td { (u.outcome.as_deref().map(|x| outcome(l, x)).unwrap_or_default()) }
            } } }
        }
        p { a href="/ui/sorties" { (l.t("Toutes les restitutions et tous les transferts sortants", "Every restitution and transfer out")) } }
    };
    let title = format!("{} {}", kind_label(l, o.kind), o.id);
    let mut r = layout::page(v, Some(Nav::Outgoing), &title, body);
    if o.status == Status::Building {
        if let Ok(h) = "2".parse() {
            r.headers_mut().insert(header::REFRESH, h);
        }
    }
    if problem.is_some() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    r
}

fn answer_section(l: Lang, o: &Outgoing) -> Markup {
    html! {
        @match (&o.answer, o.status) {
            (None, Status::Failed) => p { (l.t("Le paquet n’a pas pu être préparé : rien n’a changé. Démarrez-en un autre.", "The package could not be built: nothing changed. Start another one.")) },
            (None, _) => p { (match o.kind {
                Kind::Restitution => l.t(
                    "En attente de l’accusé de réception du service producteur. Les unités restent dans le SAE jusque-là.",
                    "Awaiting the originating agency's acknowledgement. The units stay here until then.",
                ),
                Kind::TransferOut => l.t(
                    "En attente de la réponse (ArchiveTransferReply) du service d’archives destinataire. Les unités restent dans le SAE jusque-là.",
                    "Awaiting the receiving archive's reply (ArchiveTransferReply). The units stay here until then.",
                ),
            }) },
            (Some(a), _) => {
                @if a.accepted {
                    div.notice.ok role="status" { p {
                        strong { (l.t("Accepté", "Accepted")) }
                        " — "
                        @if o.status == Status::Executed {
                            (l.t("les unités ont quitté le SAE : elles y sont supprimées.", "the units left: they are deleted here."))
                        } @else {
                            (l.t("la suppression des unités n’est pas terminée : enregistrez à nouveau la réponse pour la reprendre.", "the units' deletion is not finished: record the answer again to resume it."))
                        }
                    } }
                } @else {
                    div.notice.ko role="status" { p {
                        strong { (l.t("Refusé", "Rejected")) }
                        " — " (l.t("le destinataire n’a pas pris le paquet : les unités restent dans le SAE.", "the recipient did not take the package: the units stay here."))
                    } }
                }
                dl.meta {
                    dt { (l.t("Message", "Message")) } dd { code { (a.message_identifier) } }
                    @if let Some(c) = &a.reply_code { dt { (l.t("Code de réponse", "Reply code")) } dd { code { (c) } } }
                    @if !a.comments.is_empty() {
                        dt { @if a.accepted { (l.t("Commentaire", "Comment")) } @else { (l.t("Motif", "Reason")) } }
                        dd { @for c in &a.comments { (c) br; } }
                    }
                    dt { (l.t("Enregistrée par, le", "Recorded by, on")) } dd { code { (a.by) } ", " (format::datetime(l, a.at)) }
                    @if let Some(e) = &o.elimination {
                        dt { (l.t("Suppression", "Deletion")) }
                        dd { a href={ "/ui/eliminations/" (encode(e)) } { code { (e) } } }
                    }
                }
            }
        }
    }
}

fn answer_forms(l: Lang, csrf: &str, base: &str, o: &Outgoing) -> Markup {
    html! {
        p.hint #reponse-hint { (l.t(
            "Une réponse acceptée supprime définitivement les unités du SAE ; un refus les y laisse.",
            "An accepted answer deletes the units from the archive for good; a refusal leaves them here.",
        )) }
        div.actions {
            @if o.kind == Kind::Restitution {
                form.stack #accuse method="post" action={ (base) "/accuse" } {
                    (super::csrf_field(csrf))
                    h3 { (l.t("Enregistrer l’accusé de réception", "Record the acknowledgement")) }
                    div.check {
                        input #recu type="checkbox" name="recu" value="oui" required;
                        label for="recu" { (l.t("Le service producteur a confirmé la réception du paquet", "The originating agency confirmed it received the package")) }
                    }
                    label for="accuse-commentaire" { (l.t("Commentaire (facultatif)", "Comment (optional)")) }
                    textarea #accuse-commentaire name="commentaire" rows="2" {}
                    div { button.primary type="submit" aria-describedby="reponse-hint" { (l.t("Enregistrer l’accusé de réception", "Record the acknowledgement")) } }
                }
            }
            form.stack #reponse-xml method="post" action={ (base) "/reponse" } enctype="multipart/form-data" {
                (super::csrf_field(csrf))
                @match o.kind {
                    Kind::Restitution => {
                        h3 { (l.t("Ou téléverser son accusé de réception", "Or upload its acknowledgement")) }
                        label for="xml" { (l.t("Accusé de réception du service producteur (Acknowledgement, XML)", "The originating agency's Acknowledgement (XML)")) }
                    }
                    Kind::TransferOut => {
                        h3 { (l.t("Téléverser la réponse du destinataire", "Upload the recipient's reply")) }
                        label for="xml" { (l.t("Réponse du service d’archives destinataire (ArchiveTransferReply, XML)", "The receiving archive's ArchiveTransferReply (XML)")) }
                    }
                }
                p.hint #xml-hint { (l.t("Taille maximale : ", "Maximum size: ")) (format::size(l, MAX_ANSWER_BYTES as u64)) }
                input #xml type="file" name="xml" accept=".xml,application/xml,text/xml" required aria-describedby="xml-hint";
                div { button.primary type="submit" aria-describedby="reponse-hint" { (l.t("Enregistrer la réponse", "Record the answer")) } }
            }
        }
    }
}

/// Sends the answer through the API's handler; a refusal is said on the page, nothing changed.
async fn answer(ui: &UiState, v: &Viewer, o: &Outgoing, headers: HeaderMap, body: Vec<u8>) -> UiResult<Response> {
    let tenant = o.tenant.clone();
    let path = Path((tenant.clone(), o.id.clone()));
    let who = Caller(v.who.clone());
    let done = match o.kind {
        Kind::Restitution => api::restitution_acknowledgement(state(ui), who, path, headers, body.into()).await,
        Kind::TransferOut => api::transfer_out_reply(state(ui), who, path, headers, body.into()).await,
    };
    match done {
        Ok(Json(o)) => Ok(Redirect::to(&format!("/ui/sorties/{}#reponse", encode(&o.id))).into_response()),
        Err(ApiError(ArchiveError::Invalid(why) | ArchiveError::Conflict(why))) => {
            // Shown as it is now (a concurrent answer may have changed it).
            let current = load(ui, v, &tenant, &o.id).await?;
            Ok(render(v, &current, Some(why)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ReceiptForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    recu: Option<String>,
    #[serde(default)]
    commentaire: String,
}

/// The archivist records that the originating agency received the package.
pub async fn receipt(
    State(ui): State<UiState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ReceiptForm>,
) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "sorties.accuse").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let o = load(&ui, &v, &tenant, &id).await?;
    let comment = Some(f.commentaire.trim()).filter(|c| !c.is_empty());
    let body = serde_json::json!({"received": f.recu.is_some(), "comment": comment});
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer(&ui, &v, &o, h, serde_json::to_vec(&body).unwrap_or_default()).await
}

/// The recipient's own message, uploaded: an Acknowledgement or an ArchiveTransferReply.
pub async fn reply(
    State(ui): State<UiState>,
    v: Viewer,
    Path(id): Path<String>,
    mut parts: Multipart,
) -> UiResult<Response> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        UiError::Archive(ArchiveError::Invalid(format!("the form could not be read: {e}")))
    };
    // The token comes first in the form: nothing is read for a forged one.
    let token = match parts.next_field().await.map_err(bad)? {
        Some(f) if f.name() == Some(crate::csrf::FIELD) => f.text().await.map_err(bad)?,
        _ => String::new(),
    };
    crate::csrf::check(&ui, &v, &token, "sorties.reponse").await?;
    let tenant = v.allow(&ui, &[Archivist]).await?;
    let o = load(&ui, &v, &tenant, &id).await?;
    let mut xml = Vec::new();
    while let Some(mut f) = parts.next_field().await.map_err(bad)? {
        if f.name() != Some("xml") {
            continue;
        }
        while let Some(chunk) = f.chunk().await.map_err(bad)? {
            if xml.len() + chunk.len() > MAX_ANSWER_BYTES {
                // Read to the end (under the route's body limit) so the browser gets the page.
                while let Ok(Some(_)) = f.chunk().await {}
                let why = match v.lang {
                    Lang::Fr => format!(
                        "le fichier dépasse {} : ce n’est pas une réponse SEDA",
                        format::size(v.lang, MAX_ANSWER_BYTES as u64)
                    ),
                    Lang::En => format!(
                        "the file is larger than {}: it is not a SEDA reply",
                        format::size(v.lang, MAX_ANSWER_BYTES as u64)
                    ),
                };
                let mut r = render(&v, &o, Some(why));
                *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                return Ok(r);
            }
            xml.extend_from_slice(&chunk);
        }
    }
    if xml.is_empty() {
        let why = v
            .lang
            .t("choisissez le fichier XML de la réponse", "choose the reply's XML file");
        return Ok(render(&v, &o, Some(why.to_owned())));
    }
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    answer(&ui, &v, &o, h, xml).await
}

/// The package, streamed by the API's handler (archivists; it logs the download).
pub async fn package(State(ui): State<UiState>, v: Viewer, Path(id): Path<String>) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let o = load(&ui, &v, &tenant, &id).await?;
    let path = Path((tenant, o.id.clone()));
    let who = Caller(v.who.clone());
    match o.kind {
        Kind::Restitution => api::restitution_package(state(&ui), who, path).await,
        Kind::TransferOut => api::transfer_out_package(state(&ui), who, path).await,
    }
    .map_err(UiError::from)
}

/// A SEDA message of the exchange, as a download never rendered on this origin.
pub async fn message(
    State(ui): State<UiState>,
    v: Viewer,
    Path((id, name)): Path<(String, String)>,
) -> UiResult<Response> {
    let tenant = v.allow(&ui, READERS).await?;
    let o = load(&ui, &v, &tenant, &id).await?;
    let path = Path((tenant, o.id.clone(), name.clone()));
    let who = Caller(v.who.clone());
    let mut r = match o.kind {
        Kind::Restitution => api::restitution_message(state(&ui), who, path).await,
        Kind::TransferOut => api::transfer_out_message(state(&ui), who, path).await,
    }?;
    let file: String = format!("{}-{name}.xml", o.id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let h = r.headers_mut();
    if let Ok(d) = format!("attachment; filename=\"{file}\"").parse() {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(r)
}
